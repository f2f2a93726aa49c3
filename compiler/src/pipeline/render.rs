//! Stage 5: the planned files as bytes. Objects and documents become YAML,
//! templates are rendered in the sandbox of [`crate::pipeline::expr`] and normalized
//! through the same emitter, so every file has one canonical form. Every
//! Kubernetes object is judged by [`crate::check::conform`] on the way, before it
//! is text.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use rayon::prelude::*;
use serde_json::Value as Json;

use crate::check::conform::{SchemaSet, Verdicts};
use crate::check::reconcile::Facts;
use crate::check::releases::Pinned;
use crate::diagnostic::codes;
use crate::diagnostic::{Diagnostic, Label};
use crate::pipeline::load::Project;
use crate::pipeline::plan::{Part, Planned, PlannedFile};
use crate::support::source::Origin;
use crate::support::source::Sources;
use crate::support::yaml;

/// The compiled tree, in memory: path relative to the output root → bytes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Output {
    pub files: BTreeMap<String, Vec<u8>>,
}

/// Template texts by (Blueprint, file), or why one could not be read.
type TemplateCache = Mutex<HashMap<(usize, String), Result<Arc<str>, String>>>;

/// What rendering came to: the tree (empty when the bytes were not kept), the
/// templates that failed, and the conformance of every object.
#[derive(Clone, Default)]
pub struct Rendered {
    pub output: Output,
    pub problems: Vec<Diagnostic>,
    pub conformance: Verdicts,
    /// What the reconcile check reads of every file.
    pub facts: Facts,
}

/// Renders planned files batch by batch into one [`Rendered`] part.
struct Renderer<'a> {
    project: &'a Project,
    sources: &'a Sources,
    schemas: &'a SchemaSet<'a>,
    keep: Keep,
    rendered: Rendered,
    /// Each template file read once, however many Applications (and parts) render it: (Blueprint, file) → text or why not.
    templates: &'a TemplateCache,
}

/// What rendering keeps besides the verdicts.
#[derive(Clone, Copy, Debug)]
pub struct Keep {
    /// The bytes (`build`, `diff`, `apply`), or only the verdicts (`check`).
    pub bytes: bool,
    /// What the reconcile check reads.
    pub facts: bool,
}

/// One file's outcome.
struct FileOutcome {
    path: String,
    bytes: Option<Vec<u8>>,
    conformance: Verdicts,
    /// What the reconcile check's facts are taken from, once the file is done.
    judged: Option<Judged>,
}

/// The values of a file the reconcile check reads, with the input the file was emitted for.
enum Judged {
    Objects(Vec<Json>, Option<Origin>),
    Document(Json, Option<Origin>),
}

impl Rendered {
    /// Adds another part (the parts' files are disjoint).
    pub fn merge(&mut self, other: Rendered) {
        self.output.files.extend(other.output.files);
        self.problems.extend(other.problems);
        self.conformance.merge(other.conformance);
        self.facts.merge(other.facts);
    }
}

/// Plans and renders `parts` in parallel (each part renders its batches in parallel too).
pub fn parts(project: &Project, sources: &Sources, schemas: &SchemaSet<'_>, pinned: &Pinned, keep: Keep, parts: &[Part<'_>]) -> Rendered {
    let templates = TemplateCache::default();
    let rendered: Vec<Rendered> = parts
        .par_iter()
        .map(|part| {
            let mut renderer = Renderer::new(project, sources, schemas, keep, &templates);
            part.plan(project, pinned, &mut |batch| renderer.render(batch));
            renderer.rendered
        })
        .collect();
    let mut all = Rendered::default();
    rendered.into_iter().for_each(|part| all.merge(part));
    all
}

impl<'a> Renderer<'a> {
    fn new(project: &'a Project, sources: &'a Sources, schemas: &'a SchemaSet<'a>, keep: Keep, templates: &'a TemplateCache) -> Self {
        Renderer { project, sources, schemas, keep, rendered: Rendered::default(), templates }
    }

