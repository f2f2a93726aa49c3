//! The walk: what every applier (the bring-up, then each Flux Kustomization
//! in the order they are found) applies, into which namespace. Objects are
//! known by the numbers of their strings, so a tree of 100,000 objects is
//! walked without copying or comparing one name.

use std::sync::atomic::{AtomicBool, Ordering};

use foldhash::{HashMap, HashMapExt, HashSet};

use super::facts::{Facts, FileView, Git, Object, Role, Sym, Sync};
use super::{Finding, Place};
use crate::check::conform::SchemaSet;
use crate::diagnostic::codes::{self, Code};

/// Identity of an object on the cluster: (kind, namespace or the empty string, name).
pub(super) type Key = (Sym, Sym, Sym);

/// One object as applied: by whom, into which namespace.
pub(super) struct Instance<'f> {
    pub file: usize,
    /// `None` for objects a kustomize generator creates.
    pub object: Option<Object<'f>>,
    pub kind: Sym,
    pub name: Sym,
    pub namespace: Option<Sym>,
    pub applier: usize,
}

impl Instance<'_> {
    pub fn document(&self) -> usize {
        self.object.map_or(0, |o| o.document as usize)
    }

    /// The namespace as a key's part: the empty string for cluster-scoped objects.
    pub fn namespace_key(&self) -> Sym {
        self.namespace.unwrap_or(Sym::EMPTY)
    }
}

/// Who applies objects: the bring-up (applier 0), or a Flux Kustomization (the instance that defines it).
pub(super) struct Applier {
    pub defined_by: Option<usize>,
}

/// What `kustomize build` yields: an object of a file, or one a generator creates (kind, name).
struct Built<'f> {
    file: usize,
    object: Option<Object<'f>>,
    generated: Option<(Sym, Sym)>,
    namespace: Option<Sym>,
}

/// The files of the tree, indexed once and read by every cluster's walk.
pub(super) struct Tree<'f> {
    pub facts: &'f Facts,
    /// Every file, by its index.
    files: Vec<FileView<'f>>,
    /// File indices sorted by path (with the path): a folder's files are next to each other, so
    /// looking a path up among them stays within a few cache lines (a hash of every path does not).
    sorted: Vec<(&'f str, usize)>,
    /// Whether some cluster's walk applies each file; the walks run in parallel and share it.
    reached: Vec<AtomicBool>,
}

impl<'f> Tree<'f> {
    pub fn new(facts: &'f Facts) -> Self {
        use rayon::prelude::*;
        let files: Vec<FileView<'f>> = facts.files().collect();
        let mut sorted: Vec<(&'f str, usize)> = files.iter().enumerate().map(|(i, f)| (f.path(), i)).collect();
        sorted.par_sort_unstable();
        let reached = files.iter().map(|_| AtomicBool::new(false)).collect();
        Tree { facts, files, sorted, reached }
    }

    /// The cluster trees Flux starts from: `clusters/<fqdn>/<region>`, each with its `flux-system`.
    pub fn clusters(&self) -> Vec<&'f str> {
        (self.sorted.iter())
            .filter_map(|(path, _)| path.strip_suffix("/flux-system/kustomization.yaml"))
            .filter(|dir| dir.starts_with("clusters/") && dir.matches('/').count() == 2)
            .collect()
    }

    /// `unreached` for every file of objects no cluster's walk applied. A file in an overlay whose
    /// sibling overlay is applied is not: it is the same base for another Environment (each branch
    /// of an Application repository carries every Environment's overlay, for promotion).
    pub fn unreached(&self, findings: &mut Vec<Finding>) {
        let reached = |file: usize| self.reached[file].load(Ordering::Relaxed);
        // Whether some overlay below each `…/overlays` folder met is applied.
        let mut applied: HashMap<&str, bool> = HashMap::new();
        for &(path, file) in &self.sorted {
            if reached(file) {
                continue;
            }
            let Some(first) = self.files[file].objects().next() else { continue };
            if let Some(root) = overlays_root(path) {
                if *applied.entry(root).or_insert_with(|| self.under(root).iter().any(|&(_, f)| reached(f))) {
                    continue;
                }
            }
            findings.push(Finding {
                code: codes::RECONCILE_UNREACHED,
                message: format!("no Flux Kustomization applies `{path}`: its objects never reach a cluster"),
                at: super::At { file, document: first.document as usize, pointer: "/kind".into() },
                help: "list the file in a kustomization.yaml below a Kustomization's path".into(),
                notes: Vec::new(),
            });
        }
    }

