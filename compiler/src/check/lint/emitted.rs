//! Rules over emitted objects: a Sovereign's compiled output (in memory) or a
//! built tree on disk. They catch what reaches the cluster even when the
//! inputs look right: dependsOn edges Flux silently ignores or never
//! satisfies, API versions the controllers no longer serve, HelmReleases
//! that leave a failed upgrade half-applied, names admission refuses.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use petgraph::graphmap::DiGraphMap;
use serde_json::Value as Json;

use crate::diagnostic::codes;
use crate::diagnostic::{Diagnostic, Label};
use crate::model::CanonicalRegion;
use crate::pipeline::render::Output;
use crate::support::source::{FileId, Sources, Span};

use super::rules;
use crate::support::cycles::cycles;

/// API versions the Flux 2.8 and ESO 2.x controllers no longer serve.
const REMOVED_APIS: [&str; 8] = [
    "source.toolkit.fluxcd.io/v1beta1",
    "source.toolkit.fluxcd.io/v1beta2",
    "kustomize.toolkit.fluxcd.io/v1beta1",
    "kustomize.toolkit.fluxcd.io/v1beta2",
    "helm.toolkit.fluxcd.io/v2beta1",
    "helm.toolkit.fluxcd.io/v2beta2",
    "external-secrets.io/v1alpha1",
    "external-secrets.io/v1beta1",
];

/// One emitted object: where it is, and what it says.
struct Object {
    path: String,
    document: usize,
    value: Json,
}

impl Object {
    fn text(&self, pointer: &str) -> Option<&str> {
        self.value.pointer(pointer).and_then(Json::as_str)
    }

    fn kind(&self) -> &str {
        self.text("/kind").unwrap_or_default()
    }

    fn namespace(&self) -> &str {
        self.text("/metadata/namespace").unwrap_or_default()
    }
}

/// A finding on an object (by index), with the text its label points at.
type Finding = (usize, String, Diagnostic);

/// (kind, namespace, name) of an object or of a dependsOn target.
type Key<'a> = (&'a str, &'a str, &'a str);

/// The findings of every emitted-object rule over `output`, whose files are shown below `shown_at`.
pub fn check(output: &Output, shown_at: &Path, sources: &mut Sources) -> Vec<Diagnostic> {
    let objects: Vec<Object> = output
        .files
        .iter()
        .filter(|(path, _)| path.ends_with(".yaml") || path.ends_with(".yml"))
        .filter_map(|(path, bytes)| Some((path, crate::support::yaml::parse_stream(std::str::from_utf8(bytes).ok()?).ok()?)))
        .flat_map(|(path, documents)| {
            documents.into_iter().enumerate().map(|(document, value)| Object { path: path.clone(), document, value })
        })
        .filter(|o| o.value.is_object())
        .collect();
    let mut found: Vec<Finding> = Vec::new();
    let index: HashMap<Key<'_>, usize> =
        objects.iter().enumerate().filter_map(|(i, o)| Some(((o.kind(), o.namespace(), o.text("/metadata/name")?), i))).collect();
    let mut graph = DiGraphMap::<usize, (), std::hash::RandomState>::default();
    for (i, object) in objects.iter().enumerate() {
        if let Some(api) = object.text("/apiVersion").filter(|api| REMOVED_APIS.contains(api)) {
            let d = Diagnostic::error(rules::EMITTED_API_VERSION, format!("{} uses the removed API version {api}", object.kind()))
                .with_help(
                    "emit source.toolkit.fluxcd.io/v1, kustomize.toolkit.fluxcd.io/v1, helm.toolkit.fluxcd.io/v2, external-secrets.io/v1",
                );
            found.push((i, "apiVersion:".into(), d));
        }
        match object.kind() {
            "HelmRelease" => remediation(i, object, &mut found),
            "Organization" => sovereign_ref(i, object, &mut found),
            "Application" => regions(i, object, &mut found),
            _ => {}
        }
        for target in object.value.pointer("/spec/dependsOn").and_then(Json::as_array).into_iter().flatten() {
            let Some(name) = target.get("name").and_then(Json::as_str) else { continue };
            let namespace = target.get("namespace").and_then(Json::as_str).unwrap_or(object.namespace());
            let needle = format!("- name: {name}");
            if let Some(&j) = index.get(&(object.kind(), namespace, name)) {
                graph.add_edge(i, j, ());
                continue;
            }
            let other = ["Kustomization", "HelmRelease"].into_iter().find(|k| index.contains_key(&(k, namespace, name)));
            let d = match other {
                Some(kind) => Diagnostic::error(
                    rules::EMITTED_DEPENDS_KIND,
                    format!("{} dependsOn `{name}`, which is a {kind}: Flux only waits for objects of its own kind", object.kind()),
                )
                .with_help(format!("depend on a {} instead, or order the two through their parents", object.kind())),
                None => Diagnostic::error(
                    rules::EMITTED_DEPENDS_MISSING,
                    format!("{} dependsOn `{namespace}/{name}`, which is not emitted", object.kind()),
                )
                .with_help("a dependsOn on a missing object never becomes ready: emit the object or drop the edge"),
            };
            found.push((i, needle, d));
        }
    }
    for cycle in cycles(&graph) {
        let names: Vec<&str> = cycle.iter().chain(&cycle[..1]).filter_map(|&m| objects[m].text("/metadata/name")).collect();
        let d = Diagnostic::error(rules::EMITTED_DEPENDS_CYCLE, format!("dependsOn cycle: {}", names.join(" → ")))
            .with_help("Flux never reconciles objects that wait for each other: remove one edge");
        found.push((cycle[0], "dependsOn:".into(), d));
    }
    let mut files: BTreeMap<&str, FileId> = BTreeMap::new();
    found
        .into_iter()
        .map(|(i, needle, d)| {
            let object = &objects[i];
            let file = *files.entry(&object.path).or_insert_with(|| {
                let text = String::from_utf8_lossy(&output.files[&object.path]).into_owned();
                sources.add(shown_at.join(&object.path), text)
            });
            d.with_label(Label::primary(locate(sources, file, object.document, &needle), "here"))
        })
        .collect()
}

