//! Schema definitions of Kubernetes kinds, and the strict JSON Schema an
//! object is validated against.
//!
//! Two sources are read: CustomResourceDefinitions (`apiextensions.k8s.io/v1`,
//! one schema per version), and stand-alone JSON Schemas that name their
//! kinds in `x-kubernetes-group-version-kind` (the kubernetes-json-schema
//! files kubeconform reads for the core kinds).
//!
//! A CRD's `openAPIV3Schema` is turned into the JSON Schema the API server
//! effectively applies, made strict the way kubeconform's `-strict` does it:
//! a misspelt field is an error instead of being pruned silently.
//!
//! * an object schema that lists `properties` rejects other keys, unless
//!   `x-kubernetes-preserve-unknown-fields: true` keeps it open;
//! * `nullable: true` admits `null`;
//! * `x-kubernetes-int-or-string: true` admits an integer or a string;
//! * `x-kubernetes-embedded-resource: true` requires `apiVersion` and `kind`
//!   and checks `metadata` as an ObjectMeta;
//! * `x-kubernetes-list-type: set` items are unique, and `map` items are
//!   unique by their `x-kubernetes-list-map-keys` (a keyword of its own);
//! * the root gets `apiVersion`, `kind` and a strict ObjectMeta `metadata`
//!   with a required `name`, as the API server adds them to every CRD.
//!
//! `x-kubernetes-validations` (CEL) and transition rules are not evaluated.

use std::collections::BTreeMap;

use jsonschema::paths::Location;
use jsonschema::{Draft, Keyword, ValidationError, Validator};
use serde_json::{json, Map, Value as Json};

/// One version of a kind: whether the API serves it, and its strict schema.
pub struct VersionDef {
    pub served: bool,
    pub schema: Option<Json>,
}

/// Every version of one kind, as one file defines it.
pub struct KindDef {
    pub group: String,
    pub kind: String,
    /// Whether objects of the kind live in a namespace (`None`: the definition does not say).
    pub namespaced: Option<bool>,
    pub versions: BTreeMap<String, VersionDef>,
}

/// The kinds one YAML document defines, or why it is not a definition.
pub fn definitions(document: &Json) -> Result<Vec<KindDef>, String> {
    if document.get("kind").and_then(Json::as_str) == Some("CustomResourceDefinition") {
        return custom_resource(document).map(|def| vec![def]);
    }
    if let Some(kinds) = document.get("x-kubernetes-group-version-kind").and_then(Json::as_array) {
        return stand_alone(document, kinds);
    }
    Ok(Vec::new())
}

fn text<'a>(value: &'a Json, pointer: &str) -> Result<&'a str, String> {
    value
        .pointer(pointer)
        .and_then(Json::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| format!("no `{}`", pointer[1..].replace('/', ".")))
}

fn custom_resource(crd: &Json) -> Result<KindDef, String> {
    let group = text(crd, "/spec/group")?.to_string();
    let kind = text(crd, "/spec/names/kind")?.to_string();
    let listed = crd.pointer("/spec/versions").and_then(Json::as_array).ok_or("no `spec.versions`")?;
    // A schema at spec.validation is the v1beta1 form, shared by every version.
    let shared = crd.pointer("/spec/validation/openAPIV3Schema");
    let mut versions = BTreeMap::new();
    for version in listed {
        let name = text(version, "/name")?.to_string();
        // `served` is required in a CRD; a version that does not say it is served is not.
        let served = version.get("served").and_then(Json::as_bool).unwrap_or(false);
        let openapi = version.pointer("/schema/openAPIV3Schema").or(shared);
        versions.insert(name, VersionDef { served, schema: openapi.map(strict_custom_resource) });
    }
    let namespaced = crd.pointer("/spec/scope").and_then(Json::as_str).map(|scope| scope == "Namespaced");
    Ok(KindDef { group, kind, namespaced, versions })
}

/// Core kinds that live outside namespaces (a stand-alone schema does not say its scope).
const CLUSTER_SCOPED_CORE: [&str; 10] = [
    "Namespace",
    "Node",
    "PersistentVolume",
    "StorageClass",
    "ClusterRole",
    "ClusterRoleBinding",
    "CustomResourceDefinition",
    "PriorityClass",
    "ValidatingWebhookConfiguration",
    "MutatingWebhookConfiguration",
];

fn stand_alone(schema: &Json, kinds: &[Json]) -> Result<Vec<KindDef>, String> {
    let mut schema = schema.clone();
    if let Some(root) = schema.as_object_mut() {
        // Such files name meta-schemas the validator does not know (`http://json-schema.org/schema#`).
        root.remove("$schema");
    }
    kinds
        .iter()
        .map(|gvk| {
            let group = gvk.get("group").and_then(Json::as_str).unwrap_or_default().to_string();
            let kind = text(gvk, "/kind")?.to_string();
            let version = text(gvk, "/version")?.to_string();
            let versions = BTreeMap::from([(version, VersionDef { served: true, schema: Some(schema.clone()) })]);
            let namespaced = Some(!CLUSTER_SCOPED_CORE.contains(&kind.as_str()));
            Ok(KindDef { group, kind, namespaced, versions })
        })
        .collect()
}

