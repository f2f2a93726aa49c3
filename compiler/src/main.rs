//! The `catalyst` command line: argument handling over the library, nothing more.

use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Args, CommandFactory, Parser, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};

use catalyst::apply::{self, Identity, Lease, Options, RemoteTemplate};
use catalyst::diagnostic::{Diagnostic, Diagnostics};
use catalyst::report::{self, Format};
use catalyst::source::Sources;
use catalyst::{codes, emit};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `eprintln!` that cannot panic: when nobody reads stderr any more (`catalyst … 2>&1 | head -1`)
/// the text is dropped and the command goes on to its exit code.
macro_rules! say {
    ($($arg:tt)*) => {{
        let _ = writeln!(std::io::stderr().lock(), $($arg)*);
    }};
}

#[derive(Parser)]
#[command(name = "catalyst", version, about = "Compiles an OpenOva Catalyst Sovereign into the GitOps tree Flux reconciles")]
struct Cli {
    /// How diagnostics are printed
    #[arg(long, global = true, value_enum, default_value_t = Format::Human)]
    format: Format,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Validate Sovereigns, their catalogs and every object they emit; write nothing
    Check {
        /// Sovereign folders (or their sovereign.yaml) [default: every sovereigns/*/ below the working directory]
        sovereigns: Vec<PathBuf>,
        /// Check again on every change of the Sovereign, its Organizations or its catalogs (one Sovereign)
        #[arg(long)]
        watch: bool,
        #[command(flatten)]
        conformance: Conformance,
    },
    /// Compile a Sovereign into its GitOps tree
    Build {
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
    },
    /// Show what a change does to the rendered output, per object, between two Git revisions
    Diff {
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
    },
    /// Draw the resolved dependency graph (Graphviz DOT, Mermaid or JSON)
    Graph {
        /// The Sovereign folder (or its sovereign.yaml)
        sovereign: PathBuf,
        /// What to draw
        #[arg(long, value_enum, default_value_t = catalyst::graph::View::Blueprints)]
        view: catalyst::graph::View,
        /// Output format of the graph
        #[arg(short = 'T', long = "to", value_enum, default_value_t = catalyst::graph::render::GraphFormat::Dot)]
        to: catalyst::graph::render::GraphFormat,
        /// Only this Environment (`<org>-<env>`)
        #[arg(long)]
        env: Option<String>,
        /// Only what surrounds this Application or Blueprint
        #[arg(long)]
        focus: Option<String>,
        /// How many edges away from --focus to draw
        #[arg(long, default_value_t = 2, requires = "focus")]
        depth: usize,
    },
    /// Run the lint rules over Blueprint catalogs (configured by the nearest catalyst.toml)
    Lint {
        /// Catalog folders
        #[arg(default_value = "blueprints")]
        catalogs: Vec<PathBuf>,
        /// The configuration file [default: catalyst.toml in the catalog's folder or its nearest ancestor]
        #[arg(long)]
        config: Option<PathBuf>,
        /// Also compile this Sovereign in memory and run the emitted-object rules over its output (repeatable)
        #[arg(long = "sovereign", value_name = "DIR")]
        sovereigns: Vec<PathBuf>,
        /// Also run the emitted-object rules over a built tree, e.g. out/<fqdn> (repeatable)
        #[arg(long, value_name = "DIR")]
        built: Vec<PathBuf>,
    },
    /// Publish a compiled tree to the Git servers Flux pulls from
    Apply(ApplyArgs),
    /// Print the long explanation of a diagnostic code
    Explain {
        /// e.g. catalyst::resolve::cycle (the `catalyst::` prefix may be omitted)
        code: String,
    },
    /// Print a shell completion script, e.g. `catalyst completions bash > /etc/bash_completion.d/catalyst`
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff), e.g. `catalyst man > catalyst.1`
    Man,
}

/// What emitted objects are validated against (besides the built-in Catalyst CRDs).
#[derive(Args)]
struct Conformance {
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
    fn options(&self, first: Option<&Path>, sources: &mut Sources, diagnostics: &mut Diagnostics) -> catalyst::Options {
        let vfs = catalyst::vfs::DiskFs;
        let settings = catalyst::config::load(&vfs, self.config.as_deref(), first, sources, diagnostics);
        let options = catalyst::Options::for_check(&vfs, settings.as_ref(), &self.crds, self.ignore_missing_schemas, sources, diagnostics);
        catalyst::Options { reconcile: !self.no_reconcile, ..options }
    }
}

