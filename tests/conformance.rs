//! Conformance tests: the tree compiled from every example Sovereign is
//! accepted by the real tools and the real API definitions it is written for.
//!
//! * `kubectl kustomize` builds every folder of the tree that has a
//!   `kustomization.yaml`. kubectl must be on PATH: run
//!   `scripts/install-test-tools.sh` first (the test fails, never skips, without it).
//! * Every emitted Kubernetes object validates against its upstream schema in
//!   `../shared/upstream-schemas/` (see its README): the Flux, External Secrets
//!   and Catalyst CRDs, the strict core Kubernetes schemas and the SchemaStore
//!   kustomization schema. The CRD schemas are made strict the way kubeconform
//!   does it, and their `metadata` is checked as a Kubernetes ObjectMeta, so a
//!   misspelt or unknown field, an apiVersion the CRD does not serve, or a kind
//!   with no schema (outside [`NO_SCHEMA_ALLOWLIST`]) fails the test.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use jsonschema::{Draft, Validator};
use rayon::prelude::*;
use serde_json::{json, Value};

use common::{compile_ok, example_sovereigns, repo};

/// Kinds the compiler emits for which no upstream schema is kept in
/// shared/upstream-schemas. Objects of exactly these apiVersion/kind pairs are
/// counted but not validated; any other kind without a schema fails the test.
const NO_SCHEMA_ALLOWLIST: &[(&str, &str)] = &[
    // Crossplane provider install and its config (infrastructure/).
    ("pkg.crossplane.io/v1", "Provider"),
    ("hcloud.crossplane.io/v1beta1", "ProviderConfig"),
    // Plain workloads rendered from Blueprint manifest templates.
    ("apps/v1", "Deployment"),
    ("v1", "Service"),
    ("networking.k8s.io/v1", "Ingress"),
];

/// (API group, kind): at least one object of each must have been validated
/// across the examples, so the test cannot pass by validating nothing.
const MUST_VALIDATE: &[(&str, &str)] = &[
    ("source.toolkit.fluxcd.io", "GitRepository"),
    ("kustomize.toolkit.fluxcd.io", "Kustomization"),
    ("helm.toolkit.fluxcd.io", "HelmRelease"),
    ("source.toolkit.fluxcd.io", "HelmRepository"),
    ("external-secrets.io", "ExternalSecret"),
    ("orgs.openova.io", "Organization"),
    ("catalyst.openova.io", "Environment"),
    ("catalyst.openova.io", "EnvironmentPolicy"),
    ("apps.openova.io", "Application"),
    ("catalyst.openova.io", "Sovereign"),
    ("", "Namespace"),
    ("kustomize.config.k8s.io", "Kustomization"),
];

/// Folders of CustomResourceDefinition files, relative to the upstream-schemas
/// folder. Only their own files are read: `flux/legacy-source-controller-*/`
/// (which still serves `v1beta2`) is deliberately left out.
const CRD_DIRS: &[&str] = &["flux", "external-secrets", "catalyst"];

/// Stand-alone JSON Schemas (already strict) for kinds that are not CRDs:
/// (apiVersion, kind, path relative to the upstream-schemas folder).
const JSON_SCHEMAS: &[(&str, &str, &str)] = &[("kustomize.config.k8s.io/v1beta1", "Kustomization", "schemastore/kustomization.json")];

/// Core-group (`v1`) kinds, in kubeconform's `{kind}-{version}.json` naming.
const CORE_SCHEMA_DIR: &str = "kubernetes/master-standalone-strict";

/// The strict ObjectMeta schema, taken from the core Namespace schema.
const OBJECT_META_FROM: &str = "kubernetes/master-standalone-strict/namespace-v1.json";

const INSTALL_HINT: &str = "run scripts/install-test-tools.sh to install the tools the test suite needs";

fn upstream_schemas() -> PathBuf {
    let dir = repo().parent().expect("the repository root has a parent").join("shared/upstream-schemas");
    assert!(dir.is_dir(), "{} is missing: the conformance tests need the shared upstream schemas", dir.display());
    dir
}

