//! Rules about `depends`: targets that exist and match, no cycles, unique
//! aliases, expressions that parse and read known variables, values the
//! dependency accepts.

use std::collections::BTreeMap;

use petgraph::graphmap::DiGraphMap;
use serde_json::Value as Json;

use super::{recode, rules, Catalog};
use crate::diagnostic::{did_you_mean, Diagnostic, Label};
use crate::model::{other_spelling, short_name, Blueprint, Dependency};
use crate::pipeline::validate::{effective_config, ConfigSchema, Layer};
use crate::support::cycles;
use crate::support::source::{Origin, Sources};

/// Blueprints (indices) and their dependencies (edges weighted by the `depends` index).
type Graph = DiGraphMap<usize, usize, std::hash::RandomState>;

/// The fields of each expression variable (`config` is checked against the configSchema).
const VARIABLES: [(&str, &[&str]); 3] = [
    ("application", &["name", "org", "environment", "envType", "namespace"]),
    ("sovereign", &["fqdn", "name", "provider", "zone", "regions", "hosts"]),
    ("dependency", &["alias", "blueprint", "name"]),
];

pub(super) fn check(catalog: &Catalog<'_>, sources: &Sources) -> Vec<Diagnostic> {
    let blueprints: Vec<&Blueprint> = catalog.blueprints().collect();
    let mut by_name: BTreeMap<&str, Vec<usize>> = BTreeMap::new();
    for (i, bp) in blueprints.iter().enumerate() {
        by_name.entry(bp.name.as_str()).or_default().push(i);
    }
    for versions in by_name.values_mut() {
        versions.sort_by(|&a, &b| blueprints[b].version.cmp(&blueprints[a].version));
    }
    let env = crate::pipeline::expr::environment();
    let mut found = ambiguous(&blueprints, &by_name, sources);
    let mut graph = Graph::default();
    for (from, bp) in blueprints.iter().enumerate() {
        graph.add_node(from);
        let mut aliases: BTreeMap<String, usize> = BTreeMap::new();
        for (i, entry) in bp.spec.depends.iter().enumerate() {
            let mut dep = entry.normalized();
            let item = Origin::new(bp.origin.file, format!("/spec/depends/{i}"));
            let at = |field: &str| sources.span_at(item.file, &item.child(field).pointer);
            let other = other_spelling(&dep.blueprint);
            if !by_name.contains_key(dep.blueprint.as_str()) && by_name.contains_key(other.as_str()) {
                found.push(
                    Diagnostic::warning(rules::DEPENDENCY_SPELLING, format!("`{}` names the Blueprint `{other}`", dep.blueprint))
                        .with_label(Label::primary(at("blueprint"), format!("resolved to `{other}`")))
                        .with_help(format!("write `{other}`, the name the Blueprint declares")),
                );
                dep.blueprint = other;
            }
            if let Some(&first) = aliases.get(dep.alias()) {
                found.push(
                    Diagnostic::error(rules::DUPLICATE_ALIAS, format!("alias `{}` is used twice in {}", dep.alias(), bp.id()))
                        .with_label(Label::primary(at("alias"), "used again here"))
                        .with_label(Label::secondary(sources.span_at(item.file, &format!("/spec/depends/{first}")), "first used here"))
                        .with_help("give one of the dependencies its own `alias`"),
                );
            } else {
                aliases.insert(dep.alias().to_string(), i);
            }
            expressions(&env, bp, &dep, &item, sources, &mut found);
            if !dep.values.is_null() && is_kit(&dep.blueprint) {
                found.push(
                    Diagnostic::warning(rules::KIT_DEPENDENCY_VALUES, format!("`values` for {}, which the bootstrap kit runs", dep.blueprint))
                        .with_label(Label::primary(sources.key_span_at(item.file, &item.child("values").pointer), "ignored"))
                        .with_help("the kit's one release serves every Application and is configured in the Sovereign's `bootstrapKit`: remove these values"),
                );
            }
            match target(&blueprints, &by_name, &dep) {
                Ok(to) => {
                    graph.add_edge(from, to, i);
                    found.extend(values(blueprints[to], &dep, &item, sources));
                }
                Err(message) => {
                    let (code, field) = if by_name.contains_key(dep.blueprint.as_str()) {
                        (rules::DEPENDENCY_UNSATISFIABLE, "version")
                    } else {
                        (rules::DEPENDENCY_MISSING, "blueprint")
                    };
                    let mut d = Diagnostic::error(code, message).with_label(Label::primary(at(field), "this dependency"));
                    if let Some(best) = did_you_mean(&dep.blueprint, by_name.keys().copied()) {
                        d = d.with_help(format!("did you mean `{best}`?"));
                    }
                    found.push(d);
                }
            }
        }
    }
    found.extend(cycles(&graph, &blueprints, sources));
    found
}

