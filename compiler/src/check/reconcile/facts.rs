//! What the reconcile check needs to know of each emitted file, taken from its
//! objects while they are rendered (or read back from a built tree): names,
//! namespaces and every reference, each with the JSON pointer it was written at.
//! The objects themselves are not kept: a 10,000-Application tree is judged
//! from these facts alone.
//!
//! The facts are laid out as a few flat tables: every string once, numbered
//! ([`Sym`]), and fixed-size records that refer to strings by number and to
//! each other by ranges. Each chunk of rendered files gathers its facts into
//! tables of its own, in the thread that renders it; merging keeps the records
//! where they are, numbers the strings into one table in the order of the
//! files (so the numbers are the same on every run) and renumbers the records
//! in parallel. So the facts hold no small allocation per object, and
//! comparing two names is comparing two numbers.

use std::ops::Range;

use serde_json::Value as Json;

use crate::support::pointer;
use crate::support::source::{FileId, Origin};

/// A string of the facts: its number in their table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Sym(u32);

/// Strings every table starts with, so that the check names them without a lookup.
const PRELUDE: [&str; 12] = [
    "",
    "Namespace",
    "Secret",
    "ConfigMap",
    "GitRepository",
    "HelmRelease",
    "Provider",
    "default",
    "flux-system",
    "/metadata/namespace",
    "/kind",
    "/spec/url",
];

impl Sym {
    pub const EMPTY: Sym = Sym(0);
    pub const NAMESPACE: Sym = Sym(1);
    pub const SECRET: Sym = Sym(2);
    pub const CONFIG_MAP: Sym = Sym(3);
    pub const GIT_REPOSITORY: Sym = Sym(4);
    pub const HELM_RELEASE: Sym = Sym(5);
    pub const PROVIDER: Sym = Sym(6);
    pub const DEFAULT: Sym = Sym(7);
    pub const FLUX_SYSTEM: Sym = Sym(8);
    /// Pointers the check reports at.
    pub const AT_NAMESPACE: Sym = Sym(9);
    pub const AT_KIND: Sym = Sym(10);
    pub const AT_URL: Sym = Sym(11);

    fn index(self) -> usize {
        self.0 as usize
    }

    // A table cannot hold more than u32::MAX strings: each takes at least a box, and memory runs out first.
    fn at(index: usize) -> Sym {
        Sym(index as u32)
    }
}

/// A range of records in one of the tables.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Span {
    start: u32,
    end: u32,
}

impl Span {
    fn of(range: Range<usize>) -> Span {
        Span { start: range.start as u32, end: range.end as u32 }
    }

    fn range(self) -> Range<usize> {
        self.start as usize..self.end as usize
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

/// Every string once, their bytes one after the other in one buffer: interning a new string
/// copies it there, without an allocation of its own, and merging tables copies bytes.
#[derive(Clone)]
pub struct Strings {
    text: String,
    /// Where each string ends in `text`; string `i` starts where string `i - 1` ends.
    ends: Vec<usize>,
    /// The strings' numbers, found by the hash of their text.
    numbers: hashbrown::HashTable<u32>,
    hasher: foldhash::fast::FixedState,
}

impl std::fmt::Debug for Strings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

impl Default for Strings {
    fn default() -> Self {
        let mut strings = Strings {
            text: String::new(),
            ends: Vec::new(),
            numbers: hashbrown::HashTable::new(),
            hasher: foldhash::fast::FixedState::default(),
        };
        for text in PRELUDE {
            strings.intern(text);
        }
        strings
    }
}

/// String `index` of a table's buffer and ends.
fn nth<'t>(text: &'t str, ends: &[usize], index: usize) -> &'t str {
    let start = index.checked_sub(1).map_or(0, |before| ends[before]);
    text.get(start..ends[index]).unwrap_or_default()
}

impl Strings {
    pub fn intern(&mut self, text: &str) -> Sym {
        use std::hash::BuildHasher;
        let hash = self.hasher.hash_one(text);
        let Strings { text: all, ends, numbers, hasher } = self;
        if let Some(&found) = numbers.find(hash, |&i| nth(all, ends, i as usize) == text) {
            return Sym(found);
        }
        let number = ends.len();
        all.push_str(text);
        ends.push(all.len());
        numbers.insert_unique(hash, number as u32, |&i| hasher.hash_one(nth(all, ends, i as usize)));
        Sym::at(number)
    }