/// Compiles every example Sovereign: (fqdn, compiled tree).
fn compiled_examples() -> Vec<(String, catalyst::render::Output)> {
    let sovereigns = example_sovereigns();
    assert!(!sovereigns.is_empty(), "no example Sovereigns found under sovereigns/");
    sovereigns
        .iter()
        .map(|sovereign| {
            let fqdn = sovereign.file_name().expect("a Sovereign folder has a name").to_string_lossy().into_owned();
            (fqdn, compile_ok(sovereign).1)
        })
        .collect()
}

// ---------------------------------------------------------------------------
// kustomize
// ---------------------------------------------------------------------------

fn require_kubectl() {
    match Command::new("kubectl").args(["version", "--client"]).output() {
        Ok(out) if out.status.success() => {}
        Ok(out) => panic!("`kubectl version --client` failed ({}): {}\n{INSTALL_HINT}", out.status, String::from_utf8_lossy(&out.stderr)),
        Err(e) => panic!("cannot run `kubectl` ({e}): it is needed on PATH for `kubectl kustomize`.\n{INSTALL_HINT}"),
    }
}

/// Every folder below `root` that holds a kustomization file, relative to `root`, sorted.
fn kustomization_dirs(root: &Path) -> Vec<String> {
    let mut dirs: Vec<String> = walkdir::WalkDir::new(root)
        .into_iter()
        .map(|e| e.expect("readable entry in the emitted tree"))
        .filter(|e| {
            e.file_type().is_file() && matches!(e.file_name().to_str(), Some("kustomization.yaml" | "kustomization.yml" | "Kustomization"))
        })
        .map(|e| {
            let dir = e.path().parent().expect("a file has a parent folder");
            dir.strip_prefix(root).expect("below the emitted root").to_string_lossy().replace('\\', "/")
        })
        .collect();
    dirs.sort();
    dirs
}

#[test]
fn kubectl_kustomize_builds_every_kustomization() {
    require_kubectl();
    let scratch = tempfile::tempdir().expect("create a temp dir");
    let mut failures = Vec::new();
    for (fqdn, output) in compiled_examples() {
        let root = scratch.path().join(&fqdn);
        catalyst::emit::emit(&output, &root)
            .unwrap_or_else(|e| panic!("{fqdn}: cannot write the compiled tree to {}: {e}", root.display()));
        let dirs = kustomization_dirs(&root);
        for expected in [format!("clusters/{fqdn}"), "system/catalyst-config".to_string()] {
            assert!(dirs.contains(&expected), "{fqdn}: no kustomization.yaml in {expected}/ (found: {dirs:?})");
        }
        assert!(dirs.iter().any(|d| d.starts_with("repos/")), "{fqdn}: no kustomization.yaml under repos/ (found: {dirs:?})");

        let results: Vec<Option<String>> = dirs
            .par_iter()
            .map(|dir| {
                let out = match Command::new("kubectl").arg("kustomize").arg(root.join(dir)).output() {
                    Ok(out) => out,
                    Err(e) => return Some(format!("{fqdn}: {dir}: cannot run `kubectl kustomize`: {e}\n{INSTALL_HINT}")),
                };
                if !out.status.success() {
                    return Some(format!(
                        "{fqdn}: `kubectl kustomize {dir}` failed ({}):\n{}",
                        out.status,
                        String::from_utf8_lossy(&out.stderr)
                    ));
                }
                let built = String::from_utf8_lossy(&out.stdout);
                match catalyst::yaml::parse_stream(&built) {
                    Ok(documents) if documents.iter().any(|d| d.get("kind").is_some()) => None,
                    Ok(_) => Some(format!("{fqdn}: `kubectl kustomize {dir}` built no object")),
                    Err(e) => Some(format!("{fqdn}: the output of `kubectl kustomize {dir}` is not YAML: {e}")),
                }
            })
            .collect();
        failures.extend(results.into_iter().flatten());
        eprintln!("{fqdn}: ran `kubectl kustomize` on {} folders", dirs.len());
    }
    assert!(failures.is_empty(), "{} kustomize build(s) failed:\n\n{}", failures.len(), failures.join("\n\n"));
}

// ---------------------------------------------------------------------------
// Upstream schemas
// ---------------------------------------------------------------------------

struct CrdVersion {
    served: bool,
    schema: Option<Value>,
}

struct Crd {
    file: PathBuf,
    versions: BTreeMap<String, CrdVersion>,
}

