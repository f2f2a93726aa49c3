//! Per-repository work on top of git2: the local cache, ls-remote, fetch,
//! trees, commits and the push.
//!
//! The cache holds one bare repository per remote repository and no refs at
//! all: objects are written atomically (temporary file, then rename) and
//! nothing else is, so a killed run leaves no lock behind and two runs may
//! share a cache. Credentials never reach it: remotes are anonymous, so no
//! URL is written to a config, and FETCH_HEAD is not written.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use git2::build::TreeUpdateBuilder;
use git2::{
    AutotagOption, Commit, Delta, Direction, FetchOptions, FileFavor, FileMode, MergeOptions, ObjectType, Oid, PushOptions, Repository,
    Signature, Sort, Tree,
};
use sha2::{Digest, Sha256};

use super::layout::{Files, RepoContent, RepoId};
use super::remote::{callbacks, classify, connection_error, local_path, missing_repo, Failure, PushLog, Transfer};
use super::{
    BranchPlan, Change, ChangeKind, Conflict, Foreign, Identity, Merge, Options, Plan, RepoOutcome, RepoPlan, BRANCH_TRAILER,
    MERGE_TRAILER, TRAILER,
};
use crate::diagnostic::codes;
use crate::diagnostic::Diagnostic;
use crate::model::EnvType;

/// Commits counted back from a tip before giving up on finding the runtime's last apply.
const LINEAGE_WALK_LIMIT: usize = 1_000;
/// Files listed in a commit message; the counts above the list stay exact.
const MESSAGE_FILES: usize = 200;

pub(super) fn plan_repo(content: &RepoContent<'_>, options: &Options) -> RepoPlan {
    let url = options.remote.url(&content.id);
    let mut plan = RepoPlan {
        repo: content.id.clone(),
        url: options.credentials.scrub(&url),
        exists: false,
        branches: Vec::new(),
        problem: None,
        transfer: Transfer::default(),
    };
    if let Err(problem) = plan_into(&mut plan, content, &url, options) {
        plan.problem = Some(problem);
    }
    plan
}

fn plan_into(plan: &mut RepoPlan, content: &RepoContent<'_>, url: &str, options: &Options) -> Result<(), Diagnostic> {
    // An ls-remote first: when the cache holds every tip, no pack is fetched.
    let heads = match list_heads(url, options) {
        Ok(heads) => {
            plan.exists = true;
            heads
        }
        Err(e) if classify(&e) == Failure::NotFound => HashMap::new(),
        Err(e) => return Err(connection_error(&plan.repo, url, &e, &options.credentials)),
    };
    let cache = Cache::open(options, &plan.repo, url)?;
    let repo = &cache.repo;
    let odb = repo.odb().map_err(|e| cache.error(e))?;
    let missing: Vec<String> = content
        .branches
        .keys()
        .filter(|branch| heads.get(*branch).is_some_and(|tip| !odb.exists(*tip)))
        .map(|branch| format!("refs/heads/{branch}"))
        .collect();
    if !missing.is_empty() {
        plan.transfer = fetch(repo, url, &missing, options).map_err(|e| connection_error(&plan.repo, url, &e, &options.credentials))?;
    }
    let mut sets = FileSets::default();
    for (branch, files) in &content.branches {
        let old = heads.get(branch).copied();
        if let Some(tip) = old.filter(|tip| !odb.exists(*tip)) {
            return Err(race(&plan.repo, format!("branch {branch} moved away from {} while it was fetched", short(tip))));
        }
        let leased = old.is_some_and(|tip| options.leases.iter().any(|lease| lease.allows(&plan.repo, branch, tip)));
        plan.branches.push(plan_branch(repo, (branch, files), old, leased, &mut sets, options).map_err(|e| cache.error(e))?);
    }
    let conflicts: Vec<(&BranchPlan, &Conflict)> = plan.branches.iter().filter_map(|b| Some((b, b.conflict.as_ref()?))).collect();
    if let Some(problem) = conflict_problem(&plan.repo, &conflicts) {
        return Err(problem);
    }
    Ok(())
}

/// The repository's branch tips, over a connection that downloads nothing.
pub(super) fn list_heads(url: &str, options: &Options) -> Result<HashMap<String, Oid>, git2::Error> {
    let mut remote = git2::Remote::create_detached(url)?;
    let connection = remote.connect_auth(Direction::Fetch, Some(callbacks(&options.credentials, None)), None)?;
    Ok(heads(connection.list()?))
}

