//! `catalyst diff`: what a change does to the rendered output, between two Git revisions.

use std::io::IsTerminal;
use std::path::PathBuf;

use catalyst::diagnostic::codes::{self, Exit};
use catalyst::diagnostic::format::Format;
use catalyst::ops::diff;

use super::{out, say};

#[derive(clap::Args)]
pub struct Args {
    /// The base revision (branch, tag, commit), e.g. origin/main
    #[arg(long)]
    base: String,
    /// The head revision [default: the working tree]
    #[arg(long)]
    head: Option<String>,
    /// Sovereign folders to compare [default: every sovereigns/*/ of either revision]
    sovereigns: Vec<PathBuf>,
    /// Exit 1 when the rendered output differs
    #[arg(long)]
    exit_code: bool,
}

pub fn run(format: Format, args: Args) -> Exit {
    let Args { base, head, sovereigns, exit_code } = args;
    let here = PathBuf::from(".");
    let sovereigns: Result<Vec<PathBuf>, _> = sovereigns.iter().map(|s| diff::repo_relative(&here, s)).collect();
    let request = sovereigns.map(|sovereigns| diff::Request { repo: here, base, head, sovereigns });
    match request.and_then(|r| diff::diff(&r)) {
        Ok(report) => {
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            out(diff::format::render(format, &report, color));
            if report.has_failures() || (exit_code && report.has_differences()) {
                Exit::Findings
            } else {
                Exit::Ok
            }
        }
        Err(e) => {
            say!("error[{}]: {e}\n  help: run inside a Git repository and name revisions it has (`git rev-parse <rev>`)", codes::DIFF_GIT);
            Exit::Failure
        }
    }
}
