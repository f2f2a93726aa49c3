//! Stage 5: the planned files as bytes. Objects and documents become YAML,
//! templates are rendered in the sandbox of [`crate::pipeline::expr`] and normalized
//! through the same emitter, so every file has one canonical form. Every
//! Kubernetes object is judged by [`crate::check::conform`] on the way, before it
//! is text.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use rayon::prelude::*;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use crate::check::conform::{SchemaSet, Verdicts};
use crate::check::reconcile::Facts;
use crate::check::releases::Pinned;
use crate::diagnostic::codes;
use crate::diagnostic::{Diagnostic, Label};
use crate::pipeline::emit::Previous;
use crate::pipeline::load::Project;
use crate::pipeline::plan::{Part, Planned, PlannedFile};
use crate::support::source::Origin;
use crate::support::source::Sources;
use crate::support::yaml;

/// The compiled tree, in memory: path relative to the output root → bytes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Output {
    pub files: BTreeMap<String, Vec<u8>>,
    /// Files not rendered to bytes because the tree on disk already holds them (see
    /// [`Keep::reuse`]), with the fingerprint of their content.
    pub reused: Vec<(String, Fingerprint)>,
    /// The fingerprints of the content of `files`, when rendering was asked to reuse.
    pub fingerprints: foldhash::HashMap<String, Fingerprint>,
}

/// SHA-256 (its first 128 bits) of a file's planned content: the objects, document or
/// text it is rendered from. Equal fingerprints render to equal bytes.
pub type Fingerprint = [u8; 16];

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
    inputs: Inputs<'a>,
    rendered: Rendered,
}

/// What every file is rendered with.
#[derive(Clone, Copy)]
struct Inputs<'a> {
    project: &'a Project,
    sources: &'a Sources,
    schemas: &'a SchemaSet<'a>,
    keep: Keep<'a>,
    /// Each template file read once, however many Applications (and parts) render it: (Blueprint, file) → text or why not.
    templates: &'a TemplateCache,
}

/// What rendering keeps besides the verdicts.
#[derive(Clone, Copy, Debug)]
pub struct Keep<'p> {
    /// The bytes (`build`, `diff`, `apply`), or only the verdicts (`check`).
    pub bytes: bool,
    /// What the reconcile check reads.
    pub facts: bool,
    /// The tree a rebuild writes over: a file whose bytes it holds is fingerprinted, not rendered.
    pub reuse: Option<&'p Previous>,
}

impl Keep<'_> {
    /// Bytes, and facts as `facts` says.
    pub fn bytes(facts: bool) -> Self {
        Keep { bytes: true, facts, reuse: None }
    }
}

/// One file's outcome.
struct FileOutcome {
    path: String,
    /// Other paths with the same bytes.
    copies: Vec<String>,
    bytes: Kept,
    conformance: Verdicts,
    /// What the reconcile check's facts are taken from, once the file's chunk is rendered.
    judged: Option<Judged>,
}

/// The values of a file the reconcile check reads, with the input the file was emitted for.
enum Judged {
    Objects(Vec<Json>, Option<Origin>),
    Document(Json, Option<Origin>),
}

impl Rendered {
    /// Adds one file's outcome: its verdicts, and its bytes or why it has none.
    fn add(&mut self, outcome: Result<FileOutcome, Diagnostic>) {
        let outcome = match outcome {
            Ok(outcome) => outcome,
            Err(d) => return self.problems.push(d),
        };
        self.conformance.merge(outcome.conformance);
        let paths = outcome.copies.into_iter().chain([outcome.path]);
        match outcome.bytes {
            Kept::Nothing => {}
            Kept::Bytes(mut bytes, fingerprint) => {
                let mut paths = paths.peekable();
                while let Some(path) = paths.next() {
                    self.output.fingerprints.extend(fingerprint.map(|f| (path.clone(), f)));
                    // The bytes are moved into the last path (most files have no copy), cloned for the others.
                    let bytes = if paths.peek().is_some() { bytes.clone() } else { std::mem::take(&mut bytes) };
                    self.output.files.insert(path, bytes);
                }
            }
            Kept::Reused(fingerprint) => self.output.reused.extend(paths.map(|path| (path, fingerprint))),
        }
    }

    /// Adds other parts (the parts' files are disjoint).
    pub fn merge(&mut self, others: Vec<Rendered>) {
        let mut facts = Vec::with_capacity(others.len());
        for other in others {
            self.output.files.extend(other.output.files);
            self.output.reused.extend(other.output.reused);
            self.output.fingerprints.extend(other.output.fingerprints);
            self.problems.extend(other.problems);
            self.conformance.merge(other.conformance);
            facts.push(other.facts);
        }
        self.facts.extend(facts);
    }
}

