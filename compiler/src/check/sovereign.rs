//! Checks of the Sovereign spec that a JSON Schema cannot express: names
//! that must agree across files, and EnvironmentPolicy rules. Regions are
//! checked in [`super::regions`].

use std::collections::HashMap;

use crate::diagnostic::codes;
use crate::diagnostic::{Diagnostic, Label};
use crate::model::PolicyRule;
use crate::pipeline::load::Project;
use crate::support::source::{Origin, Sources};

pub fn check(project: &Project, sources: &Sources) -> Vec<Diagnostic> {
    let mut problems = Vec::new();
    let sovereign = &project.sovereign;
    let at = |origin: &Origin, pointer: &str| sources.span_at(origin.file, &format!("{}{pointer}", origin.pointer));

    for org in &sovereign.organizations {
        let mut env_types = HashMap::new();
        for (e, env) in org.spec.environments.iter().enumerate() {
            let base = format!("/spec/environments/{e}");
            if let Some(first) = env_types.insert(env.env_type, e) {
                problems.push(
                    Diagnostic::error(
                        codes::SOVEREIGN_DUPLICATE_ENVIRONMENT,
                        format!("Environment {}-{} is declared twice", org.slug, env.env_type.as_str()),
                    )
                    .with_label(Label::primary(at(&org.origin, &format!("{base}/type")), "declared again here"))
                    .with_label(Label::secondary(at(&org.origin, &format!("/spec/environments/{first}/type")), "first declared here"))
                    .with_help("an Organization has at most one Environment of each type"),
                );
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
                        codes::SOVEREIGN_DUPLICATE_APPLICATION,
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
                            codes::SOVEREIGN_UNKNOWN_ENVIRONMENT,
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
        }
    }
    problems
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
                    codes::POLICY_MIN_APPROVALS,
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
                            codes::POLICY_SOAK_SOURCE,
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
                        Diagnostic::error(codes::POLICY_CRON, format!("`{cron}` is not a cron expression: {e}"))
                            .with_label(Label::primary(span("cron"), "invalid cron"))
                            .with_help("use five fields: minute hour day-of-month month day-of-week, e.g. \"0 14 * * 2,4\""),
                    );
                }
            }
            _ => {}
        }
    }
}
