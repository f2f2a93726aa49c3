//! `clusters/<fqdn>/`: the tree Flux applies, ordered so that every
//! reference is there before it is needed (the reconcile check proves it).
//!
//! | Flux Kustomization | applies | waits for |
//! |---|---|---|
//! | `flux-system` | the sync objects themselves (`flux-system/`) | — |
//! | `namespaces` | every Environment's Namespace (`namespaces/`) | — |
//! | `bootstrap-kit` | the kit's HelmReleases (`bootstrap-kit/`) | — |
//! | `infrastructure` | secret stores, platform credentials, Crossplane providers | `bootstrap-kit` |
//! | `infrastructure-config` | objects of kinds the providers install | `infrastructure` |
//! | `catalyst-config` | the Catalyst CRs (`system/catalyst-config`) | `infrastructure`, `namespaces` |
//! | `environments` | each Environment's credentials and Applications | `infrastructure`, `namespaces` |
//!
//! The fleet is read from a repository outside the Sovereign (its own Gitea
//! is installed by this very tree), by default the public OpenOva
//! repository the upstream bring-up reads. Credentials: cloud-init creates
//! `ghcr-pull` in `flux-system`; each Environment copies it into its own
//! namespace through the `flux-system` ClusterSecretStore (sources only read
//! Secrets of their own namespace), and reads its Gitea credentials from
//! OpenBao through the `openbao` store.

use serde_json::{json, Value as Json};

use super::{kustomization, namespace, Planned, Planner, PULL_SECRET};
use crate::pipeline::resolve::Resolution;

