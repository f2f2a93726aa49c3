//! Stage 3: an Application's effective config, validated against its
//! Blueprint's `configSchema`.
//!
//! Config is built in layers — schema defaults, the size overlay, the
//! Application's config, the environment's override (later wins) — and every
//! value remembers the layer that wrote it, so a schema error points at the
//! line where the offending value was written.

use std::collections::HashMap;

use jsonschema::error::ValidationErrorKind;
use jsonschema::Validator;
use serde_json::{Map, Value as Json};

use crate::diagnostic::codes;
use crate::diagnostic::{Diagnostic, Label};
use crate::model::Blueprint;
use crate::support::pointer;
use crate::support::source::{Origin, Sources};

/// One layer of config and where it was written.
pub struct Layer<'a> {
    pub value: &'a Json,
    pub origin: Origin,
}

/// Config after merging, with the origin of each value written by a layer.
#[derive(Debug, Default)]
pub struct Effective {
    pub config: Json,
    /// JSON pointer inside the config → where that value was written.
    provenance: HashMap<String, Origin>,
}

/// A compiled `configSchema` and the pointers of its secret fields.
pub struct ConfigSchema {
    validator: Validator,
    schema: Json,
    /// Config pointers (e.g. `/smtp/password`) of fields marked secret.
    pub secrets: Vec<String>,
    /// Whether a property takes a value of the Organization (`x-catalyst-organization`).
    marks_organization: bool,
}

/// The marker of properties that take a value of the Sovereign (see [`crate::pipeline::expr::SOVEREIGN_VALUES`]).
pub const SOVEREIGN_MARKER: &str = "x-catalyst-sovereign";
/// The marker of properties that take a value of the Application's Organization
/// (see [`crate::pipeline::expr::ORGANIZATION_VALUES`]).
pub const ORGANIZATION_MARKER: &str = "x-catalyst-organization";

impl ConfigSchema {
    /// The Sovereign values this schema's properties take (see `marked_layer`).
    pub fn sovereign_layer(&self, sovereign: &Json) -> Json {
        marked_layer(&self.schema, SOVEREIGN_MARKER, sovereign)
    }

    /// The values of an Organization (its realm, its issuer…) this schema's properties take.
    pub fn organization_layer(&self, organization: &Json) -> Json {
        if self.marks_organization {
            marked_layer(&self.schema, ORGANIZATION_MARKER, organization)
        } else {
            Json::Null
        }
    }

    pub fn compile(blueprint: &Blueprint, sources: &Sources) -> Result<ConfigSchema, Diagnostic> {
        let schema = blueprint.spec.config_schema.clone().unwrap_or_else(|| serde_json::json!({"type": "object"}));
        let validator = schema_validator(&schema).map_err(|e| {
            Diagnostic::error(
                codes::BLUEPRINT_BAD_CONFIG_SCHEMA,
                format!("the configSchema of {} is not a valid JSON Schema: {e}", blueprint.id()),
            )
            .with_label(Label::primary(
                sources.span_at(blueprint.origin.file, &format!("/spec/configSchema{}", e.instance_path().as_str())),
                "invalid schema",
            ))
            .with_help("configSchema must be a JSON Schema (draft 2020-12)")
        })?;
        let mut secrets = Vec::new();
        let mut unsupported = Vec::new();
        collect_secrets(&schema, &schema, String::new(), 0, &mut secrets, &mut unsupported);
        if let Some(place) = unsupported.first() {
            return Err(Diagnostic::error(
                codes::BLUEPRINT_SECRET_IN_COLLECTION,
                format!("the configSchema of {} marks a field secret inside {place}", blueprint.id()),
            )
            .with_label(Label::primary(sources.key_span_at(blueprint.origin.file, "/spec/configSchema"), "configSchema"))
            .with_help("a secret is read from OpenBao into one named Secret: declare it as a named property, outside lists and maps"));
        }
        secrets.sort();
        secrets.dedup();
        let marks_organization = serde_json::to_string(&schema).is_ok_and(|text| text.contains(ORGANIZATION_MARKER));
        Ok(ConfigSchema { validator, schema, secrets, marks_organization })
    }

    pub fn is_secret(&self, pointer: &str) -> bool {
        self.secrets.iter().any(|s| pointer == s || pointer.starts_with(&format!("{s}/")))
    }
}

/// A validator for a configSchema (or one of its subschemas): formats checked, `secret` accepted.
pub fn schema_validator(schema: &Json) -> Result<Validator, jsonschema::ValidationError<'static>> {
    jsonschema::options().should_validate_formats(true).with_format("secret", |_: &str| true).build(schema)
}

/// A field marked secret: `x-catalyst-secret: true` or `format: secret`.
pub fn is_secret_schema(schema: &Json) -> bool {
    schema.get("x-catalyst-secret").and_then(Json::as_bool) == Some(true) || schema.get("format").and_then(Json::as_str) == Some("secret")
}

