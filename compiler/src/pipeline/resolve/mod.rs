//! Stage 2: the dependency graph. Picks a Blueprint version for every
//! bootstrap-kit release and every Application instance, evaluates `when`
//! conditions, satisfies each dependency by a linked Application or a new
//! dedicated one, and orders the kit. Config validation ([`crate::pipeline::validate`])
//! runs here too, because `when` conditions read the validated config.

use std::collections::{BTreeMap, BinaryHeap, HashMap, HashSet};

use petgraph::graph::{DiGraph, NodeIndex};

mod identity;

pub use identity::{Keycloak, Realm, REALM_BLUEPRINT};

use crate::support::cycles::cycles;
use crate::support::pointer;
use rayon::prelude::*;
use serde_json::{json, Value as Json};

use crate::diagnostic::codes;
use crate::diagnostic::{did_you_mean, Diagnostic, Diagnostics, Label};
use crate::model::{short_name, Blueprint, BuildingBlock, Dependency, EnvType, Organization};
use crate::pipeline::expr;
use crate::pipeline::load::Project;
use crate::pipeline::validate::{effective_config, merged, ConfigSchema, Layer};
use crate::support::source::{Origin, Sources};

/// The kit installed when a Sovereign names none, in installation-preference order.
pub const DEFAULT_KIT: [&str; 15] = [
    "bp-cilium",
    "bp-cert-manager",
    "bp-flux",
    "bp-crossplane",
    "bp-sealed-secrets",
    "bp-spire",
    "bp-nats-jetstream",
    "bp-openbao",
    "bp-keycloak",
    "bp-gitea",
    "bp-powerdns",
    "bp-external-dns",
    "bp-catalyst-platform",
    "bp-external-secrets",
    "bp-cnpg",
];

/// Longest chain of dedicated dependencies followed before giving up.
pub const MAX_DEPENDENCY_DEPTH: usize = 16;

/// Dedicated Applications one Environment may create. A Blueprint that depends
/// several times on the next one multiplies them at every level (3 aliases
/// over 16 levels would be 14 million); no real Environment comes near this.
pub const MAX_DEDICATED_PER_ENVIRONMENT: usize = 2_000;

#[derive(Debug)]
pub struct Resolution {
    /// Bootstrap-kit releases in installation order (slot = index + 1).
    pub kit: Vec<KitRelease>,
    pub environments: Vec<ResolvedEnvironment>,
    /// Every Organization's realm (see [`identity`]).
    pub realms: Vec<Realm>,
    /// The virtual cluster each Organization runs in on each of its workload clusters.
    pub vcluster: Option<VclusterRelease>,
}

/// The Blueprint of the Organizations' virtual clusters (bp-vcluster), with its values.
#[derive(Debug, Clone)]
pub struct VclusterRelease {
    pub blueprint: usize,
    pub values: Json,
}

/// The Blueprint the Organizations' virtual clusters are made of.
pub const VCLUSTER_BLUEPRINT: &str = "bp-vcluster";

impl Resolution {
    /// The realm of Organization `org`, if it has one.
    pub fn realm_of(&self, org: usize) -> Option<&Realm> {
        realm_of(&self.realms, org)
    }

    /// Every Blueprint an Application of any Environment runs.
    pub fn used_blueprints(&self) -> std::collections::BTreeSet<usize> {
        self.environments.iter().flat_map(|e| e.instances.iter().map(|i| i.blueprint)).collect()
    }
}

/// The realm of Organization `org` among `realms`.
pub fn realm_of(realms: &[Realm], org: usize) -> Option<&Realm> {
    realms.iter().find(|r| r.org == org)
}

/// The release of Blueprint `name` in `kit`, if the kit has it.
pub fn kit_release<'k>(project: &Project, kit: &'k [KitRelease], name: &str) -> Option<&'k KitRelease> {
    kit.iter().find(|r| short_name(&project.catalog.blueprints[r.blueprint].name) == short_name(name))
}

#[derive(Debug, Clone)]
pub struct KitRelease {
    pub blueprint: usize,
    /// Helm values: the entry's values over the configSchema defaults.
    pub values: Json,
    /// Names of the kit Blueprints this release waits for.
    pub depends: Vec<String>,
    /// The Sovereign's regions whose clusters run it.
    pub regions: Vec<String>,
}

impl KitRelease {
    pub fn runs_in(&self, region: &str) -> bool {
        self.regions.iter().any(|r| r == region)
    }
}

#[derive(Debug, Clone)]
pub struct ResolvedEnvironment {
    pub org: usize,
    /// `{org}-{env_type}`.
    pub name: String,
    pub env_type: EnvType,
    pub regions: Vec<String>,
    pub instances: Vec<Instance>,
}

/// One Application installed in one Environment.
#[derive(Debug, Clone)]
pub struct Instance {
    pub name: String,
    pub blueprint: usize,
    /// The requirement the version was chosen by, as written (`*` when none).
    pub requirement: String,
    /// Where that requirement is written (the entry itself when it writes none).
    pub requirement_at: Origin,
    /// Defaults and the Application's config, merged: what every Environment shares
    /// (the size overlay belongs to the Environment).
    pub base_config: Json,
    /// The environment's override layer, as written.
    pub env_config: Json,
    /// `base_config` with `env_config` merged: what is validated and rendered.
    pub config: Json,
    /// Config pointers of the Blueprint's secret fields.
    pub secrets: Vec<String>,
    pub source: InstanceSource,
    pub depends_on: Vec<Edge>,
    /// Dependencies whose `when` did not hold (kept for the graph view).
    pub skipped: Vec<String>,
    pub placement: Json,
    pub regions: Vec<String>,
    pub origin: Origin,
    /// This Environment's config at the other versions its Application runs in the
    /// Organization's other Environments (see [`promotion_variants`]).
    pub variants: Vec<Variant>,
}

/// An Environment's config at a version another Environment runs.
#[derive(Debug, Clone, PartialEq)]
pub struct Variant {
    pub blueprint: usize,
    pub config: Json,
    /// Config pointers of that version's secret fields.
    pub secrets: Vec<String>,
}

