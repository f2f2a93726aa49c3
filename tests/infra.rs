//! Bring-up inputs of the example Sovereigns: every cloud-config passes the
//! real `cloud-init schema`, every tfvars file the module's variable
//! contract (`schemas/infra-hetzner.tfvars.schema.json`), no secret value is
//! written, and every pinned release reaches cloud-init from one place.
//!
//! `cloud-init` must be on PATH (`scripts/install-test-tools.sh` installs it).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

use catalyst::pipeline::render::Output;
use common::{compile_ok, example_sovereigns, repo};
use serde_json::{json, Value};

/// Every variable the Hetzner module passes to its cloud-config templates
/// (PLATFORM-FACTS §6): a `${…}` naming anything else fails `templatefile()`.
const TEMPLATE_VARIABLES: [&str; 20] = [
    "sovereign_fqdn",
    "sovereign_subdomain",
    "org_name",
    "org_email",
    "region",
    "ha_enabled",
    "worker_count",
    "k3s_version",
    "k3s_token",
    "gitops_repo_url",
    "gitops_branch",
    "enable_unattended_upgrades",
    "enable_fail2ban",
    "ghcr_pull_username",
    "ghcr_pull_token",
    "ghcr_pull_auth_b64",
    "deployment_id",
    "kubeconfig_bearer_token",
    "catalyst_api_url",
    "load_balancer_ipv4",
];

fn examples() -> Vec<(String, Output)> {
    example_sovereigns().iter().map(|dir| (dir.file_name().expect("named").to_string_lossy().into_owned(), compile_ok(dir).1)).collect()
}

fn infra_files<'a>(output: &'a Output, suffix: &'a str) -> impl Iterator<Item = (&'a String, &'a str)> + 'a {
    output
        .files
        .iter()
        .filter(move |(path, _)| path.starts_with("infra/") && path.ends_with(suffix))
        .map(|(path, bytes)| (path, std::str::from_utf8(bytes).expect("UTF-8")))
}

fn cloud_init_schema(file: &Path) -> (bool, String) {
    let output = Command::new("cloud-init")
        .args(["schema", "--config-file"])
        .arg(file)
        .output()
        .expect("cloud-init is on PATH (run scripts/install-test-tools.sh)");
    (output.status.success(), format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)))
}

#[test]
fn every_cloud_config_passes_cloud_init_schema() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let mut checked = 0;
    for (fqdn, output) in examples() {
        let configs: Vec<_> = infra_files(&output, ".yaml").filter(|(path, _)| path.contains("/cloud-init/")).collect();
        assert!(configs.iter().any(|(p, _)| p.ends_with("-control-plane.yaml")), "{fqdn}: no control-plane cloud-config");
        assert!(configs.iter().any(|(p, _)| p.ends_with("-worker.yaml")), "{fqdn}: no worker cloud-config");
        for (path, text) in configs {
            assert!(text.starts_with("#cloud-config\n"), "{fqdn}: {path} lacks the #cloud-config header");
            let file = scratch.path().join(path.replace('/', "_"));
            std::fs::write(&file, text).expect("write the cloud-config");
            let (valid, report) = cloud_init_schema(&file);
            assert!(valid, "{fqdn}: {path} fails cloud-init schema:\n{report}");
            checked += 1;
        }
    }
    // One control plane per region: 2 for the SME example, 4 for the corporate one, plus their workers.
    assert_eq!(checked, 12, "cloud-configs checked");

    let broken = scratch.path().join("broken.yaml");
    std::fs::write(&broken, "#cloud-config\nwrite_files:\n  - path: /x\n    contentt: y\nruncmd: 5\n").expect("write");
    let (valid, report) = cloud_init_schema(&broken);
    assert!(!valid && report.contains("contentt"), "cloud-init schema must reject a broken cloud-config:\n{report}");
}

fn tfvars_validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(repo().join("schemas/infra-hetzner.tfvars.schema.json")).expect("schema present");
    let schema: Value = serde_json::from_str(&text).expect("schema is JSON");
    jsonschema::draft202012::new(&schema).expect("schema compiles")
}

