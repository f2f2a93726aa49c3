//! `catalyst promote`: prepares the promotion of an Application from one Environment to the next.
//!
//! The lower branch is merged into the higher one in the cache, from their merge base, and the
//! merge is pushed as `promote/<from>-to-<to>`, whose first parent is the higher branch's tip: its
//! pull request into that branch merges cleanly (a fast-forward). `apply` keeps each branch a
//! descendant of the one above, so that merge base is usually the higher branch's tip. The
//! target Environment's EnvironmentPolicy gates that can be judged offline (soak time, change
//! window) are evaluated at a given time; approvals and scores are left to the pull request.

use std::cell::RefCell;

use chrono::{DateTime, Duration, TimeZone, Utc};
use git2::{Commit, Direction, Oid, PushOptions, Repository, Signature};
use serde_json::Value as Json;

use super::git::{conflict_paths, diff, empty_tree, fetch, heads, list_heads, made_by, moved, Cache};
use super::remote::{callbacks, connection_error, PushLog};
use super::{counts, Change, Options, RepoId};
use crate::diagnostic::codes;
use crate::diagnostic::Diagnostic;
use crate::model::EnvType;
use crate::pipeline::render::Output;

/// The trailer of the runtime's promotion commits.
pub const PROMOTE_TRAILER: &str = "Catalyst-Promote: ";

/// What to promote, and when the gates are judged.
pub struct Request {
    pub repo: RepoId,
    pub to: EnvType,
    /// The Environment promoted from; by default the next one below `to` the Application runs in.
    pub from: Option<EnvType>,
    pub at: DateTime<Utc>,
    pub dry_run: bool,
}

/// What a promotion came to.
#[derive(Debug)]
pub struct Promotion {
    pub repo: RepoId,
    pub from: EnvType,
    pub to: EnvType,
    /// `promote/<from>-to-<to>`.
    pub branch: String,
    pub outcome: Outcome,
    /// From the target branch's tree to the promoted one.
    pub changes: Vec<Change>,
    pub gates: Vec<Gate>,
    /// The time the gates were judged at.
    pub at: DateTime<Utc>,
}

#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The target branch already holds everything of the source branch.
    NothingToPromote,
    /// The promote branch was created (or, dry run, would be).
    Created(Oid),
    /// The runtime's earlier promotion there was replaced.
    Replaced(Oid),
    /// The promote branch already holds this promotion.
    Unchanged(Oid),
}

/// One rule of the target Environment's policy, judged.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gate {
    pub rule: String,
    pub verdict: Verdict,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Passes,
    Blocks,
    /// Judged on the pull request (approvals).
    OnThePullRequest,
    /// Judged by the platform, not offline (compliance scores).
    NotOffline,
}

impl Verdict {
    pub fn label(self) -> &'static str {
        match self {
            Verdict::Passes => "passes",
            Verdict::Blocks => "blocks",
            Verdict::OnThePullRequest => "on the pull request",
            Verdict::NotOffline => "not judged offline",
        }
    }
}

impl Promotion {
    /// The gates that block, as diagnostics.
    pub fn blocking(&self) -> Vec<Diagnostic> {
        let target = format!("{}-{}", self.repo.org, self.to.as_str());
        self.gates
            .iter()
            .filter(|g| g.verdict == Verdict::Blocks)
            .map(|g| {
                Diagnostic::error(codes::PROMOTE_GATE, format!("{} blocks promoting {} into {target}: {}", g.rule, self.repo, g.detail))
                    .with_help(format!("the branch {} is prepared; merge it once the gate passes", self.branch))
            })
            .collect()
    }

