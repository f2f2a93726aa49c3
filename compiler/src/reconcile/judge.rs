//! The verdict on a walk: every reference resolved, then the graph of waits
//! (what must have happened before what) searched for cycles (`deadlock`) and
//! for admission needs no wait orders (`unordered`). Edges keep what they
//! stand for, and are put into words only when a chain is reported.

use std::collections::VecDeque;

use foldhash::{HashMap, HashMapExt, HashSet, HashSetExt};

use petgraph::graph::{DiGraph, EdgeIndex, NodeIndex};
use petgraph::visit::{Bfs, EdgeFiltered, EdgeRef, Reversed};

use super::facts::{Scope, When};
use super::walk::{Key, Walk};
use super::{Finding, Place};
use crate::releases::{host_server, installer, Installer};

/// Namespaces that exist before Flux applies anything: Kubernetes' own and the one the Flux install creates.
const BRING_UP_NAMESPACES: [&str; 5] = ["default", "kube-system", "kube-public", "kube-node-lease", "flux-system"];
/// Secrets the bring-up creates (cloud-init's pull credentials), as (namespace, name).
const BRING_UP_SECRETS: [(&str, &str); 1] = [("flux-system", crate::plan::PULL_SECRET)];
/// Objects Kubernetes creates in every namespace: (kind, name).
const PER_NAMESPACE: [(&str, &str); 2] = [("ConfigMap", "kube-root-ca.crt"), ("ServiceAccount", "default")];
/// Kinds whose controllers report readiness, so that others can wait for them.
const RECONCILED: [&str; 7] = ["HelmRelease", "GitRepository", "HelmRepository", "OCIRepository", "Bucket", "ExternalSecret", "Provider"];

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
    fn admit(&mut self, graph: &mut Graph<'f>, (from, to): (NodeIndex, NodeIndex), why: Why<'f>, at: Place<'f>) {
        if from != to && self.seen.insert((from, to)) {
            self.list.push((from, to, at));
            graph.edge(from, to, EdgeKind::Admission, why, Some(at));
        }
    }
}

/// A reference to resolve: the target, where it is written, when it is needed, whether it may be missing.
struct Need<'f> {
    key: Key<'f>,
    pointer: &'f str,
    when: When,
    optional: bool,
}

/// What a wait stands for.
#[derive(Clone, Copy)]
enum Why<'f> {
    /// The instance exists once its applier applied it.
    CreatedBy(usize),
    /// An applier is ready once it applied.
    ReadyOnceApplied(usize),
    /// An applier with `wait` is ready once this instance is.
    WaitsFor(usize, usize),
    /// The instance needs the target (to exist, or to be ready).
    Needs(usize, Key<'f>, When),
    /// The instance needs the definition of its kind, which the other instance installs.
    Definition(usize, usize),
    /// A source on a host of the Sovereign, served by a release.
    Host(usize, &'f str, usize),
}

#[derive(Clone, Copy)]
struct Edge<'f> {
    kind: EdgeKind,
    why: Why<'f>,
    at: Option<Place<'f>>,
}

/// The waits, on nodes numbered from the walk: `Applied(a)` = 2a, `Ready(a)` = 2a + 1, then one node per instance.
struct Graph<'f> {
    graph: DiGraph<(), Edge<'f>>,
    appliers: usize,
}

