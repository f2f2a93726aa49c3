//! Bad-input tests: the compiler must refuse broken inputs with the right
//! diagnostic at the right line, never panic, and write nothing.
//!
//! Every folder of `tests/bad-inputs/` except `_base` is one case. `_base` is a
//! small valid project (a catalog of two Blueprints and a Sovereign with one
//! Organization); a case holds only the files it changes, at the same relative
//! paths. The runner copies `_base` into a temporary folder, lays the case's
//! files over it (a file `<name>.delete` removes `<name>`), compiles the single
//! Sovereign under `sovereigns/` and compares its diagnostics with the case's
//! `expected.txt`, one per line:
//!
//! ```text
//! # comments and blank lines are ignored
//! error catalyst::schema::unknown-field sovereigns/base.example.com/sovereign.yaml:7 ~ did you mean `fqdn`?
//! ```
//!
//! that is `<severity> <code> <path relative to the case>:<line of the primary label>`
//! (`<severity> <code> -` for a diagnostic without a label), the severity `error` or
//! `warning`, optionally followed by
//! `~ <text>` that the diagnostic's message, help or notes must contain. The
//! list must equal the diagnostics reported (errors and warnings), no more, no
//! fewer. Expectations are written by hand from the fixture, never blessed.
//!
//! A `catalyst.lock` in a case is the lock of the tree the build replaces: the
//! version changes are held to their upgrade paths against it, as `build` holds
//! them against `out/<fqdn>/catalyst.lock`.
//!
//! `CATALYST_CASE=<part of a name> cargo test --test bad_inputs` runs only the
//! matching cases.

mod common;

use std::fmt;
use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use catalyst::diagnostic::{Diagnostic, Severity};
use catalyst::Compilation;
use common::{catalyst_command, materialize, sovereign_of, suite, EXPECTED};

/// Every case folder, sorted by name.
fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = fs::read_dir(suite())
        .expect("tests/bad-inputs/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.is_dir() && p.file_name().is_some_and(|n| n != "_base"))
        .collect();
    cases.sort();
    cases
}

fn case_name(case: &Path) -> String {
    case.file_name().expect("named").to_string_lossy().into_owned()
}

/// Removes `.` and `a/..` without touching the disk (catalog paths are shown as `<sovereign>/../../blueprints/…`).
fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir if matches!(out.components().next_back(), Some(Component::Normal(_))) => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

/// One expected or reported diagnostic: `severity code path:line`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    severity: &'static str,
    code: String,
    location: String,
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {} {}", self.severity, self.code, self.location)
    }
}

fn severity_name(severity: Severity) -> &'static str {
    match severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    }
}

struct Expectation {
    key: Key,
    contains: Option<String>,
}

fn parse_expected(case: &Path) -> Vec<Expectation> {
    let path = case.join(EXPECTED);
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|line| {
            let (head, contains) = match line.split_once(" ~ ") {
                Some((head, text)) => (head.trim(), Some(text.trim().to_string())),
                None => (line, None),
            };
            let malformed = || panic!("{}: malformed line `{line}`: want `<severity> <code> <path>:<line>`", path.display());
            let mut words = head.split_whitespace();
            let (Some(severity), Some(code), Some(location), None) = (words.next(), words.next(), words.next(), words.next()) else {
                malformed()
            };
            let severity = [Severity::Error, Severity::Warning].into_iter().map(severity_name).find(|s| *s == severity);
            let Some(severity) = severity else { malformed() };
            assert!(catalyst::diagnostic::codes::find(code).is_some(), "{}: unknown code `{code}`", path.display());
            Expectation { key: Key { severity, code: code.to_string(), location: location.to_string() }, contains }
        })
        .collect()
}

/// Where a diagnostic's primary label is, relative to the fixture root.
fn key_of(d: &Diagnostic, c: &Compilation, root: &Path) -> Key {
    let location = match d.primary_span() {
        Some(span) => {
            let path = normalize(c.sources.path(span.file));
            let relative = path.strip_prefix(root).map(Path::to_path_buf).unwrap_or(path);
            let (line, _) = c.sources.get(span.file).line_col(span.start);
            format!("{}:{line}", relative.to_string_lossy().replace('\\', "/"))
        }
        None => "-".to_string(),
    };
    Key { severity: severity_name(d.severity), code: d.code.to_string(), location }
}

fn text_of(d: &Diagnostic) -> String {
    let mut text = d.message.clone();
    for part in d.help.iter().chain(&d.notes) {
        text.push('\n');
        text.push_str(part);
    }
    text
}

fn list(keys: &[Key]) -> String {
    if keys.is_empty() {
        return "    (none)\n".to_string();
    }
    keys.iter().map(|k| format!("    {k}\n")).collect()
}

