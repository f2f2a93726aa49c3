//! Golden tests: every example Sovereign compiles to exactly the tree in
//! `golden/<fqdn>/`, byte for byte, and compiles the same way whatever the
//! thread count or the order the inputs are found in.
//!
//! Re-bless after an intended change with
//! `CATALYST_BLESS=1 cargo test --test golden` and review the diff of golden/.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::path::Path;

use common::{compile_ok, example_sovereigns, repo};
use serde_json::json;

fn read_tree(root: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(root)
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.expect("readable golden entry"))
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let relative = e.path().strip_prefix(root).expect("below root").to_string_lossy().replace('\\', "/");
            (relative, fs::read(e.path()).expect("readable golden file"))
        })
        .collect()
}

#[test]
fn examples_match_their_golden_trees() {
    let sovereigns = example_sovereigns();
    assert!(sovereigns.len() >= 2, "expected an SME and a corporate example");
    for sovereign in sovereigns {
        let fqdn = sovereign.file_name().expect("named").to_string_lossy().into_owned();
        let (_, output) = compile_ok(&sovereign);
        let golden_dir = repo().join("golden").join(&fqdn);
        if common::blessing() {
            if golden_dir.exists() {
                fs::remove_dir_all(&golden_dir).expect("remove old golden");
            }
            for (path, bytes) in &output.files {
                let target = golden_dir.join(path);
                fs::create_dir_all(target.parent().expect("has parent")).expect("create golden dir");
                fs::write(target, bytes).expect("write golden");
            }
            continue;
        }
        let golden = read_tree(&golden_dir);
        let produced: Vec<&String> = output.files.keys().collect();
        let expected: Vec<&String> = golden.keys().collect();
        assert_eq!(produced, expected, "{fqdn}: the set of files differs from golden/{fqdn} (re-bless with CATALYST_BLESS=1)");
        for (path, bytes) in &output.files {
            if golden[path] != *bytes {
                let diff = similar::TextDiff::from_lines(
                    String::from_utf8_lossy(&golden[path]).into_owned(),
                    String::from_utf8_lossy(bytes).into_owned(),
                )
                .unified_diff()
                .header("golden", "produced")
                .to_string();
                panic!("{fqdn}: {path} differs from golden (re-bless with CATALYST_BLESS=1):\n{diff}");
            }
        }
    }
}

fn compile_with_threads(sovereign: &Path, threads: usize) -> BTreeMap<String, Vec<u8>> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().expect("thread pool");
    pool.install(|| compile_ok(sovereign).1.files)
}

/// Copies a tree creating entries in reverse name order, so directory listing order differs.
fn copy_reversed(from: &Path, to: &Path) {
    let mut entries: Vec<_> = fs::read_dir(from).expect("readable").map(|e| e.expect("entry").path()).collect();
    entries.sort();
    entries.reverse();
    fs::create_dir_all(to).expect("create copy");
    for path in entries {
        let target = to.join(path.file_name().expect("named"));
        if path.is_dir() {
            copy_reversed(&path, &target);
        } else {
            fs::copy(&path, &target).expect("copy file");
        }
    }
}

#[test]
fn output_is_identical_across_threads_and_input_order() {
    for sovereign in example_sovereigns() {
        let one = compile_with_threads(&sovereign, 1);
        let two = compile_with_threads(&sovereign, 2);
        let eight = compile_with_threads(&sovereign, 8);
        assert!(one == two && two == eight, "{} differs across thread counts", sovereign.display());

        let scratch = tempfile::tempdir().expect("temp dir");
        copy_reversed(&repo().join("blueprints"), &scratch.path().join("blueprints"));
        let name = sovereign.file_name().expect("named");
        copy_reversed(&sovereign, &scratch.path().join("sovereigns").join(name));
        let copied = compile_with_threads(&scratch.path().join("sovereigns").join(name), 2);
        assert!(copied == one, "{} differs when its inputs are copied elsewhere in another order", sovereign.display());
    }
}

#[test]
fn only_catalyst_bless_1_rewrites_golden_files() {
    // While blessing, the test beside this one rewrites the files this one watches.
    if common::blessing() {
        return;
    }
    let modified = || -> Vec<_> {
        walkdir::WalkDir::new(repo().join("golden"))
            .into_iter()
            .filter_map(Result::ok)
            .filter(|e| e.file_type().is_file())
            .map(|e| (e.path().to_path_buf(), e.metadata().expect("metadata").modified().expect("mtime")))
            .collect()
    };
    let before = modified();
    for value in ["0", "", "yes"] {
        let run = std::process::Command::new(std::env::current_exe().expect("this test binary"))
            .args(["--exact", "examples_match_their_golden_trees"])
            .env("CATALYST_BLESS", value)
            .output()
            .expect("the golden test runs");
        assert!(run.status.success(), "CATALYST_BLESS={value:?} compares: {}", String::from_utf8_lossy(&run.stdout));
    }
    assert_eq!(modified(), before, "no golden file was rewritten");
}

