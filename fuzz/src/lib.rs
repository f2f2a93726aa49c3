//! The bodies of the fuzz targets, one function per target. `fuzz_targets/*.rs`
//! hand libFuzzer's input to them; `tests/fuzz_corpus.rs` includes this file
//! and replays the committed corpora and crash reproducers through the same
//! functions in a plain `cargo test`.
//!
//! Each function takes arbitrary bytes and must return without panicking,
//! hanging or exhausting memory. Where the compiler promises more than that
//! (emitted YAML reads back as the same value, output paths stay inside the
//! output root) the function asserts it, so a broken promise is a crash too.

use std::fs;
use std::path::{Component, Path};

use arbitrary::{Arbitrary, Unstructured};
use catalyst::diagnostic::format::{self, Format};
use catalyst::diagnostic::Diagnostics;
use catalyst::model::{Blueprint, BlueprintSpec, OrganizationSpec, SovereignSpec};
use catalyst::ops::graph::format::GraphFormat;
use catalyst::ops::graph::View;
use catalyst::pipeline::expr;
use catalyst::pipeline::load::schema::{check, InputKind};
use catalyst::pipeline::render::Output;
use catalyst::pipeline::validate::{effective_config, merged, ConfigSchema, Layer};
use catalyst::support::source::{Origin, Sources};
use catalyst::support::yaml;
use serde_json::{json, Value as Json};

/// Every renderer, so that spans are turned into lines and snippets as a user would see them.
fn render_all(diagnostics: &Diagnostics, sources: &Sources) {
    for format in [Format::Human, Format::Json, Format::Github] {
        let _ = format::render(format, diagnostics, sources, false);
    }
}

/// Largest value `yaml_input` writes and reads back: the inputs are a few KiB, so
/// only expanded aliases come near it.
const MAX_ROUND_TRIP_NODES: usize = 20_000;

fn json_nodes(value: &Json) -> usize {
    match value {
        Json::Array(items) => 1 + items.iter().map(json_nodes).sum::<usize>(),
        Json::Object(entries) => 1 + entries.values().map(|v| 1 + json_nodes(v)).sum::<usize>(),
        _ => 1,
    }
}

/// (a) One input file as `load` reads it: the YAML tree under budgets, the
/// schema of its kind, then the typed model. The first byte picks the kind.
pub fn yaml_input(data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    let kind = [InputKind::Blueprint, InputKind::Sovereign, InputKind::Organization][usize::from(selector % 3)];
    let mut sources = Sources::default();
    let id = sources.add("input.yaml", text.to_string());
    let mut diagnostics = Diagnostics::default();
    match yaml::parse(id, text) {
        Ok(root) => {
            let value = root.to_json();
            // Aliases are written out expanded: past this size the round trip would time the
            // emitter and the parser on megabytes of `- lol` under ASan instead of testing them.
            if json_nodes(&value) <= MAX_ROUND_TRIP_NODES {
                let emitted = yaml::to_yaml(&value);
                let reread = yaml::parse(id, &emitted).map(|n| n.to_json());
                assert_eq!(reread.as_ref().ok(), Some(&value), "the emitter changed the value; it wrote:\n{emitted}");
            }
            sources.set_root(id, root);
            let problems = check(kind, id, &value, &sources);
            if problems.is_empty() {
                let spec = value.get("spec").cloned().unwrap_or_default();
                let _ = match kind {
                    InputKind::Blueprint => serde_json::from_value::<BlueprintSpec>(spec).is_ok(),
                    InputKind::Sovereign => serde_json::from_value::<SovereignSpec>(spec).is_ok(),
                    InputKind::Organization => serde_json::from_value::<OrganizationSpec>(spec).is_ok(),
                };
            }
            diagnostics.extend(problems);
        }
        Err(d) => diagnostics.push(d),
    }
    render_all(&diagnostics, &sources);
}