    /// Room for `additional` more strings, so that interning them does not grow the table
    /// (growing hashes every string again).
    fn reserve(&mut self, additional: usize) {
        use std::hash::BuildHasher;
        let Strings { text: all, ends, numbers, hasher } = self;
        ends.reserve(additional);
        numbers.reserve(additional, |&i| hasher.hash_one(nth(all, ends, i as usize)));
    }

    /// The number of `text`, if some fact holds it.
    pub fn get(&self, text: &str) -> Option<Sym> {
        use std::hash::BuildHasher;
        let hash = self.hasher.hash_one(text);
        self.numbers.find(hash, |&i| nth(&self.text, &self.ends, i as usize) == text).map(|&i| Sym(i))
    }

    pub fn str(&self, sym: Sym) -> &str {
        if sym.index() < self.ends.len() {
            nth(&self.text, &self.ends, sym.index())
        } else {
            ""
        }
    }

    /// Every string, in the order of their numbers.
    fn iter(&self) -> impl Iterator<Item = &str> {
        (0..self.ends.len()).map(|i| nth(&self.text, &self.ends, i))
    }
}

/// A file of the tree.
#[derive(Clone, Debug)]
pub struct File {
    /// Relative to the output root, `/`-separated: a byte range of the paths.
    path: Span,
    /// The input the file was emitted for: its file and pointer (a number: files share a few).
    origin: Option<(FileId, Sym)>,
    objects: Span,
    /// Set when the file is a `kustomization.yaml` (kustomize's, not Flux's): an index into
    /// the kustomizations, which few files are, so that a file's record stays small.
    kustomize: Option<u32>,
}

/// A `kustomization.yaml`: what `kustomize build` of its folder yields.
#[derive(Clone, Copy, Debug)]
pub struct Kustomize {
    /// Paths, in the list of names.
    pub resources: Span,
    /// The `namespace:` it sets on every namespaced object.
    pub namespace: Option<Sym>,
    /// Names of the ConfigMaps and Secrets its generators create, in the list of names.
    pub config_maps: Span,
    pub secrets: Span,
}

/// Whether a reference must resolve before the object is admitted, or before it becomes ready.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// The API server refuses the object until the target exists (its Namespace).
    Apply,
    /// The controller cannot reconcile the object until the target exists.
    Reconcile,
    /// The controller waits until the target is ready (`dependsOn`).
    Ready,
}

/// Where a reference looks for its target.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The referring object's own namespace, whatever it ends up being.
    Own,
    Named(Sym),
    Cluster,
}

/// One reference an object makes.
#[derive(Clone, Copy, Debug)]
pub struct Ref {
    pub kind: Sym,
    pub name: Sym,
    pub scope: Scope,
    /// Where it is written in the object.
    pub pointer: Sym,
    pub when: When,
    pub optional: bool,
}

/// A GitRepository's address.
#[derive(Clone, Copy, Debug)]
pub struct Git {
    pub url: Sym,
    pub branch: Sym,
}

/// A Flux Kustomization's own settings.
#[derive(Clone, Copy, Debug)]
pub struct Sync {
    pub path: Sym,
    pub source_kind: Sym,
    pub source_name: Sym,
    pub source_namespace: Option<Sym>,
    pub target_namespace: Option<Sym>,
    pub wait: bool,
}

/// One emitted object.
#[derive(Clone, Copy, Debug)]
pub struct Obj {
    /// Index of its document in the file.
    pub document: u32,
    pub api_version: Sym,
    pub kind: Sym,
    pub name: Sym,
    pub namespace: Option<Sym>,
    pub refs: Span,
    /// What only some kinds have: an index into the roles.
    role: Option<u32>,
}

/// What only some kinds of object have.
#[derive(Clone, Copy, Debug, Default)]
pub struct Role {
    /// Set on Flux Kustomizations.
    pub sync: Option<Sync>,
    /// Set on GitRepositories.
    pub git: Option<Git>,
    /// The Secret an ExternalSecret creates.
    pub creates_secret: Option<Sym>,
    /// The namespace a `kubernetes`-provider secret store reads from.
    pub reads_namespace: Option<Sym>,
    /// The keys an ExternalSecret reads, each followed by its pointer, in the list of names.
    pub remote_keys: Span,
    /// The kit Blueprint a HelmRelease installs (its `catalyst.openova.io/blueprint` label), or a Crossplane package.
    pub installs: Option<Sym>,
    /// What else the object is found by: a Sovereign by its FQDN.
    pub alias: Option<Sym>,
    /// A HelmRelease or Kustomization that acts on another cluster: its kubeconfig Secret.
    pub kube_config: Option<Sym>,
    /// Where the Secret a HelmRelease creates is (its target namespace).
    pub secret_namespace: Option<Sym>,
}