/// `$ref`s followed before a schema is taken for a loop.
const MAX_SECRET_SEARCH_DEPTH: usize = 32;

/// The config pointers of every secret field: through `properties`, local
/// `$ref`s and `allOf`/`anyOf`/`oneOf`. A secret inside `items`,
/// `additionalProperties` or `patternProperties` has no fixed pointer, hence
/// no ExternalSecret: it is listed in `unsupported` so the schema is refused
/// rather than its values written to Git.
fn collect_secrets(root: &Json, schema: &Json, pointer: String, depth: usize, out: &mut Vec<String>, unsupported: &mut Vec<String>) {
    if depth > MAX_SECRET_SEARCH_DEPTH {
        return;
    }
    if is_secret_schema(schema) {
        out.push(pointer);
        return;
    }
    if let Some(target) = schema.get("$ref").and_then(Json::as_str).and_then(|r| r.strip_prefix('#')).and_then(|r| root.pointer(r)) {
        collect_secrets(root, target, pointer.clone(), depth + 1, out, unsupported);
    }
    for combinator in ["allOf", "anyOf", "oneOf"] {
        for branch in schema.get(combinator).and_then(Json::as_array).into_iter().flatten() {
            collect_secrets(root, branch, pointer.clone(), depth + 1, out, unsupported);
        }
    }
    if let Some(properties) = schema.get("properties").and_then(Json::as_object) {
        for (name, sub) in properties {
            collect_secrets(root, sub, pointer::child(&pointer, name), depth + 1, out, unsupported);
        }
    }
    let collections = [("items", "a list"), ("prefixItems", "a list"), ("additionalProperties", "a map"), ("patternProperties", "a map")];
    for (keyword, place) in collections {
        let subschemas: Vec<&Json> = match schema.get(keyword) {
            Some(Json::Object(map)) if keyword == "patternProperties" => map.values().collect(),
            Some(Json::Array(list)) => list.iter().collect(),
            Some(sub @ Json::Object(_)) => vec![sub],
            _ => Vec::new(),
        };
        for sub in subschemas {
            let mut nested = Vec::new();
            collect_secrets(root, sub, pointer.clone(), depth + 1, &mut nested, unsupported);
            if !nested.is_empty() {
                unsupported.push(format!("{place} at `{}`", if pointer.is_empty() { "/" } else { &pointer }));
            }
        }
    }
}

/// Words of key names that hold credentials in practice (compared without case or separators).
const CREDENTIAL_WORDS: [&str; 9] =
    ["password", "passwd", "passphrase", "secret", "token", "apikey", "privatekey", "accesskey", "credential"];

/// `adminPassword`, `api_key`, `ACCESS-KEY`…: a key a credential is usually written under.
pub fn looks_like_credential(key: &str) -> bool {
    let folded: String = key.chars().filter(char::is_ascii_alphanumeric).collect::<String>().to_ascii_lowercase();
    CREDENTIAL_WORDS.iter().any(|word| folded.contains(word))
}

/// The subschema describing the value at `pointer`, through `properties` and local `$ref`s.
fn subschema_at<'s>(root: &'s Json, pointer: &str) -> Option<&'s Json> {
    let resolve = |mut schema: &'s Json| {
        for _ in 0..MAX_SECRET_SEARCH_DEPTH {
            match schema.get("$ref").and_then(Json::as_str).and_then(|r| r.strip_prefix('#')).and_then(|r| root.pointer(r)) {
                Some(target) => schema = target,
                None => break,
            }
        }
        schema
    };
    let mut schema = resolve(root);
    for segment in crate::support::pointer::segments(pointer) {
        schema = resolve(schema.get("properties")?.get(&*segment)?);
    }
    Some(schema)
}

/// The values that properties marked `<marker>: <value>` take from `values` (the Sovereign's
/// `fqdn`, `zone`, `hosts.console`…, or the Organization's `issuer`…), as a layer under the
/// ones written: a property of type `array` takes a single value as its one item.
fn marked_layer(schema: &Json, marker: &str, values: &Json) -> Json {
    let Some(properties) = schema.get("properties").and_then(Json::as_object) else { return Json::Null };
    let mut layer = Map::new();
    for (key, property) in properties {
        let value = match property.get(marker).and_then(Json::as_str) {
            Some(name) => name.split('.').try_fold(values, |value, segment| value.get(segment)).cloned().map(|value| {
                let array = property.get("type").and_then(Json::as_str) == Some("array");
                if array && !value.is_array() {
                    Json::Array(vec![value])
                } else {
                    value
                }
            }),
            None => Some(marked_layer(property, marker, values)).filter(|nested| !nested.is_null()),
        };
        if let Some(value) = value {
            layer.insert(key.clone(), value);
        }
    }
    if layer.is_empty() {
        Json::Null
    } else {
        Json::Object(layer)
    }
}