fn errors(validator: &jsonschema::Validator, value: &Value) -> Vec<String> {
    validator.iter_errors(value).map(|e| format!("{} at {}", e, e.instance_path())).collect()
}

#[test]
fn every_tfvars_file_meets_the_module_contract() {
    let validator = tfvars_validator();
    let mut checked = 0;
    for (fqdn, output) in examples() {
        for (path, text) in infra_files(&output, "tofu.auto.tfvars.json") {
            let value: Value = serde_json::from_str(text).expect("tfvars is JSON");
            let problems = errors(&validator, &value);
            assert!(problems.is_empty(), "{fqdn}: {path}:\n{}", problems.join("\n"));
            checked += 1;
        }
    }
    assert_eq!(checked, 2, "one tfvars file per example");

    let (_, output) = examples().into_iter().next().expect("an example");
    let good: Value = serde_json::from_str(infra_files(&output, "tofu.auto.tfvars.json").next().expect("tfvars").1).expect("JSON");
    let broken = [
        ("control_plane_size", json!("big")),
        ("worker_count", json!(0)),
        ("ssh_allowed_cidrs", json!(["10.0.0.0/33"])),
        ("sovereign_fqdn", json!("1cloud.example.com")),
        ("hcloud_token", json!("planted")),
    ];
    for (key, value) in broken {
        let mut bad = good.clone();
        bad[key] = value;
        assert!(!errors(&validator, &bad).is_empty(), "the contract must reject {key} = {}", bad[key]);
    }
}

#[test]
fn cloud_configs_leave_only_module_variables_to_template() {
    for (fqdn, output) in examples() {
        for (path, text) in infra_files(&output, "") {
            assert!(!text.contains("%{"), "{fqdn}: {path} holds a template directive");
            for (at, _) in text.match_indices("${") {
                let name: String = text[at + 2..].chars().take_while(|c| *c != '}').collect();
                assert!(
                    TEMPLATE_VARIABLES.contains(&name.as_str()),
                    "{fqdn}: {path} uses `${{{name}}}`, which the module does not pass (escape shell variables)"
                );
            }
        }
        let secrets: Value =
            serde_json::from_str(infra_files(&output, "secret-inputs.json").next().expect("secret-inputs.json").1).expect("JSON");
        let mut names: Vec<&String> = secrets.as_object().expect("a map").keys().collect();
        names.sort();
        assert_eq!(names, ["dynadot_key", "dynadot_secret", "ghcr_pull_token", "hcloud_token", "kubeconfig_bearer_token"], "{fqdn}");
        let tfvars = infra_files(&output, "tofu.auto.tfvars.json").next().expect("tfvars").1;
        for name in names {
            assert!(!tfvars.contains(&format!("\"{name}\"")), "{fqdn}: the secret input {name} is written in the tfvars");
        }
    }
}

/// The string after `marker` up to the next space or quote.
fn word_after<'a>(text: &'a str, marker: &str) -> Option<&'a str> {
    let start = text.find(marker)? + marker.len();
    text[start..].split([' ', '\'', '"', '\n', '/']).next()
}

fn chart(name: &str) -> Value {
    let text = std::fs::read_to_string(repo().join("blueprints").join(name).join("chart/Chart.yaml")).expect("Chart.yaml");
    catalyst::support::yaml::parse_stream(&text).expect("YAML").remove(0)
}

fn subchart_version(chart: &Value, name: &str) -> String {
    let dependency = chart["dependencies"].as_array().expect("dependencies").iter().find(|d| d["name"] == name).expect("subchart");
    dependency["version"].as_str().expect("version").to_string()
}

