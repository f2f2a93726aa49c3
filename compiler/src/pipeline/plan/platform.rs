//! `clusters/<fqdn>/<region>/`: the tree each region's cluster Flux applies, ordered so that
//! every reference is there before it is needed (the reconcile check proves it).
//!
//! | Flux Kustomization | applies | waits for | where |
//! |---|---|---|---|
//! | `flux-system` | the sync objects themselves (`flux-system/`) | — | every cluster |
//! | `namespaces` | every Environment's Namespace, for its Catalyst CRs (`namespaces/`) | — | mgt |
//! | `bootstrap-kit` | the kit's HelmReleases of the cluster's building block (`bootstrap-kit/`) | — | every cluster |
//! | `infrastructure` | secret stores, platform credentials, Crossplane providers | `bootstrap-kit` | every cluster |
//! | `infrastructure-config` | objects of kinds the providers install | `infrastructure` | where Crossplane runs |
//! | `identity` | the Organizations' realms ([`super::identity`]) | `infrastructure` | mgt |
//! | `catalyst-config` | the Catalyst CRs (`system/catalyst-config`) | `infrastructure`, `namespaces` | mgt |
//! | `vclusters`, `organizations` | the Organizations' vclusters and what runs in them ([`super::vcluster`]) | `infrastructure` | rtz |
//!
//! The fleet is read from a repository outside the Sovereign (its own Gitea
//! is installed by this very tree), by default the public OpenOva
//! repository the upstream bring-up reads. Credentials: cloud-init creates
//! `ghcr-pull` in `flux-system`; the `flux-system` ClusterSecretStore copies
//! it where it is needed (sources only read Secrets of their own namespace),
//! and the `openbao` store reads the Gitea credentials from OpenBao.

use serde_json::{json, Value as Json};

use super::identity::IDENTITY;
use super::vcluster::{ORGANIZATIONS, VCLUSTERS};
use super::{kustomization, namespace, Planned, Planner, PULL_SECRET};
use crate::check::releases::sovereign_host;
use crate::model::{BuildingBlock, Organization};
use crate::pipeline::load::Project;
use crate::pipeline::resolve::{KitRelease, Resolution, ResolvedEnvironment};

/// The fleet repository when the Sovereign names none: the upstream bring-up's default.
const DEFAULT_FLEET: (&str, &str) = ("https://github.com/openova-io/openova", "main");
/// The store that reads OpenBao, and the one that copies Secrets out of `flux-system`.
pub const OPENBAO_STORE: &str = "openbao";
pub(super) const BRING_UP_STORE: &str = "flux-system";
/// The ServiceAccount the External Secrets chart runs as, which the stores authenticate with.
pub(super) const ESO_ACCOUNT: (&str, &str) = ("external-secrets", "external-secrets-system");
/// Per Environment: the Secret its Git sources read.
pub const GITEA_CREDENTIALS: &str = "gitea-credentials";
/// In `flux-system`: the credentials of the platform repositories on the Sovereign's Gitea.
const PLATFORM_GITEA_CREDENTIALS: &str = "gitea-flux";

/// `clusters/<fqdn>/<region>`: the tree one region's cluster syncs.
pub(super) fn cluster_root(fqdn: &str, region: &str) -> String {
    format!("clusters/{fqdn}/{region}")
}

/// What one region's cluster runs: the kit releases of its building block (with their
/// Sovereign-wide slot), and the Environments placed in it.
pub(super) struct Cluster<'r> {
    pub region: &'r str,
    pub block: BuildingBlock,
    pub root: String,
    pub kit: Vec<(usize, &'r KitRelease)>,
    /// Environments whose Applications run here (in their Organizations' vclusters).
    pub environments: Vec<&'r ResolvedEnvironment>,
    /// The Organizations those Environments belong to.
    pub organizations: Vec<&'r Organization>,
    /// On the control plane, every Environment: its Namespace holds its Catalyst CRs.
    pub namespaces: Vec<&'r ResolvedEnvironment>,
    /// Whether the Organizations' realms are applied here (the control plane).
    pub realms: bool,
    names: Vec<&'r str>,
}

