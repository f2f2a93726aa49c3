//! The reconcile check over whole trees: the examples and a generated
//! 1,000-Application Sovereign reconcile with no finding at all (so every file
//! of objects is reached by some Flux Kustomization: an unreached one is a
//! warning), the built golden trees judged as `lint --built` reads them agree,
//! and a built tree broken the way real incidents broke it is refused at the
//! emitted file and line, with the chain of a deadlock.
//! Per-reference cases live in `tests/bad-inputs/reconcile-*`.

mod common;
#[path = "../benches/support/mod.rs"]
mod support;

use std::fs;
use std::path::Path;

use common::{catalyst_command, copy_tree, example_sovereigns, repo};
use serde_json::Value;

fn assert_clean(sovereign: &Path) {
    let compilation = catalyst::compile(sovereign);
    assert!(
        compilation.output.is_some() && compilation.diagnostics.is_empty(),
        "{}: {}",
        sovereign.display(),
        catalyst::diagnostic::format::human(&compilation.diagnostics, &compilation.sources, false)
    );
}

#[test]
fn the_examples_reconcile_with_no_finding() {
    for sovereign in example_sovereigns() {
        assert_clean(&sovereign);
    }
}

/// A Sovereign running a catalog in the upstream's shapes (bare names, no `manifests`, bare-string
/// `depends` in the other spelling, the Cilium pin only in a subchart's Chart.lock) builds, with
/// exactly the warnings those shapes call for (the example kit's `bp-cilium` references resolve
/// to the upstream `cilium` that shadows it), and reconciles: no reconcile finding at all.
#[test]
fn a_sovereign_on_an_upstream_shaped_catalog_builds_and_reconciles() {
    let sovereign = repo().join("tests/lint/upstream-shapes/sovereigns/upstream.example.com");
    let compilation = catalyst::compile(&sovereign);
    let shown = catalyst::diagnostic::format::human(&compilation.diagnostics, &compilation.sources, false);
    let mut codes: Vec<&str> = compilation.diagnostics.iter().map(|d| d.code.id).collect();
    codes.sort();
    assert_eq!(
        codes,
        [
            "catalyst::blueprint::bare-name",
            "catalyst::blueprint::bare-name",
            "catalyst::blueprint::chart-convention",
            "catalyst::blueprint::chart-convention",
            "catalyst::blueprint::legacy-version",
            "catalyst::blueprint::name-spelling",
            "catalyst::blueprint::name-spelling",
            "catalyst::blueprint::name-spelling",
        ],
        "{shown}"
    );
    assert!(compilation.diagnostics.iter().all(|d| d.severity == catalyst::diagnostic::Severity::Warning), "{shown}");
    let output = compilation.output.expect("the Sovereign builds");
    // cloud-init installs the Cilium release the subchart's lock pins, and the lock records it.
    let lock = String::from_utf8_lossy(&output.files["catalyst.lock"]).into_owned();
    assert!(lock.contains("cilium: 1.16.5"), "{lock}");
    assert!(lock.contains("name: cilium\n"), "the upstream `cilium` runs in the kit, not the example's bp-cilium:\n{lock}");
}

/// Applications whose Blueprint depends on Blueprints the bootstrap kit runs (cert-manager, Flux,
/// Keycloak) are served by the kit's releases: no Application repository copies one, while the
/// dependency the kit does not run (postgres) is each Application's own.
#[test]
fn dependencies_the_kit_runs_are_never_copied_per_application() {
    let sovereign = repo().join("tests/kit-dependencies/sovereigns/kit.example.com");
    assert_clean(&sovereign);
    let output = catalyst::compile(&sovereign).output.expect("compiles");
    let repos: std::collections::BTreeSet<&str> =
        output.files.keys().filter_map(|path| path.strip_prefix("repos/acme/")).filter_map(|rest| rest.split('/').next()).collect();
    assert_eq!(repos.into_iter().collect::<Vec<_>>(), ["assistant", "assistant-db", "copilot", "copilot-db"]);
}

#[test]
fn a_generated_sovereign_of_1000_applications_reconciles() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let sovereign = support::generate(scratch.path(), 1_000, &repo().join("blueprints").to_string_lossy());
    assert_clean(&sovereign);
}

/// `catalyst lint --built DIR`: (code, file relative to DIR, line) of every reconcile finding.
fn reconcile_findings(dir: &Path) -> Vec<(String, String, u64)> {
    let run = catalyst_command().args(["--format", "json", "lint", "--built"]).arg(dir).output().expect("catalyst runs");
    let report: Value = serde_json::from_slice(&run.stdout).expect("a JSON report");
    let mut found: Vec<(String, String, u64)> = report["diagnostics"]
        .as_array()
        .expect("a list")
        .iter()
        .filter(|d| d["code"].as_str().is_some_and(|c| c.starts_with("catalyst::reconcile::")))
        .map(|d| {
            let label = d["labels"].as_array().and_then(|l| l.first()).cloned().unwrap_or_default();
            let file = label["file"].as_str().unwrap_or_default();
            let relative = Path::new(file).strip_prefix(dir).map_or(file.to_string(), |p| p.to_string_lossy().into_owned());
            (d["code"].as_str().unwrap_or_default().to_string(), relative, label["line"].as_u64().unwrap_or_default())
        })
        .collect();
    found.sort();
    found
}

