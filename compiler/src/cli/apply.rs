//! `catalyst apply`: publish a compiled tree (or a Sovereign, compiled first) to the Git servers.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};

use catalyst::diagnostic::codes::Exit;
use catalyst::diagnostic::format::Format;
use catalyst::diagnostic::{Diagnostic, Diagnostics};
use catalyst::ops::apply::{self, Identity, Lease, Options, RemoteTemplate};
use catalyst::pipeline::render::Output;
use catalyst::support::source::Sources;

use super::{out, print_diagnostics, say};

#[derive(clap::Args)]
pub struct Args {
    /// A tree written by `catalyst build`, or a Sovereign folder (compiled first)
    input: PathBuf,
    #[command(flatten)]
    runtime: Runtime,
    /// Print the plan (repositories created, branches updated, files changed); push nothing
    #[arg(long)]
    dry_run: bool,
    /// Remove files the compiler no longer produces from the branches it writes
    #[arg(long)]
    prune: bool,
    /// Where people changed the same lines as the compiler, let the compiled side win: alone for any branch, or =ORG/REPO:BRANCH=COMMIT while the branch is at COMMIT (repeatable)
    #[arg(long, num_args = 0..=1, require_equals = true, default_missing_value = "*", value_name = "REPO:BRANCH=COMMIT")]
    force_with_lease: Vec<Lease>,
    /// Repositories handled at once
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u16).range(1..))]
    jobs: u16,
    /// Source revision named in commit messages [default: the Git commit the input lies in]
    #[arg(long)]
    source_rev: Option<String>,
}

/// Where the runtime pushes, as whom, and where it keeps its copies (apply and promote).
#[derive(clap::Args)]
pub struct Runtime {
    /// Clone URL of every repository, with {org} and {repo}, e.g. https://gitea.example/{org}/{repo}.git
    #[arg(long)]
    remote: String,
    /// Local cache of remote objects [default: $XDG_CACHE_HOME/catalyst/apply]
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Committer (and author) name of the commits catalyst makes
    #[arg(long, default_value = "catalyst")]
    committer_name: String,
    /// Committer (and author) e-mail of the commits catalyst makes
    #[arg(long, default_value = "catalyst@openova.io")]
    committer_email: String,
}

impl Runtime {
    /// The runtime's options for publishing `input`.
    pub fn options(self, input: &Path) -> Result<Options, Diagnostic> {
        let mut options = Options::new(RemoteTemplate::parse(&self.remote)?);
        options.identity = Identity { name: self.committer_name, email: self.committer_email };
        options.cache_dir = self.cache_dir.unwrap_or(options.cache_dir);
        apply::check_cache_dir(&options.cache_dir, input)?;
        Ok(options)
    }
}

/// The tree to publish: built, or compiled from a Sovereign (its diagnostics printed).
pub fn load(format: Format, input: &Path) -> Result<Output, Exit> {
    if !apply::is_sovereign(input) {
        return apply::read_built(input).map_err(|problem| apply_problems(format, [&problem]));
    }
    let compilation = catalyst::compile(input);
    print_diagnostics(format, &compilation.diagnostics, &compilation.sources);
    compilation.output.ok_or_else(|| compilation.diagnostics.exit())
}

pub fn run(format: Format, args: Args) -> Exit {
    let output = match load(format, &args.input) {
        Ok(output) => output,
        Err(exit) => return exit,
    };
    let mut options = match args.runtime.options(&args.input) {
        Ok(options) => options,
        Err(problem) => return apply_problems(format, [&problem]),
    };
    options.prune = args.prune;
    options.leases = args.force_with_lease;
    options.jobs = usize::from(args.jobs);
    options.source = args.source_rev.unwrap_or_else(|| apply::source_revision(&args.input));

    let total = apply::split(&output).map_or(0, |repos| repos.len());
    let planning = Progress::new("planning", total);
    let plan = apply::plan(&output, &options, &|repo| planning.step(&repo.repo.to_string(), None));
    planning.finish();
    let plan = match plan {
        Ok(plan) => plan,
        Err(problem) => return apply_problems(format, [&problem]),
    };
    if args.dry_run {
        out(plan.render());
        let code = apply_problems(format, plan.problems());
        say!("dry run, nothing pushed: {}", plan.summary());
        return code;
    }
    let pushing = Progress::new("applying", total);
    let report = apply::execute(&plan, &options, &|outcome| {
        let name = outcome.repo.to_string();
        let line = match (&outcome.problem, outcome.updated.is_empty()) {
            (Some(problem), true) => Some(format!("{name}: failed ({})", problem.code)),
            (Some(problem), false) => Some(format!("{name}: updated {}, then failed ({})", outcome.updated.join(", "), problem.code)),
            (None, true) => None,
            (None, false) => {
                Some(format!("{name}: {}updated {}", if outcome.created { "created, " } else { "" }, outcome.updated.join(", ")))
            }
        };
        pushing.step(&name, line);
    });
    pushing.finish();
    let code = apply_problems(format, report.problems());
    say!("applied to {}: {}", plan.remote, report.summary());
    code
}

/// Prints the runtime's diagnostics and gives the exit code they call for.
pub fn apply_problems<'a>(format: Format, problems: impl IntoIterator<Item = &'a Diagnostic>) -> Exit {
    let mut diagnostics = Diagnostics::default();
    diagnostics.extend(problems.into_iter().cloned());
    print_diagnostics(format, &diagnostics, &Sources::default());
    diagnostics.exit()
}

/// A progress bar on a terminal; otherwise plain lines, only for what changed.
struct Progress {
    bar: Option<ProgressBar>,
}

impl Progress {
    fn new(phase: &str, total: usize) -> Self {
        if !std::io::stderr().is_terminal() {
            say!("{phase} {total} repositories");
            return Progress { bar: None };
        }
        let bar = ProgressBar::new(total as u64).with_prefix(phase.to_string());
        if let Ok(style) = ProgressStyle::with_template("{prefix:>9} [{bar:30}] {pos}/{len} {wide_msg}") {
            bar.set_style(style.progress_chars("=> "));
        }
        Progress { bar: Some(bar) }
    }

    fn step(&self, repo: &str, line: Option<String>) {
        match &self.bar {
            Some(bar) => {
                if let Some(line) = line {
                    bar.println(line);
                }
                bar.set_message(repo.to_string());
                bar.inc(1);
            }
            None => {
                if let Some(line) = line {
                    say!("{line}");
                }
            }
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}
