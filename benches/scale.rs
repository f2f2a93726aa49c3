//! Scale benchmark: synthetic Sovereigns of 100, 1,000 and 10,000
//! Applications (each in dev, stg and prod), compiled by the release binary.
//! Reports wall time and peak RSS of `check`, a cold `build` and a no-change
//! rebuild, and the I/O floor: the time to write the same files with a plain loop.
//!
//! `cargo bench --bench scale` (all sizes) or `cargo bench --bench scale -- 100 1000`.
//! Needs GNU time at /usr/bin/time (Debian package `time`) for peak RSS.

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

const APPS_PER_ORG: usize = 50;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("compiler/ has a parent").to_path_buf()
}

/// Writes `sovereigns/scale.bench/` with `apps` Applications into `root`, using the shipped catalog.
fn generate(root: &Path, apps: usize) -> PathBuf {
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

struct Run {
    seconds: f64,
    peak_mib: f64,
}

fn measure(args: &[&str]) -> Run {
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
    let peak_kib: f64 = stderr.lines().last().and_then(|l| l.trim().parse().ok()).expect("time printed the peak RSS");
    Run { seconds, peak_mib: peak_kib / 1024.0 }
}

/// Writing the same files with a plain loop: the floor any build pays.
fn io_floor(sovereign: &Path, target: &Path) -> (f64, usize) {
    let output = catalyst::compile(sovereign).output.expect("the synthetic Sovereign compiles");
    let start = Instant::now();
    for (path, bytes) in &output.files {
        let file = target.join(path);
        fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        fs::write(file, bytes).expect("write");
    }
    (start.elapsed().as_secs_f64(), output.files.len())
}

fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![100, 1_000, 10_000] } else { sizes };
    println!("| Applications | files | check | cold build | no-change rebuild | I/O floor | build / floor |");
    println!("|---:|---:|---|---|---|---:|---:|");
    for apps in sizes {
        let scratch = tempfile::tempdir().expect("temp dir");
        let sovereign = generate(scratch.path(), apps);
        let out = scratch.path().join("out");
        let s = sovereign.to_str().expect("utf-8");
        let o = out.to_str().expect("utf-8");
        let check = measure(&["check", s]);
        let cold = measure(&["build", s, "-o", o]);
        let rebuild = measure(&["build", s, "-o", o]);
        let (floor, files) = io_floor(&sovereign, &scratch.path().join("floor"));
        let cell = |r: &Run| format!("{:.2} s, {:.0} MiB", r.seconds, r.peak_mib);
        println!(
            "| {apps} | {files} | {} | {} | {} | {floor:.2} s | {:.2} |",
            cell(&check),
            cell(&cold),
            cell(&rebuild),
            cold.seconds / floor
        );
    }
}
