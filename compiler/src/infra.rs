//! The bring-up inputs (OpenTofu variables, cloud-init) checked the way the
//! OpenTofu module checks them, and the version pins they share with the
//! bootstrap kit: every pinned release is written in one place and held to
//! the chart files that repeat it.

use std::collections::BTreeSet;

use serde_json::Value as Json;

use crate::diagnostic::{Diagnostic, Label};
use crate::load::Project;
use crate::model::{Blueprint, CanonicalRegion, Infrastructure, ManifestKind, Workers};
use crate::resolve::KitRelease;
use crate::source::{FileId, Sources, Span};
use crate::vfs::Vfs;

/// Hetzner location of a canonical region's second segment (`hz-fsn-rtz-prod` → `fsn1`).
pub fn hetzner_location(region: &str) -> Option<&'static str> {
    let location = CanonicalRegion::parse(region)?.region;
    ["fsn1", "nbg1", "hel1", "ash", "hil"].into_iter().find(|code| code.trim_end_matches('1') == location)
}

/// The releases cloud-init installs before Flux exists, read from the kit's pins.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BringUpPins {
    pub flux: String,
    pub cilium: String,
}

/// The Blueprints whose pins cloud-init installs before Flux exists: (Blueprint, pin).
pub const BRING_UP_PINS: [(&str, &str); 2] = [("bp-flux", "flux"), ("bp-cilium", "cilium")];

/// Spec checks for the OpenTofu module's inputs (only when `spec.infrastructure` is given).
pub fn check_spec(project: &Project, sources: &Sources) -> Vec<Diagnostic> {
    let sovereign = &project.sovereign;
    let Some(infra) = &sovereign.spec.infrastructure else { return Vec::new() };
    let file = sovereign.origin.file;
    let at = |pointer: &str| sources.span_at(file, &format!("/spec{pointer}"));
    let section = sources.key_span_at(file, "/spec/infrastructure");
    let mut problems = Vec::new();
    if sovereign.spec.provider != "hetzner" {
        problems.push(
            Diagnostic::warning(
                "catalyst::infra::unsupported-provider",
                format!("no OpenTofu or cloud-init inputs are emitted for provider `{}`", sovereign.spec.provider),
            )
            .with_label(Label::primary(section, "ignored for this provider"))
            .with_help("bring the machines up by other means, or remove `infrastructure`"),
        );
        return problems;
    }

    let mut missing = Vec::new();
    if infra.project_id.is_none() {
        missing.push("`infrastructure.projectId`");
    }
    if infra.ssh_public_key.is_none() {
        missing.push("`infrastructure.sshPublicKey`");
    }
    if sovereign.spec.operator.is_none() {
        missing.push("`operator` (the name and e-mail OpenTofu labels the project with)");
    }
    if !missing.is_empty() {
        problems.push(
            Diagnostic::error("catalyst::infra::missing", format!("the OpenTofu inputs need {}", missing.join(", ")))
                .with_label(Label::primary(section, "infrastructure given here"))
                .with_help("add the missing fields, or remove `infrastructure` if the machines are brought up by other means"),
        );
    }
    if !tofu_fqdn(&sovereign.spec.fqdn) {
        problems.push(
            Diagnostic::error("catalyst::infra::fqdn", format!("the OpenTofu module refuses the FQDN `{}`", sovereign.spec.fqdn))
                .with_label(Label::primary(at("/fqdn"), "a label starts with a digit or has a character outside [a-z0-9-]"))
                .with_help("the module requires every label to start with a letter"),
        );
    }
    check_workers(&infra.workers, &at("/infrastructure/workers"), &mut problems);
    for (region, nodes) in &infra.regions {
        let pointer = format!("/infrastructure/regions/{}", region.replace('~', "~0").replace('/', "~1"));
        if !sovereign.spec.regions.contains(region) {
            problems.push(
                Diagnostic::error("catalyst::infra::region", format!("node pools for `{region}`, which is not a region of this Sovereign"))
                    .with_label(Label::primary(sources.key_span_at(file, &format!("/spec{pointer}")), "unknown region"))
                    .with_help(format!("the regions are {}", sovereign.spec.regions.join(", "))),
            );
        }
        if let Some(workers) = &nodes.workers {
            check_workers(workers, &at(&format!("{pointer}/workers")), &mut problems);
        }
    }
    for (i, region) in sovereign.spec.regions.iter().enumerate() {
        if CanonicalRegion::parse(region).is_some() && hetzner_location(region).is_none() {
            problems.push(
                Diagnostic::error("catalyst::infra::location", format!("Hetzner has no location for `{region}`"))
                    .with_label(Label::primary(at(&format!("/regions/{i}")), "second segment"))
                    .with_help("Hetzner locations are fsn, nbg, hel, ash and hil (written `hz-fsn-rtz-prod`; `fsn1` is derived)"),
            );
        }
    }
    check_domain(infra, &sovereign.spec.fqdn, sources, file, &mut problems);
    problems
}