/// (b) A `blueprint.yaml`-shaped document: `spec.configSchema` is compiled and
/// the config layers (every `spec.overlays` value, then each item of a
/// top-level `layers` list) are merged and validated against it.
pub fn config_schema(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut sources = Sources::default();
    let id = sources.add("blueprint.yaml", text.to_string());
    let Ok(root) = yaml::parse(id, text) else { return };
    let document = root.to_json();
    sources.set_root(id, root);
    let spec = BlueprintSpec { config_schema: document.pointer("/spec/configSchema").cloned(), ..BlueprintSpec::default() };
    let blueprint = Blueprint {
        name: "bp-fuzz".into(),
        version: semver::Version::new(1, 0, 0),
        dir: Default::default(),
        spec,
        origin: Origin::new(id, ""),
        version_pointer: "/spec/version",
        digest: String::new(),
    };
    let mut diagnostics = Diagnostics::default();
    match ConfigSchema::compile(&blueprint, &sources) {
        Ok(schema) => {
            let overlays = document.pointer("/spec/overlays").and_then(Json::as_object).into_iter().flatten();
            let layers = document.get("layers").and_then(Json::as_array).into_iter().flatten().enumerate();
            let layers: Vec<Layer<'_>> = overlays
                .map(|(name, value)| Layer { value, origin: blueprint.origin.join("/spec/overlays").child(name) })
                .chain(layers.map(|(i, value)| Layer { value, origin: blueprint.origin.join("/layers").child(i) }))
                .collect();
            let _ = merged(&schema, &layers);
            match effective_config(&blueprint, &schema, &layers, &blueprint.origin, &sources) {
                Ok(effective) => {
                    for secret in &schema.secrets {
                        let _ = effective.origin_of(secret);
                    }
                }
                Err(problems) => diagnostics.extend(problems),
            }
        }
        Err(d) => diagnostics.push(d),
    }
    render_all(&diagnostics, &sources);
}

/// (e) A CRD file as `--crds` reads it: the definitions in the stream are
/// registered (their strict schemas compiled on first use), every document is
/// then judged as an emitted object, and the problems are turned into
/// diagnostics pointing into the text, as `check` reports them.
pub fn crds(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut sources = Sources::default();
    let id = sources.add("crds.yaml", text.to_string());
    let mut diagnostics = Diagnostics::default();
    let mut schemas = catalyst::check::conform::Schemas::built_in();
    schemas.add_source(id, &mut sources, &mut diagnostics);
    if let Ok(objects) = yaml::parse_documents(id, text).map(|root| root.to_json()) {
        let objects = objects.as_array().cloned().unwrap_or_default();
        let report = schemas.check_file("objects.yaml", &objects);
        let report = report.with_text(&yaml::to_yaml_stream(&objects), None);
        diagnostics.extend(report.diagnostics(&mut sources, Path::new("out"), catalyst::check::conform::Missing::Report));
    }
    render_all(&diagnostics, &sources);
}

/// What a template or expression sees, shaped as the planner and resolver build it.
fn template_context() -> Json {
    json!({
        "config": {"replicas": 2, "tier": "gold", "hostname": "web.acme.example", "databases": ["web"], "database": {"mode": "embedded"}},
        "application": {"name": "web", "org": "acme", "environment": "acme-prod", "envType": "prod", "namespace": "acme-prod"},
        "sovereign": {"fqdn": "base.example.com", "name": "base", "provider": "hetzner"},
        "secrets": {"adminPassword": "web-adminpassword"},
        "dependency": {"alias": "db", "blueprint": "bp-db", "name": "web-db"},
    })
}

/// (c) Expressions and templates in the sandbox. The first byte picks the use:
/// a `when` condition, a `values` string, or a template file whose output is
/// read back as a YAML stream, as the renderer does.
pub fn template(data: &[u8]) {
    let Some((&mode, rest)) = data.split_first() else { return };
    let Ok(source) = std::str::from_utf8(rest) else { return };
    let env = expr::environment();
    let context = template_context();
    match mode % 3 {
        0 => {
            let _ = expr::condition(&env, source, &context);
        }
        1 => {
            let _ = expr::render_values(&env, &json!({"value": source, "list": [source]}), &context);
        }
        _ => {
            let env = expr::template_environment();
            if let Ok(documents) = expr::render_text(&env, source, &context).map(|text| yaml::parse_stream(&text)) {
                let _ = documents.map(|d| yaml::to_yaml_stream(&d));
            }
        }
    }
}