impl<'r> Cluster<'r> {
    pub fn of(project: &'r Project, resolution: &'r Resolution, fqdn: &str, region: &'r str) -> Option<Self> {
        let block = BuildingBlock::of_region(region)?;
        let kit: Vec<(usize, &KitRelease)> = resolution.kit.iter().enumerate().filter(|(_, r)| r.runs_in(region)).collect();
        let names = kit.iter().map(|(_, r)| project.catalog.blueprints[r.blueprint].name.as_str()).collect();
        let environments: Vec<&ResolvedEnvironment> =
            resolution.environments.iter().filter(|e| e.regions.iter().any(|r| r == region)).collect();
        let namespaces = if block == BuildingBlock::Mgt { resolution.environments.iter().collect() } else { Vec::new() };
        let organizations = project.sovereign.organizations.iter().filter(|o| super::vcluster::runs_in(o, region)).collect();
        let realms = block == BuildingBlock::Mgt && !resolution.realms.is_empty();
        let root = cluster_root(fqdn, region);
        Some(Cluster { region, block, root, kit, environments, organizations, namespaces, realms, names })
    }

    /// Whether the kit Blueprint `name` (written `bp-x`) runs here.
    pub fn runs(&self, name: &str) -> bool {
        self.release(name).is_some()
    }

    pub fn release(&self, name: &str) -> Option<&'r KitRelease> {
        self.names.iter().position(|n| crate::model::short_name(n) == crate::model::short_name(name)).map(|i| self.kit[i].1)
    }

    /// The folders below the root, in the order the root `kustomization.yaml` lists them.
    pub fn parts(&self) -> impl Iterator<Item = &'static str> + '_ {
        let present = |part: &str| match part {
            "namespaces" => !self.namespaces.is_empty(),
            "infrastructure-config" => self.runs("bp-crossplane"),
            IDENTITY => self.realms,
            VCLUSTERS | ORGANIZATIONS => !self.environments.is_empty(),
            _ => true,
        };
        ["flux-system", "namespaces", "bootstrap-kit", "infrastructure", "infrastructure-config", IDENTITY, VCLUSTERS, ORGANIZATIONS]
            .into_iter()
            .filter(move |p| present(p))
    }
}

impl Planner<'_, '_> {
    pub(super) fn flux_kustomization(&self, name: &str, path: &str, source: &str, depends_on: &[&str]) -> Json {
        let mut spec = json!({
            "interval": "10m",
            "path": path,
            "prune": true,
            "sourceRef": {"kind": "GitRepository", "name": source},
            "timeout": "30m",
            "wait": true,
            "postBuild": {"substitute": {"SOVEREIGN_FQDN": self.fqdn}},
        });
        if !depends_on.is_empty() {
            spec["dependsOn"] = Json::Array(depends_on.iter().map(|d| json!({"name": d})).collect());
        }
        json!({"apiVersion": self.pinned.api("Kustomization"), "kind": "Kustomization", "metadata": {"name": name, "namespace": "flux-system"}, "spec": spec})
    }

    pub(super) fn git_repository(&self, name: &str, namespace: &str, url: &str, branch: &str, secret: Option<&str>) -> Json {
        let mut spec = json!({"interval": "1m", "ref": {"branch": branch}, "url": url});
        if let Some(secret) = secret {
            spec["secretRef"] = json!({"name": secret});
        }
        json!({"apiVersion": self.pinned.api("GitRepository"), "kind": "GitRepository", "metadata": {"name": name, "namespace": namespace}, "spec": spec})
    }

