//! `--format sarif` of `check` and `lint`: valid against the official SARIF
//! 2.1.0 schema (`sarif-2.1.0-rtm.5.json`, which scripts/install-test-tools.sh
//! takes from the npm package @microsoft/jest-sarif), with rule metadata and located results.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::repo;
use serde_json::Value as Json;

fn schema() -> Json {
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| Path::new(&home).join(".cache")))
        .map(|dir| dir.join("catalyst-test-tools/sarif-2.1.0.json"));
    let path = cache.filter(|p| p.is_file()).expect("the SARIF 2.1.0 schema is missing: run scripts/install-test-tools.sh");
    serde_json::from_str(&fs::read_to_string(path).expect("schema readable")).expect("schema is JSON")
}

/// The published schema's `language` patterns have a stray `]` that ECMA-262 regexes refuse; they
/// are replaced by the OASIS errata's form. catalyst never writes a `language`.
fn fix_language_patterns(schema: &mut Json) {
    match schema {
        Json::Object(map) => {
            if map.get("pattern").and_then(Json::as_str) == Some("^[a-zA-Z]{2}|^[a-zA-Z]{2}-[a-zA-Z]{2}]?$") {
                map.insert("pattern".into(), Json::from("^[a-zA-Z]{2}(-[a-zA-Z]{2})?$"));
            }
            map.values_mut().for_each(fix_language_patterns);
        }
        Json::Array(items) => items.iter_mut().for_each(fix_language_patterns),
        _ => {}
    }
}

/// Runs catalyst with `--format sarif`; returns the exit code and the parsed log.
fn sarif(args: &[&str], cwd: &Path) -> (Option<i32>, Json) {
    let out = Command::new(env!("CARGO_BIN_EXE_catalyst")).arg("--format").arg("sarif").args(args).current_dir(cwd).output().expect("runs");
    let log = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&out.stdout)));
    (out.status.code(), log)
}

fn validator() -> jsonschema::Validator {
    let mut schema = schema();
    fix_language_patterns(&mut schema);
    jsonschema::options().should_validate_formats(true).build(&schema).expect("the SARIF schema compiles")
}

fn assert_valid(log: &Json) {
    let validator = validator();
    let errors: Vec<String> = validator.iter_errors(log).map(|e| format!("{} at {}", e, e.instance_path().as_str())).collect();
    assert!(errors.is_empty(), "invalid SARIF:\n{}", errors.join("\n"));
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().expect("rules");
    for rule in rules {
        for field in ["/id", "/shortDescription/text", "/fullDescription/text", "/help/text", "/defaultConfiguration/level"] {
            assert!(rule.pointer(field).is_some_and(|v| v.as_str().is_some_and(|s| !s.is_empty())), "rule without {field}: {rule}");
        }
    }
    for result in run["results"].as_array().expect("results") {
        let index = result["ruleIndex"].as_u64().expect("ruleIndex") as usize;
        assert_eq!(rules[index]["id"], result["ruleId"], "ruleIndex points at the result's rule");
    }
}

/// The `(ruleId, uri, startLine)` of every result.
fn located(log: &Json) -> Vec<(String, String, u64)> {
    let results = log["runs"][0]["results"].as_array().expect("results");
    results
        .iter()
        .filter_map(|r| {
            let location = r.pointer("/locations/0/physicalLocation")?;
            Some((
                r["ruleId"].as_str()?.to_string(),
                location.pointer("/artifactLocation/uri")?.as_str()?.to_string(),
                location.pointer("/region/startLine")?.as_u64()?,
            ))
        })
        .collect()
}

#[test]
fn lint_sarif_is_valid_and_locates_each_finding() {
    let (code, log) = sarif(&["lint", "tests/lint/identity/blueprints", "tests/lint/depends/blueprints"], &repo());
    assert_eq!(code, Some(1));
    assert_valid(&log);
    let mut tampered = log.clone();
    tampered["runs"][0]["results"][0]["level"] = Json::from("fatal");
    assert!(!validator().is_valid(&tampered), "the schema check is not vacuous");
    let found = located(&log);
    let expect = ("catalyst::lint::duplicate-version".to_string(), "tests/lint/identity/blueprints/twice/b/blueprint.yaml".to_string(), 6);
    assert!(found.contains(&expect), "{found:?}");
    let rule = log["runs"][0]["tool"]["driver"]["rules"]
        .as_array()
        .and_then(|rules| rules.iter().find(|r| r["id"] == "catalyst::lint::name-prefix"))
        .cloned()
        .expect("lint rules are listed");
    assert_eq!(rule["defaultConfiguration"]["level"], "warning");
    assert!(rule["fullDescription"]["text"].as_str().is_some_and(|t| t.contains("Bad:")));
}

#[test]
fn check_sarif_is_valid_for_clean_and_broken_sovereigns() {
    let sovereign = common::example_sovereigns().remove(0);
    let (code, log) = sarif(&["check", "--ignore-missing-schemas", sovereign.to_str().expect("utf-8")], &repo());
    assert_eq!(code, Some(0));
    assert_valid(&log);
    assert_eq!(log["runs"][0]["results"].as_array().map(Vec::len), Some(0));
    // Without the flag too: the binary carries the schema of every kind the examples emit.
    let (code, log) = sarif(&["check", sovereign.to_str().expect("utf-8")], &repo());
    assert_eq!(code, Some(0));
    assert_valid(&log);
    assert_eq!(log["runs"][0]["results"].as_array().map(Vec::len), Some(0));

    // A kind nothing installs: its schema is missing (one warning with no location, valid SARIF
    // too) and the reconcile check refuses it at its file and line.
    let scratch = tempfile::tempdir().expect("temp dir");
    common::copy_tree(&repo().join("tests/bad-inputs/_base"), scratch.path());
    common::copy_tree(&repo().join("tests/bad-inputs/reconcile-no-crd/blueprints"), &scratch.path().join("blueprints"));
    let (code, log) = sarif(&["check", scratch.path().join("sovereigns/base.example.com").to_str().expect("utf-8")], scratch.path());
    assert_eq!(code, Some(1));
    assert_valid(&log);
    let results = log["runs"][0]["results"].as_array().cloned().unwrap_or_default();
    let rules: Vec<(Option<&str>, Option<&str>)> = results.iter().map(|r| (r["ruleId"].as_str(), r["level"].as_str())).collect();
    assert_eq!(rules, [(Some("catalyst::conform::missing-schema"), Some("warning")), (Some("catalyst::reconcile::no-crd"), Some("error"))]);

    // An unknown field in a copy of the bad-input base project, found at an absolute path.
    let scratch = tempfile::tempdir().expect("temp dir");
    common::copy_tree(&repo().join("tests/bad-inputs/_base"), scratch.path());
    let file = scratch.path().join("sovereigns/base.example.com/sovereign.yaml");
    let text = fs::read_to_string(&file).expect("read").replace("  provider: hetzner\n", "  provider: hetzner\n  colour: blue\n");
    fs::write(&file, text).expect("write");
    let (code, log) = sarif(&["check", scratch.path().join("sovereigns/base.example.com").to_str().expect("utf-8")], scratch.path());
    assert_eq!(code, Some(1));
    assert_valid(&log);
    let found = located(&log);
    assert!(
        found.iter().any(|(rule, uri, line)| rule == "catalyst::schema::unknown-field" && uri.ends_with("sovereign.yaml") && *line == 8),
        "{found:?}"
    );
}