/// The clusters of a tree: the regions below `clusters/<fqdn>/`.
fn clusters_of(tree: &BTreeMap<String, Vec<u8>>, fqdn: &str) -> Vec<String> {
    let prefix = format!("clusters/{fqdn}/");
    let mut clusters: Vec<String> =
        tree.keys().filter_map(|path| Some(path.strip_prefix(&prefix)?.split('/').next()?.to_string())).collect();
    clusters.dedup();
    clusters
}

#[test]
fn each_region_runs_what_its_building_block_does() {
    let control_plane = ["gitea", "keycloak", "openbao", "catalyst-platform", "crossplane"];
    for sovereign in example_sovereigns() {
        let fqdn = sovereign.file_name().expect("named").to_string_lossy().into_owned();
        let tree = read_tree(&repo().join("golden").join(&fqdn));
        let clusters = clusters_of(&tree, &fqdn);
        let has_dmz = clusters.iter().any(|c| c.split('-').nth(2) == Some("dmz"));
        let mut applied = 0;
        assert_eq!(clusters.iter().filter(|c| c.split('-').nth(2) == Some("mgt")).count(), 1, "{fqdn}: one control plane");
        for cluster in &clusters {
            let root = format!("clusters/{fqdn}/{cluster}");
            let block = cluster.split('-').nth(2).expect("a canonical region");
            let text = |path: &str| String::from_utf8(tree[path].clone()).expect("UTF-8");
            let sync = text(&format!("{root}/flux-system/gotk-sync.yaml"));
            let kit =
                |name: &str| tree.keys().any(|p| p.starts_with(&format!("{root}/bootstrap-kit/")) && p.ends_with(&format!("-{name}.yaml")));
            // Organization workloads: only rtz clusters apply Environments, and each applies those placed in it.
            // In each Organization's vcluster: `organizations/<org>/<org>-<env>/`.
            let mut environments: Vec<&str> = (tree.keys())
                .filter_map(|p| p.strip_prefix(&format!("{root}/organizations/"))?.split('/').nth(1).filter(|env| !env.ends_with(".yaml")))
                .collect();
            environments.dedup();
            let app_sources = tree.iter().filter(|(p, _)| p.starts_with(&format!("{root}/"))).any(|(_, bytes)| {
                String::from_utf8_lossy(bytes).contains(&format!("url: \"https://gitea.{fqdn}/"))
                    && !String::from_utf8_lossy(bytes).contains("system/catalyst-config")
            });
            if block == "rtz" {
                applied += environments.len();
                for env in &environments {
                    let cr = text(&format!("system/catalyst-config/environments/{env}.yaml"));
                    let region = cluster.split('-').nth(1).expect("region");
                    assert!(
                        cr.contains(&format!("region: {region}\n      buildingBlock: rtz")),
                        "{fqdn}: {env} is applied in {cluster}, not one of its regions"
                    );
                }
            } else {
                assert!(environments.is_empty() && !app_sources, "{fqdn}: the {block} cluster {cluster} reconciles Organization workloads");
                assert!(!sync.contains("name: organizations\n"), "{fqdn}: {cluster} has an organizations Kustomization");
            }
            // The control plane runs once, on mgt, and applies the Catalyst CRs.
            for component in control_plane {
                assert_eq!(kit(component), block == "mgt", "{fqdn}: {component} in {cluster}");
            }
            assert_eq!(sync.contains("name: catalyst-config\n"), block == "mgt", "{fqdn}: catalyst-config in {cluster}");
            // The edge runs on dmz, or on the control plane when the Sovereign has no dmz region.
            let edge = if has_dmz { block == "dmz" } else { block == "mgt" };
            for component in ["powerdns", "external-dns"] {
                assert_eq!(kit(component), edge, "{fqdn}: {component} in {cluster}");
            }
            for component in ["cilium", "cert-manager", "flux", "external-secrets"] {
                assert!(kit(component), "{fqdn}: {cluster} lacks {component}, which every cluster runs");
            }
        }
        assert!(applied > 0, "{fqdn}: no rtz cluster applies an Environment");
    }
}