    /// An ExternalSecret `name` (in `namespace`, or the applying Kustomization's) filled from `store`.
    pub(super) fn external_secret(&self, name: &str, namespace: Option<&str>, store: &str, data: Vec<Json>) -> Json {
        let mut metadata = json!({"name": name});
        if let Some(namespace) = namespace {
            metadata["namespace"] = json!(namespace);
        }
        json!({
            "apiVersion": self.pinned.api("ExternalSecret"), "kind": "ExternalSecret",
            "metadata": metadata,
            "spec": {
                "refreshInterval": "1h",
                "secretStoreRef": {"kind": "ClusterSecretStore", "name": store},
                "target": {"name": name, "creationPolicy": "Owner"},
                "data": data,
            },
        })
    }

    /// Username and password of a Gitea token kept in OpenBao at `key`.
    pub(super) fn gitea_credentials(&self, name: &str, namespace: &str, key: &str) -> Json {
        let field = |property: &str| json!({"secretKey": property, "remoteRef": {"key": key, "property": property}});
        self.external_secret(name, Some(namespace), OPENBAO_STORE, vec![field("username"), field("password")])
    }

    /// Every region's cluster tree.
    pub(super) fn clusters(&mut self, resolution: &Resolution) {
        for region in &self.project.sovereign.spec.regions {
            if let Some(cluster) = Cluster::of(self.project, resolution, &self.fqdn, region) {
                self.cluster(&cluster, resolution);
            }
        }
    }

    fn cluster(&mut self, cluster: &Cluster<'_>, resolution: &Resolution) {
        let root = &cluster.root;
        self.add(format!("{root}/kustomization.yaml"), Planned::Document(kustomization(cluster.parts().map(String::from).collect())));
        let objects = self.flux_sync_objects(cluster);
        self.add(format!("{root}/flux-system/gotk-sync.yaml"), Planned::Objects(objects));
        self.add(format!("{root}/flux-system/kustomization.yaml"), Planned::Document(kustomization(vec!["gotk-sync.yaml".into()])));
        if !cluster.namespaces.is_empty() {
            let files = cluster.namespaces.iter().map(|e| format!("{}.yaml", e.name)).collect();
            self.add(format!("{root}/namespaces/kustomization.yaml"), Planned::Document(kustomization(files)));
        }
        self.infrastructure(cluster);
        let mut kit_files = Vec::new();
        for &(slot, release) in &cluster.kit {
            let file = format!("{:02}-{}.yaml", slot + 1, self.blueprint(release.blueprint).short_name());
            let objects = self.kit_release(release, cluster);
            let origin = self.blueprint(release.blueprint).origin.clone();
            self.add_for(origin, format!("{root}/bootstrap-kit/{file}"), Planned::Objects(objects));
            kit_files.push(file);
        }
        self.add(format!("{root}/bootstrap-kit/kustomization.yaml"), Planned::Document(kustomization(kit_files)));
        if let (false, Some(vcluster)) = (cluster.environments.is_empty(), &resolution.vcluster) {
            self.vcluster_lists(root, &cluster.organizations, vcluster);
        }
    }

    /// An Environment's Namespace on the control plane, where its Catalyst CRs live.
    pub(super) fn namespace_file(&mut self, environment: &ResolvedEnvironment) {
        if let Some(root) = self.control_plane_root() {
            self.add(
                format!("{root}/namespaces/{}.yaml", environment.name),
                Planned::Objects(vec![namespace(&environment.name, &self.fqdn)]),
            );
        }
    }

    /// The fleet repository's URL and branch.
    pub(super) fn fleet_repo(&self) -> (String, String) {
        match &self.project.sovereign.spec.gitops {
            Some(g) => (g.repo_url.clone(), g.branch.clone()),
            None => (DEFAULT_FLEET.0.to_string(), DEFAULT_FLEET.1.to_string()),
        }
    }

