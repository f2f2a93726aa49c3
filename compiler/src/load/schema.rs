//! Structural validation of input files against the JSON Schemas in `schemas/`.
//!
//! The schemas are compiled into the binary, so the compiler and editors
//! (through yaml-language-server) judge files by the same rules.

use std::sync::OnceLock;

use jsonschema::error::ValidationErrorKind;
use jsonschema::{ValidationError, Validator};
use serde_json::Value as Json;

use crate::diagnostic::{did_you_mean, Diagnostic, Label};
use crate::source::{FileId, Sources};

/// The input kinds that have a schema.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InputKind {
    Blueprint,
    Sovereign,
    Organization,
}

impl InputKind {
    fn schema_text(self) -> &'static str {
        match self {
            InputKind::Blueprint => include_str!("../../../schemas/blueprint.schema.json"),
            InputKind::Sovereign => include_str!("../../../schemas/sovereign.schema.json"),
            InputKind::Organization => include_str!("../../../schemas/organization.schema.json"),
        }
    }

    fn schema(self) -> &'static (Json, Validator) {
        static SCHEMAS: [OnceLock<(Json, Validator)>; 3] = [OnceLock::new(), OnceLock::new(), OnceLock::new()];
        SCHEMAS[self as usize].get_or_init(|| {
            // The schemas ship inside the binary and are tested; failing here is a build defect.
            let schema: Json = serde_json::from_str(self.schema_text()).expect("embedded schema is JSON");
            let validator = jsonschema::options().should_validate_formats(true).build(&schema).expect("embedded schema compiles");
            (schema, validator)
        })
    }
}

/// Validates a parsed file; every error points at the offending value or key.
pub fn check(kind: InputKind, file: FileId, value: &Json, sources: &Sources) -> Vec<Diagnostic> {
    let (schema, validator) = kind.schema();
    validator.iter_errors(value).flat_map(|error| to_diagnostics(&error, schema, file, sources)).collect()
}

fn to_diagnostics(error: &ValidationError<'_>, schema: &Json, file: FileId, sources: &Sources) -> Vec<Diagnostic> {
    let pointer = error.instance_path().as_str().to_string();
    match error.kind() {
        ValidationErrorKind::AdditionalProperties { unexpected } | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
            let known = known_properties(schema, error.schema_path().as_str());
            unexpected
                .iter()
                .map(|key| {
                    let child = format!("{pointer}/{}", key.replace('~', "~0").replace('/', "~1"));
                    let mut d = Diagnostic::error("catalyst::schema::unknown-field", format!("unknown field `{key}`"))
                        .with_label(Label::primary(sources.key_span_at(file, &child), "not a field here"));
                    d = match did_you_mean(key, known.iter().map(String::as_str)) {
                        Some(best) => d.with_help(format!("did you mean `{best}`?")),
                        None if !known.is_empty() => d.with_help(format!("expected one of: {}", known.join(", "))),
                        None => d.with_help("remove this field"),
                    };
                    d
                })
                .collect()
        }
        ValidationErrorKind::Required { property } => {
            let name = property.as_str().unwrap_or_default();
            vec![Diagnostic::error("catalyst::schema::missing-field", format!("missing required field `{name}`"))
                .with_label(Label::primary(sources.key_span_at(file, &pointer), format!("`{name}` is required here")))
                .with_help(format!("add `{name}`"))]
        }
        kind => {
            // A subschema may name the dedicated diagnostic for its rule (`x-catalyst-code`).
            let rule = owner(schema, error.schema_path().as_str());
            let dedicated = rule.and_then(|r| r.get("x-catalyst-code")).and_then(Json::as_str).and_then(crate::codes::find);
            let help = rule.and_then(|r| r.get("x-catalyst-help")).and_then(Json::as_str);
            let help = help.map_or_else(|| describe(schema, error.schema_path().as_str()), str::to_string);
            let wrong_type = matches!(kind, ValidationErrorKind::Type { .. });
            let (code, message, label) = match dedicated {
                Some(code) if wrong_type => (code.code, error.to_string(), "wrong type"),
                Some(code) => (code.code, format!("{}: {}", code.summary, error.instance()), "invalid value"),
                None if wrong_type => ("catalyst::schema::wrong-type", error.to_string(), "wrong type"),
                None => ("catalyst::schema::invalid-value", error.to_string(), "invalid value"),
            };
            vec![Diagnostic::error(code, message).with_label(Label::primary(sources.span_at(file, &pointer), label)).with_help(help)]
        }
    }
}

/// The subschema that owns the failing keyword (the schema path minus its last
/// segment), following `$ref`s the evaluation path passes through.
fn owner<'a>(schema: &'a Json, schema_path: &str) -> Option<&'a Json> {
    let parent = schema_path.rsplit_once('/').map_or("", |(p, _)| p);
    let mut node = schema;
    for segment in crate::yaml::pointer_segments(parent) {
        node = if segment == "$ref" {
            let target = node.get("$ref")?.as_str()?.strip_prefix('#')?;
            schema.pointer(target)?
        } else {
            match node {
                Json::Array(items) => items.get(segment.parse::<usize>().ok()?)?,
                _ => node.get(&segment)?,
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
fn describe(schema: &Json, schema_path: &str) -> String {
    owner(schema, schema_path)
        .and_then(|s| s.get("description"))
        .and_then(Json::as_str)
        .map(|d| format!("expected: {d}"))
        .unwrap_or_else(|| "see the schema in schemas/ for the allowed values".into())
}