/// The records of a part of the tree, whose strings are numbers into a table kept beside them.
#[derive(Clone, Debug, Default)]
struct Records {
    files: Vec<File>,
    kustomizations: Vec<Kustomize>,
    objects: Vec<Obj>,
    refs: Vec<Ref>,
    roles: Vec<Role>,
    /// Lists of strings: kustomize resources and generated names, remote keys.
    names: Vec<Sym>,
    /// The files' paths, one after the other: unique, so not worth interning.
    paths: String,
}

/// Renumbers an optional string.
fn renumber(sym: &mut Option<Sym>, map: &impl Fn(Sym) -> Sym) {
    if let Some(sym) = sym {
        *sym = map(*sym);
    }
}

impl Records {
    /// Renumbers every string in place.
    fn renumber(&mut self, map: &impl Fn(Sym) -> Sym) {
        for (_, pointer) in self.files.iter_mut().filter_map(|f| f.origin.as_mut()) {
            *pointer = map(*pointer);
        }
        for k in &mut self.kustomizations {
            renumber(&mut k.namespace, map);
        }
        for o in &mut self.objects {
            (o.api_version, o.kind, o.name) = (map(o.api_version), map(o.kind), map(o.name));
            renumber(&mut o.namespace, map);
        }
        for r in &mut self.refs {
            (r.kind, r.name, r.pointer) = (map(r.kind), map(r.name), map(r.pointer));
            if let Scope::Named(namespace) = &mut r.scope {
                *namespace = map(*namespace);
            }
        }
        for r in &mut self.roles {
            if let Some(s) = &mut r.sync {
                (s.path, s.source_kind, s.source_name) = (map(s.path), map(s.source_kind), map(s.source_name));
                renumber(&mut s.source_namespace, map);
                renumber(&mut s.target_namespace, map);
            }
            if let Some(g) = &mut r.git {
                (g.url, g.branch) = (map(g.url), map(g.branch));
            }
            let syms =
                [&mut r.creates_secret, &mut r.reads_namespace, &mut r.installs, &mut r.alias, &mut r.kube_config, &mut r.secret_namespace];
            for sym in syms {
                renumber(sym, map);
            }
        }
        for name in &mut self.names {
            *name = map(*name);
        }
    }
}

/// The facts of every emitted file, gathered across parts and threads: each part's records
/// stay where they were gathered, their strings renumbered into one table.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    strings: Strings,
    /// Where the pointers of list items are written before they are interned.
    scratch: String,
    parts: Vec<Records>,
    /// The number of each part's first file among all files.
    first_files: Vec<usize>,
    /// Folders whose files are copies of another folder's, rendered once (the branches of an
    /// Application repository that run the same version): the copy → the folder judged for it.
    mirrors: foldhash::HashMap<Box<str>, Box<str>>,
}

/// A file of the facts, with the records it refers into.
#[derive(Clone, Copy)]
pub struct FileView<'f> {
    records: &'f Records,
    file: &'f File,
}

impl<'f> FileView<'f> {
    pub fn path(self) -> &'f str {
        self.records.paths.get(self.file.path.range()).unwrap_or_default()
    }

    /// The input file the file was emitted for, and the pointer (a number) into it.
    pub fn origin(self) -> Option<(FileId, Sym)> {
        self.file.origin
    }

    pub fn kustomize(self) -> Option<&'f Kustomize> {
        self.file.kustomize.map(|k| &self.records.kustomizations[k as usize])
    }

    pub fn objects(self) -> impl ExactSizeIterator<Item = Object<'f>> {
        let records = self.records;
        records.objects[self.file.objects.range()].iter().map(move |obj| Object { records, obj })
    }

    /// A list of names (a kustomization's resources or generated names).
    pub fn names(self, span: Span) -> &'f [Sym] {
        &self.records.names[span.range()]
    }
}

