//! The real binary, driven as a user would: exit codes, output location,
//! idempotent rebuilds, pruning, foreign files and `build --check`.

mod common;

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use common::{example_sovereigns, repo};

fn catalyst(args: &[&str], cwd: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_catalyst")).args(args).current_dir(cwd).output().expect("the catalyst binary runs")
}

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn check_passes_on_the_examples() {
    for sovereign in example_sovereigns() {
        let out = catalyst(&["check", sovereign.to_str().expect("utf-8 path")], &repo());
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    }
}

#[test]
fn build_is_idempotent_prunes_its_own_files_and_keeps_foreign_ones() {
    let sovereign = &example_sovereigns()[0];
    let scratch = tempfile::tempdir().expect("temp dir");
    let out_dir = scratch.path().join("out");
    let args = ["build", sovereign.to_str().expect("utf-8"), "-o", out_dir.to_str().expect("utf-8")];

    let first = catalyst(&args, &repo());
    assert_eq!(first.status.code(), Some(0), "{}", stderr(&first));
    assert!(stderr(&first).contains("0 unchanged"), "{}", stderr(&first));
    let lock = out_dir.join("catalyst.lock");
    let before = fs::metadata(&lock).expect("lock written").modified().expect("mtime");

    // A file the compiler never produced, and a stale file it did produce once.
    fs::write(out_dir.join("NOTES.md"), "kept\n").expect("write foreign file");
    let stale = out_dir.join("repos/stale-org/app/main/values.yaml");
    fs::create_dir_all(stale.parent().expect("parent")).expect("mkdir");
    fs::write(&stale, "old: true\n").expect("write stale file");
    let mut manifest = fs::read_to_string(out_dir.join(".catalyst-manifest")).expect("manifest");
    manifest.push_str("repos/stale-org/app/main/values.yaml\n");
    fs::write(out_dir.join(".catalyst-manifest"), manifest).expect("extend manifest");

    let second = catalyst(&args, &repo());
    assert_eq!(second.status.code(), Some(0), "{}", stderr(&second));
    assert!(stderr(&second).contains("0 written") && stderr(&second).contains("1 removed"), "{}", stderr(&second));
    assert!(!stale.exists(), "the stale file was pruned");
    assert_eq!(fs::read_to_string(out_dir.join("NOTES.md")).expect("foreign file kept"), "kept\n");
    assert_eq!(fs::metadata(&lock).expect("lock").modified().expect("mtime"), before, "unchanged files are not rewritten");

    let third = catalyst(&args, &repo());
    assert!(stderr(&third).contains("0 written") && stderr(&third).contains("0 removed"), "{}", stderr(&third));
}

#[test]
fn build_check_lists_stale_files_and_fails() {
    let sovereign = &example_sovereigns()[0];
    let scratch = tempfile::tempdir().expect("temp dir");
    let out_dir = scratch.path().join("out");
    let path = sovereign.to_str().expect("utf-8");
    let out = out_dir.to_str().expect("utf-8");
    assert_eq!(catalyst(&["build", path, "-o", out], &repo()).status.code(), Some(0));
    assert_eq!(catalyst(&["build", path, "-o", out, "--check"], &repo()).status.code(), Some(0));
    fs::write(out_dir.join("catalyst.lock"), "tampered\n").expect("tamper");
    let check = catalyst(&["build", path, "-o", out, "--check"], &repo());
    assert_eq!(check.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&check.stdout).contains("catalyst.lock"));
    assert_eq!(fs::read_to_string(out_dir.join("catalyst.lock")).expect("lock"), "tampered\n", "--check writes nothing");
}

#[test]
fn exit_codes_follow_the_design() {
    let missing = catalyst(&["check", "does/not/exist"], &repo());
    assert_eq!(missing.status.code(), Some(2), "an unreadable input is an I/O failure");
    let usage = catalyst(&["build"], &repo());
    assert_eq!(usage.status.code(), Some(2), "a usage error");
    let explain = catalyst(&["explain", "resolve::cycle"], &repo());
    assert_eq!(explain.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&explain.stdout).starts_with("catalyst::resolve::cycle"));
}

