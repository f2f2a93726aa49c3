//! Checks of the Sovereign spec that a JSON Schema cannot express: names
//! that must agree across files, regions, and EnvironmentPolicy rules.

use std::collections::HashMap;

use crate::diagnostic::{did_you_mean, Diagnostic, Label};
use crate::load::Project;
use crate::model::{CanonicalRegion, PolicyRule};
use crate::source::{Origin, Sources};

const BUILDING_BLOCKS: [&str; 3] = ["mgt", "rtz", "dmz"];

pub fn check(project: &Project, sources: &Sources) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    let sovereign = &project.sovereign;
    let at = |origin: &Origin, pointer: &str| sources.span_at(origin.file, &format!("{}{pointer}", origin.pointer));

    for (i, region) in sovereign.spec.regions.iter().enumerate() {
        let span = at(&sovereign.origin, &format!("/spec/regions/{i}"));
        let Some(parsed) = CanonicalRegion::parse(region) else {
            problems.push(region_form(span, region));
            continue;
        };
        if parsed.provider() != Some(sovereign.spec.provider.as_str()) {
            problems.push(
                Diagnostic::error(
                    "catalyst::naming::region-provider",
                    format!("region `{region}` is not a {} region", sovereign.spec.provider),
                )
                .with_label(Label::primary(span, format!("provider code `{}`", parsed.provider_code)))
                .with_help(format!(
                    "regions of this Sovereign start with the code of `{}` (hz for hetzner, aws, gcp, az for azure, oci, hw for huawei)",
                    sovereign.spec.provider
                )),
            );
        }
        if !BUILDING_BLOCKS.contains(&parsed.building_block) {
            problems.push(
                Diagnostic::error("catalyst::naming::building-block", format!("`{}` is not a building block", parsed.building_block))
                    .with_label(Label::primary(span, "third segment"))
                    .with_help("the building block is one of mgt, rtz, dmz"),
            );
        }
    }

    for org in &sovereign.organizations {
        let mut env_types = HashMap::new();
        for (e, env) in org.spec.environments.iter().enumerate() {
            let base = format!("/spec/environments/{e}");
            if let Some(first) = env_types.insert(env.env_type, e) {
                problems.push(
                    Diagnostic::error(
                        "catalyst::sovereign::duplicate-environment",
                        format!("Environment {}-{} is declared twice", org.slug, env.env_type.as_str()),
                    )
                    .with_label(Label::primary(at(&org.origin, &format!("{base}/type")), "declared again here"))
                    .with_label(Label::secondary(at(&org.origin, &format!("/spec/environments/{first}/type")), "first declared here"))
                    .with_help("an Organization has at most one Environment of each type"),
                );
            }
            for (r, region) in env.regions.iter().enumerate() {
                if !sovereign.spec.regions.contains(region) {
                    let mut d =
                        Diagnostic::error("catalyst::sovereign::unknown-region", format!("`{region}` is not a region of this Sovereign"))
                            .with_label(Label::primary(at(&org.origin, &format!("{base}/regions/{r}")), "unknown region"));
                    d = match did_you_mean(region, sovereign.spec.regions.iter().map(String::as_str)) {
                        Some(best) => d.with_help(format!("did you mean `{best}`?")),
                        None => d.with_help(format!("the Sovereign's regions are: {}", sovereign.spec.regions.join(", "))),
                    };
                    problems.push(d);
                }
            }
            if let Some(policy) = &env.policy {
                check_policy(org, e, &policy.rules, sources, &mut problems);
            }
        }

        let mut names = HashMap::new();
        for (a, app) in org.spec.applications.iter().enumerate() {
            let base = format!("/spec/applications/{a}");
            if let Some(first) = names.insert(app.name.as_str(), a) {
                problems.push(
                    Diagnostic::error(
                        "catalyst::sovereign::duplicate-application",
                        format!("Application `{}` is declared twice in {}", app.name, org.slug),
                    )
                    .with_label(Label::primary(at(&org.origin, &format!("{base}/name")), "declared again here"))
                    .with_label(Label::secondary(at(&org.origin, &format!("/spec/applications/{first}/name")), "first declared here"))
                    .with_help("each Application is one repository: names are unique in an Organization"),
                );
            }
            for env_type in app.environments.iter().flat_map(|m| m.keys()) {
                if !env_types.contains_key(env_type) {
                    problems.push(
                        Diagnostic::error(
                            "catalyst::sovereign::unknown-environment",
                            format!("{} has no `{}` Environment", org.slug, env_type.as_str()),
                        )
                        .with_label(Label::primary(
                            sources.key_span_at(org.origin.file, &format!("{base}/environments/{}", env_type.as_str())),
                            "not an Environment of this Organization",
                        ))
                        .with_help(format!("declare `{}` under spec.environments, or remove this entry", env_type.as_str())),
                    );
                }
            }
            let regions = app.placement.as_ref().and_then(|p| p.get("regions")).and_then(|r| r.as_array()).cloned().unwrap_or_default();
            for (r, region) in regions.iter().enumerate() {
                let region = region.as_str().unwrap_or_default();
                if CanonicalRegion::parse(region).is_none() {
                    problems.push(region_form(at(&org.origin, &format!("{base}/placement/regions/{r}")), region));
                }
            }
        }
    }
    problems
}

