//! `catalyst` compiles an OpenOva Catalyst Sovereign spec and a Blueprint
//! catalog into the Git content Flux reconciles.
//!
//! The pipeline, one module per stage:
//! [`load`] → [`resolve`] (with [`validate`] and [`expr`]) → [`plan`] →
//! [`render`] → [`emit`]. [`compile`] runs every stage up to an in-memory
//! [`render::Output`], which `build` writes and other commands can compare
//! or publish without touching the disk. Diagnostics share one model
//! ([`diagnostic`]) and several renderers ([`report`]). [`apply`] is the
//! runtime that publishes a compiled tree to the Git servers.

pub mod apply;
pub mod codes;
pub mod diagnostic;
pub mod emit;
pub mod expr;
pub mod infra;
pub mod load;
pub mod model;
pub mod plan;
pub mod render;
pub mod report;
pub mod resolve;
pub mod source;
pub mod sovereign;
pub mod validate;
pub mod yaml;

use std::path::Path;

use diagnostic::Diagnostics;
use render::Output;
use source::Sources;

/// The result of compiling one Sovereign: the sources read, every diagnostic,
/// and the output when there were no errors.
#[derive(Debug)]
pub struct Compilation {
    pub sources: Sources,
    pub diagnostics: Diagnostics,
    pub output: Option<Output>,
}

/// Runs every stage up to the rendered tree, in memory.
pub fn compile(sovereign: &Path) -> Compilation {
    let mut sources = Sources::default();
    let mut diagnostics = Diagnostics::default();
    let output = compile_into(sovereign, &mut sources, &mut diagnostics);
    diagnostics.sort();
    Compilation { sources, diagnostics, output }
}

fn compile_into(path: &Path, sources: &mut Sources, diagnostics: &mut Diagnostics) -> Option<Output> {
    let project = load::load(path, sources, diagnostics)?;
    diagnostics.extend(sovereign::check(&project, sources));
    if diagnostics.has_errors() {
        return None;
    }
    // Independent of the resolution: reported with its findings, not instead of them.
    diagnostics.extend(infra::check_spec(&project, sources));
    let resolution = resolve::resolve(&project, sources, diagnostics)?;
    let (pins, problems) = infra::check_pins(&project, &resolution, sources);
    diagnostics.extend(problems);
    if diagnostics.has_errors() {
        return None;
    }
    let mut renderer = render::Renderer::new(&project, sources);
    plan::plan(&project, &resolution, pins.as_ref(), &mut |batch| renderer.render(batch));
    match renderer.finish() {
        Ok(output) => Some(output),
        Err(problems) => {
            diagnostics.extend(problems);
            None
        }
    }
}
