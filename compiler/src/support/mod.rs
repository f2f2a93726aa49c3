//! What every stage reads through: [`source`] files and spans, [`yaml`] with
//! spans in and canonical YAML out, the [`vfs`] the inputs come from (disk or
//! a Git commit), and the [`config`] of `catalyst.toml`.

pub mod config;
pub mod cycles;
pub mod pointer;
pub mod source;
pub mod vfs;
pub mod yaml;
