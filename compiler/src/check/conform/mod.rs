//! Conformance of the output: every emitted Kubernetes object against the
//! schema of its kind and version, as an API server would judge it at
//! admission, kubeconform-style strict (see `conform/crd.rs`).
//!
//! The Catalyst CRDs are built in (`schemas/crds/`); the user adds the CRDs
//! (or stand-alone kind schemas) of the exact Flux, External Secrets or core
//! releases the cluster runs with `--crds` or `[check] crds` in
//! `catalyst.toml`. A definition the user gives for a built-in kind replaces
//! it. Objects of kinds with no schema are counted and reported in one
//! warning (`missing-schema`), unless `--ignore-missing-schemas`.
//!
//! Objects are checked while they are rendered ([`SchemaSet::check_file`]),
//! in parallel and before they become text; a file with a problem is kept
//! as text so that [`Verdicts::diagnostics`] can point into it.

mod crd;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use jsonschema::Validator;
use serde_json::Value as Json;

use crate::diagnostic::codes;
use crate::diagnostic::violation::{violations, Codes, Locate, Violation, ViolationKind};
use crate::diagnostic::{Diagnostic, Diagnostics, Label};
use crate::support::source::{FileId, Origin, Sources, Span};
use crate::support::vfs::Vfs;

/// The built-in CRDs: the Catalyst API the compiler emits into `system/catalyst-config/`.
const BUILT_IN: [(&str, &str); 5] = [
    ("schemas/crds/catalyst.openova.io_sovereigns.yaml", include_str!("../../../../schemas/crds/catalyst.openova.io_sovereigns.yaml")),
    ("schemas/crds/orgs.openova.io_organizations.yaml", include_str!("../../../../schemas/crds/orgs.openova.io_organizations.yaml")),
    ("schemas/crds/catalyst.openova.io_environments.yaml", include_str!("../../../../schemas/crds/catalyst.openova.io_environments.yaml")),
    (
        "schemas/crds/catalyst.openova.io_environmentpolicies.yaml",
        include_str!("../../../../schemas/crds/catalyst.openova.io_environmentpolicies.yaml"),
    ),
    ("schemas/crds/apps.openova.io_applications.yaml", include_str!("../../../../schemas/crds/apps.openova.io_applications.yaml")),
];

/// Files that are not API objects, though they have an apiVersion and a kind.
const NOT_API_OBJECTS: [&str; 1] = ["kustomize.config.k8s.io/"];

const CODES: Codes = Codes {
    unknown_field: codes::CONFORM_UNKNOWN_FIELD,
    missing_field: codes::CONFORM_MISSING_FIELD,
    wrong_type: codes::CONFORM_INVALID_VALUE,
    invalid_value: codes::CONFORM_INVALID_VALUE,
    undescribed: "see the CRD for the allowed values",
};

/// Whether objects of kinds without a schema are reported.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Missing {
    #[default]
    Report,
    Ignore,
}

/// A CRD file or folder to read, and where it was named (a `catalyst.toml` entry) if not on the command line.
#[derive(Clone, Debug)]
pub struct CrdPath {
    pub path: PathBuf,
    pub named_at: Option<Span>,
}

/// The schemas of every known kind, by `kind.group`.
pub struct Schemas {
    kinds: HashMap<String, Kind>,
}

struct Kind {
    /// Where the definition was read, for messages.
    origin: String,
    /// Whether it was built in (a user's definition replaces it).
    built_in: bool,
    namespaced: Option<bool>,
    versions: BTreeMap<String, Version>,
}

struct Version {
    served: bool,
    schema: Option<Json>,
    compiled: OnceLock<Result<Validator, String>>,
}

fn key(group: &str, kind: &str) -> String {
    format!("{kind}.{group}")
}

impl Default for Schemas {
    fn default() -> Self {
        Schemas::built_in()
    }
}

impl Schemas {
    /// The built-in Catalyst CRDs only.
    pub fn built_in() -> Schemas {
        let mut schemas = Schemas { kinds: HashMap::new() };
        for (origin, text) in BUILT_IN {
            // Tested to parse and define one kind each (`the_built_in_crds_define_the_catalyst_api`).
            let documents = crate::support::yaml::parse_stream(text).unwrap_or_default();
            for definition in documents.iter().filter_map(|d| crd::definitions(d).ok()).flatten() {
                schemas.insert(definition, origin.to_string(), true);
            }
        }
        schemas
    }

