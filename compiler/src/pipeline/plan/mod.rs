//! Stage 4: decide every file of the output tree and the objects in it.
//! Nothing is serialized here; [`crate::pipeline::render`] turns the plan into bytes.

mod identity;
mod infra;
mod platform;
mod repo;
mod vcluster;

use platform::GITEA_CREDENTIALS;

/// Per Environment, in its Organization's vcluster: its namespace and the Secrets its sources read.
const ENVIRONMENT_FILE: &str = "environment.yaml";

use std::collections::HashMap;

use serde_json::{json, Map, Value as Json};

use crate::check::pins::BringUpPins;
use crate::check::releases::Pinned;
use crate::model::{Blueprint, CanonicalRegion, Organization, PolicyRule};
use crate::pipeline::load::Project;
use crate::pipeline::resolve::{Instance, InstanceSource, KitRelease, Realm, Resolution, ResolvedEnvironment, VclusterRelease};
use crate::support::source::Origin;

/// What one output file will hold.
#[derive(Debug, Clone)]
pub enum Planned {
    /// Kubernetes objects, as a YAML stream (one document per object).
    Objects(Vec<Json>),
    /// One YAML document that is not a Kubernetes object (values, lock file).
    Document(Json),
    /// Plain text written as is.
    Text(String),
    /// A JSON document (OpenTofu variables).
    Json(Json),
    /// A cloud-config document (YAML under the `#cloud-config` header).
    CloudConfig(Json),
    /// A Blueprint template rendered for one Application.
    Template { blueprint: usize, file: String, context: Json },
}

#[derive(Debug, Clone)]
pub struct PlannedFile {
    /// Path relative to the output root, `/`-separated.
    pub path: String,
    pub content: Planned,
    /// The input the file is emitted for (an Application, an Environment…), so that a
    /// problem found in the output also points at what produced it.
    pub origin: Option<Origin>,
    /// Other paths that hold the same bytes (the branches of an Application repository that run
    /// the same version), rendered and judged once.
    pub copies: Vec<String>,
}

/// Namespaces Kubernetes creates itself: declaring them again breaks kustomize (duplicate IDs).
const BUILT_IN_NAMESPACES: [&str; 4] = ["default", "kube-system", "kube-public", "kube-node-lease"];

const KUSTOMIZE_API: &str = "kustomize.config.k8s.io/v1beta1";

/// Where the Catalyst CRs go: the `system/catalyst-config` repository.
const CATALYST_CONFIG: &str = "system/catalyst-config";

fn organization_file(slug: &str) -> String {
    format!("organizations/{slug}.yaml")
}

fn policy_file(environment: &ResolvedEnvironment) -> String {
    format!("policies/{}-policy.yaml", environment.name)
}

fn environment_file(environment: &ResolvedEnvironment) -> String {
    format!("environments/{}.yaml", environment.name)
}

fn application_file(environment: &ResolvedEnvironment, instance: &Instance) -> String {
    format!("applications/{}/{}.yaml", environment.name, instance.name)
}

/// The name of the Secret cloud-init creates for pulling Blueprint charts.
pub const PULL_SECRET: &str = "ghcr-pull";

/// How many planned files are handed to the sink at once: large enough to
/// render in parallel, small enough that the planned objects of a huge
/// Sovereign never all sit in memory beside their rendered bytes.
const BATCH: usize = 4096;

/// One part of the output. The parts depend on nothing of each other, so they
/// are planned and rendered in parallel, and `check --watch` plans again only
/// the parts of an Organization whose file changed.
pub enum Part<'a> {
    /// The Sovereign's own files: the cluster tree and the bootstrap kit, the
    /// bring-up inputs, the Sovereign CR, the lists of everything, the lock file.
    Sovereign { resolution: &'a Resolution, pins: Option<&'a BringUpPins> },
    /// An Organization's CR, its realm (with the Keycloak of its own, per-organization) and its
    /// vclusters, with the kit releases it installs into them.
    Organization { index: usize, realm: Option<&'a Realm>, kit: &'a [KitRelease], vcluster: Option<&'a VclusterRelease> },
    /// An Environment's cluster tree, its branch of each of its Application repositories and
    /// its CRs; `organization` holds every Environment of its Organization (each branch carries
    /// the overlays of all the Environments its Application runs in).
    Environment { environment: &'a ResolvedEnvironment, organization: Vec<&'a ResolvedEnvironment> },
}