/// The module's FQDN rule, stricter than the Sovereign's: `^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$`.
fn tofu_fqdn(fqdn: &str) -> bool {
    let labels: Vec<&str> = fqdn.split('.').collect();
    labels.len() >= 2
        && labels.iter().all(|label| {
            label.starts_with(|c: char| c.is_ascii_lowercase())
                && label.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        })
}

fn check_workers(workers: &Workers, span: &Span, problems: &mut Vec<Diagnostic>) {
    let message = match (workers.size.is_empty(), workers.count) {
        (false, 0) => format!("worker size `{}` with a worker count of 0", workers.size),
        (true, count) if count > 0 => format!("{count} worker(s) without a worker size"),
        _ => return,
    };
    problems.push(
        Diagnostic::error("catalyst::infra::workers", message)
            .with_label(Label::primary(*span, "these workers"))
            .with_help("give both a size and a count above 0, or neither"),
    );
}

fn check_domain(infra: &Infrastructure, fqdn: &str, sources: &Sources, file: FileId, problems: &mut Vec<Diagnostic>) {
    let span = sources.span_at(file, "/spec/infrastructure/domain");
    match (infra.domain.mode.as_str(), &infra.domain.pool_domain) {
        ("pool", None) => problems.push(
            Diagnostic::error("catalyst::infra::domain", "domain mode `pool` without a `poolDomain`")
                .with_label(Label::primary(span, "pool mode"))
                .with_help(format!("name the pool domain `{fqdn}` is a subdomain of")),
        ),
        ("pool", Some(pool)) if subdomain(fqdn, pool).is_none() => problems.push(
            Diagnostic::error("catalyst::infra::domain", format!("`{fqdn}` is not a subdomain of the pool domain `{pool}`"))
                .with_label(Label::primary(sources.span_at(file, "/spec/infrastructure/domain/poolDomain"), "pool domain"))
                .with_help("in pool mode the FQDN is `<subdomain>.<poolDomain>`"),
        ),
        (mode, Some(_)) if mode != "pool" => problems.push(
            Diagnostic::error("catalyst::infra::domain", format!("`poolDomain` given in domain mode `{mode}`"))
                .with_label(Label::primary(sources.key_span_at(file, "/spec/infrastructure/domain/poolDomain"), "only used in pool mode"))
                .with_help("remove `poolDomain`, or use mode `pool`"),
        ),
        _ => {}
    }
}

/// `sme` for `sme.openova.cloud` in the pool `openova.cloud`.
pub fn subdomain<'a>(fqdn: &'a str, pool: &str) -> Option<&'a str> {
    fqdn.strip_suffix(pool)?.strip_suffix('.').filter(|s| !s.is_empty())
}

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
    let release = crate::resolve::kit_release(project, kit, name).map(|r| &project.catalog.blueprints[r.blueprint]);
    let Some(bp) = release else {
        let sovereign = &project.sovereign;
        let at = sources.key_span_at(sovereign.origin.file, "/spec/infrastructure");
        return Err(Diagnostic::error(
            "catalyst::pin::missing",
            format!("cloud-init installs {pin}, but the bootstrap kit has no {name} to pin it"),
        )
        .with_label(Label::primary(at, "cloud-init is emitted for this Sovereign"))
        .with_help(format!("add {name} to `bootstrapKit`: its `pins.{pin}` is the one place the release is written")));
    };
    let version = bp.spec.pins.get(pin).ok_or_else(|| {
        Diagnostic::error("catalyst::pin::missing", format!("{} declares no `pins.{pin}`", bp.id()))
            .with_label(Label::primary(sources.key_span_at(bp.origin.file, "/spec"), "no pin here"))
            .with_help(format!("add `pins: {{{pin}: <release>}}`: cloud-init installs that release before Flux adopts it"))
    })?;
    // The pin reaches a script cloud-init runs as root, and a download URL: a release version, nothing else.
    if semver::Version::parse(version).is_err() {
        let at = sources.span_at(bp.origin.file, &format!("/spec/pins/{pin}"));
        return Err(Diagnostic::error(
            "catalyst::pin::malformed",
            format!("`pins.{pin}` of {} is `{version}`, not a release version", bp.id()),
        )
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
    crate::load::contained_path(vfs, &bp.dir, &file.to_string_lossy()).ok()?;
    let path = bp.dir.join(file);
    if !vfs.is_file(&path) {
        return None;
    }
    let text = match crate::load::read_text(vfs, &path) {
        Ok(text) => text,
        Err(d) => {
            problems.push(d);
            return None;
        }
    };
    let id = sources.add(path, text);
    match crate::yaml::parse(id, &sources.get(id).text) {
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
        Diagnostic::error("catalyst::pin::mismatch", what)
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
