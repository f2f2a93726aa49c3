//! Rules about one Blueprint's own files: identity, manifests, placement, version pins.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use super::rules;
use super::{recode, version_field, Catalog, Entry};
use crate::diagnostic::codes;
use crate::diagnostic::{Diagnostic, Label};
use crate::model::{Blueprint, ManifestKind};
use crate::support::source::Sources;
use crate::support::vfs::Vfs;

/// Placement modes the compiler places Applications in.
const MODES: [&str; 3] = ["single-region", "active-active", "active-hotstandby"];

pub(super) fn check(catalog: &Catalog<'_>, sources: &mut Sources) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    for entry in &catalog.entries {
        identity(entry, sources, &mut found);
        placement(entry, sources, &mut found);
        let Some(bp) = &entry.blueprint else { continue };
        found.extend(manifests(catalog.vfs, bp, sources));
        found.extend(pins(catalog.vfs, bp, sources));
    }
    found.extend(duplicates(catalog, sources));
    found
}

fn is_dns_label(name: &str) -> bool {
    let edge = |c: Option<char>| c.is_some_and(|c| c.is_ascii_lowercase() || c.is_ascii_digit());
    name.len() <= 63
        && edge(name.chars().next())
        && edge(name.chars().last())
        && name.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
}

/// MAJOR.MINOR.PATCH with an optional lowercase pre-release, as the Blueprint CRD's pattern says.
fn is_blueprint_version(text: &str) -> bool {
    semver::Version::parse(text).is_ok_and(|v| {
        v.build.is_empty() && v.pre.as_str().chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '.' || c == '-')
    })
}

fn identity(entry: &Entry, sources: &Sources, found: &mut Vec<Diagnostic>) {
    let at = |pointer: &str| sources.span_at(entry.file, pointer);
    if let Some(name) = entry.json.pointer("/metadata/name").and_then(Json::as_str) {
        if !name.starts_with("bp-") {
            found.push(
                Diagnostic::warning(rules::NAME_PREFIX, format!("Blueprint name `{name}` has no `bp-` prefix"))
                    .with_label(Label::primary(at("/metadata/name"), "bare name"))
                    .with_help(format!("rename it `bp-{name}`")),
            );
        }
        if !is_dns_label(name) {
            found.push(
                Diagnostic::error(rules::NAME_DNS_LABEL, format!("Blueprint name `{name}` is not a DNS label"))
                    .with_label(Label::primary(at("/metadata/name"), "not a DNS label"))
                    .with_help("use lowercase letters, digits and `-` (at most 63 characters), e.g. `bp-my-app`"),
            );
        }
    }
    let version = |message: String, pointer: &str, label: &str| {
        Diagnostic::error(rules::VERSION, message)
            .with_label(Label::primary(sources.span_at(entry.file, pointer), label))
            .with_help("write `spec.version: \"1.4.0\"` (MAJOR.MINOR.PATCH, no `v`, no build metadata)")
    };
    match version_field(&entry.json) {
        None => found.push(version("the Blueprint has no version".into(), "/spec", "no `version` here")),
        Some((pointer, value)) => {
            if pointer == "/metadata/version" {
                found.push(
                    Diagnostic::warning(rules::LEGACY_VERSION, "the version is at `metadata.version` (old form)")
                        .with_label(Label::primary(sources.key_span_at(entry.file, pointer), "old location"))
                        .with_help("move it to `spec.version`"),
                );
            }
            match value.as_str() {
                Some(text) if is_blueprint_version(text) => {}
                Some(text) => found.push(version(format!("`{text}` is not a Blueprint version"), pointer, "not MAJOR.MINOR.PATCH")),
                None => found.push(version(format!("the version `{value}` is not a string"), pointer, "quote it")),
            }
        }
    }
}

/// `(name, version)` unique within each catalog folder.
fn duplicates(catalog: &Catalog<'_>, sources: &Sources) -> Vec<Diagnostic> {
    let mut first: BTreeMap<(usize, &str, &semver::Version), &Blueprint> = BTreeMap::new();
    let mut found = Vec::new();
    for entry in &catalog.entries {
        let Some(bp) = &entry.blueprint else { continue };
        match first.get(&(entry.catalog, bp.name.as_str(), &bp.version)) {
            Some(earlier) => found.push(
                Diagnostic::error(rules::DUPLICATE_VERSION, format!("{} is defined twice in one catalog", bp.id()))
                    .with_label(Label::primary(sources.span_at(bp.origin.file, bp.version_pointer), "defined again here"))
                    .with_label(Label::secondary(sources.span_at(earlier.origin.file, earlier.version_pointer), "first defined here"))
                    .with_help("bump the version of one of them"),
            ),
            None => {
                first.insert((entry.catalog, bp.name.as_str(), &bp.version), bp);
            }
        }
    }
    found
}