/// (d) A whole compile of a small generated Sovereign and catalog.
pub fn compile(data: &[u8]) {
    let Ok(project) = GenProject::arbitrary_take_rest(Unstructured::new(data)) else { return };
    let scratch = tempfile::tempdir().expect("a temporary folder");
    let sovereign = project.write(scratch.path());
    // Held to a lock of an earlier tree when the input gives one (upgrade paths).
    let replaces = match &project.lock {
        Some(users) => catalyst::Replaces::Lock(std::sync::Arc::new(catalyst::check::upgrades::Lock::parse(&lock_text(users)))),
        None => catalyst::Replaces::Nothing,
    };
    let options = catalyst::Options { replaces, ..catalyst::Options::default() };
    let compilation = catalyst::compile_with(std::sync::Arc::new(catalyst::support::vfs::DiskFs), &sovereign, &options);
    render_all(&compilation.diagnostics, &compilation.sources);
    for path in compilation.output.iter().flat_map(|o| o.files.keys()) {
        let contained = Path::new(path).components().all(|c| matches!(c, Component::Normal(_)));
        assert!(contained && !path.is_empty(), "output path `{path}` leaves the output root");
    }
}

/// (e) `catalyst graph` of a small generated Sovereign: every view, filtered by an Environment
/// and a focus the input picks, in every format. Every edge joins two drawn nodes.
pub fn graph(data: &[u8]) {
    let mut input = Unstructured::new(data);
    let Ok((env, focus, depth)) = <(Option<u8>, Option<u8>, u8)>::arbitrary(&mut input) else { return };
    let Ok(project) = GenProject::arbitrary_take_rest(input) else { return };
    let scratch = tempfile::tempdir().expect("a temporary folder");
    let sovereign = project.write(scratch.path());
    let filter = catalyst::ops::graph::Filter {
        env: env.map(|e| format!("{}-{}", pick(&ORGANIZATIONS, e), pick(&ENV_TYPES, e / 4))),
        focus: focus.map(|f| if f % 2 == 0 { pick(&APPS, f / 2) } else { pick(&BLUEPRINTS, f / 2) }.to_string()),
        depth: usize::from(depth % 4),
    };
    for view in [View::Blueprints, View::Apps, View::Kit] {
        let drawn = catalyst::ops::graph::draw(std::sync::Arc::new(catalyst::support::vfs::DiskFs), &sovereign, view, &filter);
        render_all(&drawn.diagnostics, &drawn.sources);
        let Some(graph) = &drawn.graph else { continue };
        for edge in &graph.edges {
            let drawn_node = |id: &str| graph.nodes.iter().any(|n| n.id == id);
            assert!(drawn_node(&edge.from) && drawn_node(&edge.to), "{view:?}: edge {} → {} joins a node not drawn", edge.from, edge.to);
        }
        for format in [GraphFormat::Dot, GraphFormat::Mermaid, GraphFormat::Json] {
            let _ = catalyst::ops::graph::format::render(format, graph);
        }
    }
}

/// (f) The reconcile check of a built tree, as `lint --built` reads one: the input is files,
/// each introduced by a line `=== <path>`, whatever their YAML holds.
pub fn reconcile(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else { return };
    let mut output = Output::default();
    for file in text.split("=== ").filter(|f| !f.is_empty()).take(256) {
        let (path, body) = file.split_once('\n').unwrap_or((file, ""));
        output.files.insert(path.trim().to_string(), body.as_bytes().to_vec());
    }
    let mut sources = Sources::default();
    let mut diagnostics = Diagnostics::default();
    diagnostics.extend(catalyst::check::reconcile::check_built(&output, Path::new("out"), &mut sources));
    render_all(&diagnostics, &sources);
}

// ------------------------------------------------------------ the generated project