/// What validating one object came to.
#[derive(Debug, PartialEq, Eq)]
enum Checked {
    /// Validated against its schema, without error.
    Valid,
    /// In [`NO_SCHEMA_ALLOWLIST`]: not validated.
    Allowlisted,
}

/// The upstream schemas, looked up by an object's apiVersion and kind.
struct Schemas {
    root: PathBuf,
    object_meta: Value,
    /// (group, kind) → CRD.
    crds: BTreeMap<(String, String), Crd>,
    /// (apiVersion, kind) → compiled validator.
    compiled: BTreeMap<(String, String), Validator>,
}

fn read_json(path: &Path) -> Value {
    let text = fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()))
}

fn string_at<'a>(value: &'a Value, pointer: &str, file: &Path) -> &'a str {
    value.pointer(pointer).and_then(Value::as_str).unwrap_or_else(|| panic!("{}: no string at {pointer}", file.display()))
}

/// Reads every CRD in the files directly inside `dir`.
fn load_crds(dir: &Path, crds: &mut BTreeMap<(String, String), Crd>) {
    let mut files: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.is_file() && p.extension().is_some_and(|x| x == "yaml" || x == "yml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no CRD files in {}", dir.display());
    for file in files {
        let text = fs::read_to_string(&file).unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        let documents = catalyst::yaml::parse_stream(&text).unwrap_or_else(|e| panic!("{} is not YAML: {e}", file.display()));
        for crd in documents.iter().filter(|d| d.get("kind").and_then(Value::as_str) == Some("CustomResourceDefinition")) {
            let group = string_at(crd, "/spec/group", &file).to_string();
            let kind = string_at(crd, "/spec/names/kind", &file).to_string();
            let versions = crd
                .pointer("/spec/versions")
                .and_then(Value::as_array)
                .unwrap_or_else(|| panic!("{}: {kind} has no spec.versions", file.display()))
                .iter()
                .map(|v| {
                    let name = string_at(v, "/name", &file).to_string();
                    // `served` is required in a CRD; a version that does not say it is served is not.
                    let served = v.get("served").and_then(Value::as_bool).unwrap_or(false);
                    (name, CrdVersion { served, schema: v.pointer("/schema/openAPIV3Schema").cloned() })
                })
                .collect();
            let previous = crds.insert((group.clone(), kind.clone()), Crd { file: file.clone(), versions });
            assert!(previous.is_none(), "{group} {kind} is defined twice (again in {})", file.display());
        }
    }
}

/// Makes a CRD's OpenAPI schema strict, as kubeconform's `openapi2jsonschema`
/// does: every object schema that lists `properties` and says nothing about
/// `additionalProperties` gets `additionalProperties: false`, unless it is
/// marked `x-kubernetes-preserve-unknown-fields: true`. It walks the schema
/// structure (not every nested map, so a field named `properties` is not
/// mistaken for a keyword), and turns OpenAPI's `nullable: true` into a JSON
/// Schema type that allows `null`.
fn tighten(schema: &mut Value) {
    let Some(object) = schema.as_object_mut() else { return };
    if object.get("nullable") == Some(&Value::Bool(true)) {
        if let Some(Value::String(ty)) = object.get("type").cloned() {
            object.insert("type".into(), json!([ty, "null"]));
        }
        if let Some(Value::Array(values)) = object.get_mut("enum") {
            values.push(Value::Null);
        }
    }
    let open = object.get("x-kubernetes-preserve-unknown-fields") == Some(&Value::Bool(true));
    if object.contains_key("properties") && !object.contains_key("additionalProperties") && !open {
        object.insert("additionalProperties".into(), Value::Bool(false));
    }
    for (keyword, sub) in object.iter_mut() {
        match (keyword.as_str(), sub) {
            ("properties" | "patternProperties" | "definitions" | "$defs", Value::Object(children)) => {
                children.values_mut().for_each(tighten)
            }
            ("items" | "allOf" | "anyOf" | "oneOf", Value::Array(children)) => children.iter_mut().for_each(tighten),
            ("items" | "additionalProperties" | "not", child @ Value::Object(_)) => tighten(child),
            _ => {}
        }
    }
}

