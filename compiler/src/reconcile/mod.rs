//! The reconcile check: would Flux, on a fresh Sovereign, bring this tree up?
//!
//! It walks the tree the way the controllers do (flux-local is the model):
//! from what the bring-up creates (the `flux-system` objects cloud-init
//! applies, its `ghcr-pull` Secret, the Namespaces Kubernetes and Flux make),
//! through every `kustomization.yaml` and every Flux Kustomization, into the
//! Application repositories' branches, with the namespaces kustomize and
//! `targetNamespace` give each object. Then it asks of every reference (a
//! source's `secretRef`, a HelmRelease's chart source, `valuesFrom` and
//! `dependsOn`, a Kustomization's source, `dependsOn` and `targetNamespace`,
//! an ExternalSecret's store, every object's Namespace and the definition of
//! its kind, the Catalyst CRs' references) whether its target exists, in the
//! namespace the controller looks in, and whether it can exist in time:
//!
//! * `dangling`: nothing in the tree creates the target;
//! * `deadlock`: the target is created only by something that (transitively)
//!   waits for the object that needs it; the whole chain is reported;
//! * `unordered`: an object the API server refuses until its Namespace or
//!   CRD exists is applied by a Kustomization that does not wait for the one
//!   creating them;
//! * `no-crd`: no release of the tree installs the object's kind;
//! * `unserved-host`: a source on a host of the Sovereign that no kit
//!   release serves;
//! * `missing-path`: a Kustomization path or kustomize resource that is not
//!   in its repository;
//! * `unreached` (a warning): a file of objects no Kustomization applies.
//!
//! What it cannot see: what charts install beyond the CRDs the release table
//! names, values inside OpenBao, CEL rules, and the controllers' runtime
//! behaviour (timeouts, health checks of arbitrary kinds).

mod facts;

use std::collections::{BTreeMap, HashMap};

use petgraph::graph::{DiGraph, NodeIndex};
use petgraph::visit::{Bfs, EdgeFiltered, EdgeRef, Reversed};

pub use facts::{Content, Facts, FileFacts, Obj, Scope, When};

use crate::conform::SchemaSet;
use crate::diagnostic::{Diagnostic, Label};
use crate::releases::{host_server, installer, Installer};
use crate::source::Sources;

/// Namespaces that exist before Flux applies anything: Kubernetes' own and the one the Flux install creates.
const BRING_UP_NAMESPACES: [&str; 5] = ["default", "kube-system", "kube-public", "kube-node-lease", "flux-system"];
/// Secrets the bring-up creates (cloud-init's pull credentials), as (namespace, name).
pub const BRING_UP_SECRETS: [(&str, &str); 1] = [("flux-system", "ghcr-pull")];
/// Objects Kubernetes creates in every namespace: (kind, name).
const PER_NAMESPACE: [(&str, &str); 2] = [("ConfigMap", "kube-root-ca.crt"), ("ServiceAccount", "default")];
/// Findings that do not stop the tree from reconciling.
const WARNINGS: [&str; 2] = ["catalyst::reconcile::unknown-source", "catalyst::reconcile::unreached"];
/// Kinds whose controllers report readiness, so that others can wait for them.
const RECONCILED: [&str; 7] = ["HelmRelease", "GitRepository", "HelmRepository", "OCIRepository", "Bucket", "ExternalSecret", "Provider"];

/// Where in the emitted tree a finding points: an object's field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Place {
    /// Index into the facts' files.
    pub file: usize,
    pub document: usize,
    pub pointer: String,
}

/// One problem found; turned into a [`Diagnostic`] once the file's text is at hand.
#[derive(Clone, Debug)]
pub struct Finding {
    pub code: &'static str,
    pub message: String,
    pub at: Place,
    pub help: String,
    pub notes: Vec<String>,
}

/// Identity of an object on the cluster: (kind, namespace or "", name).
type Key = (String, String, String);

/// One object as applied: by whom, into which namespace.
struct Instance {
    file: usize,
    /// Index into the file's objects; `None` for objects a kustomize generator creates.
    object: Option<usize>,
    kind: String,
    name: String,
    namespace: Option<String>,
    applier: usize,
}

