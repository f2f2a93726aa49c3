//! The runtime: publishes a compiled tree to the Git servers Flux pulls from.
//!
//! [`plan`] splits the tree into repositories ([`layout`]), asks each server
//! for its branch tips (an ls-remote: no pack moves when the cache already
//! holds them), builds every branch's tree in a local cache repository and
//! compares tree ids. [`execute`] then commits on top of the remote tips and
//! pushes, fast-forward only, re-checking each tip it planned on when it
//! connects. Both run repositories in parallel with a bound.
//!
//! Safety rules (README § Apply): history is never rewritten. On a branch
//! people committed to since the runtime's last apply (its compiled commits
//! carry its identity and the [`TRAILER`]), the compiled tree is committed on
//! top of that apply and merged into their commits; a merge that conflicts
//! refuses the repository unless a [`Lease`] lets the compiled side win; the
//! server's compare-and-swap on each ref
//! keeps every branch at its old or its new commit whatever is killed when;
//! a branch that moved since planning is reported as a race, never overwritten;
//! the branches of one repository land together where the server offers atomic
//! pushes (`atomic.rs`), and in one ref transaction over `file://`.

mod atomic;
mod git;
pub mod layout;
mod promote;
pub mod remote;

use std::fmt;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use rayon::prelude::*;
use sha2::{Digest, Sha256};

pub use layout::{is_sovereign, read_built, split, RepoContent, RepoId};
pub use promote::{promote, Gate, Outcome as PromotionOutcome, Promotion, Request as PromotionRequest, Verdict, PROMOTE_TRAILER};
pub use remote::{Credentials, RemoteTemplate, Transfer};

use crate::diagnostic::codes;
use crate::diagnostic::Diagnostic;
use crate::pipeline::render::Output;

/// The trailer that marks a commit of a compiled tree as the runtime's (with the committer identity).
pub const TRAILER: &str = "Catalyst-Apply: ";
/// The trailer of the runtime's merge of a compiled tree into commits people pushed.
pub const MERGE_TRAILER: &str = "Catalyst-Merge: ";
/// The trailer that names the branch a runtime commit was made for: after a promotion
/// (a fast-forward) a branch may hold another branch's compiled commits.
pub const BRANCH_TRAILER: &str = "Catalyst-Branch: ";

/// The committer (and author) of the runtime's commits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Identity {
    pub name: String,
    pub email: String,
}

impl Default for Identity {
    fn default() -> Self {
        Identity { name: "catalyst".into(), email: "catalyst@openova.io".into() }
    }
}

/// Explicit consent to apply on top of commits the runtime did not make.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lease {
    /// Any foreign tip seen while planning (`--force-with-lease` alone).
    Any,
    /// One branch, only while it is at `commit` (a full id or a prefix of at least 7 digits).
    Commit { repo: RepoId, branch: String, commit: String },
}

impl Lease {
    fn allows(&self, repo: &RepoId, branch: &str, tip: git2::Oid) -> bool {
        match self {
            Lease::Any => true,
            Lease::Commit { repo: r, branch: b, commit } => r == repo && b == branch && tip.to_string().starts_with(commit.as_str()),
        }
    }
}

impl FromStr for Lease {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        if text.is_empty() || text == "*" {
            return Ok(Lease::Any);
        }
        let parsed = text.split_once(':').and_then(|(repo, rest)| {
            let (org, name) = repo.split_once('/')?;
            let (branch, commit) = rest.split_once('=')?;
            let commit = commit.to_ascii_lowercase();
            let valid = commit.len() >= 7 && commit.len() <= 40 && commit.bytes().all(|b| b.is_ascii_hexdigit());
            valid.then(|| Lease::Commit { repo: RepoId::new(org, name), branch: branch.to_string(), commit })
        });
        parsed.ok_or_else(|| format!("`{text}` is not ORG/REPO:BRANCH=COMMIT (a commit id of at least 7 hex digits)"))
    }
}

