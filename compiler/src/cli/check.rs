//! `catalyst check`: every stage but writing, over one or more Sovereigns; `--watch` redraws on change.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use catalyst::diagnostic::codes::{self, Exit};
use catalyst::diagnostic::format::Format;
use catalyst::diagnostic::Diagnostics;
use catalyst::support::source::Sources;
use catalyst::support::vfs::DiskFs;

use super::{print_diagnostics, say, Conformance};

#[derive(clap::Args)]
pub struct Args {
    /// Sovereign folders (or their sovereign.yaml) [default: every sovereigns/*/ below the working directory]
    sovereigns: Vec<PathBuf>,
    /// Check again on every change of the Sovereign, its Organizations or its catalogs (one Sovereign)
    #[arg(long)]
    watch: bool,
    #[command(flatten)]
    conformance: Conformance,
}

pub fn run(format: Format, args: Args) -> Exit {
    if args.watch {
        watch(format, args.sovereigns, &args.conformance)
    } else {
        check(format, args.sovereigns, &args.conformance)
    }
}

fn check(format: Format, mut sovereigns: Vec<PathBuf>, conformance: &Conformance) -> Exit {
    if sovereigns.is_empty() {
        sovereigns = catalyst::sovereigns_in(&DiskFs, Path::new(""));
        if sovereigns.is_empty() {
            say!("error: no Sovereign named and no sovereigns/*/sovereign.yaml below the working directory");
            return Exit::Failure;
        }
    }
    // One report for all: machine formats print one document.
    let (mut sources, mut diagnostics) = (Sources::default(), Diagnostics::default());
    let options = catalyst::Options {
        keep_output: false,
        ..conformance.options(sovereigns.first().map(PathBuf::as_path), &mut sources, &mut diagnostics)
    };
    for sovereign in sovereigns {
        let mut own = Diagnostics::default();
        catalyst::compile_into(Arc::new(DiskFs), &sovereign, &options, &mut sources, &mut own);
        diagnostics.append(own);
    }
    diagnostics.sort();
    print_diagnostics(format, &diagnostics, &sources);
    diagnostics.exit()
}

fn watch(format: Format, sovereigns: Vec<PathBuf>, conformance: &Conformance) -> Exit {
    let [sovereign] = sovereigns.as_slice() else {
        say!("error: `check --watch` watches one Sovereign; name its folder");
        return Exit::Failure;
    };
    let (mut sources, mut diagnostics) = (Sources::default(), Diagnostics::default());
    let options = conformance.options(Some(sovereign), &mut sources, &mut diagnostics);
    // The CRDs are read once: a problem with them stops the watch before it starts.
    if !diagnostics.is_empty() {
        print_diagnostics(format, &diagnostics, &sources);
        return diagnostics.exit().max(Exit::Findings);
    }
    let mut stdout = std::io::stdout();
    let terminal = stdout.is_terminal();
    match catalyst::ops::watch::run(sovereign, options, format, terminal, &mut stdout) {
        Ok(()) => Exit::Ok,
        // The reader went away (`check --watch | head`): nothing more to do.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Exit::Ok,
        Err(e) => {
            say!("error[{}]: cannot watch for changes: {e}", codes::IO_WATCH);
            Exit::Failure
        }
    }
}