#[derive(Args)]
struct ApplyArgs {
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
    /// Apply on top of commits catalyst did not make: alone for any, or =ORG/REPO:BRANCH=COMMIT (repeatable)
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

/// Exit codes of DESIGN §5.
const OK: u8 = 0;
const DIAGNOSTICS: u8 = 1;
const FAILURE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    ExitCode::from(match cli.command {
        Command::Check { sovereigns, watch: true, conformance } => watch(cli.format, sovereigns, &conformance),
        Command::Check { sovereigns, watch: false, conformance } => check(cli.format, sovereigns, &conformance),
        Command::Lint { catalogs, config, sovereigns, built } => {
            let linted = catalyst::lint::lint(&catalyst::lint::Request { catalogs, config, sovereigns, built });
            print_diagnostics(cli.format, &linted.diagnostics, &linted.sources);
            exit_code(&linted.diagnostics)
        }
        Command::Build { sovereign, output, check, conformance } => build(cli.format, &sovereign, output, check, &conformance),
        Command::Diff { base, head, sovereigns, exit_code } => diff(cli.format, base, head, &sovereigns, exit_code),
        Command::Graph { sovereign, view, to, env, focus, depth } => {
            let filter = catalyst::graph::Filter { env, focus, depth };
            graph(cli.format, &sovereign, view, to, &filter)
        }
        Command::Apply(args) => run_apply(cli.format, args),
        Command::Explain { code } => explain(&code),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "catalyst", &mut script);
            out(script);
            OK
        }
        Command::Man => {
            let mut page = Vec::new();
            match clap_mangen::Man::new(Cli::command()).render(&mut page) {
                Ok(()) => {
                    out(page);
                    OK
                }
                Err(e) => {
                    say!("error: cannot write the man page: {e}");
                    FAILURE
                }
            }
        }
    })
}

fn check(format: Format, mut sovereigns: Vec<PathBuf>, conformance: &Conformance) -> u8 {
    if sovereigns.is_empty() {
        sovereigns = catalyst::sovereigns_in(&catalyst::vfs::DiskFs, Path::new(""));
        if sovereigns.is_empty() {
            say!("error: no Sovereign named and no sovereigns/*/sovereign.yaml below the working directory");
            return FAILURE;
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
        catalyst::compile_into(Arc::new(catalyst::vfs::DiskFs), &sovereign, &options, &mut sources, &mut own);
        diagnostics.append(own);
    }
    diagnostics.sort();
    print_diagnostics(format, &diagnostics, &sources);
    exit_code(&diagnostics)
}

fn watch(format: Format, sovereigns: Vec<PathBuf>, conformance: &Conformance) -> u8 {
    let [sovereign] = sovereigns.as_slice() else {
        say!("error: `check --watch` watches one Sovereign; name its folder");
        return FAILURE;
    };
    let (mut sources, mut diagnostics) = (Sources::default(), Diagnostics::default());
    let options = conformance.options(Some(sovereign), &mut sources, &mut diagnostics);
    // The CRDs are read once: a problem with them stops the watch before it starts.
    if !diagnostics.is_empty() {
        print_diagnostics(format, &diagnostics, &sources);
        return exit_code(&diagnostics).max(DIAGNOSTICS);
    }
    let mut stdout = std::io::stdout();
    let terminal = stdout.is_terminal();
    match catalyst::watch::run(sovereign, options, format, terminal, &mut stdout) {
        Ok(()) => OK,
        // The reader went away (`check --watch | head`): nothing more to do.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => OK,
        Err(e) => {
            say!("error[catalyst::io::watch]: cannot watch for changes: {e}");
            FAILURE
        }
    }
}

/// Writes the command's output. A reader that went away (`catalyst … | head`)
/// ends the process quietly, as it would a filter; it is not a failure.
fn out(text: impl AsRef<[u8]>) {
    let mut stdout = std::io::stdout().lock();
    match stdout.write_all(text.as_ref()).and_then(|()| stdout.flush()) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => std::process::exit(i32::from(OK)),
        Err(e) => {
            say!("error[catalyst::io::write]: cannot write the output: {e}");
            std::process::exit(i32::from(FAILURE));
        }
    }
}

/// Human diagnostics go to stderr, machine-readable ones to stdout, unless
/// stdout carries the command's own output.
fn print_diagnostics_on(format: Format, diagnostics: &Diagnostics, sources: &Sources, stdout_is_free: bool) {
    if diagnostics.is_empty() && format == Format::Human {
        return;
    }
    let color = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let text = report::render(format, diagnostics, sources, color);
    if format == Format::Human || !stdout_is_free {
        let _ = std::io::stderr().lock().write_all(text.as_bytes());
    } else {
        out(text);
    }
}

fn print_diagnostics(format: Format, diagnostics: &Diagnostics, sources: &Sources) {
    print_diagnostics_on(format, diagnostics, sources, true);
}

fn exit_code(diagnostics: &Diagnostics) -> u8 {
    if diagnostics.iter().any(|d| d.code.starts_with("catalyst::io::")) {
        FAILURE
    } else if diagnostics.has_errors() {
        DIAGNOSTICS
    } else {
        OK
    }
}

