//! The hooks of `.pre-commit-hooks.yaml`, run by the real `pre-commit`
//! (installed by scripts/install-test-tools.sh) on a sample repository: a
//! good commit passes both hooks, a commit that breaks `check` or `lint` is refused.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use common::{copy_tree, repo};

/// Runs a command in `dir` with the built `catalyst` first on PATH and a private pre-commit cache.
fn run(dir: &Path, cache: &Path, program: &str, args: &[&str]) -> Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_catalyst")).parent().expect("bin dir").to_path_buf();
    let path = std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default())))
        .expect("PATH");
    Command::new(program)
        .args(args)
        .current_dir(dir)
        .env("PATH", path)
        .env("PRE_COMMIT_HOME", cache)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "test")
        .env("GIT_AUTHOR_EMAIL", "test@example.com")
        .env("GIT_COMMITTER_NAME", "test")
        .env("GIT_COMMITTER_EMAIL", "test@example.com")
        .output()
        .unwrap_or_else(|e| panic!("{program} does not run ({e}): run scripts/install-test-tools.sh"))
}

fn text(out: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr))
}

fn git_ok(dir: &Path, cache: &Path, args: &[&str]) -> String {
    let out = run(dir, cache, "git", args);
    assert!(out.status.success(), "git {args:?}: {}", text(&out));
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Commits everything and expects the hooks to refuse it, naming `code`; then drops the change.
fn assert_refused(sample: &Path, cache: &Path, code: &str) {
    git_ok(sample, cache, &["add", "-A"]);
    let bad = run(sample, cache, "git", &["commit", "-m", "bad"]);
    assert!(!bad.status.success(), "{}", text(&bad));
    assert!(text(&bad).contains(code), "{}", text(&bad));
    git_ok(sample, cache, &["reset", "-q", "--hard"]);
}

fn edit(file: &Path, from: &str, to: &str) {
    let text = fs::read_to_string(file).expect("read");
    assert!(text.contains(from), "{} lacks {from:?}", file.display());
    fs::write(file, text.replace(from, to)).expect("write");
}

#[test]
fn hooks_accept_a_good_commit_and_refuse_bad_ones() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let cache = scratch.path().join("cache");

    // The hook repository: this repository's .pre-commit-hooks.yaml, committed.
    let hooks = scratch.path().join("hooks");
    fs::create_dir_all(&hooks).expect("mkdir");
    fs::copy(repo().join(".pre-commit-hooks.yaml"), hooks.join(".pre-commit-hooks.yaml")).expect("copy hooks");
    git_ok(&hooks, &cache, &["init", "-q"]);
    git_ok(&hooks, &cache, &["add", "-A"]);
    git_ok(&hooks, &cache, &["commit", "-qm", "hooks"]);
    let rev = git_ok(&hooks, &cache, &["rev-parse", "HEAD"]);

    // The sample repository: a catalog and a Sovereign, with the README's configuration.
    let sample = scratch.path().join("sample");
    copy_tree(&repo().join("tests/bad-inputs/_base"), &sample);
    let config = format!(
        "repos:\n  - repo: {}\n    rev: {rev}\n    hooks:\n      - id: catalyst-check\n      - id: catalyst-lint\n",
        hooks.display()
    );
    fs::write(sample.join(".pre-commit-config.yaml"), config).expect("write config");
    git_ok(&sample, &cache, &["init", "-q"]);
    let install = run(&sample, &cache, "pre-commit", &["install"]);
    assert!(install.status.success(), "{}", text(&install));

    git_ok(&sample, &cache, &["add", "-A"]);
    let good = run(&sample, &cache, "git", &["commit", "-m", "good"]);
    assert!(good.status.success(), "{}", text(&good));
    assert!(text(&good).contains("catalyst check") && text(&good).contains("catalyst lint"), "{}", text(&good));

    // Breaks `check`: an unknown field in the Sovereign spec.
    let sovereign = sample.join("sovereigns/base.example.com/sovereign.yaml");
    edit(&sovereign, "  provider: hetzner\n", "  provider: hetzner\n  colour: blue\n");
    assert_refused(&sample, &cache, "catalyst::schema::unknown-field");

    // Breaks only `lint`: a secret field with a default compiles, but puts a secret in the catalog.
    let blueprint = sample.join("blueprints/db/blueprint.yaml");
    edit(&blueprint, "      databases:", "      password: {type: string, format: secret, default: changeme}\n      databases:");
    assert_refused(&sample, &cache, "catalyst::lint::secret-default");

    assert_eq!(git_ok(&sample, &cache, &["rev-list", "--count", "HEAD"]), "1", "only the good commit landed");
}
