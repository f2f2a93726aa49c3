//! `catalyst diff`: what a change does to the rendered output.
//!
//! Both revisions are read straight from the Git object database (the head
//! may be the working tree), compiled in memory, and their outputs compared
//! per object: Kubernetes objects by (API group, kind, namespace, name),
//! Application repo files by repo, branch and path. Only files whose bytes
//! differ are parsed, and a difference of key order or formatting alone is
//! no change. The consequences reviewers care about are derived from the
//! outputs themselves: touched Environments and their policies, Blueprint
//! version bumps, `dependsOn` edges, and Secret values (always redacted).

pub mod format;

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde::Serialize;
use serde_json::Value as Json;

use crate::check::upgrades::Lock;
use crate::model::EnvType;
use crate::pipeline::render::Output;
use crate::pipeline::Replaces;
use crate::support::vfs::{DiskFs, GitTreeFs, Vfs};

/// What a difference is compared between.
#[derive(Debug, Clone)]
pub struct Request {
    /// Any path inside the repository.
    pub repo: PathBuf,
    pub base: String,
    /// `None`: the working tree (or `HEAD` in a bare repository).
    pub head: Option<String>,
    /// Sovereign folders relative to the repository root; empty: every `sovereigns/*/`.
    pub sovereigns: Vec<PathBuf>,
}