pub(super) fn heads(list: &[git2::RemoteHead<'_>]) -> HashMap<String, Oid> {
    list.iter().filter_map(|head| Some((head.name().strip_prefix("refs/heads/")?.to_string(), head.oid()))).collect()
}

pub(super) fn fetch(repo: &Repository, url: &str, refspecs: &[String], options: &Options) -> Result<Transfer, git2::Error> {
    let mut remote = repo.remote_anonymous(url)?;
    let mut fetch_options = FetchOptions::new();
    fetch_options.remote_callbacks(callbacks(&options.credentials, None)).download_tags(AutotagOption::None).update_fetchhead(false);
    remote.download(refspecs, Some(&mut fetch_options))?;
    let stats = remote.stats();
    Ok(Transfer { fetched_objects: stats.received_objects(), fetched_bytes: stats.received_bytes(), ..Transfer::default() })
}

/// The branch's next tree. On top of the runtime's own last commit it is the compiled tree.
/// When people committed since, the compiled tree is merged into their commits, with the last
/// tree the runtime compiled as the merge base: what only they changed stays, what only the
/// compiler changed lands, and where both changed the same lines the branch is a conflict
/// (unless leased: then the compiled side wins).
fn plan_branch<'f>(
    repo: &Repository,
    (branch, files): (&str, &'f Files<'f>),
    old: Option<Oid>,
    leased: bool,
    sets: &mut FileSets<'f>,
    options: &Options,
) -> Result<BranchPlan, git2::Error> {
    let set = sets.of(files)?;
    let mut plan = BranchPlan {
        name: branch.to_string(),
        old,
        tree: Oid::ZERO_SHA1,
        last_apply: None,
        changes: Vec::new(),
        merge: None,
        conflict: None,
    };
    let Some(tip) = old.map(|oid| repo.find_commit(oid)).transpose()? else {
        set.write_blobs(repo)?;
        plan.tree = set.tree(repo, None)?;
        plan.changes = files.iter().map(|(path, _)| Change { kind: ChangeKind::Added, path: path.to_string() }).collect();
        return Ok(plan);
    };
    let (last_apply, since) = last_apply(repo, &tip, branch, &options.identity)?;
    plan.last_apply = last_apply.as_ref().map(Commit::id);
    // The usual re-apply: the compiled files are exactly the last compiled tree, whose id is
    // computed in memory and compared with the commit's: no tree or blob is read or written.
    if last_apply.as_ref().is_some_and(|last| set.exact_id == last.tree_id()) {
        plan.tree = tip.tree_id();
        return Ok(plan);
    }
    let tip_tree = tip.tree()?;
    let last_tree = last_apply.as_ref().map(Commit::tree).transpose()?;
    // Without --prune the files the compiler wrote before and no longer produces stay.
    let compiled = set.tree(repo, last_tree.as_ref().filter(|_| !options.prune))?;
    if compiled == tip_tree.id() || last_tree.as_ref().is_some_and(|last| last.id() == compiled) {
        // Nothing new: the tip holds the compiled tree, or the compiler has nothing new for the commits people pushed.
        plan.tree = tip_tree.id();
        return Ok(plan);
    }
    set.write_blobs(repo)?;
    plan.tree = match &last_apply {
        Some(last) if last.id() == tip.id() => compiled,
        _ => {
            let empty = empty_tree(repo)?;
            let ancestor = last_tree.as_ref().unwrap_or(&empty);
            let mut merge_options = MergeOptions::new();
            if leased {
                merge_options.file_favor(FileFavor::Theirs);
            }
            let mut index = repo.merge_trees(ancestor, &tip_tree, &repo.find_tree(compiled)?, Some(&merge_options))?;
            let merged = if !index.has_conflicts() {
                index.write_tree_to(repo)?
            } else if leased {
                // What no hunk can settle (a file removed on one side, changed on the other): the compiled files laid over the tip.
                set.tree(repo, Some(&tip_tree).filter(|_| !options.prune))?
            } else {
                plan.conflict = Some(Conflict { foreign: foreign(&tip, since, last_apply.as_ref()), paths: conflict_paths(&index)? });
                tip_tree.id()
            };
            if merged != tip_tree.id() {
                let compiled_changes = diff(repo, ancestor, compiled)?;
                plan.merge = Some(Merge { compiled, compiled_changes });
            }
            merged
        }
    };
    plan.changes = if plan.tree == tip_tree.id() { Vec::new() } else { diff(repo, &tip_tree, plan.tree)? };
    Ok(plan)
}

/// The paths a merge left in conflict.
pub(super) fn conflict_paths(index: &git2::Index) -> Result<Vec<String>, git2::Error> {
    let mut paths: Vec<String> = index
        .conflicts()?
        .filter_map(|c| c.ok())
        .filter_map(|c| c.our.or(c.their).or(c.ancestor))
        .map(|entry| String::from_utf8_lossy(&entry.path).into_owned())
        .collect();
    paths.dedup();
    Ok(paths)
}

/// What is computed once per distinct set of files in a repository (the branches that run the
/// same version hold the same files): their blob ids, the id of the tree of exactly them,
/// whether their blobs are in the cache, and their trees over each base.
#[derive(Default)]
struct FileSets<'f> {
    sets: Vec<FileSet<'f>>,
}