/// The first line of document `document` (0-based, `---` separated) that is `needle` (or starts with a
/// `key:` needle), else the document's first line.
fn locate(sources: &Sources, file: FileId, document: usize, needle: &str) -> Span {
    let text = &sources.get(file).text;
    let (mut offset, mut index, mut started) = (0, 0, false);
    let mut first_line = None;
    for line in text.split_inclusive('\n') {
        let (start, end) = (offset, offset + line.trim_end().len());
        offset += line.len();
        if line.trim_end() == "---" {
            index += usize::from(started);
            started = false;
            continue;
        }
        started = true;
        if index > document {
            break;
        }
        if index == document {
            first_line.get_or_insert(Span::new(file, start, end));
            let trimmed = line.trim();
            if trimmed == needle || (needle.ends_with(':') && trimmed.starts_with(needle)) {
                return Span::new(file, end - trimmed.len(), end);
            }
        }
    }
    first_line.unwrap_or(Span::new(file, 0, 0))
}

fn remediation(i: usize, object: &Object, found: &mut Vec<Finding>) {
    let missing: Vec<&str> =
        ["install", "upgrade"].into_iter().filter(|phase| object.value.pointer(&format!("/spec/{phase}/remediation")).is_none()).collect();
    if !missing.is_empty() {
        let d = Diagnostic::warning(
            rules::EMITTED_REMEDIATION,
            format!("HelmRelease has no {} remediation", missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(" or ")),
        )
        .with_help("set spec.install.remediation.retries and spec.upgrade.remediation (retries, remediateLastFailure)");
        found.push((i, "kind:".into(), d));
    }
}

fn sovereign_ref(i: usize, object: &Object, found: &mut Vec<Finding>) {
    let Some(reference) = object.text("/spec/sovereignRef") else { return };
    let label = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    };
    if !(reference.contains('.') && reference.split('.').all(label)) {
        let d = Diagnostic::error(rules::EMITTED_SOVEREIGN_REF, format!("sovereignRef `{reference}` is not an FQDN"))
            .with_help("the Organization CRD requires the Sovereign's FQDN, e.g. omantel.omani.works");
        found.push((i, "sovereignRef:".into(), d));
    }
}

fn regions(i: usize, object: &Object, found: &mut Vec<Finding>) {
    let written = ["/spec/regions", "/spec/placement/regions"].map(|p| object.value.pointer(p).and_then(Json::as_array));
    let mut reported = HashSet::new();
    for region in written.into_iter().flatten().flatten().filter_map(Json::as_str) {
        if CanonicalRegion::parse(region).is_none() && reported.insert(region) {
            let d = Diagnostic::error(rules::EMITTED_REGION, format!("Application region `{region}` is not canonical"))
                .with_help("regions are {provider}-{region}-{building-block}-{env}, e.g. hz-fsn-rtz-prod");
            found.push((i, format!("- {region}"), d));
        }
    }
}

/// A built tree on disk as an [`Output`] (its YAML files only).
pub fn read_built(vfs: &dyn crate::support::vfs::Vfs, dir: &Path) -> Result<Output, Diagnostic> {
    if !vfs.is_dir(dir) {
        return Err(Diagnostic::error(codes::IO_NOT_FOUND, format!("built tree `{}` does not exist", dir.display()))
            .with_help("build it first: `catalyst build <sovereign> -o <dir>`"));
    }
    if let Some(unfinished) = crate::pipeline::emit::interrupted(vfs, dir) {
        return Err(unfinished);
    }
    let mut output = Output::default();
    for path in vfs.files_under(dir) {
        let Some(relative) = path.strip_prefix(dir).ok().map(PathBuf::from) else { continue };
        if relative.extension().is_some_and(|e| e == "yaml" || e == "yml") {
            output.files.insert(relative.to_string_lossy().into_owned(), crate::pipeline::load::read_text(vfs, &path)?.into_bytes());
        }
    }
    Ok(output)
}