    /// The files below `dir` (every file when `dir` is the root), in path order.
    fn under(&self, dir: &str) -> &[(&'f str, usize)] {
        below(&self.sorted, dir)
    }

    /// The files below `dir`, looked for among the files of `scope` when `dir` is inside it.
    fn under_in<'s>(&'s self, dir: &str, scope: Scope<'s>) -> &'s [(&'s str, usize)] {
        if scope.holds(dir) {
            below(scope.files, dir)
        } else {
            self.under(dir)
        }
    }

    /// The file at `path`, looked for among `near` (the files of the folder at hand) first, then
    /// in the scope (which holds every file below its folder) or else the whole tree.
    fn file(&self, path: &str, near: &[(&str, usize)], scope: Scope<'_>) -> Option<usize> {
        let find = |files: &[(&str, usize)]| files.binary_search_by(|(p, _)| (*p).cmp(path)).ok().map(|i| files[i].1);
        find(near).or_else(|| if scope.holds(path) { find(scope.files) } else { find(&self.sorted) })
    }
}

/// A folder with its files (a run of the sorted paths): the lookups of a Kustomization's build
/// stay within its repository's few files instead of searching the whole tree.
#[derive(Clone, Copy)]
struct Scope<'a> {
    dir: &'a str,
    files: &'a [(&'a str, usize)],
}

impl Scope<'_> {
    /// Whether `path` is the folder or below it.
    fn holds(self, path: &str) -> bool {
        self.dir.is_empty() || path.strip_prefix(self.dir).is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    }
}

/// Resources of one kustomization that one thread looks up: a longer list is shared by the threads.
const SHARED_RESOURCES: usize = 2048;

/// Where `path` is among `files` (sorted by path) from `from` on, found by galloping: the
/// resources a kustomization lists are mostly in path order (a generated one lists thousands),
/// so each is a few files after the last, and a search of the whole folder per resource is
/// what made a large kustomization slow to build.
fn gallop(files: &[(&str, usize)], from: usize, path: &str) -> Option<usize> {
    let rest = files.get(from..)?;
    // The first of rest[1], rest[3], rest[7]… that is not before `path` bounds where it can be.
    let mut bound = 1;
    while bound < rest.len() && rest[bound].0 < path {
        bound = bound * 2 + 1;
    }
    let low = bound / 2;
    let found = rest[low..rest.len().min(bound + 1)].binary_search_by(|(p, _)| (*p).cmp(path)).ok()?;
    Some(from + low + found)
}

/// The files of `files` (sorted by path) below `dir`, all of them when `dir` is the root.
fn below<'s, 'p>(files: &'s [(&'p str, usize)], dir: &str) -> &'s [(&'p str, usize)] {
    if dir.is_empty() {
        return files;
    }
    // `path < dir + "/"` and `path` starting with `dir + "/"`, without building the prefix.
    let before = |path: &str| match path.strip_prefix(dir) {
        Some(rest) => rest.as_bytes().first().is_none_or(|&b| b < b'/'),
        None => path < dir,
    };
    let inside = |path: &str| path.strip_prefix(dir).is_some_and(|rest| rest.starts_with('/'));
    let start = files.partition_point(|(path, _)| before(path));
    let rest = &files[start..];
    // Most folders hold a few files: their end is found by galloping, near the start.
    let mut step = 1;
    while step < rest.len() && inside(rest[step].0) {
        step *= 2;
    }
    let end = step / 2 + rest[step / 2..rest.len().min(step)].partition_point(|(path, _)| inside(path));
    &rest[..end]
}

/// The cluster a walk emulates.
pub(super) enum World {
    /// A region's cluster, brought up by cloud-init from `clusters/<fqdn>/<region>/flux-system`.
    Host,
    /// A virtual cluster a host's Kustomizations apply into (through a kubeconfig Secret),
    /// with what the host's HelmReleases install into it.
    Virtual { applied_by: String, given: HashSet<Sym> },
}

/// A folder a bring-up applies, with the namespace it applies into.
#[derive(Clone)]
pub(super) struct Bring<'f> {
    dir: String,
    target: Option<Sym>,
    /// The repository the folder was found in, when known: its build looks paths up among that
    /// repository's files first.
    within: Option<Scope<'f>>,
}

