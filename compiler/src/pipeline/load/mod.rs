//! Stage 1: read the catalog and the Sovereign spec (from disk or a Git
//! tree, through [`Vfs`]) into the [`crate::model`], keeping every file in
//! [`Sources`] for diagnostics.

pub mod names;
pub mod schema;

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use rayon::prelude::*;
use serde::de::DeserializeOwned;
use serde_json::Value as Json;
use sha2::{Digest, Sha256};

use crate::diagnostic::codes;
use crate::diagnostic::{Diagnostic, Diagnostics, Label};
use crate::model::{Blueprint, BlueprintSpec, Organization, OrganizationSpec, Sovereign, SovereignSpec};
use crate::support::source::{FileId, Origin, Sources};
use crate::support::vfs::Vfs;
use crate::support::yaml;
use schema::InputKind;

/// Largest input file read, in bytes.
pub const MAX_FILE_SIZE: u64 = 8 * 1024 * 1024;

/// Everything the compiler reads for one Sovereign.
#[derive(Debug)]
pub struct Project {
    pub catalog: Catalog,
    pub sovereign: Sovereign,
    /// Where the inputs were read; later stages read templates and charts from it too.
    pub vfs: Arc<dyn Vfs>,
}

/// Blueprints by name, each name's versions newest first.
#[derive(Debug, Default)]
pub struct Catalog {
    pub blueprints: Vec<Blueprint>,
    by_name: BTreeMap<String, Vec<usize>>,
}

impl Catalog {
    fn insert(&mut self, blueprint: Blueprint) -> Result<(), &Blueprint> {
        let versions = self.by_name.entry(blueprint.name.clone()).or_default();
        if let Some(&existing) = versions.iter().find(|&&i| self.blueprints[i].version == blueprint.version) {
            return Err(&self.blueprints[existing]);
        }
        versions.push(self.blueprints.len());
        self.blueprints.push(blueprint);
        Ok(())
    }

    fn finish(&mut self) {
        let blueprints = &self.blueprints;
        for versions in self.by_name.values_mut() {
            versions.sort_by(|&a, &b| blueprints[b].version.cmp(&blueprints[a].version));
        }
    }

    /// Every version of a Blueprint, newest first; a name the catalog has only in the other
    /// spelling (`bp-x` for `x`) finds it, as upstream references do.
    pub fn versions(&self, name: &str) -> impl Iterator<Item = &Blueprint> {
        let found = self.by_name.get(name).or_else(|| self.by_name.get(&crate::model::other_spelling(name)));
        found.into_iter().flatten().map(|&i| &self.blueprints[i])
    }

    /// The name as the catalog spells it (`x` for `bp-x` when it has only `x`).
    pub fn canonical(&self, name: &str) -> String {
        let other = crate::model::other_spelling(name);
        if !self.by_name.contains_key(name) && self.by_name.contains_key(&other) {
            other
        } else {
            name.to_string()
        }
    }

    /// Every version of a Blueprint of exactly this name, newest first.
    pub fn exact(&self, name: &str) -> impl Iterator<Item = &Blueprint> {
        self.by_name.get(name).into_iter().flatten().map(|&i| &self.blueprints[i])
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.by_name.keys().map(String::as_str)
    }
}

