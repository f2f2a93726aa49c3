//! Watch benchmark: a 1,000-Application Sovereign; one Application's config
//! is saved again and again. Reports the incremental re-check of the library
//! session and, end to end, the time from the write to the new diagnostics
//! printed by a running `catalyst check --watch` (debounce included).
//!
//! `cargo bench --bench watch` (or `-- 2000` for another size).

// The allocator the `catalyst` binary runs with, so that the in-process figures are the CLI's.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use support::{generate, repo};

const EDITS: usize = 10;

fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

fn main() {
    let apps: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1_000);
    let scratch = tempfile::tempdir().expect("temp dir");
    let catalog = repo().join("blueprints");
    let sovereign = generate(scratch.path(), apps, &catalog.to_string_lossy());
    let org = sovereign.join("organizations/org-0000.yaml");
    let original = std::fs::read_to_string(&org).expect("organization");
    // Each edit gives the first WordPress site another hostname.
    let edit = |n: usize| original.replacen("hostname: site0.example.com", &format!("hostname: site0-{n}.example.com"), 1);

    // The built-in CRDs, kinds without a schema not reported: as `check --watch --ignore-missing-schemas` runs.
    let mut session =
        catalyst::ops::watch::Session::new(&sovereign, Arc::new(catalyst::support::vfs::DiskFs), catalyst::Options::default());
    let started = Instant::now();
    let first = session.check();
    let full = started.elapsed();
    assert!(first.diagnostics.is_empty(), "the synthetic Sovereign checks clean");
    let incremental: Vec<Duration> = (0..EDITS)
        .map(|n| {
            std::fs::write(&org, edit(n)).expect("save");
            let started = Instant::now();
            let checked = session.check();
            assert_eq!(checked.reused, checked.organizations - 1, "one Organization is resolved again");
            started.elapsed()
        })
        .collect();

    let mut child = Command::new(env!("CARGO_BIN_EXE_catalyst"))
        .args(["check", "--watch", "--ignore-missing-schemas"])
        .arg(&sovereign)
        .stdout(Stdio::piped())
        .spawn()
        .expect("catalyst runs");
    let mut lines = BufReader::new(child.stdout.take().expect("piped")).lines().map_while(Result::ok);
    let mut next_status = || lines.find(|l| l.starts_with("[watch]")).expect("a status line");
    next_status();
    let end_to_end: Vec<Duration> = (0..EDITS)
        .map(|n| {
            std::thread::sleep(Duration::from_millis(200));
            let started = Instant::now();
            std::fs::write(&org, edit(n + EDITS)).expect("save");
            next_status();
            started.elapsed()
        })
        .collect();
    let _ = child.kill();
    let _ = child.wait();

    println!("| Applications | full check | re-check after one save (median of {EDITS}) | save → new diagnostics, end to end |");
    println!("|---:|---:|---:|---:|");
    println!("| {apps} | {} ms | {} ms | {} ms |", full.as_millis(), median(incremental).as_millis(), median(end_to_end).as_millis());
}