/// An object of the facts, with the records it refers into.
#[derive(Clone, Copy)]
pub struct Object<'f> {
    records: &'f Records,
    obj: &'f Obj,
}

impl<'f> std::ops::Deref for Object<'f> {
    type Target = Obj;

    fn deref(&self) -> &Obj {
        self.obj
    }
}

impl<'f> Object<'f> {
    pub fn refs(self) -> &'f [Ref] {
        &self.records.refs[self.obj.refs.range()]
    }

    pub fn role(self) -> Option<&'f Role> {
        self.obj.role.map(|r| &self.records.roles[r as usize])
    }

    /// The keys an ExternalSecret reads, each with its pointer.
    pub fn remote_keys(self) -> impl Iterator<Item = (Sym, Sym)> + 'f {
        let span = self.role().map_or(Span::default(), |r| r.remote_keys);
        self.records.names[span.range()].chunks_exact(2).map(|pair| (pair[0], pair[1]))
    }
}

impl Facts {
    /// Adds the parts of `others`, in order, after those already here: their strings are
    /// numbered into this table one after the other, so the numbers do not depend on the
    /// threads that gathered them, and their records are renumbered in parallel.
    pub fn extend(&mut self, others: Vec<Facts>) {
        use rayon::prelude::*;
        let mut numbers: Vec<Vec<Sym>> = Vec::with_capacity(others.len());
        let mut parts: Vec<(Records, usize)> = Vec::new();
        // At most every string of the others is new.
        self.strings.reserve(others.iter().map(|other| other.strings.ends.len()).sum());
        for mut other in others {
            self.mirrors.extend(std::mem::take(&mut other.mirrors));
            let table = numbers.len();
            numbers.push(other.strings.iter().map(|s| self.strings.intern(s)).collect());
            parts.extend(other.parts.into_iter().filter(|part| !part.files.is_empty()).map(|part| (part, table)));
        }
        parts.par_iter_mut().with_min_len(16).for_each(|(part, table)| {
            let numbers = &numbers[*table];
            part.renumber(&|sym| numbers[sym.index()]);
        });
        for (part, _) in parts {
            self.push(part);
        }
    }

    fn push(&mut self, part: Records) {
        self.first_files.push(self.file_count());
        self.parts.push(part);
    }

    fn file_count(&self) -> usize {
        self.first_files.last().zip(self.parts.last()).map_or(0, |(first, part)| first + part.files.len())
    }

