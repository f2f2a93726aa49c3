//! Blueprint names across the `bp-` prefix. Upstream v1alpha1 files name Blueprints
//! `bp-harbor`, v1 files `harbor`, and references mix both. A reference that names a
//! Blueprint only in the other spelling resolves to it, with a warning naming the
//! canonical spelling (the one the Blueprint itself declares); a catalog holding both
//! spellings of one name is ambiguous, an error.

use crate::diagnostic::codes::{self, Code};
use crate::diagnostic::{Diagnostic, Label};
use crate::model::{other_spelling, Blueprint, DependsEntry};
use crate::support::source::{Origin, Sources};

use super::{Catalog, Project};

/// Every pair of Blueprints whose names differ only by the `bp-` prefix.
pub fn ambiguous(catalog: &Catalog, sources: &Sources) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    for name in catalog.names().filter(|name| name.starts_with("bp-")) {
        let bare = other_spelling(name);
        let (Some(prefixed), Some(plain)) = (catalog.versions(name).next(), catalog.exact(&bare).next()) else { continue };
        found.push(ambiguity(codes::CATALOG_AMBIGUOUS_NAME, plain, prefixed, sources));
    }
    found
}

/// `plain` (`x`) and `prefixed` (`bp-x`) in one catalog, under `code`.
pub fn ambiguity(code: impl Into<&'static Code>, plain: &Blueprint, prefixed: &Blueprint, sources: &Sources) -> Diagnostic {
    Diagnostic::error(code, format!("the catalog has both `{}` and `{}`", prefixed.name, plain.name))
        .with_label(Label::primary(sources.span_at(plain.origin.file, "/metadata/name"), format!("`{}` here", plain.name)))
        .with_label(Label::secondary(sources.span_at(prefixed.origin.file, "/metadata/name"), format!("`{}` here", prefixed.name)))
        .with_help("a reference to either could mean both (upstream names the same Blueprint either way): rename one")
}

/// Rewrites every reference (Blueprint `depends`, `bootstrapKit`, Applications) that names a
/// Blueprint only in the other spelling to the catalog's, with a warning at the reference.
pub fn respell(project: &mut Project, sources: &Sources) -> Vec<Diagnostic> {
    let Project { catalog, sovereign, .. } = project;
    let known: Vec<String> = catalog.names().map(str::to_string).collect();
    let mut found = Vec::new();
    let mut respell = |name: &mut String, at: Origin| {
        if known.contains(name) {
            return;
        }
        let other = other_spelling(name);
        if known.contains(&other) {
            found.push(
                Diagnostic::warning(codes::BLUEPRINT_NAME_SPELLING, format!("`{name}` names the Blueprint `{other}`"))
                    .with_label(Label::primary(sources.span_at(at.file, &at.pointer), format!("resolved to `{other}`")))
                    .with_help(format!("write `{other}`, the name the Blueprint declares")),
            );
            *name = other;
        }
    };
    for bp in &mut catalog.blueprints {
        for (d, entry) in bp.spec.depends.iter_mut().enumerate() {
            match entry {
                DependsEntry::Short(name) => respell(name, bp.origin.join(&format!("/spec/depends/{d}"))),
                DependsEntry::Full(dep) => respell(&mut dep.blueprint, bp.origin.join(&format!("/spec/depends/{d}/blueprint"))),
            }
        }
    }
    for (i, entry) in sovereign.spec.bootstrap_kit.iter_mut().flatten().enumerate() {
        respell(&mut entry.blueprint, sovereign.origin.join(&format!("/spec/bootstrapKit/{i}/blueprint")));
    }
    for org in &mut sovereign.organizations {
        for (a, app) in org.spec.applications.iter_mut().enumerate() {
            respell(&mut app.blueprint, org.origin.join(&format!("/spec/applications/{a}/blueprint")));
        }
    }
    found
}