/// Codes are typed constants (`codes::IO_READ`, `lint::rules::NAME_PREFIX`), each with its
/// explanation: a code written as a bare string elsewhere could name nothing `explain` knows.
#[test]
fn every_code_is_a_typed_constant_with_an_explanation() {
    let sources =
        walkdir::WalkDir::new(repo().join("compiler/src")).into_iter().map(|e| e.expect("entry")).filter(|e| e.file_type().is_file());
    for entry in sources {
        if entry.path().ends_with("codes.rs") || entry.path().ends_with("lint/rules.rs") {
            continue;
        }
        let text = fs::read_to_string(entry.path()).expect("source readable");
        let bare: Vec<&str> = text.lines().filter(|line| line.contains("\"catalyst::") && !line.trim_start().starts_with("//")).collect();
        assert!(bare.is_empty(), "{} writes codes as strings: {bare:#?}", entry.path().display());
    }
    let mut seen = std::collections::HashSet::new();
    for code in catalyst::diagnostic::codes::all() {
        assert!(seen.insert(code.id), "`{}` is defined twice", code.id);
        let parts: Vec<&str> = code.id.split("::").collect();
        assert!(parts.len() == 3 && parts[0] == "catalyst", "`{}` is not catalyst::<area>::<name>", code.id);
        assert!(!code.summary.is_empty() && !code.explanation.is_empty(), "`{}` is not explained", code.id);
        assert_eq!(catalyst::diagnostic::codes::find(code.id), Some(code));
    }
}

#[test]
fn check_without_arguments_checks_every_sovereign_here() {
    let all = catalyst(&["check"], &repo());
    assert_eq!(all.status.code(), Some(0), "{}", stderr(&all));
    let empty = tempfile::tempdir().expect("temp dir");
    let none = catalyst(&["check"], empty.path());
    assert_eq!(none.status.code(), Some(2), "no Sovereign to check is a usage failure");
    assert!(stderr(&none).contains("no Sovereign"), "{}", stderr(&none));
}

#[test]
fn completions_and_the_man_page_are_generated_from_the_cli() {
    let scratch = tempfile::tempdir().expect("temp dir");
    for shell in ["bash", "zsh", "fish", "elvish", "powershell"] {
        let out = catalyst(&["completions", shell], &repo());
        assert_eq!(out.status.code(), Some(0), "{shell}: {}", stderr(&out));
        let script = String::from_utf8_lossy(&out.stdout);
        assert!(script.contains("catalyst") && script.contains("lint") && script.contains("explain"), "{shell}: {script}");
        if shell == "bash" {
            let file = scratch.path().join("catalyst.bash");
            fs::write(&file, script.as_bytes()).expect("write");
            let syntax = Command::new("bash").arg("-n").arg(&file).output().expect("bash runs");
            assert!(syntax.status.success(), "bash -n: {}", String::from_utf8_lossy(&syntax.stderr));
        }
    }
    let man = catalyst(&["man"], &repo());
    assert_eq!(man.status.code(), Some(0), "{}", stderr(&man));
    let page = scratch.path().join("catalyst.1");
    fs::write(&page, &man.stdout).expect("write");
    // groff parses the roff (-z: no output) and, with -ww, warns about anything malformed.
    let parsed = Command::new("groff")
        .args(["-man", "-Tutf8", "-z", "-ww"])
        .arg(&page)
        .output()
        .expect("groff runs (scripts/install-test-tools.sh)");
    assert!(parsed.status.success() && parsed.stderr.is_empty(), "groff: {}", String::from_utf8_lossy(&parsed.stderr));
    // -P -cbou: plain text, no overstriking for bold and underline.
    let rendered = Command::new("groff").args(["-man", "-Tutf8", "-P", "-cbou"]).arg(&page).output().expect("groff runs");
    let text = String::from_utf8_lossy(&rendered.stdout);
    assert!(text.contains("SYNOPSIS") && text.contains("lint") && text.contains("completions"), "{text}");
}

