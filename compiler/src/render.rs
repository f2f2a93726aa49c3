//! Stage 5: the planned files as bytes. Objects and documents become YAML,
//! templates are rendered in the sandbox of [`crate::expr`] and normalized
//! through the same emitter, so every file has one canonical form.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex, PoisonError};

use rayon::prelude::*;
use serde_json::Value as Json;

use crate::diagnostic::{Diagnostic, Label};
use crate::load::Project;
use crate::plan::{Planned, PlannedFile};
use crate::source::Sources;
use crate::yaml;

/// The compiled tree, in memory: path relative to the output root → bytes.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Output {
    pub files: BTreeMap<String, Vec<u8>>,
}

/// Template texts by (Blueprint, file), or why one could not be read.
type TemplateCache = Mutex<HashMap<(usize, String), Result<Arc<str>, String>>>;

/// Renders planned files batch by batch into one [`Output`].
pub struct Renderer<'a> {
    project: &'a Project,
    sources: &'a Sources,
    output: Output,
    problems: Vec<Diagnostic>,
    /// Each template file read once, however many Applications render it: (Blueprint, file) → text or why not.
    templates: TemplateCache,
}

impl<'a> Renderer<'a> {
    pub fn new(project: &'a Project, sources: &'a Sources) -> Self {
        Renderer { project, sources, output: Output::default(), problems: Vec::new(), templates: Mutex::default() }
    }

    /// Renders one batch in parallel; the planned objects are dropped as soon as they are bytes.
    pub fn render(&mut self, files: Vec<PlannedFile>) {
        let (project, sources, templates) = (self.project, self.sources, &self.templates);
        let rendered: Vec<Result<(String, Vec<u8>), Diagnostic>> = files
            .into_par_iter()
            .map_init(crate::expr::environment, |env, file| {
                let text = match file.content {
                    Planned::Objects(objects) => yaml::to_yaml_stream(&objects),
                    Planned::Document(value) => yaml::to_yaml(&value),
                    Planned::Text(text) => text,
                    Planned::Json(value) => format!("{}\n", serde_json::to_string_pretty(&value).unwrap_or_default()),
                    Planned::CloudConfig(value) => format!("#cloud-config\n{}", yaml::to_yaml(&value)),
                    Planned::Template { blueprint, file: name, context } => {
                        let source = template_source(templates, project, blueprint, &name);
                        render_template(env, project, sources, blueprint, &name, source, &context)?
                    }
                };
                let mut bytes = text.into_bytes();
                bytes.shrink_to_fit();
                Ok((file.path, bytes))
            })
            .collect();
        for result in rendered {
            match result {
                Ok((path, bytes)) => {
                    self.output.files.insert(path, bytes);
                }
                Err(d) => self.problems.push(d),
            }
        }
    }

    pub fn finish(self) -> Result<Output, Vec<Diagnostic>> {
        if self.problems.is_empty() {
            Ok(self.output)
        } else {
            Err(self.problems)
        }
    }
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
    let read = crate::load::contained_path(vfs, &bp.dir, relative)
        .map_err(|e| format!("the template folder {e}"))
        .and_then(|dir| crate::load::read_text(vfs, &dir.join(name)).map_err(|d| d.message))
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
) -> Result<String, Diagnostic> {
    let bp = &project.catalog.blueprints[blueprint];
    let at = sources.span_at(bp.origin.file, "/spec/manifests/templates");
    let fail = |message: String| {
        Diagnostic::error("catalyst::render::template", format!("template `{name}` of {} failed: {message}", bp.id()))
            .with_label(Label::primary(at, "templates declared here"))
            .with_help("templates see `config`, `application`, `sovereign` and `secrets`; they must render Kubernetes YAML")
    };
    let source = source.map_err(fail)?;
    let text = crate::expr::render_text(env, &source, context).map_err(|e| fail(e.0))?;
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
    Ok(yaml::to_yaml_stream(&objects))
}