impl Bring<'_> {
    /// A folder of the tree at `dir`, applied as it says.
    pub fn folder(dir: String) -> Self {
        Bring { dir, target: None, within: None }
    }
}

/// A virtual cluster as a host cluster's walk found it: what is applied into it, by whom, and
/// what is installed into it.
pub(super) struct Vcluster<'f> {
    pub dirs: Vec<Bring<'f>>,
    pub applied_by: Vec<String>,
    pub installs: HashSet<Sym>,
}

/// One cluster's walk: what Flux applies there, from the cluster's own bring-up. Clusters
/// share nothing but the Sovereign's hosts, so each is walked, and judged, on its own.
pub(super) struct Walk<'f> {
    pub facts: &'f Facts,
    tree: &'f Tree<'f>,
    schemas: &'f SchemaSet<'f>,
    pub fqdn: &'f str,
    pub world: World,
    /// Kustomizations that apply into a virtual cluster: (kubeconfig Secret's namespace and
    /// name, the folder applied, its targetNamespace, the Kustomization); HelmReleases that install into one.
    remote_applies: Vec<((Sym, Sym), Bring<'f>, usize)>,
    remote_installs: Vec<((Sym, Sym), Sym)>,
    pub instances: Vec<Instance<'f>>,
    pub appliers: Vec<Applier>,
    /// Flux Kustomizations by (namespace, name) → applier.
    pub applier_of: HashMap<(Sym, Sym), usize>,
    /// Every applied object by identity → the instance applied first.
    pub index: HashMap<Key, usize>,
    /// Secrets ExternalSecrets create: identity → the ExternalSecret's instance.
    pub produced: HashMap<Key, usize>,
    /// What HelmReleases and Crossplane Providers install (a Blueprint name, a package) → the first instance.
    pub installed_by: HashMap<Sym, usize>,
    fleet_url: Option<Sym>,
    /// Whether objects of (apiVersion, kind) live in a namespace, as the schemas say.
    scopes: HashMap<(Sym, Sym), bool>,
    /// What the Sovereign's other clusters install (as `installed_by` keys): their hosts serve this one too.
    pub served: HashSet<Sym>,
    /// Kinds whose controllers report readiness, by number.
    pub reconciled: Vec<Sym>,
    /// Who installs the definitions of each apiVersion's kinds, as the judge found it.
    pub definers: HashMap<Sym, super::judge::Definer>,
    pub findings: Vec<Finding>,
}

fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            other => parts.push(other),
        }
    }
    parts.join("/")
}

/// `relative` resolved against `dir` as kustomize resolves it: without `.`, `..` and empty
/// segments. `dir` is normal already: every folder the walk builds is a cluster's folder or
/// the result of a join.
fn join(dir: &str, relative: &str) -> String {
    let mut joined = String::with_capacity(dir.len() + 1 + relative.len());
    joined.push_str(dir);
    if !dir.is_empty() {
        joined.push('/');
    }
    joined.push_str(relative);
    // Most relative paths are normal already; only the others are taken apart.
    if is_normal(relative) {
        joined
    } else {
        normalize(&joined)
    }
}

/// Whether no segment of `path` is empty, `.` or `..`.
fn is_normal(path: &str) -> bool {
    !path.split('/').any(|part| matches!(part, "" | "." | ".."))
}

impl<'f> Walk<'f> {
    pub fn new(tree: &'f Tree<'f>, schemas: &'f SchemaSet<'f>, fqdn: &'f str, world: World) -> Self {
        let facts = tree.facts;
        Walk {
            facts,
            tree,
            schemas,
            fqdn,
            world,
            remote_applies: Vec::new(),
            remote_installs: Vec::new(),
            instances: Vec::new(),
            appliers: vec![Applier { defined_by: None }],
            applier_of: HashMap::new(),
            index: HashMap::new(),
            produced: HashMap::new(),
            installed_by: HashMap::new(),
            fleet_url: None,
            served: HashSet::default(),
            scopes: HashMap::new(),
            reconciled: super::judge::RECONCILED.iter().filter_map(|kind| facts.sym(kind)).collect(),
            definers: HashMap::new(),
            findings: Vec::new(),
        }
    }