impl Part<'_> {
    /// Plans the part's files and hands them to `sink` in batches.
    pub fn plan(&self, project: &Project, pinned: &Pinned, sink: &mut dyn FnMut(Vec<PlannedFile>)) {
        let mut planner = Planner::new(project, *pinned, sink);
        match self {
            Part::Sovereign { resolution, pins } => {
                planner.clusters(resolution);
                planner.identity(resolution);
                planner.infra(resolution, *pins);
                planner.catalyst_config(resolution);
                planner.lock(resolution, *pins);
            }
            Part::Organization { index, realm, kit, vcluster } => {
                planner.organization_cr(*index);
                if let Some(realm) = realm {
                    planner.realm(realm);
                }
                if let Some(vcluster) = vcluster {
                    planner.vclusters(&project.sovereign.organizations[*index], kit, vcluster);
                }
            }
            Part::Environment { environment, organization } => {
                planner.environment(environment, organization);
                planner.environment_crs(environment);
            }
        }
        let rest = std::mem::take(&mut planner.files);
        (planner.sink)(rest);
    }
}

/// Every part of a Sovereign's output.
pub fn parts<'a>(project: &Project, resolution: &'a Resolution, pins: Option<&'a BringUpPins>) -> Vec<Part<'a>> {
    let mut parts = vec![Part::Sovereign { resolution, pins }];
    parts.extend((0..project.sovereign.organizations.len()).map(|index| Part::Organization {
        index,
        realm: resolution.realm_of(index),
        kit: &resolution.kit,
        vcluster: resolution.vcluster.as_ref(),
    }));
    parts.extend(environment_parts(resolution.environments.iter()));
    parts
}

/// The parts of Environments (an Organization's are adjacent), each with its Organization's others.
pub fn environment_parts<'a>(environments: impl Iterator<Item = &'a ResolvedEnvironment>) -> Vec<Part<'a>> {
    let environments: Vec<&ResolvedEnvironment> = environments.collect();
    environments
        .chunk_by(|a, b| a.org == b.org)
        .flat_map(|organization| {
            organization.iter().map(|&environment| Part::Environment { environment, organization: organization.to_vec() })
        })
        .collect()
}

struct Planner<'a, 's> {
    project: &'a Project,
    files: Vec<PlannedFile>,
    fqdn: String,
    sink: &'s mut dyn FnMut(Vec<PlannedFile>),
    /// Template files of each template Blueprint, listed once rather than per Application.
    template_files: HashMap<usize, Vec<String>>,
    /// What the files planned now are emitted for.
    origin: Option<Origin>,
    /// The releases the Sovereign runs: they decide every apiVersion emitted.
    pinned: Pinned,
    /// While a branch is planned for others that hold the same: its folder and theirs.
    mirrored: Option<(String, Vec<String>)>,
}

impl<'a, 's> Planner<'a, 's> {
    fn new(project: &'a Project, pinned: Pinned, sink: &'s mut dyn FnMut(Vec<PlannedFile>)) -> Self {
        let fqdn = project.sovereign.spec.fqdn.clone();
        let origin = Some(project.sovereign.origin.clone());
        Planner { project, files: Vec::new(), fqdn, sink, template_files: HashMap::new(), origin, pinned, mirrored: None }
    }
}

fn kustomization(resources: Vec<String>) -> Json {
    json!({"apiVersion": KUSTOMIZE_API, "kind": "Kustomization", "resources": resources})
}

fn labels(pairs: &[(&str, &str)]) -> Json {
    Json::Object(pairs.iter().map(|(k, v)| (k.to_string(), Json::String(v.to_string()))).collect())
}

fn namespace(name: &str, sovereign: &str) -> Json {
    json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels(&[("catalyst.openova.io/sovereign", sovereign)])}})
}

impl Planner<'_, '_> {
    fn add(&mut self, path: String, content: Planned) {
        let copies = match &self.mirrored {
            Some((dir, others)) => {
                path.strip_prefix(dir.as_str()).map_or(Vec::new(), |rest| others.iter().map(|o| format!("{o}{rest}")).collect())
            }
            None => Vec::new(),
        };
        self.files.push(PlannedFile { path, content, origin: self.origin.clone(), copies });
        if self.files.len() >= BATCH {
            let batch = std::mem::take(&mut self.files);
            (self.sink)(batch);
        }
    }

    /// Adds a file emitted for `origin` rather than for the current scope.
    fn add_for(&mut self, origin: Origin, path: String, content: Planned) {
        let scope = self.origin.replace(origin);
        self.add(path, content);
        self.origin = scope;
    }