#[test]
fn identity_follows_the_keycloak_topology() {
    let parse = |bytes: &[u8]| catalyst::support::yaml::parse_stream(std::str::from_utf8(bytes).expect("UTF-8")).expect("YAML");
    for sovereign in example_sovereigns() {
        let fqdn = sovereign.file_name().expect("named").to_string_lossy().into_owned();
        let own_keycloak =
            fs::read_to_string(sovereign.join("sovereign.yaml")).expect("sovereign.yaml").contains("keycloakTopology: per-organization");
        let tree = read_tree(&repo().join("golden").join(&fqdn));
        let mgt = clusters_of(&tree, &fqdn).into_iter().find(|c| c.contains("-mgt-")).expect("a control plane");
        let orgs: Vec<String> = (tree.keys())
            .filter_map(|p| p.strip_prefix("system/catalyst-config/organizations/")?.strip_suffix(".yaml").map(str::to_string))
            .collect();
        let mut issuers = 0;
        for org in &orgs {
            let objects = parse(&tree[&format!("clusters/{fqdn}/{mgt}/identity/{org}.yaml")]);
            let release = |name: &str| objects.iter().find(|o| o["kind"] == "HelmRelease" && o["metadata"]["name"] == name);
            let realm = release(&format!("realm-{org}")).unwrap_or_else(|| panic!("{fqdn}: no realm for {org}"));
            assert_eq!(realm["spec"]["values"]["realm"], org.as_str(), "{fqdn}: the realm is named after the Organization");
            let (keycloak, url) = match own_keycloak {
                true => (format!("keycloak-{org}"), format!("http://keycloak-{org}.keycloak-{org}.svc.cluster.local")),
                false => ("bp-keycloak".to_string(), "http://keycloak.keycloak.svc.cluster.local".to_string()),
            };
            assert_eq!(release(&format!("keycloak-{org}")).is_some(), own_keycloak, "{fqdn}: {org}'s own Keycloak");
            assert_eq!(realm["spec"]["dependsOn"][0]["name"], keycloak.as_str(), "{fqdn}: {org}'s realm waits for its Keycloak");
            assert_eq!(realm["spec"]["values"]["keycloakUrl"], url.as_str(), "{fqdn}: {org}'s realm is applied to its Keycloak");
            // Applications that sign in through the realm learn its issuer.
            let host = if own_keycloak { format!("auth.{org}.{fqdn}") } else { format!("auth.{fqdn}") };
            for (path, bytes) in tree.iter().filter(|(p, _)| p.starts_with(&format!("repos/{org}/")) && p.ends_with("/values.yaml")) {
                if let Some(issuer) = parse(bytes)[0].pointer("/sso/issuer") {
                    assert_eq!(issuer, &serde_json::json!(format!("https://{host}/realms/{org}")), "{fqdn}: {path}");
                    issuers += 1;
                }
            }
        }
        assert!(!orgs.is_empty() && issuers > 0, "{fqdn}: no Organization, or no Application that signs in");
    }
}

#[test]
fn each_organization_runs_in_its_own_vcluster() {
    let parse = |bytes: &[u8]| catalyst::support::yaml::parse_stream(std::str::from_utf8(bytes).expect("UTF-8")).expect("YAML");
    for sovereign in example_sovereigns() {
        let fqdn = sovereign.file_name().expect("named").to_string_lossy().into_owned();
        let tree = read_tree(&repo().join("golden").join(&fqdn));
        let mut vclusters = 0;
        for cluster in clusters_of(&tree, &fqdn).iter().filter(|c| c.contains("-rtz-")) {
            let root = format!("clusters/{fqdn}/{cluster}");
            let orgs: Vec<String> = (tree.keys())
                .filter_map(|p| p.strip_prefix(&format!("{root}/vclusters/"))?.strip_suffix(".yaml").map(str::to_string))
                .filter(|name| !["kustomization", "source"].contains(&name.as_str()))
                .collect();
            for org in &orgs {
                let host = parse(&tree[&format!("{root}/vclusters/{org}.yaml")]);
                let find = |kind: &str, name: &str| host.iter().find(|o| o["kind"] == kind && o["metadata"]["name"] == name);
                let vcluster = find("HelmRelease", &format!("vcluster-{org}")).unwrap_or_else(|| panic!("{fqdn}: no vcluster for {org}"));
                assert_eq!(
                    (&vcluster["spec"]["releaseName"], &vcluster["spec"]["targetNamespace"]),
                    (&json!(org), &json!(org)),
                    "{fqdn}: named as the seeds name it"
                );
                // The Organization's own Flux and External Secrets, installed into the vcluster.
                for component in ["flux", "external-secrets"] {
                    let release = find("HelmRelease", component).unwrap_or_else(|| panic!("{fqdn}: {org}'s vcluster has no {component}"));
                    assert_eq!(
                        release["spec"]["kubeConfig"]["secretRef"]["name"],
                        json!(format!("vc-{org}")),
                        "{fqdn}: {org}'s {component}"
                    );
                }
                let sync = parse(&tree[&format!("{root}/organizations/{org}.yaml")]).remove(0);
                assert_eq!(
                    sync["spec"]["kubeConfig"]["secretRef"]["name"],
                    json!(format!("vc-{org}")),
                    "{fqdn}: {org} applies into its vcluster"
                );
                assert_eq!(sync["spec"]["path"], json!(format!("./{root}/organizations/{org}")), "{fqdn}: {org}");
                // Inside: each Environment's Applications, synced by the Organization's Flux.
                let inside = format!("{root}/organizations/{org}/");
                assert!(
                    tree.keys().any(|p| p.starts_with(&inside) && p.ends_with("/environment.yaml")),
                    "{fqdn}: {org}'s vcluster holds no Environment"
                );
                vclusters += 1;
            }
        }
        assert!(vclusters > 0, "{fqdn}: no vcluster");
    }
}
