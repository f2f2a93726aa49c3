//! JSON Schema errors as owned findings, then as diagnostics. Shared by the
//! structural validation of input files ([`crate::pipeline::load::schema`]) and the
//! conformance of emitted objects ([`crate::check::conform`]): one wording, one
//! way to find the span, codes chosen by the caller.
//!
//! A [`Violation`] owns everything it needs, so errors can be collected where
//! the validator runs (in parallel, before the file they point into is a
//! source) and be given their spans later.

use jsonschema::error::ValidationErrorKind;
use jsonschema::ValidationError;
use serde_json::Value as Json;

use crate::diagnostic::codes::Code;
use crate::diagnostic::{did_you_mean, Diagnostic, Label};
use crate::support::source::Span;

/// The codes one family of schema checks reports under.
pub struct Codes {
    pub unknown_field: &'static Code,
    pub missing_field: &'static Code,
    pub wrong_type: &'static Code,
    pub invalid_value: &'static Code,
    /// Help for a value the schema does not describe: where its schema is.
    pub undescribed: &'static str,
}

/// One schema error: where (a JSON pointer into the instance) and what.
#[derive(Clone, Debug, PartialEq)]
pub struct Violation {
    pub pointer: String,
    pub kind: ViolationKind,
}

#[derive(Clone, Debug, PartialEq)]
pub enum ViolationKind {
    /// A key the schema does not allow, with the keys it does.
    UnknownField {
        key: String,
        known: Vec<String>,
    },
    MissingField {
        name: String,
    },
    /// A value of the wrong type, or one that breaks a pattern, enum, range or format.
    Invalid {
        wrong_type: bool,
        message: String,
        /// The value as JSON, for a message that names it.
        value: String,
        /// The rule's `x-catalyst-help` or `description`, if it has one.
        help: Option<String>,
        /// A subschema may name the dedicated diagnostic for its rule (`x-catalyst-code`).
        dedicated: Option<&'static Code>,
    },
}

/// Where a violation's label goes: the value at a pointer, or its key.
pub trait Locate {
    fn value(&self, pointer: &str) -> Span;
    fn key(&self, pointer: &str) -> Span;
}

/// The violations one validation error stands for (several for a list of unknown keys).
pub fn violations(error: &ValidationError<'_>, schema: &Json) -> Vec<Violation> {
    let pointer = error.instance_path().as_str().to_string();
    let schema_path = error.schema_path().as_str();
    match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
            let known = known_properties(schema, schema_path);
            unexpected
                .iter()
                .map(|key| Violation {
                    pointer: crate::support::pointer::child(&pointer, key),
                    kind: ViolationKind::UnknownField { key: key.clone(), known: known.clone() },
                })
                .collect()
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default().to_string();
            vec![Violation { pointer, kind: ViolationKind::MissingField { name } }]
        }
        kind => {
            let rule = owner(schema, schema_path);
            let dedicated = rule.and_then(|r| r.get("x-catalyst-code")).and_then(Json::as_str).and_then(crate::diagnostic::codes::find);
            let help = rule.and_then(|r| r.get("x-catalyst-help")).and_then(Json::as_str);
            let help = help.map(str::to_string).or_else(|| describe(schema, schema_path));
            let wrong_type = matches!(kind, ValidationErrorKind::Type { .. });
            let kind =
                ViolationKind::Invalid { wrong_type, message: error.to_string(), value: error.instance().to_string(), help, dedicated };
            vec![Violation { pointer, kind }]
        }
    }
}

impl Violation {
    pub fn diagnostic(&self, codes: &Codes, at: &dyn Locate) -> Diagnostic {
        match &self.kind {
            ViolationKind::UnknownField { key, known } => {
                let d = Diagnostic::error(codes.unknown_field, format!("unknown field `{key}`"))
                    .with_label(Label::primary(at.key(&self.pointer), "not a field here"));
                match did_you_mean(key, known.iter().map(String::as_str)) {
                    Some(best) => d.with_help(format!("did you mean `{best}`?")),
                    None if !known.is_empty() => d.with_help(format!("expected one of: {}", known.join(", "))),
                    None => d.with_help("remove this field"),
                }
            }
            ViolationKind::MissingField { name } => Diagnostic::error(codes.missing_field, format!("missing required field `{name}`"))
                .with_label(Label::primary(at.key(&self.pointer), format!("`{name}` is required here")))
                .with_help(format!("add `{name}`")),
            ViolationKind::Invalid { wrong_type, message, value, help, dedicated } => {
                let (code, message, label) = match dedicated {
                    Some(code) if *wrong_type => (*code, message.clone(), "wrong type"),
                    Some(code) => (*code, format!("{}: {value}", code.summary), "invalid value"),
                    None if *wrong_type => (codes.wrong_type, message.clone(), "wrong type"),
                    None => (codes.invalid_value, message.clone(), "invalid value"),
                };
                Diagnostic::error(code, message)
                    .with_label(Label::primary(at.value(&self.pointer), label))
                    .with_help(help.clone().unwrap_or_else(|| codes.undescribed.to_string()))
            }
        }
    }
}

/// The subschema that owns the failing keyword (the schema path minus its last
/// segment), following `$ref`s the evaluation path passes through.
fn owner<'a>(schema: &'a Json, schema_path: &str) -> Option<&'a Json> {
    let parent = schema_path.rsplit_once('/').map_or("", |(p, _)| p);
    let mut node = schema;
    for segment in crate::support::pointer::segments(parent) {
        node = if segment == "$ref" {
            let target = node.get("$ref")?.as_str()?.strip_prefix('#')?;
            schema.pointer(target)?
        } else {
            match node {
                Json::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
                _ => node.get(&*segment)?,
            }
        };
    }
    Some(node)
}

fn known_properties(schema: &Json, schema_path: &str) -> Vec<String> {
    owner(schema, schema_path)
        .and_then(|s| s.get("properties"))
        .and_then(Json::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// The schema's own description of the field, as help.
fn describe(schema: &Json, schema_path: &str) -> Option<String> {
    let description = owner(schema, schema_path)?.get("description")?.as_str()?;
    Some(format!("expected: {}", description.trim()))
}