    /// The definitions a release ships, carried in the binary: (path, text) of CRD streams or JSON Schemas.
    pub fn carried(files: &[(&str, &str)]) -> Schemas {
        let mut schemas = Schemas { kinds: HashMap::new() };
        for (origin, text) in files {
            // Tested to parse and to define the kinds their release serves (`tests/conformance.rs`).
            let documents = if origin.ends_with(".json") {
                serde_json::from_str(text).map(|d| vec![d]).unwrap_or_default()
            } else {
                crate::support::yaml::parse_stream(text).unwrap_or_default()
            };
            for definition in documents.iter().filter_map(|d| crd::definitions(d).ok()).flatten() {
                schemas.insert(definition, origin.to_string(), true);
            }
        }
        schemas
    }

    /// Every kind defined, as `(group, kind)`.
    pub fn kinds(&self) -> impl Iterator<Item = (&str, &str)> {
        self.kinds.keys().map(|key| {
            let (kind, group) = key.split_once('.').unwrap_or((key, ""));
            (group, kind)
        })
    }

    /// The built-in CRDs and the definitions in `paths` (files, or folders read recursively).
    pub fn with(vfs: &dyn Vfs, paths: &[CrdPath], sources: &mut Sources, diagnostics: &mut Diagnostics) -> Schemas {
        let mut schemas = Schemas::built_in();
        for named in paths {
            if schemas.read(vfs, named, sources, diagnostics) == Some(0) {
                let what = if vfs.is_dir(&named.path) { "folder" } else { "file" };
                let mut d = crds_problem(format!("the {what} `{}` holds no CRD or kind schema", named.path.display()))
                    .with_help("name CustomResourceDefinition files (YAML or JSON), folders of them, or JSON Schemas with x-kubernetes-group-version-kind");
                if let Some(at) = named.named_at {
                    d = d.with_label(Label::primary(at, "named here"));
                }
                diagnostics.push(d);
            }
        }
        schemas
    }

    fn insert(&mut self, definition: crd::KindDef, origin: String, built_in: bool) -> Option<String> {
        let versions = definition
            .versions
            .into_iter()
            .map(|(name, v)| (name, Version { served: v.served, schema: v.schema, compiled: OnceLock::new() }))
            .collect();
        let kind = Kind { origin, built_in, namespaced: definition.namespaced, versions };
        match self.kinds.insert(key(&definition.group, &definition.kind), kind) {
            Some(previous) if !previous.built_in => Some(previous.origin),
            _ => None,
        }
    }

    /// Reads one named path; the number of kinds it defines (`None`: it does not exist, which is reported).
    fn read(&mut self, vfs: &dyn Vfs, named: &CrdPath, sources: &mut Sources, diagnostics: &mut Diagnostics) -> Option<usize> {
        let files: Vec<PathBuf> = if vfs.is_dir(&named.path) {
            // The files directly inside, as `kubectl apply -f <folder>` reads them: a release's CRDs
            // are one folder, and a subfolder is often another release's.
            let mut files = vfs.files_under(&named.path);
            files.retain(|f| f.parent() == Some(&named.path) && f.extension().is_some_and(|e| e == "yaml" || e == "yml" || e == "json"));
            files.sort();
            files
        } else if vfs.is_file(&named.path) {
            vec![named.path.clone()]
        } else {
            let mut d = Diagnostic::error(codes::IO_NOT_FOUND, format!("the CRD path `{}` does not exist", named.path.display()))
                .with_help("--crds and `[check] crds` name CRD files or folders; paths in catalyst.toml are relative to it");
            if let Some(at) = named.named_at {
                d = d.with_label(Label::primary(at, "named here"));
            }
            diagnostics.push(d);
            return None;
        };
        let mut found = 0;
        for path in files {
            match crate::pipeline::load::read_text(vfs, &path) {
                Ok(text) => {
                    let file = sources.add(&path, text);
                    found += self.add_source(file, sources, diagnostics);
                }
                Err(d) => diagnostics.push(d),
            }
        }
        Some(found)
    }

