//! Diff benchmark: a 1,000-Application Sovereign in a Git repository, a
//! commit that changes the config of 10 Applications, and
//! `catalyst diff --base HEAD~1 --head HEAD` over it: wall time and peak RSS.
//!
//! `cargo bench --bench diff` (or `-- 2000` for another size). Needs GNU time.

mod support;

use std::fs;
use std::path::Path;
use std::process::Command;

use support::{generate, measure, repo};

const CHANGED: usize = 10;

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "user.name=bench", "-c", "user.email=bench@example.com", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .status()
        .expect("git runs");
    assert!(status.success(), "git {args:?}");
}

fn main() {
    let apps: usize = std::env::args().skip(1).find_map(|a| a.parse().ok()).unwrap_or(1_000);
    let scratch = tempfile::tempdir().expect("temp dir");
    let root = scratch.path();
    let copied = Command::new("cp").arg("-r").arg(repo().join("blueprints")).arg(root).status().expect("cp runs");
    assert!(copied.success(), "copy the catalog");
    let sovereign = generate(root, apps, "../../blueprints");
    git(root, &["init", "-q", "-b", "main"]);
    git(root, &["add", "-A"]);
    git(root, &["commit", "-q", "-m", "base"]);

    // Ten Redis Applications (every fourth app of the first organization) get a size overlay.
    let org = sovereign.join("organizations/org-0000.yaml");
    let mut text = fs::read_to_string(&org).expect("read organization");
    let redis = "blueprint: bp-redis\n      size: small";
    assert!(text.matches(redis).count() >= CHANGED, "the first organization has {CHANGED} Redis Applications");
    text = text.replacen(redis, "blueprint: bp-redis\n      size: medium", CHANGED);
    fs::write(&org, text).expect("write organization");
    git(root, &["commit", "-q", "-am", "resize ten caches"]);

    let cwd = std::env::current_dir().expect("cwd");
    std::env::set_current_dir(root).expect("enter the repository");
    let run = measure(&["--format", "json", "diff", "--base", "HEAD~1", "--head", "HEAD"]);
    std::env::set_current_dir(cwd).expect("leave the repository");
    println!("| Applications | changed | diff wall time | peak RSS |");
    println!("|---:|---:|---:|---:|");
    println!("| {apps} | {CHANGED} | {:.2} s | {:.0} MiB |", run.seconds, run.peak_mib);
}