/// Compiles one case; `Err` describes every way it differs from its expectation.
fn run_case(case: &Path) -> Result<(), String> {
    let expected = parse_expected(case);
    let scratch = materialize(Some(case));
    let root = normalize(scratch.path());
    let sovereign = sovereign_of(&root);
    let replaces = match fs::read_to_string(root.join("catalyst.lock")) {
        Ok(text) => catalyst::Replaces::Lock(Arc::new(catalyst::check::upgrades::Lock::parse(&text))),
        Err(_) => catalyst::Replaces::Nothing,
    };
    let options = catalyst::Options { replaces, ..catalyst::Options::default() };
    let compile = || catalyst::compile_with(Arc::new(catalyst::support::vfs::DiskFs), &sovereign, &options);
    let compilation = catch_unwind(AssertUnwindSafe(compile)).map_err(|panic| {
        let why = panic.downcast_ref::<String>().cloned().or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()));
        format!("the compiler panicked: {}", why.unwrap_or_else(|| "(no message)".into()))
    })?;

    let mut problems = Vec::new();
    let reported: Vec<(Key, &Diagnostic)> = compilation.diagnostics.iter().map(|d| (key_of(d, &compilation, &root), d)).collect();
    let mut actual: Vec<Key> = reported.iter().map(|(k, _)| k.clone()).collect();
    actual.sort();
    let mut wanted: Vec<Key> = expected.iter().map(|e| e.key.clone()).collect();
    wanted.sort();
    if actual != wanted {
        problems.push(format!("diagnostics differ\n  expected:\n{}  reported:\n{}", list(&wanted), list(&actual)));
    }
    for e in expected.iter().filter(|e| actual.contains(&e.key)) {
        let Some(text) = &e.contains else { continue };
        if !reported.iter().any(|(k, d)| *k == e.key && text_of(d).contains(text.as_str())) {
            problems.push(format!("{} does not say `{text}`", e.key));
        }
    }
    let has_errors = compilation.diagnostics.iter().any(|d| d.severity == Severity::Error);
    match (&compilation.output, has_errors) {
        (Some(_), true) => problems.push("errors were reported but an output was produced".into()),
        (None, false) => problems.push("no error was reported but no output was produced".into()),
        _ => {}
    }
    if compilation.diagnostics.dropped() > 0 {
        problems.push(format!("{} diagnostics were dropped", compilation.diagnostics.dropped()));
    }
    if problems.is_empty() {
        return Ok(());
    }
    let rendered = catalyst::diagnostic::format::human(&compilation.diagnostics, &compilation.sources, false);
    Err(format!("{}\n  rendered:\n{rendered}", problems.join("\n")))
}

#[test]
fn the_base_compiles_cleanly() {
    let scratch = materialize(None);
    let sovereign = sovereign_of(scratch.path());
    let compilation = catalyst::compile(&sovereign);
    assert!(
        compilation.diagnostics.is_empty() && compilation.output.is_some(),
        "_base must compile without any diagnostic, so that every case's diagnostics come from the case:\n{}",
        catalyst::diagnostic::format::human(&compilation.diagnostics, &compilation.sources, false)
    );
}

#[test]
fn every_bad_input_gives_exactly_its_expected_diagnostics() {
    let mut cases = cases();
    assert!(cases.len() >= 34, "expected at least 34 cases, found {}", cases.len());
    if let Ok(only) = std::env::var("CATALYST_CASE") {
        cases.retain(|c| case_name(c).contains(&only));
    }
    let mut failures = Vec::new();
    for case in &cases {
        if let Err(why) = run_case(case) {
            failures.push(format!("── {} ──\n{why}", case_name(case)));
        }
    }
    assert!(failures.is_empty(), "{} of {} bad-input cases failed:\n\n{}", failures.len(), cases.len(), failures.join("\n\n"));
}

#[test]
fn every_case_has_an_expectation_and_overrides_something() {
    for case in cases() {
        let name = case_name(&case);
        assert!(case.join(EXPECTED).is_file(), "{name} has no {EXPECTED}");
        assert!(!parse_expected(&case).is_empty(), "{name}: {EXPECTED} expects no diagnostic");
        let overrides = walkdir::WalkDir::new(&case).into_iter().filter_map(Result::ok).filter(|e| e.file_type().is_file()).count();
        assert!(overrides > 1, "{name} changes nothing in _base");
    }
}

/// The real binary exits 1 on bad input and writes no output folder at all.
#[test]
fn build_writes_nothing_for_bad_inputs() {
    for name in ["yaml-duplicate-key", "config-enum-violation", "blueprint-dependency-cycle"] {
        let case = suite().join(name);
        assert!(case.is_dir(), "case {name} is missing");
        let scratch = materialize(Some(&case));
        let sovereign = sovereign_of(scratch.path());
        let out = scratch.path().join("out");
        let run = catalyst_command().arg("build").arg(&sovereign).arg("-o").arg(&out).output().expect("the catalyst binary runs");
        let stderr = String::from_utf8_lossy(&run.stderr);
        assert_eq!(run.status.code(), Some(1), "{name}: exit code\n{stderr}");
        assert!(!out.exists(), "{name}: {} was created although the build failed", out.display());
        assert!(stderr.contains("error"), "{name}: no error printed:\n{stderr}");
    }
}
