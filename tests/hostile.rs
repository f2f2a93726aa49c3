//! Hostile and broken input. Every resource limit answers with its coded
//! diagnostic and writes nothing; manifest paths, templates and configSchemas
//! cannot reach outside the Blueprint folder; the output folder is never
//! replaced through a symbolic link; a secret planted in the inputs or the
//! environment appears in nothing the compiler prints or writes.
//!
//! Each test starts from `tests/bad-inputs/_base` in a temporary folder and
//! changes what it needs.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;

use catalyst::diagnostic::MAX_DIAGNOSTICS;
use catalyst::pipeline::load::MAX_FILE_SIZE;
use catalyst::pipeline::resolve::MAX_DEPENDENCY_DEPTH;
use catalyst::support::source::FileId;
use catalyst::support::yaml::{self, MAX_DEPTH, MAX_NODES};
use common::{catalyst_command, materialize, snapshot, sovereign_of};
use serde_json::Value as Json;

const ORGANIZATION: &str = "sovereigns/base.example.com/organizations/acme.yaml";
const SOVEREIGN: &str = "sovereigns/base.example.com/sovereign.yaml";
/// Every `--format`.
const FORMATS: [&str; 4] = ["human", "json", "github", "markdown"];

/// `_base` in a temporary folder; the output goes to `<root>/out`.
struct Project {
    scratch: tempfile::TempDir,
    sovereign: PathBuf,
}

impl Project {
    fn base() -> Self {
        let scratch = materialize(None);
        let sovereign = sovereign_of(scratch.path());
        Project { scratch, sovereign }
    }

    fn root(&self) -> &Path {
        self.scratch.path()
    }

    fn out(&self) -> PathBuf {
        self.root().join("out")
    }

    fn write(&self, relative: &str, text: &str) {
        let path = self.root().join(relative);
        fs::create_dir_all(path.parent().expect("below the root")).expect("create folder");
        fs::write(path, text).expect("write fixture file");
    }

    fn append(&self, relative: &str, text: &str) {
        let mut all = fs::read_to_string(self.root().join(relative)).expect("fixture file");
        all.push_str(text);
        self.write(relative, &all);
    }

    /// Adds a chart Blueprint `bp-<name>` at `blueprints/<folder>/`; `spec` is appended to its spec.
    fn chart_blueprint(&self, folder: &str, name: &str, version: &str, spec: &str) {
        self.write(&format!("blueprints/{folder}/chart/Chart.yaml"), &format!("apiVersion: v2\nname: bp-{name}\nversion: {version}\n"));
        self.write(
            &format!("blueprints/{folder}/blueprint.yaml"),
            &format!(
                "apiVersion: catalyst.openova.io/v1alpha1\nkind: Blueprint\nmetadata: {{name: bp-{name}}}\nspec:\n  version: {version}\n  card: {{title: {name}}}\n  manifests: {{chart: ./chart}}\n{spec}"
            ),
        );
    }

    /// Adds a template Blueprint `bp-site` with the given template files, installed as Application `site`.
    fn template_site(&self, templates: &[(&str, &str)]) {
        self.write(
            "blueprints/site/blueprint.yaml",
            "apiVersion: catalyst.openova.io/v1alpha1\nkind: Blueprint\nmetadata: {name: bp-site}\nspec:\n  version: 1.0.0\n  card: {title: Site}\n  configSchema: {type: object, properties: {password: {type: string, x-catalyst-secret: true}}}\n  manifests: {templates: ./templates}\n",
        );
        fs::create_dir_all(self.root().join("blueprints/site/templates")).expect("templates folder");
        for (name, text) in templates {
            self.write(&format!("blueprints/site/templates/{name}"), text);
        }
        self.install("site", "bp-site");
    }

    fn install(&self, app: &str, blueprint: &str) {
        self.append(ORGANIZATION, &format!("    - name: {app}\n      blueprint: {blueprint}\n"));
    }

