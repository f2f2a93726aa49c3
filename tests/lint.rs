//! `catalyst lint`: every rule fires on its fixture at the right line, stays
//! silent on a well-written catalog, obeys `catalyst.toml` and inline
//! suppressions, and never panics on a malformed catalog.
//!
//! Every folder of `tests/lint/` is one case: a `blueprints/` catalog and/or
//! a `built/` tree (for the emitted-object rules), an optional `catalyst.toml` and an `expected.txt` listing, one per line,
//! `<code> <path relative to the case>:<line>` and optionally the severity
//! (`warning` or `error`) the finding must have. The list must equal the
//! findings, no more, no fewer. Expectations are written by hand.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::process::Command;

use catalyst::check::lint::{lint, Linted, Request, RULES};
use catalyst::diagnostic::Severity;
use common::repo;

fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = fs::read_dir(repo().join("tests/lint"))
        .expect("tests/lint/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    cases
}

fn lint_request(request: &Request) -> Linted {
    catch_unwind(AssertUnwindSafe(|| lint(request))).unwrap_or_else(|_| panic!("lint panicked on {request:?}"))
}

fn lint_catalog(catalog: &Path) -> Linted {
    lint_request(&Request { catalogs: vec![catalog.to_path_buf()], ..Request::default() })
}

/// A case's `blueprints/` catalog and `built/` tree, whichever it has.
fn lint_case(case: &Path) -> Linted {
    let existing = |name: &str| Some(case.join(name)).filter(|p| p.is_dir()).into_iter().collect();
    lint_request(&Request { catalogs: existing("blueprints"), built: existing("built"), ..Request::default() })
}

/// The findings as `code path:line severity`, paths relative to `root`.
fn findings(linted: &Linted, root: &Path) -> Vec<(String, String)> {
    let mut found: Vec<(String, String)> = linted
        .diagnostics
        .iter()
        .map(|d| {
            let location = d.primary_span().map_or("-".to_string(), |span| {
                let path = linted.sources.path(span.file);
                let relative = path.strip_prefix(root).unwrap_or(path);
                format!("{}:{}", relative.display(), linted.sources.get(span.file).line_col(span.start).0)
            });
            let severity = if d.severity == Severity::Error { "error" } else { "warning" };
            (format!("{} {location}", d.code), severity.to_string())
        })
        .collect();
    found.sort();
    found
}

