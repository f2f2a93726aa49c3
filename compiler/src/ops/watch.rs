//! `catalyst check --watch`: the diagnostics of `check`, redrawn on every
//! change of the Sovereign, its Organizations or its catalogs.
//!
//! Organizations resolve independently of each other, so a [`Session`]
//! keeps each one's resolved Environments, with their diagnostics, and
//! resolves again only those whose file changed. Everything they depend on
//! (sovereign.yaml, every Blueprint, the list of files, which fixes the
//! source ids spans point into) is fingerprinted: any change there
//! re-resolves them all. The output is rendered in the same parts, without
//! keeping its bytes: the Sovereign's own files when the fingerprint
//! changes, an Organization's when its file does (see [`crate::pipeline::plan::Part`]).

use std::collections::hash_map::DefaultHasher;
use std::collections::{BTreeSet, HashMap};
use std::hash::{Hash, Hasher};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::diagnostic::format::{self, Format};
use crate::diagnostic::Diagnostics;
use crate::pipeline::load::Project;
use crate::pipeline::plan::Part;
use crate::pipeline::render::{Keep, Rendered};
use crate::pipeline::resolve::{OrgResolution, Resolution, ResolvedEnvironment};
use crate::pipeline::Loaded;
use crate::support::source::Sources;
use crate::support::vfs::Vfs;
use crate::Options;

/// One Organization's results, valid while its file and the fingerprint are unchanged.
struct Kept {
    text: u64,
    resolution: Arc<OrgResolution>,
    /// Its files, once rendered (only when the whole Sovereign resolves without errors).
    judged: Option<Rendered>,
}

pub struct Session {
    sovereign: PathBuf,
    vfs: Arc<dyn Vfs>,
    options: Options,
    fingerprint: u64,
    kept: HashMap<PathBuf, Kept>,
    /// The Sovereign's own files, judged for the current fingerprint.
    sovereign_judged: Option<Rendered>,
}

/// The outcome of one check.
pub struct Checked {
    pub sources: Sources,
    pub diagnostics: Diagnostics,
    /// Organizations whose resolution was reused, of all.
    pub reused: usize,
    pub organizations: usize,
    /// Folders to watch: the Sovereign's and its catalogs.
    pub watched: Vec<PathBuf>,
}

fn hash_of(value: impl Hash) -> u64 {
    let mut hasher = DefaultHasher::new();
    value.hash(&mut hasher);
    hasher.finish()
}

impl Session {
    pub fn new(sovereign: &Path, vfs: Arc<dyn Vfs>, options: Options) -> Self {
        let options = Options { keep_output: false, ..options };
        Session { sovereign: sovereign.to_path_buf(), vfs, options, fingerprint: 0, kept: HashMap::new(), sovereign_judged: None }
    }

    pub fn check(&mut self) -> Checked {
        let mut sources = Sources::default();
        let mut diagnostics = Diagnostics::default();
        let dir = if self.vfs.is_dir(&self.sovereign) {
            self.sovereign.clone()
        } else {
            self.sovereign.parent().unwrap_or(Path::new(".")).into()
        };
        let mut watched = vec![dir];
        let (mut reused, mut organizations) = (0, 0);
        match crate::pipeline::load_checked(self.vfs.clone(), &self.sovereign, &mut sources, &mut diagnostics) {
            Some(Loaded { project, resolvable }) => {
                watched.extend(project.sovereign.spec.catalogs.iter().map(|c| project.sovereign.dir.join(c)));
                if resolvable {
                    (reused, organizations) = self.resolve(&project, &mut sources, &mut diagnostics);
                }
            }
            None => {
                self.kept.clear();
                self.sovereign_judged = None;
            }
        }
        diagnostics.sort();
        Checked { sources, diagnostics, reused, organizations, watched }
    }