    pub fn str(&self, sym: Sym) -> &'f str {
        self.facts.str(sym)
    }

    pub fn role(&self, instance: usize) -> Option<&'f Role> {
        self.instances[instance].object.and_then(|o| o.role())
    }

    pub fn sync(&self, instance: usize) -> Option<&'f Sync> {
        self.role(instance)?.sync.as_ref()
    }

    /// `Kind namespace/name` of an instance.
    pub fn describe(&self, instance: usize) -> String {
        let i = &self.instances[instance];
        self.label((i.kind, i.namespace_key(), i.name))
    }

    /// `Kind namespace/name` of a key.
    pub fn label(&self, (kind, namespace, name): Key) -> String {
        let (kind, name) = (self.str(kind), self.str(name));
        match namespace {
            Sym::EMPTY => format!("{kind} {name}"),
            namespace => format!("{kind} {}/{name}", self.str(namespace)),
        }
    }

    /// The Flux Kustomization of an applier, or the bring-up.
    pub fn applier_label(&self, applier: usize) -> String {
        match (self.appliers[applier].defined_by, &self.world) {
            (Some(defined_by), _) => self.describe(defined_by),
            (None, World::Host) => "the bring-up (cloud-init)".to_string(),
            (None, World::Virtual { applied_by, .. }) => applied_by.clone(),
        }
    }

    /// Whether the walk emulates a region's cluster (where cloud-init made the bring-up's objects).
    pub fn is_host(&self) -> bool {
        matches!(self.world, World::Host)
    }

    /// Whether a release of Blueprint `what` was installed into this virtual cluster from its host.
    pub fn given(&self, what: Sym) -> bool {
        matches!(&self.world, World::Virtual { given, .. } if given.contains(&what))
    }

    /// The virtual clusters this walk's Kustomizations apply into.
    pub fn vclusters(&self) -> Vec<Vcluster<'f>> {
        let mut found: indexmap::IndexMap<(Sym, Sym), Vcluster<'f>> = indexmap::IndexMap::new();
        for (key, bring, applier) in &self.remote_applies {
            let vcluster = found.entry(*key).or_insert_with(|| {
                let installs = self.remote_installs.iter().filter(|(k, _)| k == key).map(|&(_, what)| what).collect();
                Vcluster { dirs: Vec::new(), applied_by: Vec::new(), installs }
            });
            vcluster.dirs.push(bring.clone());
            vcluster.applied_by.push(self.describe(*applier));
        }
        found.into_values().collect()
    }

    pub fn place(&self, instance: usize, pointer: &'f str) -> Place<'f> {
        let i = &self.instances[instance];
        Place { file: i.file, document: i.document(), pointer }
    }

    pub fn find(&mut self, code: &'static Code, message: String, at: Place<'_>, help: &str) {
        self.findings.push(Finding { code, message, at: at.owned(), help: help.to_string(), notes: Vec::new() });
    }

    /// What `kustomize build dir` yields, `dir` being in `scope`; resources that are not there go to `missing`.
    fn build(&self, dir: &str, scope: Scope<'_>, missing: &mut Vec<(usize, String)>, depth: usize) -> Vec<Built<'f>> {
        let under = self.tree.under_in(dir, scope);
        let kustomization =
            ["kustomization.yaml", "kustomization.yml"].iter().find_map(|name| self.tree.file(&join(dir, name), under, scope));
        let Some(file) = kustomization else {
            // No kustomization.yaml: Flux generates one with every manifest below the folder.
            return under.iter().flat_map(|&(_, f)| self.objects_of(f)).collect();
        };
        let view = self.tree.files[file];
        let Some(k) = view.kustomize() else { return Vec::new() };
        let resources = view.names(k.resources);
        let mut built = if resources.len() <= SHARED_RESOURCES {
            self.resources(dir, file, resources, (under, scope), depth, missing)
        } else {
            // A generated kustomization lists thousands of files: the threads share their lookups.
            use rayon::prelude::*;
            let found: Vec<_> = (resources.par_chunks(SHARED_RESOURCES))
                .map(|chunk| {
                    let mut absent = Vec::new();
                    (self.resources(dir, file, chunk, (under, scope), depth, &mut absent), absent)
                })
                .collect();
            let mut built = Vec::new();
            for (some, absent) in found {
                built.extend(some);
                missing.extend(absent);
            }
            built
        };
        let generated = |kind: Sym, names| view.names(names).iter().map(move |&name| (kind, name));
        let generated = generated(Sym::CONFIG_MAP, k.config_maps).chain(generated(Sym::SECRET, k.secrets));
        built.extend(generated.map(|g| Built { file, object: None, generated: Some(g), namespace: None }));
        if let Some(namespace) = k.namespace {
            for b in &mut built {
                b.namespace = Some(namespace);
            }
        }
        built
    }

    /// What the `names` a kustomization (`file`, in `dir`) lists as resources yield; those that
    /// are not there go to `missing`.
    fn resources(
        &self,
        dir: &str,
        file: usize,
        names: &[Sym],
        (under, scope): (&[(&str, usize)], Scope<'_>),
        depth: usize,
        missing: &mut Vec<(usize, String)>,
    ) -> Vec<Built<'f>> {
        let mut built = Vec::new();
        // Where the last resource was found among the folder's files: the next is looked for after it.
        let mut cursor = 0;
        for &resource in names {
            let path = join(dir, self.str(resource));
            let next = gallop(under, cursor, &path).map(|at| {
                cursor = at + 1;
                under[at].1
            });
            if let Some(f) = next.or_else(|| self.tree.file(&path, under, scope)) {
                built.extend(self.objects_of(f));
            } else if depth < 32 && !self.tree.under_in(&path, scope).is_empty() {
                built.extend(self.build(&path, scope, missing, depth + 1));
            } else {
                missing.push((file, self.str(resource).to_string()));
            }
        }
        built
    }

    fn objects_of(&self, file: usize) -> impl Iterator<Item = Built<'f>> {
        self.tree.files[file].objects().map(move |o| Built { file, object: Some(o), generated: None, namespace: None })
    }

    fn namespaced(&mut self, obj: Object<'f>) -> bool {
        let (schemas, facts) = (self.schemas, self.facts);
        *self
            .scopes
            .entry((obj.api_version, obj.kind))
            .or_insert_with(|| schemas.namespaced(facts.str(obj.api_version), facts.str(obj.kind)).unwrap_or(obj.kind != Sym::NAMESPACE))
    }

    /// Registers what `applier` applies from `built`, with `target` as the targetNamespace.
    fn register(&mut self, applier: usize, built: Vec<Built<'f>>, target: Option<Sym>) {
        // Grown once for a large build, not rehashed as it fills.
        self.instances.reserve(built.len());
        self.index.reserve(built.len());
        for b in built {
            self.tree.reached[b.file].store(true, Ordering::Relaxed);
            let (object, kind, name) = match (b.object, b.generated) {
                (Some(obj), _) => (Some(obj), obj.kind, obj.name),
                (None, Some((kind, name))) => (None, kind, name),
                (None, None) => continue,
            };
            let namespaced = object.is_none_or(|obj| self.namespaced(obj));
            let written = object.and_then(|o| o.namespace);
            let namespace = namespaced.then(|| target.or(b.namespace).or(written).unwrap_or(Sym::DEFAULT));
            let instance = self.instances.len();
            self.instances.push(Instance { file: b.file, object, kind, name, namespace, applier });
            let key = (kind, namespace.unwrap_or(Sym::EMPTY), name);
            self.index.entry(key).or_insert(instance);
            let Some(role) = object.and_then(|o| o.role()) else { continue };
            if let Some(alias) = role.alias {
                self.index.entry((kind, Sym::EMPTY, alias)).or_insert(instance);
            }
            if let Some(secret) = role.creates_secret {
                self.produced.entry((Sym::SECRET, role.secret_namespace.unwrap_or(key.1), secret)).or_insert(instance);
            }
            match (role.installs, kind, role.kube_config) {
                (Some(installs), Sym::HELM_RELEASE, Some(kube_config)) => self.remote_installs.push(((key.1, kube_config), installs)),
                (Some(installs), Sym::HELM_RELEASE | Sym::PROVIDER, None) => {
                    self.installed_by.entry(installs).or_insert(instance);
                }
                _ => {}
            }
            if role.sync.is_some() && !self.applier_of.contains_key(&(key.1, name)) {
                self.applier_of.insert((key.1, name), self.appliers.len());
                self.appliers.push(Applier { defined_by: Some(instance) });
            }
        }
    }

    /// The bring-up (what `bring_up` holds), then every Flux Kustomization in the order they are found.
    pub fn apply_all(&mut self, bring_up: &[Bring<'f>]) {
        let mut missing = Vec::new();
        let tree = self.tree;
        let whole = Scope { dir: "", files: tree.under("") };
        for Bring { dir, target, within } in bring_up {
            let built = self.build(dir, within.unwrap_or(whole), &mut missing, 0);
            self.register(0, built, *target);
        }
        self.fleet_url = self
            .index
            .get(&(Sym::GIT_REPOSITORY, Sym::FLUX_SYSTEM, Sym::FLUX_SYSTEM))
            .and_then(|&found| self.role(found)?.git)
            .map(|git| git.url);
        let mut next = 1;
        while next < self.appliers.len() {
            self.apply(next, &mut missing);
            next += 1;
        }
        for (file, resource) in missing {
            let at = Place { file, document: 0, pointer: "/resources" };
            self.find(
                codes::RECONCILE_MISSING_PATH,
                format!("kustomize resource `{resource}` is not in the repository"),
                at,
                "kustomize build fails on a missing resource: emit it or drop it from the list",
            );
        }
    }

    /// Where the content of a Git source is in this tree, if it is: its root folder with its
    /// files, which the builds of the Kustomizations that read it are scoped to.
    fn content_root(&self, git: &Git) -> Option<Scope<'f>> {
        let tree = self.tree;
        if self.fleet_url == Some(git.url) {
            return Some(Scope { dir: "", files: tree.under("") });
        }
        let trimmed = self.str(git.url).trim_end_matches('/').trim_end_matches(".git");
        let mut segments = trimmed.rsplit('/');
        let (repo, org) = (segments.next()?, segments.next()?);
        if org == "system" && repo == "catalyst-config" {
            let root = "system/catalyst-config";
            return Some(Scope { dir: root, files: tree.under(root) });
        }
        let branch_dir = format!("repos/{org}/{repo}/{}", self.str(git.branch));
        // A branch that holds another's files is judged through that one's.
        let branch_dir = self.facts.mirror(&branch_dir).unwrap_or(&branch_dir);
        let files = tree.under(branch_dir);
        // The folder as the tree spells it: the start of each of its files' paths.
        let dir = files.first().map(|(path, _)| &path[..branch_dir.len()])?;
        Some(Scope { dir, files })
    }

    fn apply(&mut self, applier: usize, missing: &mut Vec<(usize, String)>) {
        let Some(defined_by) = self.appliers[applier].defined_by else { return };
        let Some(&Sync { path, source_kind, source_name, source_namespace, target_namespace, .. }) = self.sync(defined_by) else {
            return;
        };
        let own = self.instances[defined_by].namespace_key();
        let key = (source_kind, source_namespace.unwrap_or(own), source_name);
        let remote = self.role(defined_by).and_then(|r| r.kube_config);
        // A missing source is reported as a dangling reference; an OCI artifact's content is not in the tree.
        let Some(&source) = self.index.get(&key) else { return };
        let Some(git) = self.role(source).and_then(|r| r.git.as_ref()) else { return };
        let Some(scope) = self.content_root(git) else {
            let message = format!(
                "{} reads {} at {}, whose content is not in this tree: nothing it applies is checked",
                self.applier_label(applier),
                self.describe(source),
                self.str(git.url)
            );
            let at = self.place(source, "/spec/url");
            self.find(codes::RECONCILE_UNKNOWN_SOURCE, message, at, "point it at a repository the compiler emits");
            return;
        };
        let path = self.str(path);
        let dir = join(scope.dir, path);
        if self.tree.under_in(&dir, scope).is_empty() {
            let message = format!("{} applies `{path}` of {}, which does not exist there", self.applier_label(applier), self.str(git.url));
            let at = self.place(defined_by, "/spec/path");
            self.find(codes::RECONCILE_MISSING_PATH, message, at, "a Kustomization whose path is missing never becomes ready");
            return;
        }
        if let Some(kube_config) = remote {
            // Applied into another cluster: walked there, as that cluster's bring-up.
            let bring = Bring { dir, target: target_namespace, within: Some(scope) };
            self.remote_applies.push(((own, kube_config), bring, defined_by));
            return;
        }
        let built = self.build(&dir, scope, missing, 0);
        self.register(applier, built, target_namespace);
    }
}