    /// Adds the definitions of a source file (a YAML stream); how many kinds it defines.
    pub fn add_source(&mut self, file: FileId, sources: &mut Sources, diagnostics: &mut Diagnostics) -> usize {
        let root = match crate::support::yaml::parse_documents(file, &sources.get(file).text) {
            Ok(root) => root,
            Err(d) => {
                diagnostics.push(d);
                return 0;
            }
        };
        let mut found = 0;
        let crate::support::yaml::Value::Seq(documents) = &root.value else { return 0 };
        for document in documents {
            // One line to show: the definition's kind.
            let start = Span::new(file, document.span.start, document.span.start);
            let at = document.key_span("/spec/names/kind").or_else(|| document.key_span("/kind")).unwrap_or(start);
            match crd::definitions(&document.to_json()) {
                Ok(definitions) => {
                    for definition in definitions {
                        found += 1;
                        let what =
                            format!("{} ({})", definition.kind, if definition.group.is_empty() { "core" } else { &definition.group });
                        if let Some(other) = self.insert(definition, sources.path(file).display().to_string(), false) {
                            diagnostics.push(
                                crds_problem(format!("{what} is defined twice: in {other} and here"))
                                    .with_label(Label::primary(at, "the second definition"))
                                    .with_help("name one release's CRDs: the later definition is the one used"),
                            );
                        }
                    }
                }
                Err(why) => diagnostics.push(
                    crds_problem(format!("not a valid CustomResourceDefinition: {why}"))
                        .with_label(Label::primary(at, "this definition"))
                        .with_help("a CRD names spec.group, spec.names.kind and spec.versions"),
                ),
            }
        }
        sources.set_root(file, root);
        found
    }

    /// Judges one object against these schemas alone.
    pub fn check(&self, object: &Json) -> Verdict {
        SchemaSet::new(vec![self]).check(object)
    }

    /// Judges the objects of one emitted file against these schemas alone.
    pub fn check_file(&self, path: &str, objects: &[Json]) -> Verdicts {
        SchemaSet::new(vec![self]).check_file(path, objects)
    }

    /// Judges one object, if its kind is defined here.
    fn judge(&self, group: &str, kind: &str, version: &str, object: &Json) -> Option<Verdict> {
        let definition = self.kinds.get(&key(group, kind))?;
        let origin = definition.origin.clone();
        let Some(found) = definition.versions.get(version).filter(|v| v.served) else {
            let served = definition.versions.iter().filter(|(_, v)| v.served).map(|(name, _)| name.clone()).collect();
            return Some(Verdict::Unserved { origin, served });
        };
        let Some(schema) = &found.schema else { return Some(Verdict::Valid) };
        Some(match found.compiled.get_or_init(|| crd::compile(schema)) {
            Err(error) => Verdict::Broken { origin, error: error.clone() },
            Ok(validator) if validator.is_valid(object) => Verdict::Valid,
            Ok(validator) => {
                Verdict::Invalid { origin, violations: validator.iter_errors(object).flat_map(|e| violations(&e, schema)).collect() }
            }
        })
    }
}

/// The schemas one compilation validates against, searched in order: the user's
/// and the built-in Catalyst CRDs, then those of the releases the Sovereign pins.
pub struct SchemaSet<'a> {
    layers: Vec<&'a Schemas>,
}

impl<'a> SchemaSet<'a> {
    pub fn new(layers: Vec<&'a Schemas>) -> Self {
        SchemaSet { layers }
    }

    /// Whether objects of `kind` in `api_version` live in a namespace (`None`: no definition says).
    pub fn namespaced(&self, api_version: &str, kind: &str) -> Option<bool> {
        let group = api_version.rsplit_once('/').map_or("", |(group, _)| group);
        self.layers.iter().find_map(|layer| layer.kinds.get(&key(group, kind))).and_then(|k| k.namespaced)
    }