    /// Forgets everything kept when a file other than an Organization's changed (the Sovereign,
    /// a Blueprint): every Organization's output depends on those.
    fn forget_if_changed(&mut self, project: &Project, sources: &Sources, organizations: &[PathBuf]) {
        let organization_files: BTreeSet<&Path> = organizations.iter().map(PathBuf::as_path).collect();
        // Every file but the Organizations', by path and text, plus the Blueprints' folder digests.
        let files: Vec<(&PathBuf, Option<&String>)> =
            sources.files().map(|f| (&f.path, (!organization_files.contains(f.path.as_path())).then_some(&f.text))).collect();
        let fingerprint = hash_of((files, project.catalog.blueprints.iter().map(|b| &b.digest).collect::<Vec<_>>()));
        if fingerprint != self.fingerprint {
            self.kept.clear();
            self.sovereign_judged = None;
            self.fingerprint = fingerprint;
        }
    }

    /// Resolves (reusing what it can), checks the pins and judges the output; (reused, all) Organizations.
    fn resolve(&mut self, project: &Project, sources: &mut Sources, diagnostics: &mut Diagnostics) -> (usize, usize) {
        let organizations: Vec<PathBuf> =
            project.sovereign.organizations.iter().map(|o| sources.path(o.origin.file).to_path_buf()).collect();
        self.forget_if_changed(project, sources, &organizations);
        let texts: Vec<u64> = project.sovereign.organizations.iter().map(|o| hash_of(&sources.get(o.origin.file).text)).collect();
        let reusable: Vec<Option<Arc<OrgResolution>>> = organizations
            .iter()
            .zip(&texts)
            .map(|(path, text)| self.kept.get(path).filter(|k| k.text == *text).map(|k| k.resolution.clone()))
            .collect();
        let reused = reusable.iter().filter(|r| r.is_some()).count();
        let count = organizations.len();
        let parts = crate::pipeline::resolve::resolve_parts(project, sources, diagnostics, &|org| reusable[org].clone());
        let mut used = BTreeSet::new();
        let mut kept = HashMap::new();
        for (org, resolution) in parts.organizations.iter().enumerate() {
            for (environment, problems) in resolution.iter() {
                diagnostics.extend(problems.iter().cloned());
                used.extend(environment.instances.iter().map(|i| i.blueprint));
            }
            // A reused resolution keeps its judged output; a new one is judged again.
            let path = organizations[org].clone();
            let previous = self.kept.remove(&path).filter(|k| reusable[org].is_some() && Arc::ptr_eq(&k.resolution, resolution));
            kept.insert(path, Kept { text: texts[org], resolution: resolution.clone(), judged: previous.and_then(|k| k.judged) });
        }
        self.kept = kept;
        let Some(kit) = parts.kit else { return (reused, count) };
        let environments = parts.organizations.iter().flat_map(|org| org.iter().map(|(environment, _)| environment));
        diagnostics.extend(crate::pipeline::upgrade_paths(project, &kit, environments, &self.options, sources));
        let Some((pins, pinned)) = crate::pipeline::releases(project, &kit, used, sources, diagnostics) else { return (reused, count) };
        let options = &self.options;
        let schemas = crate::pipeline::schema_set(options, &pinned);
        let render = |parts: &[Part<'_>], keep: Keep| crate::pipeline::render::parts(project, sources, &schemas, &pinned, keep, parts);
        let judge = |parts: &[Part<'_>]| render(parts, Keep { bytes: false, facts: options.reconcile, reuse: None });
        // Only when the fingerprint changed: the Sovereign's files list every Environment.
        // Every Environment, gathered only when the Sovereign's files are planned again.
        let resolution = std::cell::OnceCell::new();
        let sovereign_part = || {
            let resolution = resolution.get_or_init(|| {
                let environments: Vec<ResolvedEnvironment> =
                    parts.organizations.iter().flat_map(|r| r.iter().map(|(environment, _)| environment.clone())).collect();
                Resolution { kit: kit.clone(), environments, realms: parts.realms.clone(), vcluster: parts.vcluster.clone() }
            });
            Part::Sovereign { resolution, pins: pins.as_ref() }
        };
        let organization = |index| Part::Organization {
            index,
            realm: crate::pipeline::resolve::realm_of(&parts.realms, index),
            kit: &kit,
            vcluster: parts.vcluster.as_ref(),
        };
        let sovereign = self.sovereign_judged.get_or_insert_with(|| judge(&[sovereign_part()]));
        let mut all = sovereign.clone();
        let mut judged_organizations = Vec::new();
        for (org, path) in organizations.iter().enumerate() {
            let Some(kept) = self.kept.get_mut(path) else { continue };
            let resolution = &kept.resolution;
            let judged = kept.judged.get_or_insert_with(|| judge(&organization_parts(organization(org), resolution)));
            judged_organizations.push(judged.clone());
        }
        all.merge(judged_organizations);
        // Rendered again with bytes only when the reconcile check has something to point at.
        let rerender = |sources: &Sources| {
            let mut every = vec![sovereign_part()];
            for (org, path) in organizations.iter().enumerate() {
                every.extend(self.kept.get(path).map(|kept| organization_parts(organization(org), &kept.resolution)).unwrap_or_default());
            }
            crate::pipeline::render::parts(project, sources, &schemas, &pinned, Keep::bytes(false), &every).output
        };
        let (_, found) = crate::pipeline::judge(project, sources, options, &schemas, all, &rerender);
        diagnostics.extend(found);
        (reused, count)
    }
}

/// The parts of one Organization: its CR and its Environments.
fn organization_parts<'a>(organization: Part<'a>, resolution: &'a OrgResolution) -> Vec<Part<'a>> {
    let mut parts = vec![organization];
    parts.extend(crate::pipeline::plan::environment_parts(resolution.iter().map(|(e, _)| e)));
    parts
}

/// How long the watcher waits for a burst of writes (an editor's save) to settle.
pub const DEBOUNCE: Duration = Duration::from_millis(25);

/// Changes of content or of the tree; reads (including the check's own) are not changes.
fn is_change(event: &notify::Result<notify::Event>) -> bool {
    use notify::EventKind;
    match event {
        Ok(event) => matches!(event.kind, EventKind::Create(_) | EventKind::Modify(_) | EventKind::Remove(_) | EventKind::Any),
        // A watched folder that vanished, an overflowed queue: look again.
        Err(_) => true,
    }
}

/// Checks, then checks again after every change, until the process is stopped.
/// On a terminal the screen is redrawn; otherwise each check prints one block.
pub fn run(sovereign: &Path, options: Options, format: Format, terminal: bool, out: &mut dyn Write) -> std::io::Result<()> {
    use notify::{RecursiveMode, Watcher};
    let (events, changes) = std::sync::mpsc::channel();
    let mut watcher = notify::recommended_watcher(events).map_err(std::io::Error::other)?;
    let mut session = Session::new(sovereign, Arc::new(crate::support::vfs::DiskFs), options);
    let mut watching: BTreeSet<PathBuf> = BTreeSet::new();
    loop {
        let started = Instant::now();
        let checked = session.check();
        let elapsed = started.elapsed();
        // Folders come and go (a deleted catalog, a new one): watch what exists now.
        // Watches that stay are left alone: dropping and re-adding one loses events.
        let wanted: BTreeSet<PathBuf> = checked.watched.iter().filter(|d| d.is_dir()).cloned().collect();
        for gone in watching.difference(&wanted) {
            let _ = watcher.unwatch(gone);
        }
        watching.retain(|d| wanted.contains(d));
        for dir in &wanted {
            if !watching.contains(dir) && watcher.watch(dir, RecursiveMode::Recursive).is_ok() {
                watching.insert(dir.clone());
            }
        }
        let mut block = if terminal { String::from("\x1b[2J\x1b[H") } else { String::new() };
        if !checked.diagnostics.is_empty() {
            block.push_str(&format::render(format, &checked.diagnostics, &checked.sources, terminal));
        }
        let state = if checked.diagnostics.has_errors() { "errors" } else { "ok" };
        let reuse = if checked.organizations > 0 {
            format!(", {} of {} Organizations reused", checked.reused, checked.organizations)
        } else {
            String::new()
        };
        block.push_str(&format!(
            "[watch] {state}: {} ({} ms{reuse}); waiting for changes\n",
            format::summary(&checked.diagnostics).trim_end(),
            elapsed.as_millis(),
        ));
        out.write_all(block.as_bytes())?;
        out.flush()?;
        // Wait for a change, then let the burst settle; the check finds out what changed.
        loop {
            match changes.recv() {
                Ok(event) if is_change(&event) => break,
                Ok(_) => continue,
                Err(_) => return Ok(()),
            }
        }
        while changes.recv_timeout(DEBOUNCE).is_ok() {}
    }
}
