//! `catalyst graph`: the resolved dependency structure as a picture.
//!
//! Three views of one Sovereign: the Blueprint graph (chosen versions,
//! edges labelled with alias, requirement and whether a `when` held), the
//! Applications of each Environment with the `dependsOn` edges between their
//! Flux Kustomizations (linked and dedicated dependencies marked), and the
//! bootstrap kit in its `NN-` order. Resolution runs as far as it can, so a
//! cycle or an unsatisfied requirement is drawn, highlighted, next to the
//! diagnostics that refuse it.

pub mod format;

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;
use std::sync::Arc;

use serde::Serialize;

use crate::diagnostic::Diagnostics;
use crate::model::{ApplicationSpec, Blueprint};
use crate::pipeline::load::Project;
use crate::pipeline::resolve::{InstanceSource, Resolution, ResolvedEnvironment, DEFAULT_KIT};
use crate::pipeline::Loaded;
use crate::support::source::Sources;
use crate::support::vfs::Vfs;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum View {
    /// the resolved Blueprint graph
    Blueprints,
    /// per Environment: Applications and their dependsOn edges
    Apps,
    /// the bootstrap-kit HelmReleases in installation order
    Kit,
}

#[derive(Clone, Debug, Default)]
pub struct Filter {
    /// Only this Environment (`<org>-<env>`).
    pub env: Option<String>,
    /// Only what is within `depth` edges of the nodes named so (an Application or a Blueprint).
    pub focus: Option<String>,
    pub depth: usize,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum NodeKind {
    Blueprint,
    KitRelease,
    Application,
    /// Created by the compiler to satisfy a dependency (`<app>-<alias>`).
    Dedicated,
    /// Asked for but not resolvable: missing or no version satisfies.
    Unresolved,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub enum EdgeStyle {
    DependsOn,
    /// Satisfied by an existing Application through `links`.
    Linked,
    /// Satisfied by a dedicated Application.
    Dedicated,
    /// A dependency whose `when` held for no Application.
    WhenFalse,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Node {
    pub id: String,
    /// What `--focus` matches: the Application or Blueprint name.
    pub name: String,
    pub label: String,
    pub kind: NodeKind,
    /// The Environment (apps view) the node is drawn in.
    pub group: Option<String>,
    /// Part of a cycle, or unresolved.
    pub problem: bool,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Edge {
    /// The dependant.
    pub from: String,
    /// What it depends on.
    pub to: String,
    pub label: String,
    pub style: EdgeStyle,
    pub problem: bool,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Graph {
    pub sovereign: String,
    pub view: View,
    pub nodes: Vec<Node>,
    pub edges: Vec<Edge>,
}

/// The graph of a Sovereign, and the diagnostics of compiling it so far.
pub struct Drawn {
    pub graph: Option<Graph>,
    pub sources: Sources,
    pub diagnostics: Diagnostics,
}

pub fn draw(vfs: Arc<dyn Vfs>, sovereign: &Path, view: View, filter: &Filter) -> Drawn {
    let mut sources = Sources::default();
    let mut diagnostics = Diagnostics::default();
    // Drawn as far as resolution gets, whatever the spec's errors: the picture explains them.
    let graph = crate::pipeline::load_checked(vfs, sovereign, &mut sources, &mut diagnostics).map(|Loaded { project, .. }| {
        let (resolution, _) = crate::pipeline::resolve::resolve_partial(&project, &sources, &mut diagnostics);
        let mut builder = Builder::default();
        match view {
            View::Blueprints => builder.blueprints(&project, &resolution, filter),
            View::Apps => builder.apps(&project, &resolution, filter),
            View::Kit => builder.kit(&project, &resolution),
        }
        builder.mark_cycles();
        let mut graph = Graph { sovereign: project.sovereign.spec.fqdn.clone(), view, nodes: builder.nodes, edges: builder.edges };
        if let Some(focus) = &filter.focus {
            graph = focused(graph, focus, filter.depth);
        }
        graph
    });
    diagnostics.sort();
    Drawn { graph, sources, diagnostics }
}

#[derive(Default)]
struct Builder {
    nodes: Vec<Node>,
    edges: Vec<Edge>,
    /// Node id by key, so a node is added once.
    ids: BTreeMap<String, String>,
}

impl Builder {
    fn node(&mut self, key: String, name: &str, label: String, kind: NodeKind, group: Option<&str>) -> String {
        if let Some(id) = self.ids.get(&key) {
            return id.clone();
        }
        let id = format!("n{}", self.nodes.len());
        self.nodes.push(Node {
            id: id.clone(),
            name: name.to_string(),
            label,
            kind,
            group: group.map(str::to_string),
            problem: kind == NodeKind::Unresolved,
        });
        self.ids.insert(key, id.clone());
        id
    }

    fn edge(&mut self, from: String, to: String, label: String, style: EdgeStyle) {
        let problem = self.nodes.iter().any(|n| n.id == to && n.kind == NodeKind::Unresolved);
        self.edges.push(Edge { from, to, label, style, problem });
    }

    fn blueprint_node(&mut self, bp: &Blueprint, kind: NodeKind) -> String {
        self.node(bp.id(), &bp.name, format!("{}\n{}", bp.name, bp.version), kind, None)
    }

    /// Blueprints in use (the kit's and the Applications'), each with its depends.
    fn blueprints(&mut self, project: &Project, resolution: &Resolution, filter: &Filter) {
        let catalog = &project.catalog;
        let kit = kit_blueprints(project, resolution);
        let mut used: BTreeSet<usize> = if filter.env.is_none() { kit.iter().copied().collect() } else { BTreeSet::new() };
        for environment in resolution.environments.iter().filter(|e| filter.env.as_ref().is_none_or(|only| *only == e.name)) {
            used.extend(environment.instances.iter().map(|i| i.blueprint));
        }
        // Which aliases held for at least one Application of each Blueprint.
        let mut held: BTreeMap<usize, BTreeSet<&str>> = BTreeMap::new();
        for instance in resolution.environments.iter().flat_map(|e| &e.instances) {
            held.entry(instance.blueprint).or_default().extend(instance.depends_on.iter().map(|e| e.alias.as_str()));
        }
        // Every node before any edge, so a node's kind does not depend on who reached it first.
        let mut in_order: Vec<usize> = used.iter().copied().collect();
        in_order.sort_by(|&a, &b| catalog.blueprints[a].id().cmp(&catalog.blueprints[b].id()));
        for &index in &in_order {
            let kind = if kit.contains(&index) { NodeKind::KitRelease } else { NodeKind::Blueprint };
            self.blueprint_node(&catalog.blueprints[index], kind);
        }
        for &index in &in_order {
            let bp = &catalog.blueprints[index];
            let from = self.ids[&bp.id()].clone();
            for entry in &bp.spec.depends {
                let dep = entry.normalized();
                let requirement = dep.version.clone().unwrap_or_else(|| "*".into());
                let wanted = semver::VersionReq::parse(&requirement).ok();
                let satisfies = |b: &Blueprint| wanted.as_ref().is_none_or(|r| r.matches(&b.version));
                let alias = dep.alias().to_string();
                let chosen: Vec<usize> = used
                    .iter()
                    .copied()
                    .filter(|&i| catalog.blueprints[i].name == dep.blueprint && satisfies(&catalog.blueprints[i]))
                    .collect();
                let held_here = held.get(&index).is_some_and(|aliases| aliases.contains(alias.as_str()));
                let (condition, style) = match &dep.when {
                    Some(_) if held_here => (" · when ✓", EdgeStyle::DependsOn),
                    Some(_) if !kit.contains(&index) => (" · when ✗", EdgeStyle::WhenFalse),
                    _ => ("", EdgeStyle::DependsOn),
                };
                let label = format!("{alias} {requirement}{condition}");
                let targets: Vec<String> = if chosen.is_empty() {
                    match catalog.versions(&dep.blueprint).find(|b| satisfies(b)) {
                        Some(b) => vec![self.blueprint_node(b, NodeKind::Blueprint)],
                        None => vec![self.node(
                            format!("unresolved {} {requirement}", dep.blueprint),
                            &dep.blueprint,
                            format!("{}\n{requirement} ✗", dep.blueprint),
                            NodeKind::Unresolved,
                            None,
                        )],
                    }
                } else {
                    chosen.iter().map(|&i| self.blueprint_node(&catalog.blueprints[i], NodeKind::Blueprint)).collect()
                };
                for to in targets {
                    self.edge(from.clone(), to, label.clone(), style);
                }
            }
        }
        for environment in resolution.environments.iter().filter(|e| filter.env.as_ref().is_none_or(|only| *only == e.name)) {
            for (app, requirement) in unresolved_applications(project, environment) {
                let label = format!("{}\n{requirement} ✗", app.blueprint);
                self.node(format!("unresolved {} {requirement}", app.blueprint), &app.blueprint, label, NodeKind::Unresolved, None);
            }
        }
    }

    /// Per Environment, its Applications and the edges Flux's dependsOn will follow.
    fn apps(&mut self, project: &Project, resolution: &Resolution, filter: &Filter) {
        for environment in resolution.environments.iter().filter(|e| filter.env.as_ref().is_none_or(|only| *only == e.name)) {
            let group = Some(environment.name.as_str());
            for instance in &environment.instances {
                let bp = &project.catalog.blueprints[instance.blueprint];
                let kind = match instance.source {
                    InstanceSource::Declared { .. } => NodeKind::Application,
                    InstanceSource::Dedicated { .. } => NodeKind::Dedicated,
                };
                let key = format!("{}/{}", environment.name, instance.name);
                self.node(key, &instance.name, format!("{}\n{} {}", instance.name, bp.name, bp.version), kind, group);
            }
            for (app, requirement) in unresolved_applications(project, environment) {
                let label = format!("{}\n{} {requirement} ✗", app.name, app.blueprint);
                self.node(format!("{}/{}", environment.name, app.name), &app.name, label, NodeKind::Unresolved, group);
            }
            for instance in &environment.instances {
                let from = self.ids[&format!("{}/{}", environment.name, instance.name)].clone();
                for edge in &instance.depends_on {
                    let key = format!("{}/{}", environment.name, edge.target);
                    let to = match self.ids.get(&key) {
                        Some(id) => id.clone(),
                        None => self.node(key, &edge.target, format!("{}\nnot installed ✗", edge.target), NodeKind::Unresolved, group),
                    };
                    let style = if edge.linked { EdgeStyle::Linked } else { EdgeStyle::Dedicated };
                    self.edge(from.clone(), to, edge.alias.clone(), style);
                }
            }
        }
    }

    /// The kit in installation order, `NN-` as in `clusters/<fqdn>/bootstrap-kit/`.
    fn kit(&mut self, project: &Project, resolution: &Resolution) {
        let catalog = &project.catalog;
        let order = kit_blueprints(project, resolution);
        let ordered = !resolution.kit.is_empty();
        for (slot, &index) in order.iter().enumerate() {
            let bp = &catalog.blueprints[index];
            // Without an order (the kit did not resolve) there are no slots to show.
            let prefix = if ordered { format!("{:02}-", slot + 1) } else { "??-".into() };
            self.node(bp.name.clone(), &bp.name, format!("{prefix}{}\n{}", bp.short_name(), bp.version), NodeKind::KitRelease, None);
        }
        for &index in &order {
            let bp = &catalog.blueprints[index];
            let from = self.ids[&bp.name].clone();
            for entry in &bp.spec.depends {
                let dep = entry.normalized();
                let to = match self.ids.get(&dep.blueprint) {
                    Some(id) => id.clone(),
                    None => self.node(
                        dep.blueprint.clone(),
                        &dep.blueprint,
                        format!("{}\nnot in the kit ✗", dep.blueprint),
                        NodeKind::Unresolved,
                        None,
                    ),
                };
                self.edge(from.clone(), to, "dependsOn".into(), EdgeStyle::DependsOn);
            }
        }
    }

    /// Every edge and node on a cycle is a problem (Tarjan's strongly connected components).
    fn mark_cycles(&mut self) {
        let mut graph = petgraph::graph::DiGraph::<(), ()>::new();
        let index: BTreeMap<String, petgraph::graph::NodeIndex> = self.nodes.iter().map(|n| (n.id.clone(), graph.add_node(()))).collect();
        for edge in &self.edges {
            graph.add_edge(index[&edge.from], index[&edge.to], ());
        }
        let mut component = vec![usize::MAX; self.nodes.len()];
        for (c, members) in crate::support::cycles::cyclic_components(&graph).into_iter().enumerate() {
            for n in members {
                component[n.index()] = c;
            }
        }
        let on_cycle = |id: &str| component[index[id].index()];
        for edge in &mut self.edges {
            let (a, b) = (on_cycle(&edge.from), on_cycle(&edge.to));
            if a != usize::MAX && a == b {
                edge.problem = true;
            }
        }
        for node in &mut self.nodes {
            node.problem |= on_cycle(&node.id) != usize::MAX;
        }
    }
}

/// Applications meant for this Environment that did not resolve (missing
/// Blueprint, no satisfying version), with the requirement they asked by.
fn unresolved_applications<'p>(project: &'p Project, environment: &ResolvedEnvironment) -> Vec<(&'p ApplicationSpec, String)> {
    let org = &project.sovereign.organizations[environment.org];
    org.spec
        .applications
        .iter()
        .filter(|app| app.environments.as_ref().is_none_or(|envs| envs.contains_key(&environment.env_type)))
        .filter(|app| !environment.instances.iter().any(|i| i.name == app.name))
        .map(|app| {
            let per_env = app.environments.as_ref().and_then(|envs| envs.get(&environment.env_type)?.version.clone());
            (app, per_env.or_else(|| app.version.clone()).unwrap_or_else(|| "*".into()))
        })
        .collect()
}

/// The kit's Blueprints in order: the resolved kit, or (when it did not
/// resolve) the newest version of each entry that satisfies its requirement.
fn kit_blueprints(project: &Project, resolution: &Resolution) -> Vec<usize> {
    if !resolution.kit.is_empty() {
        return resolution.kit.iter().map(|r| r.blueprint).collect();
    }
    let catalog = &project.catalog;
    let entries: Vec<(String, Option<String>)> = match &project.sovereign.spec.bootstrap_kit {
        Some(kit) => kit.iter().map(|e| (e.blueprint.clone(), e.version.clone())).collect(),
        None => DEFAULT_KIT.iter().map(|n| (n.to_string(), None)).collect(),
    };
    entries
        .iter()
        .filter_map(|(name, version)| {
            let wanted = version.as_deref().and_then(|v| semver::VersionReq::parse(v).ok());
            let bp = catalog.versions(name).find(|b| wanted.as_ref().is_none_or(|r| r.matches(&b.version)))?;
            catalog.blueprints.iter().position(|b| std::ptr::eq(b, bp))
        })
        .collect()
}

/// Keeps what is within `depth` edges (either direction) of the nodes named `focus`.
fn focused(graph: Graph, focus: &str, depth: usize) -> Graph {
    let mut distance: BTreeMap<&str, usize> = BTreeMap::new();
    let mut queue: VecDeque<&str> = VecDeque::new();
    for node in graph.nodes.iter().filter(|n| n.name == focus) {
        distance.insert(&node.id, 0);
        queue.push_back(&node.id);
    }
    while let Some(id) = queue.pop_front() {
        let next = distance[id] + 1;
        if next > depth {
            continue;
        }
        for edge in &graph.edges {
            let neighbour = if edge.from == id {
                edge.to.as_str()
            } else if edge.to == id {
                edge.from.as_str()
            } else {
                continue;
            };
            if !distance.contains_key(neighbour) {
                distance.insert(neighbour, next);
                queue.push_back(neighbour);
            }
        }
    }
    let keep: BTreeSet<String> = distance.keys().map(|id| id.to_string()).collect();
    Graph {
        nodes: graph.nodes.iter().filter(|n| keep.contains(&n.id)).cloned().collect(),
        edges: graph.edges.iter().filter(|e| keep.contains(&e.from) && keep.contains(&e.to)).cloned().collect(),
        ..graph
    }
}
