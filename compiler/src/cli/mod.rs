//! The commands, one file each, as cargo lays them out: each parses its own
//! arguments and calls the library; what they share (where output and
//! diagnostics go, the conformance flags) is here.

pub mod apply;
pub mod build;
pub mod check;
pub mod diff;
pub mod explain;
pub mod graph;
pub mod lint;
pub mod promote;

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use clap::Args;

use catalyst::diagnostic::codes::{self, Exit};
use catalyst::diagnostic::format::{self, Format};
use catalyst::diagnostic::Diagnostics;
use catalyst::support::source::Sources;
use catalyst::support::vfs::DiskFs;

/// `eprintln!` that cannot panic: when nobody reads stderr any more (`catalyst … 2>&1 | head -1`)
/// the text is dropped and the command goes on to its exit code.
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}
pub(crate) use say;

/// What emitted objects are validated against (besides the built-in Catalyst CRDs).
#[derive(Args)]
pub struct Conformance {
    /// CRD files or folders (YAML or JSON; also JSON Schemas with x-kubernetes-group-version-kind) to validate the emitted objects against, e.g. the Flux and External Secrets releases the cluster runs (repeatable)
    #[arg(long = "crds", value_name = "PATH")]
    crds: Vec<PathBuf>,
    /// Do not report the kinds that have no schema
    #[arg(long)]
    ignore_missing_schemas: bool,
    /// Skip the reconcile check (whether Flux would bring the tree up on a fresh Sovereign)
    #[arg(long)]
    no_reconcile: bool,
    /// The configuration file [default: catalyst.toml in the Sovereign's folder or its nearest ancestor]
    #[arg(long)]
    config: Option<PathBuf>,
}

impl Conformance {
    /// The compile options these flags and the `[check]` table of catalyst.toml ask for.
    pub fn options(&self, first: Option<&Path>, sources: &mut Sources, diagnostics: &mut Diagnostics) -> catalyst::Options {
        let vfs = DiskFs;
        let settings = catalyst::support::config::load(&vfs, self.config.as_deref(), first, sources, diagnostics);
        let options = catalyst::Options::for_check(&vfs, settings.as_ref(), &self.crds, self.ignore_missing_schemas, sources, diagnostics);
        // Version changes are held to the upgrade paths against the tree the output replaces.
        catalyst::Options { reconcile: !self.no_reconcile, replaces: catalyst::Replaces::OutputOnDisk, ..options }
    }
}

/// Writes the command's output. A reader that went away (`catalyst … | head`)
/// ends the process quietly, as it would a filter; it is not a failure.
pub fn out(text: impl AsRef<[u8]>) {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_ref()).and_then(|()| stdout.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(Exit::Ok as i32),
        Err(e) => {
            say!("error[{}]: cannot write the output: {e}", codes::IO_WRITE);
            std::process::exit(Exit::Failure as i32);
        }
    }
}

/// Human diagnostics go to stderr, machine-readable ones to stdout, unless
/// stdout carries the command's own output.
pub fn print_diagnostics_on(format: Format, diagnostics: &Diagnostics, sources: &Sources, stdout_is_free: bool) {
    if diagnostics.is_empty() && format == Format::Human {
        return;
    }
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let text = format::render(format, diagnostics, sources, color);
    if format == Format::Human || !stdout_is_free {
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    } else {
        out(text);
    }
}

pub fn print_diagnostics(format: Format, diagnostics: &Diagnostics, sources: &Sources) {
    print_diagnostics_on(format, diagnostics, sources, true);
}
