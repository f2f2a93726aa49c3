//! A virtual cluster per Organization on each workload (rtz) cluster it runs in, named as the
//! seeds name it: the host namespace and the vcluster are both `<org>`. The host runs the
//! vcluster and installs into it, through the kubeconfig Secret `vc-<org>` the chart writes,
//! the Organization's own Flux and External Secrets; then applies into it what the
//! Organization's Flux reconciles: each Environment's namespace and credentials, and one
//! GitRepository and Kustomization per Application.
//!
//! | host Flux Kustomization | applies | dependsOn |
//! |---|---|---|
//! | `vclusters` | per Organization: namespace, vcluster, its Flux and External Secrets, the host copies of its credentials | `infrastructure` |
//! | `organizations` | per Organization: Kustomization `<org>/<org>`, which applies `organizations/<org>/` into the vcluster | `vclusters` |
//!
//! Credentials reach the vcluster by substitution: the host reads them into Secrets of
//! namespace `<org>`, each value written as a JSON string (a YAML double-quoted scalar, so that
//! no value can change the manifest it is put in), and the Kustomization `<org>` substitutes
//! them into the Environments' Secrets. Application
//! secrets come from OpenBao through the vcluster's own `openbao` store.

use serde_json::{json, Value as Json};

use super::platform::cluster_root;
use super::{kustomization, namespace, Planned, Planner, PULL_SECRET};
use crate::model::{BuildingBlock, Organization};
use crate::pipeline::resolve::{kit_release, KitRelease, VclusterRelease};

/// The host folders, and the Flux Kustomizations that apply them.
pub(super) const VCLUSTERS: &str = "vclusters";
pub(super) const ORGANIZATIONS: &str = "organizations";
/// The host Secrets of an Organization's credentials, substituted into its vcluster.
const GITEA_VARIABLES: &str = "gitea-credentials";
const PULL_VARIABLES: &str = "ghcr-pull";

/// The kubeconfig Secret the vCluster chart writes for release `org`.
fn kube_config(org: &str) -> String {
    format!("vc-{org}")
}

/// Whether the Organization has an Environment in `region`.
pub(super) fn runs_in(org: &Organization, region: &str) -> bool {
    org.spec.environments.iter().any(|e| e.regions.iter().any(|r| r == region))
}

impl Planner<'_, '_> {
    /// The lists of a workload cluster's vclusters and of what is applied into them.
    pub(super) fn vcluster_lists(&mut self, root: &str, organizations: &[&Organization], vcluster: &VclusterRelease) {
        let files: Vec<String> = organizations.iter().map(|o| format!("{}.yaml", o.slug)).collect();
        let source = self.oci_repository(&self.blueprint(vcluster.blueprint).name.clone(), "flux-system");
        self.add(format!("{root}/{VCLUSTERS}/source.yaml"), Planned::Objects(vec![source]));
        let mut listed = vec!["source.yaml".to_string()];
        listed.extend(files.iter().cloned());
        self.add(format!("{root}/{VCLUSTERS}/kustomization.yaml"), Planned::Document(kustomization(listed)));
        self.add(format!("{root}/{ORGANIZATIONS}/kustomization.yaml"), Planned::Document(kustomization(files)));
    }

    /// On each workload cluster the Organization runs in: its vcluster and what the host puts in it.
    pub(super) fn vclusters(&mut self, org: &Organization, kit: &[KitRelease], vcluster: &VclusterRelease) {
        let regions = &self.project.sovereign.spec.regions;
        let here: Vec<&String> =
            (regions.iter()).filter(|r| BuildingBlock::of_region(r) == Some(BuildingBlock::Rtz)).filter(|r| runs_in(org, r)).collect();
        for region in here {
            let root = cluster_root(&self.fqdn, region);
            let host = self.vcluster_host(org, region, kit, vcluster);
            self.add_for(org.origin.clone(), format!("{root}/{VCLUSTERS}/{}.yaml", org.slug), Planned::Objects(host));
            let sync = self.vcluster_sync(org, &root);
            self.add_for(org.origin.clone(), format!("{root}/{ORGANIZATIONS}/{}.yaml", org.slug), Planned::Objects(vec![sync]));
            let inside = format!("{root}/{ORGANIZATIONS}/{}", org.slug);
            let mut listed = vec!["secret-stores.yaml".to_string()];
            listed.extend(
                org.spec
                    .environments
                    .iter()
                    .filter(|e| e.regions.contains(region))
                    .map(|e| format!("{}-{}", org.slug, e.env_type.as_str())),
            );
            self.add_for(org.origin.clone(), format!("{inside}/kustomization.yaml"), Planned::Document(kustomization(listed)));
            let store = self.vcluster_store(&org.slug, region);
            self.add_for(org.origin.clone(), format!("{inside}/secret-stores.yaml"), Planned::Objects(vec![store]));
        }
    }

