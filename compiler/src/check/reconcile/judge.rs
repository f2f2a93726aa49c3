//! The verdict on a walk: every reference resolved, then the graph of waits
//! (what must have happened before what) searched for cycles (`deadlock`) and
//! for admission needs no wait orders (`unordered`). Edges keep what they
//! stand for, and are put into words only when a chain is reported.

use std::collections::VecDeque;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use petgraph::graph::{DiGraph, EdgeIndex, NodeIndex};
use petgraph::visit::EdgeRef;

use super::facts::{Scope, Sym, When};
use super::walk::{Key, Walk};
use super::{Finding, Place};
use crate::check::releases::{host_server, installer, Installer};
use crate::diagnostic::codes;

/// Namespaces that exist before Flux applies anything: Kubernetes' own and the one the Flux install creates.
const BRING_UP_NAMESPACES: [&str; 5] = ["default", "kube-system", "kube-public", "kube-node-lease", "flux-system"];
/// Secrets the bring-up creates in `flux-system` (cloud-init's pull credentials).
const BRING_UP_SECRETS: [&str; 1] = [crate::pipeline::plan::PULL_SECRET];
/// Objects Kubernetes creates in every namespace: (kind, name).
const PER_NAMESPACE: [(&str, &str); 2] = [("ConfigMap", "kube-root-ca.crt"), ("ServiceAccount", "default")];
/// Kinds whose controllers report readiness, so that others can wait for them.
pub(super) const RECONCILED: [&str; 7] =
    ["HelmRelease", "GitRepository", "HelmRepository", "OCIRepository", "Bucket", "ExternalSecret", "Provider"];

/// Who installs the definitions of an apiVersion's kinds, found once per apiVersion.
#[derive(Clone)]
pub(super) enum Definer {
    /// Nothing the tree applies needs to: Kubernetes, the bring-up, or a group the release table does not know.
    Given,
    /// This instance: a kit HelmRelease, or a Crossplane Provider.
    Installed(usize),
    /// What would install them, which this tree does not (in words, for the finding).
    Missing(String),
}

/// Who creates a target.
enum Creator {
    BringUp,
    Applied(usize),
    /// An ExternalSecret (its instance) writes it.
    Produced(usize),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum EdgeKind {
    /// The API server needs the target before it admits the object.
    Admission,
    /// Any other wait: dependsOn, a source, a referenced Secret, a parent.
    Wait,
}

/// What the API server needs before it admits objects: each (applier applied → target) once, with
/// the first place that needs it; many objects of one Kustomization need the same Namespace.
#[derive(Default)]
struct Admissions<'f> {
    seen: HashSet<(NodeIndex, NodeIndex)>,
    list: Vec<(NodeIndex, NodeIndex, Place<'f>)>,
}

impl<'f> Admissions<'f> {
    /// Records the need and its wait in `graph`, unless it is known already.
    fn admit(&mut self, graph: &mut Graph, (from, to): (NodeIndex, NodeIndex), why: Why, at: Place<'f>) {
        if from != to && self.seen.insert((from, to)) {
            self.list.push((from, to, at));
            graph.edge(from, to, EdgeKind::Admission, why);
        }
    }
}

/// A reference to resolve: the target, where it is written, when it is needed, whether it may be missing.
struct Need {
    key: Key,
    pointer: Sym,
    when: When,
    optional: bool,
}

/// What a wait stands for; appliers and instances by number, kept small as there is a wait or
/// more per object.
#[derive(Clone, Copy)]
enum Why {
    /// The instance exists once its applier applied it.
    CreatedBy(u32),
    /// An applier is ready once it applied.
    ReadyOnceApplied(u32),
    /// An applier with `wait` is ready once this instance is.
    WaitsFor(u32, u32),
    /// The instance needs the target (to exist, or to be ready), at the pointer.
    Needs(u32, Key, When, Sym),
    /// The instance needs the definition of its kind, which the other instance installs.
    Definition(u32, u32),
    /// A source on a host of the Sovereign, served by a release (the other instance).
    Host(u32, u32),
}

fn number(index: usize) -> u32 {
    // Instances and appliers are bounded by the objects held in memory.
    index as u32
}

#[derive(Clone, Copy)]
struct Edge {
    kind: EdgeKind,
    why: Why,
}

/// The waits, on nodes numbered from the walk: `Applied(a)` = 2a, `Ready(a)` = 2a + 1, then one node per instance.
struct Graph {
    graph: DiGraph<(), Edge>,
    appliers: usize,
}

impl Graph {
    fn new(appliers: usize, instances: usize) -> Self {
        let mut graph = DiGraph::with_capacity(2 * appliers + instances, 3 * instances);
        for _ in 0..2 * appliers + instances {
            graph.add_node(());
        }
        Graph { graph, appliers }
    }