/// The strict schema of objects of one CRD version.
fn strict_custom_resource(openapi: &Json) -> Json {
    let mut schema = openapi.clone();
    tighten(&mut schema);
    let Some(root) = schema.as_object_mut() else { return schema };
    let properties = root.entry("properties").or_insert_with(|| json!({}));
    if let Some(properties) = properties.as_object_mut() {
        properties.insert("apiVersion".into(), json!({"type": "string"}));
        properties.insert("kind".into(), json!({"type": "string"}));
        properties.insert("metadata".into(), object_meta(true));
    }
    root.insert("additionalProperties".into(), Json::Bool(false));
    require(root, &["apiVersion", "kind", "metadata"]);
    schema
}

fn require(schema: &mut Map<String, Json>, names: &[&str]) {
    let required = schema.entry("required").or_insert_with(|| json!([]));
    if let Some(required) = required.as_array_mut() {
        for name in names {
            if !required.iter().any(|r| r == name) {
                required.push(json!(name));
            }
        }
    }
}

const DNS_SUBDOMAIN: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$";
const DNS_LABEL: &str = r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$";
/// A label or annotation key: an optional DNS-subdomain prefix and `/`, then a name of at most 63 characters.
const QUALIFIED_NAME: &str =
    r"^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$";
const LABEL_VALUE: &str = r"^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$";

/// The API server's ObjectMeta: the fields it knows, with the syntax it checks.
fn object_meta(named: bool) -> Json {
    let mut meta = json!({
        "type": "object",
        "description": "Kubernetes ObjectMeta",
        "additionalProperties": false,
        "required": ["name"],
        "properties": {
            "name": {"type": "string", "maxLength": 253, "pattern": DNS_SUBDOMAIN, "description": "a DNS subdomain: lowercase alphanumerics, `-` and `.`, at most 253 characters"},
            "generateName": {"type": "string"},
            "namespace": {"type": "string", "maxLength": 63, "pattern": DNS_LABEL, "description": "a DNS label: lowercase alphanumerics and `-`, at most 63 characters"},
            "labels": {
                "type": "object",
                "propertyNames": {"pattern": QUALIFIED_NAME, "maxLength": 317},
                "additionalProperties": {"type": "string", "pattern": LABEL_VALUE, "description": "a label value: at most 63 alphanumerics, `-`, `_` or `.`, starting and ending with an alphanumeric"},
            },
            "annotations": {
                "type": "object",
                "propertyNames": {"pattern": QUALIFIED_NAME, "maxLength": 317},
                "additionalProperties": {"type": "string"},
            },
            "finalizers": {"type": "array", "items": {"type": "string"}},
            "ownerReferences": {
                "type": "array",
                "items": {
                    "type": "object",
                    "additionalProperties": false,
                    "required": ["apiVersion", "kind", "name", "uid"],
                    "properties": {
                        "apiVersion": {"type": "string"}, "kind": {"type": "string"}, "name": {"type": "string"},
                        "uid": {"type": "string"}, "controller": {"type": "boolean"}, "blockOwnerDeletion": {"type": "boolean"},
                    },
                },
            },
            "uid": {"type": "string"},
            "resourceVersion": {"type": "string"},
            "generation": {"type": "integer"},
            "creationTimestamp": {"type": ["string", "null"]},
            "deletionTimestamp": {"type": ["string", "null"]},
            "deletionGracePeriodSeconds": {"type": "integer"},
            "managedFields": {"type": "array"},
            "selfLink": {"type": "string"},
        },
    });
    if !named {
        meta.as_object_mut().map(|m| m.remove("required"));
    }
    meta
}

fn flag(schema: &Map<String, Json>, name: &str) -> bool {
    schema.get(name) == Some(&Json::Bool(true))
}

/// Rewrites one structural schema node (and every node below it) into plain JSON Schema.
fn tighten(schema: &mut Json) {
    tighten_node(schema, true);
}