    /// Where an Environment is declared: its entry in the Organization's file.
    fn environment_origin(&self, environment: &ResolvedEnvironment) -> Origin {
        let org = self.organization(environment);
        let index = org.spec.environments.iter().position(|e| e.env_type == environment.env_type).unwrap_or_default();
        org.origin.join(&format!("/spec/environments/{index}"))
    }

    fn blueprint(&self, index: usize) -> &Blueprint {
        &self.project.catalog.blueprints[index]
    }

    fn gitea(&self, org: &str, repo: &str) -> String {
        format!("https://{}/{org}/{repo}.git", crate::check::releases::sovereign_host(&self.fqdn, "gitea"))
    }

    fn oci_repository(&self, name: &str, namespace: &str) -> Json {
        json!({
            "apiVersion": self.pinned.api("HelmRepository"), "kind": "HelmRepository",
            "metadata": {"name": name, "namespace": namespace},
            "spec": {"type": "oci", "interval": "15m", "url": self.project.sovereign.spec.registry, "secretRef": {"name": PULL_SECRET}},
        })
    }

    /// A kit release on `cluster`: it waits only for releases that run there (another
    /// cluster's are reached over the network, and Flux orders nothing across clusters).
    fn kit_release(&self, release: &KitRelease, cluster: &platform::Cluster<'_>) -> Vec<Json> {
        let bp = self.blueprint(release.blueprint);
        let settings = &bp.spec.manifests.helm_release;
        let short = bp.short_name();
        let target = settings.namespace.clone().unwrap_or_else(|| short.to_string());
        let mut objects = Vec::new();
        if settings.create_namespace && !BUILT_IN_NAMESPACES.contains(&target.as_str()) && target != "flux-system" {
            objects.push(namespace(&target, &self.fqdn));
        }
        objects.push(self.oci_repository(&bp.name, "flux-system"));
        let depends: Vec<String> = release.depends.iter().filter(|d| cluster.runs(d)).cloned().collect();
        objects.push(self.helm_release(bp, &bp.name, "flux-system", short, &target, &depends, &release.values));
        objects
    }

    /// A HelmRelease of a chart Blueprint, shaped like `flux create helmrelease --export`.
    #[allow(clippy::too_many_arguments)]
    fn helm_release(
        &self,
        bp: &Blueprint,
        name: &str,
        namespace: &str,
        release_name: &str,
        target: &str,
        depends_on: &[String],
        values: &Json,
    ) -> Json {
        let settings = &bp.spec.manifests.helm_release;
        let remediation = |mut block: Json| {
            block["remediation"] = json!({"retries": 3});
            if settings.disable_wait {
                block["disableWait"] = json!(true);
            }
            block
        };
        let mut upgrade = remediation(json!({}));
        if settings.preserve_values {
            upgrade["preserveValues"] = json!(true);
        }
        let mut spec = json!({
            "interval": "15m",
            "releaseName": release_name,
            "targetNamespace": target,
            "chart": {"spec": {"chart": bp.name, "version": bp.version.to_string(), "sourceRef": {"kind": "HelmRepository", "name": bp.name}}},
        });
        if !depends_on.is_empty() {
            spec["dependsOn"] = Json::Array(depends_on.iter().map(|d| json!({"name": d})).collect());
        }
        let blocks = json!({
            "install": remediation(json!({})),
            "upgrade": upgrade,
        });
        if let (Some(spec), Some(blocks)) = (spec.as_object_mut(), blocks.as_object()) {
            spec.extend(blocks.clone());
        }
        if let Some(timeout) = &settings.timeout {
            spec["timeout"] = json!(timeout);
        }
        if values.as_object().is_some_and(|m| !m.is_empty()) {
            spec["values"] = values.clone();
        }
        json!({
            "apiVersion": self.pinned.api("HelmRelease"), "kind": "HelmRelease",
            "metadata": {"name": name, "namespace": namespace, "labels": labels(&[("catalyst.openova.io/blueprint", &bp.name), ("catalyst.openova.io/blueprint-version", &bp.version.to_string())])},
            "spec": spec,
        })
    }

    // ------------------------------------------------------------ environments

    fn organization(&self, environment: &ResolvedEnvironment) -> &Organization {
        &self.project.sovereign.organizations[environment.org]
    }