    /// The codes of an in-process compile, in report order.
    fn codes(&self) -> Vec<&'static str> {
        catalyst::compile(&self.sovereign).diagnostics.iter().map(|d| d.code.id).collect()
    }

    fn catalyst(&self, args: &[&str]) -> Output {
        catalyst_command().args(args).current_dir(self.root()).output().expect("the catalyst binary runs")
    }

    fn build(&self, format: &str) -> Output {
        let (sovereign, out) = (self.sovereign.to_str().expect("utf-8"), self.out());
        self.catalyst(&["--format", format, "build", sovereign, "-o", out.to_str().expect("utf-8")])
    }

    /// Builds with the real binary and expects a refusal that names `code`, exit 1 and no output folder.
    fn assert_refused(&self, code: &str) -> Json {
        let run = self.build("json");
        let report: Json = serde_json::from_slice(&run.stdout)
            .unwrap_or_else(|e| panic!("no JSON report ({e}); exit {:?}, stderr:\n{}", run.status.code(), text(&run.stderr)));
        let codes: Vec<&str> = report["diagnostics"].as_array().expect("a list").iter().filter_map(|d| d["code"].as_str()).collect();
        assert!(codes.contains(&code), "expected {code}, got {codes:?}");
        assert_eq!(run.status.code(), Some(1), "exit code; stderr:\n{}", text(&run.stderr));
        assert!(!self.out().exists(), "a refused build created {}", self.out().display());
        report
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A YAML mapping whose aliases expand to 10^9 nodes in under a kilobyte.
fn alias_bomb() -> String {
    let mut bomb = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for level in 1..9 {
        let refs = vec![format!("*a{}", level - 1); 10].join(", ");
        bomb.push_str(&format!("a{level}: &a{level} [{refs}]\n"));
    }
    bomb
}

// ------------------------------------------------------------ resource limits

#[test]
fn an_alias_bomb_is_refused_by_the_node_budget() {
    assert!(10usize.pow(9) > MAX_NODES);
    let project = Project::base();
    project.append(ORGANIZATION, &format!("x-bomb:\n{}", alias_bomb().lines().map(|l| format!("  {l}\n")).collect::<String>()));
    project.assert_refused("catalyst::yaml::too-large");
}

#[test]
fn deep_nesting_is_refused_by_the_depth_budget() {
    let flow = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
    let block = |depth: usize| (0..depth).map(|i| format!("{}- ", "  ".repeat(i))).collect::<Vec<_>>().join("\n") + "x\n";
    let code = |text: &str| yaml::parse(FileId(0), text).map(|_| ()).unwrap_err().code;
    assert!(
        yaml::parse(FileId(0), &flow(MAX_DEPTH)).is_ok() && yaml::parse(FileId(0), &block(MAX_DEPTH)).is_ok(),
        "{MAX_DEPTH} levels are allowed"
    );
    assert_eq!(code(&flow(MAX_DEPTH + 1)), "catalyst::yaml::too-deep");
    assert_eq!(code(&block(1_000)), "catalyst::yaml::too-deep");
    // saphyr's scanner stops flow collections 256 deep itself, before the budget sees them: the same code.
    assert_eq!(code(&flow(1_000)), "catalyst::yaml::too-deep");
    assert_eq!(code(&flow(1_000_000)), "catalyst::yaml::too-deep");
    assert_eq!(code(&format!("a: {}{}", "{a: ".repeat(300), "}".repeat(300))), "catalyst::yaml::too-deep");
    let project = Project::base();
    project.append(SOVEREIGN, &format!("  infrastructure: {{deep: {}}}\n", flow(MAX_DEPTH)));
    project.assert_refused("catalyst::yaml::too-deep");
}

#[test]
fn input_files_are_limited_in_size() {
    let project = Project::base();
    let original = fs::read_to_string(project.root().join(SOVEREIGN)).expect("sovereign.yaml");
    let padded = |size: u64| format!("{original}#{}\n", "x".repeat(size as usize - original.len() - 2));
    project.write(SOVEREIGN, &padded(MAX_FILE_SIZE));
    assert!(project.codes().is_empty(), "a file of exactly the limit is read");
    project.write(SOVEREIGN, &padded(MAX_FILE_SIZE + 1));
    project.assert_refused("catalyst::load::too-large");
}

#[test]
fn template_files_are_limited_in_size() {
    let project = Project::base();
    let big = format!("#{}\n", "x".repeat(MAX_FILE_SIZE as usize));
    project.template_site(&[("big.yaml", &big)]);
    let report = project.assert_refused("catalyst::render::template");
    assert!(report.to_string().contains("the limit is"), "{report}");
}

#[test]
fn template_execution_is_bounded() {
    let project = Project::base();
    project.template_site(&[
        ("loop.yaml", "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"),
        ("doubling.yaml", "{% set ns = namespace(s='xxxxxxxx') %}{% for i in range(60) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}"),
        ("range.yaml", "{{ range(1000000000) | length }}"),
        ("blocks.yaml", &format!("{}x{}", "{% for i in [1] %}".repeat(2000), "{% endfor %}".repeat(2000))),
        ("list.yaml", &format!("data: {{{{ {}{} }}}}", "[".repeat(100_000), "]".repeat(100_000))),
    ]);
    let report = project.assert_refused("catalyst::render::template");
    let messages: Vec<&str> = report["diagnostics"].as_array().expect("a list").iter().filter_map(|d| d["message"].as_str()).collect();
    for (file, why) in [
        ("loop.yaml", "fuel"),
        ("doubling.yaml", "fuel"),
        ("range.yaml", "too many elements"),
        ("blocks.yaml", "recursion"),
        // 100,000 nested brackets: refused by the operator budget before the parser recurses.
        ("list.yaml", "operators"),
    ] {
        assert!(messages.iter().any(|m| m.contains(&format!("`{file}`")) && m.contains(why)), "{file}: no `{why}` in {messages:#?}");
    }
}

#[test]
fn the_resolver_is_bounded_on_many_versions_and_ranges() {
    let project = Project::base();
    for minor in 0..300 {
        project.chart_blueprint(&format!("many/{minor}"), "many", &format!("1.{minor}.0"), "");
    }
    // One dependency per range, each its own dedicated Application, then a requirement none satisfies.
    let depends: String =
        (0..40).map(|i| format!("    - {{blueprint: bp-many, alias: r{i}, version: '>=1.{i}.0, <1.{}.0'}}\n", i + 200)).collect();
    project.chart_blueprint("ranges", "ranges", "1.0.0", &format!("  depends:\n{depends}"));
    project.install("ranged", "bp-ranges");
    assert!(project.codes().is_empty(), "{:?}", project.codes());
    project.append(ORGANIZATION, "    - {name: newest, blueprint: bp-many, version: '^2'}\n");
    let report = project.assert_refused("catalyst::resolve::unsatisfiable");
    assert!(report.to_string().contains("1.299.0"), "the versions the catalog has are listed");
}

#[test]
fn dependency_chains_are_bounded_in_depth() {
    let project = Project::base();
    let length = MAX_DEPENDENCY_DEPTH + 2;
    for level in 0..length {
        let next = if level + 1 < length { format!("  depends: [{{blueprint: bp-l{}, alias: d}}]\n", level + 1) } else { String::new() };
        project.chart_blueprint(&format!("l{level}"), &format!("l{level}"), "1.0.0", &next);
    }
    project.install("x", "bp-l0");
    project.assert_refused("catalyst::resolve::too-deep");
}

#[test]
fn dependency_fan_out_is_bounded() {
    // Each level depends three times on the next: 3^8 = 6,561 dedicated Applications at depth 9.
    let project = Project::base();
    let levels = 9;
    for level in 0..levels {
        let next = if level + 1 < levels {
            let alias = |a: u32| format!("{{blueprint: bp-f{}, alias: a{a}}}", level + 1);
            format!("  depends: [{}, {}, {}]\n", alias(1), alias(2), alias(3))
        } else {
            String::new()
        };
        project.chart_blueprint(&format!("f{level}"), &format!("f{level}"), "1.0.0", &next);
    }
    project.install("x", "bp-f0");
    let report = project.assert_refused("catalyst::resolve::too-many");
    let count = report["diagnostics"].as_array().expect("a list").iter().filter(|d| d["code"] == "catalyst::resolve::too-many").count();
    assert_eq!(count, 1, "reported once");
}

#[test]
fn a_long_kit_chain_settles_on_consistent_versions() {
    // bp-kN 2.0.0 needs bp-k(N+1) ^1 and 1.0.0 needs ^2: each choice flips the next, one level per round.
    let project = Project::base();
    let length = 10;
    for level in 0..length {
        for major in [1, 2] {
            let wanted = if major == 2 { 1 } else { 2 };
            let depends = if level + 1 < length {
                format!("  depends: [{{blueprint: bp-k{}, version: \"^{wanted}\"}}]\n", level + 1)
            } else {
                String::new()
            };
            project.chart_blueprint(&format!("k{level}/{major}"), &format!("k{level}"), &format!("{major}.0.0"), &depends);
        }
    }
    let kit: String = (0..length).map(|level| format!("    - {{blueprint: bp-k{level}}}\n")).collect();
    let sovereign = fs::read_to_string(project.root().join(SOVEREIGN)).expect("sovereign.yaml");
    assert!(sovereign.contains("  bootstrapKit:\n"), "the base Sovereign lists its kit");
    project.write(SOVEREIGN, &sovereign.replace("  bootstrapKit:\n", &format!("  bootstrapKit:\n{kit}")));
    let compilation = catalyst::compile(&project.sovereign);
    let output = compilation
        .output
        .unwrap_or_else(|| panic!("{}", catalyst::diagnostic::format::human(&compilation.diagnostics, &compilation.sources, false)));
    let lock = yaml::parse_stream(&text(&output.files["catalyst.lock"])).expect("YAML").remove(0);
    let versions: Vec<String> = (0..length)
        .map(|level| {
            let entry = lock["blueprints"]
                .as_array()
                .expect("blueprints")
                .iter()
                .find(|b| b["name"] == format!("bp-k{level}"))
                .expect("in the lock");
            entry["version"].as_str().expect("version").to_string()
        })
        .collect();
    // bp-k0 is free (2), so bp-k1 must be 1, bp-k2 then 2, …: every requirement met.
    let expected: Vec<String> = (0..length).map(|level| if level % 2 == 0 { "2.0.0" } else { "1.0.0" }.to_string()).collect();
    assert_eq!(versions, expected);
}

#[test]
fn diagnostics_are_capped() {
    let project = Project::base();
    let extra = MAX_DIAGNOSTICS + 50;
    let apps: String = (0..extra).map(|i| format!("    - {{name: a{i}, blueprint: bp-db, typo{i}: 1}}\n")).collect();
    project.append(ORGANIZATION, &apps);
    let report = project.assert_refused("catalyst::schema::unknown-field");
    let listed = report["diagnostics"].as_array().expect("a list");
    assert_eq!(listed.len(), MAX_DIAGNOSTICS + 1, "the kept diagnostics and the notice of the cut");
    let last = &listed[MAX_DIAGNOSTICS];
    assert_eq!(last["code"], "catalyst::limit::diagnostics");
    assert_eq!(last["message"], format!("50 more diagnostic(s) not shown, 50 of them error(s): only the first {MAX_DIAGNOSTICS} are kept"));
    assert_eq!(report["dropped"], extra - MAX_DIAGNOSTICS);
    let human = project.build("human");
    let summary = format!("{extra} error(s), 0 warning(s) ({} not shown: the first {MAX_DIAGNOSTICS} are kept)", extra - MAX_DIAGNOSTICS);
    assert!(text(&human.stderr).contains(&summary), "{}", text(&human.stderr));
    assert!(text(&human.stderr).contains("catalyst::limit::diagnostics"), "the human report names the cut");
    assert!(!project.out().exists());
}

// ------------------------------------------------------------ containment

#[test]
fn manifest_paths_cannot_leave_the_blueprint_folder() {
    for kind in ["chart", "templates", "kustomize"] {
        for (path, why) in [("../../outside", "leaves"), ("/tmp", "leaves"), ("./link", "symbolic link")] {
            let project = Project::base();
            project.write("outside/Chart.yaml", "apiVersion: v2\nname: bp-db\nversion: 1.0.0\n");
            project.write("outside/kustomization.yaml", "resources: []\n");
            std::os::unix::fs::symlink("../../outside", project.root().join("blueprints/db/link")).expect("symlink");
            let blueprint = project.root().join("blueprints/db/blueprint.yaml");
            let original = fs::read_to_string(&blueprint).expect("blueprint.yaml");
            fs::write(&blueprint, original.replace("chart: ./chart", &format!("{kind}: {path}"))).expect("write blueprint.yaml");
            let compilation = catalyst::compile(&project.sovereign);
            let found = compilation.diagnostics.iter().find(|d| d.code == "catalyst::blueprint::path");
            let d = found.unwrap_or_else(|| panic!("{kind}: {path} was accepted"));
            assert!(d.message.contains(why), "{kind}: {path}: {}", d.message);
            let file = compilation.sources.path(d.primary_span().expect("a label").file);
            assert!(file.ends_with("blueprints/db/blueprint.yaml"), "{kind}: {path}: labelled in {}", file.display());
            assert!(compilation.output.is_none());
        }
    }
}

#[test]
fn template_folders_do_not_follow_symlinks_out() {
    let project = Project::base();
    let marker = "OUTSIDE-THE-BLUEPRINT-7c1d";
    project.write("outside/leak.yaml", &format!("apiVersion: v1\nkind: ConfigMap\nmetadata: {{name: {marker}}}\n"));
    project.template_site(&[("ok.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\n")]);
    let templates = project.root().join("blueprints/site/templates");
    std::os::unix::fs::symlink(project.root().join("outside/leak.yaml"), templates.join("leak.yaml")).expect("file symlink");
    std::os::unix::fs::symlink(project.root().join("outside"), templates.join("dir")).expect("folder symlink");
    let run = project.build("human");
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    let written = snapshot(&project.out());
    assert!(written.keys().any(|p| p.ends_with("manifests/ok.yaml")));
    for (path, bytes) in &written {
        assert!(!text(bytes).contains(marker) && !path.contains("leak"), "{path} holds a file from outside the Blueprint");
    }
}

#[test]
fn a_chart_file_linked_from_outside_is_not_read() {
    let project = Project::base();
    let marker = "OUTSIDE-CHART-3b9e";
    // A mismatched version would be reported, quoting the linked file, if it were read.
    project.write("outside/Chart.yaml", &format!("apiVersion: v2\nname: {marker}\nversion: 9.9.9\n"));
    let chart = project.root().join("blueprints/db/chart/Chart.yaml");
    fs::remove_file(&chart).expect("remove Chart.yaml");
    std::os::unix::fs::symlink(project.root().join("outside/Chart.yaml"), &chart).expect("symlink");
    let compilation = catalyst::compile(&project.sovereign);
    let shown = catalyst::diagnostic::format::human(&compilation.diagnostics, &compilation.sources, false);
    assert!(!shown.contains(marker) && !compilation.diagnostics.iter().any(|d| d.code == "catalyst::pin::mismatch"), "{shown}");
}

#[test]
fn templates_cannot_read_files_or_the_environment() {
    let project = Project::base();
    let hostile = [
        ("include.yaml", "{% include '/etc/passwd' %}"),
        ("import.yaml", "{% import '../blueprint.yaml' as b %}{{ b }}"),
        ("extends.yaml", "{% extends '/etc/hostname' %}"),
        ("from.yaml", "{% from '/etc/passwd' import root %}"),
        ("env.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: {{ env.CATALYST_PLANTED | tojson }}}\n"),
    ];
    project.template_site(&hostile);
    let report = project.assert_refused("catalyst::render::template");
    let failed = report["diagnostics"].as_array().expect("a list").iter().filter(|d| d["code"] == "catalyst::render::template").count();
    assert_eq!(failed, hostile.len(), "{report:#}");
    assert!(!report.to_string().contains("root:x:0:0"), "a template read /etc/passwd");
}

#[test]
fn config_schemas_cannot_fetch_references() {
    let project = Project::base();
    let marker = "REFERENCED-SCHEMA-93ab";
    project.write("outside/schema.json", &format!("{{\"type\": \"string\", \"description\": \"{marker}\"}}"));
    let reference = format!("file://{}", project.root().join("outside/schema.json").display());
    let blueprint = project.root().join("blueprints/db/blueprint.yaml");
    let original = fs::read_to_string(&blueprint).expect("blueprint.yaml");
    for target in [reference.as_str(), "http://127.0.0.1:9/schema.json"] {
        fs::write(
            &blueprint,
            original.replace("databases: {type: array", &format!("x: {{$ref: '{target}'}}\n      databases: {{type: array")),
        )
        .expect("write blueprint.yaml");
        let report = project.assert_refused("catalyst::blueprint::bad-config-schema");
        assert!(!report.to_string().contains(marker), "{report:#}");
    }
}

#[test]
fn the_output_folder_is_never_replaced_through_a_symlink() {
    let project = Project::base();
    project.write("elsewhere/precious.txt", "keep me\n");
    let elsewhere = project.root().join("elsewhere");
    std::os::unix::fs::symlink(&elsewhere, project.out()).expect("symlink");
    let before = snapshot(&elsewhere);
    let run = project.build("human");
    assert_eq!(run.status.code(), Some(2), "{}", text(&run.stderr));
    assert!(text(&run.stderr).contains("symbolic link"), "{}", text(&run.stderr));
    assert!(fs::symlink_metadata(project.out()).expect("still there").file_type().is_symlink());
    assert_eq!(snapshot(&elsewhere), before, "the symlink's target was changed");
}

#[test]
fn a_planted_staging_symlink_is_not_followed() {
    let project = Project::base();
    project.write("elsewhere/precious.txt", "keep me\n");
    let elsewhere = project.root().join("elsewhere");
    let before = snapshot(&elsewhere);
    std::os::unix::fs::symlink(&elsewhere, project.root().join(".out.catalyst-staging")).expect("symlink");
    let run = project.build("human");
    assert_eq!(run.status.code(), Some(0), "{}", text(&run.stderr));
    assert!(project.out().join("catalyst.lock").is_file());
    assert!(!fs::symlink_metadata(project.out()).expect("written").file_type().is_symlink());
    assert_eq!(snapshot(&elsewhere), before, "the staging symlink's target was changed");
}

// ------------------------------------------------------------ secrets

/// A secret written in clear is refused, and the refusal does not repeat it in any format.
#[test]
fn a_refused_secret_literal_is_not_shown() {
    let scratch = materialize(Some(&common::suite().join("config-secret-literal")));
    let sovereign = sovereign_of(scratch.path());
    for format in ["human", "json", "github", "markdown", "sarif"] {
        let run = catalyst_command().args(["--format", format, "check"]).arg(&sovereign).output().expect("catalyst runs");
        assert_eq!(run.status.code(), Some(1), "{format}");
        let shown = format!("{}{}", text(&run.stdout), text(&run.stderr));
        assert!(shown.contains("secret-literal"), "{format}: {shown}");
        assert!(!shown.contains("hunter2"), "{format} shows the secret:\n{shown}");
    }
}

/// Markers where a user might keep a secret that a successful build must not carry anywhere:
/// a secret field's schema default, a file beside the Sovereign and the catalog, and the
/// environment the compiler runs in.
#[test]
fn planted_secrets_appear_nowhere() {
    let markers = ["PLANTED-DEFAULT-5e2f", "PLANTED-FILE-a91c", "PLANTED-ENV-0d47"];
    let project = Project::base();
    let blueprint = project.root().join("blueprints/app/blueprint.yaml");
    let original = fs::read_to_string(&blueprint).expect("blueprint.yaml");
    let with_default = original.replace("x-catalyst-secret: true}", &format!("x-catalyst-secret: true, default: {}}}", markers[0]));
    fs::write(&blueprint, with_default).expect("write blueprint.yaml");
    for file in ["sovereigns/base.example.com/.env", "sovereigns/base.example.com/secrets.yaml", "blueprints/app/values-secret.yaml"] {
        project.write(file, &format!("adminPassword: {}\n", markers[1]));
    }
    // A template that sees the secrets map (Secret names) and a warning, so every renderer has something to print.
    project.template_site(&[("cm.yaml", "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\ndata: {{ secrets | tojson }}\n")]);
    project.chart_blueprint("legacy", "legacy", "1.0.0", "");
    let legacy = project.root().join("blueprints/legacy/blueprint.yaml");
    let old_form = fs::read_to_string(&legacy)
        .expect("blueprint.yaml")
        .replace("  version: 1.0.0\n", "")
        .replace("{name: bp-legacy}", "{name: bp-legacy, version: 1.0.0}");
    fs::write(&legacy, old_form).expect("write blueprint.yaml");

    let sovereign = project.sovereign.to_str().expect("utf-8").to_string();
    let out = project.out().to_str().expect("utf-8").to_string();
    let run = |format: &str, args: &[&str]| {
        let run = catalyst_command()
            .args(["--format", format])
            .args(args)
            .env("CATALYST_SECRET", markers[2])
            .env("ADMIN_PASSWORD", markers[2])
            .current_dir(project.root())
            .output()
            .expect("the catalyst binary runs");
        (run.status.code(), format!("{format} {args:?}"), [text(&run.stdout), text(&run.stderr)].concat())
    };
    let mut printed = Vec::new();
    for format in FORMATS {
        for (args, exit) in [
            (vec!["check", &sovereign], 0),
            (vec!["build", &sovereign, "-o", &out], 0),
            (vec!["build", &sovereign, "-o", &out, "--check"], 1),
        ] {
            // Each run finds a tampered lock file (once there is an output), so --check has a stale file to list.
            fs::write(project.out().join("catalyst.lock"), "tampered\n").ok();
            let (code, what, output) = run(format, &args);
            assert_eq!(code, Some(exit), "{what}: {output}");
            printed.push((what, output));
        }
    }
    assert!(printed.iter().any(|(_, p)| p.contains("legacy-version")), "the renderers had a diagnostic to print");
    let written = snapshot(&project.out());
    assert!(written.keys().any(|p| p.ends_with("secrets/web-adminpassword.yaml")), "the secret is read through an ExternalSecret");
    let everything = printed.into_iter().chain(written.into_iter().map(|(path, bytes)| (path, text(&bytes))));
    for (what, content) in everything {
        for marker in markers {
            assert!(!content.contains(marker), "{marker} appears in {what}");
        }
    }
}

/// A Secret a template Blueprint renders changes value between two commits: `catalyst diff`
/// shows that it changed, never the old or the new value.
#[test]
fn secret_values_are_redacted_in_diffs() {
    let markers = ["DIFF-OLD-VALUE-3b8e", "DIFF-NEW-VALUE-c27a"];
    let project = Project::base();
    let secret = |value: &str| format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: site-db}}\nstringData: {{password: {value}}}\n");
    project.template_site(&[("secret.yaml", &secret(markers[0]))]);
    let git = |args: &[&str]| {
        let run = std::process::Command::new("git")
            .args(["-c", "user.name=catalyst", "-c", "user.email=catalyst@example.com"])
            .args(args)
            .current_dir(project.root())
            .output()
            .expect("git runs");
        assert!(run.status.success(), "git {args:?}: {}", text(&run.stderr));
    };
    git(&["init", "-q"]);
    git(&["add", "-A"]);
    git(&["commit", "-qm", "old"]);
    project.write("blueprints/site/templates/secret.yaml", &secret(markers[1]));
    for format in FORMATS {
        let run = project.catalyst(&["--format", format, "diff", "--base", "HEAD"]);
        let printed = [text(&run.stdout), text(&run.stderr)].concat();
        assert_eq!(run.status.code(), Some(0), "{format}: {printed}");
        assert!(printed.contains("site-db"), "{format}: the changed Secret is named:\n{printed}");
        for marker in markers {
            assert!(!printed.contains(marker), "{format}: {marker} appears in the diff:\n{printed}");
        }
    }
}