impl Instance {
    /// The config and secret fields at `blueprint`: its own, a variant's, or its own again
    /// when it has none there (a warning was given).
    pub fn at(&self, blueprint: usize) -> (usize, &Json, &[String]) {
        match self.variants.iter().find(|v| v.blueprint == blueprint) {
            Some(v) => (v.blueprint, &v.config, &v.secrets),
            None => (self.blueprint, &self.config, &self.secrets),
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum InstanceSource {
    /// Declared in an Organization file (index into its `applications`).
    Declared { app: usize },
    /// Created to satisfy `alias` of `parent`, configured by the dependency's `values`.
    Dedicated { parent: String, alias: String, values: Json },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Edge {
    pub alias: String,
    pub target: String,
    /// Satisfied by an existing Application through `links`.
    pub linked: bool,
}

/// Placement modes that run in exactly one region.
const ONE_REGION_MODES: [&str; 2] = ["single-region", "singleton"];

/// Resolves the whole Sovereign. Returns `None` when errors were reported.
pub fn resolve(project: &Project, sources: &Sources, diagnostics: &mut Diagnostics) -> Option<Resolution> {
    let (resolution, kit_ok) = resolve_partial(project, sources, diagnostics);
    (kit_ok && !diagnostics.has_errors()).then_some(resolution)
}

/// As far as resolution gets despite errors (for `graph`, which draws what is
/// wrong): the kit is empty when it could not be ordered; the flag says whether it was.
pub fn resolve_partial(project: &Project, sources: &Sources, diagnostics: &mut Diagnostics) -> (Resolution, bool) {
    let parts = resolve_parts(project, sources, diagnostics, &|_| None);
    let kit_ok = parts.kit.is_some();
    let mut environments = Vec::new();
    for org in parts.organizations {
        let results = std::sync::Arc::try_unwrap(org).unwrap_or_else(|shared| (*shared).clone());
        for (environment, problems) in results {
            diagnostics.extend(problems);
            environments.push(environment);
        }
    }
    (Resolution { kit: parts.kit.unwrap_or_default(), environments, realms: parts.realms, vcluster: parts.vcluster }, kit_ok)
}

/// The resolved Environments of one Organization with their diagnostics: the
/// unit `check --watch` keeps between runs, since Organizations resolve independently.
pub type OrgResolution = Vec<(ResolvedEnvironment, Vec<Diagnostic>)>;

/// A resolution in reusable parts; the Environments' diagnostics stay with them.
pub struct Parts {
    pub kit: Option<Vec<KitRelease>>,
    pub realms: Vec<Realm>,
    pub vcluster: Option<VclusterRelease>,
    /// One entry per Organization, in the order of the Sovereign's.
    pub organizations: Vec<std::sync::Arc<OrgResolution>>,
}

/// Resolves the kit and every Organization `reuse` has no result for.
pub fn resolve_parts(
    project: &Project,
    sources: &Sources,
    diagnostics: &mut Diagnostics,
    reuse: &(dyn Fn(usize) -> Option<std::sync::Arc<OrgResolution>> + Sync),
) -> Parts {
    let schemas: Vec<Option<ConfigSchema>> = project
        .catalog
        .blueprints
        .par_iter()
        .map(|bp| ConfigSchema::compile(bp, sources))
        .collect::<Vec<_>>()
        .into_iter()
        .map(|r| r.map_err(|d| diagnostics.push(d)).ok())
        .collect();
    let sovereign = sovereign_context(project);
    // The Sovereign values each configSchema asks for, once per Blueprint rather than per Application.
    let sovereign_layers: Vec<Json> =
        schemas.iter().map(|schema| schema.as_ref().map_or(Json::Null, |s| s.sovereign_layer(&sovereign))).collect();
    let context = Context { project, sources, schemas: &schemas, sovereign_layers: &sovereign_layers, sovereign };
    let kit = resolve_kit(&context, diagnostics);
    let kit_releases = kit.as_deref().unwrap_or_default();
    let realms = if kit.is_some() { identity::resolve_identity(&context, kit_releases, diagnostics) } else { Vec::new() };
    let vcluster = resolve_vcluster(&context, diagnostics);
    let organizations = (0..project.sovereign.organizations.len())
        .into_par_iter()
        .map(|org| {
            reuse(org).unwrap_or_else(|| {
                let environments = 0..project.sovereign.organizations[org].spec.environments.len();
                let mut resolved: OrgResolution =
                    environments.into_par_iter().map(|env| EnvResolver::new(&context, kit_releases, org, env).run()).collect();
                promotion_variants(&context, kit_releases, org, &mut resolved);
                std::sync::Arc::new(resolved)
            })
        })
        .collect();
    Parts { kit, realms, vcluster, organizations }
}

/// Every branch of an Application's repository carries every Environment's overlay, rendered at
/// the version that branch runs, so that merging a branch into the next promotes exactly its
/// version. So each Environment's config is also validated at the versions the Application runs
/// in the Organization's other Environments. Where it does not validate at a version a lower
/// Environment runs (one that may be promoted into it), a warning.
fn promotion_variants(cx: &Context<'_>, kit: &[KitRelease], org: usize, resolved: &mut OrgResolution) {
    let mut versions: HashMap<String, Vec<(EnvType, usize)>> = HashMap::new();
    for (environment, _) in resolved.iter() {
        for instance in &environment.instances {
            versions.entry(instance.name.clone()).or_default().push((environment.env_type, instance.blueprint));
        }
    }
    versions.retain(|_, runs| runs.iter().any(|&(_, blueprint)| blueprint != runs[0].1));
    if versions.is_empty() {
        return;
    }
    for (env, (environment, problems)) in resolved.iter_mut().enumerate() {
        let resolver = EnvResolver::new(cx, kit, org, env);
        for instance in &mut environment.instances {
            let Some(runs) = versions.get(&instance.name) else { continue };
            let mut others: Vec<usize> = runs.iter().map(|&(_, b)| b).filter(|&b| b != instance.blueprint).collect();
            others.sort_unstable();
            others.dedup();
            for blueprint in others {
                match resolver.config_at(instance, blueprint) {
                    Ok((config, secrets)) => instance.variants.push(Variant { blueprint, config, secrets }),
                    Err(found) if runs.iter().any(|&(t, b)| b == blueprint && t < environment.env_type) => {
                        problems.extend(resolver.not_promotable(instance, blueprint, &found))
                    }
                    // Only a branch above this Environment runs it: no promotion brings it here.
                    Err(_) => {}
                }
            }
        }
    }
}

struct Context<'a> {
    project: &'a Project,
    sources: &'a Sources,
    schemas: &'a [Option<ConfigSchema>],
    /// Per Blueprint: the layer of Sovereign values its configSchema marks (`x-catalyst-sovereign`).
    sovereign_layers: &'a [Json],
    sovereign: Json,
}

fn sovereign_context(project: &Project) -> Json {
    expr::sovereign_variables(&project.sovereign)
}

impl Context<'_> {
    fn blueprint(&self, index: usize) -> &Blueprint {
        &self.project.catalog.blueprints[index]
    }

    fn index_of(&self, blueprint: &Blueprint) -> usize {
        self.project.catalog.blueprints.iter().position(|b| std::ptr::eq(b, blueprint)).unwrap_or_default()
    }

    /// The newest version of `name` that satisfies every requirement.
    fn choose(&self, name: &str, requirements: &[Requirement], at: &Origin) -> Result<usize, Diagnostic> {
        let versions: Vec<&Blueprint> = self.project.catalog.versions(name).collect();
        if versions.is_empty() {
            let mut d = Diagnostic::error(codes::RESOLVE_MISSING_BLUEPRINT, format!("no Blueprint named `{name}` in the catalog"))
                .with_label(Label::primary(self.sources.span_at(at.file, &at.pointer), "required here"));
            d = match did_you_mean(name, self.project.catalog.names()) {
                Some(best) => d.with_help(format!("did you mean `{best}`?")),
                None => d.with_help("add the Blueprint to a catalog the Sovereign names in `catalogs`"),
            };
            return Err(d);
        }
        if let Some(found) = versions.iter().find(|bp| requirements.iter().all(|r| r.req.matches(&bp.version))) {
            return Ok(self.index_of(found));
        }
        let available: Vec<String> = versions.iter().rev().map(|b| b.version.to_string()).collect();
        let mut d = Diagnostic::error(
            codes::RESOLVE_UNSATISFIABLE,
            format!(
                "no version of {name} satisfies {}",
                requirements.iter().map(|r| format!("`{}`", r.text)).collect::<Vec<_>>().join(" and ")
            ),
        );
        for (i, r) in requirements.iter().enumerate() {
            let span = self.sources.span_at(r.origin.file, &r.origin.pointer);
            let message = format!("{} requires {name} {}", r.asked_by, r.text);
            d = d.with_label(if i == 0 { Label::primary(span, message) } else { Label::secondary(span, message) });
            d = d.with_note(format!("{} requires {name} {}", r.asked_by, r.text));
        }
        Err(d
            .with_note(format!("the catalog has {name} {}", available.join(", ")))
            .with_help("relax the requirement or add a matching version to the catalog"))
    }

    /// The newest version of `name`, which `asked_by` (written at `at`) needs.
    fn newest(&self, name: &str, asked_by: String, at: &Origin) -> Result<usize, Diagnostic> {
        let requirement = self.requirement(None, asked_by, at.clone())?;
        self.choose(name, &[requirement], at)
    }

    /// Parses a requirement as written (`None` = any version).
    fn requirement(&self, text: Option<&str>, asked_by: String, origin: Origin) -> Result<Requirement, Diagnostic> {
        let text = text.unwrap_or("*").trim().to_string();
        match semver::VersionReq::parse(&text) {
            Ok(req) => Ok(Requirement { req, text, asked_by, origin }),
            Err(e) => Err(Diagnostic::error(codes::RESOLVE_BAD_REQUIREMENT, format!("`{text}` is not a version requirement: {e}"))
                .with_label(Label::primary(self.sources.span_at(origin.file, &origin.pointer), "invalid requirement"))
                .with_help("write a semver requirement such as `^1.4`, `~1.4.2`, `=1.4.0` or `>=1.2, <2`")),
        }
    }

    /// The config of `layers` over the Sovereign values the configSchema asks for
    /// (`x-catalyst-sovereign`) and, for an Application, its Organization's (`x-catalyst-organization`).
    fn validated(
        &self,
        blueprint: usize,
        org: Option<&str>,
        layers: &[Layer<'_>],
        entry: &Origin,
    ) -> Result<(Json, Vec<String>), Vec<Diagnostic>> {
        let Some(schema) = &self.schemas[blueprint] else { return Err(Vec::new()) };
        let organization = self.organization_layer(blueprint, org);
        let all = self.over_marked(blueprint, &organization, layers);
        let effective = effective_config(self.blueprint(blueprint), schema, &all, entry, self.sources)?;
        Ok((effective.config, schema.secrets.clone()))
    }

    /// `layers` merged over the marked values and the defaults, unvalidated.
    fn merged(&self, blueprint: usize, org: Option<&str>, layers: &[Layer<'_>]) -> Json {
        let Some(schema) = &self.schemas[blueprint] else { return Json::Null };
        let organization = self.organization_layer(blueprint, org);
        merged(schema, &self.over_marked(blueprint, &organization, layers))
    }

    fn organization_layer(&self, blueprint: usize, org: Option<&str>) -> Json {
        let schema = self.schemas[blueprint].as_ref();
        org.zip(schema)
            .map_or(Json::Null, |(slug, schema)| schema.organization_layer(&expr::organization_variables(&self.project.sovereign, slug)))
    }

    /// `layers` over the layers of marked values: the Sovereign's, then the Organization's.
    fn over_marked<'l>(&'l self, blueprint: usize, organization: &'l Json, layers: &[Layer<'l>]) -> Vec<Layer<'l>> {
        let schema_origin = self.blueprint(blueprint).origin.join("/spec/configSchema");
        let mut all = vec![
            Layer { value: &self.sovereign_layers[blueprint], origin: schema_origin.clone() },
            Layer { value: organization, origin: schema_origin },
        ];
        all.extend(layers.iter().map(|l| Layer { value: l.value, origin: l.origin.clone() }));
        all
    }

    fn condition(
        &self,
        jinja: &minijinja::Environment<'_>,
        dependency: &Dependency,
        origin: &Origin,
        context: &Json,
    ) -> Result<bool, Diagnostic> {
        let Some(when) = &dependency.when else { return Ok(true) };
        expr::condition(jinja, when, context).map_err(|e| expression_error(self.sources, &origin.child("when"), "condition", e))
    }
}

fn expression_error(sources: &Sources, at: &Origin, what: &str, e: expr::ExprError) -> Diagnostic {
    Diagnostic::error(codes::EXPR_EVAL, format!("cannot evaluate this {what}: {}", e.0))
        .with_label(Label::primary(sources.span_at(at.file, &at.pointer), "in this expression"))
        .with_help(
            "expressions see `config`, `application`, `sovereign` and (in values) `dependency`; `.config.x` and `config.x` are the same",
        )
}

/// A dependency whose `when` holds, with its requirement: what a link or a dedicated Application satisfies.
struct Need {
    alias: String,
    dep: Dependency,
    /// Where the dependency is declared (`/spec/depends/<i>` of its Blueprint).
    origin: Origin,
    requirement: Requirement,
}

#[derive(Clone, Debug)]
struct Requirement {
    req: semver::VersionReq,
    text: String,
    asked_by: String,
    origin: Origin,
}

// ------------------------------------------------------------ bootstrap kit

/// One `bootstrapKit` entry (or a default one) as the Sovereign writes it.
struct KitEntry {
    name: String,
    version: Option<String>,
    values: Json,
    building_blocks: Option<Vec<BuildingBlock>>,
    origin: Origin,
}

fn resolve_kit(cx: &Context<'_>, diagnostics: &mut Diagnostics) -> Option<Vec<KitRelease>> {
    let sovereign = &cx.project.sovereign;
    let root = sovereign.origin.join("/spec");
    let entries: Vec<KitEntry> = match &sovereign.spec.bootstrap_kit {
        Some(kit) => kit
            .iter()
            .enumerate()
            .map(|(i, e)| KitEntry {
                name: e.blueprint.clone(),
                version: e.version.clone(),
                values: e.values.clone(),
                building_blocks: e.building_blocks.clone(),
                origin: root.join(&format!("/bootstrapKit/{i}")),
            })
            .collect(),
        // The default kit in the catalog's spelling, as its Blueprints' `depends` are respelled.
        None => DEFAULT_KIT
            .iter()
            .map(|n| KitEntry {
                name: cx.project.catalog.canonical(n),
                version: None,
                values: Json::Null,
                building_blocks: None,
                origin: root.clone(),
            })
            .collect(),
    };
    let mut requirements: BTreeMap<String, Vec<Requirement>> = BTreeMap::new();
    let mut failed = false;
    for entry in &entries {
        let at = if entry.version.is_some() { entry.origin.join("/version") } else { entry.origin.clone() };
        match cx.requirement(entry.version.as_deref(), "the bootstrap kit".into(), at) {
            Ok(r) => requirements.entry(entry.name.clone()).or_default().push(r),
            Err(d) => {
                diagnostics.push(d);
                failed = true;
            }
        }
    }
    if failed {
        return None;
    }
    let chosen = choose_kit_versions(cx, &entries, requirements).map_err(|problems| diagnostics.extend(problems)).ok()?;
    let jinja = expr::environment();
    let position: HashMap<&str, usize> = entries.iter().enumerate().map(|(i, e)| (e.name.as_str(), i)).collect();
    let releases: Vec<(usize, KitRelease)> = entries
        .iter()
        .filter_map(|entry| {
            Some((position[entry.name.as_str()], release_of(cx, &jinja, entry, chosen[&entry.name], &position, diagnostics)?))
        })
        .collect();
    if diagnostics.has_errors() {
        return None;
    }
    order_kit(cx, releases, diagnostics)
}

/// The version of every kit release. Requirements from dependants depend on the versions
/// chosen, so the choice iterates to a fixed point; what it settles on must then satisfy
/// every kit Blueprint's own depends.
fn choose_kit_versions(
    cx: &Context<'_>,
    entries: &[KitEntry],
    mut requirements: BTreeMap<String, Vec<Requirement>>,
) -> Result<BTreeMap<String, usize>, Vec<Diagnostic>> {
    let mut chosen: BTreeMap<String, usize> = BTreeMap::new();
    let mut problems = Vec::new();
    // Each round can only move a choice that a dependant's requirement moved; more rounds than
    // releases means the choices oscillate, which the check after the loop reports.
    for _ in 0..entries.len() + 2 {
        problems.clear();
        let mut next = BTreeMap::new();
        for entry in entries {
            match cx.choose(&entry.name, &requirements[&entry.name], &entry.origin) {
                Ok(i) => {
                    next.insert(entry.name.clone(), i);
                }
                Err(d) => problems.push(d),
            }
        }
        if next == chosen {
            break;
        }
        chosen = next;
        for reqs in requirements.values_mut() {
            reqs.retain(|r| r.asked_by == "the bootstrap kit");
        }
        for (dep, requirement) in chosen.values().flat_map(|&index| kit_depends(cx, index)) {
            if let (Some(list), Ok(r)) = (requirements.get_mut(&dep.blueprint), requirement) {
                list.push(r);
            }
        }
    }
    for (bp, (dep, requirement)) in chosen.values().flat_map(|&index| kit_depends(cx, index).map(move |d| (cx.blueprint(index), d))) {
        let (Some(&target), Ok(requirement)) = (chosen.get(&dep.blueprint), requirement) else { continue };
        let target = cx.blueprint(target);
        if !requirement.req.matches(&target.version) {
            problems.push(
                Diagnostic::error(
                    codes::RESOLVE_UNSATISFIABLE,
                    format!(
                        "the bootstrap kit does not settle: {} needs {} `{}`, but {} is chosen",
                        bp.id(),
                        dep.blueprint,
                        requirement.text,
                        target.id()
                    ),
                )
                .with_label(Label::primary(cx.sources.span_at(requirement.origin.file, &requirement.origin.pointer), "this requirement"))
                .with_help("pin the kit entries' versions so that every dependency is met"),
            );
        }
    }
    if problems.is_empty() {
        Ok(chosen)
    } else {
        Err(problems)
    }
}

/// Every dependency of the kit Blueprint `index` with its requirement.
fn kit_depends<'c>(cx: &'c Context<'_>, index: usize) -> impl Iterator<Item = (Dependency, Result<Requirement, Diagnostic>)> + 'c {
    let bp = cx.blueprint(index);
    bp.spec.depends.iter().enumerate().map(move |(d, dep)| {
        let dep = dep.normalized();
        let requirement = cx.requirement(dep.version.as_deref(), bp.id(), bp.origin.join(&format!("/spec/depends/{d}")));
        (dep, requirement)
    })
}

/// The kit release of `entry` at the chosen Blueprint `index`: its validated values and the
/// kit releases it waits for (dependencies whose `when` holds, each in the kit).
fn release_of(
    cx: &Context<'_>,
    jinja: &minijinja::Environment<'_>,
    entry: &KitEntry,
    index: usize,
    position: &HashMap<&str, usize>,
    diagnostics: &mut Diagnostics,
) -> Option<KitRelease> {
    let bp = cx.blueprint(index);
    let origin = &entry.origin;
    let layers = [Layer { value: &entry.values, origin: origin.join("/values") }];
    let (config, _) = cx.validated(index, None, &layers, origin).map_err(|d| diagnostics.extend(d)).ok()?;
    let context = json!({"config": config, "sovereign": cx.sovereign, "application": {"name": bp.short_name(), "org": "system", "environment": "bootstrap-kit"}});
    let mut depends = Vec::new();
    for (d, dep) in bp.spec.depends.iter().enumerate() {
        let dep = dep.normalized();
        let at = bp.origin.join(&format!("/spec/depends/{d}"));
        match cx.condition(jinja, &dep, &at, &context) {
            Ok(true) => {}
            Ok(false) => continue,
            Err(e) => {
                diagnostics.push(e);
                continue;
            }
        }
        if !position.contains_key(dep.blueprint.as_str()) {
            diagnostics.push(
                Diagnostic::error(
                    codes::RESOLVE_KIT_DEPENDENCY,
                    format!("{} depends on {}, which is not in the bootstrap kit", bp.id(), dep.blueprint),
                )
                .with_label(Label::primary(cx.sources.span_at(at.file, &at.pointer), "dependency declared here"))
                .with_label(Label::secondary(cx.sources.span_at(origin.file, &origin.pointer), "kit entry"))
                .with_help(format!("add {} to `bootstrapKit` or remove the dependency", dep.blueprint)),
            );
            continue;
        }
        depends.push(dep.blueprint.clone());
    }
    let blocks = entry.building_blocks.as_deref().or(bp.spec.building_blocks.as_deref()).unwrap_or(&BuildingBlock::ALL);
    Some(KitRelease { blueprint: index, values: config, depends, regions: kit_regions(&cx.project.sovereign, blocks) })
}

/// The regions whose building block is one of `blocks`; a release no region would run (the
/// edge of a Sovereign without a dmz region) runs in the control-plane region.
fn kit_regions(sovereign: &crate::model::Sovereign, blocks: &[BuildingBlock]) -> Vec<String> {
    let regions = sovereign.spec.regions.iter();
    let chosen: Vec<String> = regions.filter(|r| BuildingBlock::of_region(r).is_some_and(|b| blocks.contains(&b))).cloned().collect();
    if chosen.is_empty() {
        sovereign.control_plane().into_iter().map(String::from).collect()
    } else {
        chosen
    }
}

/// Topological order; among ready releases the one listed first goes first.
fn order_kit(cx: &Context<'_>, releases: Vec<(usize, KitRelease)>, diagnostics: &mut Diagnostics) -> Option<Vec<KitRelease>> {
    let mut graph: DiGraph<usize, ()> = DiGraph::new();
    let nodes: Vec<NodeIndex> = releases.iter().map(|(p, _)| graph.add_node(*p)).collect();
    let by_name: HashMap<&str, NodeIndex> =
        releases.iter().zip(&nodes).map(|((_, r), n)| (cx.blueprint(r.blueprint).name.as_str(), *n)).collect();
    for ((_, release), &node) in releases.iter().zip(&nodes) {
        for dep in &release.depends {
            graph.add_edge(by_name[dep.as_str()], node, ());
        }
    }
    let mut indegree: Vec<usize> = nodes.iter().map(|&n| graph.neighbors_directed(n, petgraph::Incoming).count()).collect();
    let mut ready: BinaryHeap<std::cmp::Reverse<(usize, usize)>> =
        nodes.iter().filter(|n| indegree[n.index()] == 0).map(|n| std::cmp::Reverse((graph[*n], n.index()))).collect();
    let mut order = Vec::with_capacity(nodes.len());
    while let Some(std::cmp::Reverse((_, i))) = ready.pop() {
        order.push(i);
        for next in graph.neighbors_directed(NodeIndex::new(i), petgraph::Outgoing) {
            indegree[next.index()] -= 1;
            if indegree[next.index()] == 0 {
                ready.push(std::cmp::Reverse((graph[next], next.index())));
            }
        }
    }
    if order.len() < nodes.len() {
        let cycle = find_cycle(&graph);
        let names: Vec<String> = cycle.iter().map(|n| cx.blueprint(releases[n.index()].1.blueprint).id()).collect();
        let first = cx.blueprint(releases[cycle[0].index()].1.blueprint);
        diagnostics.push(
            Diagnostic::error(codes::RESOLVE_CYCLE, format!("the bootstrap kit has a dependency cycle: {}", cycle_text(&names)))
                .with_label(Label::primary(
                    cx.sources.key_span_at(first.origin.file, "/spec/depends"),
                    "the cycle passes through these depends",
                ))
                .with_help("break the cycle: a Blueprint cannot wait, directly or not, for itself"),
        );
        return None;
    }
    let mut releases: Vec<Option<KitRelease>> = releases.into_iter().map(|(_, r)| Some(r)).collect();
    Some(order.into_iter().filter_map(|i| releases[i].take()).collect())
}

fn cycle_text(names: &[String]) -> String {
    let mut text = names.join(" → ");
    if let Some(first) = names.first() {
        text.push_str(&format!(" → {first}"));
    }
    text
}

/// One cycle of a graph that has one, as the nodes along it read as "depends on": edges point
/// dependency → dependant, so the path along them is reversed.
fn find_cycle<N>(graph: &DiGraph<N, ()>) -> Vec<NodeIndex> {
    let mut cycle = cycles(graph).into_iter().next().unwrap_or_default();
    cycle.reverse();
    cycle
}

/// The newest bp-vcluster, when some Organization has an Environment: each runs in a virtual
/// cluster of its own on every workload cluster it is placed in.
fn resolve_vcluster(cx: &Context<'_>, diagnostics: &mut Diagnostics) -> Option<VclusterRelease> {
    let sovereign = &cx.project.sovereign;
    let org = sovereign.organizations.iter().find(|o| !o.spec.environments.is_empty())?;
    let at = org.origin.join("/spec/environments");
    let blueprint =
        cx.newest(VCLUSTER_BLUEPRINT, format!("the virtual cluster of {}", org.slug), &at).map_err(|d| diagnostics.push(d)).ok()?;
    let (values, _) = cx.validated(blueprint, None, &[], &at).map_err(|d| diagnostics.extend(d)).ok()?;
    Some(VclusterRelease { blueprint, values })
}

// ------------------------------------------------------------ environments

struct EnvResolver<'a> {
    cx: &'a Context<'a>,
    /// The bootstrap kit: a dependency on one of its Blueprints is satisfied by its release.
    kit: &'a [KitRelease],
    org_index: usize,
    org: &'a Organization,
    env_type: EnvType,
    environment: String,
    regions: Vec<String>,
    jinja: minijinja::Environment<'static>,
    instances: Vec<Instance>,
    /// Declared Applications that failed, so links to them add no second error.
    failed: HashSet<String>,
    /// Dedicated Applications created so far, against [`MAX_DEDICATED_PER_ENVIRONMENT`].
    dedicated: usize,
    problems: Vec<Diagnostic>,
}