/// How to apply.
#[derive(Debug, Clone)]
pub struct Options {
    pub remote: RemoteTemplate,
    pub credentials: Credentials,
    pub identity: Identity,
    /// Remove files the compiler no longer produces from the branches it writes.
    pub prune: bool,
    pub leases: Vec<Lease>,
    /// Repositories handled at once.
    pub jobs: usize,
    /// Local copies of the remote objects: one bare repository per remote repository.
    pub cache_dir: PathBuf,
    /// The source revision named in commit messages.
    pub source: String,
}

impl Options {
    /// Defaults for `remote`: credentials from the environment, the default cache, 8 jobs.
    pub fn new(remote: RemoteTemplate) -> Self {
        let credentials = Credentials::from_env(&remote);
        Options {
            remote,
            credentials,
            identity: Identity::default(),
            prune: false,
            leases: Vec::new(),
            jobs: 8,
            cache_dir: default_cache_dir(),
            source: "unknown".into(),
        }
    }
}

/// `$XDG_CACHE_HOME/catalyst/apply`, `~/.cache/catalyst/apply`, or under the system temp folder.
pub fn default_cache_dir() -> PathBuf {
    let var = |name| std::env::var_os(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    var("XDG_CACHE_HOME")
        .or_else(|| var("HOME").map(|home| home.join(".cache")))
        .unwrap_or_else(|| std::env::temp_dir().join("catalyst-cache"))
        .join("catalyst/apply")
}

/// The commit the Sovereign (or built tree) is at, when it lies in a Git work tree.
pub fn source_revision(path: &Path) -> String {
    let head = git2::Repository::discover(path).ok().and_then(|repo| repo.head().ok()?.peel_to_commit().ok().map(|c| c.id()));
    head.map_or_else(|| "unknown".into(), |id| id.to_string())
}

/// The cache must lie outside the tree being published.
pub fn check_cache_dir(cache: &Path, input: &Path) -> Result<(), Diagnostic> {
    let absolute = |path: &Path| std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    if !absolute(cache).starts_with(absolute(input)) {
        return Ok(());
    }
    Err(Diagnostic::error(codes::APPLY_CACHE, format!("the cache folder {} lies inside {}", cache.display(), input.display()))
        .with_help("choose a --cache-dir outside the tree being applied"))
}

/// What happens to one file of a branch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ChangeKind {
    Added,
    Modified,
    Removed,
}