    fn applied(&self, applier: usize) -> NodeIndex {
        NodeIndex::new(2 * applier)
    }

    fn ready(&self, applier: usize) -> NodeIndex {
        NodeIndex::new(2 * applier + 1)
    }

    fn object(&self, instance: usize) -> NodeIndex {
        NodeIndex::new(2 * self.appliers + instance)
    }

    fn edge(&mut self, from: NodeIndex, to: NodeIndex, kind: EdgeKind, why: Why) {
        if from != to {
            self.graph.add_edge(from, to, Edge { kind, why });
        }
    }

    /// The applier a node is about, or the instance.
    fn subject(&self, node: NodeIndex) -> Result<usize, usize> {
        let n = node.index();
        if n < 2 * self.appliers {
            Ok(n / 2)
        } else {
            Err(n - 2 * self.appliers)
        }
    }

    /// A cycle through `start` inside one strongly connected component: its edges in order.
    fn cycle(&self, start: NodeIndex, members: &[NodeIndex]) -> Vec<EdgeIndex> {
        let inside = |n: NodeIndex| members.binary_search(&n).is_ok();
        // Breadth-first from start's successors back to start gives the shortest cycle.
        let mut previous: HashMap<NodeIndex, EdgeIndex> = HashMap::new();
        let mut queue = VecDeque::from([start]);
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
            chain.push(e);
            at = self.graph.edge_endpoints(e).map_or(start, |(from, _)| from);
            if at == start || chain.len() > members.len() {
                break;
            }
        }
        chain.reverse();
        chain
    }
}

impl<'f> Walk<'f> {
    /// Every reference resolved, then deadlocks and unordered admissions.
    pub fn judge(mut self) -> Vec<super::Finding> {
        let mut graph = Graph::new(self.appliers.len(), self.instances.len());
        for applier in 1..self.appliers.len() {
            let Some(defined_by) = self.appliers[applier].defined_by else { continue };
            let parent = self.instances[defined_by].applier;
            graph.edge(graph.applied(applier), graph.applied(parent), EdgeKind::Wait, Why::CreatedBy(number(defined_by)));
            graph.edge(graph.ready(applier), graph.applied(applier), EdgeKind::Wait, Why::ReadyOnceApplied(number(applier)));
        }
        let mut admissions = Admissions::default();
        for instance in 0..self.instances.len() {
            self.judge_instance(instance, &mut graph, &mut admissions);
        }
        let cyclic = self.deadlocks(&graph);
        self.unordered(&graph, admissions.list, &cyclic);
        self.findings
    }

    /// Who creates `key`.
    fn creator(&self, key: Key) -> Option<Creator> {
        if let Some(&found) = self.index.get(&key) {
            return Some(Creator::Applied(found));
        }
        if let Some(&es) = self.produced.get(&key) {
            return Some(Creator::Produced(es));
        }
        let (kind, namespace, name) = key;
        let (kind_text, name_text) = (self.str(kind), self.str(name));
        if kind == Sym::NAMESPACE && BRING_UP_NAMESPACES.contains(&name_text) {
            return Some(Creator::BringUp);
        }
        if kind == Sym::SECRET && namespace == Sym::FLUX_SYSTEM && BRING_UP_SECRETS.contains(&name_text) && self.is_host() {
            return Some(Creator::BringUp);
        }
        if namespace != Sym::EMPTY && PER_NAMESPACE.contains(&(kind_text, name_text)) {
            return self.creator((Sym::NAMESPACE, Sym::EMPTY, namespace));
        }
        None
    }

    /// The node that stands for "the target is there" (`None`: it is there before anything).
    fn exists(&self, creator: &Creator, graph: &Graph) -> Option<NodeIndex> {
        match creator {
            Creator::BringUp => None,
            Creator::Applied(i) => match self.instances[*i].applier {
                0 => None,
                applier => Some(graph.applied(applier)),
            },
            Creator::Produced(es) => Some(graph.object(*es)),
        }
    }