/// Who applies objects: the bring-up, or a Flux Kustomization.
struct Applier {
    /// The Flux Kustomization object (an instance); `None` for the bring-up.
    defined_by: Option<usize>,
    label: String,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Node {
    Applied(usize),
    Ready(usize),
    Object(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EdgeKind {
    /// The API server needs the target before it admits the object.
    Admission,
    /// Any other wait: dependsOn, a source, a referenced Secret, a parent.
    Wait,
}

#[derive(Clone, Debug)]
struct Edge {
    kind: EdgeKind,
    /// What the wait is, for the chain of a deadlock.
    why: String,
    at: Option<Place>,
}

/// Runs the check over `facts`; `fqdn` names the hosts the Sovereign serves itself.
pub fn check(facts: &Facts, schemas: &SchemaSet<'_>, fqdn: &str) -> Vec<Finding> {
    let mut walk = Walk::new(facts, schemas, fqdn);
    walk.apply_all();
    walk.judge()
}

struct Walk<'f> {
    facts: &'f Facts,
    schemas: &'f SchemaSet<'f>,
    fqdn: &'f str,
    /// File indices sorted by path, and each path's index.
    sorted: Vec<usize>,
    by_path: HashMap<&'f str, usize>,
    instances: Vec<Instance>,
    appliers: Vec<Applier>,
    /// Flux Kustomizations by (namespace, name) → applier.
    applier_of: HashMap<(String, String), usize>,
    /// Every applied object by identity → instances.
    index: HashMap<Key, Vec<usize>>,
    /// Secrets ExternalSecrets create: identity → the ExternalSecret's instance.
    produced: HashMap<Key, usize>,
    fleet_url: Option<String>,
    /// Whether some applier applies each file.
    reached: Vec<bool>,
    /// What HelmReleases and Crossplane Providers install (a Blueprint name, a package) → the first instance.
    installed_by: HashMap<String, usize>,
    findings: Vec<Finding>,
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

fn join(dir: &str, relative: &str) -> String {
    normalize(&format!("{dir}/{relative}"))
}

impl<'f> Walk<'f> {
    fn new(facts: &'f Facts, schemas: &'f SchemaSet<'f>, fqdn: &'f str) -> Self {
        let mut sorted: Vec<usize> = (0..facts.files.len()).collect();
        sorted.sort_by(|&a, &b| facts.files[a].path.cmp(&facts.files[b].path));
        let by_path = facts.files.iter().enumerate().map(|(i, f)| (f.path.as_str(), i)).collect();
        Walk {
            facts,
            schemas,
            fqdn,
            sorted,
            by_path,
            instances: Vec::new(),
            appliers: vec![Applier { defined_by: None, label: "the bring-up (cloud-init)".into() }],
            applier_of: HashMap::new(),
            index: HashMap::new(),
            produced: HashMap::new(),
            fleet_url: None,
            installed_by: HashMap::new(),
            reached: vec![false; facts.files.len()],
            findings: Vec::new(),
        }
    }

    fn file(&self, file: usize) -> &'f FileFacts {
        &self.facts.files[file]
    }

    fn object(&self, instance: usize) -> Option<&'f Obj> {
        let i = &self.instances[instance];
        match &self.file(i.file).content {
            Content::Objects(objects) => i.object.map(|o| &objects[o]),
            Content::Kustomize(_) => None,
        }
    }

    fn describe(&self, instance: usize) -> String {
        let i = &self.instances[instance];
        match &i.namespace {
            Some(ns) => format!("{} {ns}/{}", i.kind, i.name),
            None => format!("{} {}", i.kind, i.name),
        }
    }

    fn place(&self, instance: usize, pointer: &str) -> Place {
        let i = &self.instances[instance];
        let document = self.object(instance).map_or(0, |o| o.document);
        Place { file: i.file, document, pointer: pointer.to_string() }
    }

    fn find(&mut self, code: &'static str, message: String, at: Place, help: &str) {
        self.findings.push(Finding { code, message, at, help: help.to_string(), notes: Vec::new() });
    }

    /// Files below `dir` (every file when `dir` is the root), in path order.
    fn files_under(&self, dir: &str) -> Vec<usize> {
        if dir.is_empty() {
            return self.sorted.clone();
        }
        let prefix = format!("{dir}/");
        let start = self.sorted.partition_point(|&f| self.file(f).path.as_str() < prefix.as_str());
        self.sorted[start..].iter().copied().take_while(|&f| self.file(f).path.starts_with(&prefix)).collect()
    }

    /// The objects `kustomize build dir` yields, as (file, object or generated (kind, name), namespace override).
    fn build(&self, dir: &str, missing: &mut Vec<(usize, String)>, depth: usize) -> Vec<Built> {
        let kustomization = ["kustomization.yaml", "kustomization.yml"].iter().find_map(|name| self.by_path.get(join(dir, name).as_str()));
        let Some(&file) = kustomization else {
            // No kustomization.yaml: Flux generates one with every manifest below the folder.
            return self
                .files_under(dir)
                .into_iter()
                .filter(|&f| matches!(self.file(f).content, Content::Objects(_)))
                .flat_map(|f| self.objects_of(f, None))
                .collect();
        };
        let Content::Kustomize(k) = &self.file(file).content else { return Vec::new() };
        let mut built = Vec::new();
        for resource in &k.resources {
            let path = join(dir, resource);
            if let Some(&f) = self.by_path.get(path.as_str()) {
                built.extend(self.objects_of(f, None));
            } else if depth < 32 && !self.files_under(&path).is_empty() {
                built.extend(self.build(&path, missing, depth + 1));
            } else {
                missing.push((file, resource.clone()));
            }
        }
        built.extend(k.generated.iter().map(|(kind, name)| Built {
            file,
            object: None,
            generated: Some((kind, name.clone())),
            namespace: None,
        }));
        if let Some(namespace) = &k.namespace {
            for b in &mut built {
                b.namespace = Some(namespace.clone());
            }
        }
        built
    }

    fn objects_of(&self, file: usize, namespace: Option<String>) -> Vec<Built> {
        let Content::Objects(objects) = &self.file(file).content else { return Vec::new() };
        (0..objects.len()).map(|o| Built { file, object: Some(o), generated: None, namespace: namespace.clone() }).collect()
    }

    fn namespaced(&self, obj: &Obj) -> bool {
        self.schemas.namespaced(&obj.api_version, &obj.kind).unwrap_or(obj.kind != "Namespace")
    }

    /// Registers what `applier` applies from `built`, with `target` as the targetNamespace.
    fn register(&mut self, applier: usize, built: Vec<Built>, target: Option<&str>) {
        for b in built {
            self.reached[b.file] = true;
            let (kind, name, written, api) = match (b.object, &b.generated) {
                (Some(o), _) => {
                    let Content::Objects(objects) = &self.file(b.file).content else { continue };
                    let obj = &objects[o];
                    (obj.kind.clone(), obj.name.clone(), obj.namespace.clone(), Some(obj))
                }
                (None, Some((kind, name))) => (kind.to_string(), name.clone(), None, None),
                (None, None) => continue,
            };
            let namespaced = api.is_none_or(|obj| self.namespaced(obj));
            let namespace =
                namespaced.then(|| target.map(str::to_string).or(b.namespace.clone()).or(written).unwrap_or_else(|| "default".to_string()));
            let instance = self.instances.len();
            let key: Key = (kind.clone(), namespace.clone().unwrap_or_default(), name.clone());
            self.instances.push(Instance { file: b.file, object: b.object, kind, name, namespace, applier });
            self.index.entry(key.clone()).or_default().push(instance);
            if let Some(alias) = api.and_then(|o| o.alias.clone()) {
                self.index.entry((key.0.clone(), String::new(), alias)).or_default().push(instance);
            }
            if let Some(secret) = api.and_then(|o| o.creates_secret.clone()) {
                self.produced.entry(("Secret".into(), key.1.clone(), secret)).or_insert(instance);
            }
            let is_flux_kustomization = api.is_some_and(|o| o.sync.is_some());
            if is_flux_kustomization {
                let id = (key.1, key.2);
                if !self.applier_of.contains_key(&id) {
                    self.applier_of.insert(id, self.appliers.len());
                    let label = self.describe(instance);
                    self.appliers.push(Applier { defined_by: Some(instance), label });
                }
            }
        }
    }

    /// The bring-up, then every Flux Kustomization in the order they are found.
    fn apply_all(&mut self) {
        let bring_up: Vec<String> = self
            .facts
            .files
            .iter()
            .filter_map(|f| f.path.strip_suffix("/flux-system/kustomization.yaml"))
            .filter(|dir| dir.starts_with("clusters/") && dir.matches('/').count() == 1)
            .map(|dir| format!("{dir}/flux-system"))
            .collect();
        let mut missing = Vec::new();
        for dir in bring_up {
            let built = self.build(&dir, &mut missing, 0);
            self.register(0, built, None);
        }
        self.fleet_url = self
            .index
            .get(&("GitRepository".to_string(), "flux-system".to_string(), "flux-system".to_string()))
            .and_then(|found| self.object(found[0]))
            .and_then(|o| o.git.as_ref().map(|g| g.url.clone()));
        let mut next = 1;
        while next < self.appliers.len() {
            self.apply(next, &mut missing);
            next += 1;
        }
        for file in 0..self.facts.files.len() {
            let Content::Objects(objects) = &self.file(file).content else { continue };
            if let (false, Some(first)) = (self.reached[file], objects.first()) {
                let at = Place { file, document: first.document, pointer: "/kind".into() };
                let message = format!("no Flux Kustomization applies `{}`: its objects never reach a cluster", self.file(file).path);
                self.find(
                    "catalyst::reconcile::unreached",
                    message,
                    at,
                    "list the file in a kustomization.yaml below a Kustomization's path",
                );
            }
        }
        for (file, resource) in missing {
            let at = Place { file, document: 0, pointer: "/resources".into() };
            self.find(
                "catalyst::reconcile::missing-path",
                format!("kustomize resource `{resource}` is not in the repository"),
                at,
                "kustomize build fails on a missing resource: emit it or drop it from the list",
            );
        }
    }

    /// Where the content of a Git source is in this tree, if it is.
    fn content_root(&self, git: &facts::Git) -> Option<String> {
        if self.fleet_url.as_deref() == Some(git.url.as_str()) {
            return Some(String::new());
        }
        let trimmed = git.url.trim_end_matches('/').trim_end_matches(".git");
        let mut segments = trimmed.rsplit('/');
        let (repo, org) = (segments.next()?, segments.next()?);
        if org == "system" && repo == "catalyst-config" {
            return Some("system/catalyst-config".into());
        }
        let branch_dir = format!("repos/{org}/{repo}/{}", git.branch);
        (!self.files_under(&branch_dir).is_empty()).then_some(branch_dir)
    }

    fn apply(&mut self, applier: usize, missing: &mut Vec<(usize, String)>) {
        let Some(defined_by) = self.appliers[applier].defined_by else { return };
        let Some(sync) = self.object(defined_by).and_then(|o| o.sync.clone()) else { return };
        let own = self.instances[defined_by].namespace.clone().unwrap_or_default();
        let source_key: Key = (sync.source_kind.clone(), sync.source_namespace.clone().unwrap_or(own), sync.source_name.clone());
        // A missing source is reported as a dangling reference; an OCI artifact's content is not in the tree.
        let Some(source) = self.index.get(&source_key).map(|found| found[0]) else { return };
        let Some(git) = self.object(source).and_then(|o| o.git.clone()) else { return };
        let Some(root) = self.content_root(&git) else {
            let message = format!(
                "{} reads {} at {}, whose content is not in this tree: nothing it applies is checked",
                self.appliers[applier].label,
                self.describe(source),
                git.url
            );
            let at = self.place(source, "/spec/url");
            self.find("catalyst::reconcile::unknown-source", message, at, "point it at a repository the compiler emits");
            return;
        };
        let dir = join(&root, &sync.path);
        if self.files_under(&dir).is_empty() {
            let message = format!("{} applies `{}` of {}, which does not exist there", self.appliers[applier].label, sync.path, git.url);
            let at = self.place(defined_by, "/spec/path");
            self.find("catalyst::reconcile::missing-path", message, at, "a Kustomization whose path is missing never becomes ready");
            return;
        }
        let built = self.build(&dir, missing, 0);
        self.register(applier, built, sync.target_namespace.as_deref());
    }

    /// The instances that create `key`, and an ExternalSecret that produces it.
    fn creators(&self, key: &Key) -> Option<Creator> {
        if let Some(found) = self.index.get(key) {
            let first = *found.iter().min_by_key(|&&i| self.instances[i].applier)?;
            return Some(Creator::Applied(first));
        }
        if let Some(&es) = self.produced.get(key) {
            return Some(Creator::Produced(es));
        }
        let (kind, namespace, name) = key;
        if kind == "Namespace" && BRING_UP_NAMESPACES.contains(&name.as_str()) {
            return Some(Creator::BringUp);
        }
        if kind == "Secret" && BRING_UP_SECRETS.contains(&(namespace.as_str(), name.as_str())) {
            return Some(Creator::BringUp);
        }
        if PER_NAMESPACE.contains(&(kind.as_str(), name.as_str())) {
            return self.creators(&("Namespace".into(), String::new(), namespace.clone()));
        }
        None
    }

    fn judge(mut self) -> Vec<Finding> {
        for instance in 0..self.instances.len() {
            let kind = self.instances[instance].kind.as_str();
            if kind != "HelmRelease" && kind != "Provider" {
                continue;
            }
            if let Some(installs) = self.object(instance).and_then(|o| o.installs.clone()) {
                self.installed_by.entry(installs).or_insert(instance);
            }
        }
        let mut graph = Graph::default();
        let mut admissions: Vec<(NodeIndex, NodeIndex, Place, String)> = Vec::new();
        for applier in 1..self.appliers.len() {
            let Some(defined_by) = self.appliers[applier].defined_by else { continue };
            let (applied, ready) = (graph.node(Node::Applied(applier)), graph.node(Node::Ready(applier)));
            let parent = self.instances[defined_by].applier;
            let created = graph.node(Node::Applied(parent));
            let why = format!("{} is created by {}", self.appliers[applier].label, self.appliers[parent].label);
            graph.edge(applied, created, EdgeKind::Wait, why, None);
            graph.edge(ready, applied, EdgeKind::Wait, format!("{} is ready once applied", self.appliers[applier].label), None);
        }
        for instance in 0..self.instances.len() {
            self.judge_instance(instance, &mut graph, &mut admissions);
        }
        let cyclic = self.deadlocks(&graph);
        self.unordered(&graph, admissions, &cyclic);
        self.findings
    }

    /// The node that stands for "`instance` is there": its applier applied it (or the bring-up did).
    fn exists(&self, creator: &Creator, graph: &mut Graph) -> Option<NodeIndex> {
        match creator {
            Creator::BringUp => None,
            Creator::Applied(i) => match self.instances[*i].applier {
                0 => None,
                applier => Some(graph.node(Node::Applied(applier))),
            },
            Creator::Produced(es) => Some(graph.node(Node::Object(*es))),
        }
    }

    /// The node that stands for "`instance` is ready".
    fn ready(&self, instance: usize, graph: &mut Graph) -> Option<NodeIndex> {
        let i = &self.instances[instance];
        if let Some(&applier) = self.applier_of.get(&(i.namespace.clone().unwrap_or_default(), i.name.clone())) {
            if i.kind == "Kustomization" {
                return Some(graph.node(Node::Ready(applier)));
            }
        }
        if RECONCILED.contains(&i.kind.as_str()) {
            return Some(graph.node(Node::Object(instance)));
        }
        self.exists(&Creator::Applied(instance), graph)
    }

    fn judge_instance(&mut self, instance: usize, graph: &mut Graph, admissions: &mut Vec<(NodeIndex, NodeIndex, Place, String)>) {
        let applier = self.instances[instance].applier;
        let label = self.describe(instance);
        let applied = (applier > 0).then(|| graph.node(Node::Applied(applier)));
        let reconciled = RECONCILED.contains(&self.instances[instance].kind.as_str());
        let this = if reconciled { Some(graph.node(Node::Object(instance))) } else { None };
        if let (Some(this), Some(applied)) = (this, applied) {
            graph.edge(this, applied, EdgeKind::Wait, format!("{label} is created by {}", self.appliers[applier].label), None);
        }
        let is_applier = self.object(instance).is_some_and(|o| o.sync.is_some());
        let own_applier = is_applier
            .then(|| {
                self.applier_of
                    .get(&(self.instances[instance].namespace.clone().unwrap_or_default(), self.instances[instance].name.clone()))
            })
            .flatten()
            .copied();
        // A Kustomization with `wait` is ready once what it applied is.
        let waits = self.appliers[applier].defined_by.and_then(|d| self.object(d)).and_then(|o| o.sync.as_ref()).is_some_and(|s| s.wait);
        if waits {
            let ready_parent = graph.node(Node::Ready(applier));
            if let Some(child) = self.ready(instance, graph).filter(|&n| Some(n) != applied) {
                graph.edge(ready_parent, child, EdgeKind::Wait, format!("{} waits for {label}", self.appliers[applier].label), None);
            }
        }
        // The object's Namespace, before the API server admits it.
        if let Some(namespace) = self.instances[instance].namespace.clone() {
            let key: Key = ("Namespace".into(), String::new(), namespace.clone());
            let at = self.place(instance, "/metadata/namespace");
            match self.creators(&key) {
                None => self.find(
                    "catalyst::reconcile::dangling",
                    format!("{label} lives in namespace `{namespace}`, which nothing creates"),
                    at,
                    "emit the Namespace in a Kustomization this one waits for",
                ),
                Some(creator) => {
                    if let (Some(applied), Some(target)) = (applied, self.exists(&creator, graph)) {
                        if target != applied {
                            let why = format!("{label} needs Namespace {namespace}");
                            admissions.push((applied, target, at.clone(), why.clone()));
                            graph.edge(applied, target, EdgeKind::Admission, why, Some(at));
                        }
                    }
                }
            }
        }
        self.definition(instance, graph, admissions, applied);
        let Some(obj) = self.object(instance) else { return };
        // References: Kustomizations need theirs before applying; reconciled objects before becoming ready.
        let from = own_applier.map(|a| graph.node(Node::Applied(a))).or(this);
        for reference in &obj.refs {
            self.reference(instance, reference, from, graph, admissions);
        }
        if obj.kind == "GitRepository" {
            self.host(instance, this, graph);
        }
        if obj.kind == "ExternalSecret" {
            self.remote_secrets(instance, this, graph);
        }
    }

    /// The definition of the object's kind must be installed before it is applied.
    fn definition(
        &mut self,
        instance: usize,
        graph: &mut Graph,
        admissions: &mut Vec<(NodeIndex, NodeIndex, Place, String)>,
        applied: Option<NodeIndex>,
    ) {
        let Some(obj) = self.object(instance) else { return };
        let group = obj.api_version.rsplit_once('/').map_or("", |(g, _)| g);
        let label = self.describe(instance);
        let (installer_label, node) = match installer(group) {
            None | Some(Installer::BringUp) => return,
            Some(Installer::Blueprint(bp)) => {
                let release = self.installer_of(bp);
                match release {
                    Some(release) => (self.describe(release), self.ready(release, graph)),
                    None => {
                        let message = format!("{label}: its kind {} is installed by {bp}, which this tree does not install", obj.kind);
                        let at = self.place(instance, "/kind");
                        self.find(
                            "catalyst::reconcile::no-crd",
                            message,
                            at,
                            "add the Blueprint to the bootstrap kit, or do not emit the kind",
                        );
                        return;
                    }
                }
            }
            Some(Installer::CrossplaneProvider(package)) => {
                let provider = self.installer_of(package);
                match provider {
                    Some(provider) => (self.describe(provider), self.ready(provider, graph)),
                    None => {
                        let message = format!(
                            "{label}: its kind {} comes with the Crossplane package {package}, which this tree does not install",
                            obj.kind
                        );
                        let at = self.place(instance, "/kind");
                        self.find("catalyst::reconcile::no-crd", message, at, "emit the Crossplane Provider that installs it");
                        return;
                    }
                }
            }
        };
        if let (Some(applied), Some(node)) = (applied, node) {
            let why = format!("{label} needs the definition of {} that {installer_label} installs", obj.kind);
            let at = self.place(instance, "/kind");
            admissions.push((applied, node, at.clone(), why.clone()));
            graph.edge(applied, node, EdgeKind::Admission, why, Some(at));
        }
    }

    /// The HelmRelease that installs Blueprint `what`, or the Crossplane Provider of package `what`.
    fn installer_of(&self, what: &str) -> Option<usize> {
        if let Some(&found) = self.installed_by.get(what) {
            return Some(found);
        }
        let package = format!("/{what}:");
        self.installed_by.iter().filter(|(installs, _)| installs.contains(&package)).map(|(_, &i)| i).min()
    }

    fn reference(
        &mut self,
        instance: usize,
        reference: &facts::Ref,
        from: Option<NodeIndex>,
        graph: &mut Graph,
        admissions: &mut Vec<(NodeIndex, NodeIndex, Place, String)>,
    ) {
        let namespace = match &reference.scope {
            Scope::Own => self.instances[instance].namespace.clone().unwrap_or_default(),
            Scope::Named(namespace) => namespace.clone(),
            Scope::Cluster => String::new(),
        };
        let key: Key = (reference.kind.clone(), namespace.clone(), reference.name.clone());
        let label = self.describe(instance);
        let at = self.place(instance, &reference.pointer);
        let target = if namespace.is_empty() { format!("{} {}", key.0, key.2) } else { format!("{} {namespace}/{}", key.0, key.2) };
        let Some(creator) = self.creators(&key) else {
            if !reference.optional {
                let hint = match reference.kind.as_str() {
                    "Secret" => "create the Secret in that namespace (an ExternalSecret, or the bring-up), or point at one that exists",
                    "ClusterSecretStore" | "SecretStore" => {
                        "emit the store in a Kustomization that runs after External Secrets is installed"
                    }
                    _ => "emit the target, or drop the reference",
                };
                self.find("catalyst::reconcile::dangling", format!("{label} refers to {target}, which nothing creates"), at, hint);
            }
            return;
        };
        let Some(from) = from else { return };
        let to = match (&creator, reference.when) {
            (Creator::Applied(i), When::Ready) => self.ready(*i, graph),
            _ => self.exists(&creator, graph),
        };
        let Some(to) = to.filter(|&to| to != from) else { return };
        let why = match reference.when {
            When::Ready => format!("{label} waits for {target} to be ready"),
            When::Apply | When::Reconcile => format!("{label} needs {target}"),
        };
        let kind = if reference.when == When::Apply { EdgeKind::Admission } else { EdgeKind::Wait };
        if kind == EdgeKind::Admission {
            admissions.push((from, to, at.clone(), why.clone()));
        }
        graph.edge(from, to, kind, why, Some(at));
    }

    /// A source on a host of the Sovereign is there only once the release that serves the host is.
    fn host(&mut self, instance: usize, this: Option<NodeIndex>, graph: &mut Graph) {
        let Some(git) = self.object(instance).and_then(|o| o.git.as_ref()) else { return };
        let host = git.url.split("://").nth(1).unwrap_or(&git.url).split(['/', ':']).next().unwrap_or_default().to_string();
        let Some(server) = host_server(&host, self.fqdn) else { return };
        let label = self.describe(instance);
        let at = self.place(instance, "/spec/url");
        let release = server.and_then(|bp| self.installer_of(bp));
        let Some(release) = release else {
            let what =
                server.map_or_else(|| "no kit release serves it".to_string(), |bp| format!("{bp}, which serves it, is not installed"));
            self.find(
                "catalyst::reconcile::unserved-host",
                format!("{label} reads from {host}, a host of this Sovereign: {what}"),
                at,
                "serve the host from the kit, or read from a repository outside the Sovereign",
            );
            return;
        };
        if let (Some(this), Some(ready)) = (this, self.ready(release, graph)) {
            let why = format!("{label} reads from {host}, served by {}", self.describe(release));
            graph.edge(this, ready, EdgeKind::Wait, why, Some(at));
        }
    }

    /// An ExternalSecret whose store copies Secrets of another namespace needs those Secrets.
    fn remote_secrets(&mut self, instance: usize, this: Option<NodeIndex>, graph: &mut Graph) {
        let Some(obj) = self.object(instance) else { return };
        let Some(store) = obj.refs.iter().find(|r| r.kind.ends_with("SecretStore")) else { return };
        let namespace =
            if store.kind == "ClusterSecretStore" { String::new() } else { self.instances[instance].namespace.clone().unwrap_or_default() };
        let Some(Creator::Applied(store)) = self.creators(&(store.kind.clone(), namespace, store.name.clone())) else { return };
        let Some(reads) = self.object(store).and_then(|s| s.reads_namespace.clone()) else { return };
        for (key, pointer) in obj.remote_keys.clone() {
            let reference = facts::Ref {
                kind: "Secret".into(),
                name: key,
                scope: Scope::Named(reads.clone()),
                pointer,
                when: When::Reconcile,
                optional: false,
            };
            self.reference(instance, &reference, this, graph, &mut Vec::new());
        }
    }

    /// Cycles of waits: each is a deadlock, reported once with its whole chain.
    fn deadlocks(&mut self, graph: &Graph) -> Vec<bool> {
        let mut cyclic = vec![false; graph.graph.node_count()];
        let mut cycles = Vec::new();
        for mut members in petgraph::algo::tarjan_scc(&graph.graph) {
            members.sort();
            let first = members[0];
            if members.len() == 1 && !graph.graph.contains_edge(first, first) {
                continue;
            }
            for m in &members {
                cyclic[m.index()] = true;
            }
            cycles.push(graph.cycle(first, &members));
        }
        for chain in cycles {
            let Some(at) = chain.iter().find_map(|(e, _)| e.at.clone()) else { continue };
            let steps: Vec<String> =
                chain.iter().enumerate().map(|(n, (e, to))| format!("{}. {}", n + 1, graph.step(e, *to, self))).collect();
            self.findings.push(Finding {
                code: "catalyst::reconcile::deadlock",
                message: format!("deadlock: {}", chain.first().map_or(String::new(), |(e, to)| graph.step(e, *to, self))),
                at,
                help: "break the cycle: create the target earlier, or drop one of the waits".into(),
                notes: steps,
            });
        }
        cyclic
    }

    /// Admission needs whose target is not ordered before the object by any wait.
    fn unordered(&mut self, graph: &Graph, admissions: Vec<(NodeIndex, NodeIndex, Place, String)>, cyclic: &[bool]) {
        let waits = EdgeFiltered::from_fn(&graph.graph, |e| e.weight().kind == EdgeKind::Wait);
        let mut before: HashMap<NodeIndex, Vec<bool>> = HashMap::new();
        let mut reported: BTreeMap<(usize, NodeIndex), ()> = BTreeMap::new();
        for (from, to, at, why) in admissions {
            if cyclic[from.index()] && cyclic[to.index()] {
                continue;
            }
            let reaching = before.entry(to).or_insert_with(|| {
                let mut seen = vec![false; graph.graph.node_count()];
                let reversed = Reversed(&waits);
                let mut bfs = Bfs::new(&reversed, to);
                while let Some(n) = bfs.next(&reversed) {
                    seen[n.index()] = true;
                }
                seen
            });
            if reaching[from.index()] || reported.insert((at.file, to), ()).is_some() {
                continue;
            }
            let (consumer, provider) = (graph.describe(from, self), graph.describe(to, self));
            self.findings.push(Finding {
                code: "catalyst::reconcile::unordered",
                message: format!("{why}, which {provider} creates, but {consumer} does not wait for it"),
                at,
                help: "add a dependsOn from the Kustomization that applies this object to the one that creates what it needs".into(),
                notes: Vec::new(),
            });
        }
    }
}

/// What `kustomize build` yields: an object of a file, or one a generator creates.
struct Built {
    file: usize,
    object: Option<usize>,
    generated: Option<(&'static str, String)>,
    namespace: Option<String>,
}

enum Creator {
    BringUp,
    Applied(usize),
    Produced(usize),
}

#[derive(Default)]
struct Graph {
    graph: DiGraph<Node, Edge>,
    nodes: HashMap<Node, NodeIndex>,
}

impl Graph {
    fn node(&mut self, node: Node) -> NodeIndex {
        *self.nodes.entry(node).or_insert_with(|| self.graph.add_node(node))
    }