    /// Judges one object.
    pub fn check(&self, object: &Json) -> Verdict {
        let text = |key: &str| object.get(key).and_then(Json::as_str);
        let (Some(api_version), Some(kind)) = (text("apiVersion"), text("kind")) else {
            let missing = ["apiVersion", "kind"].into_iter().filter(|k| text(k).is_none());
            let violations =
                missing.map(|name| Violation { pointer: String::new(), kind: ViolationKind::MissingField { name: name.into() } });
            return Verdict::Invalid { origin: "the rules of every Kubernetes object".into(), violations: violations.collect() };
        };
        let (group, version) = api_version.rsplit_once('/').unwrap_or(("", api_version));
        self.layers.iter().find_map(|layer| layer.judge(group, kind, version, object)).unwrap_or(Verdict::NoSchema)
    }

    /// Judges the objects of one emitted file (`path`, relative to the output root).
    pub fn check_file(&self, path: &str, objects: &[Json]) -> Verdicts {
        let mut verdicts = Verdicts::default();
        let mut problems = Vec::new();
        for (document, object) in objects.iter().enumerate() {
            let api_version = object.get("apiVersion").and_then(Json::as_str).unwrap_or_default();
            if NOT_API_OBJECTS.iter().any(|prefix| api_version.starts_with(prefix)) {
                continue;
            }
            match self.check(object) {
                Verdict::Valid => verdicts.validated += 1,
                Verdict::NoSchema => {
                    let kind = object.get("kind").and_then(Json::as_str).unwrap_or_default();
                    let entry = verdicts.unvalidated.entry((api_version.to_string(), kind.to_string()));
                    entry.or_insert_with(|| (0, path.to_string())).0 += 1;
                }
                verdict => problems.push(Problem { document, object: describe(object), verdict }),
            }
        }
        if !problems.is_empty() {
            verdicts.files.push(FileProblems { path: path.to_string(), text: String::new(), origin: None, problems });
        }
        verdicts
    }
}

/// What one object came to.
#[derive(Clone, Debug)]
pub enum Verdict {
    Valid,
    /// No definition of its kind: counted, not validated.
    NoSchema,
    /// Its kind is defined, but not served at its version.
    Unserved {
        origin: String,
        served: Vec<String>,
    },
    Invalid {
        origin: String,
        violations: Vec<Violation>,
    },
    /// The definition's schema does not compile.
    Broken {
        origin: String,
        error: String,
    },
}

fn crds_problem(message: String) -> Diagnostic {
    Diagnostic::error(codes::CONFORM_CRDS, message)
}

/// `HelmRelease flux-system/bp-cilium`.
fn describe(object: &Json) -> String {
    let text = |pointer: &str| object.pointer(pointer).and_then(Json::as_str).unwrap_or("?");
    match object.pointer("/metadata/namespace").and_then(Json::as_str) {
        Some(namespace) => format!("{} {namespace}/{}", text("/kind"), text("/metadata/name")),
        None => format!("{} {}", text("/kind"), text("/metadata/name")),
    }
}

#[derive(Clone)]
struct Problem {
    document: usize,
    object: String,
    verdict: Verdict,
}

#[derive(Clone)]
struct FileProblems {
    path: String,
    /// The file as it would be written, for the spans.
    text: String,
    /// The input it was emitted for.
    origin: Option<Origin>,
    problems: Vec<Problem>,
}

/// What the objects of some files came to; merged across files and threads.
#[derive(Clone, Default)]
pub struct Verdicts {
    pub validated: usize,
    /// (apiVersion, kind) → (objects, the first file that holds one).
    unvalidated: BTreeMap<(String, String), (usize, String)>,
    files: Vec<FileProblems>,
}

impl Verdicts {
    /// Whether some object does not conform (its file's text is then wanted, see [`Verdicts::with_text`]).
    pub fn has_problems(&self) -> bool {
        !self.files.is_empty()
    }

    /// Gives the files with problems the text they would be written as, and the input they came from.
    pub fn with_text(mut self, text: &str, origin: Option<&Origin>) -> Verdicts {
        for file in &mut self.files {
            file.text = text.to_string();
            file.origin = origin.cloned();
        }
        self
    }