/// A GitRepository CRD of a release that knows no `spec.ref`: objects that use it do not conform.
const OLD_GIT_REPOSITORY_CRD: &str = "apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: gitrepositories.source.toolkit.fluxcd.io}
spec:
  group: source.toolkit.fluxcd.io
  scope: Namespaced
  names: {kind: GitRepository, plural: gitrepositories}
  versions:
    - name: v1
      served: true
      storage: true
      schema:
        openAPIV3Schema:
          type: object
          properties:
            spec:
              type: object
              required: [url]
              properties:
                interval: {type: string}
                url: {type: string}
";

/// The bad-input base project, with `files` written into it.
fn base_project(files: &[(&str, &str)]) -> tempfile::TempDir {
    let scratch = tempfile::tempdir().expect("temp dir");
    common::copy_tree(&repo().join("tests/bad-inputs/_base"), scratch.path());
    for (path, text) in files {
        let path = scratch.path().join(path);
        fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        fs::write(path, text).expect("write");
    }
    scratch
}

fn json_report(output: &Output) -> serde_json::Value {
    serde_json::from_slice(&output.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {}", stderr(output)))
}

/// (code, path, line) of every diagnostic of a JSON report.
fn located(report: &serde_json::Value) -> Vec<(String, String, u64)> {
    let list = report["diagnostics"].as_array().cloned().unwrap_or_default();
    list.iter()
        .map(|d| {
            let label = d["labels"].as_array().and_then(|l| l.iter().find(|l| l["primary"] == true).cloned()).unwrap_or_default();
            (
                d["code"].as_str().unwrap_or_default().into(),
                label["file"].as_str().unwrap_or_default().into(),
                label["line"].as_u64().unwrap_or(0),
            )
        })
        .collect()
}

#[test]
fn catalyst_toml_names_the_crds_check_and_build_validate_against() {
    let toml = "[check]\ncrds = [\"crds\"]\nignore-missing-schemas = true\n";
    let project = base_project(&[("catalyst.toml", toml), ("crds/gitrepository.yaml", OLD_GIT_REPOSITORY_CRD)]);
    let sovereign = "sovereigns/base.example.com";
    let checked = catalyst(&["--format", "json", "check", sovereign], project.path());
    assert_eq!(checked.status.code(), Some(1), "{}", stderr(&checked));
    let found = located(&json_report(&checked));
    assert!(!found.is_empty() && found.iter().all(|(code, _, _)| code == "catalyst::conform::unknown-field"), "{found:?}");
    let expected = (
        "catalyst::conform::unknown-field".to_string(),
        "out/base.example.com/clusters/base.example.com/hz-fsn-rtz-prod/organizations/acme/acme-prod/web.yaml".to_string(),
        9,
    );
    assert!(found.contains(&expected), "the `ref:` of web's GitRepository, at its line: {found:?}");

    let built = catalyst(&["build", sovereign], project.path());
    assert_eq!(built.status.code(), Some(1), "{}", stderr(&built));
    assert!(stderr(&built).contains("unknown field `ref`") && stderr(&built).contains("emitted for this"), "{}", stderr(&built));
    assert!(!project.path().join("out").exists(), "nothing is written when the output does not conform");
}

#[test]
fn crds_that_cannot_be_read_are_reported() {
    let project = base_project(&[("crds/notes.yaml", "just: notes\n"), ("catalyst.toml", "[check]\ncrd = []\n")]);
    let sovereign = "sovereigns/base.example.com";
    let missing = catalyst(&["--format", "json", "check", "--config", "/dev/null", "--crds", "nowhere", sovereign], project.path());
    assert_eq!(missing.status.code(), Some(2), "a path that does not exist is a usage error: {}", stderr(&missing));
    assert!(located(&json_report(&missing)).iter().any(|(code, _, _)| code == "catalyst::io::not-found"));

    let empty = catalyst(&["--format", "json", "check", "--config", "/dev/null", "--crds", "crds", sovereign], project.path());
    assert_eq!(empty.status.code(), Some(1), "{}", stderr(&empty));
    assert!(located(&json_report(&empty)).iter().any(|(code, _, _)| code == "catalyst::conform::crds"));

    let typo = catalyst(&["--format", "json", "check", sovereign], project.path());
    assert_eq!(typo.status.code(), Some(1), "{}", stderr(&typo));
    let found = located(&json_report(&typo));
    assert!(found.contains(&("catalyst::toml::invalid".into(), "catalyst.toml".into(), 2)), "{found:?}");
}

#[test]
fn a_reader_that_goes_away_ends_the_output_quietly() {
    for args in [&["man"][..], &["explain", "catalyst::yaml::syntax"], &["graph", "sovereigns/omantel.omani.works"]] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_catalyst"))
            .args(args)
            .current_dir(repo())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("catalyst runs");
        // `catalyst … | head -0`: the pipe is closed before anything is written.
        drop(child.stdout.take());
        let out = child.wait_with_output().expect("catalyst ends");
        assert_eq!(out.status.code(), Some(0), "{args:?}: {}", stderr(&out));
        assert!(!stderr(&out).contains("panicked"), "{args:?}: {}", stderr(&out));
    }
}