    /// What the host runs for the Organization: its namespace, the vcluster, the releases it
    /// installs into it, and the host copies of the credentials it substitutes there.
    fn vcluster_host(&self, org: &Organization, region: &str, kit: &[KitRelease], vcluster: &VclusterRelease) -> Vec<Json> {
        let slug = &org.slug;
        let bp = self.blueprint(vcluster.blueprint);
        let mut values = vcluster.values.clone();
        values["vcluster"] = json!({"exportKubeConfig": {"server": format!("https://{slug}.{slug}.svc:443")}});
        let name = format!("vcluster-{slug}");
        let mut release = self.helm_release(bp, &name, "flux-system", slug, slug, &[], &values);
        // The workload tags of the seeds: the fully qualified name is `<region>-<org>`.
        let labels = &mut release["metadata"]["labels"];
        labels["openova.io/organization"] = json!(slug);
        labels["openova.io/host-cluster"] = json!(region);
        labels["openova.io/vcluster"] = json!(format!("{region}-{slug}"));
        let mut objects = vec![namespace(slug, &self.fqdn), release];
        // The Organization's own Flux and External Secrets, installed into the vcluster.
        for (component, target) in [("bp-flux", "flux-system"), ("bp-external-secrets", "external-secrets-system")] {
            let Some(release) = kit_release(self.project, kit, component) else { continue };
            let bp = self.blueprint(release.blueprint);
            let mut installed = self.helm_release(bp, bp.short_name(), slug, bp.short_name(), target, &[], &release.values);
            let spec = &mut installed["spec"];
            spec["chart"]["spec"]["sourceRef"]["namespace"] = json!("flux-system");
            spec["kubeConfig"] = json!({"secretRef": {"name": kube_config(slug), "key": "config"}});
            spec["storageNamespace"] = json!(target);
            spec["install"]["createNamespace"] = json!(true);
            spec["dependsOn"] = json!([{"name": name, "namespace": "flux-system"}]);
            objects.push(installed);
        }
        let mut gitea = self.gitea_credentials(GITEA_VARIABLES, slug, &format!("org/{slug}/gitea/flux"));
        gitea["spec"]["target"]["template"] =
            json!({"data": {"GITEA_USERNAME": "{{ .username | toJson }}", "GITEA_PASSWORD": "{{ .password | toJson }}"}});
        let copy = json!({"secretKey": "dockerconfigjson", "remoteRef": {"key": PULL_SECRET, "property": ".dockerconfigjson"}});
        let mut pull = self.external_secret(PULL_VARIABLES, Some(slug), super::platform::BRING_UP_STORE, vec![copy]);
        pull["spec"]["target"]["template"] = json!({"data": {"GHCR_PULL": "{{ .dockerconfigjson | toJson }}"}});
        objects.extend([gitea, pull]);
        objects
    }

    /// The host Kustomization that applies `organizations/<org>/` into the Organization's vcluster.
    fn vcluster_sync(&self, org: &Organization, root: &str) -> Json {
        let slug = &org.slug;
        let mut sync = self.flux_kustomization(slug, &format!("./{root}/{ORGANIZATIONS}/{slug}"), "flux-system", &[]);
        sync["metadata"]["namespace"] = json!(slug);
        let spec = &mut sync["spec"];
        spec["sourceRef"]["namespace"] = json!("flux-system");
        spec["kubeConfig"] = json!({"secretRef": {"name": kube_config(slug), "key": "config"}});
        spec["dependsOn"] = json!([{"name": VCLUSTERS, "namespace": "flux-system"}]);
        let from = |name: &str| json!({"kind": "Secret", "name": name});
        spec["postBuild"]["substituteFrom"] = json!([from(GITEA_VARIABLES), from(PULL_VARIABLES)]);
        sync
    }

    /// The vcluster's OpenBao store: OpenBao on the control plane, through an auth mount of the vcluster's own.
    fn vcluster_store(&self, slug: &str, region: &str) -> Json {
        let server = format!("https://{}", crate::check::releases::sovereign_host(&self.fqdn, "bao"));
        self.openbao_store(&server, "secret", &format!("kubernetes-{region}-{slug}"))
    }

    /// An Environment's namespace and Secrets inside its Organization's vcluster, the
    /// credentials substituted by the Kustomization that applies them (see the module).
    pub(super) fn vcluster_environment(&self, name: &str) -> Vec<Json> {
        let secret = |secret: &str, kind: &str, data: Json| json!({"apiVersion": "v1", "kind": "Secret", "metadata": {"name": secret, "namespace": name}, "type": kind, "stringData": data});
        vec![
            json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}),
            secret(PULL_SECRET, "kubernetes.io/dockerconfigjson", json!({".dockerconfigjson": "${GHCR_PULL}"})),
            secret(super::platform::GITEA_CREDENTIALS, "Opaque", json!({"username": "${GITEA_USERNAME}", "password": "${GITEA_PASSWORD}"})),
        ]
    }
}