    /// The report: the branch, the files it changes, the gates.
    pub fn render(&self, dry_run: bool) -> String {
        let (from, to) = (self.from.branch(), self.to.branch());
        let mut text = format!("promote {}: {from} into {to}", self.repo);
        let commit = match &self.outcome {
            Outcome::NothingToPromote => {
                text.push_str(&format!(": nothing to promote, {to} already holds {from}\n"));
                return text;
            }
            Outcome::Created(c) => {
                text.push_str(&format!(" as {} ({})\n", self.branch, if dry_run { "would be created" } else { "created" }));
                c
            }
            Outcome::Replaced(c) => {
                text.push_str(&format!(
                    " as {} ({})\n",
                    self.branch,
                    if dry_run { "would replace the earlier promotion" } else { "replaced the earlier promotion" }
                ));
                c
            }
            Outcome::Unchanged(c) => {
                text.push_str(&format!(" as {} (unchanged)\n", self.branch));
                c
            }
        };
        text.push_str(&format!("  commit {}, on top of {to}: its pull request merges cleanly\n", &commit.to_string()[..12]));
        text.push_str(&format!("  files: {}\n", counts(&self.changes)));
        for change in &self.changes {
            text.push_str(&format!("    {} {}\n", change.kind.letter(), change.path));
        }
        text.push_str(&format!("gates of {}-{} at {}:\n", self.repo.org, self.to.as_str(), self.at.format("%Y-%m-%dT%H:%M:%SZ")));
        if self.gates.is_empty() {
            text.push_str("  none: the Environment has no policy\n");
        }
        for gate in &self.gates {
            text.push_str(&format!("  {:<20} {}: {}\n", gate.verdict.label(), gate.rule, gate.detail));
        }
        text
    }
}

