//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod git_daemon;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use catalyst::pipeline::render::Output;
use catalyst::Compilation;

/// The repository root (the parent of `compiler/`).
/// Whether golden files are rewritten instead of compared: only with `CATALYST_BLESS=1`, so that
/// `CATALYST_BLESS=0` or an empty value can never make a comparison pass by rewriting it.
pub fn blessing() -> bool {
    std::env::var("CATALYST_BLESS").is_ok_and(|value| value == "1")
}

/// The files below `dir` (relative, `/`-separated) that are not in `produced`: golden files no
/// test produces any more. Blessing deletes them; a comparison fails on them.
pub fn stale_golden_files(dir: &Path, produced: &BTreeSet<PathBuf>) -> Vec<PathBuf> {
    let stale: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file() && !produced.contains(e.path()))
        .map(|e| e.path().to_path_buf())
        .collect();
    if blessing() {
        for path in &stale {
            std::fs::remove_file(path).expect("remove a stale golden file");
        }
        return Vec::new();
    }
    stale
}

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
            catalyst::diagnostic::format::human(&compilation.diagnostics, &compilation.sources, false)
        );
    };
    (compilation, output)
}

/// The bad-input suite; its `_base` is a small valid project that other suites start from too.
pub fn suite() -> PathBuf {
    repo().join("tests").join("bad-inputs")
}

/// A case's list of expected diagnostics (not part of the project it describes).
pub const EXPECTED: &str = "expected.txt";
const DELETE_SUFFIX: &str = ".delete";

/// Copies every file below `from` to the same relative path below `to`; a
/// file `<name>.delete` removes `<name>` instead. `expected.txt` is not copied.
fn overlay(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from).sort_by_file_name() {
        let entry = entry.expect("readable fixture entry");
        if !entry.file_type().is_file() || (entry.depth() == 1 && entry.file_name() == EXPECTED) {
            continue;
        }
        let relative = entry.path().strip_prefix(from).expect("below the fixture");
        let target = to.join(relative);
        if let Some(deleted) = relative.to_str().and_then(|r| r.strip_suffix(DELETE_SUFFIX)) {
            let deleted = to.join(deleted);
            assert!(deleted.exists(), "{} deletes {}, which _base does not have", entry.path().display(), deleted.display());
            if deleted.is_dir() {
                fs::remove_dir_all(&deleted).expect("remove overridden folder");
            } else {
                fs::remove_file(&deleted).expect("remove overridden file");
            }
            continue;
        }
        fs::create_dir_all(target.parent().expect("has a parent")).expect("create fixture folder");
        fs::copy(entry.path(), &target).expect("copy fixture file");
    }
}

/// `_base` with the case's files laid over it, in a fresh temporary folder.
pub fn materialize(case: Option<&Path>) -> tempfile::TempDir {
    let scratch = tempfile::tempdir().expect("temp dir");
    overlay(&suite().join("_base"), scratch.path());
    if let Some(case) = case {
        overlay(case, scratch.path());
    }
    scratch
}

/// The one Sovereign folder below `root/sovereigns/`.
pub fn sovereign_of(root: &Path) -> PathBuf {
    let found: Vec<PathBuf> = fs::read_dir(root.join("sovereigns"))
        .expect("the fixture has sovereigns/")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.is_dir())
        .collect();
    match found.as_slice() {
        [one] => one.clone(),
        _ => panic!("expected exactly one folder in {}/sovereigns, found {found:?}", root.display()),
    }
}

/// The `catalyst` binary of this build.
pub fn catalyst_command() -> Command {
    Command::new(env!("CARGO_BIN_EXE_catalyst"))
}

/// Every file below `dir` (symbolic links as `-> target`), by `/`-separated relative path.
pub fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    walkdir::WalkDir::new(dir)
        .min_depth(1)
        .sort_by_file_name()
        .into_iter()
        .map(|e| e.expect("readable entry"))
        .filter(|e| !e.file_type().is_dir())
        .map(|e| {
            let relative = e.path().strip_prefix(dir).expect("below dir").to_string_lossy().replace('\\', "/");
            let bytes = if e.file_type().is_symlink() {
                format!("-> {}", fs::read_link(e.path()).expect("readable link").display()).into_bytes()
            } else {
                fs::read(e.path()).expect("readable file")
            };
            (relative, bytes)
        })
        .collect()
}

/// Copies every file below `from` to the same relative path below `to`.
pub fn copy_tree(from: &Path, to: &Path) {
    for entry in walkdir::WalkDir::new(from).sort_by_file_name() {
        let entry = entry.expect("readable");
        let target = to.join(entry.path().strip_prefix(from).expect("below"));
        if entry.file_type().is_dir() {
            fs::create_dir_all(&target).expect("mkdir");
        } else {
            fs::copy(entry.path(), &target).expect("copy");
        }
    }
}
