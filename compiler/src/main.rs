//! The `catalyst` command line: argument handling over the library, nothing more.

use std::io::IsTerminal;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{CommandFactory, Parser, Subcommand};

use catalyst::diagnostic::Diagnostics;
use catalyst::report::{self, Format};
use catalyst::source::Sources;
use catalyst::{codes, emit};

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
    /// Validate Sovereigns and their catalogs; write nothing
    Check {
        /// Sovereign folders (or their sovereign.yaml) [default: every sovereigns/*/ below the working directory]
        sovereigns: Vec<PathBuf>,
        /// Check again on every change of the Sovereign, its Organizations or its catalogs (one Sovereign)
        #[arg(long)]
        watch: bool,
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

/// Exit codes of DESIGN §5.
const OK: u8 = 0;
const DIAGNOSTICS: u8 = 1;
const FAILURE: u8 = 2;

fn main() -> ExitCode {
    let cli = Cli::parse();
    ExitCode::from(match cli.command {
        Command::Check { sovereigns, watch: true } => watch(cli.format, sovereigns),
        Command::Check { sovereigns, watch: false } => check(cli.format, sovereigns),
        Command::Lint { catalogs, config, sovereigns, built } => {
            let linted = catalyst::lint::lint(&catalyst::lint::Request { catalogs, config, sovereigns, built });
            print_diagnostics(cli.format, &linted.diagnostics, &linted.sources);
            exit_code(&linted.diagnostics)
        }
        Command::Build { sovereign, output, check } => build(cli.format, &sovereign, output, check),
        Command::Diff { base, head, sovereigns, exit_code } => diff(cli.format, base, head, &sovereigns, exit_code),
        Command::Graph { sovereign, view, to, env, focus, depth } => {
            let filter = catalyst::graph::Filter { env, focus, depth };
            graph(cli.format, &sovereign, view, to, &filter)
        }
        Command::Explain { code } => explain(&code),
        Command::Completions { shell } => {
            clap_complete::generate(shell, &mut Cli::command(), "catalyst", &mut std::io::stdout());
            OK
        }
        Command::Man => match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
            Ok(()) => OK,
            Err(e) => {
                eprintln!("error: cannot write the man page: {e}");
                FAILURE
            }
        },
    })
}

fn check(format: Format, mut sovereigns: Vec<PathBuf>) -> u8 {
    if sovereigns.is_empty() {
        sovereigns = catalyst::sovereigns_in(&catalyst::vfs::DiskFs, Path::new(""));
        if sovereigns.is_empty() {
            eprintln!("error: no Sovereign named and no sovereigns/*/sovereign.yaml below the working directory");
            return FAILURE;
        }
    }
    // One report for all: machine formats print one document.
    let (mut sources, mut diagnostics) = (Sources::default(), Diagnostics::default());
    for sovereign in sovereigns {
        let mut own = Diagnostics::default();
        catalyst::compile_into(Arc::new(catalyst::vfs::DiskFs), &sovereign, &mut sources, &mut own);
        diagnostics.extend(own);
    }
    diagnostics.sort();
    print_diagnostics(format, &diagnostics, &sources);
    exit_code(&diagnostics)
}

fn watch(format: Format, sovereigns: Vec<PathBuf>) -> u8 {
    let [sovereign] = sovereigns.as_slice() else {
        eprintln!("error: `check --watch` watches one Sovereign; name its folder");
        return FAILURE;
    };
    let mut stdout = std::io::stdout();
    let terminal = stdout.is_terminal();
    match catalyst::watch::run(sovereign, format, terminal, &mut stdout) {
        Ok(()) => OK,
        Err(e) => {
            eprintln!("error[catalyst::io::watch]: cannot watch for changes: {e}");
            FAILURE
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
        eprint!("{text}");
    } else {
        print!("{text}");
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

fn build(format: Format, sovereign: &Path, output: Option<PathBuf>, check: bool) -> u8 {
    let compilation = catalyst::compile(sovereign);
    print_diagnostics(format, &compilation.diagnostics, &compilation.sources);
    let Some(tree) = &compilation.output else { return exit_code(&compilation.diagnostics) };
    let dir = output.unwrap_or_else(|| {
        let fqdn = sovereign.canonicalize().ok().and_then(|p| {
            let dir = if p.is_dir() { p } else { p.parent()?.to_path_buf() };
            dir.file_name().map(|n| n.to_string_lossy().into_owned())
        });
        PathBuf::from("out").join(fqdn.unwrap_or_else(|| "sovereign".into()))
    });
    if check {
        let stale = emit::stale_files(tree, &dir);
        for path in &stale {
            println!("stale: {}", dir.join(path).display());
        }
        return if stale.is_empty() { OK } else { DIAGNOSTICS };
    }
    match emit::emit(tree, &dir) {
        Ok(report) => {
            eprintln!(
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
            eprintln!("error[catalyst::io::write]: {e}\n  help: the previous output is unchanged");
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
            print!("{}", catalyst::diff::render::render(format, &report, color));
            if report.has_failures() || (exit_code && report.has_differences()) {
                DIAGNOSTICS
            } else {
                OK
            }
        }
        Err(e) => {
            eprintln!(
                "error[catalyst::diff::git]: {e}\n  help: run inside a Git repository and name revisions it has (`git rev-parse <rev>`)"
            );
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
        print!("{}", catalyst::graph::render::render(to, graph));
    }
    print_diagnostics_on(format, &drawn.diagnostics, &drawn.sources, false);
    exit_code(&drawn.diagnostics)
}

fn explain(code: &str) -> u8 {
    match codes::find(code) {
        Some(c) => {
            println!("{}: {}\n\n{}", c.code, c.summary, c.explanation);
            if let Some(rule) = catalyst::lint::rule(c.code) {
                println!("\nDefault severity: {:?} (change it in catalyst.toml `[lint.rules]`).", rule.default);
            }
            OK
        }
        None => {
            eprintln!("error: unknown diagnostic code `{code}`; codes look like catalyst::resolve::cycle");
            FAILURE
        }
    }
}