fn placement(entry: &Entry, sources: &Sources, found: &mut Vec<Diagnostic>) {
    let Some(placement) = entry.json.pointer("/spec/placementSchema") else { return };
    let at = |field: &str| sources.span_at(entry.file, &format!("/spec/placementSchema{field}"));
    let mode = |text: String, field: &str| {
        Diagnostic::error(rules::PLACEMENT_MODE, text)
            .with_label(Label::primary(at(field), "this mode"))
            .with_help(format!("the modes are {}", MODES.join(", ")))
    };
    let modes: Vec<&str> = placement.get("modes").and_then(Json::as_array).into_iter().flatten().filter_map(Json::as_str).collect();
    for (i, m) in modes.iter().enumerate().filter(|(_, m)| !MODES.contains(m)) {
        found.push(mode(format!("unknown placement mode `{m}`"), &format!("/modes/{i}")));
    }
    if let Some(default) = placement.get("default").and_then(Json::as_str).filter(|d| !modes.contains(d)) {
        found.push(mode(format!("the default mode `{default}` is not one of `modes`"), "/default"));
    }
    let bound = |field: &str| placement.get(field).and_then(Json::as_u64);
    if let (Some(min), Some(max)) = (bound("minRegions"), bound("maxRegions")) {
        if min > max {
            found.push(
                Diagnostic::error(rules::PLACEMENT_REGIONS, format!("minRegions {min} is above maxRegions {max}"))
                    .with_label(Label::primary(at("/maxRegions"), "maximum"))
                    .with_label(Label::secondary(at("/minRegions"), "minimum"))
                    .with_help("no region count satisfies both: lower minRegions or raise maxRegions"),
            );
        }
    }
}

/// Exactly one manifest kind inside the folder (the loader's check), and templates that parse.
fn manifests(vfs: &dyn Vfs, bp: &Blueprint, sources: &mut Sources) -> Vec<Diagnostic> {
    let mut checked = crate::diagnostic::Diagnostics::default();
    crate::pipeline::load::check_manifests(vfs, &bp.dir, &bp.spec, bp.origin.file, sources, &mut checked);
    let mut found: Vec<Diagnostic> = checked
        .into_iter()
        .map(|d| match d.code {
            codes::BLUEPRINT_MANIFESTS => recode(d, rules::MANIFESTS_KIND),
            _ => recode(d, rules::MANIFESTS_PATH),
        })
        .collect();
    if bp.spec.manifests.declared().is_empty() {
        found.push(
            Diagnostic::error(rules::MANIFESTS_KIND, format!("{} declares no manifests and has no chart/ folder", bp.id()))
                .with_label(Label::primary(sources.key_span_at(bp.origin.file, "/spec"), "no `manifests` here"))
                .with_help("add one of `manifests.chart`, `manifests.templates`, `manifests.kustomize`, or a chart at chart/Chart.yaml"),
        );
    }
    let templates = bp.spec.manifests.templates.as_deref().filter(|_| bp.spec.manifests.kind() == Some(ManifestKind::Templates));
    let Some(folder) = templates.and_then(|t| crate::pipeline::load::contained_path(vfs, &bp.dir, t).ok()) else { return found };
    let env = crate::pipeline::expr::environment();
    for path in vfs.files_under(&folder) {
        if !path.extension().is_some_and(|e| e == "yaml" || e == "yml" || e == "j2") {
            continue;
        }
        let problem = match crate::pipeline::load::read_text(vfs, &path) {
            Ok(text) => match crate::pipeline::expr::template_variables(&env, &text) {
                Ok(_) => continue,
                Err(e) => {
                    let line = e.line().unwrap_or(1);
                    let file = sources.add(&path, text);
                    Diagnostic::error(rules::TEMPLATE_SYNTAX, format!("template does not parse: {}", e.detail().unwrap_or("")))
                        .with_label(Label::primary(sources.line_span(file, line), e.kind().to_string()))
                        .with_help("fix the minijinja syntax (`{{ … }}`, `{% … %}`)")
                }
            },
            Err(d) => d,
        };
        found.push(problem);
    }
    found
}

/// Pins held to the chart files, and the bring-up pins cloud-init reads.
fn pins(vfs: &dyn Vfs, bp: &Blueprint, sources: &mut Sources) -> Vec<Diagnostic> {
    let (pins, problems) = crate::check::pins::blueprint_pins(vfs, bp, sources);
    let mut found: Vec<Diagnostic> =
        problems.into_iter().map(|d| if d.code == codes::PIN_MISMATCH { recode(d, rules::PIN_MISMATCH) } else { d }).collect();
    for (name, pin) in crate::check::pins::BRING_UP_PINS {
        if bp.short_name() == crate::model::short_name(name) && !pins.contains_key(pin) {
            found.push(recode(crate::check::pins::missing(bp, pin, sources), rules::PIN_MISSING));
        }
    }
    found
}