    /// The node that stands for "`instance` is ready".
    fn ready_node(&self, instance: usize, graph: &Graph) -> Option<NodeIndex> {
        let i = &self.instances[instance];
        if self.sync(instance).is_some() {
            if let Some(&applier) = self.applier_of.get(&(i.namespace_key(), i.name)) {
                return Some(graph.ready(applier));
            }
        }
        if self.reconciled.contains(&i.kind) {
            return Some(graph.object(instance));
        }
        self.exists(&Creator::Applied(instance), graph)
    }

    fn judge_instance(&mut self, instance: usize, graph: &mut Graph, admissions: &mut Admissions<'f>) {
        let i = &self.instances[instance];
        let (applier, object) = (i.applier, i.object);
        let applied = (applier > 0).then(|| graph.applied(applier));
        let this = self.reconciled.contains(&i.kind).then(|| graph.object(instance));
        if let (Some(this), Some(applied)) = (this, applied) {
            graph.edge(this, applied, EdgeKind::Wait, Why::CreatedBy(number(instance)));
        }
        // A Kustomization with `wait` is ready once what it applied is.
        let waits = self.appliers[applier].defined_by.and_then(|d| self.sync(d)).is_some_and(|s| s.wait);
        if let Some(child) = self.ready_node(instance, graph).filter(|&n| waits && Some(n) != applied) {
            graph.edge(graph.ready(applier), child, EdgeKind::Wait, Why::WaitsFor(number(applier), number(instance)));
        }
        // The object's Namespace, before the API server admits it.
        if let Some(namespace) = self.instances[instance].namespace {
            let at = self.place(instance, "/metadata/namespace");
            match self.creator((Sym::NAMESPACE, Sym::EMPTY, namespace)) {
                None => {
                    let message =
                        format!("{} lives in namespace `{}`, which nothing creates", self.describe(instance), self.str(namespace));
                    self.find(codes::RECONCILE_DANGLING, message, at, "emit the Namespace in a Kustomization this one waits for");
                }
                Some(creator) => {
                    if let (Some(applied), Some(target)) = (applied, self.exists(&creator, graph)) {
                        let why = Why::Needs(number(instance), (Sym::NAMESPACE, Sym::EMPTY, namespace), When::Apply, Sym::AT_NAMESPACE);
                        admissions.admit(graph, (applied, target), why, at);
                    }
                }
            }
        }
        self.definition(instance, graph, admissions, applied);
        let Some(obj) = object else { return };
        // Kustomizations need their references before applying; reconciled objects before becoming ready.
        let own = self.instances[instance].namespace_key();
        let own_applier = self.sync(instance).and_then(|_| self.applier_of.get(&(own, obj.name)));
        let from = own_applier.map(|&a| graph.applied(a)).or(this);
        for reference in obj.refs() {
            let namespace = match reference.scope {
                Scope::Own => own,
                Scope::Named(namespace) => namespace,
                Scope::Cluster => Sym::EMPTY,
            };
            let key = (reference.kind, namespace, reference.name);
            let need = Need { key, pointer: reference.pointer, when: reference.when, optional: reference.optional };
            self.reference(instance, need, from, graph, admissions);
        }
        if obj.kind == Sym::GIT_REPOSITORY {
            self.host(instance, this, graph);
        }
        if self.role(instance).is_some_and(|r| !r.remote_keys.is_empty()) {
            self.remote_secrets(instance, this, graph);
        }
    }

    /// The definition of the object's kind must be installed before it is applied.
    fn definition(&mut self, instance: usize, graph: &mut Graph, admissions: &mut Admissions<'f>, applied: Option<NodeIndex>) {
        let Some(obj) = self.instances[instance].object else { return };
        let installer = match self.definer(obj.api_version) {
            Definer::Given => return,
            Definer::Installed(installer) => installer,
            Definer::Missing(by) => {
                let message = format!("{}: its kind {} is installed by {by}", self.describe(instance), self.str(obj.kind));
                let at = self.place(instance, "/kind");
                self.find(codes::RECONCILE_NO_CRD, message, at, "add what installs it to the bootstrap kit, or do not emit the kind");
                return;
            }
        };
        if let (Some(applied), Some(node)) = (applied, self.ready_node(installer, graph)) {
            admissions.admit(graph, (applied, node), Why::Definition(number(instance), number(installer)), self.place(instance, "/kind"));
        }
    }