impl ChangeKind {
    fn letter(self) -> char {
        match self {
            ChangeKind::Added => 'A',
            ChangeKind::Modified => 'M',
            ChangeKind::Removed => 'D',
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Change {
    pub kind: ChangeKind,
    pub path: String,
}

/// A remote tip the runtime did not commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Foreign {
    pub commit: git2::Oid,
    pub author: String,
    pub summary: String,
    /// Commits since the last runtime commit (counted up to a bound).
    pub count: usize,
    pub last_apply: Option<git2::Oid>,
}

#[derive(Debug, Clone)]
pub struct BranchPlan {
    pub name: String,
    /// The remote tip when planned; `None` for a new branch.
    pub old: Option<git2::Oid>,
    /// The tree the branch will hold (already in the cache).
    pub tree: git2::Oid,
    /// The runtime's last compiled commit of this branch, if the branch has one.
    pub last_apply: Option<git2::Oid>,
    /// Empty when the remote already holds `tree`.
    pub changes: Vec<Change>,
    /// Set when `tree` merges the compiled tree into commits people pushed since the last apply.
    pub merge: Option<Merge>,
    /// Set when that merge conflicts: the branch is not applied.
    pub conflict: Option<Conflict>,
}

/// The compiled tree of a branch that people committed to, committed on the runtime's own line
/// (on top of its last apply) before it is merged.
#[derive(Debug, Clone)]
pub struct Merge {
    pub compiled: git2::Oid,
    /// From the last compiled tree to this one.
    pub compiled_changes: Vec<Change>,
}

/// Where the compiler's change and people's commits changed the same lines.
#[derive(Debug, Clone)]
pub struct Conflict {
    pub foreign: Foreign,
    pub paths: Vec<String>,
}

impl BranchPlan {
    pub fn is_unchanged(&self) -> bool {
        self.changes.is_empty()
    }
}

#[derive(Debug, Clone)]
pub struct RepoPlan {
    pub repo: RepoId,
    /// The clone URL, without credentials.
    pub url: String,
    pub exists: bool,
    pub branches: Vec<BranchPlan>,
    /// Why this repository will not be (or was not) applied.
    pub problem: Option<Diagnostic>,
    /// Fetched while planning.
    pub transfer: Transfer,
}

impl RepoPlan {
    /// The outcome when every push succeeds.
    fn expected(&self) -> RepoOutcome {
        let applied = self.problem.is_none();
        let updated: Vec<String> = self.branches.iter().filter(|b| applied && !b.is_unchanged()).map(|b| b.name.clone()).collect();
        RepoOutcome {
            repo: self.repo.clone(),
            created: !self.exists && !updated.is_empty(),
            unchanged: self.branches.iter().filter(|b| b.is_unchanged()).count(),
            updated,
            problem: self.problem.clone(),
            transfer: self.transfer,
            branch_by_branch: false,
        }
    }
}

/// Everything [`execute`] will do, computed without pushing.
#[derive(Debug, Clone)]
pub struct Plan {
    /// The Sovereign's FQDN (from `clusters/<fqdn>/`).
    pub sovereign: String,
    /// sha256 of the whole compiled tree, written into every commit's trailer.
    pub digest: String,
    pub source: String,
    pub remote: String,
    pub repos: Vec<RepoPlan>,
}

/// Counts for the final line.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Summary {
    pub repos: usize,
    pub repos_created: usize,
    pub repos_failed: usize,
    pub branches_updated: usize,
    pub branches_unchanged: usize,
    /// Repositories whose branches were pushed one by one: the server offers no atomic push.
    pub branch_by_branch: usize,
    pub transfer: Transfer,
}

impl Summary {
    fn of(outcomes: &[RepoOutcome]) -> Summary {
        let mut summary = Summary { repos: outcomes.len(), ..Summary::default() };
        for repo in outcomes {
            summary.transfer.add(repo.transfer);
            summary.repos_failed += usize::from(repo.problem.is_some());
            summary.repos_created += usize::from(repo.created);
            summary.branches_updated += repo.updated.len();
            summary.branches_unchanged += repo.unchanged;
            summary.branch_by_branch += usize::from(repo.branch_by_branch);
        }
        summary
    }
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let t = &self.transfer;
        write!(
            f,
            "{} repos, {} branches updated, {} unchanged ({} repos created, {} failed); fetched {} objects ({} bytes), pushed {} objects ({} bytes)",
            self.repos,
            self.branches_updated,
            self.branches_unchanged,
            self.repos_created,
            self.repos_failed,
            t.fetched_objects,
            t.fetched_bytes,
            t.pushed_objects,
            t.pushed_bytes
        )?;
        if self.branch_by_branch > 0 {
            write!(f, "; {} repos pushed branch by branch (their server offers no atomic push)", self.branch_by_branch)?;
        }
        Ok(())
    }
}

impl Plan {
    pub fn problems(&self) -> impl Iterator<Item = &Diagnostic> {
        self.repos.iter().filter_map(|r| r.problem.as_ref())
    }

    /// What a run would do, before it pushes.
    pub fn summary(&self) -> Summary {
        let expected: Vec<RepoOutcome> = self.repos.iter().map(RepoPlan::expected).collect();
        Summary::of(&expected)
    }

    /// The plan as `--dry-run` prints it: every repository that changes, with its files.
    pub fn render(&self) -> String {
        let mut text = format!("plan: apply {} (source {}) to {}\n", self.sovereign, self.source, self.remote);
        for repo in self.repos.iter().filter(|r| r.problem.is_none()) {
            let changed: Vec<&BranchPlan> = repo.branches.iter().filter(|b| !b.is_unchanged()).collect();
            if changed.is_empty() {
                continue;
            }
            let verb = if repo.exists { "update" } else { "create" };
            let _ = writeln!(text, "{verb} {}", repo.repo);
            for branch in changed {
                let what = if branch.old.is_some() { "update" } else { "new branch" };
                let _ = writeln!(text, "  {} ({what}): {}", branch.name, counts(&branch.changes));
                for change in &branch.changes {
                    let _ = writeln!(text, "    {} {}", change.kind.letter(), change.path);
                }
            }
        }
        for repo in self.repos.iter().filter(|r| r.problem.is_some()) {
            let _ = writeln!(text, "skip {} (see the error below)", repo.repo);
        }
        text
    }
}