/// Prepares the promotion `request` asks for, from the compiled tree `output` (its repositories
/// and policies) and the branches on the server.
pub fn promote(output: &Output, request: &Request, options: &Options) -> Result<Promotion, Diagnostic> {
    let target_error = |message: String| Diagnostic::error(codes::PROMOTE_TARGET, message);
    let repo = &request.repo;
    let content = super::split(output)?.into_iter().find(|c| &c.id == repo);
    let runs: Vec<EnvType> = content.iter().flat_map(|c| c.branches.keys()).filter_map(|b| EnvType::of_branch(b)).collect();
    if !runs.contains(&request.to) {
        return Err(target_error(format!("{repo} does not run in {}-{}", repo.org, request.to.as_str()))
            .with_help(format!("it runs in: {}", runs.iter().map(|t| t.as_str()).collect::<Vec<_>>().join(", "))));
    }
    let from = match request.from {
        Some(from) if runs.contains(&from) && from < request.to => from,
        Some(from) => {
            return Err(target_error(format!("{repo} cannot be promoted from {} into {}", from.as_str(), request.to.as_str()))
                .with_help("promote from an Environment below the target that the Application runs in"))
        }
        None => match runs.iter().copied().filter(|&t| t < request.to).max() {
            Some(from) => from,
            None => {
                return Err(target_error(format!("{repo} runs in no Environment below {}", request.to.as_str()))
                    .with_help("a promotion brings what a lower Environment runs into a higher one"))
            }
        },
    };
    let branch = format!("promote/{}-to-{}", from.as_str(), request.to.as_str());
    let url = options.remote.url(repo);
    let heads = list_heads(&url, options).map_err(|e| connection_error(repo, &url, &e, &options.credentials))?;
    let tip = |t: EnvType| {
        heads.get(t.branch()).copied().ok_or_else(|| {
            target_error(format!("{repo} has no branch {} on the server", t.branch())).with_help("apply the Sovereign first")
        })
    };
    let (source, target) = (tip(from)?, tip(request.to)?);
    let cache = Cache::open(options, repo, &url)?;
    let git = &cache.repo;
    let odb = git.odb().map_err(|e| cache.error(e))?;
    let missing: Vec<String> = [from.branch(), request.to.branch(), branch.as_str()]
        .into_iter()
        .filter(|b| heads.get(*b).is_some_and(|tip| !odb.exists(*tip)))
        .map(|b| format!("refs/heads/{b}"))
        .collect();
    if !missing.is_empty() {
        fetch(git, &url, &missing, options).map_err(|e| connection_error(repo, &url, &e, &options.credentials))?;
    }
    let mut promotion = Promotion {
        repo: repo.clone(),
        from,
        to: request.to,
        branch: branch.clone(),
        outcome: Outcome::NothingToPromote,
        changes: Vec::new(),
        gates: Vec::new(),
        at: request.at,
    };
    let (source_commit, target_commit) =
        (git.find_commit(source).map_err(|e| cache.error(e))?, git.find_commit(target).map_err(|e| cache.error(e))?);
    if source == target || git.graph_descendant_of(target, source).map_err(|e| cache.error(e))? {
        return Ok(promotion);
    }
    let merged = merged_tree(git, &source_commit, &target_commit).map_err(|e| cache.error(e))?;
    let merged = match merged {
        Ok(tree) => tree,
        Err(paths) => {
            return Err(Diagnostic::error(
                codes::PROMOTE_CONFLICT,
                format!("promoting {repo} from {} into {} conflicts in {}", from.branch(), request.to.branch(), paths.join(", ")),
            )
            .with_help(format!("bring {}'s change into {} first, then promote again", request.to.branch(), from.branch())))
        }
    };
    let target_tree = target_commit.tree().map_err(|e| cache.error(e))?;
    if merged == target_tree.id() {
        // The source's commits bring no change of content.
        return Ok(promotion);
    }
    promotion.changes = diff(git, &target_tree, merged).map_err(|e| cache.error(e))?;
    let commit = promotion_commit(git, &promotion, merged, (&target_commit, &source_commit), options).map_err(|e| cache.error(e))?;
    promotion.gates = gates(output, &promotion, git, &heads, options, &url)?;
    promotion.outcome = match heads.get(&branch) {
        None => Outcome::Created(commit),
        Some(&old) if old == commit => Outcome::Unchanged(commit),
        Some(&old) => {
            let ours = git.find_commit(old).is_ok_and(|c| made_by(&c, &options.identity, PROMOTE_TRAILER));
            if !ours {
                return Err(Diagnostic::error(
                    codes::PROMOTE_BRANCH_TAKEN,
                    format!("{repo}: {branch} holds commits the runtime did not make (tip {})", &old.to_string()[..12]),
                )
                .with_help(format!("merge or delete {branch}, then promote again")));
            }
            Outcome::Replaced(commit)
        }
    };
    if !request.dry_run && !matches!(promotion.outcome, Outcome::Unchanged(_)) {
        push(git, repo, &url, (&branch, heads.get(&branch).copied()), commit, options)?;
    }
    Ok(promotion)
}

/// The source merged into the target from their merge base, or the paths that conflict.
fn merged_tree(git: &Repository, source: &Commit<'_>, target: &Commit<'_>) -> Result<Result<Oid, Vec<String>>, git2::Error> {
    let base = match git.merge_base(target.id(), source.id()) {
        Ok(base) => git.find_commit(base)?.tree()?,
        Err(_) => empty_tree(git)?,
    };
    let mut index = git.merge_trees(&base, &target.tree()?, &source.tree()?, None)?;
    if index.has_conflicts() {
        return Ok(Err(conflict_paths(&index)?));
    }
    Ok(Ok(index.write_tree_to(git)?))
}