    /// Written once, applied twice: by cloud-init at bring-up, then by Flux from the fleet repo.
    pub(super) fn flux_sync_objects(&self, cluster: &Cluster<'_>) -> Vec<Json> {
        let (url, branch) = self.fleet_repo();
        let path = |part: &str| format!("./{}/{part}", cluster.root);
        let mut own = self.flux_kustomization("flux-system", &path("flux-system"), "flux-system", &[]);
        // It applies the other Kustomizations; waiting for them would make it as slow as the slowest.
        own["spec"]["wait"] = json!(false);
        let mut objects = vec![self.git_repository("flux-system", "flux-system", &url, &branch, None), own];
        let mut ready = vec!["infrastructure"];
        if !cluster.namespaces.is_empty() {
            objects.push(self.flux_kustomization("namespaces", &path("namespaces"), "flux-system", &[]));
            ready.push("namespaces");
        }
        objects.push(self.flux_kustomization("bootstrap-kit", &path("bootstrap-kit"), "flux-system", &[]));
        objects.push(self.flux_kustomization("infrastructure", &path("infrastructure"), "flux-system", &["bootstrap-kit"]));
        if cluster.runs("bp-crossplane") {
            objects.push(self.flux_kustomization(
                "infrastructure-config",
                &path("infrastructure-config"),
                "flux-system",
                &["infrastructure"],
            ));
        }
        if cluster.realms {
            objects.push(self.flux_kustomization(IDENTITY, &path(IDENTITY), "flux-system", &["infrastructure"]));
        }
        if cluster.block == BuildingBlock::Mgt {
            let config = self.gitea("system", "catalyst-config");
            objects.insert(1, self.git_repository("catalyst-config", "flux-system", &config, "main", Some(PLATFORM_GITEA_CREDENTIALS)));
            objects.push(self.flux_kustomization("catalyst-config", "./", "catalyst-config", &ready));
        }
        if !cluster.environments.is_empty() {
            objects.push(self.flux_kustomization(VCLUSTERS, &path(VCLUSTERS), "flux-system", &["infrastructure"]));
            objects.push(self.flux_kustomization(ORGANIZATIONS, &path(ORGANIZATIONS), "flux-system", &[VCLUSTERS]));
        }
        objects
    }

    /// What the kit's controllers need before anything uses them: the secret stores, the platform's
    /// credentials and the Crossplane providers; then, in `infrastructure-config`, their configs.
    fn infrastructure(&mut self, cluster: &Cluster<'_>) {
        let root = &cluster.root;
        let mut resources = Vec::new();
        let mut credentials = Vec::new();
        if let Some(eso) = cluster.release("bp-external-secrets") {
            self.add(format!("{root}/infrastructure/secret-stores.yaml"), Planned::Objects(self.secret_stores(eso, cluster)));
            resources.push("secret-stores.yaml".to_string());
        }
        if cluster.block == BuildingBlock::Mgt {
            credentials.push(self.gitea_credentials(PLATFORM_GITEA_CREDENTIALS, "flux-system", "system/gitea/flux"));
        }
        if self.project.sovereign.spec.provider == "hetzner" && cluster.runs("bp-crossplane") {
            let token = json!({"secretKey": "token", "remoteRef": {"key": "system/hetzner", "property": "token"}});
            credentials.push(self.external_secret("hcloud-credentials", Some("crossplane-system"), OPENBAO_STORE, vec![token]));
            let provider = json!({
                "apiVersion": self.pinned.crossplane.api("Provider"), "kind": "Provider", "metadata": {"name": "provider-hcloud"},
                "spec": {"package": format!("xpkg.upbound.io/crossplane-contrib/provider-hcloud:v{}", self.pinned.provider_hcloud.version)},
            });
            self.add(format!("{root}/infrastructure/provider-hcloud.yaml"), Planned::Objects(vec![provider]));
            resources.push("provider-hcloud.yaml".to_string());
            let config = json!({
                "apiVersion": self.pinned.provider_hcloud.api("ProviderConfig"), "kind": "ProviderConfig", "metadata": {"name": "default"},
                "spec": {"credentials": {"source": "Secret", "secretRef": {"namespace": "crossplane-system", "name": "hcloud-credentials", "key": "token"}}},
            });
            self.add(format!("{root}/infrastructure-config/provider-config-hcloud.yaml"), Planned::Objects(vec![config]));
            let configs = vec!["provider-config-hcloud.yaml".to_string()];
            self.add(format!("{root}/infrastructure-config/kustomization.yaml"), Planned::Document(kustomization(configs)));
        }
        if !credentials.is_empty() {
            self.add(format!("{root}/infrastructure/credentials.yaml"), Planned::Objects(credentials));
            resources.push("credentials.yaml".to_string());
        }
        resources.sort();
        self.add(format!("{root}/infrastructure/kustomization.yaml"), Planned::Document(kustomization(resources)));
    }