#[test]
fn every_case_reports_exactly_its_expected_findings() {
    let mut failures = Vec::new();
    for case in cases() {
        let text = fs::read_to_string(case.join("expected.txt")).expect("expected.txt");
        let expected: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
        let found = findings(&lint_case(&case), &case);
        let mut missing: Vec<&str> = Vec::new();
        let mut unmatched = found.clone();
        for line in &expected {
            let (key, severity) = match line.rsplit_once(' ') {
                Some((key, s)) if s == "warning" || s == "error" => (key, Some(s)),
                _ => (*line, None),
            };
            match unmatched.iter().position(|(k, s)| k == key && severity.is_none_or(|want| want == s)) {
                Some(i) => {
                    unmatched.remove(i);
                }
                None => missing.push(line),
            }
        }
        if !missing.is_empty() || !unmatched.is_empty() {
            failures.push(format!("{}:\n  missing: {missing:?}\n  unexpected: {unmatched:?}", case.display()));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn every_rule_has_a_case_that_fires_it() {
    let mut fired = BTreeSet::new();
    for case in cases() {
        let text = fs::read_to_string(case.join("expected.txt")).expect("expected.txt");
        fired.extend(text.lines().filter_map(|l| l.split_whitespace().next()).map(str::to_string));
    }
    // The schema rule is generic: any structural error fires it, see `malformed_catalogs_never_panic`.
    let unfired: Vec<&str> = RULES.iter().map(|r| r.code.id).filter(|c| !fired.contains(*c) && *c != "catalyst::lint::schema").collect();
    assert!(unfired.is_empty(), "rules without a fixture: {unfired:?}");
}

#[test]
fn the_shipped_catalog_is_clean() {
    let linted = lint_catalog(&repo().join("blueprints"));
    assert!(linted.diagnostics.is_empty(), "{}", catalyst::diagnostic::format::human(&linted.diagnostics, &linted.sources, false));
}

#[test]
fn the_examples_compile_to_objects_the_emitted_rules_accept() {
    let linted = lint_request(&Request { sovereigns: common::example_sovereigns(), ..Request::default() });
    assert!(linted.diagnostics.is_empty(), "{}", catalyst::diagnostic::format::human(&linted.diagnostics, &linted.sources, false));
}

/// A huge file, truncated YAML, wrong types everywhere, deep nesting, an alias bomb and
/// the bad-input fixtures: findings, never a panic.
#[test]
fn malformed_catalogs_never_panic() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let deep = format!("spec:\n  configSchema: {}{}\n", "{a: ".repeat(200), "}".repeat(200));
    let bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n\
                d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c]\ne: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d]\nf: &f [*e, *e, *e, *e, *e, *e, *e, *e, *e]\n\
                g: &g [*f, *f, *f, *f, *f, *f, *f, *f, *f]\nh: [*g, *g, *g, *g, *g, *g, *g, *g, *g]\n";
    // Larger than any input may be (8 MiB): refused before it is parsed.
    let huge = format!("spec:\n  card: {{title: \"{}\"}}\n", "x".repeat(9 << 20));
    let files = [
        ("huge", huge.as_str()),
        ("truncated", "apiVersion: catalyst.openova.io/v1alpha1\nkind: Blueprint\nmetadata:\n  name: bp-x\nspec:\n  version: \"1.0"),
        ("wrong-types", "apiVersion: 1\nkind: [Blueprint]\nmetadata: {name: 7, version: {a: b}}\nspec: {version: [1], configSchema: 3, depends: {a: 1}, manifests: [x], placementSchema: {modes: 1, minRegions: x}, pins: [1]}\n"),
        ("wrong-types-inside", "metadata: {name: bp-y}\nspec:\n  version: 1.0.0\n  configSchema: {type: object, required: 5, properties: [1], default: {}}\n  depends: [{blueprint: 5, when: [x], values: \"{{\"}, 7, null]\n  placementSchema: {modes: [1, null], default: 3, minRegions: -1, maxRegions: 99999999999999999999}\n  manifests: {chart: 5, templates: {a: 1}}\n"),
        ("deep", deep.as_str()),
        ("bomb", bomb),
        ("empty", ""),
        ("scalar", "just a string\n"),
        ("binary", "\u{0}\u{1}\u{2}"),
    ];
    for (name, text) in files {
        let dir = scratch.path().join(name);
        fs::create_dir_all(&dir).expect("mkdir");
        fs::write(dir.join("blueprint.yaml"), text).expect("write fixture");
    }
    let linted = lint_catalog(scratch.path());
    assert!(
        linted.diagnostics.iter().count() >= files.len(),
        "{}",
        catalyst::diagnostic::format::human(&linted.diagnostics, &linted.sources, false)
    );
    assert!(linted.diagnostics.iter().any(|d| d.code == "catalyst::lint::schema"), "structural errors are reported");
    for code in ["catalyst::load::too-large", "catalyst::yaml::too-deep", "catalyst::yaml::too-large", "catalyst::yaml::syntax"] {
        assert!(linted.diagnostics.iter().any(|d| d.code == code), "{code} is reported for its file");
    }
    for case in fs::read_dir(repo().join("tests/bad-inputs")).expect("bad-inputs").map(|e| e.expect("entry").path()) {
        lint_catalog(&case);
    }
}

#[test]
fn explain_prints_each_rule_with_a_bad_and_a_good_example() {
    for rule in RULES {
        let out = Command::new(env!("CARGO_BIN_EXE_catalyst")).args(["explain", rule.name()]).output().expect("catalyst runs");
        let text = String::from_utf8_lossy(&out.stdout);
        assert_eq!(out.status.code(), Some(0), "{}", rule.code.id);
        assert!(text.starts_with(rule.code.id) && text.contains("\nBad:\n") && text.contains("\nGood:\n"), "{text}");
        assert!(text.contains("Default severity"), "{text}");
    }
}

#[test]
fn the_cli_lints_the_default_catalog_and_fails_on_errors() {
    let run = |args: &[&str]| Command::new(env!("CARGO_BIN_EXE_catalyst")).args(args).current_dir(repo()).output().expect("catalyst runs");
    assert_eq!(run(&["lint"]).status.code(), Some(0), "blueprints/ is the default catalog and is clean");
    let bad = run(&["--format", "json", "lint", "tests/lint/identity/blueprints"]);
    assert_eq!(bad.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&bad.stdout).expect("JSON output");
    assert!(json["diagnostics"].as_array().is_some_and(|d| d.iter().any(|d| d["code"] == "catalyst::lint::duplicate-version")));
    assert_eq!(run(&["lint", "does/not/exist"]).status.code(), Some(2), "a missing catalog is an I/O failure");
}
