//! The walk: what every applier (the bring-up, then each Flux Kustomization
//! in the order they are found) applies, into which namespace. Names are
//! borrowed from the facts, so a tree of 100,000 objects is walked without
//! copying one.

use foldhash::{HashMap, HashMapExt};

use super::facts::{Content, Facts, FileFacts, Git, Obj, Sync};
use super::{Finding, Place};
use crate::conform::SchemaSet;

/// Identity of an object on the cluster: (kind, namespace or "", name).
pub(super) type Key<'f> = (&'f str, &'f str, &'f str);

/// One object as applied: by whom, into which namespace.
pub(super) struct Instance<'f> {
    pub file: usize,
    /// `None` for objects a kustomize generator creates.
    pub object: Option<&'f Obj>,
    pub kind: &'f str,
    pub name: &'f str,
    pub namespace: Option<&'f str>,
    pub applier: usize,
}

impl Instance<'_> {
    pub fn document(&self) -> usize {
        self.object.map_or(0, |o| o.document)
    }
}

/// Who applies objects: the bring-up (applier 0), or a Flux Kustomization (the instance that defines it).
pub(super) struct Applier {
    pub defined_by: Option<usize>,
}

/// What `kustomize build` yields: an object of a file, or one a generator creates.
struct Built<'f> {
    file: usize,
    object: Option<usize>,
    generated: Option<(&'static str, &'f str)>,
    namespace: Option<&'f str>,
}

pub(super) struct Walk<'f> {
    pub facts: &'f Facts,
    schemas: &'f SchemaSet<'f>,
    pub fqdn: &'f str,
    /// File indices sorted by path, and each path's index.
    sorted: Vec<usize>,
    by_path: HashMap<&'f str, usize>,
    pub instances: Vec<Instance<'f>>,
    pub appliers: Vec<Applier>,
    /// Flux Kustomizations by (namespace, name) → applier.
    pub applier_of: HashMap<(&'f str, &'f str), usize>,
    /// Every applied object by identity → the instance applied first.
    pub index: HashMap<Key<'f>, usize>,
    /// Secrets ExternalSecrets create: identity → the ExternalSecret's instance.
    pub produced: HashMap<Key<'f>, usize>,
    /// What HelmReleases and Crossplane Providers install (a Blueprint name, a package) → the first instance.
    pub installed_by: HashMap<&'f str, usize>,
    fleet_url: Option<&'f str>,
    /// Whether some applier applies each file.
    reached: Vec<bool>,
    /// Whether objects of (apiVersion, kind) live in a namespace, as the schemas say.
    scopes: HashMap<(&'f str, &'f str), bool>,
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

fn join(dir: &str, relative: &str) -> String {
    normalize(&format!("{dir}/{relative}"))
}

