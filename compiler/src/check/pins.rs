//! The version pins: every release the kit pins is written in one place, a
//! kit Blueprint's `spec.pins` or the version of the subchart that ships it
//! (the table in [`crate::check::releases::SUBCHARTS`]), held to the chart
//! files that repeat it, and read from there by cloud-init, the kit and the
//! reconcile check alike.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value as Json;

use crate::check::releases::SUBCHARTS;
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

/// A release a Blueprint pins, and where that is written: its `spec.pins`, or the version of
/// the subchart that ships the release (in Chart.lock when there is one, else Chart.yaml).
#[derive(Clone, Debug)]
pub struct Pin {
    pub version: String,
    pub at: Span,
}

/// A Blueprint's pins by name.
pub type BlueprintPins = BTreeMap<String, Pin>;

/// The pins of the Blueprints a Sovereign uses, by Blueprint index.
#[derive(Clone, Debug, Default)]
pub struct Pins(BTreeMap<usize, BlueprintPins>);

impl Pins {
    pub fn get(&self, blueprint: usize, pin: &str) -> Option<&Pin> {
        self.0.get(&blueprint)?.get(pin)
    }
}

/// Every pin of the Blueprints this Sovereign uses, held to the chart files that repeat or ship
/// it, and the releases cloud-init installs. `used`: every Blueprint the Applications run (the
/// kit's are added here).
pub fn check_pins(
    project: &Project,
    kit: &[KitRelease],
    used: BTreeSet<usize>,
    sources: &mut Sources,
) -> (Pins, Option<BringUpPins>, Vec<Diagnostic>) {
    let mut used = used;
    used.extend(kit.iter().map(|r| r.blueprint));
    let mut pins = Pins::default();
    let mut problems = Vec::new();
    for index in used {
        let (found, chart_problems) = blueprint_pins(&*project.vfs, &project.catalog.blueprints[index], sources);
        pins.0.insert(index, found);
        problems.extend(chart_problems);
    }
    if project.sovereign.spec.infrastructure.is_none() {
        return (pins, None, problems);
    }
    let [flux, cilium] = BRING_UP_PINS.map(|(name, pin)| kit_pin(project, kit, &pins, sources, name, pin));
    match (flux, cilium) {
        (Ok(flux), Ok(cilium)) => (pins, Some(BringUpPins { flux, cilium }), problems),
        (flux, cilium) => {
            problems.extend(flux.err().into_iter().chain(cilium.err()));
            (pins, None, problems)
        }
    }
}

fn kit_pin(project: &Project, kit: &[KitRelease], pins: &Pins, sources: &Sources, name: &str, pin: &str) -> Result<String, Diagnostic> {
    let Some(release) = crate::pipeline::resolve::kit_release(project, kit, name) else {
        let sovereign = &project.sovereign;
        let at = sources.key_span_at(sovereign.origin.file, "/spec/infrastructure");
        return Err(Diagnostic::error(
            codes::PIN_MISSING,
            format!("cloud-init installs {pin}, but the bootstrap kit has no {name} to pin it"),
        )
        .with_label(Label::primary(at, "cloud-init is emitted for this Sovereign"))
        .with_help(format!("add {name} to `bootstrapKit`: its `pins.{pin}` is the one place the release is written")));
    };
    let bp = &project.catalog.blueprints[release.blueprint];
    let Some(found) = pins.get(release.blueprint, pin) else { return Err(missing(bp, pin, sources)) };
    // The pin reaches a script cloud-init runs as root, and a download URL: a release version, nothing else.
    if semver::Version::parse(&found.version).is_err() {
        return Err(Diagnostic::error(
            codes::PIN_MALFORMED,
            format!("`pins.{pin}` of {} is `{}`, not a release version", bp.id(), found.version),
        )
        .with_label(Label::primary(found.at, "not MAJOR.MINOR.PATCH"))
        .with_help("write the release as MAJOR.MINOR.PATCH (e.g. 2.9.4), as its project tags it without the `v`"));
    }
    Ok(found.version.clone())
}