/// Reads a Sovereign (its folder or its `sovereign.yaml`) and the catalogs it names.
pub fn load(path: &Path, vfs: Arc<dyn Vfs>, sources: &mut Sources, diagnostics: &mut Diagnostics) -> Option<Project> {
    let file = if vfs.is_dir(path) { path.join("sovereign.yaml") } else { path.to_path_buf() };
    let dir = file.parent().map(Path::to_path_buf).unwrap_or_default();
    let (id, json) = read_yaml(&*vfs, &file, InputKind::Sovereign, sources, diagnostics)?;
    let spec: SovereignSpec = deserialize(json.get("spec"), id, "/spec", sources, diagnostics)?;
    let name = json.pointer("/metadata/name").and_then(Json::as_str).unwrap_or_default().to_string();
    let origin = Origin::new(id, "");

    let folder = dir.file_name().and_then(|n| n.to_str()).unwrap_or_default();
    if folder != spec.fqdn {
        diagnostics.push(
            Diagnostic::warning(
                codes::SOVEREIGN_FOLDER_NAME,
                format!("the Sovereign folder `{folder}` is not named after its FQDN `{}`", spec.fqdn),
            )
            .with_label(Label::primary(sources.span_at(id, "/spec/fqdn"), "FQDN declared here"))
            .with_help(format!("keep each Sovereign in `sovereigns/{}/`", spec.fqdn)),
        );
    }

    let catalog_dirs: Vec<PathBuf> = spec.catalogs.iter().map(|c| dir.join(c)).collect();
    if catalog_dirs.is_empty() {
        diagnostics.push(
            Diagnostic::error(codes::SOVEREIGN_NO_CATALOG, "the Sovereign names no Blueprint catalog")
                .with_label(Label::primary(sources.key_span_at(id, "/spec"), "no `catalogs` here"))
                .with_help("add `catalogs: [../../blueprints]` (paths relative to sovereign.yaml)"),
        );
    }
    for (i, catalog) in catalog_dirs.iter().enumerate() {
        if !vfs.is_dir(catalog) {
            diagnostics.push(
                Diagnostic::error(codes::IO_NOT_FOUND, format!("catalog folder `{}` does not exist", catalog.display()))
                    .with_label(Label::primary(sources.span_at(id, &format!("/spec/catalogs/{i}")), "named here"))
                    .with_help("catalog paths are relative to the folder of sovereign.yaml"),
            );
        }
    }
    let catalog = load_catalog(&*vfs, &catalog_dirs, sources, diagnostics);
    let organizations = load_organizations(&*vfs, &dir, &spec, id, sources, diagnostics);
    let mut project = Project { catalog, sovereign: Sovereign { name, spec, dir, origin, organizations }, vfs };
    diagnostics.extend(names::ambiguous(&project.catalog, sources));
    diagnostics.extend(names::respell(&mut project, sources));
    Some(project)
}

/// The FQDN a Sovereign declares (`sovereign.yaml`'s `spec.fqdn`), without loading the rest;
/// `None` when the file cannot say (loading it reports why). The Sovereign schema admits only
/// DNS labels there, so the FQDN is safe to name a folder with.
pub fn fqdn(vfs: &dyn Vfs, path: &Path) -> Option<String> {
    let file = if vfs.is_dir(path) { path.join("sovereign.yaml") } else { path.to_path_buf() };
    let (mut sources, mut diagnostics) = (Sources::default(), Diagnostics::default());
    let (_, json) = read_yaml(vfs, &file, InputKind::Sovereign, &mut sources, &mut diagnostics)?;
    json.pointer("/spec/fqdn").and_then(Json::as_str).map(str::to_string)
}

/// Loads every `blueprint.yaml` under the given folders, highest precedence first:
/// a `(name, version)` found again in a later folder is shadowed by the earlier one, and so is
/// a name an earlier folder spells the other way (`bp-x` for `x`).
pub fn load_catalog(vfs: &dyn Vfs, dirs: &[PathBuf], sources: &mut Sources, diagnostics: &mut Diagnostics) -> Catalog {
    let mut catalog = Catalog::default();
    for dir in dirs.iter().filter(|d| vfs.is_dir(d)) {
        let earlier: std::collections::HashSet<String> = catalog.names().map(str::to_string).collect();
        let files: Vec<PathBuf> =
            vfs.files_under(dir).into_iter().filter(|p| p.file_name().is_some_and(|n| n == "blueprint.yaml")).collect();
        let parsed: Vec<_> = files.par_iter().map(|path| (path, read_text(vfs, path), blueprint_digest(vfs, path))).collect();
        let mut in_this_dir = Catalog::default();
        for (path, text, digest) in parsed {
            let Some(blueprint) =
                text.map_err(|d| diagnostics.push(d)).ok().and_then(|text| build_blueprint(vfs, path, text, digest, sources, diagnostics))
            else {
                continue;
            };
            if let Err(first) = in_this_dir.insert(blueprint.clone()) {
                diagnostics.push(
                    Diagnostic::error(codes::CATALOG_DUPLICATE, format!("{} is defined twice in one catalog", first.id()))
                        .with_label(Label::primary(sources.span_at(blueprint.origin.file, blueprint.version_pointer), "defined again here"))
                        .with_label(Label::secondary(sources.span_at(first.origin.file, first.version_pointer), "first defined here"))
                        .with_help("each (name, version) must be unique: bump the version of one of them"),
                );
                continue;
            }
            // Shadowed by a higher-precedence catalog: keep the earlier one.
            if !earlier.contains(&crate::model::other_spelling(&blueprint.name)) {
                let _ = catalog.insert(blueprint);
            }
        }
    }
    catalog.finish();
    catalog
}

