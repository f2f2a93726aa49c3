//! `catalyst build`: compile a Sovereign and write its tree (or, with `--check`, compare with it).

use std::path::PathBuf;
use std::sync::Arc;

use catalyst::diagnostic::codes::{self, Exit};
use catalyst::diagnostic::format::Format;
use catalyst::diagnostic::Diagnostics;
use catalyst::pipeline::emit;
use catalyst::support::source::Sources;
use catalyst::support::vfs::DiskFs;

use super::{out, print_diagnostics, say, Conformance};

#[derive(clap::Args)]
pub struct Args {
    /// The Sovereign folder (or its sovereign.yaml)
    sovereign: PathBuf,
    /// Output folder [default: out/<fqdn>]
    #[arg(short, long)]
    output: Option<PathBuf>,
    /// Write nothing; exit 1 and list the files that differ from a fresh build
    #[arg(long)]
    check: bool,
    #[command(flatten)]
    conformance: Conformance,
}

pub fn run(format: Format, args: Args) -> Exit {
    let Args { sovereign, output, check, conformance } = args;
    let sovereign = sovereign.as_path();
    let dir = output.unwrap_or_else(|| catalyst::default_output(&DiskFs, sovereign));
    let (mut sources, mut diagnostics) = (Sources::default(), Diagnostics::default());
    // A folder to read is locked before it is read; one that does not exist yet, only once there
    // is something to write (a failed first build leaves nothing behind, not even the lock).
    let lock = || {
        let waiting = |lock: &std::path::Path| say!("waiting for another build writing {} (it holds {})", dir.display(), lock.display());
        emit::lock_output(&dir, waiting).map_err(|e| say!("error[{}]: {e}", codes::IO_WRITE))
    };
    let Ok(held) = (!check && dir.exists()).then(lock).transpose() else { return Exit::Failure };
    // `--check` compares every byte; a build renders only what the tree on disk does not hold.
    let previous = (!check).then(|| Arc::new(emit::Prefetched::start(&dir)));
    let options = catalyst::Options {
        shown_at: Some(dir.clone()),
        reuse: previous.clone(),
        ..conformance.options(Some(sovereign), &mut sources, &mut diagnostics)
    };
    let output = if diagnostics.has_errors() {
        None
    } else {
        catalyst::compile_into(Arc::new(DiskFs), sovereign, &options, &mut sources, &mut diagnostics)
    };
    diagnostics.sort();
    print_diagnostics(format, &diagnostics, &sources);
    let Some(tree) = &output else { return diagnostics.exit() };
    if check {
        let stale = emit::stale_files(tree, &dir);
        for path in &stale {
            out(format!("stale: {}\n", dir.join(path).display()));
        }
        return if stale.is_empty() { Exit::Ok } else { Exit::Findings };
    }
    let Some(_held) = held.or_else(|| lock().ok()) else { return Exit::Failure };
    match emit::emit_over(tree, &dir, previous.as_deref().map_or(&emit::Previous::default(), emit::Prefetched::get)) {
        Ok(report) => {
            say!(
                "built {} into {} ({} written, {} unchanged, {} removed)",
                sovereign.display(),
                dir.display(),
                report.written,
                report.unchanged,
                report.removed
            );
            Exit::Ok
        }
        Err(e) => {
            say!(
                "error[{}]: {e}\n  help: every file holds its old or its new content; a tree left part-way holds {} and the next build finishes it",
                codes::IO_WRITE,
                emit::JOURNAL
            );
            Exit::Failure
        }
    }
}