struct FileSet<'f> {
    files: &'f Files<'f>,
    blobs: Vec<Oid>,
    /// The id of the tree that holds exactly the files, computed in memory.
    exact_id: Oid,
    written: bool,
    trees: Vec<(Option<Oid>, Oid)>,
}

impl<'f> FileSets<'f> {
    fn of(&mut self, files: &'f Files<'f>) -> Result<&mut FileSet<'f>, git2::Error> {
        let found = match self.sets.iter().position(|set| set.files == files) {
            Some(found) => found,
            None => {
                let blobs = files.iter().map(|(_, bytes)| Oid::hash_object(ObjectType::Blob, bytes)).collect::<Result<Vec<_>, _>>()?;
                let exact_id = tree_id(files, &blobs)?;
                self.sets.push(FileSet { files, blobs, exact_id, written: false, trees: Vec::new() });
                self.sets.len() - 1
            }
        };
        Ok(&mut self.sets[found])
    }
}

impl FileSet<'_> {
    /// The tree of the files over `base`, from the blob ids: a tree that turns out unchanged
    /// needs none of the blobs written (see [`FileSet::write_blobs`]).
    fn tree(&mut self, repo: &Repository, base: Option<&Tree<'_>>) -> Result<Oid, git2::Error> {
        let base_id = base.map(Tree::id);
        if let Some(&(_, tree)) = self.trees.iter().find(|&&(b, _)| b == base_id) {
            return Ok(tree);
        }
        let tree = build_tree(repo, self.files, &self.blobs, base)?;
        self.trees.push((base_id, tree));
        Ok(tree)
    }

    /// Writes the blobs the cache does not hold yet: before a tree of them is merged, committed
    /// or pushed. Through the object database, not `Repository::blob`: that one always deflates
    /// the bytes into a temporary file before it finds the object already there.
    fn write_blobs(&mut self, repo: &Repository) -> Result<(), git2::Error> {
        if self.written {
            return Ok(());
        }
        let odb = repo.odb()?;
        for ((_, bytes), &id) in self.files.iter().zip(&self.blobs) {
            if !odb.exists(id) {
                odb.write(ObjectType::Blob, bytes)?;
            }
        }
        self.written = true;
        Ok(())
    }
}

/// The tree of `files` (with blob ids `blobs`) over `base`.
fn build_tree(repo: &Repository, files: &Files<'_>, blobs: &[Oid], base: Option<&Tree<'_>>) -> Result<Oid, git2::Error> {
    // So libgit2 does not look for the blobs (process-wide; every tree the runtime commits or
    // merges has its blobs written first).
    git2::opts::strict_object_creation(false);
    let mut update = TreeUpdateBuilder::new();
    for ((path, _), &id) in files.iter().zip(blobs) {
        update.upsert(*path, id, FileMode::Blob);
    }
    match base {
        Some(base) => update.create_updated(repo, base),
        None => update.create_updated(repo, &empty_tree(repo)?),
    }
}

/// The id of the tree that holds exactly `files` (with blob ids `blobs`), computed in memory as
/// Git hashes trees: entries sorted by name, a folder's name compared as if it ended in `/`.
fn tree_id(files: &Files<'_>, blobs: &[Oid]) -> Result<Oid, git2::Error> {
    let mut sorted: Vec<(&str, Oid)> = files.iter().zip(blobs).map(|(&(path, _), &id)| (path, id)).collect();
    sorted.sort_unstable_by_key(|&(path, _)| path);
    folder_id(&sorted)
}