impl<'f> Walk<'f> {
    pub fn new(facts: &'f Facts, schemas: &'f SchemaSet<'f>, fqdn: &'f str) -> Self {
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
            appliers: vec![Applier { defined_by: None }],
            applier_of: HashMap::new(),
            index: HashMap::new(),
            produced: HashMap::new(),
            installed_by: HashMap::new(),
            fleet_url: None,
            reached: vec![false; facts.files.len()],
            scopes: HashMap::new(),
            findings: Vec::new(),
        }
    }

    pub fn file(&self, file: usize) -> &'f FileFacts {
        &self.facts.files[file]
    }

    /// `Kind namespace/name` of an instance.
    pub fn describe(&self, instance: usize) -> String {
        let i = &self.instances[instance];
        match i.namespace {
            Some(ns) => format!("{} {ns}/{}", i.kind, i.name),
            None => format!("{} {}", i.kind, i.name),
        }
    }

    /// The Flux Kustomization of an applier, or the bring-up.
    pub fn applier_label(&self, applier: usize) -> String {
        self.appliers[applier].defined_by.map_or_else(|| "the bring-up (cloud-init)".to_string(), |d| self.describe(d))
    }

    pub fn place(&self, instance: usize, pointer: &'f str) -> Place<'f> {
        let i = &self.instances[instance];
        Place { file: i.file, document: i.document(), pointer }
    }

    pub fn find(&mut self, code: &'static str, message: String, at: Place<'_>, help: &str) {
        self.findings.push(Finding { code, message, at: at.owned(), help: help.to_string(), notes: Vec::new() });
    }

    /// Files below `dir` (every file when `dir` is the root), in path order.
    fn files_under(&self, dir: &str) -> &[usize] {
        if dir.is_empty() {
            return &self.sorted;
        }
        let prefix = format!("{dir}/");
        let start = self.sorted.partition_point(|&f| self.file(f).path.as_str() < prefix.as_str());
        let len = self.sorted[start..].partition_point(|&f| self.file(f).path.starts_with(&prefix));
        &self.sorted[start..start + len]
    }

    /// What `kustomize build dir` yields; resources that are not there go to `missing`.
    fn build(&self, dir: &str, missing: &mut Vec<(usize, String)>, depth: usize) -> Vec<Built<'f>> {
        let kustomization = ["kustomization.yaml", "kustomization.yml"].iter().find_map(|name| self.by_path.get(join(dir, name).as_str()));
        let Some(&file) = kustomization else {
            // No kustomization.yaml: Flux generates one with every manifest below the folder.
            return self.files_under(dir).iter().flat_map(|&f| self.objects_of(f)).collect();
        };
        let Content::Kustomize(k) = &self.file(file).content else { return Vec::new() };
        let mut built = Vec::new();
        for resource in &k.resources {
            let path = join(dir, resource);
            if let Some(&f) = self.by_path.get(path.as_str()) {
                built.extend(self.objects_of(f));
            } else if depth < 32 && !self.files_under(&path).is_empty() {
                built.extend(self.build(&path, missing, depth + 1));
            } else {
                missing.push((file, resource.clone()));
            }
        }
        built.extend(k.generated.iter().map(|(kind, name)| Built { file, object: None, generated: Some((kind, name)), namespace: None }));
        if let Some(namespace) = &k.namespace {
            for b in &mut built {
                b.namespace = Some(namespace);
            }
        }
        built
    }

    fn objects_of(&self, file: usize) -> Vec<Built<'f>> {
        let Content::Objects(objects) = &self.file(file).content else { return Vec::new() };
        (0..objects.len()).map(|o| Built { file, object: Some(o), generated: None, namespace: None }).collect()
    }

    fn namespaced(&mut self, obj: &'f Obj) -> bool {
        let schemas = self.schemas;
        *self
            .scopes
            .entry((&obj.api_version, &obj.kind))
            .or_insert_with(|| schemas.namespaced(&obj.api_version, &obj.kind).unwrap_or(obj.kind != "Namespace"))
    }

    /// Registers what `applier` applies from `built`, with `target` as the targetNamespace.
    fn register(&mut self, applier: usize, built: Vec<Built<'f>>, target: Option<&'f str>) {
        for b in built {
            self.reached[b.file] = true;
            let (object, kind, name) = match (b.object, b.generated) {
                (Some(o), _) => {
                    let Content::Objects(objects) = &self.file(b.file).content else { continue };
                    let obj = &objects[o];
                    (Some(obj), &*obj.kind, &*obj.name)
                }
                (None, Some((kind, name))) => (None, kind, name),
                (None, None) => continue,
            };
            let namespaced = object.is_none_or(|obj| self.namespaced(obj));
            let written = object.and_then(|o| o.namespace.as_deref());
            let namespace = namespaced.then(|| target.or(b.namespace).or(written).unwrap_or("default"));
            let instance = self.instances.len();
            self.instances.push(Instance { file: b.file, object, kind, name, namespace, applier });
            let key = (kind, namespace.unwrap_or_default(), name);
            self.index.entry(key).or_insert(instance);
            let Some(obj) = object else { continue };
            if let Some(alias) = &obj.alias() {
                self.index.entry((kind, "", alias)).or_insert(instance);
            }
            if let Some(secret) = &obj.creates_secret() {
                self.produced.entry(("Secret", key.1, secret)).or_insert(instance);
            }
            if let (Some(installs), "HelmRelease" | "Provider") = (&obj.installs(), kind) {
                self.installed_by.entry(installs).or_insert(instance);
            }
            if obj.sync().is_some() && !self.applier_of.contains_key(&(key.1, name)) {
                self.applier_of.insert((key.1, name), self.appliers.len());
                self.appliers.push(Applier { defined_by: Some(instance) });
            }
        }
    }

    /// The bring-up, then every Flux Kustomization in the order they are found.
    pub fn apply_all(&mut self) {
        let bring_up: Vec<String> = self
            .facts
            .files
            .iter()
            .filter_map(|f| f.path.strip_suffix("/flux-system/kustomization.yaml"))
            .filter(|dir| dir.starts_with("clusters/") && dir.matches('/').count() == 1)
            .map(|dir| format!("{dir}/flux-system"))
            .collect();
        // A fragment of a tree (no entry point Flux starts from) is not walked: all of it would be unreached.
        if bring_up.is_empty() {
            return;
        }
        let mut missing = Vec::new();
        for dir in bring_up {
            let built = self.build(&dir, &mut missing, 0);
            self.register(0, built, None);
        }
        self.fleet_url = self
            .index
            .get(&("GitRepository", "flux-system", "flux-system"))
            .and_then(|&found| self.instances[found].object)
            .and_then(|o| o.git().map(|g| g.url.as_str()));
        let mut next = 1;
        while next < self.appliers.len() {
            self.apply(next, &mut missing);
            next += 1;
        }
        self.report_unreached();
        for (file, resource) in missing {
            let at = Place { file, document: 0, pointer: "/resources" };
            self.find(
                "catalyst::reconcile::missing-path",
                format!("kustomize resource `{resource}` is not in the repository"),
                at,
                "kustomize build fails on a missing resource: emit it or drop it from the list",
            );
        }
    }

    fn report_unreached(&mut self) {
        for file in 0..self.facts.files.len() {
            let Content::Objects(objects) = &self.file(file).content else { continue };
            if let (false, Some(first)) = (self.reached[file], objects.first()) {
                let at = Place { file, document: first.document, pointer: "/kind" };
                let message = format!("no Flux Kustomization applies `{}`: its objects never reach a cluster", self.file(file).path);
                self.find(
                    "catalyst::reconcile::unreached",
                    message,
                    at,
                    "list the file in a kustomization.yaml below a Kustomization's path",
                );
            }
        }
    }

    /// Where the content of a Git source is in this tree, if it is.
    fn content_root(&self, git: &Git) -> Option<String> {
        if self.fleet_url == Some(git.url.as_str()) {
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
        let Some(sync) = self.instances[defined_by].object.and_then(|o| o.sync()) else { return };
        let Sync { path, source_kind, source_name, source_namespace, target_namespace, .. } = sync;
        let own = self.instances[defined_by].namespace.unwrap_or_default();
        let key = (source_kind.as_str(), source_namespace.as_deref().unwrap_or(own), source_name.as_str());
        // A missing source is reported as a dangling reference; an OCI artifact's content is not in the tree.
        let Some(&source) = self.index.get(&key) else { return };
        let Some(git) = self.instances[source].object.and_then(|o| o.git()) else { return };
        let Some(root) = self.content_root(git) else {
            let message = format!(
                "{} reads {} at {}, whose content is not in this tree: nothing it applies is checked",
                self.applier_label(applier),
                self.describe(source),
                git.url
            );
            let at = self.place(source, "/spec/url");
            self.find("catalyst::reconcile::unknown-source", message, at, "point it at a repository the compiler emits");
            return;
        };
        let dir = join(&root, path);
        if self.files_under(&dir).is_empty() {
            let message = format!("{} applies `{path}` of {}, which does not exist there", self.applier_label(applier), git.url);
            let at = self.place(defined_by, "/spec/path");
            self.find("catalyst::reconcile::missing-path", message, at, "a Kustomization whose path is missing never becomes ready");
            return;
        }
        let built = self.build(&dir, missing, 0);
        self.register(applier, built, target_namespace.as_deref());
    }
}
