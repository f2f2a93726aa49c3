//! `catalyst explain`: the long explanation of a diagnostic code.

use catalyst::check::lint;
use catalyst::diagnostic::codes::{self, Exit};

use super::{out, say};

#[derive(clap::Args)]
pub struct Args {
    /// e.g. catalyst::resolve::cycle (the `catalyst::` prefix may be omitted)
    code: String,
}

pub fn run(args: Args) -> Exit {
    let code = args.code;
    match codes::find(&code) {
        Some(c) => {
            out(format!("{}: {}\n\n{}\n", c.id, c.summary, c.explanation));
            if let Some(rule) = lint::rule(c.id) {
                out(format!("\nDefault severity: {:?} (change it in catalyst.toml `[lint.rules]`).\n", rule.default));
            }
            Exit::Ok
        }
        None => {
            say!("error: unknown diagnostic code `{code}`; codes look like catalyst::resolve::cycle");
            Exit::Failure
        }
    }
}