    /// The `openbao` ClusterSecretStore: OpenBao at `server`, logged in to through the
    /// Kubernetes auth mount `mount` as the External Secrets ServiceAccount.
    pub(super) fn openbao_store(&self, server: &str, path: &str, mount: &str) -> Json {
        let account = json!({"name": ESO_ACCOUNT.0, "namespace": ESO_ACCOUNT.1});
        json!({
            "apiVersion": self.pinned.api("ClusterSecretStore"), "kind": "ClusterSecretStore", "metadata": {"name": OPENBAO_STORE},
            "spec": {"provider": {"vault": {
                "server": server,
                "path": path,
                "version": "v2",
                "auth": {"kubernetes": {"mountPath": mount, "role": "external-secrets", "serviceAccountRef": account}},
            }}},
        })
    }

    /// The OpenBao store (address and mount from the External Secrets release's values) and the
    /// store that copies the bring-up's Secrets out of `flux-system`, with the Role that lets it.
    /// OpenBao runs on the control plane: another cluster reaches it at its Sovereign host and
    /// logs in through an auth mount of its own, as each cluster signs its own tokens.
    fn secret_stores(&self, eso: &KitRelease, cluster: &Cluster<'_>) -> Vec<Json> {
        let value = |pointer: &str, default: &str| eso.values.pointer(pointer).and_then(Json::as_str).unwrap_or(default).to_string();
        let (server, mount) = match cluster.block {
            BuildingBlock::Mgt => (value("/openbao/address", "http://openbao.openbao.svc.cluster.local:8200"), "kubernetes".to_string()),
            _ => (format!("https://{}", sovereign_host(&self.fqdn, "bao")), format!("kubernetes-{}", cluster.region)),
        };
        let openbao = self.openbao_store(&server, &value("/openbao/kvMount", "secret"), &mount);
        let account = json!({"name": ESO_ACCOUNT.0, "namespace": ESO_ACCOUNT.1});
        let store_api = self.pinned.api("ClusterSecretStore");
        let bring_up = json!({
            "apiVersion": store_api, "kind": "ClusterSecretStore", "metadata": {"name": BRING_UP_STORE},
            "spec": {"provider": {"kubernetes": {
                "remoteNamespace": "flux-system",
                "server": {"caProvider": {"type": "ConfigMap", "name": "kube-root-ca.crt", "key": "ca.crt", "namespace": "flux-system"}},
                "auth": {"serviceAccount": account},
            }}},
        });
        let reader = "external-secrets-reader";
        let role = json!({
            "apiVersion": self.pinned.api("Role"), "kind": "Role", "metadata": {"name": reader, "namespace": "flux-system"},
            "rules": [{"apiGroups": [""], "resources": ["secrets"], "resourceNames": [PULL_SECRET], "verbs": ["get", "list", "watch"]}],
        });
        let binding = json!({
            "apiVersion": self.pinned.api("RoleBinding"), "kind": "RoleBinding", "metadata": {"name": reader, "namespace": "flux-system"},
            "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": reader},
            "subjects": [{"kind": "ServiceAccount", "name": ESO_ACCOUNT.0, "namespace": ESO_ACCOUNT.1}],
        });
        vec![openbao, bring_up, role, binding]
    }
}
