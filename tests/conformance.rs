//! Conformance tests: the tree compiled from every example Sovereign is
//! accepted by the real tools and the real API definitions it is written for.
//!
//! * `kubectl kustomize` builds every folder of the tree that has a
//!   `kustomization.yaml`. kubectl must be on PATH: run
//!   `scripts/install-test-tools.sh` first (the test fails, never skips, without it).
//! * Every emitted Kubernetes object validates against the upstream schema of
//!   the release the kit pins, as the project carries them in `schemas/upstream/`
//!   (see its README): the Flux, External Secrets, Crossplane and provider CRDs
//!   and the strict core Kubernetes schemas, read here the way `catalyst check
//!   --crds` reads files, by the compiler's conformance stage, whose strictness
//!   is checked on its own; every kustomization.yaml validates against the
//!   SchemaStore kustomization schema. A misspelt or unknown field, an
//!   apiVersion the CRD does not serve, or a kind with no schema fails the test.
//! * Each release of the compiler's release table serves, in the schemas it
//!   carries, every kind at the apiVersion the table says the compiler emits.
//! * The built-in Catalyst CRDs (`schemas/crds/`) state the upstream
//!   admission contract: same kinds, groups, versions and scopes, and the
//!   same verdict on the emitted objects and on objects broken on purpose.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use catalyst::check::conform::{CrdPath, Schemas, Verdict};
use catalyst::diagnostic::Diagnostics;
use catalyst::support::source::Sources;
use rayon::prelude::*;
use serde_json::{json, Value};

use common::{catalyst_command, compile_ok, example_sovereigns, repo};

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

/// Folders of the schemas the project carries (`schemas/upstream/`), as `--crds` reads them.
const CARRIED_DIRS: &[&str] = &["flux-2.9.4", "external-secrets-2.9.0", "crossplane-1.18", "provider-hcloud", "kubernetes-1.34"];

/// The SchemaStore schema every emitted kustomization.yaml must satisfy.
const KUSTOMIZATION_SCHEMA: &str = "schemastore/kustomization.json";

const INSTALL_HINT: &str = "run scripts/install-test-tools.sh to install the tools the test suite needs";

/// `../shared/upstream-schemas`: only for the upstream Catalyst CRDs, which state no licence under
/// which the project could carry them (every other schema the tests read is in `schemas/upstream/`).
fn upstream_schemas() -> PathBuf {
    let dir = repo().parent().expect("the repository root has a parent").join("shared/upstream-schemas");
    assert!(dir.is_dir(), "{} is missing: the conformance tests need the shared upstream schemas", dir.display());
    dir
}