impl<'a> EnvResolver<'a> {
    fn new(cx: &'a Context<'a>, kit: &'a [KitRelease], org_index: usize, env_index: usize) -> Self {
        let org = &cx.project.sovereign.organizations[org_index];
        let env = &org.spec.environments[env_index];
        EnvResolver {
            cx,
            kit,
            org_index,
            org,
            env_type: env.env_type,
            environment: format!("{}-{}", org.slug, env.env_type.as_str()),
            regions: env.regions.clone(),
            jinja: expr::environment(),
            instances: Vec::new(),
            failed: HashSet::new(),
            dedicated: 0,
            problems: Vec::new(),
        }
    }

    fn run(mut self) -> (ResolvedEnvironment, Vec<Diagnostic>) {
        let declared: Vec<usize> = (0..self.org.spec.applications.len()).filter(|&a| self.installed_here(a)).collect();
        for &app in &declared {
            if let Err(problems) = self.declare(app) {
                self.failed.insert(self.org.spec.applications[app].name.clone());
                self.problems.extend(problems);
            }
        }
        let count = self.instances.len();
        for i in 0..count {
            self.dependencies(i, &mut Vec::new());
        }
        self.check_cycles();
        self.check_placements();
        let environment = ResolvedEnvironment {
            org: self.org_index,
            name: self.environment,
            env_type: self.env_type,
            regions: self.regions,
            instances: self.instances,
        };
        (environment, self.problems)
    }