#[test]
fn diagnostics_to_a_reader_that_goes_away_keep_their_exit_code() {
    // 400 Applications of a Blueprint that does not exist: far more than a pipe holds (64 KiB).
    let mut organization = String::from(
        "apiVersion: catalyst.openova.io/v1alpha1\nkind: Organization\nmetadata:\n  name: acme\nspec:\n  environments:\n    - type: prod\n      regions: [hz-fsn-rtz-prod]\n  applications:\n",
    );
    for i in 0..400 {
        organization.push_str(&format!("    - name: app-{i:03}\n      blueprint: bp-missing-{i:03}\n"));
    }
    let project = base_project(&[("sovereigns/base.example.com/organizations/acme.yaml", &organization)]);
    let full = catalyst(&["check", "sovereigns/base.example.com"], project.path());
    assert!(full.stderr.len() > 64 * 1024, "the diagnostics fill a pipe: {} bytes", full.stderr.len());
    let mut child = Command::new(env!("CARGO_BIN_EXE_catalyst"))
        .args(["check", "sovereigns/base.example.com"])
        .current_dir(project.path())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("catalyst runs");
    // `catalyst check 2>&1 | head -1`: the reader reads one line and goes away.
    let mut stderr = child.stderr.take().expect("stderr piped");
    let mut first = [0u8; 64];
    let read = std::io::Read::read(&mut stderr, &mut first).expect("read the first bytes");
    assert!(read > 0);
    drop(stderr);
    let status = child.wait().expect("catalyst ends");
    assert_eq!(status.code(), full.status.code(), "the exit code says what the diagnostics say, not that the writer panicked");
    assert_eq!(status.code(), Some(1));
}

