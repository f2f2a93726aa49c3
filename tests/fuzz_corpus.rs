//! Replays every committed fuzz input through the fuzz targets' own code in a
//! plain `cargo test` (no libFuzzer): the minimized corpora in
//! `fuzz/corpus/<target>/` and the crash reproducers in
//! `tests/fuzz-regressions/<target>/`. Any panic fails the test.

mod common;

#[path = "../fuzz/src/lib.rs"]
mod targets;

use std::fs;
use std::panic::{catch_unwind, AssertUnwindSafe};

use common::repo;

/// Runs every input of `target`; returns how many there were.
fn replay(target: &str, run: fn(&[u8])) -> usize {
    let folders = [repo().join("fuzz/corpus").join(target), repo().join("tests/fuzz-regressions").join(target)];
    let mut inputs: Vec<_> = folders.iter().filter_map(|dir| fs::read_dir(dir).ok()).flatten().map(|e| e.expect("entry").path()).collect();
    inputs.sort();
    let failures: Vec<String> = inputs
        .iter()
        .filter(|path| {
            let data = fs::read(path).expect("readable input");
            catch_unwind(AssertUnwindSafe(|| run(&data))).is_err()
        })
        .map(|path| path.display().to_string())
        .collect();
    assert!(failures.is_empty(), "{target}: {} inputs panicked:\n{}", failures.len(), failures.join("\n"));
    inputs.len()
}

#[test]
fn yaml_input_corpus() {
    assert!(replay("yaml_input", targets::yaml_input) > 0);
}

#[test]
fn config_schema_corpus() {
    assert!(replay("config_schema", targets::config_schema) > 0);
}

#[test]
fn template_corpus() {
    assert!(replay("template", targets::template) > 0);
}

#[test]
fn compile_corpus() {
    assert!(replay("compile", targets::compile) > 0);
}

#[test]
fn crds_corpus() {
    assert!(replay("crds", targets::crds) > 0);
}

#[test]
fn graph_corpus() {
    assert!(replay("graph", targets::graph) > 0);
}

#[test]
fn reconcile_corpus() {
    assert!(replay("reconcile", targets::reconcile) > 0);
}