/// The schema an object of a CRD version is checked against: the strict CRD
/// schema, closed at the root too, with the fields the API server adds to every
/// CRD (`apiVersion`, `kind`, and `metadata` as a strict ObjectMeta: in a CRD
/// it is only `type: object`, and the Catalyst CRDs do not list them at all).
fn strict_crd_schema(openapi: &Value, object_meta: &Value) -> Value {
    let mut schema = openapi.clone();
    tighten(&mut schema);
    let root = schema.as_object_mut().expect("an openAPIV3Schema is an object");
    let properties = root.entry("properties").or_insert_with(|| json!({}));
    let properties = properties.as_object_mut().expect("`properties` is an object");
    properties.entry("apiVersion").or_insert_with(|| json!({"type": "string"}));
    properties.entry("kind").or_insert_with(|| json!({"type": "string"}));
    properties.insert("metadata".into(), object_meta.clone());
    root.insert("additionalProperties".into(), Value::Bool(false));
    schema
}

fn compile_schema(mut schema: Value, origin: &Path) -> Result<Validator, String> {
    // Some files name a meta-schema the validator does not know (`http://json-schema.org/schema#`); all are read as draft 7.
    if let Some(root) = schema.as_object_mut() {
        root.remove("$schema");
    }
    jsonschema::options()
        .with_draft(Draft::Draft7)
        .should_validate_formats(true)
        .build(&schema)
        .map_err(|e| format!("the schema from {} does not compile: {e}", origin.display()))
}

impl Schemas {
    fn load() -> Schemas {
        let root = upstream_schemas();
        let mut crds = BTreeMap::new();
        for dir in CRD_DIRS {
            load_crds(&root.join(dir), &mut crds);
        }
        let namespace = read_json(&root.join(OBJECT_META_FROM));
        let mut object_meta = namespace.pointer("/properties/metadata").cloned().expect("the Namespace schema has a metadata schema");
        // A custom resource's metadata cannot be null.
        object_meta["type"] = json!("object");
        Schemas { root, object_meta, crds, compiled: BTreeMap::new() }
    }

    fn relative<'a>(&self, path: &'a Path) -> std::borrow::Cow<'a, str> {
        path.strip_prefix(&self.root).unwrap_or(path).to_string_lossy()
    }

    /// Builds the validator for `apiVersion`/`kind`: `Ok(None)` for an allowlisted kind without a schema.
    fn build(&self, api_version: &str, kind: &str) -> Result<Option<Validator>, String> {
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        if let Some(crd) = self.crds.get(&(group.to_string(), kind.to_string())) {
            let file = self.relative(&crd.file);
            let Some(found) = crd.versions.get(version) else {
                let known: Vec<&String> = crd.versions.keys().collect();
                return Err(format!("{api_version} {kind}: the CRD in {file} has no version `{version}` (it has {known:?})"));
            };
            if !found.served {
                return Err(format!("{api_version} {kind}: version `{version}` is not served by the CRD in {file}"));
            }
            let Some(openapi) = &found.schema else {
                return Err(format!("{api_version} {kind}: the CRD in {file} has no openAPIV3Schema for `{version}`"));
            };
            return compile_schema(strict_crd_schema(openapi, &self.object_meta), &crd.file).map(Some);
        }
        if let Some((_, _, path)) = JSON_SCHEMAS.iter().find(|(a, k, _)| *a == api_version && *k == kind) {
            let path = self.root.join(path);
            return compile_schema(read_json(&path), &path).map(Some);
        }
        if group.is_empty() {
            let path = self.root.join(CORE_SCHEMA_DIR).join(format!("{}-{version}.json", kind.to_lowercase()));
            if path.is_file() {
                return compile_schema(read_json(&path), &path).map(Some);
            }
        }
        if NO_SCHEMA_ALLOWLIST.contains(&(api_version, kind)) {
            return Ok(None);
        }
        Err(format!("{api_version} {kind}: no schema for this kind in {} and it is not in NO_SCHEMA_ALLOWLIST", self.root.display()))
    }

    /// Validates one object, or says why it is not valid.
    fn check(&mut self, object: &Value) -> Result<Checked, Vec<String>> {
        let (Some(api_version), Some(kind)) =
            (object.get("apiVersion").and_then(Value::as_str), object.get("kind").and_then(Value::as_str))
        else {
            return Err(vec!["apiVersion and kind must both be strings".to_string()]);
        };
        let key = (api_version.to_string(), kind.to_string());
        if !self.compiled.contains_key(&key) {
            match self.build(api_version, kind).map_err(|e| vec![e])? {
                Some(validator) => self.compiled.insert(key.clone(), validator),
                None => return Ok(Checked::Allowlisted),
            };
        }
        let validator = &self.compiled[&key];
        let errors: Vec<String> = validator
            .iter_errors(object)
            .map(|e| {
                let at = e.instance_path().as_str();
                format!("at `{}`: {e}", if at.is_empty() { "/" } else { at })
            })
            .collect();
        if errors.is_empty() {
            Ok(Checked::Valid)
        } else {
            Err(errors)
        }
    }
}