/// The promotion commit: the target's tip first, so merging it into the target is a fast-forward.
/// Dated like the newer of its parents, so the same promotion is the same commit on every run.
fn promotion_commit(
    git: &Repository,
    promotion: &Promotion,
    tree: Oid,
    (target, source): (&Commit<'_>, &Commit<'_>),
    options: &Options,
) -> Result<Oid, git2::Error> {
    let newer = target.committer().when().seconds().max(source.committer().when().seconds());
    let signature = Signature::new(&options.identity.name, &options.identity.email, &git2::Time::new(newer, 0))?;
    let (from, to) = (promotion.from.branch(), promotion.to.branch());
    let mut message = format!(
        "catalyst: promote {} {from} into {to}\n\nFrom: {from} {}\nInto: {to} {}\nFiles: {}\n\n",
        promotion.repo,
        source.id(),
        target.id(),
        counts(&promotion.changes)
    );
    for change in &promotion.changes {
        message.push_str(&format!("{} {}\n", change.kind.letter(), change.path));
    }
    message.push_str(&format!("\n{PROMOTE_TRAILER}{from} {to}\n"));
    git.commit(None, &signature, &signature, &message, &git.find_tree(tree)?, &[target, source])
}

/// Pushes the promote branch: created, or replacing the runtime's own earlier promotion, only
/// while the branch is where the promotion was planned from (`planned`: the tip judged to be the
/// runtime's own, or no branch): a commit a person pushed meanwhile is never overwritten.
fn push(
    git: &Repository,
    repo: &RepoId,
    url: &str,
    (branch, planned): (&str, Option<Oid>),
    commit: Oid,
    options: &Options,
) -> Result<(), Diagnostic> {
    let unreachable = |e: git2::Error| connection_error(repo, url, &e, &options.credentials);
    let log = RefCell::new(PushLog::default());
    let mut remote = git.remote_anonymous(url).map_err(unreachable)?;
    let mut connection =
        remote.connect_auth(Direction::Push, Some(callbacks(&options.credentials, Some(&log))), None).map_err(unreachable)?;
    // The lease, on the connection that pushes: the server checks the old tip it advertised.
    let now = heads(connection.list().map_err(unreachable)?).get(branch).copied();
    if now != planned {
        return Err(moved(repo, branch, planned, now));
    }
    let mut push_options = PushOptions::new();
    push_options.remote_callbacks(callbacks(&options.credentials, Some(&log)));
    connection.remote().push(&[format!("+{commit}:refs/heads/{branch}")], Some(&mut push_options)).map_err(unreachable)?;
    drop((connection, push_options));
    let log = log.into_inner();
    match log.rejected.first() {
        None => Ok(()),
        Some((_, reason)) => Err(Diagnostic::error(codes::APPLY_REJECTED, format!("{repo}: the server refused {branch}: {reason}"))
            .with_help("the server's hooks or permissions decline the update")),
    }
}

/// The target Environment's policy rules (from `system/catalyst-config/policies/`), judged.
fn gates(
    output: &Output,
    promotion: &Promotion,
    git: &Repository,
    heads: &std::collections::HashMap<String, Oid>,
    options: &Options,
    url: &str,
) -> Result<Vec<Gate>, Diagnostic> {
    let environment = format!("{}-{}", promotion.repo.org, promotion.to.as_str());
    let rules = crate::ops::policy_rules(output, &environment).unwrap_or_default();
    let text = crate::ops::rule_text;
    let mut gates = Vec::new();
    for rule in &rules {
        let kind = text(rule, "kind");
        let gate = match kind.as_str() {
            "soak" => {
                let source = EnvType::ALL.into_iter().find(|t| t.as_str() == text(rule, "sourceEnvironment")).unwrap_or(promotion.from);
                let changed = last_change(git, heads, source, options, url, &promotion.repo)?;
                soak(changed, &text(rule, "duration"), source, promotion.at)
            }
            "change-window" => change_window(&text(rule, "cron"), &text(rule, "duration"), promotion.at),
            "pr-required" => {
                let approvers: Vec<String> = rule
                    .get("approvers")
                    .and_then(Json::as_array)
                    .into_iter()
                    .flatten()
                    .filter_map(Json::as_str)
                    .map(|a| format!("@{}/{a}", promotion.repo.org))
                    .collect();
                (Verdict::OnThePullRequest, format!("{} approval(s) of {}", text(rule, "minApprovals"), approvers.join(", ")))
            }
            "re-score-gate" => (Verdict::NotOffline, format!("a score of {} or more ({})", text(rule, "minScore"), text(rule, "severity"))),
            _ => (Verdict::NotOffline, "an unknown rule".to_string()),
        };
        gates.push(Gate { rule: kind, verdict: gate.0, detail: gate.1 });
    }
    Ok(gates)
}

