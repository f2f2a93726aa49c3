//! Rules about `configSchema`: a valid JSON Schema whose defaults, `required`
//! lists and secret fields make sense.

use serde_json::Value as Json;

use super::rules;
use super::Catalog;
use crate::diagnostic::{Diagnostic, Label};
use crate::pipeline::expr::{ORGANIZATION_VALUES, SOVEREIGN_VALUES};
use crate::pipeline::validate::{is_secret_schema, schema_validator, ORGANIZATION_MARKER, SOVEREIGN_MARKER};
use crate::support::pointer;
use crate::support::source::{FileId, Sources};

pub(super) fn check(catalog: &Catalog<'_>, sources: &Sources) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    for entry in &catalog.entries {
        let Some(schema) = entry.json.pointer("/spec/configSchema") else { continue };
        let at = |pointer: &str| sources.span_at(entry.file, &format!("/spec/configSchema{pointer}"));
        let invalid = |pointer: &str, message: String| {
            Diagnostic::error(rules::CONFIG_SCHEMA, message)
                .with_label(Label::primary(at(pointer), "invalid schema"))
                .with_help("configSchema is a JSON Schema, draft 2020-12")
        };
        let before = found.len();
        for e in jsonschema::draft202012::meta::validator().iter_errors(schema) {
            found.push(invalid(e.instance_path().as_str(), format!("configSchema breaks the 2020-12 metaschema: {e}")));
        }
        if found.len() == before {
            if let Err(e) = schema_validator(schema) {
                found.push(invalid(e.instance_path().as_str(), format!("configSchema does not compile: {e}")));
            }
        }
        walk(schema, String::new(), &mut |sub, pointer| subschema(sub, pointer, entry.file, sources, &mut found));
    }
    found
}

/// Calls `visit` on every subschema (with its pointer inside the configSchema).
fn walk(schema: &Json, pointer: String, visit: &mut dyn FnMut(&Json, &str)) {
    let Json::Object(map) = schema else { return };
    visit(schema, &pointer);
    for (keyword, value) in map {
        let here = pointer::child(&pointer, keyword);
        match (keyword.as_str(), value) {
            ("properties" | "patternProperties" | "$defs" | "definitions" | "dependentSchemas", Json::Object(members)) => {
                for (name, sub) in members {
                    walk(sub, pointer::child(&here, name), visit);
                }
            }
            ("allOf" | "anyOf" | "oneOf" | "prefixItems" | "items", Json::Array(items)) => {
                for (i, sub) in items.iter().enumerate() {
                    walk(sub, format!("{here}/{i}"), visit);
                }
            }
            (
                "items"
                | "additionalProperties"
                | "not"
                | "if"
                | "then"
                | "else"
                | "contains"
                | "propertyNames"
                | "unevaluatedItems"
                | "unevaluatedProperties",
                sub,
            ) => walk(sub, here, visit),
            _ => {}
        }
    }
}

fn subschema(schema: &Json, pointer: &str, file: FileId, sources: &Sources, found: &mut Vec<Diagnostic>) {
    let at = |relative: &str| sources.span_at(file, &format!("/spec/configSchema{pointer}{relative}"));
    let properties = schema.get("properties").and_then(Json::as_object);
    let required = schema.get("required").and_then(Json::as_array).into_iter().flatten();
    for (i, name) in required.enumerate().filter_map(|(i, n)| Some((i, n.as_str()?))) {
        if let Some(properties) = properties.filter(|p| !p.contains_key(name)) {
            let mut d = Diagnostic::error(rules::REQUIRED_UNKNOWN, format!("required key `{name}` is not among the properties"))
                .with_label(Label::primary(at(&format!("/required/{i}")), "not a property"));
            if let Some(best) = crate::diagnostic::did_you_mean(name, properties.keys().map(String::as_str)) {
                d = d.with_help(format!("did you mean `{best}`?"));
            }
            found.push(d);
        }
    }
    let markers = [(SOVEREIGN_MARKER, "Sovereign", &SOVEREIGN_VALUES[..]), (ORGANIZATION_MARKER, "Organization", &ORGANIZATION_VALUES[..])];
    for (marker, whose, values) in markers {
        if let Some(name) = schema.get(marker).filter(|n| !n.as_str().is_some_and(|n| values.contains(&n))) {
            found.push(
                Diagnostic::error(rules::SOVEREIGN_VALUE, format!("`{marker}: {name}` names no {whose} value"))
                    .with_label(Label::primary(at(&format!("/{marker}")), "unknown value"))
                    .with_help(format!("the {whose} values are {}", values.join(", "))),
            );
        }
    }
    let Some(default) = schema.get("default") else { return };
    if is_secret_schema(schema) {
        found.push(
            Diagnostic::error(rules::SECRET_DEFAULT, "a secret field has a default")
                .with_label(Label::primary(at("/default"), "secret value in the catalog"))
                .with_help("remove the default: the value is read from OpenBao through an ExternalSecret"),
        );
        return;
    }
    // A subschema that does not compile on its own (e.g. a `$ref` to the root) is judged by the whole schema.
    let Ok(validator) = schema_validator(schema) else { return };
    for e in validator.iter_errors(default) {
        found.push(
            Diagnostic::error(rules::DEFAULT_INVALID, format!("the default breaks its own schema: {e}"))
                .with_label(Label::primary(at(&format!("/default{}", e.instance_path().as_str())), "this default"))
                .with_help("change the default to satisfy the subschema it belongs to"),
        );
    }
}
