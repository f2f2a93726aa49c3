//! `catalyst diff` against real Git repositories.
//!
//! Each case copies the catalog and the corporate example into a fresh
//! repository, commits it (fixed identity and dates, so commit ids and the
//! outputs are reproducible), commits one change on top, and runs the real
//! binary with `--base HEAD~1 --head HEAD` in every format. The outputs are
//! compared with `tests/diff-golden/<case>.{txt,md,json}` byte for byte;
//! `CATALYST_BLESS=1 cargo test --test diff` rewrites them after an intended
//! change (review the `git diff`).

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{copy_tree, repo};
use serde_json::Value;

const SOVEREIGN: &str = "sovereigns/omantel.omani.works";

struct Fixture {
    dir: tempfile::TempDir,
    commits: u32,
}

impl Fixture {
    /// The catalog and the corporate example, committed as the base revision.
    fn new() -> Fixture {
        let dir = tempfile::tempdir().expect("temp dir");
        copy_tree(&repo().join("blueprints"), &dir.path().join("blueprints"));
        copy_tree(&repo().join(SOVEREIGN), &dir.path().join(SOVEREIGN));
        // A template that puts a config value into a Secret, for the redaction case.
        fs::write(
            dir.path().join("blueprints/static-site/templates/basic-auth.yaml"),
            "apiVersion: v1\nkind: Secret\nmetadata:\n  name: \"{{ application.name }}-basic-auth\"\ntype: Opaque\nstringData:\n  users: \"alice:before-marker\"\n  realm: docs\n",
        )
        .expect("write template");
        let mut fixture = Fixture { dir, commits: 0 };
        fixture.git(&["init", "-q", "-b", "main"]);
        fixture.commit("base");
        fixture
    }

    fn path(&self) -> &Path {
        self.dir.path()
    }

    fn git(&self, args: &[&str]) {
        let status = Command::new("git").args(args).current_dir(self.path()).envs(git_identity(self.commits)).status().expect("git runs");
        assert!(status.success(), "git {args:?} failed");
    }

    fn commit(&mut self, message: &str) {
        self.commits += 1;
        self.git(&["add", "-A"]);
        self.git(&["-c", "commit.gpgsign=false", "commit", "-q", "-m", message]);
    }

    /// Replaces `old` (which must occur) with `new` in a file of the repository.
    fn edit(&self, file: &str, old: &str, new: &str) {
        let path = self.path().join(file);
        let text = fs::read_to_string(&path).expect("read fixture file");
        assert!(text.contains(old), "{file} does not contain {old:?}");
        fs::write(&path, text.replacen(old, new, 1)).expect("write fixture file");
    }

    fn catalyst(&self, args: &[&str]) -> (i32, String, String) {
        let output = Command::new(env!("CARGO_BIN_EXE_catalyst"))
            .args(args)
            .current_dir(self.path())
            .env("NO_COLOR", "1")
            .output()
            .expect("catalyst runs");
        (
            output.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&output.stdout).into_owned(),
            String::from_utf8_lossy(&output.stderr).into_owned(),
        )
    }
}

/// Same author, committer and dates every run: commit ids, and so the outputs, are reproducible.
fn git_identity(n: u32) -> Vec<(&'static str, String)> {
    let date = format!("2026-01-01T00:{n:02}:00Z");
    vec![
        ("GIT_AUTHOR_NAME", "Reviewer".into()),
        ("GIT_AUTHOR_EMAIL", "reviewer@example.com".into()),
        ("GIT_COMMITTER_NAME", "Reviewer".into()),
        ("GIT_COMMITTER_EMAIL", "reviewer@example.com".into()),
        ("GIT_AUTHOR_DATE", date.clone()),
        ("GIT_COMMITTER_DATE", date),
        ("GIT_CONFIG_NOSYSTEM", "1".into()),
        ("HOME", std::env::temp_dir().display().to_string()),
    ]
}

fn golden_dir() -> PathBuf {
    repo().join("tests").join("diff-golden")
}

fn schema() -> jsonschema::Validator {
    let text = fs::read_to_string(repo().join("schemas/diff.schema.json")).expect("schemas/diff.schema.json");
    jsonschema::draft202012::new(&serde_json::from_str::<Value>(&text).expect("JSON")).expect("the schema compiles")
}

/// Runs the diff in every format, checks the JSON against its schema, and compares with the golden files.
/// Every case with golden files, each in every format.
const CASES: [&str; 6] = ["version-bump", "new-application", "formatting-only", "secret-change", "broken-head", "upgrade-skipped"];
const FORMATS: [(&str, &str); 3] = [("human", "txt"), ("markdown", "md"), ("json", "json")];

