//! The data model: what the inputs say, typed. Loaded by [`crate::pipeline::load`],
//! read by every later stage. Free-form parts (config, values) stay JSON.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use serde_json::Value as Json;

use crate::support::source::Origin;

// ---------------------------------------------------------------- Blueprints

/// One `blueprint.yaml`.
#[derive(Clone, Debug)]
pub struct Blueprint {
    pub name: String,
    pub version: semver::Version,
    /// The folder that holds `blueprint.yaml`; manifest paths are relative to it.
    pub dir: PathBuf,
    pub spec: BlueprintSpec,
    /// Where the file's root is, for diagnostics.
    pub origin: Origin,
    /// Pointer of the version field actually used (`/spec/version` or `/metadata/version`).
    pub version_pointer: &'static str,
    /// sha256 over the Blueprint folder's files, recorded in `catalyst.lock`.
    pub digest: String,
}

impl Blueprint {
    /// `bp-x` → `x`: the default alias, release and namespace name.
    pub fn short_name(&self) -> &str {
        short_name(&self.name)
    }

    pub fn id(&self) -> String {
        format!("{} {}", self.name, self.version)
    }
}

pub fn short_name(name: &str) -> &str {
    name.strip_prefix("bp-").unwrap_or(name)
}

/// `bp-x` → `x` and `x` → `bp-x`: the spelling upstream files use for the same Blueprint.
pub fn other_spelling(name: &str) -> String {
    match name.strip_prefix("bp-") {
        Some(bare) => bare.to_string(),
        None => format!("bp-{name}"),
    }
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlueprintSpec {
    #[serde(default)]
    pub card: Json,
    pub visibility: Option<String>,
    #[serde(default)]
    pub config_schema: Option<Json>,
    pub placement_schema: Option<PlacementSchema>,
    #[serde(default)]
    pub manifests: Manifests,
    #[serde(default)]
    pub overlays: BTreeMap<String, Json>,
    #[serde(default)]
    pub depends: Vec<DependsEntry>,
    #[serde(default)]
    pub pins: BTreeMap<String, String>,
    #[serde(default)]
    pub upgrades: Upgrades,
    /// For a kit Blueprint: the building blocks whose clusters run it (every one when absent).
    pub building_blocks: Option<Vec<BuildingBlock>>,
}

/// The versions that may (`from`) and may not (`blocks`) upgrade to a Blueprint version:
/// versions or requirements such as `1.2.x`.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct Upgrades {
    #[serde(default)]
    pub from: Vec<String>,
    #[serde(default)]
    pub blocks: Vec<String>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PlacementSchema {
    #[serde(default)]
    pub modes: Vec<String>,
    pub min_regions: Option<u32>,
    pub max_regions: Option<u32>,
    pub default: Option<String>,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Manifests {
    pub chart: Option<String>,
    pub templates: Option<String>,
    pub kustomize: Option<String>,
    #[serde(default)]
    pub helm_release: HelmReleaseSettings,
}

/// How a Blueprint's manifests become cluster objects.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ManifestKind {
    Chart,
    Templates,
    Kustomize,
}

impl Manifests {
    /// The declared kinds with their paths (exactly one is valid).
    pub fn declared(&self) -> Vec<(ManifestKind, &str)> {
        [(ManifestKind::Chart, &self.chart), (ManifestKind::Templates, &self.templates), (ManifestKind::Kustomize, &self.kustomize)]
            .into_iter()
            .filter_map(|(kind, path)| path.as_deref().map(|p| (kind, p)))
            .collect()
    }

    pub fn kind(&self) -> Option<ManifestKind> {
        self.declared().first().map(|(k, _)| *k)
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HelmReleaseSettings {
    pub namespace: Option<String>,
    #[serde(default = "yes")]
    pub create_namespace: bool,
    #[serde(default)]
    pub disable_wait: bool,
    pub timeout: Option<String>,
    #[serde(default)]
    pub preserve_values: bool,
}

impl Default for HelmReleaseSettings {
    fn default() -> Self {
        HelmReleaseSettings { namespace: None, create_namespace: true, disable_wait: false, timeout: None, preserve_values: false }
    }
}

fn yes() -> bool {
    true
}

/// A `depends` item: the object form, or the upstream short form `bp-x`.
#[derive(Clone, Debug, Deserialize)]
#[serde(untagged)]
pub enum DependsEntry {
    Short(String),
    Full(Dependency),
}

#[derive(Clone, Debug, Deserialize)]
pub struct Dependency {
    pub blueprint: String,
    pub version: Option<String>,
    pub alias: Option<String>,
    pub when: Option<String>,
    #[serde(default)]
    pub values: Json,
}

impl DependsEntry {
    pub fn normalized(&self) -> Dependency {
        match self {
            DependsEntry::Short(name) => Dependency { blueprint: name.clone(), version: None, alias: None, when: None, values: Json::Null },
            DependsEntry::Full(d) => d.clone(),
        }
    }
}

impl Dependency {
    pub fn alias(&self) -> &str {
        self.alias.as_deref().unwrap_or_else(|| short_name(&self.blueprint))
    }
}

// ---------------------------------------------------------------- Sovereign

/// The role of a region's cluster, the third segment of its name: `mgt` runs the control
/// plane (Gitea, Keycloak, OpenBao, the console), `dmz` the edge (DNS, gateway), `rtz` the
/// Organizations' workloads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum BuildingBlock {
    Mgt,
    Dmz,
    Rtz,
}

impl BuildingBlock {
    pub const ALL: [BuildingBlock; 3] = [BuildingBlock::Mgt, BuildingBlock::Dmz, BuildingBlock::Rtz];

    pub fn as_str(self) -> &'static str {
        match self {
            BuildingBlock::Mgt => "mgt",
            BuildingBlock::Dmz => "dmz",
            BuildingBlock::Rtz => "rtz",
        }
    }

    /// The building block of a canonical region name, if it names one.
    pub fn of_region(region: &str) -> Option<Self> {
        let block = CanonicalRegion::parse(region)?.building_block;
        Self::ALL.into_iter().find(|b| b.as_str() == block)
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EnvType {
    Dev,
    Poc,
    Uat,
    Stg,
    Prod,
}

impl EnvType {
    pub const ALL: [EnvType; 5] = [EnvType::Dev, EnvType::Poc, EnvType::Uat, EnvType::Stg, EnvType::Prod];

    pub fn as_str(self) -> &'static str {
        match self {
            EnvType::Dev => "dev",
            EnvType::Poc => "poc",
            EnvType::Uat => "uat",
            EnvType::Stg => "stg",
            EnvType::Prod => "prod",
        }
    }

    /// The environment type whose Application repo branch is `branch`.
    pub fn of_branch(branch: &str) -> Option<EnvType> {
        EnvType::ALL.into_iter().find(|t| t.branch() == branch)
    }

    /// The Application repo branch this environment type deploys from.
    pub fn branch(self) -> &'static str {
        match self {
            EnvType::Dev => "develop",
            EnvType::Stg => "staging",
            EnvType::Prod => "main",
            EnvType::Uat => "uat",
            EnvType::Poc => "poc",
        }
    }

    /// Promotion order: a soak source must come earlier than its target.
    pub fn rank(self) -> u8 {
        match self {
            EnvType::Dev | EnvType::Poc => 0,
            EnvType::Uat => 1,
            EnvType::Stg => 2,
            EnvType::Prod => 3,
        }
    }
}

#[derive(Clone, Debug)]
pub struct Sovereign {
    pub name: String,
    pub spec: SovereignSpec,
    /// The folder of `sovereign.yaml`.
    pub dir: PathBuf,
    pub origin: Origin,
    pub organizations: Vec<Organization>,
}

impl Sovereign {
    /// The control plane's region: the one `mgt` region (`check::regions` refuses any other count).
    pub fn control_plane(&self) -> Option<&str> {
        self.spec.regions.iter().map(String::as_str).find(|r| BuildingBlock::of_region(r) == Some(BuildingBlock::Mgt))
    }
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SovereignSpec {
    pub fqdn: String,
    pub provider: String,
    #[serde(default = "per_organization")]
    pub keycloak_topology: String,
    pub operator: Option<Operator>,
    #[serde(default)]
    pub catalogs: Vec<String>,
    pub regions: Vec<String>,
    #[serde(default = "default_registry")]
    pub registry: String,
    pub gitops: Option<GitOps>,
    pub bootstrap_kit: Option<Vec<KitEntry>>,
    /// Absent: the Sovereign's machines are brought up by other means; no `infra/` is emitted.
    pub infrastructure: Option<Infrastructure>,
    #[serde(default)]
    pub organizations: Vec<String>,
}

fn per_organization() -> String {
    "per-organization".into()
}

fn default_registry() -> String {
    "oci://ghcr.io/openova-io".into()
}

/// The OpenTofu and cloud-init inputs: sizes and references, never secret values.
#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Infrastructure {
    /// The cloud project the servers are created in (`hcloud_project_id`).
    pub project_id: Option<String>,
    #[serde(default)]
    pub control_plane: ControlPlane,
    #[serde(default)]
    pub workers: Workers,
    /// Per-region overrides of the node pools, keyed by canonical region.
    #[serde(default)]
    pub regions: BTreeMap<String, RegionNodes>,
    #[serde(default = "default_k3s")]
    pub k3s_version: String,
    pub ssh_public_key: Option<String>,
    #[serde(default)]
    pub domain: Domain,
    #[serde(default)]
    pub ssh_allowed_cidrs: Vec<String>,
    #[serde(default = "yes")]
    pub unattended_upgrades: bool,
    #[serde(default = "yes")]
    pub fail2ban: bool,
    /// Where each secret input comes from: input name → environment variable.
    #[serde(default)]
    pub secrets: BTreeMap<String, SecretRef>,
}

pub const DEFAULT_K3S: &str = "v1.34.1+k3s1";

fn default_k3s() -> String {
    DEFAULT_K3S.into()
}

#[derive(Clone, Debug, Deserialize)]
pub struct ControlPlane {
    #[serde(default = "default_control_plane_size")]
    pub size: String,
    #[serde(default)]
    pub ha: bool,
}

impl Default for ControlPlane {
    fn default() -> Self {
        ControlPlane { size: default_control_plane_size(), ha: false }
    }
}

fn default_control_plane_size() -> String {
    "cx42".into()
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct Workers {
    #[serde(default)]
    pub size: String,
    #[serde(default)]
    pub count: u32,
}

#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RegionNodes {
    pub control_plane: Option<ControlPlane>,
    pub workers: Option<Workers>,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Domain {
    #[serde(default = "pool")]
    pub mode: String,
    pub pool_domain: Option<String>,
}

impl Default for Domain {
    fn default() -> Self {
        Domain { mode: pool(), pool_domain: None }
    }
}

fn pool() -> String {
    "pool".into()
}

#[derive(Clone, Debug, Deserialize)]
pub struct SecretRef {
    pub env: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct Operator {
    pub name: String,
    pub email: String,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct GitOps {
    pub repo_url: String,
    #[serde(default = "main_branch")]
    pub branch: String,
}

fn main_branch() -> String {
    "main".into()
}

#[derive(Clone, Debug, Deserialize)]
pub struct KitEntry {
    pub blueprint: String,
    pub version: Option<String>,
    #[serde(default)]
    pub values: Json,
    /// Overrides the Blueprint's `buildingBlocks`.
    pub building_blocks: Option<Vec<BuildingBlock>>,
}

#[derive(Clone, Debug)]
pub struct Organization {
    pub slug: String,
    pub spec: OrganizationSpec,
    pub origin: Origin,
}

#[derive(Clone, Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationSpec {
    pub display_name: Option<String>,
    #[serde(default = "customer")]
    pub kind: String,
    #[serde(default = "sme")]
    pub tier: String,
    #[serde(default = "real")]
    pub billing_mode: String,
    #[serde(default)]
    pub owners: Vec<Owner>,
    pub environments: Vec<EnvironmentSpec>,
    #[serde(default)]
    pub applications: Vec<ApplicationSpec>,
    #[serde(default)]
    pub identity: Identity,
}

/// An Organization's identity: its realm's OIDC client and, optionally, the identity provider
/// federated into it (the Organization CR's `identity`).
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    #[serde(default)]
    pub redirect_uris: Vec<String>,
    #[serde(default)]
    pub federation_provider: String,
    pub federation_config: Option<FederationConfig>,
}

impl Identity {
    /// Whether the Organization writes anything about its realm.
    pub fn configured(&self) -> bool {
        !self.redirect_uris.is_empty() || !self.federation_provider.is_empty() || self.federation_config.is_some()
    }
}

#[derive(Clone, Debug, Deserialize, serde::Serialize)]
#[serde(rename_all = "camelCase")]
pub struct FederationConfig {
    pub issuer: String,
    pub client_id: String,
    /// Where in OpenBao the client secret is: `org/<org>/<name>`, property `key`.
    pub client_secret_ref: SecretKeyRef,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tenant_id: Option<String>,
}

#[derive(Clone, Debug, Deserialize, serde::Serialize)]
pub struct SecretKeyRef {
    pub name: String,
    #[serde(default = "client_secret_key")]
    pub key: String,
}

fn client_secret_key() -> String {
    "client-secret".into()
}

fn customer() -> String {
    "customer".into()
}
fn sme() -> String {
    "sme".into()
}
fn real() -> String {
    "real".into()
}

#[derive(Clone, Debug, Deserialize, serde::Serialize)]
pub struct Owner {
    pub email: String,
    pub role: String,
}

#[derive(Clone, Debug, Deserialize)]
pub struct EnvironmentSpec {
    #[serde(rename = "type")]
    pub env_type: EnvType,
    pub regions: Vec<String>,
    pub policy: Option<PolicySpec>,
}

#[derive(Clone, Debug, Deserialize)]
pub struct PolicySpec {
    #[serde(default)]
    pub rules: Vec<PolicyRule>,
}

#[derive(Clone, Debug, Deserialize, serde::Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum PolicyRule {
    #[serde(rename_all = "camelCase")]
    PrRequired { approvers: Vec<String>, min_approvals: u32 },
    #[serde(rename_all = "camelCase")]
    ReScoreGate { min_score: u32, severity: Option<String> },
    #[serde(rename_all = "camelCase")]
    Soak { source_environment: EnvType, duration: String },
    #[serde(rename_all = "camelCase")]
    ChangeWindow { cron: String, duration: String },
}

#[derive(Clone, Debug, Deserialize)]
pub struct ApplicationSpec {
    pub name: String,
    pub blueprint: String,
    pub version: Option<String>,
    pub size: Option<String>,
    #[serde(default)]
    pub config: Json,
    pub placement: Option<Json>,
    #[serde(default)]
    pub links: BTreeMap<String, String>,
    pub environments: Option<BTreeMap<EnvType, EnvironmentOverride>>,
}

#[derive(Clone, Debug, Default, Deserialize)]
pub struct EnvironmentOverride {
    pub version: Option<String>,
    pub size: Option<String>,
    #[serde(default)]
    pub config: Json,
}

/// Splits a canonical region name `{provider}-{region}-{building-block}-{env}`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CanonicalRegion<'a> {
    pub provider_code: &'a str,
    pub region: &'a str,
    pub building_block: &'a str,
    pub env: &'a str,
}

impl<'a> CanonicalRegion<'a> {
    pub fn parse(name: &'a str) -> Option<Self> {
        let mut parts = name.split('-');
        let region =
            CanonicalRegion { provider_code: parts.next()?, region: parts.next()?, building_block: parts.next()?, env: parts.next()? };
        let all_letters = [region.provider_code, region.region, region.building_block, region.env]
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_lowercase()));
        (parts.next().is_none() && all_letters).then_some(region)
    }

    /// The full provider name the Catalyst CRDs use, from the naming code.
    pub fn provider(&self) -> Option<&'static str> {
        provider_for_code(self.provider_code)
    }
}

pub fn provider_for_code(code: &str) -> Option<&'static str> {
    Some(match code {
        "hz" => "hetzner",
        "hw" => "huawei",
        "oci" => "oci",
        "aws" => "aws",
        "gcp" => "gcp",
        "az" => "azure",
        "ct" => "contabo",
        _ => return None,
    })
}