fn build_blueprint(
    vfs: &dyn Vfs,
    path: &Path,
    text: String,
    digest: String,
    sources: &mut Sources,
    diagnostics: &mut Diagnostics,
) -> Option<Blueprint> {
    let (id, json) = parse_checked(path, text, InputKind::Blueprint, sources, diagnostics)?;
    let spec: BlueprintSpec = deserialize(json.get("spec"), id, "/spec", sources, diagnostics)?;
    let name = json.pointer("/metadata/name").and_then(Json::as_str).unwrap_or_default().to_string();
    let origin = Origin::new(id, "");
    if !name.starts_with("bp-") {
        diagnostics.push(
            Diagnostic::warning(codes::BLUEPRINT_BARE_NAME, format!("Blueprint name `{name}` has no `bp-` prefix"))
                .with_label(Label::primary(sources.span_at(id, "/metadata/name"), "bare name"))
                .with_help(format!("rename it `bp-{name}`: the upstream Application CRD requires the prefix in blueprintRef")),
        );
    }
    let (version_pointer, version_text) = match (json.pointer("/spec/version"), json.pointer("/metadata/version")) {
        (Some(v), _) => ("/spec/version", v),
        (None, Some(v)) => {
            diagnostics.push(
                Diagnostic::warning(codes::BLUEPRINT_LEGACY_VERSION, "the version is at `metadata.version` (old form)")
                    .with_label(Label::primary(sources.key_span_at(id, "/metadata/version"), "old location"))
                    .with_help("move it to `spec.version`"),
            );
            ("/metadata/version", v)
        }
        (None, None) => {
            diagnostics.push(
                Diagnostic::error(codes::BLUEPRINT_MISSING_VERSION, format!("Blueprint `{name}` has no version"))
                    .with_label(Label::primary(sources.key_span_at(id, "/spec"), "no `version` here"))
                    .with_help("add `spec.version: 1.0.0`"),
            );
            return None;
        }
    };
    let text = version_text.as_str().map(str::to_string).unwrap_or_else(|| version_text.to_string());
    let version = match semver::Version::parse(&text) {
        Ok(v) => v,
        Err(e) => {
            diagnostics.push(
                Diagnostic::error(codes::BLUEPRINT_BAD_VERSION, format!("`{text}` is not a semantic version: {e}"))
                    .with_label(Label::primary(sources.span_at(id, version_pointer), "not MAJOR.MINOR.PATCH"))
                    .with_help("write the version as MAJOR.MINOR.PATCH, e.g. 1.4.0 (quote it in YAML: \"1.4\" is a number)"),
            );
            return None;
        }
    };
    let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let mut spec = spec;
    diagnostics.extend(chart_convention(vfs, &dir, &mut spec, id, sources));
    check_manifests(vfs, &dir, &spec, id, sources, diagnostics);
    Some(Blueprint { name, version, dir, spec, origin, version_pointer, digest })
}

/// The folder the upstream CI packages as a Blueprint's chart when it declares no `manifests`.
pub const CONVENTIONAL_CHART: &str = "./chart";

/// A Blueprint without `manifests` ships the chart at `./chart`, as the upstream CI packages
/// `platform/<name>/chart`: that folder is used (a warning says so). Without one, the
/// Blueprint has nothing to install: lint says so, and so does an Application that uses it.
pub fn chart_convention(vfs: &dyn Vfs, dir: &Path, spec: &mut BlueprintSpec, id: FileId, sources: &Sources) -> Option<Diagnostic> {
    if !spec.manifests.declared().is_empty() {
        return None;
    }
    contained_path(vfs, dir, CONVENTIONAL_CHART).ok().filter(|path| vfs.is_file(&path.join("Chart.yaml")))?;
    let at = sources.key_span_at(id, "/spec");
    spec.manifests.chart = Some(CONVENTIONAL_CHART.to_string());
    Some(
        Diagnostic::warning(
            codes::BLUEPRINT_CHART_CONVENTION,
            "no `manifests`: the chart in chart/ is used, as the upstream CI packages it",
        )
        .with_label(Label::primary(at, "no `manifests` here"))
        .with_help("write `manifests: {chart: ./chart}` to say so"),
    )
}