/// Compiles every example Sovereign: (fqdn, compiled tree).
fn compiled_examples() -> Vec<(String, catalyst::pipeline::render::Output)> {
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
        catalyst::pipeline::emit::emit(&output, &root)
            .unwrap_or_else(|e| panic!("{fqdn}: cannot write the compiled tree to {}: {e}", root.display()));
        let dirs = kustomization_dirs(&root);
        for expected in [format!("clusters/{fqdn}/hz-fsn-mgt-prod"), "system/catalyst-config".to_string()] {
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
                match catalyst::support::yaml::parse_stream(&built) {
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

/// The compiler's conformance schemas loaded from `dirs` (below the upstream-schemas folder).
fn schemas(dirs: &[&str]) -> Schemas {
    let root = upstream_schemas();
    let paths: Vec<CrdPath> = dirs.iter().map(|dir| CrdPath { path: root.join(dir), named_at: None }).collect();
    let (mut sources, mut diagnostics) = (Sources::default(), Diagnostics::default());
    let schemas = Schemas::with(&catalyst::support::vfs::DiskFs, &paths, &mut sources, &mut diagnostics);
    assert!(diagnostics.is_empty(), "{}", catalyst::diagnostic::format::human(&diagnostics, &sources, false));
    schemas
}

/// The carried schemas, read from their files (not through the compiler's release table).
fn upstream() -> Schemas {
    let paths: Vec<CrdPath> =
        CARRIED_DIRS.iter().map(|dir| CrdPath { path: repo().join("schemas/upstream").join(dir), named_at: None }).collect();
    let (mut sources, mut diagnostics) = (Sources::default(), Diagnostics::default());
    let schemas = Schemas::with(&catalyst::support::vfs::DiskFs, &paths, &mut sources, &mut diagnostics);
    assert!(diagnostics.is_empty(), "{}", catalyst::diagnostic::format::human(&diagnostics, &sources, false));
    schemas
}

/// What judging one object came to, as the tests compare it.
#[derive(Debug, PartialEq, Eq)]
enum Checked {
    Valid,
    NoSchema,
    /// Not valid: the messages of the problems.
    Refused(Vec<String>),
}

fn check(schemas: &Schemas, object: &Value) -> Checked {
    match schemas.check(object) {
        Verdict::Valid => Checked::Valid,
        Verdict::NoSchema => Checked::NoSchema,
        Verdict::Unserved { origin, served } => Checked::Refused(vec![format!("not served by {origin} (it serves {served:?})")]),
        Verdict::Broken { error, .. } => Checked::Refused(vec![format!("schema does not compile: {error}")]),
        Verdict::Invalid { violations, .. } => Checked::Refused(violations.iter().map(|v| format!("{v:?}")).collect()),
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

/// Every object of every YAML file of the compiled examples: (fqdn, path, object).
fn emitted_objects() -> Vec<(String, String, Value)> {
    let mut all = Vec::new();
    for (fqdn, output) in compiled_examples() {
        for (path, bytes) in output.files.iter().filter(|(path, _)| path.ends_with(".yaml") || path.ends_with(".yml")) {
            let text = std::str::from_utf8(bytes).unwrap_or_else(|_| panic!("{fqdn}: {path}: not UTF-8"));
            let documents = catalyst::support::yaml::parse_stream(text).unwrap_or_else(|e| panic!("{fqdn}: {path}: not YAML: {e}"));
            for object in documents.into_iter().filter(|d| d.get("apiVersion").is_some() && d.get("kind").is_some()) {
                all.push((fqdn.clone(), path.clone(), object));
            }
        }
    }
    all
}

#[test]
fn emitted_objects_conform_to_upstream_schemas() {
    let schemas = upstream();
    let kustomization = {
        let path = repo().join("schemas/upstream").join(KUSTOMIZATION_SCHEMA);
        let schema: Value = serde_json::from_str(&fs::read_to_string(&path).expect("readable")).expect("JSON");
        jsonschema::options().with_draft(jsonschema::Draft::Draft7).build(&schema).expect("the kustomization schema compiles")
    };
    let mut validated: BTreeMap<(String, String), usize> = BTreeMap::new();
    let mut failures = Vec::new();
    for (fqdn, path, object) in emitted_objects() {
        let key = (object["apiVersion"].as_str().unwrap_or("?").to_string(), object["kind"].as_str().unwrap_or("?").to_string());
        let verdict = if key.0.starts_with("kustomize.config.k8s.io/") {
            let errors: Vec<String> = kustomization.iter_errors(&object).map(|e| e.to_string()).collect();
            if errors.is_empty() {
                Checked::Valid
            } else {
                Checked::Refused(errors)
            }
        } else {
            check(&schemas, &object)
        };
        match verdict {
            Checked::Valid => *validated.entry(key).or_default() += 1,
            Checked::NoSchema => failures.push(format!("{fqdn}: {path}: {}: no schema", describe(&object))),
            Checked::Refused(errors) => failures.push(format!("{fqdn}: {path}: {}:\n    {}", describe(&object), errors.join("\n    "))),
        }
    }
    eprintln!("validated against upstream schemas:");
    for ((api_version, kind), count) in &validated {
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

/// The same judgement through the command line, with nothing but the binary: `catalyst check`
/// validates every emitted object against the schemas it carries, so no object is left unvalidated.
#[test]
fn check_validates_every_emitted_object_by_default() {
    let run = catalyst_command().current_dir(repo()).args(["--format", "json", "check"]).output().expect("catalyst runs");
    let report: Value = serde_json::from_slice(&run.stdout).expect("a JSON report");
    assert_eq!(run.status.code(), Some(0), "{report:#}");
    assert_eq!(report["diagnostics"], json!([]), "no missing-schema warning, no finding: {report:#}");
}

/// Each release of the table serves, in the schemas it carries, every kind at the apiVersion the
/// compiler emits it at, and defines nothing it does not list.
#[test]
fn every_release_serves_what_its_table_says() {
    for release in &catalyst::check::releases::RELEASES {
        let schemas = release.schemas();
        let title = format!("{} {}", release.component.title(), release.version);
        let mut defined: Vec<(String, String)> = schemas.kinds().map(|(group, kind)| (group.to_string(), kind.to_string())).collect();
        defined.sort();
        let mut listed: Vec<(String, String)> =
            release.serves.iter().map(|(kind, api)| (api.rsplit_once('/').map_or("", |(g, _)| g).to_string(), kind.to_string())).collect();
        listed.sort();
        assert_eq!(defined, listed, "{title}: the kinds its schemas define are not the kinds its table lists");
        for (kind, api_version) in release.serves {
            let object = json!({"apiVersion": api_version, "kind": kind, "metadata": {"name": "probe"}});
            let verdict = schemas.check(&object);
            assert!(
                !matches!(verdict, Verdict::Unserved { .. } | Verdict::NoSchema | Verdict::Broken { .. }),
                "{title}: {api_version} {kind}: {verdict:?}"
            );
        }
    }
}

/// The validator must reject what a real cluster rejects, or a green run means nothing.
#[test]
fn the_validator_is_strict_and_version_aware() {
    let schemas = upstream();

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
    let namespace = json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "demo"}});
    // Positive controls: each rejection below is for the one change made, not for the base object.
    // (The HelmRelease's free-form `values` also shows that preserve-unknown-fields objects stay open.)
    for object in [&release, &repository, &external_secret, &organization, &namespace] {
        assert_eq!(check(&schemas, object), Checked::Valid, "a valid {} must pass", describe(object));
    }
    let monitor = json!({"apiVersion": "monitoring.coreos.com/v1", "kind": "ServiceMonitor", "metadata": {"name": "web"}, "spec": {}});
    assert_eq!(check(&schemas, &monitor), Checked::NoSchema, "a kind without a schema is not judged");

    let rejects = |object: &Value, needle: &str, why: &str| match check(&schemas, object) {
        Checked::Refused(errors) => {
            assert!(errors.iter().any(|e| e.contains(needle)), "{why}: the errors do not mention `{needle}`: {errors:?}")
        }
        other => panic!("{why}: {other:?}"),
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
        "not served",
        "a source.toolkit.fluxcd.io/v1beta2 HelmRepository must be rejected (Flux 2.9 no longer serves it)",
    );

    let mut unserved = external_secret.clone();
    unserved["apiVersion"] = json!("external-secrets.io/v1beta1");
    rejects(&unserved, "not served", "an external-secrets.io/v1beta1 ExternalSecret (served: false) must be rejected");

    let mut bad_metadata = repository.clone();
    bad_metadata["metadata"]["lables"] = json!({"app": "demo"});
    rejects(&bad_metadata, "lables", "a misspelt metadata field must be rejected");

    let mut unnamed = repository.clone();
    unnamed["metadata"] = json!({"namespace": "flux-system"});
    rejects(&unnamed, "name", "an object without metadata.name must be rejected");

    let mut root_typo = organization.clone();
    root_typo["sepc"] = json!({});
    rejects(&root_typo, "sepc", "an unknown top-level field of a Catalyst object must be rejected");

    let mut wrong_enum = external_secret.clone();
    wrong_enum["spec"]["target"]["creationPolicy"] = json!("Sometimes");
    rejects(&wrong_enum, "Sometimes", "a value outside a CRD enum must be rejected");

    let mut bad_pattern = repository.clone();
    bad_pattern["spec"]["interval"] = json!("every five minutes");
    rejects(&bad_pattern, "every five minutes", "a value that breaks a CRD pattern must be rejected");

    let mut missing_required = repository.clone();
    missing_required["spec"].as_object_mut().expect("an object").remove("url");
    rejects(&missing_required, "url", "a missing required field must be rejected");

    let mut core_typo = namespace.clone();
    core_typo["spec"] = json!({"finalizer": []});
    rejects(&core_typo, "finalizer", "a stand-alone core schema is strict too");
}

// ---------------------------------------------------------------------------
// The built-in Catalyst CRDs
// ---------------------------------------------------------------------------

/// The case upstream states in CEL (`x-kubernetes-validations`), which the validator does not
/// evaluate; the built-in CRD states the same rule as an `anyOf`.
const CEL_CASE: &str = "an Application without regions and not bootstrap";

/// Objects of each built-in kind, broken on purpose: every one must be refused by both CRD sets.
fn broken_catalyst_objects() -> Vec<(&'static str, Value)> {
    let objects = emitted_objects();
    let first = |kind: &str| {
        objects
            .iter()
            .find(|(_, _, o)| o["kind"] == kind)
            .map(|(_, _, o)| o.clone())
            .unwrap_or_else(|| panic!("the examples emit a {kind}"))
    };
    // Sets (or adds) the field at `pointer`; its parent must exist.
    let with = |kind: &str, pointer: &str, value: Value| {
        let mut object = first(kind);
        let (parent, field) = pointer.rsplit_once('/').expect("a pointer");
        match object.pointer_mut(parent).unwrap_or_else(|| panic!("{kind} has {parent}")) {
            Value::Array(items) => items[field.parse::<usize>().expect("an index")] = value,
            parent => parent[field] = value,
        }
        object
    };
    let without = |kind: &str, parent: &str, field: &str| {
        let mut object = first(kind);
        object.pointer_mut(parent).and_then(Value::as_object_mut).unwrap_or_else(|| panic!("{kind} has {parent}")).remove(field);
        object
    };
    vec![
        ("a Sovereign FQDN without a dot", with("Sovereign", "/spec/fqdn", json!("localhost"))),
        ("an unknown Sovereign provider", with("Sovereign", "/spec/provider", json!("digitalocean"))),
        ("a reserved Organization slug", with("Organization", "/spec/slug", json!("flux"))),
        ("an Organization slug that starts with a digit", with("Organization", "/spec/slug", json!("1acme"))),
        ("a display name of 129 characters", with("Organization", "/spec/displayName", json!("x".repeat(129)))),
        ("a sovereignRef that is not an FQDN", with("Organization", "/spec/sovereignRef", json!("Omantel"))),
        ("an Organization without a tier", without("Organization", "/spec", "tier")),
        ("an unknown Environment type", with("Environment", "/spec/envType", json!("qa"))),
        (
            "an Environment with six regions",
            with("Environment", "/spec/regions", json!(vec![json!({"provider": "hetzner", "region": "fsn", "buildingBlock": "rtz"}); 6])),
        ),
        ("an Environment region in provider form", with("Environment", "/spec/regions/0/region", json!("fsn1-a"))),
        ("more than 10 required approvers", with("EnvironmentPolicy", "/spec/promotion/requiredApprovers", json!(11))),
        ("a soak of 721 hours", with("EnvironmentPolicy", "/spec/promotion/soakHours", json!(721))),
        ("a Blueprint reference without the bp- prefix", with("Application", "/spec/blueprintRef/name", json!("postgres"))),
        ("a Blueprint version with a v prefix", with("Application", "/spec/blueprintRef/version", json!("v1.4.2"))),
        (CEL_CASE, without("Application", "/spec", "regions")),
        ("an Application region with an uppercase letter", with("Application", "/spec/regions/0", json!("Hz-fsn-rtz-prod"))),
    ]
}

#[test]
fn the_built_in_crds_state_the_upstream_admission_contract() {
    let built_in = Schemas::built_in();
    let upstream = schemas(&["catalyst"]);
    let root = upstream_schemas().join("catalyst");
    let shape = |crd: &Value| {
        let versions: Vec<(String, bool)> = crd["spec"]["versions"]
            .as_array()
            .expect("versions")
            .iter()
            .map(|v| (v["name"].as_str().unwrap_or_default().to_string(), v["served"] == json!(true)))
            .collect();
        (crd["spec"]["scope"].clone(), versions)
    };
    let mut kinds = 0;
    for entry in fs::read_dir(repo().join("schemas/crds")).expect("schemas/crds") {
        let path = entry.expect("entry").path();
        let ours = catalyst::support::yaml::parse_stream(&fs::read_to_string(&path).expect("readable")).expect("YAML").remove(0);
        let (group, kind) = (ours["spec"]["group"].as_str().expect("group"), ours["spec"]["names"]["kind"].as_str().expect("kind"));
        let theirs = fs::read_dir(&root)
            .expect("upstream catalyst CRDs")
            .map(|e| {
                catalyst::support::yaml::parse_stream(&fs::read_to_string(e.expect("entry").path()).expect("readable"))
                    .expect("YAML")
                    .remove(0)
            })
            .find(|crd| crd["spec"]["group"] == group && crd["spec"]["names"]["kind"] == kind)
            .unwrap_or_else(|| panic!("upstream has no CRD for {kind} ({group})"));
        assert_eq!(shape(&ours), shape(&theirs), "{}: scope and served versions differ from upstream", path.display());
        kinds += 1;
    }
    assert_eq!(kinds, 5, "Sovereign, Organization, Environment, EnvironmentPolicy and Application are built in");

    let mut judged = 0;
    for (fqdn, path, object) in emitted_objects() {
        if matches!(check(&built_in, &object), Checked::NoSchema) {
            continue;
        }
        judged += 1;
        assert_eq!(check(&built_in, &object), Checked::Valid, "{fqdn}: {path}: refused by the built-in CRD");
        assert_eq!(check(&upstream, &object), Checked::Valid, "{fqdn}: {path}: refused by the upstream CRD");
    }
    assert!(judged > 40, "the examples' Catalyst objects were judged ({judged})");
    for (why, object) in broken_catalyst_objects() {
        assert!(matches!(check(&built_in, &object), Checked::Refused(_)), "the built-in CRDs accept {why}");
        if why == CEL_CASE {
            let application = fs::read_to_string(root.join("application.yaml")).expect("readable");
            assert!(application.contains("has(self.environmentRef) && has(self.regions)"), "upstream states the rule in CEL");
            continue;
        }
        assert!(matches!(check(&upstream, &object), Checked::Refused(_)), "upstream accepts {why}: the case proves nothing");
    }
}
