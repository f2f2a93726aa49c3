//! Nothing is lost when a build fails or is killed. A first build's folder
//! appears complete or not at all; a rebuild replaces only the files that
//! change, each one old or new at every instant, and a tree that is not
//! exactly the old or the new one holds the journal that says so.
//!
//! The kill loop starts `catalyst build` on the input whose tree is not on disk
//! and SIGKILLs it after a pseudo-random delay (a fixed-seed xorshift), then
//! compares the folder file by file with the two complete trees computed in
//! process. It asserts that kills of running builds landed on both sides of
//! the point of no return (the journal written before the first file is
//! replaced): some left the previous tree untouched, some a journaled tree.
//! Every unfinished tree is refused by the commands that read built trees, and
//! the next build, of either input, converges.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use catalyst::pipeline::emit::{CACHE, JOURNAL};
use common::{catalyst_command, compile_ok, materialize, snapshot, sovereign_of};

const ORGANIZATION: &str = "sovereigns/base.example.com/organizations/acme.yaml";
/// A file the compiler did not write: every tree must carry it over.
const FOREIGN: &str = "NOTES.md";
const ITERATIONS: usize = 30;

type Tree = BTreeMap<String, Vec<u8>>;

/// The Organization of `_base` with `count` more Applications, so that a build
/// writes enough files for a kill to land in the middle of it.
fn organization(base: &str, count: usize, tier: &str) -> String {
    let mut text = base.replace("tier: gold", &format!("tier: {tier}"));
    for i in 0..count {
        text.push_str(&format!("    - {{name: app{i}, blueprint: bp-app, config: {{hostname: app{i}.{tier}.example, tier: {tier}}}}}\n"));
    }
    text
}

/// The complete tree a build of the project as it is now leaves in a folder holding `FOREIGN`.
fn expected_tree(sovereign: &Path) -> Tree {
    let (_, output) = compile_ok(sovereign);
    let scratch = tempfile::tempdir().expect("temp dir");
    let dir = scratch.path().join("out");
    fs::create_dir_all(&dir).expect("mkdir");
    fs::write(dir.join(FOREIGN), "kept\n").expect("foreign file");
    catalyst::pipeline::emit::emit(&output, &dir).expect("emit");
    let tree = files(&dir);
    for (path, bytes) in &output.files {
        assert_eq!(tree.get(path), Some(bytes), "{path} on disk differs from the compiled output");
    }
    tree
}

/// The tree below `dir` without the render cache, which names the executable that wrote it
/// (here the test and the binary write trees of the same files).
fn files(dir: &Path) -> Tree {
    let mut tree = snapshot(dir);
    tree.remove(CACHE);
    tree
}

/// xorshift64: deterministic delays without a dependency.
struct Rng(u64);

impl Rng {
    fn below(&mut self, bound: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % bound.max(1)
    }
}

#[test]
fn killed_rebuilds_leave_each_file_old_or_new_and_mark_the_tree() {
    let project = materialize(None);
    let sovereign = sovereign_of(project.path());
    // Where `check` run from the project looks for the previous lock.
    let out = project.path().join("out/base.example.com");
    let org_path = project.path().join(ORGANIZATION);
    let base = fs::read_to_string(&org_path).expect("organization");
    let inputs = [organization(&base, 40, "gold"), organization(&base, 45, "silver")];
    let trees: Vec<Tree> = inputs
        .iter()
        .map(|text| {
            fs::write(&org_path, text).expect("write organization");
            expected_tree(&sovereign)
        })
        .collect();
    assert_ne!(trees[0], trees[1]);

    let build = || {
        let mut command = catalyst_command();
        command.arg("build").arg(&sovereign).arg("-o").arg(&out).stdout(Stdio::null()).stderr(Stdio::null());
        command
    };
    fs::create_dir_all(&out).expect("mkdir");
    fs::write(out.join(FOREIGN), "kept\n").expect("foreign file");
    fs::write(&org_path, &inputs[0]).expect("write organization");
    let started = Instant::now();
    assert!(build().status().expect("runs").success());
    let window = started.elapsed().as_millis() as u64;
    assert_eq!(files(&out), trees[0]);

    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut current = 0;
    // Kills that hit a running build: [left the previous tree untouched, left it journaled or new].
    let mut outcomes = [0usize; 2];
    let mut readers_told = false;
    let mut iteration = 0;
    while iteration < ITERATIONS || (outcomes.contains(&0) && iteration < 4 * ITERATIONS) {
        iteration += 1;
        // Always the other input, so that every kill says on which side it landed.
        let wanted = 1 - current;
        fs::write(&org_path, &inputs[wanted]).expect("write organization");
        let mut child = build().spawn().expect("spawn catalyst");
        // First a sweep over the whole build; then, if one side has no kill yet, aim at it:
        // early for "before", and for "after" the moment the journal appears.
        match (iteration <= ITERATIONS, outcomes) {
            (true, _) => std::thread::sleep(Duration::from_millis(rng.below(window))),
            (false, [0, _]) => std::thread::sleep(Duration::from_millis(rng.below(window / 3))),
            (false, _) => {
                while !out.join(JOURNAL).exists() && child.try_wait().expect("poll the build").is_none() {
                    std::thread::sleep(Duration::from_micros(50));
                }
            }
        }
        let running = child.try_wait().expect("poll the build").is_none();
        let _ = child.kill();
        child.wait().expect("reap");
        let found = files(&out);
        let journaled = found.contains_key(JOURNAL);
        assert_each_file_old_or_new(&found, &trees[current], &trees[wanted], iteration);
        assert!(
            journaled || found == trees[current] || found == trees[wanted],
            "iteration {iteration}: a tree that is neither the previous nor the new one has no journal"
        );
        if running {
            outcomes[usize::from(journaled || found == trees[wanted])] += 1;
        }
        if journaled {
            if !readers_told {
                assert_readers_are_told(project.path(), &sovereign, &out);
                readers_told = true;
            }
            // The next build finishes the tree, towards either input.
            let target = if iteration % 2 == 0 { wanted } else { current };
            fs::write(&org_path, &inputs[target]).expect("write organization");
            assert!(build().status().expect("runs").success(), "the build after a kill");
            assert_eq!(files(&out), trees[target], "iteration {iteration}: the build after a kill converges");
            current = target;
        } else if found == trees[wanted] {
            current = wanted;
        }
    }
    eprintln!("{iteration} kills within {window} ms: {} left the previous tree, {} a journaled or new one", outcomes[0], outcomes[1]);
    assert!(outcomes[0] > 0, "no kill landed before the journal: {outcomes:?}");
    assert!(outcomes[1] > 0, "no kill of a running build landed after the journal: {outcomes:?}");
    assert!(readers_told, "no kill left a journaled tree to show to the readers");

    fs::write(&org_path, &inputs[1 - current]).expect("write organization");
    assert!(build().status().expect("runs").success(), "an uninterrupted build after the kills");
    assert_eq!(files(&out), trees[1 - current], "the final build converges");
    assert!(!project.path().join("out/.base.example.com.catalyst-staging").exists(), "the staging folder is cleaned up");
}