#[test]
fn build_writes_to_out_fqdn_by_default() {
    // The Sovereign's folder is not named after its FQDN (a warning): the output still is.
    let project = base_project(&[]);
    fs::rename(project.path().join("sovereigns/base.example.com"), project.path().join("sovereigns/renamed")).expect("rename");
    let out = catalyst(&["build", "sovereigns/renamed"], project.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(project.path().join("out/base.example.com/clusters/base.example.com").is_dir(), "{}", stderr(&out));
    assert!(!project.path().join("out/renamed").exists());
}

#[test]
fn expressions_and_templates_see_the_same_application_namespace() {
    // `application.namespace` is the Environment's namespace in `when` as it is in templates.
    let project = base_project(&[]);
    let blueprint = project.path().join("blueprints/app/blueprint.yaml");
    let text = fs::read_to_string(&blueprint).expect("read bp-app");
    let text = text.replace("when: \"{{ .config.tier != 'bronze' }}\"", "when: \"{{ .application.namespace == 'acme-prod' }}\"");
    assert!(text.contains("application.namespace"), "the base bp-app still has its `when`");
    fs::write(&blueprint, text).expect("write bp-app");
    let out = catalyst(&["build", "sovereigns/base.example.com", "-o", "out"], project.path());
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let web = fs::read_to_string(project.path().join("out/system/catalyst-config/applications/acme-prod/web.yaml")).expect("web's CR");
    assert!(web.contains("dependsOn:\n    - name: main-db\n      namespace: acme-prod"), "the dependency's `when` held:\n{web}");
}

/// `check` holds version changes to their upgrade paths against the lock of the tree `build`
/// writes (`out/<fqdn>/catalyst.lock` below the working directory): a lock saying the shop ran
/// bp-wordpress 1.0.0 makes the move to 1.3.0 (which upgrades only from 1.2.x) an error at the
/// shop's version requirement; without a lock there is nothing to compare with.
#[test]
fn check_holds_version_changes_to_the_lock_of_the_built_tree() {
    let work = tempfile::tempdir().expect("temp dir");
    let sovereign = repo().join("sovereigns/sme.openova.cloud");
    let sovereign = sovereign.to_str().expect("UTF-8 path");
    let clean = catalyst(&["check", sovereign], work.path());
    assert_eq!(clean.status.code(), Some(0), "{}", stderr(&clean));
    let lock = work.path().join("out/sme.openova.cloud/catalyst.lock");
    fs::create_dir_all(lock.parent().expect("parent")).expect("mkdir");
    fs::write(&lock, "lockVersion: 1\nblueprints:\n  - {name: bp-wordpress, version: 1.0.0, usedBy: [greenleaf-books-prod/shop]}\n")
        .expect("write lock");
    let held = catalyst(&["check", sovereign], work.path());
    let text = stderr(&held);
    assert_eq!(held.status.code(), Some(1), "{text}");
    assert!(
        text.contains("catalyst::upgrade::skipped") && text.contains("greenleaf-books-prod/shop moves from bp-wordpress 1.0.0"),
        "{text}"
    );
    assert!(text.contains("greenleaf-books.yaml:25"), "at the shop's version requirement: {text}");
}

/// Every file of a tree by path: its inode and change time, which any write or rename moves.
fn identities(dir: &Path) -> std::collections::BTreeMap<String, (u64, i64, i64)> {
    use std::os::unix::fs::MetadataExt;
    walkdir::WalkDir::new(dir)
        .into_iter()
        .map(|e| e.expect("readable entry"))
        .filter(|e| e.file_type().is_file())
        .map(|e| {
            let meta = e.metadata().expect("metadata");
            let relative = e.path().strip_prefix(dir).expect("below dir").to_string_lossy().into_owned();
            (relative, (meta.ino(), meta.ctime(), meta.ctime_nsec()))
        })
        .collect()
}

/// The bad-input base project, a build command for it, and its Organization's path.
fn buildable_base() -> (tempfile::TempDir, Vec<String>, std::path::PathBuf) {
    let project = base_project(&[]);
    let sovereign = common::sovereign_of(project.path());
    let out = project.path().join("out");
    let args = vec!["build".into(), sovereign.display().to_string(), "-o".into(), out.display().to_string()];
    let org = sovereign.join("organizations/acme.yaml");
    (project, args, org)
}

/// `catalyst` with `args` and then `extra`.
fn catalyst_with(args: &[String], extra: &[&str], cwd: &Path) -> Output {
    let all: Vec<&str> = args.iter().map(String::as_str).chain(extra.iter().copied()).collect();
    catalyst(&all, cwd)
}

fn build(args: &[String], cwd: &Path) -> String {
    let run = catalyst_with(args, &[], cwd);
    assert_eq!(run.status.code(), Some(0), "{}", stderr(&run));
    stderr(&run)
}

fn edit(path: &Path, from: &str, to: &str) {
    let text = fs::read_to_string(path).expect("readable");
    assert!(text.contains(from), "{} holds `{from}`", path.display());
    fs::write(path, text.replace(from, to)).expect("writable");
}

#[test]
fn a_rebuild_touches_only_the_files_whose_bytes_change() {
    let (project, args, org) = buildable_base();
    let out = project.path().join("out");
    build(&args, project.path());
    let before_files = common::snapshot(&out);
    let before = identities(&out);
    edit(&org, "hostname: web.acme.example", "hostname: www.acme.example");
    let said = build(&args, project.path());
    let after_files = common::snapshot(&out);
    let changed: Vec<&String> = after_files.keys().filter(|p| before_files.get(*p) != after_files.get(*p)).collect();
    assert!(!changed.is_empty() && changed.len() < 10, "one config value changes a few files: {changed:?}");
    // The manifest and the render cache are rewritten with the new digests and fingerprints;
    // they are not counted as files of the tree.
    let records = [".catalyst-manifest", ".catalyst-cache"];
    assert!(changed.iter().all(|p| p.starts_with("repos/acme/web/") || records.contains(&p.as_str())), "{changed:?}");
    assert!(said.contains(&format!("{} written, ", changed.len() - records.len())), "{said}");
    for (path, identity) in identities(&out) {
        let untouched = before.get(&path) == Some(&identity);
        assert_eq!(untouched, !changed.contains(&&path), "{path}: touched if and only if its bytes changed");
    }
    assert_eq!(before_files.keys().collect::<Vec<_>>(), after_files.keys().collect::<Vec<_>>());
    // What the rebuild did not render again is byte for byte what a full rendering gives.
    let verified = catalyst_with(&args, &["--check"], project.path());
    assert_eq!(verified.status.code(), Some(0), "{}", String::from_utf8_lossy(&verified.stdout));
    // A render cache another executable wrote is not trusted: every file is rendered and compared.
    let cache = out.join(".catalyst-cache");
    let text = fs::read_to_string(&cache).expect("cache");
    fs::write(&cache, text.replacen("# catalyst", "# another catalyst", 1)).expect("tamper");
    assert!(build(&args, project.path()).contains("0 written, "));
    assert_eq!(fs::read_to_string(&cache).expect("cache"), text, "the cache is rewritten by this executable");
}

#[test]
fn a_rebuild_decides_from_the_manifest_and_build_check_reads_every_file() {
    let (project, args, _) = buildable_base();
    let out = project.path().join("out");
    build(&args, project.path());
    let lock = out.join("catalyst.lock");
    let built = fs::read(&lock).expect("lock");
    // An edit after the build is seen (the file changed after the manifest) and undone.
    fs::write(&lock, "edited\n").expect("edit");
    assert!(build(&args, project.path()).contains("1 written"));
    assert_eq!(fs::read(&lock).expect("lock"), built);
    // A file older than the manifest is what the manifest records: its bytes are not read
    // again. Here the manifest is rewritten after the edit, so the rebuild keeps the edit...
    fs::write(&lock, "edited\n").expect("edit");
    // File times advance with the kernel's clock tick: a file changed in the manifest's tick is read again.
    std::thread::sleep(std::time::Duration::from_millis(20));
    let manifest = out.join(".catalyst-manifest");
    fs::write(&manifest, fs::read(&manifest).expect("manifest")).expect("rewrite the manifest");
    assert!(build(&args, project.path()).contains("0 written"));
    assert_eq!(fs::read_to_string(&lock).expect("lock"), "edited\n");
    // ...and `build --check`, which reads every file, reports it.
    let stale = catalyst_with(&args, &["--check"], project.path());
    assert_eq!(stale.status.code(), Some(1));
    assert_eq!(String::from_utf8_lossy(&stale.stdout), format!("stale: {}\n", lock.display()));
    // The manifest is `sha256sum` output: the tree can be verified without catalyst.
    let verify =
        Command::new("sha256sum").args(["--check", "--quiet", ".catalyst-manifest"]).current_dir(&out).output().expect("sha256sum runs");
    assert_eq!(String::from_utf8_lossy(&verify.stdout), "catalyst.lock: FAILED\n");
}

#[test]
fn a_rebuild_prunes_emptied_folders_and_never_leaves_the_tree() {
    let (project, args, org) = buildable_base();
    let out = project.path().join("out");
    let text = fs::read_to_string(&org).expect("organization");
    fs::write(&org, format!("{text}    - {{name: extra, blueprint: bp-app, config: {{hostname: extra.acme.example, tier: gold}}}}\n"))
        .expect("add");
    build(&args, project.path());
    assert!(out.join("repos/acme/extra").is_dir());
    // A manifest planted with paths that leave the tree.
    let outside = project.path().join("outside.txt");
    fs::write(&outside, "not the compiler's\n").expect("outside file");
    let manifest = out.join(".catalyst-manifest");
    let mut planted = fs::read_to_string(&manifest).expect("manifest");
    planted.push_str(&format!("{}  ../outside.txt\n{}  {}\n", "0".repeat(64), "0".repeat(64), outside.display()));
    fs::write(&manifest, planted).expect("plant");
    fs::write(&org, text).expect("remove the Application");
    let said = build(&args, project.path());
    assert!(!out.join("repos/acme/extra").exists(), "the emptied folders of a removed Application are pruned: {said}");
    assert!(out.join("repos/acme/web").is_dir());
    assert_eq!(fs::read_to_string(&outside).expect("outside file"), "not the compiler's\n");
}

#[test]
fn a_rebuild_refuses_a_symbolic_link_inside_the_tree_before_touching_anything() {
    let (project, args, org) = buildable_base();
    let out = project.path().join("out");
    build(&args, project.path());
    let elsewhere = project.path().join("elsewhere");
    fs::rename(out.join("repos/acme/web"), &elsewhere).expect("move the folder away");
    std::os::unix::fs::symlink(&elsewhere, out.join("repos/acme/web")).expect("plant a link");
    let before = common::snapshot(&elsewhere);
    let tree = common::snapshot(&out);
    edit(&org, "hostname: web.acme.example", "hostname: www.acme.example");
    let refused = catalyst_with(&args, &[], project.path());
    assert_eq!(refused.status.code(), Some(2), "{}", stderr(&refused));
    assert!(stderr(&refused).contains("is a symbolic link"), "{}", stderr(&refused));
    assert_eq!(common::snapshot(&elsewhere), before, "nothing written through the link");
    assert_eq!(common::snapshot(&out), tree, "nothing touched, no journal");
}

#[test]
fn a_build_waits_for_another_build_of_the_same_folder() {
    use std::io::BufRead;
    let sovereign = &example_sovereigns()[0];
    let scratch = tempfile::tempdir().expect("temp dir");
    let out_dir = scratch.path().join("out");
    // Another build holds the folder.
    let held = catalyst::pipeline::emit::lock_output(&out_dir, |_| panic!("nothing else holds the folder")).expect("locked");
    let mut child = Command::new(env!("CARGO_BIN_EXE_catalyst"))
        .args(["build", sovereign.to_str().expect("utf-8"), "-o", out_dir.to_str().expect("utf-8")])
        .current_dir(repo())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("catalyst runs");
    let mut lines = std::io::BufReader::new(child.stderr.take().expect("stderr")).lines();
    let first = lines.next().expect("a line").expect("utf-8");
    assert!(first.starts_with("waiting for another build writing ") && first.contains(".out.catalyst-lock"), "{first}");
    assert!(child.try_wait().expect("status").is_none(), "it waits while the folder is held");
    assert!(!out_dir.exists(), "nothing is written while the folder is held");
    drop(held);
    let rest: Vec<String> = lines.map(|line| line.expect("utf-8")).collect();
    assert!(child.wait().expect("exit").success(), "{rest:?}");
    assert!(rest.iter().any(|line| line.starts_with("built ")), "{rest:?}");
    let manifest = fs::read_to_string(out_dir.join(".catalyst-manifest")).expect("the build wrote its tree");
    assert!(manifest.lines().count() > 100, "{manifest}");
}
