//! `catalyst check --watch`: the incremental session agrees with a full
//! `check` on every bad input, reuses exactly the unchanged Organizations,
//! and the real process, driven by edits on disk, redraws its diagnostics
//! and survives broken states (half-saved file, deleted folder, symlink).

mod common;

use std::fs;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Stdio};
use std::sync::mpsc::{self, Receiver};
use std::sync::Arc;
use std::time::{Duration, Instant};

use catalyst::diagnostic::Diagnostics;
use catalyst::ops::watch::Session;
use catalyst::support::source::Sources;
use common::{catalyst_command, materialize, sovereign_of, suite};

/// `(code, path, line)` of every diagnostic, for comparing two runs.
fn signature(diagnostics: &Diagnostics, sources: &Sources) -> Vec<(String, String, usize)> {
    diagnostics
        .iter()
        .map(|d| {
            let at = d.labels.iter().find(|l| l.primary).map(|l| {
                let file = sources.get(l.span.file);
                (file.path.display().to_string(), file.line_col(l.span.start).0)
            });
            let (path, line) = at.unwrap_or_default();
            (d.code.to_string(), path, line)
        })
        .collect()
}

#[test]
fn the_session_reports_what_check_reports_for_every_bad_input() {
    let mut cases: Vec<_> = fs::read_dir(suite()).expect("suite").map(|e| e.expect("entry").path()).filter(|p| p.is_dir()).collect();
    cases.sort();
    assert!(cases.len() > 60);
    for case in cases {
        let scratch = materialize((!case.ends_with("_base")).then_some(case.as_path()));
        let sovereign = sovereign_of(scratch.path());
        // As the CLI runs both: every kind without a schema reported too.
        let options = catalyst::Options { missing_schemas: catalyst::check::conform::Missing::Report, ..catalyst::Options::default() };
        let full = catalyst::compile_with(Arc::new(catalyst::support::vfs::DiskFs), &sovereign, &options);
        let mut session = Session::new(&sovereign, Arc::new(catalyst::support::vfs::DiskFs), options);
        for round in ["first", "second (reusing)"] {
            let checked = session.check();
            assert_eq!(
                signature(&checked.diagnostics, &checked.sources),
                signature(&full.diagnostics, &full.sources),
                "{}: the {round} watch check differs from `check`",
                case.display()
            );
        }
    }
}

#[test]
fn only_the_changed_organization_is_resolved_again() {
    let scratch = materialize(None);
    let sovereign = sovereign_of(scratch.path());
    let second = sovereign.join("organizations/beta.yaml");
    let first = fs::read_to_string(sovereign.join("organizations/acme.yaml")).expect("acme");
    fs::write(&second, first.replace("name: acme", "name: beta").replace("acme-leads", "beta-leads")).expect("write beta");
    let mut session = Session::new(&sovereign, Arc::new(catalyst::support::vfs::DiskFs), catalyst::Options::default());
    let checked = session.check();
    assert!(checked.diagnostics.is_empty(), "{}", catalyst::diagnostic::format::human(&checked.diagnostics, &checked.sources, false));
    assert_eq!((checked.reused, checked.organizations), (0, 2));
    assert_eq!(session.check().reused, 2, "nothing changed: both reused");

    let text = fs::read_to_string(&second).expect("beta");
    fs::write(&second, text.replace("tier: gold", "tier: platinum")).expect("break beta");
    let checked = session.check();
    assert_eq!(checked.reused, 1, "acme reused, beta resolved again");
    let codes: Vec<&str> = checked.diagnostics.iter().map(|d| d.code.id).collect();
    assert_eq!(codes, ["catalyst::config::invalid"]);

    let sovereign_yaml = sovereign.join("sovereign.yaml");
    let text = fs::read_to_string(&sovereign_yaml).expect("sovereign");
    fs::write(&sovereign_yaml, format!("{text}\n# a comment changes the fingerprint\n")).expect("touch");
    assert_eq!(session.check().reused, 0, "a change of sovereign.yaml re-resolves everything");
}

/// The watch process with its stdout read line by line on a thread.
struct Watching {
    child: Child,
    lines: Receiver<String>,
    seen: Vec<String>,
}

