//! Scale benchmark: synthetic Sovereigns of 100, 1,000 and 10,000
//! Applications (each in dev, stg and prod), compiled by the release binary.
//! Reports wall time and peak RSS of `check`, a cold `build`, a no-change
//! rebuild and a one-change rebuild (one Application's config edited), and the
//! I/O floor: the time to write the same files with a plain loop and flush
//! them once, as the first build does.
//!
//! `cargo bench --bench scale` (all sizes) or `cargo bench --bench scale -- 100 1000`.
//! Needs GNU time at /usr/bin/time (Debian package `time`) for peak RSS.

mod support;

use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::Instant;

use support::{generate, measure, repo, settle, Run};

/// The I/O floor, in a fresh process so it pays the same cold start as the
/// build: the compiled files written by a plain loop, then one `syncfs`, as
/// a build flushes its staged tree before publishing it.
fn io_floor(sovereign: &Path, target: &Path) -> f64 {
    settle();
    let exe = std::env::current_exe().expect("the benchmark knows its own path");
    let output = Command::new(exe).arg("--floor").arg(sovereign).arg(target).output().expect("the floor process runs");
    assert!(output.status.success(), "floor failed: {}", String::from_utf8_lossy(&output.stderr));
    String::from_utf8_lossy(&output.stdout).trim().parse().expect("the floor process prints seconds")
}

fn write_floor(sovereign: &Path, target: &Path) {
    let output = catalyst::compile(sovereign).output.expect("the synthetic Sovereign compiles");
    let start = Instant::now();
    for (path, bytes) in &output.files {
        let file = target.join(path);
        fs::create_dir_all(file.parent().expect("parent")).expect("mkdir");
        fs::write(file, bytes).expect("write");
    }
    let root = fs::File::open(target).expect("open the floor tree");
    rustix::fs::syncfs(&root).expect("syncfs");
    println!("{}", start.elapsed().as_secs_f64());
}

/// The median of `runs` measurements (the disk of a shared machine is noisy).
fn median<T>(runs: usize, mut run: impl FnMut() -> T, seconds: impl Fn(&T) -> f64) -> T {
    let mut all: Vec<T> = (0..runs).map(|_| run()).collect();
    all.sort_by(|a, b| seconds(a).total_cmp(&seconds(b)));
    all.swap_remove(runs / 2)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if let [flag, sovereign, target] = args.as_slice() {
        if flag == "--floor" {
            return write_floor(Path::new(sovereign), Path::new(target));
        }
    }
    let sizes: Vec<usize> = args.iter().filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![100, 1_000, 10_000] } else { sizes };
    println!("| Applications | files | check | cold build | no-change rebuild | one-change rebuild | I/O floor | build / floor |");
    println!("|---:|---:|---|---|---|---|---:|---:|");
    for apps in sizes {
        // Medians of three where a run is short; one run of the largest size.
        let runs = if apps <= 1_000 { 3 } else { 1 };
        let scratch = tempfile::tempdir().expect("temp dir");
        let catalog = repo().join("blueprints");
        let sovereign = generate(scratch.path(), apps, &catalog.to_string_lossy());
        let s = sovereign.to_str().expect("utf-8");
        let check = median(runs, || measure(&["check", s]), |r| r.seconds);
        let mut round = 0;
        let mut fresh = |name: &str| {
            round += 1;
            scratch.path().join(format!("{name}-{round}"))
        };
        let out = fresh("out");
        let cold = median(
            runs,
            || {
                let out = fresh("out");
                let run = measure(&["build", s, "-o", out.to_str().expect("utf-8")]);
                fs::remove_dir_all(&out).expect("remove the cold tree");
                run
            },
            |r| r.seconds,
        );
        measure(&["build", s, "-o", out.to_str().expect("utf-8")]);
        let rebuild = median(runs, || measure(&["build", s, "-o", out.to_str().expect("utf-8")]), |r| r.seconds);
        // Each run edits the first Application's hostname, back and forth.
        let organization = sovereign.join("organizations/org-0000.yaml");
        let mut hostnames = ["site0.example.com", "site0.example.org"];
        let one_change = median(
            runs,
            || {
                let text = fs::read_to_string(&organization).expect("organization");
                fs::write(&organization, text.replace(hostnames[0], hostnames[1])).expect("edit the organization");
                hostnames.swap(0, 1);
                let run = measure(&["build", s, "-o", out.to_str().expect("utf-8")]);
                assert!(!run.stderr.contains("(0 written"), "the edit changes files: {}", run.stderr);
                run
            },
            |r| r.seconds,
        );
        let floor = median(
            runs,
            || {
                let target = fresh("floor");
                let seconds = io_floor(&sovereign, &target);
                fs::remove_dir_all(&target).expect("remove the floor tree");
                seconds
            },
            |f| *f,
        );
        let files = fs::read_to_string(out.join(".catalyst-manifest")).expect("manifest").lines().count();
        let cell = |r: &Run| format!("{:.2} s, {:.0} MiB", r.seconds, r.peak_mib);
        println!(
            "| {apps} | {files} | {} | {} | {} | {} | {floor:.2} s | {:.2} |",
            cell(&check),
            cell(&cold),
            cell(&rebuild),
            cell(&one_change),
            cold.seconds / floor
        );
    }
}
