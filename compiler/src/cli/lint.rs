//! `catalyst lint`: the lint rules over Blueprint catalogs, and over emitted trees.

use std::path::PathBuf;

use catalyst::check::lint;
use catalyst::diagnostic::codes::Exit;
use catalyst::diagnostic::format::Format;

use super::print_diagnostics;

#[derive(clap::Args)]
pub struct Args {
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
}

pub fn run(format: Format, args: Args) -> Exit {
    let Args { catalogs, config, sovereigns, built } = args;
    let linted = lint::lint(&lint::Request { catalogs, config, sovereigns, built });
    print_diagnostics(format, &linted.diagnostics, &linted.sources);
    linted.diagnostics.exit()
}