    /// In the Organization's vcluster on each region the Environment is placed in: its namespace,
    /// its credentials, and the sources and Kustomizations of the Applications that run there;
    /// once, each Application's repository.
    fn environment(&mut self, environment: &ResolvedEnvironment, organization: &[&ResolvedEnvironment]) {
        let scope = self.origin.replace(self.environment_origin(environment));
        self.namespace_file(environment);
        let org = self.organization(environment).slug.clone();
        for region in &environment.regions {
            let dir = format!("{}/{}/{org}/{}", platform::cluster_root(&self.fqdn, region), vcluster::ORGANIZATIONS, environment.name);
            self.add(format!("{dir}/{ENVIRONMENT_FILE}"), Planned::Objects(self.vcluster_environment(&environment.name)));
            let mut resources = vec![ENVIRONMENT_FILE.to_string()];
            for instance in environment.instances.iter().filter(|i| i.regions.contains(region)) {
                let environment_scope = self.origin.replace(instance.origin.clone());
                let file = format!("{}.yaml", instance.name);
                self.add(format!("{dir}/{file}"), Planned::Objects(self.application_sync(environment, instance, &org)));
                resources.push(file);
                self.origin = environment_scope;
            }
            self.add(format!("{dir}/kustomization.yaml"), Planned::Document(kustomization(resources)));
        }
        let mut promotion_order = organization.to_vec();
        promotion_order.sort_by_key(|e| e.env_type);
        let by_name: Vec<HashMap<&str, &Instance>> =
            promotion_order.iter().map(|e| e.instances.iter().map(|i| (i.name.as_str(), i)).collect()).collect();
        for instance in &environment.instances {
            let environment_scope = self.origin.replace(instance.origin.clone());
            let running: Vec<(&ResolvedEnvironment, &Instance)> = promotion_order
                .iter()
                .zip(&by_name)
                .filter_map(|(other, instances)| Some((*other, *instances.get(instance.name.as_str())?)))
                .collect();
            self.application_repo(environment, instance, &running);
            self.origin = environment_scope;
        }
        self.origin = scope;
    }

    /// An Application's GitRepository (its repository, on the Environment's branch) and the
    /// Kustomization that applies it, waiting for its dependencies.
    fn application_sync(&self, environment: &ResolvedEnvironment, instance: &Instance, org: &str) -> Vec<Json> {
        let mut kustomization = self.flux_kustomization(&instance.name, &repo::overlay_path(environment), &instance.name, &[]);
        let spec = &mut kustomization["spec"];
        spec["interval"] = json!("5m");
        spec["timeout"] = json!("10m");
        spec["targetNamespace"] = json!(environment.name);
        if let Some(map) = spec.as_object_mut() {
            map.remove("postBuild");
        }
        if !instance.depends_on.is_empty() {
            spec["dependsOn"] = Json::Array(instance.depends_on.iter().map(|e| json!({"name": e.target})).collect());
        }
        kustomization["metadata"] =
            json!({"name": instance.name, "namespace": environment.name, "labels": self.instance_labels(environment, instance)});
        let source = self.git_repository(
            &instance.name,
            &environment.name,
            &self.gitea(org, &instance.name),
            environment.env_type.branch(),
            Some(GITEA_CREDENTIALS),
        );
        vec![source, sort_keys_spec(kustomization)]
    }

    fn instance_labels(&self, environment: &ResolvedEnvironment, instance: &Instance) -> Json {
        let bp = self.blueprint(instance.blueprint);
        let org = &self.organization(environment).slug;
        labels(&[
            ("catalyst.openova.io/organization", org),
            ("catalyst.openova.io/environment", &environment.name),
            ("catalyst.openova.io/application", &instance.name),
            ("catalyst.openova.io/blueprint", &bp.name),
            ("catalyst.openova.io/blueprint-version", &bp.version.to_string()),
        ])
    }

    // ------------------------------------------------------------ system/catalyst-config

