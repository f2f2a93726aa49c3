//! Regions, checked in one place: the canonical `{provider}-{region}-{building-block}-{env}`
//! form wherever a region is written, the Sovereign's own regions as the only ones
//! Environments and node pools may name, and the provider locations they map to.

use crate::diagnostic::codes;
use crate::diagnostic::{did_you_mean, Diagnostic, Label};
use crate::model::{CanonicalRegion, Organization, Sovereign};
use crate::support::pointer;
use crate::support::source::{Sources, Span};

const BUILDING_BLOCKS: [&str; 3] = ["mgt", "rtz", "dmz"];

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
        if !BUILDING_BLOCKS.contains(&parsed.building_block) {
            problems.push(
                Diagnostic::error(codes::NAMING_BUILDING_BLOCK, format!("`{}` is not a building block", parsed.building_block))
                    .with_label(Label::primary(span, "third segment"))
                    .with_help("the building block is one of mgt, rtz, dmz"),
            );
        }
    }

    for org in &sovereign.organizations {
        problems.extend(check_organization(sovereign, org, sources));
    }
    problems
}

fn check_organization(sovereign: &Sovereign, org: &Organization, sources: &Sources) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    let at = |pointer: String| sources.span_at(org.origin.file, &format!("{}{pointer}", org.origin.pointer));
    for (e, env) in org.spec.environments.iter().enumerate() {
        for (r, region) in env.regions.iter().enumerate() {
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