    /// Who installs the definitions of `api_version`'s kinds; the walk is complete, so the answer is kept.
    fn definer(&mut self, api_version: Sym) -> Definer {
        if let Some(known) = self.definers.get(&api_version) {
            return known.clone();
        }
        let group = self.str(api_version).rsplit_once('/').map_or("", |(g, _)| g);
        let needed = match installer(group) {
            None | Some(Installer::BringUp) => None,
            Some(Installer::Flux) if self.is_host() => None,
            Some(Installer::Flux) => Some(("bp-flux", "bp-flux, which the host does not install into this vcluster".to_string())),
            Some(Installer::Blueprint(bp)) => Some((bp, format!("{bp}, which this tree does not install"))),
            Some(Installer::CrossplaneProvider(package)) => {
                Some((package, format!("the Crossplane package {package}, which this tree does not install")))
            }
        };
        let definer = match needed {
            None => Definer::Given,
            Some((what, by)) => match self.installer_of(what) {
                Some(installer) => Definer::Installed(installer),
                // Installed into this virtual cluster by its host, before anything is applied here.
                None if self.spelled(what).any(|sym| self.given(sym)) => Definer::Given,
                None => Definer::Missing(by),
            },
        };
        self.definers.insert(api_version, definer.clone());
        definer
    }

    /// Whether a release of the kit Blueprint `what` runs on another cluster.
    fn served_elsewhere(&self, what: &str) -> bool {
        self.spelled(what).any(|sym| self.served.contains(&sym))
    }