    /// The Sovereign CR and the list of every CR; the others are planned with their Organization.
    fn catalyst_config(&mut self, resolution: &Resolution) {
        let s = &self.project.sovereign;
        let regions: Vec<Json> = s
            .spec
            .regions
            .iter()
            .map(|r| {
                let parsed = CanonicalRegion::parse(r);
                json!({"code": r, "provider": parsed.and_then(|p| p.provider()).unwrap_or(&s.spec.provider)})
            })
            .collect();
        let bcp = if s.spec.regions.len() > 1 { "active-hotstandby" } else { "single-region" };
        let sovereign = json!({
            "apiVersion": "catalyst.openova.io/v1alpha1", "kind": "Sovereign",
            "metadata": {"name": s.name},
            "spec": {"fqdn": s.spec.fqdn, "provider": s.spec.provider, "bcpTopology": bcp, "regions": regions},
        });
        self.add(format!("{CATALYST_CONFIG}/sovereign.yaml"), Planned::Objects(vec![sovereign]));
        let mut resources = vec!["sovereign.yaml".to_string()];
        resources.extend(s.organizations.iter().map(|org| organization_file(&org.slug)));
        for environment in &resolution.environments {
            resources.extend(self.policy(environment).map(|_| policy_file(environment)));
            resources.push(environment_file(environment));
            resources.extend(environment.instances.iter().map(|instance| application_file(environment, instance)));
        }
        resources.sort();
        self.add(format!("{CATALYST_CONFIG}/kustomization.yaml"), Planned::Document(kustomization(resources)));
    }

    fn policy(&self, environment: &ResolvedEnvironment) -> Option<&crate::model::PolicySpec> {
        let org = &self.project.sovereign.organizations[environment.org];
        org.spec.environments.iter().find(|e| e.env_type == environment.env_type).and_then(|e| e.policy.as_ref())
    }

    fn organization_cr(&mut self, index: usize) {
        let (s, org) = (&self.project.sovereign, &self.project.sovereign.organizations[index]);
        let mut spec = json!({
            "slug": org.slug,
            "displayName": org.spec.display_name.clone().unwrap_or_else(|| org.slug.clone()),
            "kind": org.spec.kind, "tier": org.spec.tier, "billingMode": org.spec.billing_mode,
            "sovereignRef": s.spec.fqdn,
        });
        if !org.spec.owners.is_empty() {
            spec["owners"] = json!(org.spec.owners);
        }
        let identity = &org.spec.identity;
        if let Some(config) = identity.federation_config.as_ref().filter(|_| !identity.federation_provider.is_empty()) {
            spec["identity"] = json!({"federationProvider": identity.federation_provider, "federationConfig": config});
        }
        let object = json!({"apiVersion": "orgs.openova.io/v1", "kind": "Organization", "metadata": {"name": org.slug}, "spec": spec});
        self.add_for(org.origin.clone(), format!("{CATALYST_CONFIG}/{}", organization_file(&org.slug)), Planned::Objects(vec![object]));
    }

    /// The Environment CR, its EnvironmentPolicy and its Applications' CRs.
    fn environment_crs(&mut self, environment: &ResolvedEnvironment) {
        let declared = self.environment_origin(environment);
        let org = &self.project.sovereign.organizations[environment.org];
        let regions: Vec<Json> = environment
            .regions
            .iter()
            .filter_map(|r| CanonicalRegion::parse(r))
            .map(|r| json!({"provider": r.provider().unwrap_or_default(), "region": r.region, "buildingBlock": r.building_block}))
            .collect();
        let mut env_spec = json!({
            "organizationRef": org.slug,
            "envType": environment.env_type.as_str(),
            "placement": if environment.regions.len() > 1 { "multi-region" } else { "single-region" },
            "regions": regions,
        });
        if let Some(policy) = self.policy(environment) {
            let name = format!("{}-policy", environment.name);
            env_spec["policyRef"] = json!(name);
            let object = environment_policy(&name, &environment.name, &policy.rules);
            self.add_for(
                declared.join("/policy"),
                format!("{CATALYST_CONFIG}/{}", policy_file(environment)),
                Planned::Objects(vec![object]),
            );
        }
        let object = json!({"apiVersion": "catalyst.openova.io/v1", "kind": "Environment", "metadata": {"name": environment.name}, "spec": env_spec});
        self.add_for(declared, format!("{CATALYST_CONFIG}/{}", environment_file(environment)), Planned::Objects(vec![object]));
        for instance in &environment.instances {
            let object = self.application_cr(environment, instance);
            let path = format!("{CATALYST_CONFIG}/{}", application_file(environment, instance));
            self.add_for(instance.origin.clone(), path, Planned::Objects(vec![object]));
        }
    }

