//! `catalyst graph`: golden DOT, Mermaid and JSON for every view of both
//! examples, each DOT rendered to SVG by the real `dot`, each Mermaid graph
//! parsed by mermaid's own parser, each JSON checked against
//! `schemas/graph.schema.json`; broken inputs drawn with their problems
//! highlighted. `CATALYST_BLESS=1 cargo test --test graph` rewrites the
//! golden files in `tests/graph-golden/`.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{example_sovereigns, materialize, repo, sovereign_of, suite};
use serde_json::Value;

const VIEWS: [&str; 3] = ["blueprints", "apps", "kit"];
const FORMATS: [(&str, &str); 3] = [("dot", "dot"), ("mermaid", "mmd"), ("json", "json")];

fn catalyst(args: &[&str]) -> (i32, String, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_catalyst")).args(args).current_dir(repo()).output().expect("catalyst runs");
    (
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

fn golden_dir() -> PathBuf {
    repo().join("tests").join("graph-golden")
}

fn schema() -> jsonschema::Validator {
    let text = fs::read_to_string(repo().join("schemas/graph.schema.json")).expect("schemas/graph.schema.json");
    jsonschema::draft202012::new(&serde_json::from_str::<Value>(&text).expect("JSON")).expect("the schema compiles")
}

fn assert_matches_schema(json: &str, what: &str) -> Value {
    let value: Value = serde_json::from_str(json).expect("graph -T json prints JSON");
    let errors: Vec<String> = schema().iter_errors(&value).map(|e| format!("{e} at {}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{what}: breaks schemas/graph.schema.json:\n{}", errors.join("\n"));
    value
}

/// Every view and format of both examples, as the files they are compared with.
fn rendered() -> Vec<(PathBuf, String)> {
    let mut files = Vec::new();
    for sovereign in example_sovereigns() {
        let fqdn = sovereign.file_name().expect("named").to_string_lossy().into_owned();
        let path = format!("sovereigns/{fqdn}");
        for view in VIEWS {
            for (format, extension) in FORMATS {
                let (code, stdout, stderr) = catalyst(&["graph", &path, "--view", view, "-T", format]);
                assert_eq!(code, 0, "graph {path} --view {view} -T {format}: {stderr}");
                files.push((golden_dir().join(&fqdn).join(format!("{view}.{extension}")), stdout));
            }
        }
    }
    files
}

#[test]
fn every_view_matches_its_golden_file() {
    let bless = common::blessing();
    let mut differing = Vec::new();
    let rendered = rendered();
    let produced: std::collections::BTreeSet<_> = rendered.iter().map(|(golden, _)| golden.clone()).collect();
    differing.extend(common::stale_golden_files(&golden_dir(), &produced).iter().map(|p| format!("{} (no view produces it)", p.display())));
    for (golden, text) in rendered {
        if golden.extension().is_some_and(|e| e == "json") {
            assert_matches_schema(&text, &golden.display().to_string());
        }
        if bless {
            fs::create_dir_all(golden.parent().expect("parent")).expect("mkdir");
            fs::write(&golden, &text).expect("bless");
        } else if fs::read_to_string(&golden).ok().as_deref() != Some(text.as_str()) {
            differing.push(golden.display().to_string());
        }
    }
    assert!(differing.is_empty(), "differ from the golden files (bless with CATALYST_BLESS=1 if intended):\n{}", differing.join("\n"));
}

#[test]
fn graphviz_renders_every_dot_graph() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let mut rendered_count = 0;
    for (golden, text) in rendered().into_iter().filter(|(g, _)| g.extension().is_some_and(|e| e == "dot")) {
        let input = scratch.path().join("graph.dot");
        fs::write(&input, &text).expect("write");
        let output = Command::new("dot").arg("-Tsvg").arg(&input).output().expect("dot is on PATH (scripts/install-test-tools.sh)");
        let svg = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success() && output.stderr.is_empty() && svg.contains("<svg"),
            "{}: dot refuses it:\n{}",
            golden.display(),
            String::from_utf8_lossy(&output.stderr)
        );
        rendered_count += 1;
    }
    assert_eq!(rendered_count, 6);
    let broken = scratch.path().join("broken.dot");
    fs::write(&broken, "digraph { a -> }\n").expect("write");
    assert!(!Command::new("dot").arg("-Tsvg").arg(&broken).output().expect("dot").status.success(), "dot must reject broken DOT");
}

/// Runs mermaid's parser (tests/tools/mermaid-check.mjs) over `files`; (success, report).
fn mermaid_check(files: &[PathBuf]) -> (bool, String) {
    let tools = repo().join("target/test-tools/mermaid");
    assert!(tools.join("node_modules/mermaid").is_dir(), "run scripts/install-test-tools.sh: {} is missing", tools.display());
    let script = tools.join("mermaid-check.mjs");
    fs::copy(repo().join("tests/tools/mermaid-check.mjs"), &script).expect("place the checker beside its modules");
    let output = Command::new("node").arg(&script).args(files).output().expect("node runs");
    (output.status.success(), format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr)))
}