    /// The numbers of a Blueprint name in both spellings (`bp-gitea`, `gitea`), where facts hold them.
    fn spelled(&self, what: &str) -> impl Iterator<Item = Sym> + '_ {
        [what.to_string(), crate::model::other_spelling(what)].into_iter().filter_map(|name| self.facts.sym(&name))
    }

    /// The HelmRelease that installs Blueprint `what`, or the Crossplane Provider of package `what`.
    fn installer_of(&self, what: &str) -> Option<usize> {
        // A kit Blueprint is labelled with the name its catalog spells (`bp-gitea` or `gitea`).
        if let Some(found) = self.spelled(what).find_map(|sym| self.installed_by.get(&sym)) {
            return Some(*found);
        }
        let package = format!("/{what}:");
        self.installed_by.iter().filter(|(&installs, _)| self.str(installs).contains(&package)).map(|(_, &i)| i).min()
    }

    /// One reference of `instance`, whose wait (if any) starts at `from`.
    fn reference(
        &mut self,
        instance: usize,
        Need { key, pointer, when, optional }: Need,
        from: Option<NodeIndex>,
        graph: &mut Graph,
        admissions: &mut Admissions<'f>,
    ) {
        let at = self.place(instance, self.str(pointer));
        let Some(creator) = self.creator(key) else {
            if !optional {
                let hint = match self.str(key.0) {
                    "Secret" => "create the Secret in that namespace (an ExternalSecret, or the bring-up), or point at one that exists",
                    "ClusterSecretStore" | "SecretStore" => {
                        "emit the store in a Kustomization that runs after External Secrets is installed"
                    }
                    _ => "emit the target, or drop the reference",
                };
                let message = format!("{} refers to {}, which nothing creates", self.describe(instance), self.label(key));
                self.find(codes::RECONCILE_DANGLING, message, at, hint);
            }
            return;
        };
        let Some(from) = from else { return };
        let to = match (&creator, when) {
            (Creator::Applied(i), When::Ready) => self.ready_node(*i, graph),
            _ => self.exists(&creator, graph),
        };
        let Some(to) = to else { return };
        let why = Why::Needs(number(instance), key, when, pointer);
        if when == When::Apply {
            admissions.admit(graph, (from, to), why, at);
        } else {
            graph.edge(from, to, EdgeKind::Wait, why);
        }
    }

    /// A source on a host of the Sovereign is there only once the release that serves the host is.
    fn host(&mut self, instance: usize, this: Option<NodeIndex>, graph: &mut Graph) {
        let Some(host) = self.host_of(instance) else { return };
        let Some(server) = host_server(host, self.fqdn) else { return };
        let at = self.place(instance, "/spec/url");
        // Served by another cluster of the Sovereign: reached over the network, in no order Flux knows.
        if server.is_some_and(|bp| self.installer_of(bp).is_none() && self.served_elsewhere(bp)) {
            return;
        }
        let Some(release) = server.and_then(|bp| self.installer_of(bp)) else {
            let what =
                server.map_or_else(|| "no kit release serves it".to_string(), |bp| format!("{bp}, which serves it, is not installed"));
            let message = format!("{} reads from {host}, a host of this Sovereign: {what}", self.describe(instance));
            self.find(
                codes::RECONCILE_UNSERVED_HOST,
                message,
                at,
                "serve the host from the kit, or read from a repository outside the Sovereign",
            );
            return;
        };
        if let (Some(this), Some(ready)) = (this, self.ready_node(release, graph)) {
            graph.edge(this, ready, EdgeKind::Wait, Why::Host(number(instance), number(release)));
        }
    }

    /// The host a GitRepository reads from.
    fn host_of(&self, instance: usize) -> Option<&'f str> {
        let url = self.str(self.role(instance)?.git?.url);
        url.split_once("://").map_or(url, |(_, rest)| rest).split(['/', ':']).next()
    }

    /// Where in the emitted tree a wait is written, if it is.
    fn written_at(&self, why: Why) -> Option<Place<'f>> {
        let (instance, pointer) = match why {
            Why::Needs(i, _, _, pointer) => (i, pointer),
            Why::Definition(i, _) => (i, Sym::AT_KIND),
            Why::Host(i, _) => (i, Sym::AT_URL),
            Why::CreatedBy(_) | Why::ReadyOnceApplied(_) | Why::WaitsFor(..) => return None,
        };
        Some(self.place(instance as usize, self.str(pointer)))
    }

    /// An ExternalSecret whose store copies Secrets of another namespace needs those Secrets.
    fn remote_secrets(&mut self, instance: usize, this: Option<NodeIndex>, graph: &mut Graph) {
        let Some(obj) = self.instances[instance].object else { return };
        let Some(store) = obj.refs().iter().find(|r| self.str(r.kind).ends_with("SecretStore")) else { return };
        let namespace = if store.scope == Scope::Cluster { Sym::EMPTY } else { self.instances[instance].namespace_key() };
        let Some(Creator::Applied(store)) = self.creator((store.kind, namespace, store.name)) else { return };
        let Some(reads) = self.role(store).and_then(|s| s.reads_namespace) else { return };
        for (key, pointer) in obj.remote_keys() {
            let need = Need { key: (Sym::SECRET, reads, key), pointer, when: When::Reconcile, optional: false };
            self.reference(instance, need, this, graph, &mut Admissions::default());
        }
    }

    /// One step of a chain, in words.
    fn step(&self, edge: &Edge, target: NodeIndex, graph: &Graph) -> String {
        let (describe, label) = (|i: u32| self.describe(i as usize), |a: u32| self.applier_label(a as usize));
        let text = match edge.why {
            Why::CreatedBy(i) => format!("{} is created by {}", describe(i), self.applier_label(self.instances[i as usize].applier)),
            Why::ReadyOnceApplied(a) => format!("{} is ready once applied", label(a)),
            Why::WaitsFor(a, i) => format!("{} waits for {}", label(a), describe(i)),
            Why::Needs(i, key, When::Ready, _) => format!("{} waits for {} to be ready", describe(i), self.label(key)),
            Why::Needs(i, key, ..) => format!("{} needs {}", describe(i), self.label(key)),
            Why::Definition(i, by) => {
                let kind = self.str(self.instances[i as usize].kind);
                format!("{} needs the definition of {kind} that {} installs", describe(i), describe(by))
            }
            Why::Host(i, release) => {
                let host = self.host_of(i as usize).unwrap_or_default();
                format!("{} reads from {host}, served by {}", describe(i), describe(release))
            }
        };
        // Say who creates what is waited for, unless the step already does.
        match graph.subject(target) {
            Ok(applier) if matches!(edge.why, Why::Needs(..) | Why::Definition(..)) => {
                format!("{text}, which only {} creates", self.applier_label(applier))
            }
            _ => text,
        }
    }

    /// Cycles of waits: each is a deadlock, reported once with its whole chain.
    fn deadlocks(&mut self, graph: &Graph) -> Vec<bool> {
        let mut cyclic = vec![false; graph.graph.node_count()];
        // Components are visited without a list each: most are one object.
        let mut components = Vec::new();
        petgraph::algo::TarjanScc::new().run(&graph.graph, |members| {
            if members.len() > 1 || graph.graph.contains_edge(members[0], members[0]) {
                components.push(members.to_vec());
            }
        });
        for mut members in components {
            members.sort();
            let first = members[0];
            for m in &members {
                cyclic[m.index()] = true;
            }
            let chain = graph.cycle(first, &members);
            let steps: Vec<String> = chain
                .iter()
                .map(|&e| {
                    let target = graph.graph.edge_endpoints(e).map_or(first, |(_, to)| to);
                    self.step(&graph.graph[e], target, graph)
                })
                .collect();
            let Some(at) = chain.iter().find_map(|&e| self.written_at(graph.graph[e].why)) else { continue };
            self.findings.push(Finding {
                code: codes::RECONCILE_DEADLOCK,
                message: format!("deadlock: {}", steps.first().cloned().unwrap_or_default()),
                at: at.owned(),
                help: "break the cycle: create the target earlier, or drop one of the waits".into(),
                notes: steps.iter().enumerate().map(|(n, step)| format!("{}. {step}", n + 1)).collect(),
            });
        }
        cyclic
    }

    /// Admission needs whose target is not ordered before the object by any wait.
    fn unordered(&mut self, graph: &Graph, admissions: Vec<(NodeIndex, NodeIndex, Place<'f>)>, cyclic: &[bool]) {
        let waiting = Waiting::of(graph);
        let mut before: HashMap<NodeIndex, Vec<bool>> = HashMap::new();
        let mut reported = HashSet::new();
        for (from, to, at) in admissions {
            if cyclic[from.index()] && cyclic[to.index()] {
                continue;
            }
            let reaching = before.entry(to).or_insert_with(|| waiting.reaching(to));
            if reaching[from.index()] || !reported.insert((at.file, to)) {
                continue;
            }
            let describe = |node: NodeIndex| match graph.subject(node) {
                Ok(applier) => self.applier_label(applier),
                Err(instance) => self.describe(instance),
            };
            let edge = graph.graph.edges_connecting(from, to).find(|e| e.weight().kind == EdgeKind::Admission);
            let why = edge.map_or_else(String::new, |e| self.step(e.weight(), to, graph));
            let message = format!("{why}, but {} does not wait for it", describe(from));
            self.find(
                codes::RECONCILE_UNORDERED,
                message,
                at,
                "add a dependsOn from the Kustomization that applies this object to the one that creates what it needs",
            );
        }
    }
}