/// `apiVersion kind namespace/name` of an object, for messages.
fn describe(object: &Value) -> String {
    let text = |pointer: &str| object.pointer(pointer).and_then(Value::as_str).unwrap_or("?").to_string();
    let name = match object.pointer("/metadata/namespace").and_then(Value::as_str) {
        Some(namespace) => format!("{namespace}/{}", text("/metadata/name")),
        None => text("/metadata/name"),
    };
    format!("{} {} {name}", text("/apiVersion"), text("/kind"))
}

fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(group, _)| group)
}

#[test]
fn emitted_objects_conform_to_upstream_schemas() {
    let mut schemas = Schemas::load();
    let mut validated: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut allowlisted: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for (fqdn, output) in compiled_examples() {
        for (path, bytes) in output.files.iter().filter(|(path, _)| path.ends_with(".yaml") || path.ends_with(".yml")) {
            let Ok(text) = std::str::from_utf8(bytes) else {
                failures.push(format!("{fqdn}: {path}: not UTF-8"));
                continue;
            };
            let documents = match catalyst::yaml::parse_stream(text) {
                Ok(documents) => documents,
                Err(e) => {
                    failures.push(format!("{fqdn}: {path}: not YAML: {e}"));
                    continue;
                }
            };
            for object in documents.iter().filter(|d| d.get("apiVersion").is_some() && d.get("kind").is_some()) {
                let key = (object["apiVersion"].as_str().unwrap_or("?").to_string(), object["kind"].as_str().unwrap_or("?").to_string());
                match schemas.check(object) {
                    Ok(Checked::Valid) => *validated.entry(key).or_default() += 1,
                    Ok(Checked::Allowlisted) => *allowlisted.entry(key).or_default() += 1,
                    Err(errors) => {
                        failures.push(format!("{fqdn}: {path}: {}:\n    {}", describe(object), errors.join("\n    ")));
                    }
                }
            }
        }
    }

    eprintln!("validated against upstream schemas:");
    for ((api_version, kind), count) in &validated {
        eprintln!("  {count:>4}  {api_version} {kind}");
    }
    eprintln!("not validated (NO_SCHEMA_ALLOWLIST):");
    for ((api_version, kind), count) in &allowlisted {
        eprintln!("  {count:>4}  {api_version} {kind}");
    }

    assert!(failures.is_empty(), "{} object(s) do not conform to their upstream schema:\n\n{}", failures.len(), failures.join("\n\n"));
    let missing: Vec<String> = MUST_VALIDATE
        .iter()
        .filter(|(group, kind)| !validated.keys().any(|(a, k)| group_of(a) == *group && k == kind))
        .map(|(group, kind)| format!("{kind} ({})", if group.is_empty() { "core" } else { group }))
        .collect();
    assert!(missing.is_empty(), "no object of these kinds was validated, so the check proves nothing for them: {missing:?}");
}

