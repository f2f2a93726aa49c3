//! Nothing is lost when a build fails or is killed: the output folder always
//! holds either the previous complete tree or the new one, byte for byte.
//!
//! The kill loop starts `catalyst build` on the input whose tree is not on disk
//! and SIGKILLs it after a pseudo-random delay (a fixed-seed xorshift), then
//! compares the folder with the two complete trees computed in process. It
//! asserts that kills of running builds landed on both sides of the swap: some
//! left the previous tree, some the new one.

mod common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

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
    let tree = snapshot(&dir);
    for (path, bytes) in &output.files {
        assert_eq!(tree.get(path), Some(bytes), "{path} on disk differs from the compiled output");
    }
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
fn killed_builds_leave_the_old_or_the_new_tree() {
    let project = materialize(None);
    let sovereign = sovereign_of(project.path());
    let out = project.path().join("out");
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
    assert_eq!(snapshot(&out), trees[0]);

    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut current = 0;
    // Kills that hit a running build: [left the previous tree, left the new one].
    let mut outcomes = [0usize; 2];
    let mut iteration = 0;
    while iteration < ITERATIONS || (outcomes.contains(&0) && iteration < 4 * ITERATIONS) {
        iteration += 1;
        // Always the other input, so that every kill says on which side of the swap it landed.
        let wanted = 1 - current;
        fs::write(&org_path, &inputs[wanted]).expect("write organization");
        let mut child = build().spawn().expect("spawn catalyst");
        // First a sweep over the whole build; then, if one side has no kill yet, aim at it:
        // early for "before", and for "after" the moment the output folder is another one (the
        // swap exchanged it), while the build still removes the old tree.
        match (iteration <= ITERATIONS, outcomes) {
            (true, _) => std::thread::sleep(Duration::from_millis(rng.below(window))),
            (false, [0, _]) => std::thread::sleep(Duration::from_millis(rng.below(window / 3))),
            (false, _) => {
                let folder = || fs::metadata(&out).map(|m| m.ino()).ok();
                let before = folder();
                while folder() == before && child.try_wait().expect("poll the build").is_none() {
                    std::thread::sleep(Duration::from_micros(50));
                }
            }
        }
        let running = child.try_wait().expect("poll the build").is_none();
        let _ = child.kill();
        child.wait().expect("reap");
        let found = snapshot(&out);
        let matches = |i: usize| found == trees[i];
        assert!(
            matches(current) || matches(wanted),
            "iteration {iteration}: the output is neither the previous tree nor the new one ({} files)",
            found.len()
        );
        if matches(wanted) {
            current = wanted;
        }
        if running {
            outcomes[usize::from(current == wanted)] += 1;
        }
    }
    eprintln!("{iteration} kills within {window} ms: {} left the previous tree, {} the new one", outcomes[0], outcomes[1]);
    assert!(outcomes[0] > 0, "no kill landed before the swap: {outcomes:?}");
    assert!(outcomes[1] > 0, "no kill of a running build landed after the swap: {outcomes:?}");

    fs::write(&org_path, &inputs[1 - current]).expect("write organization");
    assert!(build().status().expect("runs").success(), "an uninterrupted build after the kills");
    assert_eq!(snapshot(&out), trees[1 - current], "the final build converges");
    assert!(!project.path().join(".out.catalyst-staging").exists(), "the staging folder is cleaned up");
}

#[test]
fn a_failed_build_leaves_the_previous_output_intact() {
    let project = materialize(None);
    let sovereign = sovereign_of(project.path());
    let out = project.path().join("out");
    let build = || catalyst_command().arg("build").arg(&sovereign).arg("-o").arg(&out).output().expect("runs");
    assert_eq!(build().status.code(), Some(0));
    let before = snapshot(&out);
    let org_path = project.path().join(ORGANIZATION);
    let broken = fs::read_to_string(&org_path).expect("organization").replace("tier: gold", "tier: platinum");
    fs::write(&org_path, broken).expect("write organization");
    assert_eq!(build().status.code(), Some(1));
    assert_eq!(snapshot(&out), before);
}
