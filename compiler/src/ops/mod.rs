//! The commands beyond `build` and `check`, as library operations the CLI
//! calls: [`diff`] two revisions' output, draw the [`graph`], [`watch`] the
//! inputs, and [`apply`] a compiled tree to the Git servers.

pub mod apply;
pub mod diff;
pub mod graph;
pub mod watch;