    fn installed_here(&self, app: usize) -> bool {
        self.org.spec.applications[app].environments.as_ref().is_none_or(|envs| envs.contains_key(&self.env_type))
    }

    fn app_origin(&self, app: usize) -> Origin {
        self.org.origin.join(&format!("/spec/applications/{app}"))
    }

    /// A declared Application: its version, config and placement in this environment.
    fn declare(&mut self, app: usize) -> Result<(), Vec<Diagnostic>> {
        let spec = &self.org.spec.applications[app];
        let origin = self.app_origin(app);
        let env_key = self.env_type.as_str();
        let env_override = spec.environments.as_ref().and_then(|e| e.get(&self.env_type)).cloned().unwrap_or_default();
        let env_origin = origin.join(&format!("/environments/{env_key}"));
        let (version, version_at) = match (&env_override.version, &spec.version) {
            (Some(v), _) => (Some(v.as_str()), env_origin.join("/version")),
            (None, Some(v)) => (Some(v.as_str()), origin.join("/version")),
            (None, None) => (None, origin.join("/blueprint")),
        };
        let requirement = self
            .cx
            .requirement(version, format!("{}/{} in {}", self.org.slug, spec.name, self.environment), version_at)
            .map_err(|d| vec![d])?;
        let blueprint =
            self.cx.choose(&spec.blueprint, std::slice::from_ref(&requirement), &origin.join("/blueprint")).map_err(|d| vec![d])?;
        let bp = self.cx.blueprint(blueprint);
        if bp.spec.manifests.kind().is_none() {
            return Err(vec![Diagnostic::error(
                codes::RESOLVE_NOT_INSTALLABLE,
                format!("{} has no manifests and cannot be installed as an Application", bp.id()),
            )
            .with_label(Label::primary(self.cx.sources.span_at(origin.file, &format!("{}/blueprint", origin.pointer)), "installed here"))
            .with_label(Label::secondary(self.cx.sources.key_span_at(bp.origin.file, "/spec"), "no `manifests` in this Blueprint"))
            .with_help("give the Blueprint a chart, templates or kustomize base")]);
        }
        let (config, secrets) = self.declared_config(app, blueprint)?;
        let base_config = self.cx.merged(blueprint, Some(&self.org.slug), &[Layer { value: &spec.config, origin: origin.join("/config") }]);
        let (placement, regions) = self.placement(app, bp)?;
        self.instances.push(Instance {
            name: spec.name.clone(),
            blueprint,
            requirement_at: requirement.origin.clone(),
            requirement: requirement.text,
            base_config,
            env_config: env_override.config.clone(),
            config,
            secrets,
            source: InstanceSource::Declared { app },
            depends_on: Vec::new(),
            skipped: Vec::new(),
            placement,
            regions,
            origin,
            variants: Vec::new(),
        });
        Ok(())
    }