#[test]
fn the_golden_trees_reconcile_as_built() {
    for sovereign in example_sovereigns() {
        let fqdn = sovereign.file_name().expect("named").to_string_lossy().into_owned();
        assert_eq!(reconcile_findings(&repo().join("golden").join(&fqdn)), [], "golden/{fqdn}");
    }
}

/// Replaces `from` by `to` in one file of a tree, which must contain it.
fn edit(tree: &Path, file: &str, from: &str, to: &str) {
    let path = tree.join(file);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{file}: {e}"));
    assert!(text.contains(from), "{file} does not contain {from:?}");
    fs::write(path, text.replacen(from, to, 1)).expect("write");
}

/// A file of objects no Kustomization applies is reported; one in an overlay beside the applied
/// overlay is not (a branch carries every Environment's overlay, for promotion).
#[test]
fn files_no_kustomization_applies_are_reported_and_sibling_overlays_are_not() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let tree = scratch.path();
    copy_tree(&repo().join("golden/sme.openova.cloud"), tree);
    let branch = tree.join("repos/rosa-bakery/website/main");
    let config_map = "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: stray\n";
    for file in ["overlays/uat/extra.yaml", "notes/stray.yaml"] {
        fs::create_dir_all(branch.join(file).parent().expect("a folder")).expect("mkdir");
        fs::write(branch.join(file), config_map).expect("write");
    }
    let found = reconcile_findings(tree);
    let unreached = ("catalyst::reconcile::unreached".to_string(), "repos/rosa-bakery/website/main/notes/stray.yaml".to_string(), 2);
    assert_eq!(found, [unreached]);
}

/// A Kustomization that applies into a virtual cluster a folder outside its repository (`../..`
/// of a branch) is walked there like any folder of the tree: its files are reached, nothing is
/// cut at the repository's root.
#[test]
fn a_folder_applied_into_a_virtual_cluster_from_outside_its_repository_is_walked() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let tree = scratch.path();
    let write = |file: &str, text: &str| {
        let path = tree.join(file);
        fs::create_dir_all(path.parent().expect("a folder")).expect("mkdir");
        fs::write(path, text).expect("write");
    };
    let flux = "clusters/t.example/hz-fsn-mgt-prod/flux-system";
    write(
        &format!("{flux}/kustomization.yaml"),
        "apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nresources:\n  - sync.yaml\n",
    );
    let source = "apiVersion: source.toolkit.fluxcd.io/v1\nkind: GitRepository\nmetadata:\n  name: app\n  namespace: flux-system\nspec:\n  interval: 5m\n  url: https://gitea.t.example/org/app.git\n  ref:\n    branch: main\n";
    let remote = "apiVersion: kustomize.toolkit.fluxcd.io/v1\nkind: Kustomization\nmetadata:\n  name: app\n  namespace: flux-system\nspec:\n  interval: 5m\n  path: \"../..\"\n  prune: true\n  sourceRef:\n    kind: GitRepository\n    name: app\n  kubeConfig:\n    secretRef:\n      name: vc-kubeconfig\n";
    write(&format!("{flux}/sync.yaml"), &format!("{source}---\n{remote}"));
    write(
        "repos/org/app/main/overlays/prod/config.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: settings\n  namespace: default\n",
    );
    let sync = format!("{flux}/sync.yaml");
    let at = |code: &str, line: u64| (format!("catalyst::reconcile::{code}"), sync.clone(), line);
    // The Gitea host and the kubeconfig Secret are missing from this fragment; the ConfigMap,
    // applied from `repos/org` into the virtual cluster, is reached.
    assert_eq!(reconcile_findings(tree), [at("dangling", 26), at("unserved-host", 8)]);
}

#[test]
fn a_built_tree_broken_as_the_incidents_broke_it_is_refused() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let tree = scratch.path();
    copy_tree(&repo().join("golden/sme.openova.cloud"), tree);
    let sync = "clusters/sme.openova.cloud/hz-fsn-mgt-prod/flux-system/gotk-sync.yaml";
    // The Environments' Namespaces wait for the Catalyst CRs that live in them.
    edit(
        tree,
        sync,
        "  path: \"./clusters/sme.openova.cloud/hz-fsn-mgt-prod/namespaces\"\n",
        "  path: \"./clusters/sme.openova.cloud/hz-fsn-mgt-prod/namespaces\"\n  dependsOn:\n    - name: catalyst-config\n",
    );
    // An Environment of a vcluster without the Secrets its sources read (the ghcr-pull incident).
    let environment = "clusters/sme.openova.cloud/hz-fsn-rtz-prod/organizations/rosa-bakery/rosa-bakery-prod";
    let objects = tree.join(environment).join("environment.yaml");
    let text = fs::read_to_string(&objects).expect("environment.yaml");
    let secrets = text.find("---\napiVersion: v1\nkind: Secret").expect("the Environment's Secrets");
    fs::write(&objects, &text[..secrets]).expect("write");
    let found = reconcile_findings(tree);
    let at = |code: &str, file: &str, line: u64| (format!("catalyst::reconcile::{code}"), file.to_string(), line);
    let mut expected = Vec::new();
    for app in ["website-db", "website"] {
        // The Application's GitRepository reads the Environment's Gitea credentials…
        expected.push(at("dangling", &format!("{environment}/{app}.yaml"), 13));
        // …and its chart source the Environment's copy of ghcr-pull.
        expected.push(at("dangling", &format!("repos/rosa-bakery/{app}/main/base/source.yaml"), 11));
    }
    expected.push(at("deadlock", sync, 53));
    expected.sort();
    assert_eq!(found, expected);
}
