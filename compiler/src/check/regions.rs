//! Regions, checked in one place: the canonical `{provider}-{region}-{building-block}-{env}`
//! form wherever a region is written, the Sovereign's own regions as the only ones
//! Environments and node pools may name, and the provider locations they map to.

use crate::diagnostic::codes;
use crate::diagnostic::{did_you_mean, Diagnostic, Label};
use crate::model::{BuildingBlock, CanonicalRegion, Organization, Sovereign};
use crate::support::pointer;
use crate::support::source::{Sources, Span};

/// Hetzner location of a canonical region's second segment (`hz-fsn-rtz-prod` → `fsn1`).
pub fn hetzner_location(region: &str) -> Option<&'static str> {
    let location = CanonicalRegion::parse(region)?.region;
    ["fsn1", "nbg1", "hel1", "ash", "hil"].into_iter().find(|code| code.trim_end_matches('1') == location)
}

/// Every region the spec writes: the Sovereign's, its Environments' and its Applications' placements.
pub fn check(sovereign: &Sovereign, sources: &Sources) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    for (i, region) in sovereign.spec.regions.iter().enumerate() {
        let span = sources.span_at(sovereign.origin.file, &format!("/spec/regions/{i}"));
        let Some(parsed) = CanonicalRegion::parse(region) else {
            problems.push(region_form(span, region));
            continue;
        };
        if parsed.provider() != Some(sovereign.spec.provider.as_str()) {
            problems.push(
                Diagnostic::error(codes::NAMING_REGION_PROVIDER, format!("region `{region}` is not a {} region", sovereign.spec.provider))
                    .with_label(Label::primary(span, format!("provider code `{}`", parsed.provider_code)))
                    .with_help(format!(
                    "regions of this Sovereign start with the code of `{}` (hz for hetzner, aws, gcp, az for azure, oci, hw for huawei)",
                    sovereign.spec.provider
                )),
            );
        }
        if BuildingBlock::of_region(region).is_none() {
            problems.push(
                Diagnostic::error(codes::NAMING_BUILDING_BLOCK, format!("`{}` is not a building block", parsed.building_block))
                    .with_label(Label::primary(span, "third segment"))
                    .with_help("the building block is one of mgt, rtz, dmz"),
            );
        }
    }
    problems.extend(control_plane(sovereign, sources));
    for org in &sovereign.organizations {
        problems.extend(check_organization(sovereign, org, sources));
    }
    problems
}

/// Exactly one region runs the control plane.
fn control_plane(sovereign: &Sovereign, sources: &Sources) -> Option<Diagnostic> {
    let at = |i: usize| sources.span_at(sovereign.origin.file, &format!("/spec/regions/{i}"));
    let mgt: Vec<usize> = (sovereign.spec.regions.iter().enumerate())
        .filter(|(_, region)| BuildingBlock::of_region(region) == Some(BuildingBlock::Mgt))
        .map(|(i, _)| i)
        .collect();
    let mut d = match mgt.as_slice() {
        [_] => return None,
        [] => Diagnostic::error(codes::SOVEREIGN_MGT_REGION, "no region runs the control plane")
            .with_label(Label::primary(sources.span_at(sovereign.origin.file, "/spec/regions"), "no `mgt` region here"))
            .with_help(format!(
                "add the control-plane region, e.g. `{}`: Gitea, Keycloak, OpenBao and the console run there",
                sovereign.spec.regions.iter().find_map(|r| mgt_spelling(r)).unwrap_or_else(|| "hz-fsn-mgt-prod".into())
            )),
        [first, rest @ ..] => {
            let mut d = Diagnostic::error(codes::SOVEREIGN_MGT_REGION, format!("{} regions run the control plane", mgt.len()))
                .with_label(Label::primary(at(rest[0]), "a second `mgt` region"))
                .with_label(Label::secondary(at(*first), "the first"));
            for &other in &rest[1..] {
                d = d.with_label(Label::secondary(at(other), "another"));
            }
            d.with_help("keep one `mgt` region; run the other clusters as `rtz` (workloads) or `dmz` (edge)")
        }
    };
    d = d.with_note("the control plane is one Gitea, one Keycloak and one OpenBao that every region's cluster reaches");
    Some(d)
}

/// `hz-fsn-rtz-prod` → `hz-fsn-mgt-prod`.
fn mgt_spelling(region: &str) -> Option<String> {
    let r = CanonicalRegion::parse(region)?;
    Some(format!("{}-{}-mgt-{}", r.provider_code, r.region, r.env))
}