#[test]
fn mermaid_parses_every_mermaid_graph() {
    let scratch = tempfile::tempdir().expect("temp dir");
    let files: Vec<PathBuf> = rendered()
        .into_iter()
        .filter(|(g, _)| g.extension().is_some_and(|e| e == "mmd"))
        .enumerate()
        .map(|(i, (_, text))| {
            let file = scratch.path().join(format!("{i}.mmd"));
            fs::write(&file, text).expect("write");
            file
        })
        .collect();
    assert_eq!(files.len(), 6);
    let (ok, report) = mermaid_check(&files);
    assert!(ok, "mermaid cannot parse:\n{report}");
    let broken = scratch.path().join("broken.mmd");
    fs::write(&broken, "flowchart LR\n  a -->|x| b[\n").expect("write");
    assert!(!mermaid_check(&[broken]).0, "the checker must reject broken Mermaid");
}

fn problems(graph: &Value) -> (Vec<String>, usize) {
    let nodes = graph["nodes"].as_array().expect("nodes");
    let problem_nodes = nodes.iter().filter(|n| n["problem"] == true).map(|n| n["name"].as_str().expect("name").to_string()).collect();
    let problem_edges = graph["edges"].as_array().expect("edges").iter().filter(|e| e["problem"] == true).count();
    (problem_nodes, problem_edges)
}

fn draw_broken(case: &str, view: &str) -> (i32, Value, String) {
    let dir = materialize(Some(&suite().join(case)));
    let sovereign = sovereign_of(dir.path());
    let (code, stdout, stderr) = catalyst(&["graph", sovereign.to_str().expect("utf-8"), "--view", view, "-T", "json"]);
    (code, assert_matches_schema(&stdout, case), stderr)
}

#[test]
fn a_link_cycle_is_drawn_highlighted() {
    let (code, graph, stderr) = draw_broken("link-cycle", "apps");
    assert_eq!(code, 1, "the cycle is still an error");
    assert!(stderr.contains("catalyst::resolve::cycle"), "{stderr}");
    let (mut nodes, edges) = problems(&graph);
    nodes.sort();
    assert_eq!(nodes, ["back", "front"], "the Applications on the cycle");
    assert_eq!(edges, 2, "both edges of the cycle");
}

#[test]
fn an_unsatisfiable_requirement_is_drawn_as_an_unresolved_node() {
    let (code, graph, stderr) = draw_broken("version-unsatisfiable", "blueprints");
    assert_eq!(code, 1);
    assert!(stderr.contains("catalyst::resolve::unsatisfiable"), "{stderr}");
    let unresolved: Vec<&Value> = graph["nodes"].as_array().expect("nodes").iter().filter(|n| n["kind"] == "unresolved").collect();
    assert_eq!(unresolved.len(), 1, "{graph:#}");
    assert_eq!(unresolved[0]["label"], "bp-app\n^2.0 ✗", "the Blueprint and the requirement nothing satisfies");
    assert_eq!(problems(&graph).0, ["bp-app"]);
}

#[test]
fn env_and_focus_filters_keep_a_readable_neighbourhood() {
    let (_, stdout, _) =
        catalyst(&["graph", "sovereigns/omantel.omani.works", "--view", "apps", "--env", "omantel-retail-prod", "-T", "json"]);
    let graph = assert_matches_schema(&stdout, "--env");
    let groups: Vec<&str> = graph["nodes"].as_array().expect("nodes").iter().filter_map(|n| n["group"].as_str()).collect();
    assert!(!groups.is_empty() && groups.iter().all(|g| *g == "omantel-retail-prod"), "{groups:?}");

    let (_, stdout, _) = catalyst(&[
        "graph",
        "sovereigns/omantel.omani.works",
        "--view",
        "blueprints",
        "--focus",
        "bp-wordpress",
        "--depth",
        "1",
        "-T",
        "json",
    ]);
    let graph = assert_matches_schema(&stdout, "--focus");
    let mut names: Vec<&str> = graph["nodes"].as_array().expect("nodes").iter().map(|n| n["name"].as_str().expect("name")).collect();
    names.sort();
    // Both bp-postgres versions in use satisfy bp-wordpress's `^1.4`.
    assert_eq!(names, ["bp-postgres", "bp-postgres", "bp-wordpress"], "bp-wordpress and its neighbours");
}

#[test]
fn the_kit_view_follows_the_emitted_slots() {
    for sovereign in example_sovereigns() {
        let fqdn = sovereign.file_name().expect("named").to_string_lossy().into_owned();
        let (_, stdout, _) = catalyst(&["graph", &format!("sovereigns/{fqdn}"), "--view", "kit", "-T", "json"]);
        let graph = assert_matches_schema(&stdout, "kit");
        let mut slots: Vec<String> = graph["nodes"]
            .as_array()
            .expect("nodes")
            .iter()
            .filter_map(|n| n["label"].as_str()?.lines().next().map(str::to_string))
            .collect();
        slots.sort();
        // Each region's cluster runs the kit releases of its building block, under their Sovereign-wide slots.
        let clusters = fs::read_dir(Path::new(&repo()).join(format!("golden/{fqdn}/clusters/{fqdn}"))).expect("golden clusters");
        let files: std::collections::BTreeSet<String> = clusters
            .filter_map(|cluster| fs::read_dir(cluster.ok()?.path().join("bootstrap-kit")).ok())
            .flatten()
            .filter_map(|e| e.ok()?.file_name().to_str()?.strip_suffix(".yaml").map(str::to_string))
            .filter(|name| name != "kustomization")
            .collect();
        let files: Vec<String> = files.into_iter().collect();
        assert_eq!(slots, files, "{fqdn}: the kit view's NN- slots are the emitted file names");
    }
}