    pub fn merge(&mut self, other: Verdicts) {
        self.validated += other.validated;
        for (kind, (count, first)) in other.unvalidated {
            let entry = self.unvalidated.entry(kind).or_insert((0, first.clone()));
            entry.0 += count;
            entry.1 = entry.1.clone().min(first);
        }
        self.files.extend(other.files);
    }

    /// The diagnostics: one per problem, pointing into the emitted file (shown below `shown_at`),
    /// and one warning for every kind without a schema unless they are ignored.
    pub fn diagnostics(mut self, sources: &mut Sources, shown_at: &Path, missing: Missing) -> Vec<Diagnostic> {
        let mut found = Vec::new();
        self.files.sort_by(|a, b| a.path.cmp(&b.path));
        for file in self.files {
            let id = sources.add(shown_at.join(&file.path), file.text);
            if let Ok(root) = crate::support::yaml::parse_documents(id, &sources.get(id).text) {
                sources.set_root(id, root);
            }
            let produced_for = file.origin.map(|o| Label::secondary(sources.span_at(o.file, &o.pointer), "emitted for this"));
            for problem in file.problems {
                let at = InDocument { sources, file: id, document: problem.document };
                for mut d in problem.diagnostics(&at) {
                    d.labels.extend(produced_for.clone());
                    found.push(d);
                }
            }
        }
        if missing == Missing::Report && !self.unvalidated.is_empty() {
            let objects: usize = self.unvalidated.values().map(|(count, _)| count).sum();
            let mut d = Diagnostic::warning(
                codes::CONFORM_MISSING_SCHEMA,
                format!("{} kind(s) have no schema: {objects} emitted object(s) were not validated", self.unvalidated.len()),
            )
            .with_help("give the CRDs of the releases the cluster runs with --crds PATH (or `[check] crds` in catalyst.toml), or pass --ignore-missing-schemas");
            for ((api_version, kind), (count, first)) in &self.unvalidated {
                d = d.with_note(format!("{api_version} {kind}: {count} object(s), e.g. in {}", shown_at.join(first).display()));
            }
            found.push(d);
        }
        found
    }
}

/// Labels in document `document` of an emitted file.
struct InDocument<'a> {
    sources: &'a Sources,
    file: FileId,
    document: usize,
}

impl Locate for InDocument<'_> {
    fn value(&self, pointer: &str) -> Span {
        self.sources.span_at(self.file, &format!("/{}{pointer}", self.document))
    }

    fn key(&self, pointer: &str) -> Span {
        if pointer.is_empty() {
            // The object itself: its first line rather than the whole document.
            let document = self.sources.span_at(self.file, &format!("/{}", self.document));
            let text = &self.sources.get(self.file).text[document.start..document.end];
            return Span::new(self.file, document.start, document.start + text.find('\n').unwrap_or(text.len()));
        }
        self.sources.key_span_at(self.file, &format!("/{}{pointer}", self.document))
    }
}

impl Problem {
    fn diagnostics(self, at: &InDocument<'_>) -> Vec<Diagnostic> {
        let object = self.object;
        match self.verdict {
            Verdict::Invalid { origin, violations } => violations
                .iter()
                .map(|v| {
                    let mut d = v.diagnostic(&CODES, at);
                    d.message = format!("{object}: {}", d.message);
                    d.with_note(format!("validated against {origin}"))
                })
                .collect(),
            Verdict::Unserved { origin, served } => {
                let message = format!("{object}: {origin} does not serve this apiVersion");
                vec![Diagnostic::error(codes::CONFORM_UNSERVED, message)
                    .with_label(Label::primary(at.value("/apiVersion"), "not served"))
                    .with_help(match served.as_slice() {
                        [] => "the CRD serves no version at all".to_string(),
                        versions => format!("the served version(s): {}", versions.join(", ")),
                    })]
            }
            Verdict::Broken { origin, error } => {
                vec![Diagnostic::error(codes::CONFORM_BAD_SCHEMA, format!("{object}: the schema in {origin} does not compile: {error}"))
                    .with_label(Label::primary(at.value("/kind"), "of this kind"))
                    .with_help("fix or replace the CRD; nothing of this kind can be validated")]
            }
            Verdict::Valid | Verdict::NoSchema => Vec::new(),
        }
    }
}