/// At least 1,000 strings built to break out of a YAML value: quotes, line breaks, document
/// markers, flow and block indicators, anchors and aliases, tags, comments, a BOM, controls
/// and the characters YAML forbids raw, alone and in pairs, with and without surrounding text.
fn hostile_strings() -> Vec<String> {
    let fragments = [
        "\"",
        "'",
        "\n",
        "\r\n",
        "\r",
        "\t",
        "---",
        "...",
        "{",
        "}",
        "[",
        "]",
        ",",
        "&anchor",
        "*anchor",
        "!!int",
        "!!str",
        "!tag",
        "\u{feff}",
        "#",
        ": ",
        "- ",
        "? ",
        "|",
        ">",
        "%YAML 1.2",
        "@",
        "`",
        "\\",
        "\0",
        "\u{7f}",
        "\u{85}",
        "\u{2028}",
        "\u{2029}",
        "\u{1f600}",
        "true",
        "null",
        "~",
        "1e3",
        "0x1F",
        "\n  injected: \"yes\"",
        "\"\n  injected: \"yes",
        "\n- item",
        "\"}, {\"x\": \"",
        "{{ config }}",
        "{% raw %}",
    ];
    let mut strings: Vec<String> = fragments.iter().map(|f| f.to_string()).collect();
    for a in fragments {
        for b in fragments {
            strings.push(format!("{a}{b}"));
        }
        strings.push(format!("ok{a}"));
        strings.push(format!("{a}ok"));
        strings.push(format!(" {a} "));
    }
    strings.push(String::new());
    strings.push("x".repeat(10_000));
    assert!(strings.len() >= 1_000, "{} hostile strings", strings.len());
    strings
}