/// Exactly one manifest kind, at a path inside the Blueprint folder.
pub fn check_manifests(vfs: &dyn Vfs, dir: &Path, spec: &BlueprintSpec, id: FileId, sources: &Sources, diagnostics: &mut Diagnostics) {
    let declared = spec.manifests.declared();
    if declared.len() > 1 {
        diagnostics.push(
            Diagnostic::error(codes::BLUEPRINT_MANIFESTS, "a Blueprint declares more than one of `chart`, `templates`, `kustomize`")
                .with_label(Label::primary(sources.key_span_at(id, "/spec/manifests"), "several manifest kinds"))
                .with_help("keep exactly one of them"),
        );
    }
    for (kind, relative) in declared {
        let key = match kind {
            crate::model::ManifestKind::Chart => "chart",
            crate::model::ManifestKind::Templates => "templates",
            crate::model::ManifestKind::Kustomize => "kustomize",
        };
        let span = sources.span_at(id, &format!("/spec/manifests/{key}"));
        let checked = contained_path(vfs, dir, relative).and_then(|path| match kind {
            crate::model::ManifestKind::Kustomize
                if !["kustomization.yaml", "kustomization.yml", "Kustomization"].iter().any(|f| vfs.is_file(&path.join(f))) =>
            {
                Err("holds no kustomization.yaml")
            }
            _ => Ok(path),
        });
        if let Err(problem) = checked {
            diagnostics.push(
                Diagnostic::error(codes::BLUEPRINT_PATH, format!("manifest path `{relative}` {problem}"))
                    .with_label(Label::primary(span, "this path"))
                    .with_help("manifest paths are relative to the Blueprint folder and must stay inside it"),
            );
        }
    }
}

/// Resolves `relative` under `root`, refusing absolute paths, `..` and symlinks that leave `root`.
pub fn contained_path(vfs: &dyn Vfs, root: &Path, relative: &str) -> Result<PathBuf, &'static str> {
    let rel = Path::new(relative);
    if rel.components().any(|c| matches!(c, Component::ParentDir | Component::RootDir | Component::Prefix(_))) {
        return Err("leaves the Blueprint folder");
    }
    let path = root.join(rel);
    let (Ok(real_root), Ok(real_path)) = (vfs.canonicalize(root), vfs.canonicalize(&path)) else {
        return Err("does not exist");
    };
    if !real_path.starts_with(&real_root) {
        return Err("is a symbolic link that leaves the Blueprint folder");
    }
    Ok(real_path)
}

fn load_organizations(
    vfs: &dyn Vfs,
    dir: &Path,
    spec: &SovereignSpec,
    sovereign: FileId,
    sources: &mut Sources,
    diagnostics: &mut Diagnostics,
) -> Vec<Organization> {
    let patterns = if spec.organizations.is_empty() { vec!["organizations/*.yaml".to_string()] } else { spec.organizations.clone() };
    let mut files = Vec::new();
    for (i, pattern) in patterns.iter().enumerate() {
        match glob_files(vfs, dir, pattern) {
            Ok(found) => files.extend(found),
            Err(e) => diagnostics.push(
                Diagnostic::error(codes::SOVEREIGN_BAD_GLOB, format!("invalid glob `{pattern}`: {e}"))
                    .with_label(Label::primary(sources.span_at(sovereign, &format!("/spec/organizations/{i}")), "this pattern"))
                    .with_help("use a glob such as `organizations/*.yaml`"),
            ),
        }
    }
    files.sort();
    files.dedup();
    let mut organizations: Vec<Organization> = Vec::new();
    for path in files {
        let Some((id, json)) = read_yaml(vfs, &path, InputKind::Organization, sources, diagnostics) else { continue };
        let Some(spec) = deserialize::<OrganizationSpec>(json.get("spec"), id, "/spec", sources, diagnostics) else { continue };
        let slug = json.pointer("/metadata/name").and_then(Json::as_str).unwrap_or_default().to_string();
        if let Some(first) = organizations.iter().find(|o| o.slug == slug) {
            diagnostics.push(
                Diagnostic::error(codes::SOVEREIGN_DUPLICATE_ORGANIZATION, format!("Organization `{slug}` is defined twice"))
                    .with_label(Label::primary(sources.span_at(id, "/metadata/name"), "defined again here"))
                    .with_label(Label::secondary(sources.span_at(first.origin.file, "/metadata/name"), "first defined here"))
                    .with_help("Organization slugs are unique in a Sovereign"),
            );
            continue;
        }
        organizations.push(Organization { slug, spec, origin: Origin::new(id, "") });
    }
    organizations
}