/// `close`: whether listed properties are all there may be. Inside `allOf`,
/// `anyOf`, `oneOf` and `not` they are not: a structural schema declares every
/// field outside them, and a branch only adds checks on some.
fn tighten_node(schema: &mut Json, close: bool) {
    let Some(node) = schema.as_object_mut() else { return };
    if flag(node, "nullable") {
        if let Some(Json::String(ty)) = node.get("type").cloned() {
            node.insert("type".into(), json!([ty, "null"]));
        }
        if let Some(Json::Array(values)) = node.get_mut("enum") {
            values.push(Json::Null);
        }
    }
    if flag(node, "x-kubernetes-int-or-string") {
        node.remove("type");
        node.entry("anyOf").or_insert_with(|| json!([{"type": "integer"}, {"type": "string"}]));
    }
    if flag(node, "x-kubernetes-embedded-resource") {
        let properties = node.entry("properties").or_insert_with(|| json!({}));
        if let Some(properties) = properties.as_object_mut() {
            properties.entry("apiVersion").or_insert_with(|| json!({"type": "string"}));
            properties.entry("kind").or_insert_with(|| json!({"type": "string"}));
            // An embedded object (a pod template, say) may leave its name to its owner.
            properties.insert("metadata".into(), object_meta(false));
        }
        require(node, &["apiVersion", "kind"]);
    }
    if node.get("x-kubernetes-list-type").and_then(Json::as_str) == Some("set") {
        node.insert("uniqueItems".into(), Json::Bool(true));
    }
    let open = flag(node, "x-kubernetes-preserve-unknown-fields");
    if close && node.contains_key("properties") && !node.contains_key("additionalProperties") && !open {
        node.insert("additionalProperties".into(), Json::Bool(false));
    }
    // Only schema positions: a field that happens to be named `properties` is not a keyword.
    for (keyword, sub) in node.iter_mut() {
        match (keyword.as_str(), sub) {
            ("properties" | "patternProperties" | "definitions", Json::Object(children)) => {
                children.values_mut().for_each(|child| tighten_node(child, close))
            }
            ("items", Json::Array(children)) => children.iter_mut().for_each(|child| tighten_node(child, close)),
            ("allOf" | "anyOf" | "oneOf", Json::Array(children)) => children.iter_mut().for_each(|child| tighten_node(child, false)),
            ("items" | "additionalProperties", child @ Json::Object(_)) => tighten_node(child, close),
            ("not", child @ Json::Object(_)) => tighten_node(child, false),
            _ => {}
        }
    }
}

/// Compiles a strict schema (OpenAPI v3.0 is JSON Schema draft 4 in its keywords: `exclusiveMinimum` is a flag).
pub fn compile(schema: &Json) -> Result<Validator, String> {
    jsonschema::options()
        .with_draft(Draft::Draft4)
        .should_validate_formats(true)
        .with_format("byte", is_base64)
        .with_keyword("x-kubernetes-list-map-keys", list_map_keys)
        .build(schema)
        .map_err(|e| e.to_string())
}

/// Kubernetes' `byte` format: standard base64 with padding.
fn is_base64(text: &str) -> bool {
    let body = text.trim_end_matches('=');
    text.len() % 4 == 0 && text.len() - body.len() <= 2 && body.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'+' || b == b'/')
}

/// Items of a `x-kubernetes-list-type: map` list are unique by their keys.
struct ListMapKeys {
    keys: Vec<String>,
}

#[allow(clippy::type_complexity)]
fn list_map_keys<'a>(
    parent: &'a Map<String, Json>,
    value: &'a Json,
    _: Location,
) -> Result<Box<dyn for<'i> Keyword<'i>>, ValidationError<'a>> {
    let is_map = parent.get("x-kubernetes-list-type").and_then(Json::as_str) == Some("map");
    let keys =
        if is_map { value.as_array().into_iter().flatten().filter_map(Json::as_str).map(String::from).collect() } else { Vec::new() };
    Ok(Box::new(ListMapKeys { keys }))
}

impl ListMapKeys {
    /// The first key tuple two items share.
    fn duplicate(&self, instance: &Json) -> Option<String> {
        let items = instance.as_array().filter(|_| !self.keys.is_empty())?;
        let tuples: Vec<Vec<&Json>> =
            items.iter().map(|item| self.keys.iter().map(|k| item.get(k).unwrap_or(&Json::Null)).collect()).collect();
        tuples
            .iter()
            .enumerate()
            .find(|(i, tuple)| tuples[..*i].contains(tuple))
            .map(|(_, tuple)| self.keys.iter().zip(tuple).map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join(", "))
    }
}