/// The tree id of `files`, sorted, whose paths are relative to the folder.
fn folder_id(files: &[(&str, Oid)]) -> Result<Oid, git2::Error> {
    let mut entries: Vec<(String, &str, Oid)> = Vec::new();
    let mut rest = files;
    while let Some(&(path, id)) = rest.first() {
        match path.split_once('/') {
            None => {
                entries.push((path.to_string(), "100644", id));
                rest = &rest[1..];
            }
            Some((folder, _)) => {
                let prefix = format!("{folder}/");
                let count = rest.iter().take_while(|(p, _)| p.starts_with(&prefix)).count();
                let inner: Vec<(&str, Oid)> = rest[..count].iter().map(|&(p, id)| (&p[prefix.len()..], id)).collect();
                entries.push((prefix, "40000", folder_id(&inner)?));
                rest = &rest[count..];
            }
        }
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    let mut object = Vec::new();
    for (name, mode, oid) in entries {
        object.extend_from_slice(format!("{mode} {}\0", name.trim_end_matches('/')).as_bytes());
        object.extend_from_slice(oid.as_bytes());
    }
    Oid::hash_object(ObjectType::Tree, &object)
}

pub(super) fn diff(repo: &Repository, old: &Tree<'_>, new: Oid) -> Result<Vec<Change>, git2::Error> {
    let new = repo.find_tree(new)?;
    let diff = repo.diff_tree_to_tree(Some(old), Some(&new), None)?;
    let changes = diff.deltas().filter_map(|delta| {
        let kind = match delta.status() {
            Delta::Added => ChangeKind::Added,
            Delta::Deleted => ChangeKind::Removed,
            _ => ChangeKind::Modified,
        };
        let path = delta.new_file().path().or(delta.old_file().path())?;
        Some(Change { kind, path: path.to_string_lossy().into_owned() })
    });
    Ok(changes.collect())
}

/// A commit of the runtime's compiled trees for `branch`: its committer identity and its
/// trailers. The merge commits that bring those trees into people's commits carry another trailer.
fn is_runtime(commit: &Commit<'_>, branch: &str, identity: &Identity) -> bool {
    made_by(commit, identity, TRAILER) && trailers(commit).any(|line| line.strip_prefix(BRANCH_TRAILER) == Some(branch))
}

/// A merge commit of the runtime (its identity and the merge trailer).
fn is_merge(commit: &Commit<'_>, identity: &Identity) -> bool {
    made_by(commit, identity, MERGE_TRAILER)
}

pub(super) fn made_by(commit: &Commit<'_>, identity: &Identity, trailer: &str) -> bool {
    let committer = commit.committer();
    committer.name_bytes() == identity.name.as_bytes()
        && committer.email_bytes() == identity.email.as_bytes()
        && trailers(commit).any(|line| line.starts_with(trailer))
}

fn trailers<'c>(commit: &'c Commit<'_>) -> impl Iterator<Item = &'c str> {
    std::str::from_utf8(commit.message_bytes()).unwrap_or_default().lines()
}

/// The runtime's newest compiled commit of `branch` below `tip` (the compiled commits form one
/// line, merged into the branch by the runtime's merge commits), and how many commits were passed.
fn last_apply<'r>(
    repo: &'r Repository,
    tip: &Commit<'r>,
    branch: &str,
    identity: &Identity,
) -> Result<(Option<Commit<'r>>, usize), git2::Error> {
    // The tip is the runtime's own (the usual case) or its merge, whose second parent is the line's tip.
    let merged = if is_merge(tip, identity) { tip.parent(1).ok() } else { None };
    if let Some(own) = [Some(tip.clone()), merged].into_iter().flatten().find(|candidate| is_runtime(candidate, branch, identity)) {
        return Ok((Some(own), 0));
    }
    let mut walk = repo.revwalk()?;
    // Newest first, without loading the whole history: the runtime's commits are made in order.
    walk.set_sorting(Sort::TIME)?;
    walk.push(tip.id())?;
    let mut count = 0;
    for oid in walk.take(LINEAGE_WALK_LIMIT) {
        let commit = repo.find_commit(oid?)?;
        if is_runtime(&commit, branch, identity) {
            return Ok((Some(commit), count));
        }
        count += 1;
    }
    Ok((None, count))
}

/// The tip people pushed, for a report: `since` commits above the runtime's `last_apply`.
fn foreign(tip: &Commit<'_>, since: usize, last_apply: Option<&Commit<'_>>) -> Foreign {
    let author = tip.author();
    Foreign {
        commit: tip.id(),
        author: format!("{} <{}>", String::from_utf8_lossy(author.name_bytes()), String::from_utf8_lossy(author.email_bytes())),
        summary: String::from_utf8_lossy(tip.summary_bytes().unwrap_or_default()).into_owned(),
        count: since,
        last_apply: last_apply.map(Commit::id),
    }
}

/// The empty tree (written once into the repository's objects).
pub(super) fn empty_tree(repo: &Repository) -> Result<Tree<'_>, git2::Error> {
    repo.find_tree(repo.treebuilder(None)?.write()?)
}

fn conflict_problem(repo: &RepoId, conflicts: &[(&BranchPlan, &Conflict)]) -> Option<Diagnostic> {
    let ((branch, first), rest) = conflicts.split_first()?;
    let describe = |branch: &BranchPlan, conflict: &Conflict| {
        let foreign = &conflict.foreign;
        let since = foreign
            .last_apply
            .map_or_else(|| "no apply of catalyst on the branch".to_string(), |c| format!("catalyst's apply {}", short(c)));
        format!(
            "branch {}: {} commit(s) since {since}, up to {} (\"{}\" by {}), changed what the compiler changes: {}",
            branch.name,
            foreign.count,
            foreign.commit,
            foreign.summary,
            foreign.author,
            conflict.paths.join(", ")
        )
    };
    let mut diagnostic = Diagnostic::error(codes::APPLY_CONFLICT, format!("{repo}: {}", describe(branch, first))).with_help(format!(
        "nothing was pushed to {repo}. Merge the change in the repository, carry it into the Sovereign spec, or let the compiled files win with --force-with-lease={repo}:{}={}",
        branch.name, first.foreign.commit
    ));
    for (branch, other) in rest {
        diagnostic = diagnostic.with_note(describe(branch, other));
    }
    Some(diagnostic)
}

