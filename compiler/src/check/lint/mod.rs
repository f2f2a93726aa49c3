//! `catalyst lint`: rules with stable codes (`catalyst::lint::<rule>`) over a
//! Blueprint catalog.
//!
//! Rules report what they find; the engine then applies the configuration
//! (`catalyst.toml`: off / warning / error per rule, ignored paths) and the
//! inline suppressions, so no rule knows about either. Files are read
//! through [`Vfs`] and judged as loosely typed JSON: a malformed Blueprint
//! gets findings, never a panic.

mod blueprint;
pub mod config;
mod depends;
pub mod emitted;
pub mod rules;
mod schema;

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::Value as Json;

use crate::diagnostic::codes;
use crate::diagnostic::codes::Code;
use crate::diagnostic::{Diagnostic, Diagnostics, Severity};
use crate::model::{Blueprint, BlueprintSpec};
use crate::pipeline::load::schema::InputKind;
use crate::support::config::Level;
use crate::support::source::{FileId, Origin, Sources, Span};
use crate::support::vfs::{DiskFs, Vfs};
use config::Config;
pub use rules::{rule, Rule, RULES};

/// What to lint.
#[derive(Clone, Debug, Default)]
pub struct Request {
    /// Catalog folders, highest precedence first.
    pub catalogs: Vec<PathBuf>,
    /// `catalyst.toml` to use instead of the one found above the first catalog.
    pub config: Option<PathBuf>,
    /// Sovereigns whose compiled output the emitted-object rules judge (compiled in memory).
    pub sovereigns: Vec<PathBuf>,
    /// Built trees (`catalyst build -o DIR`) the emitted-object rules judge.
    pub built: Vec<PathBuf>,
}

/// The files read and the findings, after configuration and suppressions.
#[derive(Debug)]
pub struct Linted {
    pub sources: Sources,
    pub diagnostics: Diagnostics,
}

/// One `blueprint.yaml` as read.
pub(crate) struct Entry {
    pub file: FileId,
    pub json: Json,
    /// Index of the catalog folder it was found in.
    pub catalog: usize,
    /// The typed Blueprint, when the file is well-formed enough to build one.
    pub blueprint: Option<Blueprint>,
}

/// What rules see: every Blueprint of the linted catalogs.
pub(crate) struct Catalog<'a> {
    pub vfs: &'a dyn Vfs,
    pub entries: Vec<Entry>,
}

impl Catalog<'_> {
    pub fn blueprints(&self) -> impl Iterator<Item = &Blueprint> {
        self.entries.iter().filter_map(|e| e.blueprint.as_ref())
    }
}

/// Lints catalogs on disk.
pub fn lint(request: &Request) -> Linted {
    lint_in(Arc::new(DiskFs), request)
}

/// [`lint`] reading through `vfs`.
pub fn lint_in(vfs: Arc<dyn Vfs>, request: &Request) -> Linted {
    let mut sources = Sources::default();
    let mut diagnostics = Diagnostics::default();
    let (config, settings) = Config::load(&*vfs, request, &mut sources, &mut diagnostics);
    let mut found = Vec::new();
    let entries = load(&*vfs, &request.catalogs, &mut sources, &mut found);
    let catalog = Catalog { vfs: &*vfs, entries };
    found.extend(blueprint::check(&catalog, &mut sources));
    found.extend(schema::check(&catalog, &sources));
    found.extend(depends::check(&catalog, &sources));
    // Objects are judged by the CRDs `check` uses; whether every kind has one is `check`'s concern.
    let options = if request.sovereigns.is_empty() {
        crate::Options::default()
    } else {
        crate::Options::for_check(&*vfs, settings.as_ref(), &[], true, &mut sources, &mut diagnostics)
    };
    for sovereign in &request.sovereigns {
        let mut compiled = Diagnostics::default();
        let output = crate::compile_into(vfs.clone(), sovereign, &options, &mut sources, &mut compiled);
        found.extend(compiled);
        // Shown where `catalyst build` writes by default: out/<fqdn>/.
        let folder = if sovereign.ends_with("sovereign.yaml") { sovereign.parent().unwrap_or(sovereign) } else { sovereign };
        let shown = Path::new("out").join(folder.file_name().unwrap_or_default());
        found.extend(output.map(|output| emitted::check(&output, &shown, &mut sources)).unwrap_or_default());
    }
    for dir in &request.built {
        match emitted::read_built(&*vfs, dir) {
            Ok(output) => {
                found.extend(emitted::check(&output, dir, &mut sources));
                found.extend(crate::check::reconcile::check_built(&output, dir, &mut sources));
            }
            Err(d) => found.push(d),
        }
    }
    diagnostics.extend(judge(found, &config, &*vfs, &sources));
    diagnostics.sort();
    Linted { sources, diagnostics }
}