/// Plans and renders `parts` in parallel (each part renders its batches in parallel too).
pub fn parts(
    project: &Project,
    sources: &Sources,
    schemas: &SchemaSet<'_>,
    pinned: &Pinned,
    keep: Keep<'_>,
    parts: &[Part<'_>],
) -> Rendered {
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
    all.merge(rendered);
    all
}

impl<'a> Renderer<'a> {
    fn new(project: &'a Project, sources: &'a Sources, schemas: &'a SchemaSet<'a>, keep: Keep<'a>, templates: &'a TemplateCache) -> Self {
        Renderer { inputs: Inputs { project, sources, schemas, keep, templates }, rendered: Rendered::default() }
    }

    /// Renders one batch in parallel, in chunks of a fixed size so that the facts' strings are
    /// numbered the same on every run. Each chunk's files are rendered, then their reconcile
    /// facts gathered (each kind of work keeps its tables in the cache while it runs), and the
    /// planned objects are dropped as soon as the chunk is done.
    fn render(&mut self, files: Vec<PlannedFile>) {
        let inputs = self.inputs;
        let chunks: Vec<(Vec<Result<FileOutcome, Diagnostic>>, Facts)> = files
            .into_par_iter()
            .chunks(CHUNK)
            .map_init(crate::pipeline::expr::template_environment, |env, chunk| {
                let mut outcomes: Vec<Result<FileOutcome, Diagnostic>> =
                    chunk.into_iter().map(|file| inputs.render_file(env, file)).collect();
                let mut facts = Facts::default();
                for outcome in outcomes.iter_mut().flatten() {
                    let kustomization = match outcome.judged.take() {
                        Some(Judged::Objects(objects, origin)) => {
                            facts.add_objects(&outcome.path, &objects, origin.as_ref());
                            false
                        }
                        Some(Judged::Document(document, origin)) => facts.add_kustomization(&outcome.path, &document, origin.as_ref()),
                        None => false,
                    };
                    // Copies are judged through their original: a copied kustomization.yaml says
                    // which folder holds the same files as which.
                    for copy in outcome.copies.iter().filter(|_| kustomization) {
                        facts.add_copy(&outcome.path, copy);
                    }
                }
                (outcomes, facts)
            })
            .collect();
        let (outcomes, facts): (Vec<_>, Vec<_>) = chunks.into_iter().unzip();
        for outcome in outcomes.into_iter().flatten() {
            self.rendered.add(outcome);
        }
        self.rendered.facts.extend(facts);
    }
}

/// Files rendered one after the other by one thread: enough to keep the per-chunk facts'
/// string tables and their merge cheap, few enough for the threads to share a batch evenly.
const CHUNK: usize = 256;

impl Inputs<'_> {
    /// Renders one file, keeping what the reconcile check reads of it when `keep` asks.
    fn render_file(self, env: &mut minijinja::Environment<'static>, file: PlannedFile) -> Result<FileOutcome, Diagnostic> {
        let Inputs { project, sources, schemas, keep, templates } = self;
        let PlannedFile { path, content, origin, copies } = file;
        let objects = match content {
            Planned::Objects(objects) => objects,
            Planned::Template { blueprint, file: name, context } => {
                let source = template_source(templates, project, blueprint, &name);
                render_template(env, project, sources, blueprint, &name, source, &context)?
            }
            Planned::Document(value) => {
                let bytes = keep.kept(&path, &copies, || fingerprint(Form::Document, |h| feed_json(h, &value)), || yaml::to_yaml(&value));
                let judged = keep.facts.then(|| Judged::Document(value, origin));
                return Ok(FileOutcome { path, copies, bytes, conformance: Verdicts::default(), judged });
            }
            Planned::Text(text) => return Ok(plain(keep, path, copies, Form::Text, |h| h.update(text.as_bytes()), || text.clone())),
            Planned::Json(value) => {
                let text = || format!("{}\n", serde_json::to_string_pretty(&value).unwrap_or_default());
                return Ok(plain(keep, path, copies, Form::Json, |h| feed_json(h, &value), text));
            }
            Planned::CloudConfig(value) => {
                let text = || format!("#cloud-config\n{}", yaml::to_yaml(&value));
                return Ok(plain(keep, path, copies, Form::CloudConfig, |h| feed_json(h, &value), text));
            }
        };
        let mut conformance = schemas.check_file(&path, &objects);
        let bytes = if conformance.has_problems() {
            // A file with a problem is shown, so it is text even when nothing is kept.
            let text = yaml::to_yaml_stream(&objects);
            conformance = conformance.with_text(&text, origin.as_ref());
            if keep.bytes {
                Kept::Bytes(into_bytes(text), None)
            } else {
                Kept::Nothing
            }
        } else {
            keep.kept(
                &path,
                &copies,
                || fingerprint(Form::Objects, |h| objects.iter().for_each(|o| feed_json(h, o))),
                || yaml::to_yaml_stream(&objects),
            )
        };
        let judged = keep.facts.then(|| Judged::Objects(objects, origin));
        Ok(FileOutcome { path, copies, bytes, conformance, judged })
    }
}