impl<'f> Graph<'f> {
    fn new(appliers: usize, instances: usize) -> Self {
        let mut graph = DiGraph::with_capacity(2 * appliers + instances, 4 * instances);
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

    fn edge(&mut self, from: NodeIndex, to: NodeIndex, kind: EdgeKind, why: Why<'f>, at: Option<Place<'f>>) {
        if from != to {
            self.graph.add_edge(from, to, Edge { kind, why, at });
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

fn target_label((kind, namespace, name): Key<'_>) -> String {
    if namespace.is_empty() {
        format!("{kind} {name}")
    } else {
        format!("{kind} {namespace}/{name}")
    }
}

impl<'f> Walk<'f> {
    /// Every reference resolved, then deadlocks and unordered admissions.
    pub fn judge(mut self) -> Vec<super::Finding> {
        let mut graph = Graph::new(self.appliers.len(), self.instances.len());
        for applier in 1..self.appliers.len() {
            let Some(defined_by) = self.appliers[applier].defined_by else { continue };
            let parent = self.instances[defined_by].applier;
            graph.edge(graph.applied(applier), graph.applied(parent), EdgeKind::Wait, Why::CreatedBy(defined_by), None);
            graph.edge(graph.ready(applier), graph.applied(applier), EdgeKind::Wait, Why::ReadyOnceApplied(applier), None);
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
    fn creator(&self, key: Key<'f>) -> Option<Creator> {
        if let Some(&found) = self.index.get(&key) {
            return Some(Creator::Applied(found));
        }
        if let Some(&es) = self.produced.get(&key) {
            return Some(Creator::Produced(es));
        }
        let (kind, namespace, name) = key;
        if kind == "Namespace" && BRING_UP_NAMESPACES.contains(&name) {
            return Some(Creator::BringUp);
        }
        if kind == "Secret" && BRING_UP_SECRETS.contains(&(namespace, name)) {
            return Some(Creator::BringUp);
        }
        if PER_NAMESPACE.contains(&(kind, name)) {
            return self.creator(("Namespace", "", namespace));
        }
        None
    }

    /// The node that stands for "the target is there" (`None`: it is there before anything).
    fn exists(&self, creator: &Creator, graph: &Graph<'f>) -> Option<NodeIndex> {
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
    fn ready_node(&self, instance: usize, graph: &Graph<'f>) -> Option<NodeIndex> {
        let i = &self.instances[instance];
        if i.object.is_some_and(|o| o.sync().is_some()) {
            if let Some(&applier) = self.applier_of.get(&(i.namespace.unwrap_or_default(), i.name)) {
                return Some(graph.ready(applier));
            }
        }
        if RECONCILED.contains(&i.kind) {
            return Some(graph.object(instance));
        }
        self.exists(&Creator::Applied(instance), graph)
    }

    fn judge_instance(&mut self, instance: usize, graph: &mut Graph<'f>, admissions: &mut Admissions<'f>) {
        let i = &self.instances[instance];
        let (applier, object) = (i.applier, i.object);
        let applied = (applier > 0).then(|| graph.applied(applier));
        let this = RECONCILED.contains(&i.kind).then(|| graph.object(instance));
        if let (Some(this), Some(applied)) = (this, applied) {
            graph.edge(this, applied, EdgeKind::Wait, Why::CreatedBy(instance), None);
        }
        // A Kustomization with `wait` is ready once what it applied is.
        let waits = self.appliers[applier].defined_by.and_then(|d| self.instances[d].object).and_then(|o| o.sync()).is_some_and(|s| s.wait);
        if let Some(child) = self.ready_node(instance, graph).filter(|&n| waits && Some(n) != applied) {
            graph.edge(graph.ready(applier), child, EdgeKind::Wait, Why::WaitsFor(applier, instance), None);
        }
        // The object's Namespace, before the API server admits it.
        if let Some(namespace) = self.instances[instance].namespace {
            let at = self.place(instance, "/metadata/namespace");
            match self.creator(("Namespace", "", namespace)) {
                None => {
                    let message = format!("{} lives in namespace `{namespace}`, which nothing creates", self.describe(instance));
                    self.find("catalyst::reconcile::dangling", message, at, "emit the Namespace in a Kustomization this one waits for");
                }
                Some(creator) => {
                    if let (Some(applied), Some(target)) = (applied, self.exists(&creator, graph)) {
                        let why = Why::Needs(instance, ("Namespace", "", namespace), When::Apply);
                        admissions.admit(graph, (applied, target), why, at);
                    }
                }
            }
        }
        self.definition(instance, graph, admissions, applied);
        let Some(obj) = object else { return };
        // Kustomizations need their references before applying; reconciled objects before becoming ready.
        let own_applier =
            obj.sync().and_then(|_| self.applier_of.get(&(self.instances[instance].namespace.unwrap_or_default(), &*obj.name)));
        let from = own_applier.map(|&a| graph.applied(a)).or(this);
        for reference in &obj.refs {
            let namespace = match &reference.scope {
                Scope::Own => self.instances[instance].namespace.unwrap_or_default(),
                Scope::Named(namespace) => &**namespace,
                Scope::Cluster => "",
            };
            let key = (&*reference.kind, namespace, &*reference.name);
            let need = Need { key, pointer: &reference.pointer, when: reference.when, optional: reference.optional };
            self.reference(instance, need, from, graph, admissions);
        }
        if obj.kind == "GitRepository" {
            self.host(instance, this, graph);
        }
        if obj.kind == "ExternalSecret" {
            self.remote_secrets(instance, this, graph);
        }
    }

    /// The definition of the object's kind must be installed before it is applied.
    fn definition(&mut self, instance: usize, graph: &mut Graph<'f>, admissions: &mut Admissions<'f>, applied: Option<NodeIndex>) {
        let Some(obj) = self.instances[instance].object else { return };
        let group = obj.api_version.rsplit_once('/').map_or("", |(g, _)| g);
        let (what, by) = match installer(group) {
            None | Some(Installer::BringUp) => return,
            Some(Installer::Blueprint(bp)) => (bp, format!("{bp}, which this tree does not install")),
            Some(Installer::CrossplaneProvider(package)) => {
                (package, format!("the Crossplane package {package}, which this tree does not install"))
            }
        };
        let Some(installer) = self.installer_of(what) else {
            let message = format!("{}: its kind {} is installed by {by}", self.describe(instance), obj.kind);
            let at = self.place(instance, "/kind");
            self.find("catalyst::reconcile::no-crd", message, at, "add what installs it to the bootstrap kit, or do not emit the kind");
            return;
        };
        if let (Some(applied), Some(node)) = (applied, self.ready_node(installer, graph)) {
            admissions.admit(graph, (applied, node), Why::Definition(instance, installer), self.place(instance, "/kind"));
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

    /// One reference of `instance`, whose wait (if any) starts at `from`.
    fn reference(
        &mut self,
        instance: usize,
        Need { key, pointer, when, optional }: Need<'f>,
        from: Option<NodeIndex>,
        graph: &mut Graph<'f>,
        admissions: &mut Admissions<'f>,
    ) {
        let at = self.place(instance, pointer);
        let Some(creator) = self.creator(key) else {
            if !optional {
                let hint = match key.0 {
                    "Secret" => "create the Secret in that namespace (an ExternalSecret, or the bring-up), or point at one that exists",
                    "ClusterSecretStore" | "SecretStore" => {
                        "emit the store in a Kustomization that runs after External Secrets is installed"
                    }
                    _ => "emit the target, or drop the reference",
                };
                let message = format!("{} refers to {}, which nothing creates", self.describe(instance), target_label(key));
                self.find("catalyst::reconcile::dangling", message, at, hint);
            }
            return;
        };
        let Some(from) = from else { return };
        let to = match (&creator, when) {
            (Creator::Applied(i), When::Ready) => self.ready_node(*i, graph),
            _ => self.exists(&creator, graph),
        };
        let Some(to) = to else { return };
        if when == When::Apply {
            admissions.admit(graph, (from, to), Why::Needs(instance, key, when), at);
        } else {
            graph.edge(from, to, EdgeKind::Wait, Why::Needs(instance, key, when), Some(at));
        }
    }

    /// A source on a host of the Sovereign is there only once the release that serves the host is.
    fn host(&mut self, instance: usize, this: Option<NodeIndex>, graph: &mut Graph<'f>) {
        let Some(git) = self.instances[instance].object.and_then(|o| o.git()) else { return };
        let host = git.url.split_once("://").map_or(git.url.as_str(), |(_, rest)| rest).split(['/', ':']).next().unwrap_or_default();
        let Some(server) = host_server(host, self.fqdn) else { return };
        let at = self.place(instance, "/spec/url");
        let Some(release) = server.and_then(|bp| self.installer_of(bp)) else {
            let what =
                server.map_or_else(|| "no kit release serves it".to_string(), |bp| format!("{bp}, which serves it, is not installed"));
            let message = format!("{} reads from {host}, a host of this Sovereign: {what}", self.describe(instance));
            self.find(
                "catalyst::reconcile::unserved-host",
                message,
                at,
                "serve the host from the kit, or read from a repository outside the Sovereign",
            );
            return;
        };
        if let (Some(this), Some(ready)) = (this, self.ready_node(release, graph)) {
            graph.edge(this, ready, EdgeKind::Wait, Why::Host(instance, host, release), Some(at));
        }
    }

    /// An ExternalSecret whose store copies Secrets of another namespace needs those Secrets.
    fn remote_secrets(&mut self, instance: usize, this: Option<NodeIndex>, graph: &mut Graph<'f>) {
        let Some(obj) = self.instances[instance].object else { return };
        let Some(store) = obj.refs.iter().find(|r| r.kind.ends_with("SecretStore")) else { return };
        let namespace = if store.kind == "ClusterSecretStore" { "" } else { self.instances[instance].namespace.unwrap_or_default() };
        let Some(Creator::Applied(store)) = self.creator((&*store.kind, namespace, &*store.name)) else { return };
        let Some(reads) = self.instances[store].object.and_then(|s| s.reads_namespace()) else { return };
        for (key, pointer) in obj.remote_keys() {
            let need = Need { key: ("Secret", reads, key), pointer, when: When::Reconcile, optional: false };
            self.reference(instance, need, this, graph, &mut Admissions::default());
        }
    }

    /// One step of a chain, in words.
    fn step(&self, edge: &Edge<'f>, target: NodeIndex, graph: &Graph<'f>) -> String {
        let text = match edge.why {
            Why::CreatedBy(i) => format!("{} is created by {}", self.describe(i), self.applier_label(self.instances[i].applier)),
            Why::ReadyOnceApplied(a) => format!("{} is ready once applied", self.applier_label(a)),
            Why::WaitsFor(a, i) => format!("{} waits for {}", self.applier_label(a), self.describe(i)),
            Why::Needs(i, key, When::Ready) => format!("{} waits for {} to be ready", self.describe(i), target_label(key)),
            Why::Needs(i, key, _) => format!("{} needs {}", self.describe(i), target_label(key)),
            Why::Definition(i, by) => {
                let kind = self.instances[i].kind;
                format!("{} needs the definition of {kind} that {} installs", self.describe(i), self.describe(by))
            }
            Why::Host(i, host, release) => format!("{} reads from {host}, served by {}", self.describe(i), self.describe(release)),
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
    fn deadlocks(&mut self, graph: &Graph<'f>) -> Vec<bool> {
        let mut cyclic = vec![false; graph.graph.node_count()];
        for mut members in petgraph::algo::tarjan_scc(&graph.graph) {
            members.sort();
            let first = members[0];
            if members.len() == 1 && !graph.graph.contains_edge(first, first) {
                continue;
            }
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
            let Some(at) = chain.iter().find_map(|&e| graph.graph[e].at) else { continue };
            self.findings.push(Finding {
                code: "catalyst::reconcile::deadlock",
                message: format!("deadlock: {}", steps.first().cloned().unwrap_or_default()),
                at: at.owned(),
                help: "break the cycle: create the target earlier, or drop one of the waits".into(),
                notes: steps.iter().enumerate().map(|(n, step)| format!("{}. {step}", n + 1)).collect(),
            });
        }
        cyclic
    }

    /// Admission needs whose target is not ordered before the object by any wait.
    fn unordered(&mut self, graph: &Graph<'f>, admissions: Vec<(NodeIndex, NodeIndex, Place<'f>)>, cyclic: &[bool]) {
        let waits = EdgeFiltered::from_fn(&graph.graph, |e| e.weight().kind == EdgeKind::Wait);
        let mut before: HashMap<NodeIndex, Vec<bool>> = HashMap::new();
        let mut reported = HashSet::new();
        for (from, to, at) in admissions {
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
                "catalyst::reconcile::unordered",
                message,
                at,
                "add a dependsOn from the Kustomization that applies this object to the one that creates what it needs",
            );
        }
    }
}