#[test]
fn every_golden_file_belongs_to_a_case() {
    let produced =
        CASES.iter().flat_map(|case| FORMATS.iter().map(move |(_, extension)| golden_dir().join(format!("{case}.{extension}")))).collect();
    let stale = common::stale_golden_files(&golden_dir(), &produced);
    assert!(stale.is_empty(), "golden files no case produces (bless with CATALYST_BLESS=1 to delete them): {stale:?}");
}

fn check_case(fixture: &Fixture, case: &str, expected_exit: i32) -> Value {
    assert!(CASES.contains(&case), "{case} is listed in CASES");
    let mut json = Value::Null;
    for (format, extension) in FORMATS {
        let (code, stdout, stderr) = fixture.catalyst(&["--format", format, "diff", "--base", "HEAD~1", "--head", "HEAD", SOVEREIGN]);
        assert_eq!(code, expected_exit, "{case} ({format}): exit code\nstdout:\n{stdout}\nstderr:\n{stderr}");
        let golden = golden_dir().join(format!("{case}.{extension}"));
        if common::blessing() {
            fs::create_dir_all(golden_dir()).expect("mkdir golden");
            fs::write(&golden, &stdout).expect("bless");
        } else {
            let expected = fs::read_to_string(&golden).unwrap_or_else(|_| panic!("{} missing: bless it", golden.display()));
            if expected != stdout {
                let diff = similar::TextDiff::from_lines(&expected, &stdout).unified_diff().header("golden", "actual").to_string();
                panic!("{case} ({format}) differs from {}:\n{diff}", golden.display());
            }
        }
        if format == "json" {
            json = serde_json::from_str(&stdout).expect("diff --format json prints JSON");
            let errors: Vec<String> = schema().iter_errors(&json).map(|e| format!("{e} at {}", e.instance_path())).collect();
            assert!(errors.is_empty(), "{case}: the JSON report breaks schemas/diff.schema.json:\n{}", errors.join("\n"));
        }
    }
    json
}

fn outcome(json: &Value) -> &Value {
    &json["sovereigns"][0]
}

fn objects(json: &Value, change: &str) -> Vec<String> {
    outcome(json)["changes"]
        .as_array()
        .expect("changes")
        .iter()
        .filter(|c| c["change"] == change)
        .map(|c| c["object"].as_str().expect("object").to_string())
        .collect()
}

/// Prod takes the version staging runs: the bump is shown as the promotion it is, and the two
/// Environments' branches then hold the same tree.
#[test]
fn a_version_bump_in_one_environment() {
    let mut fixture = Fixture::new();
    let org = format!("{SOVEREIGN}/organizations/omantel-it.yaml");
    fixture.edit(
        &org,
        r#"prod: {version: "=1.4.2", config: {instances: 3, storage: 500Gi}}"#,
        r#"prod: {version: "=1.5.0", config: {instances: 3, storage: 500Gi}}"#,
    );
    fixture.commit("bump analytics-db in prod");
    let json = check_case(&fixture, "version-bump", 0);
    let out = outcome(&json);
    assert_eq!(out["status"], "compared");
    assert_eq!(out["summary"], "1 Application changed in omantel-it-prod");
    let bumps = &out["consequences"]["versionBumps"];
    assert_eq!(
        bumps,
        &serde_json::json!([{
            "user": "omantel-it-prod/analytics-db", "blueprint": "bp-postgres", "from": "1.4.2", "to": "1.5.0",
            "promotion": {"from": "omantel-it-stg", "differingFiles": []},
        }])
    );
    let environments = out["consequences"]["environments"].as_array().expect("environments");
    assert_eq!(environments.len(), 1, "only prod is touched");
    assert!(environments[0]["policy"][0].as_str().expect("policy").starts_with("pr-required: 2 approval(s)"));
    assert!(objects(&json, "added").is_empty() && objects(&json, "removed").is_empty());

    // --exit-code turns a difference into exit 1.
    let (code, ..) = fixture.catalyst(&["diff", "--base", "HEAD~1", "--head", "HEAD", "--exit-code", SOVEREIGN]);
    assert_eq!(code, 1);
}