    /// Where the next file's facts go: the last part.
    fn sink(&mut self) -> Sink<'_> {
        if self.parts.is_empty() {
            self.push(Records::default());
        }
        let last = self.parts.len() - 1;
        Sink { strings: &mut self.strings, records: &mut self.parts[last], scratch: &mut self.scratch }
    }

    /// Adds a file of objects (it is there for kustomize even when none of them can be judged).
    pub fn add_objects(&mut self, path: &str, objects: &[Json], origin: Option<&Origin>) {
        let mut sink = self.sink();
        let first = sink.records.objects.len();
        for (document, object) in objects.iter().enumerate() {
            sink.object(document, object);
        }
        let objects = Span::of(first..sink.records.objects.len());
        sink.file(path, origin, objects, None);
    }

    /// Adds a `kustomization.yaml` (kustomize's, not Flux's), if `document` is one; says whether it was.
    pub fn add_kustomization(&mut self, path: &str, document: &Json, origin: Option<&Origin>) -> bool {
        let is_kustomization = path.rsplit('/').next().is_some_and(|name| name == "kustomization.yaml" || name == "kustomization.yml");
        let api = pointer::member(document, "apiVersion").and_then(Json::as_str).unwrap_or_default();
        if !is_kustomization || !api.starts_with("kustomize.config.k8s.io/") {
            return false;
        }
        let mut sink = self.sink();
        let mut list = |key: &str, pointer: &str| {
            let start = sink.records.names.len();
            for item in pointer::member(document, key).and_then(Json::as_array).into_iter().flatten() {
                if let Some(text) = pointer::get(item, pointer).and_then(Json::as_str) {
                    let sym = sink.strings.intern(text);
                    sink.records.names.push(sym);
                }
            }
            Span::of(start..sink.records.names.len())
        };
        let (resources, config_maps, secrets) =
            (list("resources", ""), list("configMapGenerator", "/name"), list("secretGenerator", "/name"));
        let namespace = sink.text(document, "/namespace");
        let kustomize = Kustomize { resources, namespace, config_maps, secrets };
        let objects = Span::of(sink.records.objects.len()..sink.records.objects.len());
        sink.file(path, origin, objects, Some(kustomize));
        true
    }

    /// Records that the file at `copy` holds what the file at `original` holds, and with it every
    /// file of its folder: the folders where the two paths part (`a/x/f`, `b/f`: `b` mirrors `a/x`).
    pub fn add_copy(&mut self, original: &str, copy: &str) {
        let common = original.bytes().rev().zip(copy.bytes().rev()).take_while(|(a, b)| a == b).count();
        // Where the shared part starts at a folder boundary (in bytes: the shared part may begin
        // inside a character, a `/` never does).
        let Some(boundary) = original.as_bytes()[original.len() - common..].iter().position(|&b| b == b'/') else { return };
        let shared = common - boundary;
        let (copy, original) = (&copy[..copy.len() - shared], &original[..original.len() - shared]);
        if !self.mirrors.contains_key(copy) {
            self.mirrors.insert(copy.into(), original.into());
        }
    }

    /// The folder whose files `dir` holds copies of, if it does.
    pub fn mirror(&self, dir: &str) -> Option<&str> {
        self.mirrors.get(dir).map(|original| &**original)
    }

    /// The number of objects.
    pub fn objects(&self) -> usize {
        self.parts.iter().map(|part| part.objects.len()).sum()
    }

    /// Every file, in order.
    pub fn files(&self) -> impl Iterator<Item = FileView<'_>> {
        self.parts.iter().flat_map(|records| records.files.iter().map(move |file| FileView { records, file }))
    }

    pub fn file(&self, file: usize) -> FileView<'_> {
        let part = self.first_files.partition_point(|&first| first <= file) - 1;
        let records = &self.parts[part];
        FileView { records, file: &records.files[file - self.first_files[part]] }
    }

    pub fn str(&self, sym: Sym) -> &str {
        self.strings.str(sym)
    }

    /// The number of `text`, if some fact holds it.
    pub fn sym(&self, text: &str) -> Option<Sym> {
        self.strings.get(text)
    }
}

/// Where one file's facts are written: the strings, and the records of its part.
struct Sink<'a> {
    strings: &'a mut Strings,
    records: &'a mut Records,
    scratch: &'a mut String,
}