/// A string from a pool of meaningful values, or any string at all.
#[derive(Arbitrary, Debug)]
enum Text {
    Known(u8),
    Raw(String),
}

impl Text {
    fn pick(&self, pool: &[&str]) -> String {
        match self {
            Text::Known(i) => pool[usize::from(*i) % pool.len()].to_string(),
            Text::Raw(s) => s.clone(),
        }
    }
}

/// Picks one of a fixed pool, with no way out of it (names the model refers to).
fn pick<'a>(pool: &[&'a str], i: u8) -> &'a str {
    pool[usize::from(i) % pool.len()]
}

/// Upstream catalogs spell names with and without `bp-`: both, so references cross the prefix.
const BLUEPRINTS: [&str; 6] = ["bp-app", "bp-db", "bp-cache", "bp-site", "app", "cache"];
/// Subcharts whose version pins a release (flux2 2.13.0 ships Flux 2.3.0), exact, ranged and unknown.
const SUBCHARTS: [&str; 6] = ["flux2 2.13.0", "flux2 ~2.17.0", "flux2 2.99.0", "cilium 1.16.5", "cilium ~1.16", "cilium v1.x"];
const UPGRADES: [&str; 4] = ["from: [\"1.0.x\"]", "from: [\"0.x\", \"2.0.0\"]", "blocks: [\"1.0.0\"]", "from: [\"not a version\"]"];
const ORGANIZATIONS: [&str; 4] = ["acme", "beta", "system", "x"];
const APPS: [&str; 5] = ["web", "db", "main-db", "site", "web-db"];
const ALIASES: [&str; 3] = ["db", "cache", "app"];
const REGIONS: [&str; 5] = ["hz-fsn-rtz-prod", "hz-nbg-rtz-prod", "hz-hel-dmz-prod", "aws-use-rtz-prod", "hz-nbg-mgt-dev"];
const ENV_TYPES: [&str; 6] = ["dev", "poc", "uat", "stg", "prod", "qa"];
const SIZES: [&str; 3] = ["small", "medium", "huge"];
const KEYS: [&str; 6] = ["replicas", "tier", "hostname", "password", "databases", "image"];
const REQUIREMENTS: [&str; 9] = ["^1.0", "^1", "~1.0.1", "=1.0.0", ">=0.1, <2", "*", "^2", "1.x", "^0.0.1"];
const STRINGS: [&str; 9] = [
    "gold",
    "bronze",
    "web.acme.example",
    "{{ .application.name }}",
    "{{ config.tier }}",
    "{{ config.nope }}",
    "db-{{ dependency.name }}",
    "{% for i in range(3) %}{{ i }}{% endfor %}",
    "",
];
const CONDITIONS: [&str; 5] = ["{{ .config.tier != 'bronze' }}", "config.replicas > 1", "{{ config.missing }}", "true", "{{ 1/0 }}"];
const TEMPLATES: [&str; 6] = [
    "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ application.name | tojson }}\ndata:\n  tier: {{ config.tier | default('x') | tojson }}\n",
    "apiVersion: v1\nkind: Service\nmetadata:\n  name: {{ application.name }}-svc\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {{ secrets | tojson }}\n",
    "kind: ConfigMap\ndata: {}\n",
    "{% for i in range(config.replicas | default(1)) %}---\nkind: Pod\nmetadata: {name: p{{ i }}}\n{% endfor %}",
    "{% include 'other.yaml' %}",
    "a: [unclosed\n",
];
const TEMPLATE_FILES: [&str; 4] = ["deployment.yaml", "service.yaml.j2", "nested/cm.yaml", "notes.txt"];

#[derive(Arbitrary, Debug)]
enum Scalar {
    Null,
    Bool(bool),
    Int(i16),
    Text(Text),
}