/// A kit Blueprint with neither a pin nor a subchart that says which release it installs.
pub fn missing(bp: &Blueprint, pin: &str, sources: &Sources) -> Diagnostic {
    Diagnostic::error(codes::PIN_MISSING, format!("{} declares no `pins.{pin}` and ships no subchart that tells it", bp.id()))
        .with_label(Label::primary(sources.key_span_at(bp.origin.file, "/spec"), "no pin here"))
        .with_help(format!(
            "add `pins: {{{pin}: <release>}}`, or a dependency on the subchart that ships it: cloud-init installs that release before Flux adopts it"
        ))
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

/// A Blueprint's pins: those `spec.pins` writes, and those its chart's subcharts ship (see
/// [`SUBCHARTS`]); with the problems of its chart files: a pin the chart contradicts, a chart
/// version that is not the Blueprint's.
pub fn blueprint_pins(vfs: &dyn Vfs, bp: &Blueprint, sources: &mut Sources) -> (BlueprintPins, Vec<Diagnostic>) {
    let mut pins: BlueprintPins = bp
        .spec
        .pins
        .iter()
        .map(|(pin, version)| {
            (pin.clone(), Pin { version: version.clone(), at: sources.span_at(bp.origin.file, &format!("/spec/pins/{pin}")) })
        })
        .collect();
    let mut problems = Vec::new();
    if bp.spec.manifests.kind() != Some(ManifestKind::Chart) {
        return (pins, problems);
    }
    let Some(chart) = load_chart_file(vfs, bp, "Chart.yaml", sources, &mut problems) else { return (pins, problems) };
    let lock = load_chart_file(vfs, bp, "Chart.lock", sources, &mut problems);
    let values = load_chart_file(vfs, bp, "values.yaml", sources, &mut problems);
    let files = ChartFiles { chart, lock, values };
    problems.extend(shipped_pins(bp, &files, &mut pins, sources));
    problems.extend(repeated_pins(bp, &files, sources));
    (pins, problems)
}

/// The chart files a chart Blueprint's pins are held to.
struct ChartFiles {
    chart: ChartFile,
    lock: Option<ChartFile>,
    values: Option<ChartFile>,
}

impl ChartFiles {
    /// The version of the subchart `name` and where it is written: Chart.lock's exact one when
    /// the chart has a lock, else Chart.yaml's (a version or a range).
    fn dependency(&self, name: &str, sources: &Sources) -> Option<(String, Span)> {
        let at = |file: &ChartFile| {
            let dependencies = file.value.get("dependencies").and_then(Json::as_array)?;
            let i = dependencies.iter().position(|d| d.get("name").and_then(Json::as_str) == Some(name))?;
            let pointer = format!("/dependencies/{i}/version");
            text_at(&file.value, &pointer).map(|v| (v, sources.span_at(file.id, &pointer)))
        };
        self.lock.as_ref().and_then(at).or_else(|| at(&self.chart))
    }
}

/// The releases the chart's subcharts ship, held to the pins written for them; a release no pin
/// writes is pinned by its subchart.
fn shipped_pins(bp: &Blueprint, files: &ChartFiles, pins: &mut BlueprintPins, sources: &Sources) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    for subchart in &SUBCHARTS {
        let Some((version, at)) = files.dependency(subchart.chart, sources) else { continue };
        let ships = subchart.ships(&version);
        let what = format!("the {} subchart {version}", subchart.chart);
        match (pins.get(subchart.pin), ships.as_slice()) {
            (Some(pinned), shipped) if !shipped.is_empty() && !shipped.contains(&pinned.version) => problems.push(
                Diagnostic::error(
                    codes::PIN_MISMATCH,
                    format!(
                        "{} pins {} {}, but {what} ships {} {}",
                        bp.id(),
                        subchart.pin,
                        pinned.version,
                        subchart.title,
                        shipped.join(" or ")
                    ),
                )
                .with_label(Label::primary(pinned.at, format!("pinned {}", pinned.version)))
                .with_label(Label::secondary(at, format!("ships {} {}", subchart.title, shipped.join(" or "))))
                .with_note(format!("which release a chart version ships: {}", subchart.source))
                .with_help("the release cloud-init installs and the one the chart upgrades to must be the same: change them together"),
            ),
            (Some(_), _) => {}
            (None, [release]) => {
                pins.insert(subchart.pin.to_string(), Pin { version: release.clone(), at });
            }
            (None, shipped) => problems.push(
                Diagnostic::error(
                    codes::PIN_UNKNOWN_SUBCHART,
                    match shipped {
                        [] => format!("which {} release {what} ships is not known", subchart.title),
                        _ => format!("{what} allows charts that ship {} {}", subchart.title, shipped.join(", ")),
                    },
                )
                .with_label(Label::primary(at, "this subchart"))
                .with_note(format!("the known chart versions: {}", subchart.source))
                .with_help(format!("pin the subchart exactly (or commit its Chart.lock), or write `pins.{}`", subchart.pin)),
            ),
        }
    }
    problems
}

/// Pins the chart repeats: the chart version is the Blueprint's, a pin named after the Blueprint
/// is its appVersion, a pin named after a subchart the table does not know is its version, and
/// `catalystBlueprint.upstream` names the subchart's version.
fn repeated_pins(bp: &Blueprint, files: &ChartFiles, sources: &Sources) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    let chart = &files.chart;
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
    let dependency = |name: &str| files.dependency(name, sources);
    // Subcharts of the table are held to their pins by what they ship (`shipped_pins`).
    for (pin, pinned) in bp.spec.pins.iter().filter(|(pin, _)| !SUBCHARTS.iter().any(|s| s.pin == pin.as_str())) {
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
    if let Some(values) = &files.values {
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