#[test]
fn a_new_application_with_a_dependency() {
    let mut fixture = Fixture::new();
    let org = format!("{SOVEREIGN}/organizations/omantel-retail.yaml");
    fixture.edit(
        &org,
        "  applications:\n",
        "  applications:\n    - name: blog\n      blueprint: bp-wordpress\n      version: ^1.3\n      size: small\n      config:\n        siteTitle: Omantel Blog\n        hostname: blog.omantel.om\n        database: {mode: embedded}\n",
    );
    fixture.commit("add the blog");
    let json = check_case(&fixture, "new-application", 0);
    let added = objects(&json, "added");
    for expected in
        ["Application omantel-retail-prod/blog", "Application omantel-retail-prod/blog-db", "Kustomization omantel-retail-dev/blog"]
    {
        assert!(added.iter().any(|a| a == expected), "{expected} not among the added objects: {added:?}");
    }
    let edges = outcome(&json)["consequences"]["dependsOn"].as_array().expect("dependsOn").clone();
    assert!(
        edges.iter().any(|e| e["object"] == "Kustomization omantel-retail-prod/blog" && e["added"] == serde_json::json!(["blog-db"])),
        "the new dependsOn edge blog → blog-db is reported: {edges:?}"
    );
}

#[test]
fn a_formatting_only_change_is_no_change() {
    let mut fixture = Fixture::new();
    let org = format!("{SOVEREIGN}/organizations/omantel-it.yaml");
    // Flow to block style, key order, quoting and comments: the same spec.
    fixture.edit(
        &org,
        r#"        dev: {version: "=1.5.0", config: {version: "17"}}"#,
        "        # dev tries the next major first\n        dev:\n          config:\n            version: '17'\n          version: =1.5.0",
    );
    fixture.edit(
        &org,
        "    - name: analytics-db\n      blueprint: bp-postgres\n",
        "    - blueprint: bp-postgres   # moved up\n      name: analytics-db\n",
    );
    fixture.commit("reformat");
    let json = check_case(&fixture, "formatting-only", 0);
    assert_eq!(outcome(&json)["summary"], "no change to the rendered output");
    assert_eq!(outcome(&json)["changes"], serde_json::json!([]));
    let (code, ..) = fixture.catalyst(&["diff", "--base", "HEAD~1", "--head", "HEAD", "--exit-code", SOVEREIGN]);
    assert_eq!(code, 0, "no difference: --exit-code stays 0");
}

#[test]
fn a_changed_secret_is_redacted_in_every_format() {
    let mut fixture = Fixture::new();
    fixture.edit("blueprints/static-site/templates/basic-auth.yaml", "alice:before-marker", "alice:s3cr3t-marker");
    fixture.commit("rotate the password the template ships");
    let json = check_case(&fixture, "secret-change", 0);
    let secrets = outcome(&json)["consequences"]["secrets"].as_array().expect("secrets").clone();
    // Every branch carries every Environment's overlay.
    let expected: Vec<String> = ["develop", "main", "staging"]
        .iter()
        .flat_map(|branch| ["dev", "prod", "stg"].map(|env| (branch, env)))
        .map(|(branch, env)| format!("Secret docs-basic-auth in repos/omantel-it/docs/{branch}/overlays/{env}/manifests/basic-auth.yaml"))
        .collect();
    assert_eq!(secrets, expected);
    for extension in ["txt", "md", "json"] {
        let text = fs::read_to_string(golden_dir().join(format!("secret-change.{extension}"))).expect("golden");
        assert!(!text.contains("s3cr3t-marker") && !text.contains("before-marker"), "secret-change.{extension} shows a secret value");
        assert!(text.contains("<redacted: new value>"), "secret-change.{extension} does not mark the change");
    }
}

#[test]
fn a_broken_head_shows_its_diagnostics() {
    let mut fixture = Fixture::new();
    fixture.edit(
        &format!("{SOVEREIGN}/organizations/omantel-it.yaml"),
        "      blueprint: bp-static-site\n",
        "      blueprint: bp-static-sight\n",
    );
    fixture.commit("typo");
    let json = check_case(&fixture, "broken-head", 1);
    let out = outcome(&json);
    assert_eq!(out["status"], "failed");
    assert!(out["revision"].as_str().expect("revision").starts_with("HEAD ("), "{}", out["revision"]);
    let diagnostics = out["diagnostics"].as_str().expect("diagnostics");
    assert!(diagnostics.contains("catalyst::resolve::missing-blueprint") && diagnostics.contains("bp-static-site"), "{diagnostics}");
}