impl Sink<'_> {
    /// Records a file whose objects are `objects`.
    fn file(&mut self, path: &str, origin: Option<&Origin>, objects: Span, kustomize: Option<Kustomize>) {
        let start = self.records.paths.len();
        self.records.paths.push_str(path);
        let path = Span::of(start..self.records.paths.len());
        let origin = origin.map(|origin| (origin.file, self.strings.intern(&origin.pointer)));
        let kustomize = kustomize.map(|k| {
            self.records.kustomizations.push(k);
            self.records.kustomizations.len() as u32 - 1
        });
        self.records.files.push(File { path, origin, objects, kustomize });
    }

    /// The number of a formatted string, formatted without an allocation of its own.
    fn formatted(&mut self, text: std::fmt::Arguments<'_>) -> Sym {
        use std::fmt::Write;
        self.scratch.clear();
        // Writing into a String cannot fail.
        let _ = self.scratch.write_fmt(text);
        self.strings.intern(self.scratch)
    }

    /// The number of `value`, if it is text.
    fn sym(&mut self, value: Option<&Json>) -> Option<Sym> {
        value.and_then(Json::as_str).map(|text| self.strings.intern(text))
    }

    /// The number of the text at `key` of an object (a member: no pointer to split).
    fn member(&mut self, value: &Json, key: &str) -> Option<Sym> {
        self.sym(pointer::member(value, key))
    }

    fn text(&mut self, value: &Json, pointer: &str) -> Option<Sym> {
        self.sym(pointer::get(value, pointer))
    }

    /// The facts of one object, if it has an apiVersion, a kind and a name.
    fn object(&mut self, document: usize, object: &Json) -> Option<()> {
        fn text_at<'v>(value: &'v Json, key: &str) -> Option<&'v str> {
            pointer::member(value, key).and_then(Json::as_str)
        }
        let metadata = pointer::member(object, "metadata")?;
        let (api_version, kind, name) = (text_at(object, "apiVersion")?, text_at(object, "kind")?, text_at(metadata, "name")?);
        let refs = self.records.refs.len();
        let mut role = Role::default();
        let spec = pointer::member(object, "spec");
        let mut building = Building { facts: self, object, spec, role: &mut role };
        let flux = group(api_version).ends_with(".toolkit.fluxcd.io");
        match (group(api_version), kind) {
            (_, "GitRepository" | "HelmRepository" | "OCIRepository" | "Bucket") if flux => building.source(kind),
            (_, "HelmRelease") if flux => building.helm_release(),
            (_, "Kustomization") if flux => building.kustomization(),
            ("external-secrets.io", "ExternalSecret") => building.external_secret(name),
            ("external-secrets.io", "SecretStore" | "ClusterSecretStore") => building.secret_store(),
            ("catalyst.openova.io", "Environment") => {
                building.named("/spec/policyRef", "EnvironmentPolicy", Scope::Cluster, When::Reconcile);
                building.named("/spec/organizationRef", "Organization", Scope::Cluster, When::Reconcile);
            }
            ("catalyst.openova.io", "Sovereign") => building.role.alias = building.text("/spec/fqdn"),
            ("orgs.openova.io", "Organization") => building.named("/spec/sovereignRef", "Sovereign", Scope::Cluster, When::Reconcile),
            ("apps.openova.io", "Application") => {
                building.named("/spec/environmentRef", "Environment", Scope::Cluster, When::Reconcile);
                building.listed("/spec/dependsOn", "Application", When::Reconcile);
            }
            ("pkg.crossplane.io", "Provider") => building.role.installs = building.text("/spec/package"),
            (_, "ProviderConfig") => building.secret_at("/spec/credentials/secretRef", When::Reconcile),
            _ => {}
        }
        let has_role = role.sync.is_some()
            || role.git.is_some()
            || role.creates_secret.is_some()
            || role.reads_namespace.is_some()
            || role.installs.is_some()
            || role.alias.is_some()
            || role.kube_config.is_some();
        let role = has_role.then(|| {
            self.records.roles.push(role);
            self.records.roles.len() as u32 - 1
        });
        let obj = Obj {
            document: document as u32,
            api_version: self.strings.intern(api_version),
            kind: self.strings.intern(kind),
            name: self.strings.intern(name),
            namespace: self.member(metadata, "namespace"),
            refs: Span::of(refs..self.records.refs.len()),
            role,
        };
        self.records.objects.push(obj);
        Some(())
    }
}

/// The text at `pointer`, else at `fallback`.
fn text_or<'j>(object: &'j Json, pointer: &str, fallback: &str) -> Option<&'j str> {
    pointer::get(object, pointer).or_else(|| pointer::get(object, fallback)).and_then(Json::as_str)
}

fn group(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(group, _)| group)
}

/// An object's facts while they are gathered.
struct Building<'a, 'b> {
    facts: &'a mut Sink<'b>,
    object: &'a Json,
    /// The object's `spec`, found once: most of what is read is in it.
    spec: Option<&'a Json>,
    role: &'a mut Role,
}