impl Watching {
    fn start(sovereign: &Path) -> Watching {
        let mut child = catalyst_command()
            .args(["check", "--watch"])
            .arg(sovereign)
            .env("NO_COLOR", "1")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("catalyst runs");
        let stdout = child.stdout.take().expect("piped");
        let (send, lines) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if send.send(line).is_err() {
                    return;
                }
            }
        });
        Watching { child, lines, seen: Vec::new() }
    }

    /// Reads until a `[watch]` status line, returning the block it ends; bounded wait.
    fn next_block(&mut self) -> String {
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut block = Vec::new();
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let line = self
                .lines
                .recv_timeout(left)
                .unwrap_or_else(|_| panic!("no new check within 30 s; output so far:\n{}\n{}", self.seen.join("\n"), block.join("\n")));
            let done = line.starts_with("[watch]");
            block.push(line);
            if done {
                let text = block.join("\n");
                self.seen.push(text.clone());
                return text;
            }
        }
    }

    /// Reads blocks until one satisfies `wanted` (an edit may be seen in several steps).
    fn until(&mut self, what: &str, wanted: impl Fn(&str) -> bool) -> String {
        for _ in 0..10 {
            let block = self.next_block();
            if wanted(&block) {
                return block;
            }
        }
        panic!("never saw {what}; output:\n{}", self.seen.join("\n---\n"));
    }
}

impl Drop for Watching {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn all_clear(block: &str) -> bool {
    block.ends_with("waiting for changes") && block.contains("[watch] ok: 0 error(s)")
}

#[test]
fn the_watcher_redraws_on_edits_and_survives_broken_states() {
    let scratch = materialize(None);
    let root = scratch.path();
    let sovereign = sovereign_of(root);
    let org = sovereign.join("organizations/acme.yaml");
    let good = fs::read_to_string(&org).expect("acme");
    let mut watching = Watching::start(&sovereign);
    watching.until("the first all-clear", all_clear);

    // A half-saved file: the YAML stops inside a quoted string.
    let cut = good.find("config:").expect("config") + "config:".len();
    fs::write(&org, format!("{} {{hostname: \"web.ac", &good[..cut])).expect("half-save");
    watching.until("the syntax error", |b| b.contains("catalyst::yaml::syntax"));
    fs::write(&org, &good).expect("save again");
    watching.until("the all-clear after the fix", all_clear);

    // A config error, reported at its line, then fixed.
    fs::write(&org, good.replace("tier: gold", "tier: platinum")).expect("break the config");
    let block = watching.until("the config error", |b| b.contains("catalyst::config::invalid"));
    assert!(block.contains("acme.yaml:"), "{block}");
    fs::write(&org, &good).expect("fix the config");
    watching.until("the all-clear after the config fix", all_clear);

    // The catalog folder deleted, then restored.
    let catalog = root.join("blueprints");
    let aside = root.join("blueprints.aside");
    fs::rename(&catalog, &aside).expect("move the catalog away");
    watching.until("the missing catalog", |b| b.contains("catalyst::io::not-found"));
    fs::rename(&aside, &catalog).expect("bring it back");
    // The catalog folder is watched again only once it exists: touch the Sovereign to look again.
    let sovereign_yaml = sovereign.join("sovereign.yaml");
    let text = fs::read_to_string(&sovereign_yaml).expect("sovereign");
    fs::write(&sovereign_yaml, &text).expect("touch");
    watching.until("the all-clear with the catalog back", all_clear);

    // The Organization file replaced by a symbolic link to a copy elsewhere: still checked.
    let elsewhere = root.join("acme-elsewhere.yaml");
    fs::write(&elsewhere, good.replace("tier: gold", "tier: platinum")).expect("write the target");
    fs::remove_file(&org).expect("remove");
    std::os::unix::fs::symlink(&elsewhere, &org).expect("symlink");
    watching.until("the error through the symlink", |b| b.contains("catalyst::config::invalid"));
    fs::remove_file(&org).expect("remove the link");
    fs::write(&org, &good).expect("restore");
    watching.until("the final all-clear", all_clear);
    assert!(watching.child.try_wait().expect("status").is_none(), "the watcher is still running");
}
