//! `catalyst promote`: prepare the promotion of an Application into the next Environment.

use std::path::PathBuf;

use catalyst::diagnostic::codes::Exit;
use catalyst::diagnostic::format::Format;
use catalyst::model::EnvType;
use catalyst::ops::apply::{self, PromotionRequest, RepoId};

use super::apply::{apply_problems, load, Runtime};
use super::{out, say};

#[derive(clap::Args)]
pub struct Args {
    /// A tree written by `catalyst build`, or a Sovereign folder (compiled first)
    input: PathBuf,
    /// The Application, as <org>/<app>
    #[arg(value_parser = parse_application)]
    application: RepoId,
    /// The Environment type promoted into (dev, poc, uat, stg, prod)
    #[arg(long, value_parser = parse_env_type)]
    to: EnvType,
    /// The Environment type promoted from [default: the next one below --to the Application runs in]
    #[arg(long, value_parser = parse_env_type)]
    from: Option<EnvType>,
    #[command(flatten)]
    runtime: Runtime,
    /// Judge the gates at this time (RFC 3339, e.g. 2030-01-03T14:30:00Z) instead of now
    #[arg(long, value_parser = parse_time)]
    at: Option<chrono::DateTime<chrono::Utc>>,
    /// Print the promotion and its gates; push nothing
    #[arg(long)]
    dry_run: bool,
}

fn parse_application(text: &str) -> Result<RepoId, String> {
    match text.split_once('/') {
        Some((org, app)) if !org.is_empty() && !app.is_empty() && !app.contains('/') => Ok(RepoId::new(org, app)),
        _ => Err(format!("`{text}` is not <org>/<app>")),
    }
}

fn parse_env_type(text: &str) -> Result<EnvType, String> {
    EnvType::ALL.into_iter().find(|t| t.as_str() == text).ok_or_else(|| format!("`{text}` is not one of dev, poc, uat, stg, prod"))
}

fn parse_time(text: &str) -> Result<chrono::DateTime<chrono::Utc>, String> {
    chrono::DateTime::parse_from_rfc3339(text).map(|t| t.with_timezone(&chrono::Utc)).map_err(|e| format!("`{text}`: {e}"))
}

pub fn run(format: Format, args: Args) -> Exit {
    let output = match load(format, &args.input) {
        Ok(output) => output,
        Err(exit) => return exit,
    };
    let options = match args.runtime.options(&args.input) {
        Ok(options) => options,
        Err(problem) => return apply_problems(format, [&problem]),
    };
    let request = PromotionRequest {
        repo: args.application,
        to: args.to,
        from: args.from,
        at: args.at.unwrap_or_else(chrono::Utc::now),
        dry_run: args.dry_run,
    };
    match apply::promote(&output, &request, &options) {
        Ok(promotion) => {
            out(promotion.render(args.dry_run));
            let blocking = promotion.blocking();
            if args.dry_run {
                say!("dry run, nothing pushed");
            } else if matches!(promotion.outcome, apply::PromotionOutcome::Created(_) | apply::PromotionOutcome::Replaced(_)) {
                say!("pushed {}: open its pull request into {}", promotion.branch, promotion.to.branch());
            }
            apply_problems(format, &blocking)
        }
        Err(problem) => apply_problems(format, [&problem]),
    }
}