/// The waits reversed, in one flat table: who waits (directly) for each node.
struct Waiting {
    /// `waiters[starts[n]..starts[n + 1]]` wait for node `n`.
    starts: Vec<u32>,
    waiters: Vec<u32>,
}

impl Waiting {
    fn of(graph: &Graph) -> Waiting {
        let waits: Vec<(usize, u32)> = graph
            .graph
            .edge_references()
            .filter(|e| e.weight().kind == EdgeKind::Wait)
            .map(|e| (e.target().index(), e.source().index() as u32))
            .collect();
        let mut starts = vec![0u32; graph.graph.node_count() + 1];
        for &(target, _) in &waits {
            starts[target + 1] += 1;
        }
        for n in 1..starts.len() {
            starts[n] += starts[n - 1];
        }
        let mut filled = starts.clone();
        let mut waiters = vec![0u32; waits.len()];
        for (target, source) in waits {
            waiters[filled[target] as usize] = source;
            filled[target] += 1;
        }
        Waiting { starts, waiters }
    }

    /// Whether each node (transitively) waits for `target`.
    fn reaching(&self, target: NodeIndex) -> Vec<bool> {
        let mut seen = vec![false; self.starts.len() - 1];
        let mut stack = vec![target.index() as u32];
        seen[target.index()] = true;
        while let Some(n) = stack.pop() {
            let n = n as usize;
            for &waiter in &self.waiters[self.starts[n] as usize..self.starts[n + 1] as usize] {
                if !std::mem::replace(&mut seen[waiter as usize], true) {
                    stack.push(waiter);
                }
            }
        }
        seen
    }
}