/// Whether `name` is a Blueprint of the default bootstrap kit (in either spelling).
fn is_kit(name: &str) -> bool {
    crate::pipeline::resolve::DEFAULT_KIT.iter().any(|kit| short_name(kit) == short_name(name))
}

/// Names the catalog holds in both spellings (`x` and `bp-x`): every reference to them is ambiguous.
fn ambiguous(blueprints: &[&Blueprint], by_name: &BTreeMap<&str, Vec<usize>>, sources: &Sources) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    for (name, versions) in by_name.iter().filter(|(name, _)| name.starts_with("bp-")) {
        let bare = other_spelling(name);
        let Some(plain) = by_name.get(bare.as_str()) else { continue };
        found.push(crate::pipeline::load::names::ambiguity(rules::AMBIGUOUS_NAME, blueprints[plain[0]], blueprints[versions[0]], sources));
    }
    found
}

/// The newest version the dependency's requirement matches, as the resolver picks it.
fn target(blueprints: &[&Blueprint], by_name: &BTreeMap<&str, Vec<usize>>, dep: &Dependency) -> Result<usize, String> {
    let Some(versions) = by_name.get(dep.blueprint.as_str()) else {
        return Err(format!("the catalog has no Blueprint `{}`", dep.blueprint));
    };
    let text = dep.version.as_deref().unwrap_or("*");
    let req = semver::VersionReq::parse(text).map_err(|e| format!("`{text}` is not a version requirement: {e}"))?;
    versions.iter().copied().find(|&v| req.matches(&blueprints[v].version)).ok_or_else(|| {
        let available: Vec<String> = versions.iter().map(|&v| blueprints[v].version.to_string()).collect();
        format!("no version of {} satisfies `{text}` (the catalog has {})", dep.blueprint, available.join(", "))
    })
}

fn cycles(graph: &Graph, blueprints: &[&Blueprint], sources: &Sources) -> Vec<Diagnostic> {
    let mut found = Vec::new();
    for cycle in cycles::cycles(graph) {
        let (first, next) = (cycle[0], cycle[1 % cycle.len()]);
        let Some(&item) = graph.edge_weight(first, next) else { continue };
        let names: Vec<String> = cycle.iter().chain([&first]).map(|&m| blueprints[m].id()).collect();
        let bp = blueprints[first];
        found.push(
            Diagnostic::error(rules::DEPENDENCY_CYCLE, format!("dependency cycle: {}", names.join(" → ")))
                .with_label(Label::primary(
                    sources.span_at(bp.origin.file, &format!("/spec/depends/{item}")),
                    format!("depends on {}", blueprints[next].id()),
                ))
                .with_help("remove one of the dependencies in the cycle"),
        );
    }
    found
}