/// `value` with `f` applied to every string value, and to every key when `keys` says so.
fn map_strings(value: &Json, keys: bool, f: &dyn Fn(&str) -> String) -> Json {
    match value {
        Json::String(s) => Json::String(f(s)),
        Json::Array(items) => Json::Array(items.iter().map(|v| map_strings(v, keys, f)).collect()),
        Json::Object(map) => {
            Json::Object(map.iter().map(|(k, v)| (if keys { f(k) } else { k.clone() }, map_strings(v, keys, f))).collect())
        }
        other => other.clone(),
    }
}

/// Replaces `marker` by `with` in every string of `value` (keys included).
fn substituted(value: &Json, marker: &str, with: &str) -> Json {
    map_strings(value, true, &|s| s.replace(marker, with))
}

/// The structure of a value: its keys and the type of every leaf (string values blanked).
fn shape(value: &Json) -> Json {
    map_strings(value, false, &|_| String::new())
}

/// A template context whose every string is `text`; numbers, booleans and lists kept.
fn context_with(text: &str, config: &Json) -> Json {
    let context = serde_json::json!({
        "config": config,
        "application": catalyst::pipeline::expr::application_variables("n", "o", "e", catalyst::model::EnvType::Prod),
        "sovereign": {"fqdn": "f", "name": "n", "provider": "p"},
        "secrets": {},
    });
    map_strings(&context, false, &|_| text.to_string())
}