/// Someone else updated the repository between planning and pushing.
fn race(repo: &RepoId, what: String) -> Diagnostic {
    Diagnostic::error(codes::APPLY_RACE, format!("{repo}: {what}")).with_help(
        "another apply or a push got there first; nothing was pushed to this repository. Apply again: it starts from the new commit",
    )
}

/// A branch that is no longer where the run planned from (`None`: no branch).
pub(super) fn moved(repo: &RepoId, branch: &str, expected: Option<Oid>, found: Option<Oid>) -> Diagnostic {
    let at = |oid: Option<Oid>| oid.map_or_else(|| "(no branch)".to_string(), short);
    race(repo, format!("branch {branch} moved from {} to {} while this run planned its update", at(expected), at(found)))
}

fn short(oid: Oid) -> String {
    oid.to_string()[..12].to_string()
}

pub(super) fn apply_repo(plan: &Plan, repo_plan: &RepoPlan, options: &Options) -> RepoOutcome {
    let mut outcome = repo_plan.expected();
    if outcome.updated.is_empty() {
        return outcome;
    }
    let changed: Vec<&BranchPlan> = repo_plan.branches.iter().filter(|b| !b.is_unchanged()).collect();
    match push(plan, repo_plan, &changed, options) {
        Ok(pushed) => {
            outcome.transfer.add(pushed.transfer);
            outcome.branch_by_branch = !pushed.atomic && changed.len() > 1;
            if let Some(refused) = pushed.refused {
                // Without an atomic update the branches the server did not refuse have landed.
                let landed = |branch: &String| !pushed.atomic && !refused.refs.contains(&format!("refs/heads/{branch}"));
                outcome.updated.retain(landed);
                outcome.created &= !outcome.updated.is_empty();
                outcome.problem = Some(refused.problem);
            }
        }
        Err(problem) => {
            outcome.problem = Some(problem);
            outcome.updated.clear();
            outcome.created = false;
        }
    }
    outcome
}

/// What a push moved, whether the server applied its branches all or none, and what it refused.
struct Pushed {
    transfer: Transfer,
    atomic: bool,
    refused: Option<Refused>,
}

struct Refused {
    /// The refs the server did not update.
    refs: Vec<String>,
    problem: Diagnostic,
}

fn push(plan: &Plan, repo_plan: &RepoPlan, changed: &[&BranchPlan], options: &Options) -> Result<Pushed, Diagnostic> {
    let id = &repo_plan.repo;
    let url = options.remote.url(id);
    let cache = Cache::open(options, id, &url)?;
    let commits = commit_all(&cache.repo, id, plan, &repo_plan.branches, changed, &options.identity).map_err(|e| cache.error(e))?;
    if let Some(path) = local_path(&url) {
        return push_local(&cache, &path, id, &commits, changed, &options.identity);
    }
    let unreachable = |e: git2::Error| connection_error(id, &url, &e, &options.credentials);
    let log = RefCell::new(PushLog::default());
    let mut remote = cache.repo.remote_anonymous(&url).map_err(|e| cache.error(e))?;
    let mut connection =
        remote.connect_auth(Direction::Push, Some(callbacks(&options.credentials, Some(&log))), None).map_err(unreachable)?;
    // The lease: every branch must still be where it was planned from.
    let remote_heads = heads(connection.list().map_err(unreachable)?);
    for branch in changed {
        let now = remote_heads.get(&branch.name).copied();
        if now != branch.old {
            return Err(moved(id, &branch.name, branch.old, now));
        }
    }
    let refspecs: Vec<String> = commits.iter().map(|(branch, commit)| format!("{commit}:refs/heads/{branch}")).collect();
    let mut push_options = PushOptions::new();
    push_options.remote_callbacks(callbacks(&options.credentials, Some(&log)));
    super::atomic::reset();
    let pushed = connection.remote().push(&refspecs, Some(&mut push_options));
    let atomic = super::atomic::last_push_was_atomic();
    drop((connection, push_options));
    let log = log.into_inner();
    match pushed {
        Err(e) if e.class() == git2::ErrorClass::Reference => Err(race(id, e.message().to_string())),
        Err(e) if classify(&e) == Failure::NotFound => Err(missing_repo(id, &repo_plan.url)),
        Err(e) => Err(connection_error(id, &url, &e, &options.credentials)),
        Ok(()) if !log.rejected.is_empty() => {
            let refs = log.rejected.iter().map(|(name, _)| name.clone()).collect();
            Ok(Pushed { transfer: log.transfer, atomic, refused: Some(Refused { refs, problem: rejected(id, &log, options) }) })
        }
        Ok(()) => Ok(Pushed { transfer: log.transfer, atomic, refused: None }),
    }
}

