//! `catalyst apply`: publish a compiled tree (or a Sovereign, compiled first) to the Git servers.

use std::io::IsTerminal;
use std::path::PathBuf;

use indicatif::{ProgressBar, ProgressStyle};

use catalyst::diagnostic::codes::Exit;
use catalyst::diagnostic::format::Format;
use catalyst::diagnostic::{Diagnostic, Diagnostics};
use catalyst::ops::apply::{self, Identity, Lease, Options, RemoteTemplate};
use catalyst::support::source::Sources;

use super::{out, print_diagnostics, say};

#[derive(clap::Args)]
pub struct Args {
    /// A tree written by `catalyst build`, or a Sovereign folder (compiled first)
    input: PathBuf,
    /// Clone URL of every repository, with {org} and {repo}, e.g. https://gitea.example/{org}/{repo}.git
    #[arg(long)]
    remote: String,
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
    /// Local cache of remote objects [default: $XDG_CACHE_HOME/catalyst/apply]
    #[arg(long)]
    cache_dir: Option<PathBuf>,
    /// Committer (and author) name of the commits catalyst makes
    #[arg(long, default_value = "catalyst")]
    committer_name: String,
    /// Committer (and author) e-mail of the commits catalyst makes
    #[arg(long, default_value = "catalyst@openova.io")]
    committer_email: String,
    /// Source revision named in commit messages [default: the Git commit the input lies in]
    #[arg(long)]
    source_rev: Option<String>,
}

pub fn run(format: Format, args: Args) -> Exit {
    let output = if apply::is_sovereign(&args.input) {
        let compilation = catalyst::compile(&args.input);
        print_diagnostics(format, &compilation.diagnostics, &compilation.sources);
        match compilation.output {
            Some(output) => output,
            None => return compilation.diagnostics.exit(),
        }
    } else {
        match apply::read_built(&args.input) {
            Ok(output) => output,
            Err(problem) => return apply_problems(format, [&problem]),
        }
    };
    let remote = match RemoteTemplate::parse(&args.remote) {
        Ok(remote) => remote,
        Err(problem) => return apply_problems(format, [&problem]),
    };
    let mut options = Options::new(remote);
    options.prune = args.prune;
    options.leases = args.force_with_lease;
    options.jobs = usize::from(args.jobs);
    options.identity = Identity { name: args.committer_name, email: args.committer_email };
    options.source = args.source_rev.unwrap_or_else(|| apply::source_revision(&args.input));
    options.cache_dir = args.cache_dir.unwrap_or(options.cache_dir);
    if let Err(problem) = apply::check_cache_dir(&options.cache_dir, &args.input) {
        return apply_problems(format, [&problem]);
    }

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
fn apply_problems<'a>(format: Format, problems: impl IntoIterator<Item = &'a Diagnostic>) -> Exit {
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