    /// Renders one batch in parallel; the planned objects are dropped as soon as they are bytes.
    fn render(&mut self, files: Vec<PlannedFile>) {
        let (project, sources, schemas, keep, templates) = (self.project, self.sources, self.schemas, self.keep, self.templates);
        let outcomes: Vec<Result<FileOutcome, Diagnostic>> = files
            .into_par_iter()
            .map_init(crate::pipeline::expr::template_environment, |env, file| {
                let objects = match file.content {
                    Planned::Objects(objects) => objects,
                    Planned::Template { blueprint, file: name, context } => {
                        let source = template_source(templates, project, blueprint, &name);
                        render_template(env, project, sources, blueprint, &name, source, &context)?
                    }
                    Planned::Document(value) => {
                        let outcome = plain(file.path, keep.bytes, || yaml::to_yaml(&value));
                        return Ok(FileOutcome { judged: keep.facts.then(|| Judged::Document(value, file.origin)), ..outcome });
                    }
                    Planned::Text(text) => return Ok(plain(file.path, keep.bytes, || text)),
                    Planned::Json(value) => {
                        return Ok(plain(file.path, keep.bytes, || {
                            format!("{}\n", serde_json::to_string_pretty(&value).unwrap_or_default())
                        }))
                    }
                    Planned::CloudConfig(value) => {
                        return Ok(plain(file.path, keep.bytes, || format!("#cloud-config\n{}", yaml::to_yaml(&value))))
                    }
                };
                let mut conformance = schemas.check_file(&file.path, &objects);
                // A file with a problem is shown, so it is text even when nothing is kept.
                let text = (keep.bytes || conformance.has_problems()).then(|| yaml::to_yaml_stream(&objects));
                if conformance.has_problems() {
                    conformance = conformance.with_text(text.as_deref().unwrap_or_default(), file.origin.as_ref());
                }
                let bytes = text.filter(|_| keep.bytes).map(into_bytes);
                let judged = keep.facts.then(|| Judged::Objects(objects, file.origin));
                Ok(FileOutcome { path: file.path, bytes, conformance, judged })
            })
            .collect();
        for outcome in outcomes {
            match outcome {
                Ok(outcome) => {
                    self.rendered.conformance.merge(outcome.conformance);
                    match outcome.judged {
                        Some(Judged::Objects(objects, origin)) => self.rendered.facts.add_objects(&outcome.path, &objects, origin),
                        Some(Judged::Document(document, origin)) => {
                            self.rendered.facts.add_kustomization(&outcome.path, &document, origin);
                        }
                        None => {}
                    }
                    if let Some(bytes) = outcome.bytes {
                        self.rendered.output.files.insert(outcome.path, bytes);
                    }
                }
                Err(d) => self.rendered.problems.push(d),
            }
        }
    }
}

/// A file that holds no Kubernetes objects: written as `text`, nothing to judge.
fn plain(path: String, keep: bool, text: impl FnOnce() -> String) -> FileOutcome {
    FileOutcome { path, bytes: keep.then(|| into_bytes(text())), conformance: Verdicts::default(), judged: None }
}

fn into_bytes(text: String) -> Vec<u8> {
    let mut bytes = text.into_bytes();
    bytes.shrink_to_fit();
    bytes
}

/// The text of a template file, read through the cache.
fn template_source(cache: &TemplateCache, project: &Project, blueprint: usize, name: &str) -> Result<Arc<str>, String> {
    let key = (blueprint, name.to_string());
    if let Some(known) = cache.lock().unwrap_or_else(PoisonError::into_inner).get(&key) {
        return known.clone();
    }
    let bp = &project.catalog.blueprints[blueprint];
    let relative = bp.spec.manifests.templates.as_deref().unwrap_or_default();
    let vfs = &*project.vfs;
    let read = crate::pipeline::load::contained_path(vfs, &bp.dir, relative)
        .map_err(|e| format!("the template folder {e}"))
        .and_then(|dir| crate::pipeline::load::read_text(vfs, &dir.join(name)).map_err(|d| d.message))
        .map(Arc::from);
    cache.lock().unwrap_or_else(PoisonError::into_inner).insert(key, read.clone());
    read
}

fn render_template(
    env: &minijinja::Environment<'static>,
    project: &Project,
    sources: &Sources,
    blueprint: usize,
    name: &str,
    source: Result<Arc<str>, String>,
    context: &Json,
) -> Result<Vec<Json>, Diagnostic> {
    let bp = &project.catalog.blueprints[blueprint];
    let at = sources.span_at(bp.origin.file, "/spec/manifests/templates");
    let fail = |message: String| {
        Diagnostic::error(codes::RENDER_TEMPLATE, format!("template `{name}` of {} failed: {message}", bp.id()))
            .with_label(Label::primary(at, "templates declared here"))
            .with_help("templates see `config`, `application`, `sovereign` and `secrets`; they must render Kubernetes YAML")
    };
    let source = source.map_err(fail)?;
    let text = crate::pipeline::expr::render_text(env, &source, context).map_err(|e| fail(e.0))?;
    let documents = yaml::parse_stream(&text).map_err(|e| fail(format!("the output is not YAML: {e}")))?;
    let mut objects = Vec::new();
    for document in documents.into_iter().filter(|d| !d.is_null()) {
        let named = document.pointer("/metadata/name").and_then(Json::as_str).is_some_and(|n| !n.is_empty());
        let kind = document.get("kind").and_then(Json::as_str).unwrap_or("?").to_string();
        if !named {
            return Err(fail(format!("a rendered `{kind}` has no metadata.name")));
        }
        objects.push(document);
    }
    Ok(objects)
}
