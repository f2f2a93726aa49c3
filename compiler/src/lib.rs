//! `catalyst` compiles an OpenOva Catalyst Sovereign spec and a Blueprint
//! catalog into the Git content Flux reconciles.
//!
//! The library reads as the pipeline, a folder per concern:
//! - [`pipeline`]: the stages, in order: [`pipeline::load`] → [`pipeline::resolve`]
//!   (with [`pipeline::validate`] and [`pipeline::expr`]) → [`pipeline::plan`] →
//!   [`pipeline::render`] → [`pipeline::emit`]. [`compile`] runs every stage up to an
//!   in-memory [`pipeline::render::Output`], which `build` writes and other commands
//!   compare or publish without touching the disk.
//! - [`check`]: the judges of the inputs and the output (the Sovereign spec, the
//!   bring-up inputs and pins, the pinned releases, conformance, the reconcile
//!   check, the catalog's lint rules).
//! - [`ops`]: the commands beyond `build` and `check` as library operations:
//!   `diff`, `graph`, `check --watch`, and `apply`, the runtime that publishes
//!   a compiled tree to the Git servers.
//! - [`diagnostic`]: the one diagnostic model, its typed codes and its renderers.
//! - [`support`]: sources and spans, YAML, JSON pointers, cycles, the file
//!   systems the inputs are read from, `catalyst.toml`.
//! - [`model`]: the data types of the inputs.
//!
//! The binary (`main.rs`, one file per command in `cli/`) is argument handling over this API.

pub mod check;
pub mod diagnostic;
pub mod model;
pub mod ops;
pub mod pipeline;
pub mod support;

pub use pipeline::{compile, compile_in, compile_into, compile_with, default_output, sovereigns_in, Compilation, Options, Replaces};