/// Over `file://` (or a plain path) the runtime is the server: it creates a
/// missing bare repository, copies the new objects in one pack, then moves
/// every branch in one ref transaction, after checking under its locks that
/// each is still where it was planned from. A branch that moved fails the
/// whole push, as an atomic push does.
fn push_local(
    cache: &Cache,
    path: &Path,
    id: &RepoId,
    commits: &[(String, Oid)],
    changed: &[&BranchPlan],
    identity: &Identity,
) -> Result<Pushed, Diagnostic> {
    let server = match Repository::open_bare(path) {
        Ok(server) => server,
        Err(_) if !path.exists() => init_atomically(path).map_err(|e| cache_error(path, &e))?,
        Err(e) => return Err(cache_error(path, e.message())),
    };
    let failed = |e: git2::Error| cache_error(path, e.message());
    let mut walk = cache.repo.revwalk().map_err(|e| cache.error(e))?;
    for (_, commit) in commits {
        walk.push(*commit).map_err(|e| cache.error(e))?;
    }
    for old in changed.iter().filter_map(|b| b.old) {
        walk.hide(old).map_err(|e| cache.error(e))?;
    }
    let mut pack = cache.repo.packbuilder().map_err(|e| cache.error(e))?;
    pack.insert_walk(&mut walk).map_err(|e| cache.error(e))?;
    let odb = server.odb().map_err(failed)?;
    let mut writer = odb.packwriter().map_err(failed)?;
    let mut written = 0;
    pack.foreach(|chunk| {
        written += chunk.len();
        std::io::Write::write_all(&mut writer, chunk).is_ok()
    })
    .map_err(failed)?;
    writer.commit().map_err(failed)?;
    let mut transaction = server.transaction().map_err(failed)?;
    let refname = |branch: &str| format!("refs/heads/{branch}");
    for (branch, _) in commits {
        // Held by a concurrent apply, which got there first, or left by one that was killed holding it.
        transaction.lock_ref(&refname(branch)).map_err(|e| {
            let lock = path.join(format!("{}.lock", refname(branch)));
            race(id, format!("branch {branch} is locked by another apply: {}", e.message()))
                .with_note(format!("if no other apply runs, one was killed while it held the lock: remove {}", lock.display()))
        })?;
    }
    for branch in changed {
        let now = server.refname_to_id(&refname(&branch.name)).ok();
        if now != branch.old {
            return Err(moved(id, &branch.name, branch.old, now));
        }
    }
    let signature = Signature::now(&identity.name, &identity.email).map_err(failed)?;
    for (branch, commit) in commits {
        transaction.set_target(&refname(branch), *commit, Some(&signature), "catalyst apply").map_err(failed)?;
    }
    transaction.commit().map_err(failed)?;
    let transfer = Transfer { pushed_objects: pack.object_count(), pushed_bytes: written, ..Transfer::default() };
    Ok(Pushed { transfer, atomic: true, refused: None })
}

/// The commits of the changed branches. Higher branches first: each compiled commit descends from
/// the last compiled commit of the branch it is promoted into, so that a promotion (merging a
/// branch into the next one up) has that commit as its merge base and is clean.
fn commit_all(
    repo: &Repository,
    repo_id: &RepoId,
    plan: &Plan,
    branches: &[BranchPlan],
    changed: &[&BranchPlan],
    identity: &Identity,
) -> Result<Vec<(String, Oid)>, git2::Error> {
    let signature = Signature::now(&identity.name, &identity.email)?;
    let commit = |tree: Oid, parents: &[Oid], message: &str| -> Result<Oid, git2::Error> {
        let parents: Vec<Commit<'_>> = parents.iter().map(|oid| repo.find_commit(*oid)).collect::<Result<_, _>>()?;
        let parents: Vec<&Commit<'_>> = parents.iter().collect();
        repo.commit(None, &signature, &signature, message, &repo.find_tree(tree)?, &parents)
    };
    let mut compiled_tips: HashMap<&str, Oid> = branches.iter().filter_map(|b| Some((b.name.as_str(), b.last_apply?))).collect();
    let mut order = changed.to_vec();
    order.sort_by_key(|b| std::cmp::Reverse(EnvType::of_branch(&b.name)));
    let mut commits = Vec::new();
    for branch in order {
        let upper = promoted_into(&branch.name, branches).and_then(|upper| compiled_tips.get(upper).copied());
        let line = if branch.merge.is_some() { branch.last_apply } else { branch.old };
        let mut parents: Vec<Oid> = match (line, upper) {
            (Some(line), _) => vec![line],
            (None, Some(_)) => Vec::new(),
            // A new branch starts from the root every branch of the repository shares, so any two have a merge base.
            (None, None) => vec![shared_root(repo, identity)?],
        };
        if let Some(upper) = upper {
            if !parents.iter().any(|&p| p == upper || repo.graph_descendant_of(p, upper).unwrap_or(false)) {
                parents.push(upper);
            }
        }
        let (compiled, tip) = match &branch.merge {
            None => {
                let tip = commit(branch.tree, &parents, &commit_message(plan, repo_id, branch, &branch.changes, TRAILER))?;
                (tip, tip)
            }
            Some(merge) => {
                // The compiled tree on the runtime's own line, then merged into what people pushed.
                let compiled = commit(merge.compiled, &parents, &commit_message(plan, repo_id, branch, &merge.compiled_changes, TRAILER))?;
                let parents: Vec<Oid> = branch.old.into_iter().chain([compiled]).collect();
                (compiled, commit(branch.tree, &parents, &commit_message(plan, repo_id, branch, &branch.changes, MERGE_TRAILER))?)
            }
        };
        compiled_tips.insert(&branch.name, compiled);
        commits.push((branch.name.clone(), tip));
    }
    Ok(commits)
}

