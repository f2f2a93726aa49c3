//! `catalyst` compiles an OpenOva Catalyst Sovereign spec and a Blueprint
//! catalog into the Git content Flux reconciles.
//!
//! The pipeline, one module per stage:
//! [`load`] → [`resolve`] (with [`validate`] and [`expr`]) → [`plan`] →
//! [`render`] → [`emit`]. [`lint`] runs rules over a catalog on its own. [`compile`] runs every stage up to an in-memory
//! [`render::Output`], which `build` writes and other commands can compare
//! or publish without touching the disk. Diagnostics share one model
//! ([`diagnostic`]) and several renderers ([`report`]). [`apply`] is the
//! runtime that publishes a compiled tree to the Git servers.

pub mod apply;
pub mod codes;
pub mod diagnostic;
pub mod diff;
pub mod emit;
pub mod expr;
pub mod graph;
pub mod infra;
pub mod lint;
pub mod load;
pub mod model;
pub mod plan;
pub mod render;
pub mod report;
pub mod resolve;
pub mod source;
pub mod sovereign;
pub mod validate;
pub mod vfs;
pub mod watch;
pub mod yaml;

use std::path::{Path, PathBuf};
use std::sync::Arc;

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

/// The Sovereign folders `sovereigns/<fqdn>/` that hold a sovereign.yaml below `root`, relative to it, sorted.
pub fn sovereigns_in(vfs: &dyn vfs::Vfs, root: &Path) -> Vec<PathBuf> {
    let mut found: Vec<PathBuf> = vfs
        .files_under(&root.join("sovereigns"))
        .into_iter()
        .filter_map(|file| {
            let relative = file.strip_prefix(root).ok()?;
            (relative.components().count() == 3 && relative.ends_with("sovereign.yaml"))
                .then(|| relative.parent().map(Path::to_path_buf))?
        })
        .collect();
    found.sort();
    found
}

/// Runs every stage up to the rendered tree, in memory, reading from disk.
pub fn compile(sovereign: &Path) -> Compilation {
    compile_in(Arc::new(vfs::DiskFs), sovereign)
}

/// [`compile`] reading the inputs from `vfs` (e.g. a Git commit's tree).
pub fn compile_in(vfs: Arc<dyn vfs::Vfs>, sovereign: &Path) -> Compilation {
    let mut sources = Sources::default();
    let mut diagnostics = Diagnostics::default();
    let output = compile_into(vfs, sovereign, &mut sources, &mut diagnostics);
    diagnostics.sort();
    Compilation { sources, diagnostics, output }
}

/// [`compile_in`] into the caller's sources and diagnostics (e.g. lint, which adds its own findings).
pub fn compile_into(vfs: Arc<dyn vfs::Vfs>, path: &Path, sources: &mut Sources, diagnostics: &mut Diagnostics) -> Option<Output> {
    let project = load::load(path, vfs, sources, diagnostics)?;
    diagnostics.extend(sovereign::check(&project, sources));
    if diagnostics.has_errors() {
        return None;
    }
    // Independent of the resolution: reported with its findings, not instead of them.
    diagnostics.extend(infra::check_spec(&project, sources));
    let resolution = resolve::resolve(&project, sources, diagnostics)?;
    let (pins, problems) = infra::check_pins(&project, &resolution.kit, resolution.used_blueprints(), sources);
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