impl<'i> Keyword<'i> for ListMapKeys {
    fn validate(&self, instance: &'i Json) -> Result<(), ValidationError<'i>> {
        match self.duplicate(instance) {
            Some(key) => Err(ValidationError::custom(format!("two items have the same key ({key}); a map list holds one item per key"))),
            None => Ok(()),
        }
    }

    fn is_valid(&self, instance: &'i Json) -> bool {
        self.duplicate(instance).is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn validator(openapi: Json) -> Validator {
        compile(&strict_custom_resource(&openapi)).expect("compiles")
    }

    fn object(spec: Json) -> Json {
        json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}, "spec": spec})
    }

    #[test]
    fn extensions_are_honoured() {
        let v = validator(json!({
            "type": "object",
            "properties": {"spec": {"type": "object", "properties": {
                "port": {"x-kubernetes-int-or-string": true},
                "note": {"type": "string", "nullable": true},
                "free": {"type": "object", "x-kubernetes-preserve-unknown-fields": true, "properties": {"known": {"type": "string"}}},
                "tags": {"type": "array", "x-kubernetes-list-type": "set", "items": {"type": "string"}},
                "ports": {"type": "array", "x-kubernetes-list-type": "map", "x-kubernetes-list-map-keys": ["name"],
                          "items": {"type": "object", "properties": {"name": {"type": "string"}, "port": {"type": "integer"}}}},
                "template": {"type": "object", "x-kubernetes-embedded-resource": true, "x-kubernetes-preserve-unknown-fields": true},
                "data": {"type": "string", "format": "byte"},
            }}},
        }));
        let good = object(json!({
            "port": "http", "note": null, "free": {"known": "x", "other": [1]}, "tags": ["a", "b"],
            "ports": [{"name": "a", "port": 1}, {"name": "b", "port": 1}],
            "template": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "c"}, "data": {}},
            "data": "aGVsbG8=",
        }));
        assert!(v.is_valid(&good), "{:?}", v.iter_errors(&good).map(|e| e.to_string()).collect::<Vec<_>>());
        assert!(v.is_valid(&object(json!({"port": 8080}))));
        for bad in [
            json!({"port": 1.5}),
            json!({"tags": ["a", "a"]}),
            json!({"ports": [{"name": "a", "port": 1}, {"name": "a", "port": 2}]}),
            json!({"template": {"kind": "ConfigMap"}}),
            json!({"template": {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"nmae": "c"}}}),
            json!({"data": "not base64!"}),
            json!({"unknown": 1}),
        ] {
            assert!(!v.is_valid(&object(bad.clone())), "{bad} must be refused");
        }
        let mut unnamed = object(json!({}));
        unnamed["metadata"] = json!({"labels": {"a": "b"}});
        assert!(!v.is_valid(&unnamed), "metadata.name is required");
        let mut bad_label = object(json!({}));
        bad_label["metadata"]["labels"] = json!({"a": "not a label value"});
        assert!(!v.is_valid(&bad_label), "label values have a syntax");
    }

    #[test]
    fn branches_of_junctors_check_fields_without_closing_the_object() {
        let v = validator(json!({"type": "object", "properties": {"spec": {
            "type": "object",
            "properties": {"bootstrap": {"type": "boolean"}, "environmentRef": {"type": "string"}},
            "anyOf": [{"required": ["bootstrap"], "properties": {"bootstrap": {"enum": [true]}}}, {"required": ["environmentRef"]}],
        }}}));
        assert!(v.is_valid(&object(json!({"bootstrap": true}))));
        assert!(v.is_valid(&object(json!({"environmentRef": "acme-prod", "bootstrap": false}))));
        assert!(!v.is_valid(&object(json!({"bootstrap": false}))));
        assert!(!v.is_valid(&object(json!({"environmentRef": "acme-prod", "other": 1}))), "the object itself stays closed");
    }

    #[test]
    fn a_field_named_properties_is_not_a_keyword() {
        let v = validator(json!({"type": "object", "properties": {"spec": {"type": "object", "properties": {
            "properties": {"type": "object", "x-kubernetes-preserve-unknown-fields": true},
        }}}}));
        assert!(v.is_valid(&object(json!({"properties": {"anything": 1}}))));
    }

    #[test]
    fn definitions_come_from_crds_and_stand_alone_schemas() {
        let crd = json!({"apiVersion": "apiextensions.k8s.io/v1", "kind": "CustomResourceDefinition", "spec": {
            "group": "example.com", "names": {"kind": "Widget"},
            "versions": [{"name": "v1", "served": true, "schema": {"openAPIV3Schema": {"type": "object"}}}, {"name": "v0", "served": false}],
        }});
        let defs = definitions(&crd).expect("a CRD");
        assert_eq!((defs[0].group.as_str(), defs[0].kind.as_str()), ("example.com", "Widget"));
        assert!(defs[0].versions["v1"].served && !defs[0].versions["v0"].served && defs[0].versions["v0"].schema.is_none());
        let core = json!({"type": "object", "x-kubernetes-group-version-kind": [{"group": "", "kind": "Namespace", "version": "v1"}]});
        assert_eq!(definitions(&core).expect("a schema")[0].kind, "Namespace");
        assert!(definitions(&json!({"kind": "ConfigMap"})).expect("not a definition").is_empty());
        let broken = json!({"kind": "CustomResourceDefinition", "spec": {"names": {"kind": "W"}}});
        assert_eq!(definitions(&broken).err().as_deref(), Some("no `spec.group`"));
    }
}
