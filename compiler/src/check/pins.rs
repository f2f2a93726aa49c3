//! The version pins: every release the kit pins is written in one place (a
//! kit Blueprint's `spec.pins`), held to the chart files that repeat it, and
//! read from there by cloud-init and the kit alike.

use std::collections::BTreeSet;

use serde_json::Value as Json;

use crate::diagnostic::codes;
use crate::diagnostic::{Diagnostic, Label};
use crate::model::{Blueprint, ManifestKind};
use crate::pipeline::load::Project;
use crate::pipeline::resolve::KitRelease;
use crate::support::source::{FileId, Sources, Span};
use crate::support::vfs::Vfs;

/// The releases cloud-init installs before Flux exists, read from the kit's pins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BringUpPins {
    pub flux: String,
    pub cilium: String,
}

/// The Blueprints whose pins cloud-init installs before Flux exists: (Blueprint, pin).
pub const BRING_UP_PINS: [(&str, &str); 2] = [("bp-flux", "flux"), ("bp-cilium", "cilium")];

/// Checks every pin of the Blueprints this Sovereign uses against the chart
/// files that repeat it, and returns the releases cloud-init installs.
/// `used`: every Blueprint the Applications run (the kit's are added here).
pub fn check_pins(
    project: &Project,
    kit: &[KitRelease],
    used: BTreeSet<usize>,
    sources: &mut Sources,
) -> (Option<BringUpPins>, Vec<Diagnostic>) {
    let mut used = used;
    used.extend(kit.iter().map(|r| r.blueprint));
    let mut problems = Vec::new();
    for index in used {
        let bp = &project.catalog.blueprints[index];
        if bp.spec.manifests.kind() == Some(ManifestKind::Chart) {
            problems.extend(check_chart(&*project.vfs, bp, sources));
        }
    }
    if project.sovereign.spec.infrastructure.is_none() {
        return (None, problems);
    }
    let [flux, cilium] = BRING_UP_PINS.map(|(name, pin)| kit_pin(project, kit, sources, name, pin));
    match (flux, cilium) {
        (Ok(flux), Ok(cilium)) => (Some(BringUpPins { flux, cilium }), problems),
        (flux, cilium) => {
            problems.extend(flux.err().into_iter().chain(cilium.err()));
            (None, problems)
        }
    }
}

fn kit_pin(project: &Project, kit: &[KitRelease], sources: &Sources, name: &str, pin: &str) -> Result<String, Diagnostic> {
    let release = crate::pipeline::resolve::kit_release(project, kit, name).map(|r| &project.catalog.blueprints[r.blueprint]);
    let Some(bp) = release else {
        let sovereign = &project.sovereign;
        let at = sources.key_span_at(sovereign.origin.file, "/spec/infrastructure");
        return Err(Diagnostic::error(
            codes::PIN_MISSING,
            format!("cloud-init installs {pin}, but the bootstrap kit has no {name} to pin it"),
        )
        .with_label(Label::primary(at, "cloud-init is emitted for this Sovereign"))
        .with_help(format!("add {name} to `bootstrapKit`: its `pins.{pin}` is the one place the release is written")));
    };
    let version = bp.spec.pins.get(pin).ok_or_else(|| {
        Diagnostic::error(codes::PIN_MISSING, format!("{} declares no `pins.{pin}`", bp.id()))
            .with_label(Label::primary(sources.key_span_at(bp.origin.file, "/spec"), "no pin here"))
            .with_help(format!("add `pins: {{{pin}: <release>}}`: cloud-init installs that release before Flux adopts it"))
    })?;
    // The pin reaches a script cloud-init runs as root, and a download URL: a release version, nothing else.
    if semver::Version::parse(version).is_err() {
        let at = sources.span_at(bp.origin.file, &format!("/spec/pins/{pin}"));
        return Err(Diagnostic::error(codes::PIN_MALFORMED, format!("`pins.{pin}` of {} is `{version}`, not a release version", bp.id()))
            .with_label(Label::primary(at, "not MAJOR.MINOR.PATCH"))
            .with_help("write the release as MAJOR.MINOR.PATCH (e.g. 2.9.4), as its project tags it without the `v`"));
    }
    Ok(version.clone())
}

/// A loaded chart file, for spans.
struct ChartFile {
    id: FileId,
    value: Json,
}