/// `a/b/overlays` for a path below `a/b/overlays/<name>/`.
fn overlays_root(path: &str) -> Option<&str> {
    let at = path.find("/overlays/")?;
    path[at + "/overlays/".len()..].contains('/').then(|| &path[..at + "/overlays".len()])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tree_of(paths: &[&str]) -> Facts {
        let mut facts = Facts::default();
        for path in paths {
            facts.add_objects(path, &[], None);
        }
        facts
    }

    #[test]
    fn galloping_finds_a_path_after_the_cursor_and_nothing_before_it() {
        let names: Vec<String> = (0..100).map(|i| format!("d/f{i:03}")).collect();
        let files: Vec<(&str, usize)> = names.iter().enumerate().map(|(i, name)| (name.as_str(), i)).collect();
        for from in [0, 1, 2, 7, 50, 99] {
            for (target, name) in names.iter().enumerate() {
                let expected = (target >= from).then_some(target);
                assert_eq!(gallop(&files, from, name), expected, "from {from}: found after the cursor, not before it");
            }
        }
        assert_eq!(gallop(&files, 0, "d/f0005"), None, "between two files");
        assert_eq!(gallop(&files, 100, "d/f099"), None, "after the end");
        assert_eq!(gallop(&files, 101, "d/f099"), None);
        assert_eq!(gallop(&[], 0, "a"), None);
    }

    #[test]
    fn a_folder_is_its_files_and_not_its_siblings_that_share_a_prefix() {
        // `-` and `.` sort before `/`: a sibling named like the folder plus a suffix lies between its files' neighbours.
        let facts = tree_of(&["a/b-c/x.yaml", "a/b/x.yaml", "a/b/y/z.yaml", "a/b.yaml", "a/c.yaml", "a/b/y/w.yaml"]);
        let tree = Tree::new(&facts);
        let paths = |dir: &str| tree.under(dir).iter().map(|(path, _)| *path).collect::<Vec<_>>();
        assert_eq!(paths("a/b"), ["a/b/x.yaml", "a/b/y/w.yaml", "a/b/y/z.yaml"]);
        assert_eq!(paths("a/b/y"), ["a/b/y/w.yaml", "a/b/y/z.yaml"]);
        assert_eq!(paths("").len(), 6);
        assert!(paths("a/b-").is_empty() && paths("a/b/x.yaml").is_empty() && paths("z").is_empty());
        let is_folder = |dir: &str| !tree.under(dir).is_empty();
        assert!(is_folder("a") && is_folder("a/b-c") && !is_folder("a/d"));
        let near = tree.under("a/b");
        let name = |file: Option<usize>| file.map(|f| facts.file(f).path());
        let whole = Scope { dir: "", files: tree.under("") };
        assert_eq!(name(tree.file("a/b/y/z.yaml", near, whole)), Some("a/b/y/z.yaml"));
        assert_eq!(name(tree.file("a/c.yaml", near, whole)), Some("a/c.yaml"), "outside the folder: the whole tree");
        assert_eq!(tree.file("a/b/missing.yaml", near, whole), None);
        // Within a scope: its files answer for everything below its folder, the tree for the rest.
        let scope = Scope { dir: "a/b", files: tree.under("a/b") };
        assert_eq!(name(tree.file("a/b/y/w.yaml", &[], scope)), Some("a/b/y/w.yaml"));
        assert_eq!(name(tree.file("a/b-c/x.yaml", &[], scope)), Some("a/b-c/x.yaml"), "a sibling with the folder's name as prefix");
        assert_eq!(tree.under_in("a/b/y", scope).len(), 2);
        assert_eq!(tree.under_in("a", scope).len(), 6, "outside the scope: the whole tree");
        assert!(tree.under_in("a/b/z", scope).is_empty());
    }

    #[test]
    fn joined_paths_are_normal() {
        assert_eq!(join("a/b", "c.yaml"), "a/b/c.yaml");
        assert_eq!(join("", "c.yaml"), "c.yaml");
        assert_eq!(join("a/b", "../c"), "a/c");
        assert_eq!(join("a/b", "./c//d/"), "a/b/c/d");
        assert_eq!(join("a", ""), "a");
        assert_eq!(join("", "/abs"), "abs");
        assert_eq!(join("a/b", "../../.."), "");
        assert_eq!(join("a", "..."), "a/...");
        assert_eq!(join("a", ".hidden/./x"), "a/.hidden/x");
    }
}