fn build(format: Format, sovereign: &Path, output: Option<PathBuf>, check: bool, conformance: &Conformance) -> u8 {
    let dir = output.unwrap_or_else(|| catalyst::default_output(&catalyst::vfs::DiskFs, sovereign));
    let (mut sources, mut diagnostics) = (Sources::default(), Diagnostics::default());
    let options = catalyst::Options { shown_at: Some(dir.clone()), ..conformance.options(Some(sovereign), &mut sources, &mut diagnostics) };
    let output = if diagnostics.has_errors() {
        None
    } else {
        catalyst::compile_into(Arc::new(catalyst::vfs::DiskFs), sovereign, &options, &mut sources, &mut diagnostics)
    };
    diagnostics.sort();
    print_diagnostics(format, &diagnostics, &sources);
    let Some(tree) = &output else { return exit_code(&diagnostics) };
    if check {
        let stale = emit::stale_files(tree, &dir);
        for path in &stale {
            out(format!("stale: {}\n", dir.join(path).display()));
        }
        return if stale.is_empty() { OK } else { DIAGNOSTICS };
    }
    match emit::emit(tree, &dir) {
        Ok(report) => {
            say!(
                "built {} into {} ({} written, {} unchanged, {} removed)",
                sovereign.display(),
                dir.display(),
                report.written,
                report.unchanged,
                report.removed
            );
            OK
        }
        Err(e) => {
            say!("error[catalyst::io::write]: {e}\n  help: the previous output is unchanged");
            FAILURE
        }
    }
}

fn diff(format: Format, base: String, head: Option<String>, sovereigns: &[PathBuf], exit_code: bool) -> u8 {
    let here = PathBuf::from(".");
    let sovereigns: Result<Vec<PathBuf>, _> = sovereigns.iter().map(|s| catalyst::diff::repo_relative(&here, s)).collect();
    let request = sovereigns.map(|sovereigns| catalyst::diff::Request { repo: here, base, head, sovereigns });
    match request.and_then(|r| catalyst::diff::diff(&r)) {
        Ok(report) => {
            let color = std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none();
            out(catalyst::diff::render::render(format, &report, color));
            if report.has_failures() || (exit_code && report.has_differences()) {
                DIAGNOSTICS
            } else {
                OK
            }
        }
        Err(e) => {
            say!("error[catalyst::diff::git]: {e}\n  help: run inside a Git repository and name revisions it has (`git rev-parse <rev>`)");
            FAILURE
        }
    }
}

fn graph(
    format: Format,
    sovereign: &Path,
    view: catalyst::graph::View,
    to: catalyst::graph::render::GraphFormat,
    filter: &catalyst::graph::Filter,
) -> u8 {
    let drawn = catalyst::graph::draw(Arc::new(catalyst::vfs::DiskFs), sovereign, view, filter);
    // The picture explains the errors, so it is printed even when there are some.
    if let Some(graph) = &drawn.graph {
        out(catalyst::graph::render::render(to, graph));
    }
    print_diagnostics_on(format, &drawn.diagnostics, &drawn.sources, false);
    exit_code(&drawn.diagnostics)
}

fn run_apply(format: Format, args: ApplyArgs) -> u8 {
    let output = if apply::is_sovereign(&args.input) {
        let compilation = catalyst::compile(&args.input);
        print_diagnostics(format, &compilation.diagnostics, &compilation.sources);
        match compilation.output {
            Some(output) => output,
            None => return exit_code(&compilation.diagnostics),
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
fn apply_problems<'a>(format: Format, problems: impl IntoIterator<Item = &'a Diagnostic>) -> u8 {
    let mut diagnostics = Diagnostics::default();
    diagnostics.extend(problems.into_iter().cloned());
    print_diagnostics(format, &diagnostics, &Sources::default());
    // Usage, or reaching the servers or the disk failed: a failure rather than a verdict on the content.
    let failures = [
        "catalyst::apply::input",
        "catalyst::apply::remote-template",
        "catalyst::apply::unreachable",
        "catalyst::apply::auth",
        "catalyst::apply::cache",
    ];
    if diagnostics.iter().any(|d| failures.contains(&d.code)) {
        FAILURE
    } else if diagnostics.has_errors() {
        DIAGNOSTICS
    } else {
        OK
    }
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

fn explain(code: &str) -> u8 {
    match codes::find(code) {
        Some(c) => {
            out(format!("{}: {}\n\n{}\n", c.code, c.summary, c.explanation));
            if let Some(rule) = catalyst::lint::rule(c.code) {
                out(format!("\nDefault severity: {:?} (change it in catalyst.toml `[lint.rules]`).\n", rule.default));
            }
            OK
        }
        None => {
            say!("error: unknown diagnostic code `{code}`; codes look like catalyst::resolve::cycle");
            FAILURE
        }
    }
}