    /// A declared Application's validated config in this Environment at `blueprint` (its size
    /// overlay, its config, the Environment's override), with the secret fields.
    fn declared_config(&self, app: usize, blueprint: usize) -> Result<(Json, Vec<String>), Vec<Diagnostic>> {
        let spec = &self.org.spec.applications[app];
        let origin = self.app_origin(app);
        let env_override = spec.environments.as_ref().and_then(|e| e.get(&self.env_type)).cloned().unwrap_or_default();
        let env_origin = origin.join(&format!("/environments/{}", self.env_type.as_str()));
        let bp = self.cx.blueprint(blueprint);
        let size = env_override.size.as_ref().or(spec.size.as_ref());
        let size_at = if env_override.size.is_some() { env_origin.join("/size") } else { origin.join("/size") };
        let overlay = self.overlay(bp, size, &size_at)?;
        let layers = [
            Layer { value: &overlay, origin: bp.origin.join(&format!("/spec/overlays/{}", size.map_or("", |s| s.as_str()))) },
            Layer { value: &spec.config, origin: origin.join("/config") },
            Layer { value: &env_override.config, origin: env_origin.join("/config") },
        ];
        self.cx.validated(blueprint, Some(&self.org.slug), &layers, &origin)
    }

    /// This Environment's config at another version of its Blueprint.
    fn config_at(&self, instance: &Instance, blueprint: usize) -> Result<(Json, Vec<String>), Vec<Diagnostic>> {
        match &instance.source {
            InstanceSource::Declared { app } => self.declared_config(*app, blueprint),
            InstanceSource::Dedicated { values, .. } => {
                let layer = [Layer { value: values, origin: instance.origin.join("/values") }];
                self.cx.validated(blueprint, Some(&self.org.slug), &layer, &instance.origin)
            }
        }
    }