/// Merges the layers over the schema's defaults and validates the result.
/// `entry` is where the Application (or dependency) is declared, for errors
/// that have no better place (a missing required key).
pub fn effective_config(
    blueprint: &Blueprint,
    schema: &ConfigSchema,
    layers: &[Layer<'_>],
    entry: &Origin,
    sources: &Sources,
) -> Result<Effective, Vec<Diagnostic>> {
    let (mut effective, mut problems) = merge_layers(layers, sources);
    problems.extend(written_secrets(blueprint, schema, &effective, sources));
    apply_defaults(&schema.schema, &mut effective.config);
    problems.extend(violations(blueprint, schema, &effective, entry, sources));
    if problems.is_empty() {
        Ok(effective)
    } else {
        Err(problems)
    }
}

/// The layers merged in order, each key remembering the layer that wrote it.
fn merge_layers(layers: &[Layer<'_>], sources: &Sources) -> (Effective, Vec<Diagnostic>) {
    let mut effective = Effective { config: Json::Object(Map::new()), provenance: HashMap::new() };
    let mut problems = Vec::new();
    for layer in layers {
        if layer.value.is_null() {
            continue;
        }
        if !layer.value.is_object() {
            problems.push(
                Diagnostic::error(codes::CONFIG_NOT_AN_OBJECT, "config must be a mapping")
                    .with_label(Label::primary(sources.span_at(layer.origin.file, &layer.origin.pointer), "not a mapping")),
            );
            continue;
        }
        effective.provenance.insert(String::new(), layer.origin.clone());
        merge(&mut effective.config, layer.value, "", &layer.origin, &mut effective.provenance);
    }
    (effective, problems)
}

/// Values written where a secret belongs: at a secret field, or at a credential-like key
/// the schema does not mark.
fn written_secrets(blueprint: &Blueprint, schema: &ConfigSchema, effective: &Effective, sources: &Sources) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    for (pointer, origin) in &effective.provenance {
        let key = pointer.rsplit('/').next().unwrap_or_default();
        let literal = effective.config.pointer(pointer).and_then(Json::as_str).is_some_and(|s| !s.is_empty());
        let allowed =
            subschema_at(&schema.schema, pointer).and_then(|s| s.get("x-catalyst-not-secret")).and_then(Json::as_bool).unwrap_or(false);
        if literal && !allowed && !schema.is_secret(pointer) && looks_like_credential(key) {
            problems.push(
                Diagnostic::error(
                    codes::CONFIG_CREDENTIAL_LITERAL,
                    format!("`{}` looks like a credential and is written in clear", pointer::dotted(pointer)),
                )
                .with_label(Label::primary(sources.key_span_at(origin.file, &origin.pointer), "credential-like key"))
                .with_help(format!(
                    "mark the field `x-catalyst-secret: true` in the configSchema of {} so its value comes from OpenBao, \
                     or `x-catalyst-not-secret: true` if it holds no secret",
                    blueprint.id()
                )),
            );
        }
        if schema.is_secret(pointer) {
            problems.push(
                Diagnostic::error(
                    codes::CONFIG_SECRET_LITERAL,
                    format!("`{}` is a secret field of {} and cannot carry a value", pointer::dotted(pointer), blueprint.id()),
                )
                .with_label(Label::primary(sources.span_at(origin.file, &origin.pointer), "secret value written here"))
                .with_help(format!(
                    "remove it: the value is read from OpenBao (path org/<org>/env/<env>/<app>, property `{}`)",
                    secret_property(pointer)
                )),
            );
        }
    }
    problems
}

/// The configSchema's verdict on the effective config, each error at the layer that wrote the value.
fn violations(blueprint: &Blueprint, schema: &ConfigSchema, effective: &Effective, entry: &Origin, sources: &Sources) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    for error in schema.validator.iter_errors(&effective.config) {
        if let ValidationErrorKind::Required { property } = error.kind() {
            let missing = pointer::child(error.instance_path().as_str(), property.as_str().unwrap_or_default());
            if schema.is_secret(&missing) {
                continue; // Supplied at run time by its ExternalSecret.
            }
        }
        let pointer = error.instance_path().as_str().to_string();
        // A value at a secret field is already refused as a literal; its schema error would print the value.
        if !pointer.is_empty() && schema.is_secret(&pointer) {
            continue;
        }
        let at = effective.origin_of(&pointer).unwrap_or(entry);
        let missing = matches!(error.kind(), ValidationErrorKind::Required { .. });
        let span = if missing { sources.key_span_at(at.file, &at.pointer) } else { sources.span_at(at.file, &at.pointer) };
        let schema_pointer = format!("/spec/configSchema{}", parent_pointer(error.schema_path().as_str()));
        problems.push(
            Diagnostic::error(
                codes::CONFIG_INVALID,
                format!("config of {} is invalid at `{}`: {error}", blueprint.id(), display_pointer(&pointer)),
            )
            .with_label(Label::primary(span, if missing { "this mapping" } else { "this value" }))
            .with_label(Label::secondary(sources.span_at(blueprint.origin.file, &schema_pointer), "rule of the configSchema"))
            .with_help("change the config to satisfy the Blueprint's configSchema"),
        );
    }
    problems
}