#[test]
fn no_string_value_can_change_the_structure_a_template_renders() {
    const MARKER: &str = "PLAIN-VALUE";
    let env = catalyst::pipeline::expr::template_environment();
    let mut templates = Vec::new();
    for entry in fs::read_dir(common::repo().join("blueprints")).expect("the example catalog") {
        let dir = entry.expect("entry").path();
        let Some(dir) = dir.join("templates").is_dir().then(|| dir.join("templates")) else { continue };
        for file in fs::read_dir(&dir).expect("templates").map(|e| e.expect("entry").path()) {
            let text = fs::read_to_string(&file).expect("template");
            // As written (through `tojson`), and as a template that prints values bare.
            templates.push((file.display().to_string(), text.clone()));
            templates.push((format!("{} without tojson", file.display()), text.replace(" | tojson", "")));
        }
    }
    assert!(templates.len() >= 6, "the example catalog has template Blueprints: {templates:?}");
    // The configuration a template Blueprint of the catalog takes: strings, and numbers where its schema says so.
    let config = serde_json::json!({"hostname": "h", "image": "i", "replicas": 2, "port": 8080});
    for (name, template) in &templates {
        let render = |text: &str| -> Result<Vec<Json>, String> {
            let out = catalyst::pipeline::expr::render_text(&env, template, &context_with(text, &config)).map_err(|e| e.0)?;
            yaml::parse_stream(&out)
        };
        let plain = render(MARKER).unwrap_or_else(|e| panic!("{name} renders: {e}"));
        for hostile in hostile_strings() {
            let rendered = render(&hostile).unwrap_or_else(|e| panic!("{name} with {hostile:?}: {e}"));
            assert_eq!(
                rendered,
                substituted(&Json::Array(plain.clone()), MARKER, &hostile).as_array().cloned().unwrap_or_default(),
                "{name} with {hostile:?}"
            );
        }
    }
}