/// Every path holds its content in one of the two trees (or is absent from it), the journal aside.
fn assert_each_file_old_or_new(found: &Tree, old: &Tree, new: &Tree, iteration: usize) {
    let paths: BTreeSet<&String> = found.keys().chain(old.keys()).chain(new.keys()).filter(|p| *p != JOURNAL).collect();
    for path in paths {
        let on_disk = found.get(path);
        assert!(
            on_disk == old.get(path) || on_disk == new.get(path),
            "iteration {iteration}: `{path}` is neither its old nor its new content"
        );
    }
}

/// `apply`, `lint --built`, `build --check` and `check` all say that the tree's build did not finish.
fn assert_readers_are_told(project: &Path, sovereign: &Path, out: &Path) {
    let problem = catalyst::ops::apply::read_built(out).expect_err("apply refuses an unfinished tree");
    assert_eq!(problem.code.id, "catalyst::io::interrupted");
    let lint = catalyst_command().arg("lint").arg("--built").arg(out).output().expect("runs");
    assert_eq!(lint.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&lint.stderr).contains("catalyst::io::interrupted"),
        "lint --built: {}",
        String::from_utf8_lossy(&lint.stderr)
    );
    let stale = catalyst_command().arg("build").arg(sovereign).arg("-o").arg(out).arg("--check").output().expect("runs");
    assert_eq!(stale.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&stale.stdout).contains(&format!("stale: {}", out.join(JOURNAL).display())));
    let check = catalyst_command().current_dir(project).arg("check").arg(sovereign).output().expect("runs");
    let said = String::from_utf8_lossy(&check.stderr);
    assert!(said.contains("catalyst::io::interrupted") && said.contains("upgrade paths"), "check: {said}");
}

#[test]
fn a_killed_first_build_leaves_no_folder_or_the_whole_tree() {
    let project = materialize(None);
    let sovereign = sovereign_of(project.path());
    let out = project.path().join("out");
    let (_, output) = compile_ok(&sovereign);
    let build = || {
        let mut command = catalyst_command();
        command.arg("build").arg(&sovereign).arg("-o").arg(&out).stdout(Stdio::null()).stderr(Stdio::null());
        command
    };
    let started = Instant::now();
    assert!(build().status().expect("runs").success());
    let window = started.elapsed().as_millis() as u64;
    let tree = files(&out);
    for (path, bytes) in &output.files {
        assert_eq!(tree.get(path), Some(bytes), "{path}");
    }
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut outcomes = [0usize; 2];
    for _ in 0..ITERATIONS {
        if out.exists() {
            fs::remove_dir_all(&out).expect("remove the tree");
        }
        let mut child = build().spawn().expect("spawn catalyst");
        std::thread::sleep(Duration::from_millis(rng.below(window)));
        let running = child.try_wait().expect("poll the build").is_none();
        let _ = child.kill();
        child.wait().expect("reap");
        let complete = out.exists();
        if complete {
            assert_eq!(files(&out), tree, "a first build's folder is the whole tree");
        }
        if running {
            outcomes[usize::from(complete)] += 1;
        }
    }
    eprintln!("{ITERATIONS} kills within {window} ms: {} left no folder, {} the whole tree", outcomes[0], outcomes[1]);
    // The rename that publishes the folder is the build's last step: kills land before it.
    assert!(outcomes[0] > 0, "no kill landed in a running first build: {outcomes:?}");
    assert!(build().status().expect("runs").success());
    assert_eq!(files(&out), tree, "the build after the kills converges");
}

#[test]
fn a_failed_build_leaves_the_previous_output_intact() {
    let project = materialize(None);
    let sovereign = sovereign_of(project.path());
    let out = project.path().join("out");
    let build = || catalyst_command().arg("build").arg(&sovereign).arg("-o").arg(&out).output().expect("runs");
    assert_eq!(build().status.code(), Some(0));
    let before = files(&out);
    let org_path = project.path().join(ORGANIZATION);
    let broken = fs::read_to_string(&org_path).expect("organization").replace("tier: gold", "tier: platinum");
    fs::write(&org_path, broken).expect("write organization");
    assert_eq!(build().status.code(), Some(1));
    assert_eq!(files(&out), before);
}