#[derive(Debug, thiserror::Error)]
pub enum DiffError {
    #[error("{0}")]
    Git(#[from] git2::Error),
    #[error("`{0}` is not inside the repository")]
    Outside(PathBuf),
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub base: String,
    pub head: String,
    pub sovereigns: Vec<SovereignDiff>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct SovereignDiff {
    /// The Sovereign folder, relative to the repository root.
    pub path: String,
    #[serde(flatten)]
    pub outcome: Outcome,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "status", rename_all = "camelCase")]
pub enum Outcome {
    Compared {
        summary: String,
        changes: Vec<Change>,
        consequences: Consequences,
    },
    /// One side did not compile: its diagnostics instead of a difference.
    Failed {
        revision: String,
        /// The diagnostics, as `catalyst check` prints them (no colour).
        diagnostics: String,
        errors: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum ChangeKind {
    Added,
    Removed,
    Changed,
}

/// Where a change belongs, for grouping.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum Area {
    Environment { name: String },
    BootstrapKit,
    BringUp,
    Sovereign,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Change {
    pub change: ChangeKind,
    pub area: Area,
    pub application: Option<String>,
    /// `HelmRelease omantel-it-prod/portal` or `repos/acme/web/main/values.yaml`.
    pub object: String,
    /// The file it is in (head side, or base when removed).
    pub path: String,
    /// Unified diff of the canonical YAML (Secret values redacted).
    pub diff: String,
}

#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Consequences {
    pub environments: Vec<TouchedEnvironment>,
    pub version_bumps: Vec<VersionBump>,
    pub depends_on: Vec<EdgeChange>,
    /// Objects whose secret material changed; the values are never shown.
    pub secrets: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct TouchedEnvironment {
    pub name: String,
    pub applications: Vec<String>,
    /// The EnvironmentPolicy rules gating it, one line each; empty: ungated.
    pub policy: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct VersionBump {
    /// `<environment>/<application>` or `bootstrap-kit`.
    pub user: String,
    pub blueprint: String,
    pub from: Option<String>,
    pub to: Option<String>,
    /// Set when the new version is the one a lower Environment of the Organization runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub promotion: Option<Promotion>,
}

/// A version bump that takes a lower Environment's version: a promotion.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Promotion {
    /// The Environment promoted from.
    pub from: String,
    /// The files in which the promoted Environment's branch still differs from the source's
    /// (none: it holds exactly what the source runs).
    pub differing_files: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EdgeChange {
    pub object: String,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

impl Report {
    pub fn has_differences(&self) -> bool {
        self.sovereigns.iter().any(|s| match &s.outcome {
            Outcome::Compared { changes, .. } => !changes.is_empty(),
            Outcome::Failed { .. } => true,
        })
    }

    pub fn has_failures(&self) -> bool {
        self.sovereigns.iter().any(|s| matches!(s.outcome, Outcome::Failed { .. }))
    }
}

/// One side of the comparison: a commit's tree or the working tree.
struct Side {
    label: String,
    vfs: Arc<dyn Vfs>,
    /// Where repository-relative paths start for this side.
    root: PathBuf,
}

impl Side {
    fn commit(repo: &git2::Repository, rev: &str) -> Result<Side, DiffError> {
        let commit = repo.revparse_single(rev)?.peel_to_commit()?;
        let tree = commit.tree()?;
        let short = commit.as_object().short_id()?.as_str().unwrap_or_default().to_string();
        Ok(Side { label: format!("{rev} ({short})"), vfs: Arc::new(GitTreeFs::from_tree(repo, &tree)?), root: PathBuf::new() })
    }

    fn sovereigns(&self) -> Vec<PathBuf> {
        crate::sovereigns_in(&*self.vfs, &self.root)
    }

    /// The Sovereign compiled on this side; `replaces` holds its version changes to their upgrade paths.
    fn compile(&self, sovereign: &Path, replaces: Replaces) -> Result<Output, (String, usize)> {
        let path = self.root.join(sovereign);
        if !self.vfs.is_file(&path.join("sovereign.yaml")) {
            // Absent on this side: everything is added (or removed).
            return Ok(Output::default());
        }
        let compilation = crate::compile_with(self.vfs.clone(), &path, &crate::Options { replaces, ..crate::Options::default() });
        compilation.output.ok_or_else(|| {
            let errors = compilation.diagnostics.iter().filter(|d| d.severity == crate::diagnostic::Severity::Error).count();
            (crate::diagnostic::format::human(&compilation.diagnostics, &compilation.sources, false), errors)
        })
    }
}

/// Compiles both revisions of every requested Sovereign and compares them.
pub fn diff(request: &Request) -> Result<Report, DiffError> {
    let repo = git2::Repository::discover(&request.repo)?;
    let base = Side::commit(&repo, &request.base)?;
    let head = match (&request.head, repo.workdir()) {
        (Some(rev), _) => Side::commit(&repo, rev)?,
        (None, Some(workdir)) => Side { label: "working tree".into(), vfs: Arc::new(DiskFs), root: relative_to_cwd(workdir) },
        (None, None) => Side::commit(&repo, "HEAD")?,
    };
    let sovereigns = if request.sovereigns.is_empty() {
        let mut all: BTreeSet<PathBuf> = base.sovereigns().into_iter().collect();
        all.extend(head.sovereigns());
        all.into_iter().collect()
    } else {
        request.sovereigns.clone()
    };
    let sovereigns = sovereigns
        .iter()
        .map(|sovereign| {
            let path = sovereign.to_string_lossy().replace('\\', "/");
            let (old, mut new) = rayon::join(|| base.compile(sovereign, Replaces::Nothing), || head.compile(sovereign, Replaces::Nothing));
            // Versions moved: the head is compiled again, held to the base's lock (upgrade paths).
            if let (Ok(old), Ok(head_output)) = (&old, &new) {
                if !version_bumps(old, head_output).is_empty() {
                    let lock = old.files.get("catalyst.lock").map(|bytes| Lock::parse(&String::from_utf8_lossy(bytes))).unwrap_or_default();
                    new = head.compile(sovereign, Replaces::Lock(Arc::new(lock)));
                }
            }
            let outcome = match (old, new) {
                (Err((diagnostics, errors)), _) => Outcome::Failed { revision: base.label.clone(), diagnostics, errors },
                (_, Err((diagnostics, errors))) => Outcome::Failed { revision: head.label.clone(), diagnostics, errors },
                (Ok(old), Ok(new)) => compare(&old, &new),
            };
            SovereignDiff { path, outcome }
        })
        .collect();
    Ok(Report { base: base.label, head: head.label, sovereigns })
}

/// The working tree's root as a path relative to the working directory when below it
/// (so diagnostics show short paths), else absolute.
fn relative_to_cwd(workdir: &Path) -> PathBuf {
    let cwd = std::env::current_dir().ok().and_then(|d| d.canonicalize().ok());
    let workdir = workdir.canonicalize().unwrap_or_else(|_| workdir.to_path_buf());
    match cwd.as_deref().and_then(|cwd| workdir.strip_prefix(cwd).ok()) {
        Some(relative) => relative.to_path_buf(),
        None => workdir,
    }
}

/// Converts a path given on the command line (relative to the working directory) to one relative to the repository root.
pub fn repo_relative(repo: &Path, path: &Path) -> Result<PathBuf, DiffError> {
    let git = git2::Repository::discover(repo)?;
    let root = git.workdir().map(Path::to_path_buf).unwrap_or_else(|| git.path().to_path_buf());
    let root = root.canonicalize().unwrap_or(root);
    let absolute = std::env::current_dir().map(|d| d.join(path)).unwrap_or_else(|_| path.to_path_buf());
    let absolute = absolute.canonicalize().unwrap_or(absolute);
    absolute.strip_prefix(&root).map(Path::to_path_buf).map_err(|_| DiffError::Outside(path.to_path_buf()))
}

/// What an output file or object is matched by.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Key {
    Object { group: String, kind: String, namespace: String, name: String },
    File { path: String, document: usize },
}

#[derive(Debug, Clone)]
struct Item {
    path: String,
    value: Json,
}

fn group_of(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(group, _)| group)
}

/// Every item of one differing file: Kubernetes objects outside the Application
/// repos by identity, everything else by file (and document index).
fn items(path: &str, bytes: &[u8], into: &mut BTreeMap<Key, Item>) {
    let text = String::from_utf8_lossy(bytes);
    let file_key = |document| Key::File { path: path.to_string(), document };
    let documents = if path.ends_with(".yaml") || path.ends_with(".yml") || path.ends_with(".lock") {
        crate::support::yaml::parse_stream(&text).unwrap_or_else(|_| vec![Json::String(text.to_string())])
    } else if path.ends_with(".json") {
        vec![serde_json::from_str(&text).unwrap_or_else(|_| Json::String(text.to_string()))]
    } else {
        vec![Json::String(text.to_string())]
    };
    let by_identity = !path.starts_with("repos/") && !path.starts_with("infra/");
    for (index, document) in documents.into_iter().enumerate() {
        let identity = document.get("kind").and_then(Json::as_str).zip(document.pointer("/metadata/name").and_then(Json::as_str));
        let key = match identity {
            Some((kind, name)) if by_identity => Key::Object {
                group: group_of(document.get("apiVersion").and_then(Json::as_str).unwrap_or_default()).to_string(),
                kind: kind.to_string(),
                namespace: document.pointer("/metadata/namespace").and_then(Json::as_str).unwrap_or_default().to_string(),
                name: name.to_string(),
            },
            _ => file_key(index),
        };
        into.insert(key, Item { path: path.to_string(), value: document });
    }
}

fn title(key: &Key, value: &Json) -> String {
    let identity = value.get("kind").and_then(Json::as_str).zip(value.pointer("/metadata/name").and_then(Json::as_str));
    match key {
        Key::Object { kind, namespace, name, .. } if namespace.is_empty() => format!("{kind} {name}"),
        Key::Object { kind, namespace, name, .. } => format!("{kind} {namespace}/{name}"),
        Key::File { path, .. } => match identity {
            Some((kind, name)) => format!("{kind} {name} in {path}"),
            None => path.clone(),
        },
    }
}

/// Compares two outputs of one Sovereign.
pub fn compare(base: &Output, head: &Output) -> Outcome {
    let differing: BTreeSet<&String> =
        base.files.keys().chain(head.files.keys()).filter(|path| base.files.get(*path) != head.files.get(*path)).collect();
    let mut old = BTreeMap::new();
    let mut new = BTreeMap::new();
    for path in &differing {
        if let Some(bytes) = base.files.get(*path) {
            items(path, bytes, &mut old);
        }
        if let Some(bytes) = head.files.get(*path) {
            items(path, bytes, &mut new);
        }
    }
    let attribution = Attribution::new(base, head);
    let mut changes = Vec::new();
    let mut consequences = Consequences::default();
    let keys: BTreeSet<&Key> = old.keys().chain(new.keys()).collect();
    for key in keys {
        let (before, after) = (old.get(key), new.get(key));
        let change = match (before, after) {
            (Some(a), Some(b)) if a.value == b.value => continue,
            (Some(_), Some(_)) => ChangeKind::Changed,
            (None, Some(_)) => ChangeKind::Added,
            (Some(_), None) => ChangeKind::Removed,
            (None, None) => continue,
        };
        let Some(item) = after.or(before) else { continue };
        let object = title(key, &item.value);
        let (before_value, after_value, secret_changed) = redact(before.map(|i| &i.value), after.map(|i| &i.value));
        if secret_changed {
            consequences.secrets.push(object.clone());
        }
        if let Some(edge) = edge_change(&object, before.map(|i| &i.value), after.map(|i| &i.value)) {
            consequences.depends_on.push(edge);
        }
        let (area, application) = attribution.of(&item.path, &item.value);
        changes.push(Change {
            change,
            area,
            application,
            object,
            path: item.path.clone(),
            diff: unified(before_value.as_ref(), after_value.as_ref(), &item.path),
        });
    }
    changes.sort_by(|a, b| (&a.area, &a.application, &a.object).cmp(&(&b.area, &b.application, &b.object)));
    consequences.version_bumps = version_bumps(base, head);
    consequences.environments = touched_environments(&changes, base, head);
    let summary = summary(&changes, &consequences);
    Outcome::Compared { summary, changes, consequences }
}

/// Secret material is never shown: every value under `data`/`stringData` of a
/// Secret is replaced by a marker, `old value`/`new value` where the sides differ.
fn redact(before: Option<&Json>, after: Option<&Json>) -> (Option<Json>, Option<Json>, bool) {
    let is_secret = |v: Option<&Json>| v.is_some_and(|v| v.get("kind").and_then(Json::as_str) == Some("Secret"));
    if !is_secret(before) && !is_secret(after) {
        return (before.cloned(), after.cloned(), false);
    }
    let material = |v: Option<&Json>| -> BTreeMap<String, Json> {
        ["data", "stringData"]
            .iter()
            .flat_map(|field| v.and_then(|v| v.get(*field)).and_then(Json::as_object).into_iter().flatten())
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    };
    let (old, new) = (material(before), material(after));
    let mut changed = false;
    let mut hide = |side: Option<&Json>, other: &BTreeMap<String, Json>, marker: &str| {
        side.cloned().map(|mut value| {
            for field in ["data", "stringData"] {
                if let Some(map) = value.get_mut(field).and_then(Json::as_object_mut) {
                    for (key, secret) in map.iter_mut() {
                        let differs = other.get(key) != Some(&*secret);
                        changed |= differs;
                        *secret = Json::String(if differs { marker } else { "<redacted>" }.into());
                    }
                }
            }
            value
        })
    };
    let before = hide(before, &new, "<redacted: old value>");
    let after = hide(after, &old, "<redacted: new value>");
    (before, after, changed)
}

fn depends_on(value: Option<&Json>) -> BTreeSet<String> {
    value
        .and_then(|v| v.pointer("/spec/dependsOn"))
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
        .filter_map(|d| {
            let name = d.get("name")?.as_str()?;
            Some(match d.get("namespace").and_then(Json::as_str) {
                Some(ns) => format!("{ns}/{name}"),
                None => name.to_string(),
            })
        })
        .collect()
}

fn edge_change(object: &str, before: Option<&Json>, after: Option<&Json>) -> Option<EdgeChange> {
    let (old, new) = (depends_on(before), depends_on(after));
    let added: Vec<String> = new.difference(&old).cloned().collect();
    let removed: Vec<String> = old.difference(&new).cloned().collect();
    (!added.is_empty() || !removed.is_empty()).then(|| EdgeChange { object: object.to_string(), added, removed })
}

fn unified(before: Option<&Json>, after: Option<&Json>, path: &str) -> String {
    let text = |v: Option<&Json>| match v {
        Some(Json::String(s)) => s.clone(),
        Some(v) => crate::support::yaml::to_yaml(v),
        None => String::new(),
    };
    let (old, new) = (text(before), text(after));
    similar::TextDiff::from_lines(&old, &new)
        .unified_diff()
        .context_radius(3)
        .header(&format!("a/{path}"), &format!("b/{path}"))
        .to_string()
}

/// Which Environment and Application a file belongs to, read from the outputs.
struct Attribution {
    /// (Environment, Application) of every Flux source in a vcluster's tree, in either output.
    synced: HashSet<(String, String)>,
}

impl Attribution {
    fn new(base: &Output, head: &Output) -> Self {
        let synced = (head.files.keys().chain(base.files.keys()))
            .filter_map(|path| match path.split('/').collect::<Vec<_>>().as_slice() {
                ["clusters", _, _, "organizations", _, env, file] => Some((env.to_string(), file.strip_suffix(".yaml")?.to_string())),
                _ => None,
            })
            .collect();
        Attribution { synced }
    }

    fn of(&self, path: &str, value: &Json) -> (Area, Option<String>) {
        let parts: Vec<&str> = path.split('/').collect();
        let name = || value.pointer("/metadata/name").and_then(Json::as_str).map(str::to_string);
        let environment = |name: &str| Area::Environment { name: name.to_string() };
        match parts.as_slice() {
            ["clusters", _, _, "bootstrap-kit", ..] => {
                (Area::BootstrapKit, name().filter(|_| value.get("kind") == Some(&"HelmRelease".into())))
            }
            ["clusters", _, _, "organizations", _, env, file] if !["kustomization.yaml", "environment.yaml"].contains(file) => {
                (environment(env), Some(file.trim_end_matches(".yaml").to_string()))
            }
            ["clusters", _, _, "organizations", _, env, _] => (environment(env), None),
            ["system", "catalyst-config", "applications", env, file] => {
                (environment(env), Some(file.trim_end_matches(".yaml").to_string()))
            }
            ["system", "catalyst-config", "environments", file] => (environment(file.trim_end_matches(".yaml")), None),
            ["system", "catalyst-config", "policies", file] => (environment(file.trim_end_matches("-policy.yaml")), None),
            ["repos", org, app, branch, ..] => match self.environment_of(org, app, branch) {
                Some(env) => (environment(&env), Some(app.to_string())),
                None => (Area::Sovereign, Some(app.to_string())),
            },
            ["infra", ..] => (Area::BringUp, None),
            _ => (Area::Sovereign, None),
        }
    }

    /// The Environment whose Flux source reads this branch of this repo.
    fn environment_of(&self, org: &str, app: &str, branch: &str) -> Option<String> {
        EnvType::ALL
            .iter()
            .filter(|t| t.branch() == branch)
            .map(|t| format!("{org}-{}", t.as_str()))
            .find(|env| self.synced.contains(&(env.clone(), app.to_string())))
    }
}

/// `usedBy` → (Blueprint, version) from a `catalyst.lock`.
fn lock_users(output: &Output) -> BTreeMap<String, (String, String)> {
    output.files.get("catalyst.lock").map(|bytes| Lock::parse(&String::from_utf8_lossy(bytes)).users).unwrap_or_default()
}

fn version_bumps(base: &Output, head: &Output) -> Vec<VersionBump> {
    if base.files.get("catalyst.lock") == head.files.get("catalyst.lock") {
        return Vec::new();
    }
    let (old, new) = (lock_users(base), lock_users(head));
    let users: BTreeSet<&String> = old.keys().chain(new.keys()).collect();
    users
        .into_iter()
        .filter_map(|user| {
            let (before, after) = (old.get(user), new.get(user));
            if before == after {
                return None;
            }
            let blueprint = after.or(before).map(|(name, _)| name.clone()).unwrap_or_default();
            // A new Application is not a promotion, even where a lower Environment runs it too.
            let promotion = before.and(after).and_then(|after| promotion(user, after, &new, head));
            Some(VersionBump {
                user: user.clone(),
                blueprint,
                from: before.map(|(_, v)| v.clone()),
                to: after.map(|(_, v)| v.clone()),
                promotion,
            })
        })
        .collect()
}

/// `user` (`<org>-<env>/<app>`) now runs `version`: a promotion when the nearest lower Environment
/// of the Organization that runs the Application runs that version. With the per-object
/// difference between the two Environments' branches in `head`.
fn promotion(user: &str, version: &(String, String), users: &BTreeMap<String, (String, String)>, head: &Output) -> Option<Promotion> {
    let (environment, app) = user.split_once('/')?;
    let (org, to) = environment.rsplit_once('-')?;
    let to = EnvType::ALL.into_iter().find(|t| t.as_str() == to)?;
    let from = EnvType::ALL.into_iter().rev().filter(|&t| t < to).find(|t| users.contains_key(&format!("{org}-{}/{app}", t.as_str())))?;
    (users.get(&format!("{org}-{}/{app}", from.as_str())) == Some(version)).then_some(())?;
    let branch = |t: EnvType| format!("repos/{org}/{app}/{}/", t.branch());
    let files = |t: EnvType| -> BTreeMap<&str, &Vec<u8>> {
        let prefix = branch(t);
        head.files
            .range(prefix.clone()..)
            .take_while(|(path, _)| path.starts_with(&prefix))
            .map(|(path, bytes)| (&path[prefix.len()..], bytes))
            .collect()
    };
    let (target, source) = (files(to), files(from));
    let differing_files =
        target.keys().chain(source.keys()).filter(|f| target.get(*f) != source.get(*f)).map(|f| f.to_string()).collect::<BTreeSet<_>>();
    Some(Promotion { from: format!("{org}-{}", from.as_str()), differing_files: differing_files.into_iter().collect() })
}

fn touched_environments(changes: &[Change], base: &Output, head: &Output) -> Vec<TouchedEnvironment> {
    let mut touched: BTreeMap<&str, BTreeSet<&str>> = BTreeMap::new();
    for change in changes {
        if let Area::Environment { name } = &change.area {
            let apps = touched.entry(name).or_default();
            apps.extend(change.application.as_deref());
        }
    }
    touched
        .into_iter()
        .map(|(name, apps)| TouchedEnvironment {
            name: name.to_string(),
            applications: apps.into_iter().map(str::to_string).collect(),
            policy: policy_lines(head, name).or_else(|| policy_lines(base, name)).unwrap_or_default(),
        })
        .collect()
}

/// The rules of an Environment's EnvironmentPolicy, one readable line each.
fn policy_lines(output: &Output, environment: &str) -> Option<Vec<String>> {
    let rules = super::policy_rules(output, environment)?;
    let text = super::rule_text;
    Some(
        rules
            .iter()
            .map(|rule| match rule.get("kind").and_then(Json::as_str).unwrap_or_default() {
                "pr-required" => {
                    let approvers: Vec<&str> =
                        rule.get("approvers").and_then(Json::as_array).into_iter().flatten().filter_map(Json::as_str).collect();
                    format!("pr-required: {} approval(s) from {}", text(rule, "minApprovals"), approvers.join(", "))
                }
                "soak" => format!("soak: {} in {} first", text(rule, "duration"), text(rule, "sourceEnvironment")),
                "change-window" => format!("change-window: `{}` for {}", text(rule, "cron"), text(rule, "duration")),
                "re-score-gate" => format!("re-score-gate: score ≥ {} ({})", text(rule, "minScore"), text(rule, "severity")),
                other => other.to_string(),
            })
            .collect(),
    )
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// One line: `3 Applications changed in acme-prod, 1 HelmRelease upgraded`.
fn summary(changes: &[Change], consequences: &Consequences) -> String {
    if changes.is_empty() {
        return "no change to the rendered output".into();
    }
    let mut parts: Vec<String> = consequences
        .environments
        .iter()
        .map(|env| {
            if env.applications.is_empty() {
                format!("{} changed", env.name)
            } else {
                format!("{} changed in {}", plural(env.applications.len(), "Application", "Applications"), env.name)
            }
        })
        .collect();
    let upgraded =
        consequences.version_bumps.iter().filter(|b| b.user.starts_with("bootstrap-kit/") && b.from.is_some() && b.to.is_some()).count();
    let kit = changes.iter().filter(|c| c.area == Area::BootstrapKit).count();
    if upgraded > 0 {
        parts.push(format!("{} upgraded", plural(upgraded, "HelmRelease", "HelmReleases")));
    } else if kit > 0 {
        parts.push(format!("{} in the bootstrap kit", plural(kit, "change", "changes")));
    }
    if changes.iter().any(|c| c.area == Area::BringUp) {
        parts.push("bring-up inputs changed".into());
    }
    if parts.is_empty() {
        parts.push(plural(changes.len(), "object changed", "objects changed"));
    }
    parts.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bump_to_the_version_below_is_a_promotion_that_compares_the_branches() {
        let mut head = Output::default();
        head.files.insert("repos/o/a/main/base/values.yaml".into(), b"x: 1\n".to_vec());
        head.files.insert("repos/o/a/main/CODEOWNERS".into(), b"same\n".to_vec());
        head.files.insert("repos/o/a/staging/base/values.yaml".into(), b"x: 2\n".to_vec());
        head.files.insert("repos/o/a/staging/CODEOWNERS".into(), b"same\n".to_vec());
        let runs = |version: &str| ("bp-a".to_string(), version.to_string());
        let users = BTreeMap::from([("o-stg/a".to_string(), runs("2.0.0")), ("o-prod/a".to_string(), runs("2.0.0"))]);
        let found = promotion("o-prod/a", &runs("2.0.0"), &users, &head).expect("a promotion");
        assert_eq!((found.from.as_str(), found.differing_files), ("o-stg", vec!["base/values.yaml".to_string()]));
        assert!(promotion("o-prod/a", &runs("3.0.0"), &users, &head).is_none(), "no lower Environment runs 3.0.0");
        assert!(promotion("o-stg/a", &runs("2.0.0"), &users, &head).is_none(), "nothing runs below stg");
    }
}
