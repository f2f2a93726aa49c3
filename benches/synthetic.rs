//! What the benchmarks share: a synthetic Sovereign generator and a
//! measurement of one run of the release binary (wall time, peak RSS).
// Each benchmark uses part of this module.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const APPS_PER_ORG: usize = 50;

/// `cargo test --all-targets` runs benchmark binaries too, without `--bench`:
/// only `cargo bench` measures.
pub fn run_by_cargo_bench() -> bool {
    std::env::args().any(|a| a == "--bench")
}

pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("compiler/ has a parent").to_path_buf()
}

/// Writes `sovereigns/scale.bench/` with `apps` Applications (each in dev, stg and prod) into `root`, using the shipped catalog.
pub fn generate(root: &Path, apps: usize) -> PathBuf {
    let dir = root.join("sovereigns/scale.bench");
    fs::create_dir_all(dir.join("organizations")).expect("create sovereign dir");
    let catalog = repo().join("blueprints");
    fs::write(
        dir.join("sovereign.yaml"),
        format!(
            "apiVersion: catalyst.openova.io/v1alpha1\nkind: Sovereign\nmetadata:\n  name: scale\nspec:\n  fqdn: scale.bench\n  provider: hetzner\n  catalogs: [{}]\n  regions: [hz-fsn-rtz-prod, hz-nbg-rtz-prod]\n",
            catalog.display()
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
    /// What the binary printed on stderr (without GNU time's line).
    pub stderr: String,
}

/// One run of the release binary under GNU time (`apt-get install time`).
pub fn measure(args: &[&str]) -> Run {
    settle();
    let start = Instant::now();
    let output = Command::new("/usr/bin/time")
        .args(["-f", "%M"])
        .arg(env!("CARGO_BIN_EXE_catalyst"))
        .args(args)
        .output()
        .expect("GNU time runs (apt-get install time)");
    let seconds = start.elapsed().as_secs_f64();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "catalyst {args:?} failed:\n{stderr}");
    let (printed, peak) = stderr.trim_end().rsplit_once('\n').unwrap_or(("", stderr.trim_end()));
    let peak_kib: f64 = peak.trim().parse().expect("time printed the peak RSS");
    Run { seconds, peak_mib: peak_kib / 1024.0, stderr: printed.to_string() }
}

/// Flushes what earlier runs left dirty, so no run pays for another's writes.
pub fn settle() {
    rustix::fs::sync();
}