impl<'a> Building<'a, '_> {
    /// The value at `pointer` in the object.
    fn get(&self, pointer: &str) -> Option<&'a Json> {
        match pointer.strip_prefix("/spec") {
            Some(rest) if rest.starts_with('/') => pointer::get(self.spec?, rest),
            _ => pointer::get(self.object, pointer),
        }
    }

    fn text(&mut self, pointer: &str) -> Option<Sym> {
        let value = self.get(pointer);
        self.facts.sym(value)
    }

    /// The object's label `key` (looked up as a member: a pointer would spell its `/` as `~1`).
    fn label(&mut self, key: &str) -> Option<Sym> {
        let labels = pointer::get(self.object, "/metadata/labels")?;
        self.facts.member(labels, key)
    }

    fn push(&mut self, kind: &str, name: Sym, scope: Scope, pointer: Sym, when: When, optional: bool) {
        let kind = self.facts.strings.intern(kind);
        self.facts.records.refs.push(Ref { kind, name, scope, pointer, when, optional });
    }

    /// A reference written as a plain name at `pointer`.
    fn named(&mut self, pointer: &str, kind: &str, scope: Scope, when: When) {
        if let Some(name) = self.text(pointer) {
            let pointer = self.facts.strings.intern(pointer);
            self.push(kind, name, scope, pointer, when, false);
        }
    }

    /// `{name, namespace?}` items of a list at `pointer`, all of `kind`.
    fn listed(&mut self, pointer: &str, kind: &str, when: When) {
        for (i, item) in self.get(pointer).and_then(Json::as_array).into_iter().flatten().enumerate() {
            let Some(name) = self.facts.member(item, "name") else { continue };
            let scope = self.facts.member(item, "namespace").map_or(Scope::Own, Scope::Named);
            let pointer = self.facts.formatted(format_args!("{pointer}/{i}/name"));
            self.push(kind, name, scope, pointer, when, false);
        }
    }

    /// A `{kind?, name, namespace?}` reference at `pointer`; `default_kind` when it names none.
    fn typed(&mut self, pointer: &str, default_kind: &str, when: When) {
        let Some(target) = self.get(pointer) else { return };
        let Some(name) = self.facts.member(target, "name") else { return };
        let kind = pointer::member(target, "kind").and_then(Json::as_str).unwrap_or(default_kind);
        let scope = self.facts.member(target, "namespace").map_or(Scope::Own, Scope::Named);
        let pointer = self.facts.formatted(format_args!("{pointer}/name"));
        self.push(kind, name, scope, pointer, when, false);
    }

    /// A Secret named at `pointer` (`{name, namespace?}`).
    fn secret_at(&mut self, pointer: &str, when: When) {
        self.typed(pointer, "Secret", when);
    }

    /// `{kind, name, optional?}` items of a list at `pointer`, each looked for in the object's namespace.
    fn sourced(&mut self, pointer: &str, when: When) {
        for (i, item) in self.get(pointer).and_then(Json::as_array).into_iter().flatten().enumerate() {
            let (Some(kind), Some(name)) = (pointer::member(item, "kind").and_then(Json::as_str), self.facts.member(item, "name")) else {
                continue;
            };
            let optional = pointer::member(item, "optional").and_then(Json::as_bool).unwrap_or(false);
            let pointer = self.facts.formatted(format_args!("{pointer}/{i}/name"));
            self.push(kind, name, Scope::Own, pointer, when, optional);
        }
    }

    fn source(&mut self, kind: &str) {
        self.secret_at("/spec/secretRef", When::Reconcile);
        if kind == "GitRepository" {
            let url = self.text("/spec/url").unwrap_or(Sym::EMPTY);
            let branch = self.text("/spec/ref/branch").unwrap_or_else(|| self.facts.strings.intern("main"));
            self.role.git = Some(Git { url, branch });
        }
    }

    fn helm_release(&mut self) {
        self.typed("/spec/chart/spec/sourceRef", "HelmRepository", When::Ready);
        self.typed("/spec/chartRef", "OCIRepository", When::Ready);
        self.sourced("/spec/valuesFrom", When::Reconcile);
        self.listed("/spec/dependsOn", "HelmRelease", When::Ready);
        self.secret_at("/spec/kubeConfig/secretRef", When::Reconcile);
        let creates = self.get("/spec/install/createNamespace").and_then(Json::as_bool).unwrap_or(false);
        if !creates {
            self.named("/spec/targetNamespace", "Namespace", Scope::Cluster, When::Reconcile);
        }
        self.role.installs = self.label("catalyst.openova.io/blueprint");
        self.role.kube_config = self.text("/spec/kubeConfig/secretRef/name");
        // A virtual cluster's chart writes its kubeconfig to a Secret beside it.
        let prefix = self.role.installs.and_then(|sym| {
            let installs = self.facts.strings.str(sym);
            crate::check::releases::KUBECONFIG_SECRETS.iter().find(|(bp, _)| *bp == installs).map(|&(_, prefix)| prefix)
        });
        if let Some(prefix) = prefix {
            let release = text_or(self.object, "/spec/releaseName", "/metadata/name");
            self.role.creates_secret = release.map(|name| self.facts.formatted(format_args!("{prefix}{name}")));
            self.role.secret_namespace = self.text("/spec/targetNamespace");
        }
    }

    fn kustomization(&mut self) {
        self.typed("/spec/sourceRef", "GitRepository", When::Ready);
        self.listed("/spec/dependsOn", "Kustomization", When::Ready);
        self.secret_at("/spec/decryption/secretRef", When::Reconcile);
        self.secret_at("/spec/kubeConfig/secretRef", When::Reconcile);
        self.sourced("/spec/postBuild/substituteFrom", When::Apply);
        self.named("/spec/targetNamespace", "Namespace", Scope::Cluster, When::Apply);
        self.role.kube_config = self.text("/spec/kubeConfig/secretRef/name");
        let source_kind = match self.get("/spec/sourceRef/kind").and_then(Json::as_str) {
            Some(kind) => self.facts.strings.intern(kind),
            None => Sym::GIT_REPOSITORY,
        };
        self.role.sync = Some(Sync {
            path: self.text("/spec/path").unwrap_or(Sym::EMPTY),
            source_kind,
            source_name: self.text("/spec/sourceRef/name").unwrap_or(Sym::EMPTY),
            source_namespace: self.text("/spec/sourceRef/namespace"),
            target_namespace: self.text("/spec/targetNamespace"),
            wait: self.get("/spec/wait").and_then(Json::as_bool).unwrap_or(false),
        });
    }

    fn external_secret(&mut self, name: &str) {
        let store = self.get("/spec/secretStoreRef");
        let kind = store.and_then(|s| pointer::member(s, "kind")).and_then(Json::as_str).unwrap_or("SecretStore");
        if let Some(store) = self.text("/spec/secretStoreRef/name") {
            let scope = if kind == "ClusterSecretStore" { Scope::Cluster } else { Scope::Own };
            let pointer = self.facts.strings.intern("/spec/secretStoreRef/name");
            self.push(kind, store, scope, pointer, When::Reconcile, false);
        }
        self.role.creates_secret = Some(self.text("/spec/target/name").unwrap_or_else(|| self.facts.strings.intern(name)));
        let start = self.facts.records.names.len();
        for (i, item) in self.get("/spec/data").and_then(Json::as_array).into_iter().flatten().enumerate() {
            if let Some(key) = self.facts.text(item, "/remoteRef/key") {
                let pointer = self.facts.formatted(format_args!("/spec/data/{i}/remoteRef/key"));
                self.facts.records.names.extend([key, pointer]);
            }
        }
        self.role.remote_keys = Span::of(start..self.facts.records.names.len());
    }

    fn secret_store(&mut self) {
        self.secret_at("/spec/provider/vault/auth/tokenSecretRef", When::Reconcile);
        self.role.reads_namespace = self.text("/spec/provider/kubernetes/remoteNamespace");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_are_numbered_once_in_the_order_they_are_first_seen() {
        let mut strings = Strings::default();
        assert_eq!(strings.str(Sym::SECRET), "Secret");
        assert_eq!(strings.intern("flux-system"), Sym::FLUX_SYSTEM);
        let (a, b) = (strings.intern("repos/o/a"), strings.intern(""));
        assert_eq!((a, b), (Sym::at(PRELUDE.len()), Sym::EMPTY));
        assert_eq!(strings.intern("repos/o/a"), a);
        assert_eq!(strings.get("repos/o/a"), Some(a));
        assert_eq!(strings.get("repos/o"), None);
        assert_eq!(strings.str(a), "repos/o/a");
        assert_eq!(strings.str(Sym::at(1_000)), "", "a number no string has");
        // Many strings: the table grows and finds each again.
        let syms: Vec<Sym> = (0..10_000).map(|i| strings.intern(&format!("name-{i}"))).collect();
        assert!((0..10_000).all(|i| strings.get(&format!("name-{i}")) == Some(syms[i]) && strings.str(syms[i]) == format!("name-{i}")));
    }

    #[test]
    fn a_copied_file_makes_its_folder_a_mirror_of_the_original_folder() {
        let mut facts = Facts::default();
        facts.add_copy("repos/o/a/develop/base/kustomization.yaml", "repos/o/a/main/base/kustomization.yaml");
        assert_eq!(facts.mirror("repos/o/a/main"), Some("repos/o/a/develop"));
        assert_eq!(facts.mirror("repos/o/a/develop"), None);
        // The shared end begins inside a character: "é" and "©" end in the same byte.
        facts.add_copy("x/é/f", "y/©/f");
        assert_eq!(facts.mirror("y/©"), Some("x/é"));
        // No folder boundary in the shared part: no mirror.
        facts.add_copy("ab", "cb");
        assert_eq!(facts.mirrors.len(), 2);
    }
}
