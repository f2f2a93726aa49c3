//! Apply benchmark: a synthetic Sovereign of 1,000 Applications (each in
//! dev, stg and prod: 1,262 repositories with the dedicated databases, 3,782 branches) published by the
//! release binary to a `git daemon` on loopback. Reports wall time and peak
//! RSS of the first apply and of a no-change re-apply, and the objects and
//! bytes each moved (the runtime's own count, from libgit2's transfer
//! progress): a re-apply only lists the remote refs. The CPU time is the
//! runtime's own; the rest of the wall time is the server's work and the waits for it.
//! Each size is published three times, each time to new empty repositories with an empty
//! cache, and each publication is re-applied three times: one row per publication (the median
//! of its re-applies), then the medians of all first applies and all re-applies, whose ratio
//! is the figure: the machine's noise is of the order of the no-change run itself.
//!
//! `cargo bench --bench apply` (1,000 Applications) or `cargo bench --bench apply -- 100 1000`.
//! Needs GNU time at /usr/bin/time (Debian package `time`) for peak RSS.

#[path = "../tests/common/git_daemon.rs"]
mod git_daemon;
mod support;

use std::process::Command;

use catalyst::ops::apply::{read_built, split};
use git_daemon::{init_bare, Daemon};
use support::{generate, measure, median, repo, Run};

/// The transfer counts at the end of the runtime's summary line.
fn transferred(run: &Run) -> String {
    let summary = run.stderr.lines().rfind(|l| l.starts_with("applied to ")).expect("the apply printed its summary");
    summary.split_once("; ").map(|(_, counts)| counts.to_string()).expect("the summary counts transfers")
}

fn cell(run: &Run) -> String {
    format!("{:.2} s ({:.2} s CPU), {:.0} MiB", run.seconds, run.cpu_seconds, run.peak_mib)
}

fn main() {
    let sizes: Vec<usize> = std::env::args().skip(1).filter_map(|a| a.parse().ok()).collect();
    let sizes = if sizes.is_empty() { vec![1_000] } else { sizes };
    println!("| Applications | repos | branches | first apply | transferred | no-change re-apply (median of 3) | transferred | re-apply / first |");
    println!("|---:|---:|---:|---|---|---|---|---:|");
    for apps in sizes {
        let scratch = tempfile::tempdir().expect("temp dir");
        let sovereign = generate(scratch.path(), apps, &repo().join("blueprints").to_string_lossy());
        let out = scratch.path().join("out");
        let build =
            Command::new(env!("CARGO_BIN_EXE_catalyst")).arg("build").arg(&sovereign).arg("-o").arg(&out).output().expect("build runs");
        assert!(build.status.success(), "build failed: {}", String::from_utf8_lossy(&build.stderr));
        let tree = read_built(&out).expect("the built tree reads back");
        let repos = split(&tree).expect("the tree maps to repositories");
        let branches: usize = repos.iter().map(|r| r.branches.len()).sum();
        let (mut firsts, mut agains) = (Vec::new(), Vec::new());
        for round in ["a", "b", "c"] {
            let root = scratch.path().join(format!("srv-{round}"));
            for repo in &repos {
                init_bare(&root.join(&repo.id.org).join(format!("{}.git", repo.id.name)));
            }
            let daemon = Daemon::start(&root);
            let remote = daemon.remote();
            let cache = scratch.path().join(format!("cache-{round}"));
            let args = ["apply", out.to_str().expect("utf-8"), "--remote", &remote, "--cache-dir", cache.to_str().expect("utf-8")];
            let first = measure(&args);
            let again: Vec<Run> = (0..3).map(|_| measure(&args)).collect();
            let typical = median(&again);
            let all: Vec<String> = again.iter().map(|r| format!("{:.2}", r.seconds)).collect();
            println!(
                "| {apps} | {} | {branches} | {} | {} | {} (of {} s) | {} | {:.1} % |",
                repos.len(),
                cell(&first),
                transferred(&first),
                cell(typical),
                all.join(", "),
                transferred(typical),
                100.0 * typical.seconds / first.seconds
            );
            firsts.push(first);
            agains.extend(again);
        }
        let (first, again) = (median(&firsts).seconds, median(&agains).seconds);
        println!("| {apps} | medians | | {first:.2} s | | {again:.2} s | | **{:.1} %** |", 100.0 * again / first);
    }
}