/// When `environment`'s branch last changed: its tip's commit time.
fn last_change(
    git: &Repository,
    heads: &std::collections::HashMap<String, Oid>,
    environment: EnvType,
    options: &Options,
    url: &str,
    repo: &RepoId,
) -> Result<Option<DateTime<Utc>>, Diagnostic> {
    let Some(&tip) = heads.get(environment.branch()) else { return Ok(None) };
    if git.find_commit(tip).is_err() {
        fetch(git, url, &[format!("refs/heads/{}", environment.branch())], options)
            .map_err(|e| connection_error(repo, url, &e, &options.credentials))?;
    }
    Ok(git.find_commit(tip).ok().and_then(|c| Utc.timestamp_opt(c.committer().when().seconds(), 0).single()))
}

/// A Catalyst duration (`30m`, `72h`, `3d`).
fn duration(text: &str) -> Option<Duration> {
    let unit = text.chars().last()?;
    let n: i64 = text[..text.len() - unit.len_utf8()].parse().ok()?;
    match unit {
        'm' => Duration::try_minutes(n),
        'h' => Duration::try_hours(n),
        'd' => Duration::try_days(n),
        _ => None,
    }
}

fn stamp(time: DateTime<Utc>) -> String {
    time.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}

/// Soak: the source Environment's branch unchanged for `length` before `at`.
fn soak(changed: Option<DateTime<Utc>>, length: &str, source: EnvType, at: DateTime<Utc>) -> (Verdict, String) {
    let Some((changed, until)) =
        changed.zip(duration(length)).and_then(|(changed, needed)| Some((changed, changed.checked_add_signed(needed)?)))
    else {
        return (Verdict::Blocks, format!("{} has no branch to soak, or `{length}` is not a duration", source.branch()));
    };
    if at >= until {
        (Verdict::Passes, format!("{} unchanged since {}, {length} soaked", source.branch(), stamp(changed)))
    } else {
        (Verdict::Blocks, format!("{} changed at {}; it soaks {length}, until {}", source.branch(), stamp(changed), stamp(until)))
    }
}