impl Scalar {
    fn json(&self) -> Json {
        match self {
            Scalar::Null => Json::Null,
            Scalar::Bool(b) => json!(b),
            Scalar::Int(i) => json!(i),
            Scalar::Text(t) => json!(t.pick(&STRINGS)),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum GenValue {
    Scalar(Scalar),
    List(Vec<Scalar>),
    Map(Vec<(u8, Scalar)>),
}

impl GenValue {
    fn json(&self) -> Json {
        match self {
            GenValue::Scalar(s) => s.json(),
            GenValue::List(items) => items.iter().take(4).map(Scalar::json).collect(),
            GenValue::Map(entries) => Json::Object(entries.iter().take(4).map(|(k, v)| (pick(&KEYS, *k).to_string(), v.json())).collect()),
        }
    }
}

/// A config mapping: keys from the names the schemas use.
fn config(entries: &[(u8, GenValue)]) -> Json {
    Json::Object(entries.iter().take(5).map(|(k, v)| (pick(&KEYS, *k).to_string(), v.json())).collect())
}

#[derive(Arbitrary, Debug)]
enum GenProperty {
    Integer { minimum: Option<i8>, default: Option<i16> },
    String { allowed: Option<Vec<Text>>, default: Option<Text> },
    Secret { as_format: bool },
    Strings,
    Object { secret_member: bool },
}

impl GenProperty {
    fn json(&self) -> Json {
        match self {
            GenProperty::Integer { minimum, default } => {
                let mut p = json!({"type": "integer"});
                if let Some(m) = minimum {
                    p["minimum"] = json!(m);
                }
                if let Some(d) = default {
                    p["default"] = json!(d);
                }
                p
            }
            GenProperty::String { allowed, default } => {
                let mut p = json!({"type": "string"});
                if let Some(allowed) = allowed {
                    p["enum"] = allowed.iter().take(4).map(|t| json!(t.pick(&STRINGS))).collect();
                }
                if let Some(d) = default {
                    p["default"] = json!(d.pick(&STRINGS));
                }
                p
            }
            GenProperty::Secret { as_format: true } => json!({"type": "string", "format": "secret"}),
            GenProperty::Secret { as_format: false } => json!({"type": "string", "x-catalyst-secret": true}),
            GenProperty::Strings => json!({"type": "array", "items": {"type": "string"}, "default": []}),
            GenProperty::Object { secret_member } => {
                let mut p = json!({"type": "object", "properties": {"mode": {"type": "string", "default": "embedded"}}});
                if *secret_member {
                    p["properties"]["password"] = json!({"type": "string", "x-catalyst-secret": true});
                }
                p
            }
        }
    }
}

#[derive(Arbitrary, Debug)]
enum GenManifests {
    Chart,
    Templates(Vec<(u8, Text)>),
    Kustomize {
        with_kustomization: bool,
    },
    Escaping(Text),
    Nothing,
    Several,
    /// No `manifests`, a chart in chart/ (the upstream convention) with a subchart and maybe its lock.
    Convention {
        subchart: u8,
        locked: bool,
    },
}

#[derive(Arbitrary, Debug)]
struct GenDependency {
    blueprint: u8,
    short_form: bool,
    version: Option<Text>,
    alias: Option<u8>,
    when: Option<Text>,
    values: Vec<(u8, GenValue)>,
}

impl GenDependency {
    fn json(&self) -> Json {
        let name = pick(&BLUEPRINTS, self.blueprint);
        if self.short_form {
            return json!(name);
        }
        let mut d = json!({"blueprint": name});
        if let Some(v) = &self.version {
            d["version"] = json!(v.pick(&REQUIREMENTS));
        }
        if let Some(a) = self.alias {
            d["alias"] = json!(pick(&ALIASES, a));
        }
        if let Some(w) = &self.when {
            d["when"] = json!(w.pick(&CONDITIONS));
        }
        if !self.values.is_empty() {
            d["values"] = config(&self.values);
        }
        d
    }
}

#[derive(Arbitrary, Debug)]
struct GenBlueprint {
    name: u8,
    version: (u8, u8, u8),
    prerelease: bool,
    required: Option<u8>,
    closed: bool,
    properties: Vec<(u8, GenProperty)>,
    manifests: GenManifests,
    overlays: Vec<(u8, Vec<(u8, GenValue)>)>,
    depends: Vec<GenDependency>,
    /// Upgrade paths, and whether the Blueprint writes its pins (then `flux` and `cilium`).
    upgrades: Option<u8>,
    pins: Option<(u8, u8)>,
}

impl GenBlueprint {
    fn write(&self, dir: &Path) {
        let (major, minor, patch) = (self.version.0 % 3, self.version.1 % 3, self.version.2 % 3);
        let version = if self.prerelease { format!("{major}.{minor}.{patch}-rc.1") } else { format!("{major}.{minor}.{patch}") };
        let properties: serde_json::Map<String, Json> =
            self.properties.iter().take(5).map(|(k, p)| (pick(&KEYS, *k).to_string(), p.json())).collect();
        let mut schema = json!({"type": "object", "additionalProperties": !self.closed, "properties": properties});
        if let Some(r) = self.required {
            schema["required"] = json!([pick(&KEYS, r)]);
        }
        let manifests = match &self.manifests {
            GenManifests::Chart => {
                write(&dir.join("chart/Chart.yaml"), "apiVersion: v2\nname: chart\nversion: 1.0.0\n");
                json!({"chart": "./chart"})
            }
            GenManifests::Templates(files) => {
                for (name, text) in files.iter().take(3) {
                    write(&dir.join("templates").join(pick(&TEMPLATE_FILES, *name)), &text.pick(&TEMPLATES));
                }
                fs::create_dir_all(dir.join("templates")).expect("templates folder");
                json!({"templates": "./templates"})
            }
            GenManifests::Kustomize { with_kustomization } => {
                let body = if *with_kustomization { "kustomization.yaml" } else { "deployment.yaml" };
                write(&dir.join("base").join(body), "resources: []\n");
                json!({"kustomize": "./base"})
            }
            GenManifests::Escaping(path) => json!({"chart": path.pick(&["../other", "/etc", "./missing", "chart/../../x"])}),
            GenManifests::Nothing => json!({}),
            GenManifests::Convention { subchart, locked } => {
                let (name, version) = pick(&SUBCHARTS, *subchart).split_once(' ').expect("name and version");
                write(
                    &dir.join("chart/Chart.yaml"),
                    &format!("apiVersion: v2\nname: chart\nversion: 1.0.0\ndependencies:\n  - {{name: {name}, version: \"{version}\"}}\n"),
                );
                if *locked {
                    let exact = version.trim_start_matches(['~', 'v']);
                    write(&dir.join("chart/Chart.lock"), &format!("dependencies:\n- name: {name}\n  version: {exact}\n"));
                }
                json!(null)
            }
            GenManifests::Several => {
                write(&dir.join("chart/Chart.yaml"), "apiVersion: v2\nname: chart\nversion: 1.0.0\n");
                json!({"chart": "./chart", "templates": "./chart"})
            }
        };
        let overlays: serde_json::Map<String, Json> =
            self.overlays.iter().take(3).map(|(size, values)| (pick(&SIZES, *size).to_string(), config(values))).collect();
        let mut document = json!({
            "apiVersion": "catalyst.openova.io/v1alpha1",
            "kind": "Blueprint",
            "metadata": {"name": pick(&BLUEPRINTS, self.name)},
            "spec": {
                "version": version,
                "card": {"title": "Fuzz"},
                "configSchema": schema,
                "manifests": manifests,
                "overlays": overlays,
                "depends": self.depends.iter().take(3).map(GenDependency::json).collect::<Vec<_>>(),
            },
        });
        if document["spec"]["manifests"].is_null() {
            document["spec"].as_object_mut().expect("spec").remove("manifests");
        }
        if let Some(u) = self.upgrades {
            document["spec"]["upgrades"] =
                yaml::parse_stream(&format!("{{{}}}", pick(&UPGRADES, u))).map(|mut d| d.remove(0)).unwrap_or_default();
        }
        if let Some((flux, cilium)) = self.pins {
            let release = |i: u8| pick(&["2.9.4", "2.3.0", "1.16.5", "x; rm -rf /"], i).to_string();
            document["spec"]["pins"] = json!({"flux": release(flux), "cilium": release(cilium)});
        }
        write(&dir.join("blueprint.yaml"), &yaml::to_yaml(&document));
    }
}

#[derive(Arbitrary, Debug)]
struct GenEnvironment {
    env_type: u8,
    regions: Vec<u8>,
    min_approvals: Option<u8>,
}

#[derive(Arbitrary, Debug)]
struct GenOverride {
    env_type: u8,
    version: Option<Text>,
    size: Option<u8>,
    config: Vec<(u8, GenValue)>,
}

#[derive(Arbitrary, Debug)]
struct GenApplication {
    name: u8,
    blueprint: u8,
    version: Option<Text>,
    size: Option<u8>,
    config: Vec<(u8, GenValue)>,
    links: Vec<(u8, u8)>,
    environments: Option<Vec<GenOverride>>,
    regions: Option<Vec<u8>>,
}

impl GenApplication {
    fn json(&self) -> Json {
        let mut a = json!({"name": pick(&APPS, self.name), "blueprint": pick(&BLUEPRINTS, self.blueprint)});
        if let Some(v) = &self.version {
            a["version"] = json!(v.pick(&REQUIREMENTS));
        }
        if let Some(s) = self.size {
            a["size"] = json!(pick(&SIZES, s));
        }
        if !self.config.is_empty() {
            a["config"] = config(&self.config);
        }
        if !self.links.is_empty() {
            a["links"] = Json::Object(
                self.links.iter().take(2).map(|(alias, app)| (pick(&ALIASES, *alias).to_string(), json!(pick(&APPS, *app)))).collect(),
            );
        }
        if let Some(overrides) = &self.environments {
            a["environments"] = Json::Object(
                overrides
                    .iter()
                    .take(3)
                    .map(|o| {
                        let mut e = json!({});
                        if let Some(v) = &o.version {
                            e["version"] = json!(v.pick(&REQUIREMENTS));
                        }
                        if let Some(s) = o.size {
                            e["size"] = json!(pick(&SIZES, s));
                        }
                        if !o.config.is_empty() {
                            e["config"] = config(&o.config);
                        }
                        (pick(&ENV_TYPES, o.env_type).to_string(), e)
                    })
                    .collect(),
            );
        }
        if let Some(regions) = &self.regions {
            a["placement"] = json!({"regions": regions.iter().take(3).map(|r| pick(&REGIONS, *r)).collect::<Vec<_>>()});
        }
        a
    }
}

#[derive(Arbitrary, Debug)]
struct GenOrganization {
    slug: u8,
    environments: Vec<GenEnvironment>,
    applications: Vec<GenApplication>,
}

impl GenOrganization {
    fn json(&self) -> Json {
        let environments: Vec<Json> = self
            .environments
            .iter()
            .take(3)
            .map(|e| {
                let mut env = json!({
                    "type": pick(&ENV_TYPES, e.env_type),
                    "regions": e.regions.iter().take(3).map(|r| pick(&REGIONS, *r)).collect::<Vec<_>>(),
                });
                if let Some(n) = e.min_approvals {
                    env["policy"] = json!({"rules": [{"kind": "pr-required", "approvers": ["leads"], "minApprovals": n % 3}]});
                }
                env
            })
            .collect();
        json!({
            "apiVersion": "catalyst.openova.io/v1alpha1",
            "kind": "Organization",
            "metadata": {"name": pick(&ORGANIZATIONS, self.slug)},
            "spec": {"environments": environments, "applications": self.applications.iter().take(4).map(GenApplication::json).collect::<Vec<_>>()},
        })
    }
}

#[derive(Arbitrary, Debug)]
struct GenKitEntry {
    blueprint: u8,
    version: Option<Text>,
    values: Vec<(u8, GenValue)>,
}

#[derive(Arbitrary, Debug)]
struct GenProject {
    blueprints: Vec<GenBlueprint>,
    regions: Vec<u8>,
    /// `None` installs the default kit, which this catalog lacks.
    kit: Option<Vec<GenKitEntry>>,
    organizations: Vec<GenOrganization>,
    /// The lock of an earlier tree.
    lock: Option<Vec<LockUser>>,
}

/// A user of a locked Blueprint version: (Blueprint, version, user).
type LockUser = (u8, (u8, u8, u8), u8);

/// A `catalyst.lock` naming users of the generated Organizations (`<org>-<env>/<app>`) and the kit.
fn lock_text(users: &[LockUser]) -> String {
    let mut text = String::from("lockVersion: 1\nblueprints:\n");
    for (blueprint, (major, minor, patch), user) in users.iter().take(4) {
        let user = format!("{}-{}/{}", pick(&ORGANIZATIONS, *user), pick(&ENV_TYPES, user / 8), pick(&APPS, user / 64));
        let user = if user.starts_with("x-") { "bootstrap-kit".to_string() } else { user };
        text.push_str(&format!(
            "  - {{name: {}, version: {}.{}.{}, usedBy: [{user}]}}\n",
            pick(&BLUEPRINTS, *blueprint),
            major % 3,
            minor % 3,
            patch % 3
        ));
    }
    text
}

const FQDN: &str = "fuzz.example.com";

impl GenProject {
    /// The control-plane region first (unless the first byte is 0, to reach the diagnostics of
    /// a Sovereign without one), then up to three picks.
    fn sovereign_regions(&self) -> Vec<&'static str> {
        let control_plane = (self.regions.first() != Some(&0)).then_some("hz-fsn-mgt-prod");
        control_plane.into_iter().chain(self.regions.iter().take(3).map(|r| pick(&REGIONS, *r))).collect()
    }

    /// Writes the catalog and the Sovereign below `root`; returns the Sovereign folder.
    fn write(&self, root: &Path) -> std::path::PathBuf {
        for (i, blueprint) in self.blueprints.iter().take(5).enumerate() {
            blueprint.write(&root.join("blueprints").join(i.to_string()));
        }
        // The Organizations' virtual clusters, which every Sovereign with an Environment needs.
        let vcluster = root.join("blueprints").join("vcluster");
        let chart = "apiVersion: catalyst.openova.io/v1alpha1\nkind: Blueprint\nmetadata:\n  name: bp-vcluster\nspec:\n  version: 1.0.0\n  card: {title: vCluster}\n  manifests:\n    chart: ./chart\n";
        write(&vcluster.join("blueprint.yaml"), chart);
        write(&vcluster.join("chart").join("Chart.yaml"), "apiVersion: v2\nname: bp-vcluster\nversion: 1.0.0\n");
        let sovereign = root.join("sovereigns").join(FQDN);
        let mut spec = json!({
            "fqdn": FQDN,
            "provider": "hetzner",
            "catalogs": ["../../blueprints"],
            "regions": self.sovereign_regions(),
        });
        if let Some(kit) = &self.kit {
            spec["bootstrapKit"] = kit
                .iter()
                .take(3)
                .map(|e| {
                    let mut entry = json!({"blueprint": pick(&BLUEPRINTS, e.blueprint)});
                    if let Some(v) = &e.version {
                        entry["version"] = json!(v.pick(&REQUIREMENTS));
                    }
                    if !e.values.is_empty() {
                        entry["values"] = config(&e.values);
                    }
                    entry
                })
                .collect();
        }
        let document =
            json!({"apiVersion": "catalyst.openova.io/v1alpha1", "kind": "Sovereign", "metadata": {"name": "fuzz"}, "spec": spec});
        write(&sovereign.join("sovereign.yaml"), &yaml::to_yaml(&document));
        for (i, organization) in self.organizations.iter().take(2).enumerate() {
            write(&sovereign.join("organizations").join(format!("{i}.yaml")), &yaml::to_yaml(&organization.json()));
        }
        sovereign
    }
}

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().expect("below the scratch folder")).expect("create a scratch folder");
    fs::write(path, text).expect("write a scratch file");
}
