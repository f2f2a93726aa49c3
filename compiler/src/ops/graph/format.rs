//! The formats of a [`Graph`]: Graphviz DOT, Mermaid (renders in GitHub and
//! Gitea markdown), and JSON (schema: `schemas/graph.schema.json`).
//! Problems (cycles, unresolved dependencies) are drawn red in every format.

use std::fmt::Write as _;

use super::{EdgeStyle, Graph, Node, NodeKind, View};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum GraphFormat {
    Dot,
    Mermaid,
    Json,
}

pub fn render(format: GraphFormat, graph: &Graph) -> String {
    match format {
        GraphFormat::Dot => dot(graph),
        GraphFormat::Mermaid => mermaid(graph),
        GraphFormat::Json => {
            let mut text = serde_json::to_string_pretty(graph).unwrap_or_default();
            text.push('\n');
            text
        }
    }
}

fn view_name(view: View) -> &'static str {
    match view {
        View::Blueprints => "blueprints",
        View::Apps => "apps",
        View::Kit => "kit",
    }
}

const PROBLEM: &str = "#c62828";

/// The groups (Environments) in first-seen order, each with its nodes; ungrouped nodes first.
fn grouped(graph: &Graph) -> Vec<(Option<&str>, Vec<&Node>)> {
    let mut groups: Vec<(Option<&str>, Vec<&Node>)> = vec![(None, Vec::new())];
    for node in &graph.nodes {
        let group = node.group.as_deref();
        match groups.iter_mut().find(|(g, _)| *g == group) {
            Some((_, nodes)) => nodes.push(node),
            None => groups.push((group, vec![node])),
        }
    }
    groups
}

fn dot_escape(text: &str) -> String {
    text.replace('\\', "\\\\").replace('"', "\\\"").replace('\n', "\\n")
}

pub fn dot(graph: &Graph) -> String {
    let mut out = format!("digraph \"{} {}\" {{\n", dot_escape(&graph.sovereign), view_name(graph.view));
    out.push_str(
        "  rankdir=LR;\n  node [shape=box, style=\"rounded,filled\", fillcolor=\"#eef3fb\", fontname=\"Helvetica\", fontsize=11];\n",
    );
    out.push_str("  edge [fontname=\"Helvetica\", fontsize=9];\n");
    for (g, (group, nodes)) in grouped(graph).into_iter().enumerate() {
        let indent = if group.is_some() { "    " } else { "  " };
        if let Some(name) = group {
            let _ = writeln!(out, "  subgraph \"cluster_{g}\" {{\n    label=\"{}\";\n    style=rounded;", dot_escape(name));
        }
        for node in nodes {
            let mut attributes = vec![format!("label=\"{}\"", dot_escape(&node.label))];
            match node.kind {
                NodeKind::Dedicated => attributes.push("style=\"rounded,filled,dashed\"".into()),
                NodeKind::KitRelease => attributes.push("fillcolor=\"#e8f5e9\"".into()),
                NodeKind::Unresolved => attributes.push("shape=octagon, fillcolor=\"#ffebee\"".into()),
                NodeKind::Blueprint | NodeKind::Application => {}
            }
            if node.problem {
                attributes.push(format!("color=\"{PROBLEM}\", penwidth=2"));
            }
            let _ = writeln!(out, "{indent}{} [{}];", node.id, attributes.join(", "));
        }
        if group.is_some() {
            out.push_str("  }\n");
        }
    }
    for edge in &graph.edges {
        let mut attributes = vec![format!("label=\"{}\"", dot_escape(&edge.label))];
        match edge.style {
            EdgeStyle::Linked => attributes.push("style=dashed".into()),
            EdgeStyle::WhenFalse => attributes.push("style=dotted, color=\"#9e9e9e\"".into()),
            EdgeStyle::DependsOn | EdgeStyle::Dedicated => {}
        }
        if edge.problem {
            attributes.push(format!("color=\"{PROBLEM}\", fontcolor=\"{PROBLEM}\", penwidth=2"));
        }
        let _ = writeln!(out, "  {} -> {} [{}];", edge.from, edge.to, attributes.join(", "));
    }
    out.push_str("}\n");
    out
}

/// Mermaid text in quotes: its entity codes for the characters that would end the string.
fn mermaid_text(text: &str) -> String {
    text.replace('"', "#quot;").replace('\n', "<br/>")
}

pub fn mermaid(graph: &Graph) -> String {
    let mut out = format!("---\ntitle: {} ({})\n---\nflowchart LR\n", graph.sovereign, view_name(graph.view));
    for (g, (group, nodes)) in grouped(graph).into_iter().enumerate() {
        let indent = if group.is_some() { "    " } else { "  " };
        if let Some(name) = group {
            let _ = writeln!(out, "  subgraph g{g}[\"{}\"]", mermaid_text(name));
        }
        for node in nodes {
            let label = mermaid_text(&node.label);
            let shape = match node.kind {
                NodeKind::Dedicated => format!("([\"{label}\"])"),
                NodeKind::Unresolved => format!("{{{{\"{label}\"}}}}"),
                NodeKind::Blueprint | NodeKind::Application | NodeKind::KitRelease => format!("[\"{label}\"]"),
            };
            let _ = writeln!(out, "{indent}{}{shape}", node.id);
        }
        if group.is_some() {
            out.push_str("  end\n");
        }
    }
    for edge in &graph.edges {
        let arrow = match edge.style {
            EdgeStyle::Linked | EdgeStyle::WhenFalse => "-.->",
            EdgeStyle::DependsOn | EdgeStyle::Dedicated => "-->",
        };
        let _ = writeln!(out, "  {} {arrow}|\"{}\"| {}", edge.from, mermaid_text(&edge.label), edge.to);
    }
    let problems: Vec<&str> = graph.nodes.iter().filter(|n| n.problem).map(|n| n.id.as_str()).collect();
    if !problems.is_empty() {
        let _ = writeln!(out, "  classDef problem fill:#ffebee,stroke:{PROBLEM},stroke-width:2px\n  class {} problem", problems.join(","));
    }
    let links: Vec<String> = graph.edges.iter().enumerate().filter(|(_, e)| e.problem).map(|(i, _)| i.to_string()).collect();
    if !links.is_empty() {
        let _ = writeln!(out, "  linkStyle {} stroke:{PROBLEM},stroke-width:2px", links.join(","));
    }
    out
}
