//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod git_daemon;

use std::path::{Path, PathBuf};

use catalyst::render::Output;
use catalyst::Compilation;

/// The repository root (the parent of `compiler/`).
pub fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).parent().expect("compiler/ has a parent").to_path_buf()
}

/// Every example Sovereign folder, sorted.
pub fn example_sovereigns() -> Vec<PathBuf> {
    let mut list: Vec<PathBuf> = std::fs::read_dir(repo().join("sovereigns"))
        .expect("sovereigns/ exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.join("sovereign.yaml").is_file())
        .collect();
    list.sort();
    list
}

/// Compiles a Sovereign and fails the test, with rendered diagnostics, on any error.
pub fn compile_ok(sovereign: &Path) -> (Compilation, Output) {
    let compilation = catalyst::compile(sovereign);
    let Some(output) = compilation.output.clone() else {
        panic!(
            "{} did not compile:\n{}",
            sovereign.display(),
            catalyst::report::human(&compilation.diagnostics, &compilation.sources, false)
        );
    };
    (compilation, output)
}