    /// The warning for an Environment whose config does not validate at `blueprint` (`found`
    /// holds why; nothing when the Blueprint's schema is broken, which is reported already).
    fn not_promotable(&self, instance: &Instance, blueprint: usize, found: &[Diagnostic]) -> Option<Diagnostic> {
        let why = found.first()?;
        let (other, own) = (self.cx.blueprint(blueprint), self.cx.blueprint(instance.blueprint));
        let at = match instance.source {
            // The Environment's entry when it has one: that is where its config is changed.
            InstanceSource::Declared { app } => {
                let overridden = self.org.spec.applications[app].environments.as_ref().is_some_and(|e| e.contains_key(&self.env_type));
                let origin = self.app_origin(app);
                if overridden {
                    origin.join(&format!("/environments/{}", self.env_type.as_str()))
                } else {
                    origin
                }
            }
            InstanceSource::Dedicated { .. } => instance.origin.clone(),
        };
        Some(
            Diagnostic::warning(
                codes::CONFIG_NOT_PROMOTABLE,
                format!(
                    "the config of {}/{} in {} does not validate against {}, which a lower Environment runs",
                    self.org.slug,
                    instance.name,
                    self.environment,
                    other.id()
                ),
            )
            .with_label(Label::primary(
                self.cx.sources.span_at(at.file, &at.pointer),
                format!("{} runs {} here", self.environment, own.id()),
            ))
            .with_note(format!("at {}: {}", other.id(), why.message))
            .with_help(format!(
                "change the config before promoting {} into {}: until then the branches that run it carry this overlay at {}",
                other.version, self.environment, own.version
            )),
        )
    }

    fn overlay(&self, bp: &Blueprint, size: Option<&String>, at: &Origin) -> Result<Json, Vec<Diagnostic>> {
        let Some(size) = size else { return Ok(Json::Null) };
        match bp.spec.overlays.get(size) {
            Some(overlay) => Ok(overlay.clone()),
            None if bp.spec.overlays.is_empty() => Ok(Json::Null),
            None => Err(vec![Diagnostic::error(codes::CONFIG_UNKNOWN_SIZE, format!("{} has no `{size}` overlay", bp.id()))
                .with_label(Label::primary(self.cx.sources.span_at(at.file, &at.pointer), "this size"))
                .with_help(format!("use one of: {}", bp.spec.overlays.keys().cloned().collect::<Vec<_>>().join(", ")))]),
        }
    }

    /// Placement mode and regions; regions default to the Environment's.
    fn placement(&self, app: usize, bp: &Blueprint) -> Result<(Json, Vec<String>), Vec<Diagnostic>> {
        let spec = &self.org.spec.applications[app];
        let origin = self.app_origin(app).join("/placement");
        let given = spec.placement.clone().unwrap_or(Json::Null);
        let mode = given
            .get("mode")
            .and_then(Json::as_str)
            .map(str::to_string)
            .or_else(|| bp.spec.placement_schema.as_ref().and_then(|p| p.default.clone()))
            .unwrap_or_else(|| if self.regions.len() > 1 { "active-active".into() } else { "single-region".into() });
        // A one-region mode runs in one region: the Environment's first unless the entry names it.
        let one_region = ONE_REGION_MODES.contains(&mode.as_str());
        let regions: Vec<String> = match given.get("regions").and_then(Json::as_array) {
            Some(list) => list.iter().filter_map(Json::as_str).map(str::to_string).collect(),
            None if one_region => self.regions.iter().take(1).cloned().collect(),
            None => self.regions.clone(),
        };
        let mut problems = Vec::new();
        if one_region && regions.len() > 1 {
            problems.push(
                Diagnostic::error(
                    codes::PLACEMENT_REGION_COUNT,
                    format!("placement `{mode}` runs in one region; this one names {}", regions.len()),
                )
                .with_label(Label::primary(self.cx.sources.span_at(origin.file, &format!("{}/regions", origin.pointer)), "these regions"))
                .with_help("name one region, or choose a multi-region mode such as active-active"),
            );
        }
        for (i, region) in regions.iter().enumerate() {
            if !self.regions.contains(region) {
                problems.push(
                    Diagnostic::error(codes::PLACEMENT_REGION, format!("region `{region}` is not a region of {}", self.environment))
                        .with_label(Label::primary(
                            self.cx.sources.span_at(origin.file, &format!("{}/regions/{i}", origin.pointer)),
                            "not in the Environment",
                        ))
                        .with_help(format!("{} runs in: {}", self.environment, self.regions.join(", "))),
                );
            }
        }
        if let Some(schema) = &bp.spec.placement_schema {
            if !schema.modes.is_empty() && !schema.modes.contains(&mode) {
                problems.push(
                    Diagnostic::error(codes::PLACEMENT_MODE, format!("{} does not support placement `{mode}`", bp.id()))
                        .with_label(Label::primary(self.cx.sources.span_at(origin.file, &origin.pointer), "placement chosen here"))
                        .with_help(format!("supported modes: {}", schema.modes.join(", "))),
                );
            }
            let count = regions.len() as u32;
            let (min, max) = (schema.min_regions.unwrap_or(1), schema.max_regions.unwrap_or(5));
            if count < min || count > max {
                problems.push(
                    Diagnostic::error(
                        codes::PLACEMENT_REGION_COUNT,
                        format!("{} runs in {min} to {max} regions; this placement has {count}", bp.id()),
                    )
                    .with_label(Label::primary(self.cx.sources.span_at(origin.file, &origin.pointer), "placement"))
                    .with_help("set `placement.regions` to a subset of the Environment's regions"),
                );
            }
        }
        if problems.is_empty() {
            Ok((json!({"mode": mode, "regions": regions}), regions))
        } else {
            Err(problems)
        }
    }

    /// Satisfies every dependency of instance `i` whose `when` holds.
    fn dependencies(&mut self, i: usize, chain: &mut Vec<(String, Origin)>) {
        let bp = self.cx.blueprint(self.instances[i].blueprint);
        if !self.chain_continues(i, chain) {
            return;
        }
        let links = match &self.instances[i].source {
            InstanceSource::Declared { app } => self.org.spec.applications[*app].links.clone(),
            InstanceSource::Dedicated { .. } => BTreeMap::new(),
        };
        let name = self.instances[i].name.clone();
        let context = json!({"config": self.instances[i].config, "application": crate::pipeline::expr::application_variables(&name, &self.org.slug, &self.environment, self.env_type), "sovereign": self.cx.sovereign});
        let mut aliases = Vec::new();
        for (d, entry) in bp.spec.depends.iter().enumerate() {
            let dep = entry.normalized();
            let origin = bp.origin.join(&format!("/spec/depends/{d}"));
            let alias = dep.alias().to_string();
            aliases.push(alias.clone());
            match self.cx.condition(&self.jinja, &dep, &origin, &context) {
                Ok(true) => {}
                Ok(false) => {
                    self.instances[i].skipped.push(alias);
                    continue;
                }
                Err(e) => {
                    self.problems.push(e);
                    continue;
                }
            }
            let asked_by = format!("{} (alias {alias}, needed by {name} in {})", bp.id(), self.environment);
            let at = origin.join(if dep.version.is_some() { "/version" } else { "" });
            let requirement = match self.cx.requirement(dep.version.as_deref(), asked_by, at) {
                Ok(r) => r,
                Err(e) => {
                    self.problems.push(e);
                    continue;
                }
            };
            let need = Need { alias, dep, origin, requirement };
            let edge = match links.get(&need.alias) {
                Some(target) => self.link(i, target, &need),
                // The kit's release serves every Application: no copy of its own.
                None if self.kit_serves(i, &need) => continue,
                None => self.dedicated(i, need, &context, chain),
            };
            if let Some(edge) = edge {
                self.instances[i].depends_on.push(edge);
            }
        }
        if let InstanceSource::Declared { app } = self.instances[i].source {
            self.check_links(app, bp, &links, &aliases);
        }
    }

