//! `catalyst graph`: the resolved dependency graph as DOT, Mermaid or JSON.

use std::path::PathBuf;
use std::sync::Arc;

use catalyst::diagnostic::codes::Exit;
use catalyst::diagnostic::format::Format;
use catalyst::ops::graph;
use catalyst::support::vfs::DiskFs;

use super::{out, print_diagnostics_on};

#[derive(clap::Args)]
pub struct Args {
    /// The Sovereign folder (or its sovereign.yaml)
    sovereign: PathBuf,
    /// What to draw
    #[arg(long, value_enum, default_value_t = graph::View::Blueprints)]
    view: graph::View,
    /// Output format of the graph
    #[arg(short = 'T', long = "to", value_enum, default_value_t = graph::format::GraphFormat::Dot)]
    to: graph::format::GraphFormat,
    /// Only this Environment (`<org>-<env>`)
    #[arg(long)]
    env: Option<String>,
    /// Only what surrounds this Application or Blueprint
    #[arg(long)]
    focus: Option<String>,
    /// How many edges away from --focus to draw
    #[arg(long, default_value_t = 2, requires = "focus")]
    depth: usize,
}

pub fn run(format: Format, args: Args) -> Exit {
    let Args { sovereign, view, to, env, focus, depth } = args;
    let drawn = graph::draw(Arc::new(DiskFs), &sovereign, view, &graph::Filter { env, focus, depth });
    // The picture explains the errors, so it is printed even when there are some.
    if let Some(drawn_graph) = &drawn.graph {
        out(graph::format::render(to, drawn_graph));
    }
    print_diagnostics_on(format, &drawn.diagnostics, &drawn.sources, false);
    drawn.diagnostics.exit()
}