/// Change window: `at` within `length` after a time the cron names (UTC).
fn change_window(cron: &str, length: &str, at: DateTime<Utc>) -> (Verdict, String) {
    let window = format!("`{cron}` for {length}");
    let (Ok(schedule), Some(open)) = (croner::parser::CronParser::new().parse(cron), duration(length)) else {
        return (Verdict::Blocks, format!("{window} cannot be read"));
    };
    let closes = |opened: DateTime<Utc>| opened.checked_add_signed(open).unwrap_or(DateTime::<Utc>::MAX_UTC);
    if let Ok(opened) = schedule.find_previous_occurrence(&at, true) {
        if at < closes(opened) {
            return (Verdict::Passes, format!("{window}: open since {}, until {}", stamp(opened), stamp(closes(opened))));
        }
    }
    match schedule.find_next_occurrence(&at, false) {
        Ok(next) => (Verdict::Blocks, format!("{window}: closed, next open {} to {}", stamp(next), stamp(closes(next)))),
        Err(_) => (Verdict::Blocks, format!("{window}: never open again")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(text: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(text).expect("a time").with_timezone(&Utc)
    }

    #[test]
    fn the_promote_branch_is_pushed_only_while_it_is_where_the_promotion_was_planned_from() {
        let dir = tempfile::tempdir().expect("temp dir");
        let server = Repository::init_bare(dir.path().join("acme/shop.git")).expect("server");
        let cache = Repository::init_bare(dir.path().join("cache.git")).expect("cache");
        let commit_in = |repo: &Repository, message: &str| {
            let tree = repo.find_tree(repo.treebuilder(None).expect("builder").write().expect("tree")).expect("find");
            let someone = Signature::new("Someone", "someone@example.com", &git2::Time::new(1_900_000_000, 0)).expect("signature");
            repo.commit(None, &someone, &someone, message, &tree, &[]).expect("commit")
        };
        // A person's commit on the promote branch, pushed after the promotion was planned without one.
        let theirs = commit_in(&server, "a fix on the pull request");
        server.reference("refs/heads/promote/stg-to-prod", theirs, false, "pushed").expect("branch");
        let ours = commit_in(&cache, "catalyst: promote");
        let template = format!("{}/{{org}}/{{repo}}.git", dir.path().display());
        let options = Options::new(super::super::RemoteTemplate::parse(&template).expect("template"));
        let repo = RepoId::new("acme", "shop");
        let url = options.remote.url(&repo);
        let branch = "promote/stg-to-prod";
        let refused = push(&cache, &repo, &url, (branch, None), ours, &options).expect_err("the branch moved");
        assert_eq!(refused.code.id, codes::APPLY_RACE.id);
        assert_eq!(server.refname_to_id("refs/heads/promote/stg-to-prod").expect("still there"), theirs, "nothing overwritten");
        // Planned from the tip the server holds: replaced.
        push(&cache, &repo, &url, (branch, Some(theirs)), ours, &options).expect("pushed");
        assert_eq!(server.refname_to_id("refs/heads/promote/stg-to-prod").expect("branch"), ours);
    }

    #[test]
    fn a_change_window_is_open_for_its_duration_after_each_time_the_cron_names() {
        // Tuesdays and Thursdays at 14:00 UTC, for two hours; 2030-01-03 is a Thursday.
        let (open, _) = change_window("0 14 * * 2,4", "2h", at("2030-01-03T14:00:00Z"));
        assert_eq!(open, Verdict::Passes);
        assert_eq!(change_window("0 14 * * 2,4", "2h", at("2030-01-03T15:59:59Z")).0, Verdict::Passes);
        let (closed, detail) = change_window("0 14 * * 2,4", "2h", at("2030-01-03T16:00:00Z"));
        assert_eq!(closed, Verdict::Blocks);
        assert!(detail.contains("next open 2030-01-08T14:00:00Z to 2030-01-08T16:00:00Z"), "{detail}");
        assert_eq!(change_window("not a cron", "2h", at("2030-01-03T14:00:00Z")).0, Verdict::Blocks);
    }

    #[test]
    fn soak_counts_from_the_source_branch_last_change() {
        let changed = Some(at("2030-01-01T10:00:00Z"));
        assert_eq!(soak(changed, "72h", EnvType::Stg, at("2030-01-04T10:00:00Z")).0, Verdict::Passes);
        let (verdict, detail) = soak(changed, "3d", EnvType::Stg, at("2030-01-04T09:59:00Z"));
        assert_eq!(verdict, Verdict::Blocks);
        assert!(detail.contains("until 2030-01-04T10:00:00Z"), "{detail}");
        assert_eq!(soak(None, "72h", EnvType::Stg, at("2030-01-04T10:00:00Z")).0, Verdict::Blocks);
        assert_eq!(duration("30m"), Some(Duration::minutes(30)));
        assert_eq!(duration("h"), None);
        assert_eq!(duration(""), None);
        assert_eq!(duration("3日"), None, "not a unit, and no panic on a wide character");
        assert_eq!(duration("99999999999999999d"), None, "out of range");
        assert_eq!(soak(changed, "9223372036854775807m", EnvType::Stg, at("2030-01-04T10:00:00Z")).0, Verdict::Blocks);
    }
}