/// The branch `branch` is promoted into: the next Environment up that the repository has a branch of.
fn promoted_into<'b>(branch: &str, branches: &'b [BranchPlan]) -> Option<&'b str> {
    let rank = EnvType::of_branch(branch)?;
    let above = branches.iter().filter_map(|b| Some((EnvType::of_branch(&b.name)?, b.name.as_str()))).filter(|&(r, _)| r > rank);
    above.min().map(|(_, name)| name)
}

/// The first commit of every branch the runtime creates: an empty tree, committed by the
/// runtime at the epoch, so that it is the same object in every run and every repository.
fn shared_root(repo: &Repository, identity: &Identity) -> Result<Oid, git2::Error> {
    let signature = Signature::new(&identity.name, &identity.email, &git2::Time::new(0, 0))?;
    repo.commit(None, &signature, &signature, "catalyst: the root every branch of this repository starts from\n", &empty_tree(repo)?, &[])
}

/// The message: what and from which source, the files changed, then the trailer. Deterministic.
fn commit_message(plan: &Plan, repo: &RepoId, branch: &BranchPlan, changes: &[Change], trailer: &str) -> String {
    let verb = if trailer == MERGE_TRAILER { "merge" } else { "apply" };
    let mut text = format!(
        "catalyst: {verb} {} to {repo} {}\n\nSource: {}\nFiles: {}\n\n",
        plan.sovereign,
        branch.name,
        plan.source,
        super::counts(changes)
    );
    for change in changes.iter().take(MESSAGE_FILES) {
        text.push_str(&format!("{} {}\n", change.kind.letter(), change.path));
    }
    if changes.len() > MESSAGE_FILES {
        text.push_str(&format!("… and {} more\n", changes.len() - MESSAGE_FILES));
    }
    text.push_str(&format!("\n{BRANCH_TRAILER}{}\n{trailer}{}\n", branch.name, plan.digest));
    text
}

fn rejected(repo: &RepoId, log: &PushLog, options: &Options) -> Diagnostic {
    let reasons: Vec<String> = log.rejected.iter().map(|(name, reason)| format!("{name}: {reason}")).collect();
    let reasons = options.credentials.scrub(&reasons.join("; "));
    // In an atomic push the other refs only say "atomic transaction failed"; the server's messages say why.
    let lost_race = ["fetch first", "stale info", "non-fast-forward", "failed to lock", "failed to update ref", "cannot lock ref"];
    let diagnostic = if lost_race.iter().any(|w| reasons.contains(w) || log.messages.contains(w)) {
        race(repo, format!("the server refused the update because the branch moved: {reasons}"))
    } else {
        Diagnostic::error(codes::APPLY_REJECTED, format!("{repo}: the server refused the push: {reasons}"))
            .with_help("the server's hooks or permissions decline the update; the branches named are unchanged")
    };
    log.messages
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .fold(diagnostic, |d, line| d.with_note(format!("remote: {}", options.credentials.scrub(line))))
}

fn cache_error(path: &Path, message: &str) -> Diagnostic {
    Diagnostic::error(codes::APPLY_CACHE, format!("the local repository {} failed: {message}", path.display()))
        .with_help("the cache only holds copies of remote objects: remove it (see --cache-dir) and apply again")
}

/// The cache repository of one remote repository.
pub(super) struct Cache {
    path: PathBuf,
    pub(super) repo: Repository,
}

impl Cache {
    /// `<cache>/<org>/<repo>.<hash of the URL>.git`, created on first use.
    pub(super) fn open(options: &Options, id: &RepoId, url: &str) -> Result<Cache, Diagnostic> {
        let key: String = Sha256::digest(super::remote::redact(url).as_bytes()).iter().take(6).map(|b| format!("{b:02x}")).collect();
        let path = options.cache_dir.join(&id.org).join(format!("{}.{key}.git", id.name));
        let repo = Repository::open_bare(&path).or_else(|_| init_atomically(&path)).map_err(|e| cache_error(&path, &e))?;
        Ok(Cache { path, repo })
    }