    fn application_cr(&self, environment: &ResolvedEnvironment, instance: &Instance) -> Json {
        let bp = self.blueprint(instance.blueprint);
        let mut spec = json!({
            // The Application CRD admits only `bp-` names; upstream resolves either spelling to one Blueprint.
            "blueprintRef": {"name": format!("bp-{}", bp.short_name()), "version": bp.version.to_string()},
            "environmentRef": environment.name,
            "regions": instance.regions,
            "placement": instance.placement,
        });
        if !instance.depends_on.is_empty() {
            spec["dependsOn"] =
                Json::Array(instance.depends_on.iter().map(|e| json!({"name": e.target, "namespace": environment.name})).collect());
        }
        let mut metadata =
            json!({"name": instance.name, "namespace": environment.name, "labels": self.instance_labels(environment, instance)});
        if let InstanceSource::Dedicated { parent, alias, .. } = &instance.source {
            metadata["annotations"] = json!({"catalyst.openova.io/dedicated-to": format!("{parent}/{alias}")});
        }
        json!({"apiVersion": "apps.openova.io/v1", "kind": "Application", "metadata": metadata, "spec": spec})
    }

    // ------------------------------------------------------------ catalyst.lock

    fn lock(&mut self, resolution: &Resolution, pins: Option<&BringUpPins>) {
        let mut used: std::collections::BTreeMap<(String, semver::Version), (String, Vec<String>)> = Default::default();
        for release in &resolution.kit {
            let bp = self.blueprint(release.blueprint);
            used.entry((bp.name.clone(), bp.version.clone()))
                .or_insert_with(|| (bp.digest.clone(), Vec::new()))
                .1
                .push("bootstrap-kit".into());
        }
        for environment in &resolution.environments {
            for instance in &environment.instances {
                let bp = self.blueprint(instance.blueprint);
                used.entry((bp.name.clone(), bp.version.clone()))
                    .or_insert_with(|| (bp.digest.clone(), Vec::new()))
                    .1
                    .push(format!("{}/{}", environment.name, instance.name));
            }
        }
        let blueprints: Vec<Json> = used
            .into_iter()
            .map(|((name, version), (digest, users))| json!({"name": name, "version": version.to_string(), "digest": digest, "usedBy": users}))
            .collect();
        let mut lock = json!({"lockVersion": 1, "sovereign": self.fqdn, "blueprints": blueprints});
        if let (Some(pins), Some(infra)) = (pins, &self.project.sovereign.spec.infrastructure) {
            lock["bringUp"] = json!({"k3s": infra.k3s_version, "flux": pins.flux, "cilium": pins.cilium});
        }
        self.add("catalyst.lock".into(), Planned::Document(lock));
    }
}

/// Flux's documented field order for a Kustomization spec.
fn sort_keys_spec(mut object: Json) -> Json {
    const ORDER: [&str; 10] =
        ["interval", "dependsOn", "path", "prune", "sourceRef", "targetNamespace", "timeout", "wait", "postBuild", "kubeConfig"];
    if let Some(spec) = object.get_mut("spec").and_then(Json::as_object_mut) {
        let mut sorted = Map::new();
        for key in ORDER {
            if let Some(v) = spec.remove(key) {
                sorted.insert(key.to_string(), v);
            }
        }
        sorted.append(spec);
        *spec = sorted;
    }
    object
}

/// The rules form and the typed fields derived from it (DESIGN §3.5).
fn environment_policy(name: &str, environment: &str, rules: &[PolicyRule]) -> Json {
    let mut promotion = Map::new();
    for rule in rules {
        match rule {
            PolicyRule::PrRequired { min_approvals, .. } => {
                promotion.insert("requiredApprovers".into(), json!(min_approvals));
            }
            PolicyRule::Soak { duration, .. } => {
                promotion.insert("soakHours".into(), json!(duration_hours(duration)));
            }
            PolicyRule::ReScoreGate { min_score, .. } => {
                promotion.insert("requiredComplianceScore".into(), json!(min_score));
            }
            PolicyRule::ChangeWindow { .. } => {}
        }
    }
    json!({
        "apiVersion": "catalyst.openova.io/v1", "kind": "EnvironmentPolicy",
        "metadata": {"name": name},
        "spec": {"appliesTo": {"environments": [environment]}, "rules": rules, "promotion": promotion},
    })
}

/// Whole hours of a `72h` / `3d` / `90m` duration, rounded up.
pub fn duration_hours(duration: &str) -> u64 {
    let (number, unit) = duration.split_at(duration.len().saturating_sub(1));
    let n: u64 = number.parse().unwrap_or(0);
    match unit {
        "d" => n * 24,
        "m" => n.div_ceil(60),
        _ => n,
    }
}