/// Applies the configuration and the suppressions to the rules' findings.
fn judge(found: Vec<Diagnostic>, config: &Config, vfs: &dyn Vfs, sources: &Sources) -> Vec<Diagnostic> {
    // A dedicated rule's finding wins over the generic schema finding at the same place.
    let dedicated: HashSet<(FileId, usize, usize)> =
        found.iter().filter(|d| d.code != &rules::SCHEMA.code).filter_map(|d| d.primary_span()).map(key).collect();
    let (suppressions, malformed) = config::Suppressions::scan(sources);
    let mut kept = Vec::new();
    for mut d in found.into_iter().chain(malformed) {
        let span = d.primary_span();
        let Some(rule) = rule(d.code.id) else {
            kept.push(d); // I/O and YAML problems are not rules: always reported.
            continue;
        };
        if d.code == &rules::SCHEMA.code && span.is_some_and(|s| dedicated.contains(&key(s))) {
            continue;
        }
        d.severity = match config.level(rule) {
            Level::Off => continue,
            Level::Warning => Severity::Warning,
            Level::Error => Severity::Error,
        };
        let path = span.map(|s| sources.path(s.file));
        if path.is_some_and(|p| config.ignores(vfs, p, rule)) {
            continue;
        }
        if rule.name() != "suppression" && span.is_some_and(|s| suppressions.allows(sources, s, rule)) {
            continue;
        }
        kept.push(d);
    }
    kept
}

fn key(span: Span) -> (FileId, usize, usize) {
    (span.file, span.start, span.end)
}

/// Re-labels a finding of shared checking code (the loader's, the pin checks') as a lint rule's.
fn recode(mut d: Diagnostic, code: impl Into<&'static Code>) -> Diagnostic {
    d.code = code.into();
    d
}

/// Reads every `blueprint.yaml` below the catalog folders; unreadable files become findings.
fn load(vfs: &dyn Vfs, dirs: &[PathBuf], sources: &mut Sources, found: &mut Vec<Diagnostic>) -> Vec<Entry> {
    let mut entries = Vec::new();
    for (catalog, dir) in dirs.iter().enumerate() {
        if !vfs.is_dir(dir) {
            found.push(
                Diagnostic::error(codes::IO_NOT_FOUND, format!("catalog folder `{}` does not exist", dir.display()))
                    .with_help("name a folder that holds blueprint.yaml files, e.g. `catalyst lint blueprints/`"),
            );
            continue;
        }
        let mut files: Vec<PathBuf> =
            vfs.files_under(dir).into_iter().filter(|p| p.file_name().is_some_and(|n| n == "blueprint.yaml")).collect();
        files.sort();
        for path in files {
            let text = match crate::pipeline::load::read_text(vfs, &path) {
                Ok(text) => text,
                Err(d) => {
                    found.push(d);
                    continue;
                }
            };
            let file = sources.add(&path, text);
            let root = match crate::support::yaml::parse(file, &sources.get(file).text) {
                Ok(root) => root,
                Err(d) => {
                    found.push(d);
                    continue;
                }
            };
            let json = root.to_json();
            sources.set_root(file, root);
            found.extend(
                crate::pipeline::load::schema::check(InputKind::Blueprint, file, &json, sources)
                    .into_iter()
                    .map(|d| recode(d, rules::SCHEMA)),
            );
            let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
            let mut blueprint = typed(&json, &dir, file);
            if let Some(bp) = &mut blueprint {
                // Every rule sees the chart the convention names, as the compiler does.
                let convention = crate::pipeline::load::chart_convention(vfs, &bp.dir, &mut bp.spec, file, sources);
                found.extend(convention.map(|d| recode(d, rules::MANIFESTS_CONVENTION)));
            }
            entries.push(Entry { file, json, catalog, blueprint });
        }
    }
    entries
}

/// Where the version is written: `spec.version`, else the legacy `metadata.version`.
fn version_field(json: &Json) -> Option<(&'static str, &Json)> {
    ["/spec/version", "/metadata/version"].into_iter().find_map(|p| json.pointer(p).map(|v| (p, v)))
}

fn typed(json: &Json, dir: &Path, file: FileId) -> Option<Blueprint> {
    let name = json.pointer("/metadata/name")?.as_str()?.to_string();
    let (version_pointer, version) = version_field(json)?;
    let version = semver::Version::parse(version.as_str()?).ok()?;
    let spec: BlueprintSpec = serde_json::from_value(json.get("spec")?.clone()).ok()?;
    Some(Blueprint { name, version, dir: dir.to_path_buf(), spec, origin: Origin::new(file, ""), version_pointer, digest: String::new() })
}