    fn edge(&mut self, from: NodeIndex, to: NodeIndex, kind: EdgeKind, why: String, at: Option<Place>) {
        self.graph.add_edge(from, to, Edge { kind, why, at });
    }

    /// A step of a chain: the wait, and who creates what it waits for when the wait does not say.
    fn step(&self, edge: &Edge, node: NodeIndex, walk: &Walk<'_>) -> String {
        match self.graph[node] {
            Node::Applied(a) if !edge.why.contains(&walk.appliers[a].label) => {
                format!("{}, which only {} creates", edge.why, walk.appliers[a].label)
            }
            _ => edge.why.clone(),
        }
    }

    fn describe(&self, node: NodeIndex, walk: &Walk<'_>) -> String {
        match self.graph[node] {
            Node::Applied(a) | Node::Ready(a) => walk.appliers[a].label.clone(),
            Node::Object(i) => walk.describe(i),
        }
    }

    /// A cycle through `start` inside one strongly connected component: its edges in order, with their targets.
    fn cycle(&self, start: NodeIndex, members: &[NodeIndex]) -> Vec<(Edge, NodeIndex)> {
        let inside = |n: NodeIndex| members.binary_search(&n).is_ok();
        // Breadth-first from start's successors back to start gives the shortest cycle.
        let mut previous: HashMap<NodeIndex, petgraph::graph::EdgeIndex> = HashMap::new();
        let mut queue = std::collections::VecDeque::from([start]);
        'search: while let Some(n) = queue.pop_front() {
            for e in self.graph.edges(n) {
                let next = e.target();
                if !inside(next) || previous.contains_key(&next) {
                    continue;
                }
                previous.insert(next, e.id());
                if next == start {
                    break 'search;
                }
                queue.push_back(next);
            }
        }
        let mut chain = Vec::new();
        let mut at = start;
        while let Some(&e) = previous.get(&at) {
            chain.push((self.graph[e].clone(), at));
            at = self.graph.edge_endpoints(e).map_or(start, |(from, _)| from);
            if at == start || chain.len() > members.len() {
                break;
            }
        }
        chain.reverse();
        chain
    }
}

/// The diagnostics of `findings`: each points at its field in the emitted file (shown below
/// `shown_at`, with the text `text_of` gives) and at the input the file was emitted for.
pub fn diagnostics(
    findings: Vec<Finding>,
    facts: &Facts,
    sources: &mut Sources,
    shown_at: &std::path::Path,
    text_of: &mut dyn FnMut(&str) -> Option<String>,
) -> Vec<Diagnostic> {
    let mut files: HashMap<usize, crate::source::FileId> = HashMap::new();
    let mut found = Vec::new();
    for finding in findings {
        let file = &facts.files[finding.at.file];
        let id = match files.get(&finding.at.file) {
            Some(&id) => Some(id),
            None => text_of(&file.path).map(|text| {
                let id = sources.add(shown_at.join(&file.path), text);
                if let Ok(root) = crate::yaml::parse_documents(id, &sources.get(id).text) {
                    sources.set_root(id, root);
                }
                files.insert(finding.at.file, id);
                id
            }),
        };
        let mut d = if WARNINGS.contains(&finding.code) {
            Diagnostic::warning(finding.code, finding.message)
        } else {
            Diagnostic::error(finding.code, finding.message)
        };
        if let Some(id) = id {
            let pointer = format!("/{}{}", finding.at.document, finding.at.pointer);
            let span = if matches!(file.content, Content::Kustomize(_)) {
                sources.key_span_at(id, &pointer)
            } else {
                sources.span_at(id, &pointer)
            };
            d = d.with_label(Label::primary(span, "here"));
        }
        if let Some(origin) = &file.origin {
            d = d.with_label(Label::secondary(sources.span_at(origin.file, &origin.pointer), "emitted for this"));
        }
        for note in finding.notes {
            d = d.with_note(note);
        }
        found.push(d.with_help(finding.help));
    }
    found
}

/// The reconcile check of a tree `catalyst build` wrote (`lint --built`), judged against the
/// newest known releases; its files are shown below `shown_at`.
pub fn check_built(output: &crate::render::Output, shown_at: &std::path::Path, sources: &mut Sources) -> Vec<Diagnostic> {
    let mut facts = Facts::default();
    for (path, bytes) in &output.files {
        let Some(documents) = std::str::from_utf8(bytes).ok().and_then(|text| crate::yaml::parse_stream(text).ok()) else { continue };
        let kustomization = matches!(documents.as_slice(), [document] if facts.add_document(path, document, None));
        if !kustomization {
            facts.add_objects(path, &documents, None);
        }
    }
    let fqdn = output.files.keys().find_map(|path| path.strip_prefix("clusters/")?.split('/').next()).unwrap_or_default().to_string();
    let options = crate::Options::default();
    let schemas = crate::schema_set(&options, &crate::releases::Pinned::default());
    let findings = check(&facts, &schemas, &fqdn);
    let mut text_of = |path: &str| output.files.get(path).map(|bytes| String::from_utf8_lossy(bytes).into_owned());
    diagnostics(findings, &facts, sources, shown_at, &mut text_of)
}