fn check_organization(sovereign: &Sovereign, org: &Organization, sources: &Sources) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    let at = |pointer: String| sources.span_at(org.origin.file, &format!("{}{pointer}", org.origin.pointer));
    for (e, env) in org.spec.environments.iter().enumerate() {
        for (r, region) in env.regions.iter().enumerate() {
            let block = BuildingBlock::of_region(region);
            if sovereign.spec.regions.contains(region) && block.is_some_and(|b| b != BuildingBlock::Rtz) {
                let rtz: Vec<&str> = sovereign
                    .spec
                    .regions
                    .iter()
                    .filter(|r| BuildingBlock::of_region(r) == Some(BuildingBlock::Rtz))
                    .map(String::as_str)
                    .collect();
                let help = match rtz.as_slice() {
                    [] => "add an `rtz` region to the Sovereign and place the Environment there".to_string(),
                    names => format!("place the Environment in rtz regions: {}", names.join(", ")),
                };
                problems.push(
                    Diagnostic::error(
                        codes::SOVEREIGN_REGION_ROLE,
                        format!("`{region}` is a {} region: it runs no Organization workloads", block.map_or("", BuildingBlock::as_str)),
                    )
                    .with_label(Label::primary(at(format!("/spec/environments/{e}/regions/{r}")), "not an rtz region"))
                    .with_note("the dmz region serves the edge of every Environment; the mgt region runs the control plane")
                    .with_help(help),
                );
            }
            if !sovereign.spec.regions.contains(region) {
                let mut d = Diagnostic::error(codes::SOVEREIGN_UNKNOWN_REGION, format!("`{region}` is not a region of this Sovereign"))
                    .with_label(Label::primary(at(format!("/spec/environments/{e}/regions/{r}")), "unknown region"));
                d = match did_you_mean(region, sovereign.spec.regions.iter().map(String::as_str)) {
                    Some(best) => d.with_help(format!("did you mean `{best}`?")),
                    None => d.with_help(format!("the Sovereign's regions are: {}", sovereign.spec.regions.join(", "))),
                };
                problems.push(d);
            }
        }
    }
    for (a, app) in org.spec.applications.iter().enumerate() {
        let regions = app.placement.as_ref().and_then(|p| p.get("regions")).and_then(|r| r.as_array()).cloned().unwrap_or_default();
        for (r, region) in regions.iter().enumerate() {
            let region = region.as_str().unwrap_or_default();
            if CanonicalRegion::parse(region).is_none() {
                problems.push(region_form(at(format!("/spec/applications/{a}/placement/regions/{r}")), region));
            }
        }
    }
    problems
}

/// The regions of `infrastructure`: node pools only for the Sovereign's regions, and a Hetzner
/// location for each region (the OpenTofu module is Hetzner's).
pub fn check_infrastructure(sovereign: &Sovereign, sources: &Sources) -> Vec<Diagnostic> {
    let Some(infra) = &sovereign.spec.infrastructure else { return Vec::new() };
    let file = sovereign.origin.file;
    let mut problems = Vec::new();
    for region in infra.regions.keys().filter(|region| !sovereign.spec.regions.contains(region)) {
        let pointer = pointer::child("/spec/infrastructure/regions", region);
        problems.push(
            Diagnostic::error(codes::INFRA_REGION, format!("node pools for `{region}`, which is not a region of this Sovereign"))
                .with_label(Label::primary(sources.key_span_at(file, &pointer), "unknown region"))
                .with_help(format!("the regions are {}", sovereign.spec.regions.join(", "))),
        );
    }
    for (i, region) in sovereign.spec.regions.iter().enumerate() {
        if CanonicalRegion::parse(region).is_some() && hetzner_location(region).is_none() {
            problems.push(
                Diagnostic::error(codes::INFRA_LOCATION, format!("Hetzner has no location for `{region}`"))
                    .with_label(Label::primary(sources.span_at(file, &format!("/spec/regions/{i}")), "second segment"))
                    .with_help("Hetzner locations are fsn, nbg, hel, ash and hil (written `hz-fsn-rtz-prod`; `fsn1` is derived)"),
            );
        }
    }
    problems
}

fn region_form(span: Span, region: &str) -> Diagnostic {
    Diagnostic::error(codes::NAMING_REGION, format!("`{region}` is not a canonical region name"))
        .with_label(Label::primary(span, "expected {provider}-{region}-{building-block}-{env}"))
        .with_help("write regions in the 4-segment form, e.g. `hz-fsn-rtz-prod`, not the provider's code such as `fsn1`")
}