/// The validator above must reject what a real cluster rejects, or a green run means nothing.
#[test]
fn the_validator_is_strict_and_version_aware() {
    let mut schemas = Schemas::load();

    let release = json!({
        "apiVersion": "helm.toolkit.fluxcd.io/v2",
        "kind": "HelmRelease",
        "metadata": {"name": "bp-demo", "namespace": "flux-system", "labels": {"app": "demo"}},
        "spec": {
            "interval": "15m",
            "chart": {"spec": {"chart": "bp-demo", "version": "1.0.0", "sourceRef": {"kind": "HelmRepository", "name": "bp-demo"}}},
            "values": {"anything": {"goes": ["here"]}},
        },
    });
    let repository = json!({
        "apiVersion": "source.toolkit.fluxcd.io/v1",
        "kind": "HelmRepository",
        "metadata": {"name": "bp-demo", "namespace": "flux-system"},
        "spec": {"type": "oci", "interval": "15m", "url": "oci://ghcr.io/openova-io"},
    });
    let external_secret = json!({
        "apiVersion": "external-secrets.io/v1",
        "kind": "ExternalSecret",
        "metadata": {"name": "demo"},
        "spec": {
            "refreshInterval": "1h",
            "secretStoreRef": {"kind": "ClusterSecretStore", "name": "openbao"},
            "target": {"name": "demo", "creationPolicy": "Owner"},
            "data": [{"secretKey": "value", "remoteRef": {"key": "org/demo", "property": "password"}}],
        },
    });
    let organization = json!({
        "apiVersion": "orgs.openova.io/v1",
        "kind": "Organization",
        "metadata": {"name": "demo"},
        "spec": {
            "slug": "demo", "displayName": "Demo", "kind": "internal", "tier": "corporate",
            "billingMode": "showback", "sovereignRef": "demo.example.com",
        },
    });
    let kustomization = json!({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resources": ["a.yaml"]});
    // Positive controls: each rejection below is for the one change made, not for the base object.
    // (The HelmRelease's free-form `values` also shows that preserve-unknown-fields objects stay open.)
    for object in [&release, &repository, &external_secret, &organization, &kustomization] {
        assert_eq!(schemas.check(object), Ok(Checked::Valid), "a valid {} must pass", describe(object));
    }
    let deployment = json!({"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": "web"}, "spec": {}});
    assert_eq!(schemas.check(&deployment), Ok(Checked::Allowlisted), "an allowlisted kind is accepted unvalidated");

    let mut rejects = |object: &Value, needle: &str, why: &str| {
        let errors = schemas.check(object).expect_err(why);
        assert!(errors.iter().any(|e| e.contains(needle)), "{why}: the errors do not mention `{needle}`: {errors:?}");
    };

    let mut misspelt = release.clone();
    misspelt["spec"]["intervall"] = json!("5m");
    rejects(&misspelt, "intervall", "a HelmRelease with a misspelt spec field must be rejected");

    let mut nested = release.clone();
    nested["spec"]["chart"]["spec"]["sourceRef"]["nmae"] = json!("bp-demo");
    rejects(&nested, "nmae", "a misspelt field deep in a HelmRelease must be rejected");

    let mut old_repository = repository.clone();
    old_repository["apiVersion"] = json!("source.toolkit.fluxcd.io/v1beta2");
    rejects(
        &old_repository,
        "v1beta2",
        "a source.toolkit.fluxcd.io/v1beta2 HelmRepository must be rejected (Flux 2.9 no longer serves it)",
    );

    let mut unserved = external_secret.clone();
    unserved["apiVersion"] = json!("external-secrets.io/v1beta1");
    rejects(&unserved, "not served", "an external-secrets.io/v1beta1 ExternalSecret (served: false) must be rejected");

    let mut bad_metadata = repository.clone();
    bad_metadata["metadata"]["lables"] = json!({"app": "demo"});
    rejects(&bad_metadata, "lables", "a misspelt metadata field must be rejected");

    let mut root_typo = organization.clone();
    root_typo["sepc"] = json!({});
    rejects(&root_typo, "sepc", "an unknown top-level field of a Catalyst object must be rejected");

    let mut wrong_type = external_secret.clone();
    wrong_type["spec"]["target"]["creationPolicy"] = json!("Sometimes");
    rejects(&wrong_type, "Sometimes", "a value outside a CRD enum must be rejected");

    let misspelt_kustomization = json!({"apiVersion": "kustomize.config.k8s.io/v1beta1", "kind": "Kustomization", "resource": ["a.yaml"]});
    rejects(&misspelt_kustomization, "resource", "a kustomization.yaml with a misspelt field must be rejected");

    let unknown = json!({"apiVersion": "example.com/v1", "kind": "Widget", "metadata": {"name": "w"}});
    rejects(&unknown, "NO_SCHEMA_ALLOWLIST", "a kind with no schema that is not allowlisted must fail");

    let mut old_deployment = deployment.clone();
    old_deployment["apiVersion"] = json!("apps/v1beta1");
    rejects(&old_deployment, "NO_SCHEMA_ALLOWLIST", "the allowlist holds exact apiVersions");
}