    /// Whether the chain of dependencies that reached instance `i` may go on: not around
    /// a cycle, not deeper than the limit.
    fn chain_continues(&mut self, i: usize, chain: &[(String, Origin)]) -> bool {
        let bp = self.cx.blueprint(self.instances[i].blueprint);
        if let Some(at) = chain.iter().position(|(name, _)| name == &bp.name) {
            let mut names: Vec<String> = chain[at..].iter().map(|(n, _)| n.clone()).collect();
            names.push(bp.name.clone());
            let closing = &chain[chain.len() - 1].1;
            self.problems.push(
                Diagnostic::error(codes::RESOLVE_CYCLE, format!("Blueprint dependency cycle: {}", names.join(" → ")))
                    .with_label(Label::primary(self.cx.sources.span_at(closing.file, &closing.pointer), "this dependency closes the cycle"))
                    .with_note(format!("reached from {} in {}", self.root_of(i), self.environment))
                    .with_help("break the cycle, or satisfy one of these dependencies with `links` to an existing Application"),
            );
            return false;
        }
        if chain.len() >= MAX_DEPENDENCY_DEPTH {
            self.problems.push(
                Diagnostic::error(codes::RESOLVE_TOO_DEEP, format!("dependency chain deeper than {MAX_DEPENDENCY_DEPTH}"))
                    .with_label(Label::primary(self.cx.sources.span_at(chain[0].1.file, &chain[0].1.pointer), "starting here")),
            );
            return false;
        }
        true
    }

    /// Links naming an alias the Blueprint has no dependency for.
    fn check_links(&mut self, app: usize, bp: &Blueprint, links: &BTreeMap<String, String>, aliases: &[String]) {
        for alias in links.keys().filter(|a| !aliases.contains(a)) {
            let at = self.app_origin(app).join(&format!("/links/{alias}"));
            let mut d = Diagnostic::error(codes::RESOLVE_UNKNOWN_ALIAS, format!("{} has no dependency with alias `{alias}`", bp.id()))
                .with_label(Label::primary(self.cx.sources.key_span_at(at.file, &at.pointer), "this link"));
            d = match did_you_mean(alias, aliases.iter().map(String::as_str)) {
                Some(best) => d.with_help(format!("did you mean `{best}`?")),
                None if aliases.is_empty() => d.with_help(format!("{} has no dependencies; remove `links`", bp.id())),
                None => d.with_help(format!("aliases of {}: {}", bp.id(), aliases.join(", "))),
            };
            self.problems.push(d);
        }
    }

    fn root_of(&self, i: usize) -> String {
        match &self.instances[i].source {
            InstanceSource::Declared { .. } => format!("{}/{}", self.org.slug, self.instances[i].name),
            InstanceSource::Dedicated { parent, .. } => format!("{}/{}", self.org.slug, parent),
        }
    }

    /// A dependency satisfied by an existing Application named in `links`.
    fn link(&mut self, i: usize, target: &str, need: &Need) -> Option<Edge> {
        let Need { alias, dep, requirement, .. } = need;
        let InstanceSource::Declared { app } = self.instances[i].source else { return None };
        let at = self.app_origin(app).join(&format!("/links/{alias}"));
        let span = self.cx.sources.span_at(at.file, &at.pointer);
        if self.failed.contains(target) {
            return None;
        }
        let Some(linked) = self.instances.iter().find(|x| x.name == target && matches!(x.source, InstanceSource::Declared { .. })) else {
            let declared: Vec<&str> = self.org.spec.applications.iter().map(|a| a.name.as_str()).collect();
            let message = if declared.contains(&target) {
                format!("`{target}` is not installed in {}", self.environment)
            } else {
                format!("no Application `{target}` in Organization {}", self.org.slug)
            };
            let mut d = Diagnostic::error(codes::RESOLVE_DANGLING_LINK, message).with_label(Label::primary(span, "linked here"));
            d = match did_you_mean(target, declared.iter().copied().filter(|n| *n != target)) {
                Some(best) if !declared.contains(&target) => d.with_help(format!("did you mean `{best}`?")),
                _ => d.with_help(format!(
                    "install `{target}` in {} too, or drop the link to get a dedicated `{}-{alias}`",
                    self.environment, self.instances[i].name
                )),
            };
            self.problems.push(d);
            return None;
        };
        let linked_bp = self.cx.blueprint(linked.blueprint);
        if linked_bp.name != dep.blueprint {
            self.problems.push(
                Diagnostic::error(
                    codes::RESOLVE_LINK_MISMATCH,
                    format!("`{target}` runs {}, but alias `{alias}` needs {}", linked_bp.name, dep.blueprint),
                )
                .with_label(Label::primary(span, "linked here"))
                .with_label(Label::secondary(
                    self.cx.sources.span_at(linked.origin.file, &format!("{}/blueprint", linked.origin.pointer)),
                    format!("`{target}` is a {}", linked_bp.name),
                ))
                .with_help(format!("link an Application of {}", dep.blueprint)),
            );
            return None;
        }
        if !requirement.req.matches(&linked_bp.version) {
            self.problems.push(
                Diagnostic::error(
                    codes::RESOLVE_UNSATISFIABLE,
                    format!(
                        "`{target}` runs {}, but {} requires {} {}",
                        linked_bp.id(),
                        requirement.asked_by,
                        dep.blueprint,
                        requirement.text
                    ),
                )
                .with_label(Label::primary(span, "linked here"))
                .with_label(Label::secondary(
                    self.cx.sources.span_at(requirement.origin.file, &requirement.origin.pointer),
                    "requirement declared here",
                ))
                .with_label(Label::secondary(
                    self.cx.sources.span_at(linked.origin.file, &linked.origin.pointer),
                    format!("`{target}` chose {} here", linked_bp.version),
                ))
                .with_help(format!("change `{target}`'s version requirement to one that allows {}", requirement.text)),
            );
            return None;
        }
        Some(Edge { alias: alias.to_string(), target: target.to_string(), linked: true })
    }