fn counts(changes: &[Change]) -> String {
    let count = |kind| changes.iter().filter(|c| c.kind == kind).count();
    format!("{} added, {} modified, {} removed", count(ChangeKind::Added), count(ChangeKind::Modified), count(ChangeKind::Removed))
}

/// What [`execute`] did to one repository.
#[derive(Debug, Clone)]
pub struct RepoOutcome {
    pub repo: RepoId,
    pub created: bool,
    /// Branches pushed.
    pub updated: Vec<String>,
    pub unchanged: usize,
    pub problem: Option<Diagnostic>,
    /// Fetched while planning plus pushed.
    pub transfer: Transfer,
    /// Whether several branches were pushed without an atomic update (the server offers none).
    pub branch_by_branch: bool,
}

#[derive(Debug, Clone)]
pub struct Applied {
    pub repos: Vec<RepoOutcome>,
}

impl Applied {
    pub fn problems(&self) -> impl Iterator<Item = &Diagnostic> {
        self.repos.iter().filter_map(|r| r.problem.as_ref())
    }

    pub fn summary(&self) -> Summary {
        Summary::of(&self.repos)
    }
}

/// Compares the compiled tree with every remote branch; pushes nothing.
/// `progress` is called once per repository, from worker threads.
pub fn plan(output: &Output, options: &Options, progress: &(dyn Fn(&RepoPlan) + Sync)) -> Result<Plan, Diagnostic> {
    atomic::enable();
    let repos = split(output)?;
    let planned = in_parallel(options.jobs, &repos, |content| {
        let plan = git::plan_repo(content, options);
        progress(&plan);
        plan
    });
    Ok(Plan {
        sovereign: sovereign_name(output),
        digest: digest(output),
        source: options.source.clone(),
        remote: options.remote.display(),
        repos: planned,
    })
}

/// Pushes what `plan` decided. Repositories with a problem are left alone;
/// the others are applied independently of each other.
pub fn execute(plan: &Plan, options: &Options, progress: &(dyn Fn(&RepoOutcome) + Sync)) -> Applied {
    atomic::enable();
    let repos = in_parallel(options.jobs, &plan.repos, |repo| {
        let outcome = git::apply_repo(plan, repo, options);
        progress(&outcome);
        outcome
    });
    Applied { repos }
}

/// `f` over `items` on at most `jobs` threads, results in order.
fn in_parallel<T: Sync, R: Send>(jobs: usize, items: &[T], f: impl Fn(&T) -> R + Sync + Send) -> Vec<R> {
    match rayon::ThreadPoolBuilder::new().num_threads(jobs.max(1)).build() {
        Ok(pool) => pool.install(|| items.par_iter().map(&f).collect()),
        Err(_) => items.iter().map(f).collect(),
    }
}

fn sovereign_name(output: &Output) -> String {
    let fqdn = output.files.keys().find_map(|path| path.strip_prefix("clusters/")?.split('/').next());
    fqdn.unwrap_or("sovereign").to_string()
}

fn digest(output: &Output) -> String {
    let mut hasher = Sha256::new();
    for (path, bytes) in &output.files {
        hasher.update(path.as_bytes());
        hasher.update([0]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    }
    hasher.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leases_name_one_branch_at_one_commit_or_any() {
        assert_eq!("*".parse::<Lease>(), Ok(Lease::Any));
        let lease: Lease = "acme/shop:main=1A2B3C4".parse().expect("valid lease");
        let tip = git2::Oid::from_str("1a2b3c4d00000000000000000000000000000000").expect("oid");
        assert!(lease.allows(&RepoId::new("acme", "shop"), "main", tip));
        assert!(!lease.allows(&RepoId::new("acme", "shop"), "develop", tip));
        assert!(!lease.allows(&RepoId::new("acme", "shop"), "main", git2::Oid::ZERO_SHA1));
        assert!("acme/shop:main=12".parse::<Lease>().is_err(), "too short a commit prefix");
        assert!("acme:main=1a2b3c4".parse::<Lease>().is_err(), "no repository name");
    }
}