fn load_chart_file(vfs: &dyn Vfs, bp: &Blueprint, name: &str, sources: &mut Sources, problems: &mut Vec<Diagnostic>) -> Option<ChartFile> {
    let relative = bp.spec.manifests.chart.as_deref()?;
    // The file itself must stay inside the Blueprint too: a Chart.yaml linked from elsewhere is not read.
    let file = std::path::Path::new(relative).join(name);
    crate::pipeline::load::contained_path(vfs, &bp.dir, &file.to_string_lossy()).ok()?;
    let path = bp.dir.join(file);
    if !vfs.is_file(&path) {
        return None;
    }
    let text = match crate::pipeline::load::read_text(vfs, &path) {
        Ok(text) => text,
        Err(d) => {
            problems.push(d);
            return None;
        }
    };
    let id = sources.add(path, text);
    match crate::support::yaml::parse(id, &sources.get(id).text) {
        Ok(root) => {
            let value = root.to_json();
            sources.set_root(id, root);
            Some(ChartFile { id, value })
        }
        Err(d) => {
            problems.push(d);
            None
        }
    }
}

/// Scalars as text (`version: 1.2` is a number to YAML and a version to Helm).
fn text_at(value: &Json, pointer: &str) -> Option<String> {
    match value.pointer(pointer)? {
        Json::String(s) => Some(s.clone()),
        Json::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn same_release(a: &str, b: &str) -> bool {
    a.trim_start_matches('v') == b.trim_start_matches('v')
}

/// A chart Blueprint's pins held to its `Chart.yaml` and `values.yaml`.
pub fn check_chart(vfs: &dyn Vfs, bp: &Blueprint, sources: &mut Sources) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    let Some(chart) = load_chart_file(vfs, bp, "Chart.yaml", sources, &mut problems) else { return problems };
    let values = load_chart_file(vfs, bp, "values.yaml", sources, &mut problems);
    let sources = &*sources;
    let mismatch = |what: String, first: Span, first_says: String, second: Span, second_says: String| {
        Diagnostic::error(codes::PIN_MISMATCH, what)
            .with_label(Label::primary(first, first_says))
            .with_label(Label::secondary(second, second_says))
            .with_help("a release is pinned in one place and repeated in the chart: change them together")
    };
    let blueprint_file = bp.origin.file;
    let version = bp.version.to_string();
    if let Some(chart_version) = text_at(&chart.value, "/version").filter(|v| *v != version) {
        problems.push(mismatch(
            format!("{} ships a chart of version {chart_version}", bp.id()),
            sources.span_at(chart.id, "/version"),
            format!("chart {chart_version}"),
            sources.span_at(blueprint_file, bp.version_pointer),
            format!("Blueprint {version}, the version HelmReleases and catalyst.lock name"),
        ));
    }
    let dependencies = chart.value.get("dependencies").and_then(Json::as_array).cloned().unwrap_or_default();
    let dependency = |name: &str| {
        dependencies.iter().position(|d| d.get("name").and_then(Json::as_str) == Some(name)).and_then(|i| {
            let pointer = format!("/dependencies/{i}/version");
            text_at(&chart.value, &pointer).map(|v| (v, sources.span_at(chart.id, &pointer)))
        })
    };
    for (pin, pinned) in &bp.spec.pins {
        let pin_span = sources.span_at(blueprint_file, &format!("/spec/pins/{pin}"));
        let repeated = if let Some((version, span)) = dependency(pin) {
            Some((version, span, format!("the {pin} subchart of Chart.yaml")))
        } else if pin == bp.short_name() {
            text_at(&chart.value, "/appVersion")
                .map(|v| (v, sources.span_at(chart.id, "/appVersion"), "the chart's appVersion".to_string()))
        } else {
            None
        };
        if let Some((version, span, place)) = repeated.filter(|(v, ..)| !same_release(v, pinned)) {
            problems.push(mismatch(
                format!("{} pins {pin} {pinned}, but {place} is {version}", bp.id()),
                pin_span,
                format!("pinned {pinned}"),
                span,
                format!("{version} here"),
            ));
        }
    }
    if let Some(values) = values {
        let upstream = text_at(&values.value, "/catalystBlueprint/upstream/chart");
        let upstream_version = text_at(&values.value, "/catalystBlueprint/upstream/version");
        if let (Some(name), Some(declared)) = (upstream, upstream_version) {
            if let Some((version, span)) = dependency(&name).filter(|(v, _)| !same_release(v, &declared)) {
                problems.push(mismatch(
                    format!("{} declares upstream {name} {declared}, but its chart depends on {name} {version}", bp.id()),
                    sources.span_at(values.id, "/catalystBlueprint/upstream/version"),
                    format!("upstream {declared}"),
                    span,
                    format!("subchart {version}"),
                ));
            }
        }
    }
    problems
}