/// The files below `dir` that `pattern` (relative to `dir`) matches: the walk
/// starts at the pattern's literal prefix, so `../shared/*.yaml` works too.
fn glob_files(vfs: &dyn Vfs, dir: &Path, pattern: &str) -> Result<Vec<PathBuf>, glob::PatternError> {
    let literal: PathBuf =
        Path::new(pattern).components().take_while(|c| !c.as_os_str().to_string_lossy().contains(['*', '?', '['])).collect();
    let rest = Path::new(pattern).strip_prefix(&literal).unwrap_or(Path::new(pattern));
    let matcher = glob::Pattern::new(&rest.to_string_lossy())?;
    let options = glob::MatchOptions { require_literal_separator: true, ..glob::MatchOptions::new() };
    let base = dir.join(&literal);
    if rest.as_os_str().is_empty() {
        return Ok(vfs.is_file(&base).then_some(base).into_iter().collect());
    }
    Ok(vfs
        .files_and_links_under(&base)
        .into_iter()
        .filter(|file| file.strip_prefix(&base).is_ok_and(|relative| matcher.matches_path_with(relative, options)))
        .collect())
}

fn read_yaml(vfs: &dyn Vfs, path: &Path, kind: InputKind, sources: &mut Sources, diagnostics: &mut Diagnostics) -> Option<(FileId, Json)> {
    let text = read_text(vfs, path).map_err(|d| diagnostics.push(d)).ok()?;
    parse_checked(path, text, kind, sources, diagnostics)
}

/// Parses a file's text and checks it against its kind's schema.
fn parse_checked(
    path: &Path,
    text: String,
    kind: InputKind,
    sources: &mut Sources,
    diagnostics: &mut Diagnostics,
) -> Option<(FileId, Json)> {
    let id = sources.add(display_path(path), text);
    let root = match yaml::parse(id, &sources.get(id).text) {
        Ok(root) => root,
        Err(d) => {
            diagnostics.push(d);
            return None;
        }
    };
    let json = root.to_json();
    sources.set_root(id, root);
    let problems = schema::check(kind, id, &json, sources);
    let ok = problems.is_empty();
    diagnostics.extend(problems);
    ok.then_some((id, json))
}

fn deserialize<T: DeserializeOwned>(
    value: Option<&Json>,
    id: FileId,
    pointer: &str,
    sources: &Sources,
    diagnostics: &mut Diagnostics,
) -> Option<T> {
    serde_json::from_value(value.cloned().unwrap_or(Json::Null))
        .map_err(|e| {
            diagnostics.push(
                Diagnostic::error(codes::SCHEMA_INVALID_VALUE, format!("cannot read this section: {e}"))
                    .with_label(Label::primary(sources.span_at(id, pointer), "here"))
                    .with_help("see the schema in schemas/ for the expected shape"),
            )
        })
        .ok()
}

/// Reads a UTF-8 file of bounded size.
pub fn read_text(vfs: &dyn Vfs, path: &Path) -> Result<String, Diagnostic> {
    let io_error = |e: std::io::Error| {
        Diagnostic::error(codes::IO_READ, format!("cannot read `{}`: {e}", path.display()))
            .with_help("check that the file exists and is readable")
    };
    let size = vfs.size(path).map_err(io_error)?;
    if size > MAX_FILE_SIZE {
        return Err(Diagnostic::error(
            codes::LOAD_TOO_LARGE,
            format!("`{}` is {size} bytes; the limit is {MAX_FILE_SIZE}", path.display()),
        )
        .with_help("split the file: no input kind needs to be this large"));
    }
    let bytes = vfs.read(path).map_err(io_error)?;
    String::from_utf8(bytes).map_err(|e| {
        Diagnostic::error(
            codes::LOAD_NOT_UTF8,
            format!("`{}` is not UTF-8 (invalid byte at offset {})", path.display(), e.utf8_error().valid_up_to()),
        )
        .with_help("save the file as UTF-8")
    })
}

/// sha256 over every file of a Blueprint folder (paths and contents, in sorted order).
fn blueprint_digest(vfs: &dyn Vfs, blueprint_yaml: &Path) -> String {
    let dir = blueprint_yaml.parent().unwrap_or(Path::new("."));
    let mut hasher = Sha256::new();
    for file in vfs.files_under(dir) {
        let relative = file.strip_prefix(dir).unwrap_or(&file);
        hasher.update(relative.to_string_lossy().as_bytes());
        hasher.update([0]);
        hasher.update(vfs.read(&file).unwrap_or_default());
        hasher.update([0]);
    }
    let digest: String = hasher.finalize().iter().map(|b| format!("{b:02x}")).collect();
    format!("sha256:{digest}")
}

/// Paths are shown relative to the working directory when they are below it.
fn display_path(path: &Path) -> PathBuf {
    std::env::current_dir().ok().and_then(|cwd| path.strip_prefix(&cwd).ok().map(Path::to_path_buf)).unwrap_or_else(|| path.to_path_buf())
}