fn expressions(
    env: &minijinja::Environment<'_>,
    bp: &Blueprint,
    dep: &Dependency,
    item: &Origin,
    sources: &Sources,
    found: &mut Vec<Diagnostic>,
) {
    let mut strings = Vec::new();
    if let Some(when) = &dep.when {
        strings.push((item.child("when"), when.as_str(), crate::pipeline::expr::expression_variables(env, when), false));
    }
    collect_strings(&dep.values, item.child("values"), &mut |origin, text| {
        if text.contains("{{") || text.contains("{%") {
            strings.push((origin, text, crate::pipeline::expr::template_variables(env, text), true));
        }
    });
    for (origin, text, variables, in_values) in strings {
        let problems = match variables {
            Err(e) => vec![format!("`{text}` does not parse: {}", e.detail().unwrap_or(&e.kind().to_string()))],
            Ok(variables) => {
                let mut variables: Vec<String> = variables.into_iter().collect();
                variables.sort();
                variables.iter().filter_map(|v| unknown_variable(bp, v, in_values)).collect()
            }
        };
        for problem in problems {
            found.push(
                Diagnostic::error(rules::EXPRESSION, problem)
                    .with_label(Label::primary(sources.span_at(origin.file, &origin.pointer), "in this expression"))
                    .with_help("expressions read `config`, `application`, `sovereign` and (in values) `dependency`"),
            );
        }
    }
}

fn collect_strings<'a>(value: &'a Json, origin: Origin, visit: &mut dyn FnMut(Origin, &'a str)) {
    match value {
        Json::String(s) => visit(origin, s),
        Json::Array(items) => items.iter().enumerate().for_each(|(i, v)| collect_strings(v, origin.child(i), visit)),
        Json::Object(map) => map.iter().for_each(|(k, v)| collect_strings(v, origin.child(k), visit)),
        _ => {}
    }
}

/// Why a variable path (`config.db.mode`) is not one an expression can read, if it is not.
fn unknown_variable(bp: &Blueprint, variable: &str, in_values: bool) -> Option<String> {
    let mut segments = variable.split('.');
    let root = segments.next().unwrap_or_default();
    if root == "config" {
        return unknown_config_path(bp.spec.config_schema.as_ref()?, variable, segments);
    }
    let Some((_, fields)) = VARIABLES.iter().find(|(name, _)| *name == root && (in_values || *name != "dependency")) else {
        return Some(format!("`{root}` is not a variable here"));
    };
    let field = segments.next()?;
    (!fields.contains(&field)).then(|| format!("`{root}` has no field `{field}` (it has {})", fields.join(", ")))
}

/// Follows `config.a.b` through the configSchema's properties; open objects end the check.
fn unknown_config_path<'a>(schema: &Json, variable: &str, segments: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut node = schema;
    for segment in segments {
        let properties = node.get("properties")?.as_object()?;
        let open = node.get("additionalProperties").is_some_and(|a| a.is_object() || a == &Json::Bool(true));
        match properties.get(segment) {
            Some(next) => node = next,
            None if open => return None,
            None => {
                let hint = did_you_mean(segment, properties.keys().map(String::as_str)).map(|b| format!("; did you mean `{b}`?"));
                return Some(format!("`{variable}`: the configSchema has no field `{segment}`{}", hint.unwrap_or_default()));
            }
        }
    }
    None
}

/// `values` checked as the dedicated Application's config, except where an expression decides the value.
fn values(target: &Blueprint, dep: &Dependency, item: &Origin, sources: &Sources) -> Vec<Diagnostic> {
    if dep.values.is_null() {
        return Vec::new();
    }
    let Ok(schema) = ConfigSchema::compile(target, sources) else { return Vec::new() };
    let layer = Layer { value: &dep.values, origin: item.child("values") };
    let Err(problems) = effective_config(target, &schema, &[layer], item, sources) else { return Vec::new() };
    problems
        .into_iter()
        .filter(|d| d.primary_span().is_none_or(|s| !sources.get(s.file).text[s.start..s.end].contains("{{")))
        .map(|d| recode(d, rules::DEPENDENCY_VALUES))
        .collect()
}