/// The fleet repository when the Sovereign names none: the upstream bring-up's default.
const DEFAULT_FLEET: (&str, &str) = ("https://github.com/openova-io/openova", "main");
/// The store that reads OpenBao, and the one that copies Secrets out of `flux-system`.
pub const OPENBAO_STORE: &str = "openbao";
const BRING_UP_STORE: &str = "flux-system";
/// The ServiceAccount the External Secrets chart runs as, which both stores authenticate with.
const ESO_ACCOUNT: (&str, &str) = ("external-secrets", "external-secrets-system");
/// Per Environment: the Secrets its sources read.
pub const CREDENTIALS_FILE: &str = "credentials.yaml";
pub const GITEA_CREDENTIALS: &str = "gitea-credentials";
/// In `flux-system`: the credentials of the platform repositories on the Sovereign's Gitea.
const PLATFORM_GITEA_CREDENTIALS: &str = "gitea-flux";

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
    fn gitea_credentials(&self, name: &str, namespace: &str, key: &str) -> Json {
        let field = |property: &str| json!({"secretKey": property, "remoteRef": {"key": key, "property": property}});
        self.external_secret(name, Some(namespace), OPENBAO_STORE, vec![field("username"), field("password")])
    }

    pub(super) fn cluster(&mut self, resolution: &Resolution) {
        let root = format!("clusters/{}", self.fqdn);
        let parts = ["flux-system", "namespaces", "bootstrap-kit", "infrastructure", "infrastructure-config", "environments"];
        self.add(format!("{root}/kustomization.yaml"), Planned::Document(kustomization(parts.map(String::from).to_vec())));
        let objects = self.flux_sync_objects(&root);
        self.add(format!("{root}/flux-system/gotk-sync.yaml"), Planned::Objects(objects));
        self.add(format!("{root}/flux-system/kustomization.yaml"), Planned::Document(kustomization(vec!["gotk-sync.yaml".into()])));
        let namespaces = resolution.environments.iter().map(|e| format!("{}.yaml", e.name)).collect();
        self.add(format!("{root}/namespaces/kustomization.yaml"), Planned::Document(kustomization(namespaces)));
        self.infrastructure(&root, resolution);
        let mut kit_files = Vec::new();
        for (slot, release) in resolution.kit.iter().enumerate() {
            let file = format!("{:02}-{}.yaml", slot + 1, self.blueprint(release.blueprint).short_name());
            let objects = self.kit_release(release);
            let origin = self.blueprint(release.blueprint).origin.clone();
            self.add_for(origin, format!("{root}/bootstrap-kit/{file}"), Planned::Objects(objects));
            kit_files.push(file);
        }
        self.add(format!("{root}/bootstrap-kit/kustomization.yaml"), Planned::Document(kustomization(kit_files)));
        let environments = resolution.environments.iter().map(|e| e.name.clone()).collect();
        self.add(format!("{root}/environments/kustomization.yaml"), Planned::Document(kustomization(environments)));
    }

    /// An Environment's Namespace, in `namespaces/` so that the Catalyst CRs and the Applications both find it.
    pub(super) fn namespace_file(&mut self, environment: &crate::pipeline::resolve::ResolvedEnvironment) {
        let path = format!("clusters/{}/namespaces/{}.yaml", self.fqdn, environment.name);
        self.add(path, Planned::Objects(vec![namespace(&environment.name, &self.fqdn)]));
    }

    /// The fleet repository's URL and branch.
    pub(super) fn fleet_repo(&self) -> (String, String) {
        match &self.project.sovereign.spec.gitops {
            Some(g) => (g.repo_url.clone(), g.branch.clone()),
            None => (DEFAULT_FLEET.0.to_string(), DEFAULT_FLEET.1.to_string()),
        }
    }

    /// Written once, applied twice: by cloud-init at bring-up, then by Flux from the fleet repo.
    pub(super) fn flux_sync_objects(&self, root: &str) -> Vec<Json> {
        let (url, branch) = self.fleet_repo();
        let fleet = self.git_repository("flux-system", "flux-system", &url, &branch, None);
        let config = self.git_repository(
            "catalyst-config",
            "flux-system",
            &self.gitea("system", "catalyst-config"),
            "main",
            Some(PLATFORM_GITEA_CREDENTIALS),
        );
        let path = |part: &str| format!("./{root}/{part}");
        let mut own = self.flux_kustomization("flux-system", &path("flux-system"), "flux-system", &[]);
        // It applies the other Kustomizations; waiting for them would make it as slow as the slowest.
        own["spec"]["wait"] = json!(false);
        vec![
            fleet,
            config,
            own,
            self.flux_kustomization("namespaces", &path("namespaces"), "flux-system", &[]),
            self.flux_kustomization("bootstrap-kit", &path("bootstrap-kit"), "flux-system", &[]),
            self.flux_kustomization("infrastructure", &path("infrastructure"), "flux-system", &["bootstrap-kit"]),
            self.flux_kustomization("infrastructure-config", &path("infrastructure-config"), "flux-system", &["infrastructure"]),
            self.flux_kustomization("catalyst-config", "./", "catalyst-config", &["infrastructure", "namespaces"]),
            self.flux_kustomization("environments", &path("environments"), "flux-system", &["infrastructure", "namespaces"]),
        ]
    }

    /// What the kit's controllers need before anything uses them: the secret stores, the platform's
    /// credentials and the Crossplane providers; then, in `infrastructure-config`, their configs.
    fn infrastructure(&mut self, root: &str, resolution: &Resolution) {
        let mut resources = vec!["secret-stores.yaml".to_string(), "credentials.yaml".to_string()];
        self.add(format!("{root}/infrastructure/secret-stores.yaml"), Planned::Objects(self.secret_stores(resolution)));
        let mut credentials = vec![self.gitea_credentials(PLATFORM_GITEA_CREDENTIALS, "flux-system", "system/gitea/flux")];
        let mut configs = Vec::new();
        if self.project.sovereign.spec.provider == "hetzner" {
            let token = json!({"secretKey": "token", "remoteRef": {"key": "system/hetzner", "property": "token"}});
            credentials.push(self.external_secret("hcloud-credentials", Some("crossplane-system"), OPENBAO_STORE, vec![token]));
            let provider = json!({
                "apiVersion": self.pinned.crossplane.api("Provider"), "kind": "Provider", "metadata": {"name": "provider-hcloud"},
                "spec": {"package": format!("xpkg.upbound.io/crossplane-contrib/provider-hcloud:v{}", self.pinned.provider_hcloud.version)},
            });
            self.add(format!("{root}/infrastructure/provider-hcloud.yaml"), Planned::Objects(vec![provider]));
            resources.push("provider-hcloud.yaml".to_string());
            configs.push("provider-config-hcloud.yaml".to_string());
            let config = json!({
                "apiVersion": self.pinned.provider_hcloud.api("ProviderConfig"), "kind": "ProviderConfig", "metadata": {"name": "default"},
                "spec": {"credentials": {"source": "Secret", "secretRef": {"namespace": "crossplane-system", "name": "hcloud-credentials", "key": "token"}}},
            });
            self.add(format!("{root}/infrastructure-config/provider-config-hcloud.yaml"), Planned::Objects(vec![config]));
        }
        self.add(format!("{root}/infrastructure/credentials.yaml"), Planned::Objects(credentials));
        resources.sort();
        self.add(format!("{root}/infrastructure/kustomization.yaml"), Planned::Document(kustomization(resources)));
        self.add(format!("{root}/infrastructure-config/kustomization.yaml"), Planned::Document(kustomization(configs)));
    }

    /// The OpenBao store (address and mount from the External Secrets release's values) and the
    /// store that copies the bring-up's Secrets out of `flux-system`, with the Role that lets it.
    fn secret_stores(&self, resolution: &Resolution) -> Vec<Json> {
        let eso = crate::pipeline::resolve::kit_release(self.project, &resolution.kit, "bp-external-secrets");
        let value = |pointer: &str, default: &str| {
            eso.and_then(|r| r.values.pointer(pointer)).and_then(Json::as_str).unwrap_or(default).to_string()
        };
        let account = json!({"name": ESO_ACCOUNT.0, "namespace": ESO_ACCOUNT.1});
        let store_api = self.pinned.api("ClusterSecretStore");
        let openbao = json!({
            "apiVersion": store_api, "kind": "ClusterSecretStore", "metadata": {"name": OPENBAO_STORE},
            "spec": {"provider": {"vault": {
                "server": value("/openbao/address", "http://openbao.openbao.svc.cluster.local:8200"),
                "path": value("/openbao/kvMount", "secret"),
                "version": "v2",
                "auth": {"kubernetes": {"mountPath": "kubernetes", "role": "external-secrets", "serviceAccountRef": account}},
            }}},
        });
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

    /// The Secrets an Environment's sources read, in its namespace: the chart pull secret copied
    /// from `flux-system`, and the Organization's Gitea credentials from OpenBao.
    pub(super) fn environment_credentials(&self, org: &str, namespace: &str) -> Vec<Json> {
        let mut pull = self.external_secret(
            PULL_SECRET,
            Some(namespace),
            BRING_UP_STORE,
            vec![json!({"secretKey": ".dockerconfigjson", "remoteRef": {"key": PULL_SECRET, "property": ".dockerconfigjson"}})],
        );
        pull["spec"]["target"]["template"] = json!({"type": "kubernetes.io/dockerconfigjson"});
        vec![pull, self.gitea_credentials(GITEA_CREDENTIALS, namespace, &format!("org/{org}/gitea/flux"))]
    }
}