    pub(super) fn error(&self, error: git2::Error) -> Diagnostic {
        cache_error(&self.path, error.message())
    }
}

/// Initialises beside the final path and renames it into place, so a
/// concurrent run never opens a half-initialised repository.
fn init_atomically(path: &Path) -> Result<Repository, String> {
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let parent = path.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(|e| e.to_string())?;
    let staging = parent.join(format!(".init-{}-{}", std::process::id(), COUNTER.fetch_add(1, Ordering::Relaxed)));
    Repository::init_bare(&staging).map_err(|e| e.message().to_string())?;
    if fs::rename(&staging, path).is_err() {
        // Another run created it first.
        let _ = fs::remove_dir_all(&staging);
    }
    Repository::open_bare(path).map_err(|e| e.message().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(changes: &[Change]) -> Vec<(char, &str)> {
        changes.iter().map(|c| (c.kind.letter(), c.path.as_str())).collect()
    }

    /// The tree of `files` over `base`, as a plan builds it.
    fn tree(repo: &Repository, files: &Files<'_>, base: Option<&Tree<'_>>) -> Oid {
        FileSets::default().of(files).expect("hashed").tree(repo, base).expect("tree")
    }

    /// The id of the tree of exactly `files`, computed in memory.
    fn exact(files: &Files<'_>) -> Oid {
        FileSets::default().of(files).expect("hashed").exact_id
    }

    #[test]
    fn trees_overlay_or_replace_and_diffs_name_every_file() {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo = Repository::init_bare(dir.path()).expect("init");
        let first: Files<'_> = vec![("a.yaml", b"a\n"), ("dir/b.yaml", b"b\n")];
        let base = repo.find_tree(tree(&repo, &first, None)).expect("find");
        let second: Files<'_> = vec![("c.yaml", b"c\n"), ("dir/b.yaml", b"B\n")];
        let overlaid = tree(&repo, &second, Some(&base));
        assert_eq!(kinds(&diff(&repo, &base, overlaid).expect("diff")), [('A', "c.yaml"), ('M', "dir/b.yaml")]);
        let pruned = tree(&repo, &second, None);
        assert_eq!(kinds(&diff(&repo, &base, pruned).expect("diff")), [('D', "a.yaml"), ('A', "c.yaml"), ('M', "dir/b.yaml")]);
        assert_eq!(tree(&repo, &first, None), base.id(), "the same files give the same tree");
        assert_eq!(exact(&first), base.id(), "the tree id computed in memory is Git's");
        assert_eq!(exact(&second), pruned);
        let tricky: Files<'_> = vec![("ab", b"1"), ("a/x", b"2"), ("a-b", b"3"), ("a.yaml", b"4"), ("a/b/c", b"5"), ("a0", b"6")];
        assert_eq!(exact(&tricky), tree(&repo, &tricky, None), "folders sort as if named `a/`");
    }

    #[test]
    fn runtime_commits_carry_the_identity_and_the_trailer() {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo = Repository::init_bare(dir.path()).expect("init");
        let files: Files<'_> = vec![("values.yaml", b"x: 1\n")];
        let tree = tree(&repo, &files, None);
        let plan =
            Plan { sovereign: "a.example".into(), digest: "d1g357".into(), source: "abc".into(), remote: String::new(), repos: Vec::new() };
        let changes = vec![Change { kind: ChangeKind::Added, path: "values.yaml".into() }];
        let branch =
            BranchPlan { name: "main".into(), old: None, tree, last_apply: None, changes: changes.clone(), merge: None, conflict: None };
        let message = commit_message(&plan, &RepoId::new("acme", "shop"), &branch, &changes, TRAILER);
        assert_eq!(
            message,
            "catalyst: apply a.example to acme/shop main\n\nSource: abc\nFiles: 1 added, 0 modified, 0 removed\n\nA values.yaml\n\nCatalyst-Branch: main\nCatalyst-Apply: d1g357\n"
        );
        let identity = Identity::default();
        let commit = |name: &str, message: &str| {
            let signature = Signature::now(name, &identity.email).expect("signature");
            let oid = repo.commit(None, &signature, &signature, message, &repo.find_tree(tree).expect("tree"), &[]).expect("commit");
            repo.find_commit(oid).expect("find")
        };
        assert!(is_runtime(&commit(&identity.name, &message), "main", &identity));
        assert!(!is_runtime(&commit(&identity.name, &message), "staging", &identity), "another branch's");
        assert!(!is_runtime(&commit(&identity.name, "hotfix\n"), "main", &identity), "no trailer");
        assert!(!is_runtime(&commit("Jane", &message), "main", &identity), "another committer");
    }
}
