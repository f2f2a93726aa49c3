//! The `catalyst` command line: argument handling over the library, nothing
//! more. Each command is a file of [`cli`].

mod cli;

use std::process::ExitCode;

use clap::{CommandFactory, Parser, Subcommand};

use catalyst::diagnostic::codes::Exit;
use catalyst::diagnostic::format::Format;

use cli::{out, say};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

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
    Check(cli::check::Args),
    /// Compile a Sovereign into its GitOps tree
    Build(cli::build::Args),
    /// Show what a change does to the rendered output, per object, between two Git revisions
    Diff(cli::diff::Args),
    /// Draw the resolved dependency graph (Graphviz DOT, Mermaid or JSON)
    Graph(cli::graph::Args),
    /// Run the lint rules over Blueprint catalogs (configured by the nearest catalyst.toml)
    Lint(cli::lint::Args),
    /// Publish a compiled tree to the Git servers Flux pulls from
    Apply(cli::apply::Args),
    /// Prepare the promotion of an Application into the next Environment: a branch whose pull request merges cleanly, and the target's gates
    Promote(cli::promote::Args),
    /// Print the long explanation of a diagnostic code
    Explain(cli::explain::Args),
    /// Print a shell completion script, e.g. `catalyst completions bash > /etc/bash_completion.d/catalyst`
    Completions { shell: clap_complete::Shell },
    /// Print the man page (roff), e.g. `catalyst man > catalyst.1`
    Man,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = cli.format;
    let exit = match cli.command {
        Command::Check(args) => cli::check::run(format, args),
        Command::Build(args) => cli::build::run(format, args),
        Command::Diff(args) => cli::diff::run(format, args),
        Command::Graph(args) => cli::graph::run(format, args),
        Command::Lint(args) => cli::lint::run(format, args),
        Command::Apply(args) => cli::apply::run(format, args),
        Command::Promote(args) => cli::promote::run(format, args),
        Command::Explain(args) => cli::explain::run(args),
        Command::Completions { shell } => {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "catalyst", &mut script);
            out(script);
            Exit::Ok
        }
        Command::Man => {
            let mut page = Vec::new();
            match clap_mangen::Man::new(Cli::command()).render(&mut page) {
                Ok(()) => {
                    out(page);
                    Exit::Ok
                }
                Err(e) => {
                    say!("error: cannot write the man page: {e}");
                    Exit::Failure
                }
            }
        }
    };
    ExitCode::from(exit as u8)
}