#[test]
fn a_value_anywhere_in_a_template_is_one_value_or_a_parse_error() {
    const MARKER: &str = "PLAIN-VALUE";
    let env = catalyst::pipeline::expr::template_environment();
    // Where a whole value goes, every string renders as exactly itself. In text (a comment, a
    // block scalar) it renders escaped, around the same structure. Misplaced (inside quotes, joined
    // to other text, as a key), a string that is no plain word may fail to parse; when it parses,
    // the structure is the template's.
    let (value, text, misplaced) = (0, 1, 2);
    let places = [
        ("whole: {{ v }}\n", value),
        ("list:\n  - {{ v }}\n", value),
        ("flow: [{{ v }}, x]\n", value),
        ("map: {k: {{ v }}}\n", value),
        ("# {{ v }}\nafter: comment\n", text),
        ("block: |\n  {{ v }}\nafter: block\n", text),
        ("double: \"{{ v }}\"\n", misplaced),
        ("single: '{{ v }}'\n", misplaced),
        ("quoted-flow: [\"{{ v }}\", x]\n", misplaced),
        ("joined: {{ v }}-suffix\n", misplaced),
        // Keys with control characters or over 500 characters are refused (`catalyst::yaml::bad-key`).
        ("{{ v }}: key\n", misplaced),
    ];
    for (template, place) in places {
        let render = |text: &str| -> Result<Json, String> {
            let out = catalyst::pipeline::expr::render_text(&env, template, &serde_json::json!({"v": text})).map_err(|e| e.0)?;
            yaml::parse_stream(&out).map(Json::Array)
        };
        let plain = render(MARKER).unwrap_or_else(|e| panic!("{template:?} renders: {e}"));
        for hostile in hostile_strings() {
            match render(&hostile) {
                Ok(rendered) if place == value => {
                    assert_eq!(rendered, substituted(&plain, MARKER, &hostile), "{template:?} with {hostile:?}")
                }
                Ok(rendered) => {
                    assert_eq!(shape(&rendered), shape(&substituted(&plain, MARKER, &hostile)), "{template:?} with {hostile:?}")
                }
                Err(e) => assert_eq!(place, misplaced, "{template:?} with {hostile:?}: {e}"),
            }
        }
    }
}