/// A bump whose new version refuses the version the base runs: the head is held to the base's
/// lock, and the skipped upgrade path is the head's failure.
#[test]
fn a_version_bump_that_skips_an_upgrade_path() {
    let mut fixture = Fixture::new();
    fixture.edit(
        &format!("{SOVEREIGN}/organizations/omantel-it.yaml"),
        r#"prod: {version: "=1.4.2", config: {instances: 3, storage: 500Gi}}"#,
        r#"prod: {version: "=1.5.0", config: {instances: 3, storage: 500Gi}}"#,
    );
    fixture.edit("blueprints/postgres/1.5.0/blueprint.yaml", "    from: [\"1.4.x\"]\n", "    from: [\"1.4.x\"]\n    blocks: [\"1.4.2\"]\n");
    fixture.commit("bump analytics-db in prod; 1.4.2 may not upgrade to 1.5.0 directly");
    let json = check_case(&fixture, "upgrade-skipped", 1);
    let out = outcome(&json);
    assert_eq!(out["status"], "failed");
    let diagnostics = out["diagnostics"].as_str().expect("diagnostics");
    assert!(diagnostics.contains("catalyst::upgrade::skipped") && diagnostics.contains("omantel-it-prod/analytics-db"), "{diagnostics}");
    assert!(diagnostics.contains("omantel-it.yaml:"), "labelled at the version requirement: {diagnostics}");

    // The same bump without the block passes: 1.4.x may upgrade to 1.5.0.
    fixture.edit("blueprints/postgres/1.5.0/blueprint.yaml", "    blocks: [\"1.4.2\"]\n", "");
    fixture.commit("lift the block");
    let (code, stdout, stderr) = fixture.catalyst(&["--format", "json", "diff", "--base", "HEAD~2", "--head", "HEAD", SOVEREIGN]);
    assert_eq!(code, 0, "{stdout}{stderr}");
}

#[test]
fn bare_and_shallow_clones_give_the_same_report() {
    let mut fixture = Fixture::new();
    let org = format!("{SOVEREIGN}/organizations/omantel-it.yaml");
    fixture.edit(&org, "storage: 500Gi", "storage: 750Gi");
    fixture.commit("grow the prod database");
    let args = ["--format", "json", "diff", "--base", "HEAD~1", "--head", "HEAD", SOVEREIGN];
    let (_, expected, _) = fixture.catalyst(&args);
    let source = format!("file://{}", fixture.path().display());
    for (name, clone_args) in [("bare", vec!["clone", "-q", "--bare"]), ("shallow", vec!["clone", "-q", "--depth", "2"])] {
        let target = fixture.path().with_extension(name);
        let mut command = Command::new("git");
        command.args(&clone_args).arg(&source).arg(&target);
        assert!(command.status().expect("git clone").success(), "{name} clone");
        let output = Command::new(env!("CARGO_BIN_EXE_catalyst")).args(args).current_dir(&target).output().expect("catalyst runs");
        assert_eq!(String::from_utf8_lossy(&output.stdout), expected, "{name} clone reports differently");
        fs::remove_dir_all(&target).expect("clean up the clone");
    }
}

#[test]
fn markdown_is_cut_to_fit_a_comment() {
    let mut fixture = Fixture::new();
    fixture.edit(
        &format!("{SOVEREIGN}/sovereign.yaml"),
        "  registry: oci://ghcr.io/openova-io",
        "  registry: oci://registry.omantel.om/catalyst",
    );
    fixture.commit("move the registry: every HelmRepository changes");
    let report = catalyst::ops::diff::diff(&catalyst::ops::diff::Request {
        repo: fixture.path().to_path_buf(),
        base: "HEAD~1".into(),
        head: Some("HEAD".into()),
        sovereigns: vec![PathBuf::from(SOVEREIGN)],
    })
    .expect("diff runs");
    let full = catalyst::ops::diff::format::markdown(&report, usize::MAX);
    let cut = catalyst::ops::diff::format::markdown(&report, 4_000);
    assert!(full.len() > 4_000, "the full report is long ({} characters)", full.len());
    assert!(cut.len() < 4_600, "the cut report stays near the limit ({} characters)", cut.len());
    assert!(cut.contains("**Truncated**") && cut.contains("| `sovereigns/omantel.omani.works` |"), "{cut}");
    assert!(!full.contains("**Truncated**"));
}

#[test]
fn outside_a_repository_or_with_an_unknown_revision_exits_2() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let output =
        Command::new(env!("CARGO_BIN_EXE_catalyst")).args(["diff", "--base", "main"]).current_dir(scratch.path()).output().expect("runs");
    assert_eq!(output.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&output.stderr).contains("catalyst::diff::git"));

    let fixture = Fixture::new();
    let (code, _, stderr) = fixture.catalyst(&["diff", "--base", "no-such-branch"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("catalyst::diff::git") && stderr.contains("no-such-branch"), "{stderr}");
}