impl Effective {
    /// Where the value at `pointer`, or its nearest written ancestor, came from.
    pub fn origin_of(&self, pointer: &str) -> Option<&Origin> {
        let mut p = pointer;
        loop {
            if let Some(origin) = self.provenance.get(p) {
                return Some(origin);
            }
            p = p.rsplit_once('/')?.0;
        }
    }
}

/// The OpenBao property name of a secret field: its config path with dashes.
pub fn secret_property(pointer: &str) -> String {
    pointer.trim_start_matches('/').replace('/', "-")
}

fn display_pointer(pointer: &str) -> String {
    if pointer.is_empty() {
        "(root)".into()
    } else {
        pointer::dotted(pointer)
    }
}

fn parent_pointer(schema_path: &str) -> &str {
    schema_path.rsplit_once('/').map_or("", |(p, _)| p)
}

/// Deep merge: mappings merge key by key, anything else replaces.
fn merge(target: &mut Json, layer: &Json, pointer: &str, origin: &Origin, provenance: &mut HashMap<String, Origin>) {
    match (target, layer) {
        (Json::Object(t), Json::Object(l)) => {
            for (key, value) in l {
                let child = pointer::child(pointer, key);
                let child_origin = origin.child(key);
                let slot = t.entry(key.clone()).or_insert(Json::Null);
                if value.is_object() && slot.is_object() {
                    provenance.entry(child.clone()).or_insert_with(|| child_origin.clone());
                    merge(slot, value, &child, &child_origin, provenance);
                } else {
                    *slot = value.clone();
                    provenance.retain(|p, _| !(p == &child || p.starts_with(&format!("{child}/"))));
                    record(value, &child, &child_origin, provenance);
                }
            }
        }
        (target, layer) => *target = layer.clone(),
    }
}

fn record(value: &Json, pointer: &str, origin: &Origin, provenance: &mut HashMap<String, Origin>) {
    provenance.insert(pointer.to_string(), origin.clone());
    match value {
        Json::Object(map) => map.iter().for_each(|(k, v)| record(v, &pointer::child(pointer, k), &origin.child(k), provenance)),
        Json::Array(items) => {
            items.iter().enumerate().for_each(|(i, v)| record(v, &format!("{pointer}/{i}"), &origin.child(i), provenance))
        }
        _ => {}
    }
}

/// The layers merged over the schema's defaults, without validation.
pub fn merged(schema: &ConfigSchema, layers: &[Layer<'_>]) -> Json {
    let mut config = Json::Object(Map::new());
    let mut provenance = HashMap::new();
    for layer in layers.iter().filter(|l| l.value.is_object()) {
        merge(&mut config, layer.value, "", &layer.origin, &mut provenance);
    }
    apply_defaults(&schema.schema, &mut config);
    config
}

/// Fills in `default`s of `properties` (recursively), never for secret fields.
pub fn apply_defaults(schema: &Json, value: &mut Json) {
    let Some(object) = value.as_object_mut() else { return };
    let Some(properties) = schema.get("properties").and_then(Json::as_object) else { return };
    for (name, sub) in properties {
        if is_secret_schema(sub) {
            continue;
        }
        if !object.contains_key(name) {
            if let Some(default) = sub.get("default") {
                object.insert(name.clone(), default.clone());
            } else if sub.get("type").and_then(Json::as_str) == Some("object") && sub.get("properties").is_some() {
                // An absent object whose members have defaults still gets them.
                let mut nested = Json::Object(Map::new());
                apply_defaults(sub, &mut nested);
                if nested.as_object().is_some_and(|m| !m.is_empty()) {
                    object.insert(name.clone(), nested);
                }
                continue;
            } else {
                continue;
            }
        }
        if let Some(child) = object.get_mut(name) {
            apply_defaults(sub, child);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn defaults_fill_nested_objects_but_not_secrets() {
        let schema = json!({"type": "object", "properties": {
            "a": {"type": "integer", "default": 1},
            "db": {"type": "object", "properties": {"mode": {"type": "string", "default": "embedded"}, "password": {"type": "string", "format": "secret", "default": "x"}}}
        }});
        let mut value = json!({});
        apply_defaults(&schema, &mut value);
        assert_eq!(value, json!({"a": 1, "db": {"mode": "embedded"}}));
    }
}