#[test]
fn every_pinned_release_reaches_cloud_init_from_one_place() {
    let flux = chart("flux");
    let cilium = chart("cilium");
    for (fqdn, output) in examples() {
        let tfvars: Value = serde_json::from_str(infra_files(&output, "tofu.auto.tfvars.json").next().expect("tfvars").1).expect("JSON");
        let k3s = tfvars["k3s_version"].as_str().expect("k3s_version");
        let lock = catalyst::support::yaml::parse_stream(std::str::from_utf8(&output.files["catalyst.lock"]).expect("UTF-8"))
            .expect("YAML")
            .remove(0);
        assert_eq!(
            lock["bringUp"],
            json!({"k3s": k3s, "flux": flux["appVersion"], "cilium": subchart_version(&cilium, "cilium")}),
            "{fqdn}"
        );
        let mut seen = BTreeMap::new();
        for (path, text) in infra_files(&output, ".yaml").filter(|(p, _)| p.contains("/cloud-init/")) {
            assert_eq!(word_after(text, "INSTALL_K3S_VERSION="), Some(k3s), "{fqdn}: {path}: k3s release");
            if path.ends_with("-control-plane.yaml") {
                let flux_tag = word_after(text, "fluxcd/flux2/releases/download/").expect("the Flux install URL");
                assert_eq!(flux_tag, format!("v{}", flux["appVersion"].as_str().expect("appVersion")), "{fqdn}: {path}: Flux release");
                let cilium_version = word_after(text, "cilium/cilium --version ").expect("the Cilium install");
                assert_eq!(cilium_version, subchart_version(&cilium, "cilium"), "{fqdn}: {path}: Cilium release");
                *seen.entry("control-plane").or_insert(0) += 1;
            }
        }
        assert!(seen.contains_key("control-plane"), "{fqdn}: no control-plane cloud-config");
    }
}

#[test]
fn cloud_init_hands_over_the_objects_flux_then_owns() {
    for (fqdn, output) in examples() {
        for (path, text) in infra_files(&output, "-control-plane.yaml") {
            // Each region's control plane bootstraps its own cluster's tree.
            let region = path.rsplit('/').next().and_then(|f| f.strip_suffix("-control-plane.yaml")).expect("a region's file");
            let sync = catalyst::support::yaml::parse_stream(
                std::str::from_utf8(&output.files[&format!("clusters/{fqdn}/{region}/flux-system/gotk-sync.yaml")]).expect("UTF-8"),
            )
            .expect("YAML");
            let config = catalyst::support::yaml::parse_stream(text).expect("YAML").remove(0);
            let files = config["write_files"].as_array().expect("write_files");
            let bootstrap = files.iter().find(|f| f["path"] == "/var/lib/catalyst/flux-bootstrap.yaml").expect("flux-bootstrap.yaml");
            let objects = catalyst::support::yaml::parse_stream(bootstrap["content"].as_str().expect("content")).expect("YAML");
            assert_eq!(objects[0]["kind"], "Namespace", "{fqdn}: {path}");
            assert_eq!(objects[1..], sync[..], "{fqdn}: {path}: cloud-init and the fleet repo disagree on the hand-over");
            let own = objects.iter().find(|o| o["kind"] == "Kustomization" && o["metadata"]["name"] == "flux-system").expect("flux-system");
            assert_eq!(own["spec"]["path"], format!("./clusters/{fqdn}/{region}/flux-system"), "{fqdn}: {path}");
            assert_eq!(own["spec"]["postBuild"]["substitute"], json!({"SOVEREIGN_FQDN": fqdn}), "{fqdn}: {path}");
        }
    }
}

#[test]
fn every_bring_up_script_parses_as_bash() {
    let mut scripts = 0;
    for (fqdn, output) in examples() {
        for (path, text) in infra_files(&output, ".yaml").filter(|(p, _)| p.contains("/cloud-init/")) {
            let config = catalyst::support::yaml::parse_stream(text.trim_start_matches("#cloud-config\n")).expect("YAML").remove(0);
            for file in config["write_files"]
                .as_array()
                .expect("write_files")
                .iter()
                .filter(|f| f["path"].as_str().is_some_and(|p| p.ends_with(".sh")))
            {
                let mut bash = Command::new("bash")
                    .arg("-n")
                    .stdin(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .expect("bash runs");
                std::io::Write::write_all(&mut bash.stdin.take().expect("stdin"), file["content"].as_str().expect("content").as_bytes())
                    .expect("write the script");
                let checked = bash.wait_with_output().expect("bash ends");
                assert!(checked.status.success(), "{fqdn}: {path}: {}", String::from_utf8_lossy(&checked.stderr));
                scripts += 1;
            }
        }
    }
    assert!(scripts >= 4, "the examples' cloud-configs carry bring-up scripts: {scripts}");
}