    /// The name `<app>-<alias>` of a new dedicated Application, unless the Environment has too
    /// many already, the name is too long, or an Application has it.
    fn dedicated_name(&mut self, i: usize, need: &Need) -> Option<String> {
        let (alias, dep_origin) = (&need.alias, &need.origin);
        let parent = &self.instances[i].name;
        let name = format!("{parent}-{alias}");
        let span = self.cx.sources.span_at(dep_origin.file, &dep_origin.pointer);
        if self.dedicated >= MAX_DEDICATED_PER_ENVIRONMENT {
            // Reported once: every further one would say the same.
            if self.dedicated == MAX_DEDICATED_PER_ENVIRONMENT {
                self.problems.push(
                    Diagnostic::error(
                        codes::RESOLVE_TOO_MANY,
                        format!("{} needs more than {MAX_DEDICATED_PER_ENVIRONMENT} dedicated Applications", self.environment),
                    )
                    .with_label(Label::primary(span, "this dependency multiplies them"))
                    .with_help("satisfy shared dependencies with `links` to one existing Application instead of a dedicated one each"),
                );
                self.dedicated += 1;
            }
            return None;
        }
        self.dedicated += 1;
        if name.len() > 63 {
            self.problems.push(
                Diagnostic::error(codes::NAMING_TOO_LONG, format!("dedicated Application name `{name}` is longer than 63 characters"))
                    .with_label(Label::primary(
                        self.cx.sources.span_at(self.instances[i].origin.file, &self.instances[i].origin.pointer),
                        "for this Application",
                    ))
                    .with_help("shorten the Application name or link an existing Application for this dependency"),
            );
            return None;
        }
        if let Some(clash) = self.instances.iter().find(|x| x.name == name) {
            self.problems.push(
                Diagnostic::error(
                    codes::RESOLVE_NAME_COLLISION,
                    format!("the dedicated Application `{name}` for alias `{alias}` of `{parent}` collides with an existing one"),
                )
                .with_label(Label::primary(self.cx.sources.span_at(clash.origin.file, &clash.origin.pointer), "already named so"))
                .with_label(Label::secondary(span, "dependency that needs it"))
                .with_help(format!("rename `{name}`, or link it: `links: {{{alias}: {name}}}`")),
            );
            return None;
        }
        Some(name)
    }

    /// Whether the bootstrap kit runs the dependency's Blueprint; a kit release of a version the
    /// requirement refuses is reported (it serves the Application all the same).
    fn kit_serves(&mut self, i: usize, need: &Need) -> bool {
        let Some(release) = kit_release(self.cx.project, self.kit, &need.dep.blueprint) else { return false };
        let kit_bp = self.cx.blueprint(release.blueprint);
        if !need.requirement.req.matches(&kit_bp.version) {
            let at = &need.requirement.origin;
            self.problems.push(
                Diagnostic::error(
                    codes::RESOLVE_KIT_VERSION,
                    format!(
                        "{} needs {} `{}`, but the bootstrap kit runs {}",
                        self.instances[i].name,
                        need.dep.blueprint,
                        need.requirement.text,
                        kit_bp.id()
                    ),
                )
                .with_label(Label::primary(self.cx.sources.span_at(at.file, &at.pointer), "this requirement"))
                .with_help("the kit's release serves every Application: widen the requirement, or move the kit to a version it allows"),
            );
        }
        true
    }

    /// A dependency satisfied by a new Application `<app>-<alias>` of its own.
    fn dedicated(&mut self, i: usize, need: Need, context: &Json, chain: &mut Vec<(String, Origin)>) -> Option<Edge> {
        let name = self.dedicated_name(i, &need)?;
        let Need { alias, dep, origin: dep_origin, requirement } = need;
        let blueprint = match self.cx.choose(&dep.blueprint, std::slice::from_ref(&requirement), &requirement.origin) {
            Ok(b) => b,
            Err(d) => {
                self.problems.push(d);
                return None;
            }
        };
        let mut values_context = context.clone();
        values_context["dependency"] = json!({"alias": alias, "blueprint": dep.blueprint, "name": name});
        let values = match expr::render_values(&self.jinja, &dep.values, &values_context) {
            Ok(v) => v,
            Err(e) => {
                self.problems.push(expression_error(self.cx.sources, &dep_origin.child("values"), "value", e));
                return None;
            }
        };
        let values_origin = dep_origin.join("/values");
        let layer = [Layer { value: &values, origin: values_origin }];
        let (config, secrets) = match self.cx.validated(blueprint, Some(&self.org.slug), &layer, &dep_origin) {
            Ok(v) => v,
            Err(d) => {
                self.problems.extend(d);
                return None;
            }
        };
        let parent_instance = &self.instances[i];
        let instance = Instance {
            name: name.clone(),
            blueprint,
            requirement_at: requirement.origin.clone(),
            requirement: requirement.text,
            base_config: config.clone(),
            env_config: Json::Null,
            config,
            secrets,
            source: InstanceSource::Dedicated { parent: parent_instance.name.clone(), alias: alias.clone(), values },
            depends_on: Vec::new(),
            skipped: Vec::new(),
            placement: parent_instance.placement.clone(),
            regions: parent_instance.regions.clone(),
            origin: dep_origin.clone(),
            variants: Vec::new(),
        };
        self.instances.push(instance);
        let index = self.instances.len() - 1;
        chain.push((self.cx.blueprint(self.instances[i].blueprint).name.clone(), dep_origin));
        self.dependencies(index, chain);
        chain.pop();
        Some(Edge { alias, target: name, linked: false })
    }

    /// Links can make Applications wait for each other in a circle.
    /// An Application waits for its dependencies in each of its regions, so they run there too.
    fn check_placements(&mut self) {
        let regions: HashMap<&str, &[String]> = self.instances.iter().map(|x| (x.name.as_str(), x.regions.as_slice())).collect();
        for instance in &self.instances {
            for edge in &instance.depends_on {
                let Some(target) = regions.get(edge.target.as_str()) else { continue };
                let Some(missing) = instance.regions.iter().find(|r| !target.contains(r)) else { continue };
                let at = match edge.linked {
                    true => self
                        .cx
                        .sources
                        .key_span_at(instance.origin.file, &pointer::child(&format!("{}/links", instance.origin.pointer), &edge.alias)),
                    false => self.cx.sources.span_at(instance.origin.file, &instance.origin.pointer),
                };
                self.problems.push(
                    Diagnostic::error(
                        codes::RESOLVE_PLACEMENT_DEPENDENCY,
                        format!("`{}` runs in {missing}, where its dependency `{}` does not run", instance.name, edge.target),
                    )
                    .with_label(Label::primary(at, format!("`{}` satisfies `{}`", edge.target, edge.alias)))
                    .with_note(format!("`{}` runs in {}", edge.target, target.join(", ")))
                    .with_help(format!(
                        "place `{}` in every region `{}` runs in, or narrow `{}`'s placement",
                        edge.target, instance.name, instance.name
                    )),
                );
            }
        }
    }

    fn check_cycles(&mut self) {
        let mut graph: DiGraph<usize, ()> = DiGraph::new();
        let nodes: Vec<NodeIndex> = (0..self.instances.len()).map(|i| graph.add_node(i)).collect();
        let index: HashMap<&str, usize> = self.instances.iter().enumerate().map(|(i, x)| (x.name.as_str(), i)).collect();
        for (i, instance) in self.instances.iter().enumerate() {
            for edge in &instance.depends_on {
                if let Some(&target) = index.get(edge.target.as_str()) {
                    graph.add_edge(nodes[target], nodes[i], ());
                }
            }
        }
        if petgraph::algo::toposort(&graph, None).is_ok() {
            return;
        }
        let cycle = find_cycle(&graph);
        let names: Vec<String> = cycle.iter().map(|n| self.instances[graph[*n]].name.clone()).collect();
        let first = &self.instances[graph[cycle[0]]];
        self.problems.push(
            Diagnostic::error(
                codes::RESOLVE_CYCLE,
                format!("Applications in {} wait for each other: {}", self.environment, cycle_text(&names)),
            )
            .with_label(Label::primary(self.cx.sources.span_at(first.origin.file, &first.origin.pointer), "part of the cycle"))
            .with_help("remove one of the `links` that close the cycle"),
        );
    }
}