fn region_form(span: crate::source::Span, region: &str) -> Diagnostic {
    Diagnostic::error("catalyst::naming::region", format!("`{region}` is not a canonical region name"))
        .with_label(Label::primary(span, "expected {provider}-{region}-{building-block}-{env}"))
        .with_help("write regions in the 4-segment form, e.g. `hz-fsn-rtz-prod`, not the provider's code such as `fsn1`")
}

fn check_policy(
    org: &crate::model::Organization,
    env_index: usize,
    rules: &[PolicyRule],
    sources: &Sources,
    problems: &mut Vec<Diagnostic>,
) {
    let env = &org.spec.environments[env_index];
    for (i, rule) in rules.iter().enumerate() {
        let pointer = format!("/spec/environments/{env_index}/policy/rules/{i}");
        let span = |field: &str| sources.span_at(org.origin.file, &format!("{pointer}/{field}"));
        match rule {
            PolicyRule::PrRequired { approvers, min_approvals } if *min_approvals as usize > approvers.len() => problems.push(
                Diagnostic::error(
                    "catalyst::policy::min-approvals",
                    format!("minApprovals is {min_approvals} but only {} approver(s) are listed", approvers.len()),
                )
                .with_label(Label::primary(span("minApprovals"), "more than the approvers"))
                .with_label(Label::secondary(span("approvers"), "approvers"))
                .with_help("lower minApprovals or add approvers"),
            ),
            PolicyRule::Soak { source_environment, .. } => {
                let exists = org.spec.environments.iter().any(|e| e.env_type == *source_environment);
                if !exists || source_environment.rank() >= env.env_type.rank() {
                    let why = if exists { "is not a lower environment" } else { "is not an Environment of this Organization" };
                    problems.push(
                        Diagnostic::error(
                            "catalyst::policy::soak-source",
                            format!("soak source `{}` {why} of {}-{}", source_environment.as_str(), org.slug, env.env_type.as_str()),
                        )
                        .with_label(Label::primary(span("sourceEnvironment"), "soak source"))
                        .with_help("a change soaks in a lower environment of the same Organization before promotion (dev → stg → prod)"),
                    );
                }
            }
            PolicyRule::ChangeWindow { cron, .. } => {
                if let Err(e) = croner::parser::CronParser::new().parse(cron) {
                    problems.push(
                        Diagnostic::error("catalyst::policy::cron", format!("`{cron}` is not a cron expression: {e}"))
                            .with_label(Label::primary(span("cron"), "invalid cron"))
                            .with_help("use five fields: minute hour day-of-month month day-of-week, e.g. \"0 14 * * 2,4\""),
                    );
                }
            }
            _ => {}
        }
    }
}
