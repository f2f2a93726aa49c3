//! What the benchmarks share: a synthetic Sovereign generator and a runner
//! that measures the release binary's wall time and peak RSS (GNU time).
// Each benchmark uses a part of this module.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const APPS_PER_ORG: usize = 50;

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("compiler/ has a parent").to_path_buf()
}

/// Writes `sovereigns/scale.bench/` with `apps` Applications into `root`;
/// `catalog` is the catalog path as sovereign.yaml names it.
pub fn generate(root: &Path, apps: usize, catalog: &str) -> PathBuf {
    let dir = root.join("sovereigns/scale.bench");
    fs::create_dir_all(dir.join("organizations")).expect("create sovereign dir");
    fs::write(
        dir.join("sovereign.yaml"),
        format!(
            "apiVersion: catalyst.openova.io/v1alpha1\nkind: Sovereign\nmetadata:\n  name: scale\nspec:\n  fqdn: scale.bench\n  provider: hetzner\n  catalogs: [{}]\n  regions: [hz-fsn-mgt-prod, hz-fsn-rtz-prod, hz-nbg-rtz-prod]\n",
            catalog
        ),
    )
    .expect("write sovereign");
    for org in 0..apps.div_ceil(APPS_PER_ORG) {
        let mut text = format!(
            "apiVersion: catalyst.openova.io/v1alpha1\nkind: Organization\nmetadata:\n  name: org-{org:04}\nspec:\n  environments:\n"
        );
        for env in ["dev", "stg", "prod"] {
            let _ = write!(
                text,
                "    - type: {env}\n      regions: [hz-fsn-rtz-prod]\n      policy:\n        rules:\n          - {{kind: pr-required, approvers: [leads], minApprovals: 1}}\n"
            );
        }
        text.push_str("  applications:\n");
        for app in 0..APPS_PER_ORG.min(apps - org * APPS_PER_ORG) {
            let body = match app % 4 {
                0 => format!("blueprint: bp-wordpress\n      config: {{hostname: site{app}.example.com}}"),
                1 => "blueprint: bp-postgres\n      version: ^1.4\n      config: {databases: [main]}".to_string(),
                2 => "blueprint: bp-redis\n      size: small".to_string(),
                _ => format!("blueprint: bp-static-site\n      config: {{hostname: docs{app}.example.com}}\n      environments: {{dev: {{config: {{replicas: 1}}}}, stg: {{}}, prod: {{config: {{replicas: 3}}}}}}"),
            };
            let _ = write!(text, "    - name: app-{app:03}\n      {body}\n");
        }
        fs::write(dir.join(format!("organizations/org-{org:04}.yaml")), text).expect("write organization");
    }
    dir
}

pub struct Run {
    pub seconds: f64,
    pub peak_mib: f64,
    /// User plus system CPU time of the binary itself.
    pub cpu_seconds: f64,
    /// What the binary printed on stderr (without GNU time's line).
    pub stderr: String,
}

/// The run whose wall time is the median of `runs` (the upper one of an even count).
pub fn median(runs: &[Run]) -> &Run {
    let mut order: Vec<&Run> = runs.iter().collect();
    order.sort_by(|a, b| a.seconds.total_cmp(&b.seconds));
    order[runs.len() / 2]
}

pub fn measure(args: &[&str]) -> Run {
    settle();
    let start = Instant::now();
    let output = Command::new("/usr/bin/time")
        .args(["-f", "%M %U %S"])
        .arg(env!("CARGO_BIN_EXE_catalyst"))
        .args(args)
        .output()
        .expect("GNU time runs (apt-get install time)");
    let seconds = start.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "catalyst {args:?} failed:\n{stderr}");
    let (own, last) = stderr.trim_end().rsplit_once('\n').unwrap_or(("", stderr.trim_end()));
    let figures: Vec<f64> = last.split_whitespace().map(|f| f.parse().expect("time printed peak RSS and CPU times")).collect();
    let [peak_kib, user, system] = figures[..] else { panic!("time printed `{last}`, not peak RSS and CPU times") };
    Run { seconds, peak_mib: peak_kib / 1024.0, cpu_seconds: user + system, stderr: own.to_string() }
}

/// Flushes what earlier runs left dirty, so no run pays for another's writes.
pub fn settle() {
    rustix::fs::sync();
}

/// Writes a lint-clean catalog of `count` Blueprints into `root`: chart Blueprints with a
/// configSchema (defaults, required keys, a secret), each depending on up to two earlier ones
/// (requirement, alias, `when`, expression values), and every tenth a template Blueprint.
pub fn generate_catalog(root: &Path, count: usize) -> PathBuf {
    let catalog = root.join("blueprints");
    for i in 0..count {
        let dir = catalog.join(format!("gen-{i:04}"));
        let template = i % 10 == 9;
        let manifests = if template { "templates: ./templates" } else { "chart: ./chart" };
        let mut text = format!(
            "apiVersion: catalyst.openova.io/v1alpha1\nkind: Blueprint\nmetadata:\n  name: bp-gen-{i:04}\nspec:\n  version: 1.{}.0\n  card: {{title: Generated {i}}}\n  visibility: listed\n  configSchema:\n    type: object\n    required: [hostname]\n    properties:\n      hostname: {{type: string, default: gen{i}.example.com}}\n      replicas: {{type: integer, minimum: 1, default: 2}}\n      database:\n        type: object\n        properties:\n          mode: {{type: string, enum: [embedded, external], default: embedded}}\n      password: {{type: string, format: secret}}\n  placementSchema: {{modes: [single-region, active-active], default: single-region, minRegions: 1, maxRegions: 3}}\n  manifests:\n    {manifests}\n",
            i % 7
        );
        let depends: Vec<usize> =
            [i / 2, i / 3].into_iter().filter(|&d| d < i).collect::<std::collections::BTreeSet<_>>().into_iter().collect();
        if !depends.is_empty() {
            text.push_str("  depends:\n");
            for d in depends {
                let _ = write!(
                    text,
                    "    - blueprint: bp-gen-{d:04}\n      version: ^1\n      alias: dep-{d}\n      when: \"{{{{ .config.database.mode == 'embedded' }}}}\"\n      values: {{hostname: \"{{{{ .application.name }}}}-{d}.example.com\", replicas: 1}}\n"
                );
            }
        }
        fs::create_dir_all(&dir).expect("create blueprint dir");
        fs::write(dir.join("blueprint.yaml"), text).expect("write blueprint");
        if template {
            fs::create_dir_all(dir.join("templates")).expect("create templates");
            fs::write(dir.join("templates/configmap.yaml"), "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: \"{{ .application.name }}\"\ndata:\n  replicas: \"{{ config.replicas }}\"\n").expect("write template");
        } else {
            fs::create_dir_all(dir.join("chart")).expect("create chart");
            fs::write(dir.join("chart/Chart.yaml"), format!("apiVersion: v2\nname: gen-{i:04}\nversion: 1.{}.0\n", i % 7))
                .expect("write chart");
        }
    }
    catalog
}
