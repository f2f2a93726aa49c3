//! The bring-up inputs (OpenTofu variables, cloud-init) checked the way the
//! OpenTofu module checks them. Their regions are checked in [`super::regions`],
//! the releases they install in [`super::pins`].

use super::regions;
use crate::diagnostic::codes;
use crate::diagnostic::{Diagnostic, Label};
use crate::model::{Infrastructure, Workers};
use crate::pipeline::load::Project;
use crate::support::pointer;
use crate::support::source::{FileId, Sources, Span};

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
                codes::INFRA_UNSUPPORTED_PROVIDER,
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
            Diagnostic::error(codes::INFRA_MISSING, format!("the OpenTofu inputs need {}", missing.join(", ")))
                .with_label(Label::primary(section, "infrastructure given here"))
                .with_help("add the missing fields, or remove `infrastructure` if the machines are brought up by other means"),
        );
    }
    if !tofu_fqdn(&sovereign.spec.fqdn) {
        problems.push(
            Diagnostic::error(codes::INFRA_FQDN, format!("the OpenTofu module refuses the FQDN `{}`", sovereign.spec.fqdn))
                .with_label(Label::primary(at("/fqdn"), "a label starts with a digit or has a character outside [a-z0-9-]"))
                .with_help("the module requires every label to start with a letter"),
        );
    }
    check_workers(&infra.workers, &at("/infrastructure/workers"), &mut problems);
    for (region, nodes) in &infra.regions {
        if let Some(workers) = &nodes.workers {
            let pointer = pointer::child("/infrastructure/regions", region);
            check_workers(workers, &at(&format!("{pointer}/workers")), &mut problems);
        }
    }
    problems.extend(regions::check_infrastructure(sovereign, sources));
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
        Diagnostic::error(codes::INFRA_WORKERS, message)
            .with_label(Label::primary(*span, "these workers"))
            .with_help("give both a size and a count above 0, or neither"),
    );
}

fn check_domain(infra: &Infrastructure, fqdn: &str, sources: &Sources, file: FileId, problems: &mut Vec<Diagnostic>) {
    let span = sources.span_at(file, "/spec/infrastructure/domain");
    match (infra.domain.mode.as_str(), &infra.domain.pool_domain) {
        ("pool", None) => problems.push(
            Diagnostic::error(codes::INFRA_DOMAIN, "domain mode `pool` without a `poolDomain`")
                .with_label(Label::primary(span, "pool mode"))
                .with_help(format!("name the pool domain `{fqdn}` is a subdomain of")),
        ),
        ("pool", Some(pool)) if subdomain(fqdn, pool).is_none() => problems.push(
            Diagnostic::error(codes::INFRA_DOMAIN, format!("`{fqdn}` is not a subdomain of the pool domain `{pool}`"))
                .with_label(Label::primary(sources.span_at(file, "/spec/infrastructure/domain/poolDomain"), "pool domain"))
                .with_help("in pool mode the FQDN is `<subdomain>.<poolDomain>`"),
        ),
        (mode, Some(_)) if mode != "pool" => problems.push(
            Diagnostic::error(codes::INFRA_DOMAIN, format!("`poolDomain` given in domain mode `{mode}`"))
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