/// What rendering kept of one file.
enum Kept {
    /// Nothing: only the verdicts are kept (`check`).
    Nothing,
    /// The bytes, with the fingerprint of their content when rendering reuses.
    Bytes(Vec<u8>, Option<Fingerprint>),
    /// No bytes: the tree on disk holds them.
    Reused(Fingerprint),
}

impl Keep<'_> {
    /// The bytes `text` renders, unless the tree to reuse already holds those of this content
    /// at `path` and every copy.
    fn kept(&self, path: &str, copies: &[String], fingerprint: impl FnOnce() -> Fingerprint, text: impl FnOnce() -> String) -> Kept {
        if !self.bytes {
            return Kept::Nothing;
        }
        let Some(previous) = self.reuse else { return Kept::Bytes(into_bytes(text()), None) };
        let fingerprint = fingerprint();
        if previous.holds(path, &fingerprint) && copies.iter().all(|copy| previous.holds(copy, &fingerprint)) {
            Kept::Reused(fingerprint)
        } else {
            Kept::Bytes(into_bytes(text()), Some(fingerprint))
        }
    }
}

/// A file that holds no Kubernetes objects: written as `text`, nothing to judge.
fn plain(
    keep: Keep<'_>,
    path: String,
    copies: Vec<String>,
    form: Form,
    content: impl FnOnce(&mut Sha256),
    text: impl FnOnce() -> String,
) -> FileOutcome {
    let bytes = keep.kept(&path, &copies, || fingerprint(form, content), text);
    FileOutcome { path, copies, bytes, conformance: Verdicts::default(), judged: None }
}

/// How planned content becomes text: the same value renders differently in each form.
#[derive(Clone, Copy)]
enum Form {
    Objects,
    Document,
    Text,
    Json,
    CloudConfig,
}

/// The fingerprint of what `content` feeds, rendered in `form`.
fn fingerprint(form: Form, content: impl FnOnce(&mut Sha256)) -> Fingerprint {
    let mut hasher = Sha256::new();
    hasher.update([form as u8]);
    content(&mut hasher);
    let digest = hasher.finalize();
    let mut fingerprint = Fingerprint::default();
    fingerprint.copy_from_slice(&digest[..16]);
    fingerprint
}

/// Feeds a JSON value unambiguously: a tag per kind, lengths before contents, keys in order.
fn feed_json(hasher: &mut Sha256, value: &Json) {
    let feed_str = |hasher: &mut Sha256, text: &str| {
        hasher.update((text.len() as u64).to_le_bytes());
        hasher.update(text.as_bytes());
    };
    match value {
        Json::Null => hasher.update([0]),
        Json::Bool(b) => hasher.update([1, u8::from(*b)]),
        Json::Number(n) => {
            // Exact whichever way serde_json holds it: as u64, i64 or f64 (tagged apart).
            let (kind, bits) = match (n.as_u64(), n.as_i64()) {
                (Some(u), _) => (0, u.to_le_bytes()),
                (None, Some(i)) => (1, i.to_le_bytes()),
                (None, None) => (2, n.as_f64().unwrap_or_default().to_bits().to_le_bytes()),
            };
            hasher.update([2, kind]);
            hasher.update(bits);
        }
        Json::String(text) => {
            hasher.update([3]);
            feed_str(hasher, text);
        }
        Json::Array(items) => {
            hasher.update([4]);
            hasher.update((items.len() as u64).to_le_bytes());
            items.iter().for_each(|item| feed_json(hasher, item));
        }
        Json::Object(map) => {
            hasher.update([5]);
            hasher.update((map.len() as u64).to_le_bytes());
            for (key, item) in map {
                feed_str(hasher, key);
                feed_json(hasher, item);
            }
        }
    }
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
