//! `identity/` on the control plane: per Organization, its realm (bp-keycloak-realm, whose
//! keycloak-config-cli applies it to Keycloak's admin API) and, per-organization, the minimal
//! Keycloak it lives in. The realm's OIDC client secret, and a federated provider's, are read
//! from OpenBao; Git never holds them.

use serde_json::{json, Value as Json};

use super::platform::{cluster_root, OPENBAO_STORE};
use super::{kustomization, namespace, Planned, Planner};
use crate::pipeline::resolve::{Realm, Resolution};

/// The folder below the control plane's tree.
pub(super) const IDENTITY: &str = "identity";

impl Planner<'_, '_> {
    /// The control plane's identity folder: whom it holds, and the chart source the realms share.
    pub(super) fn identity(&mut self, resolution: &Resolution) {
        let Some(root) = self.control_plane_root() else { return };
        let Some(first) = resolution.realms.first() else { return };
        let orgs = &self.project.sovereign.organizations;
        let mut files = vec!["source.yaml".to_string()];
        files.extend(resolution.realms.iter().map(|r| format!("{}.yaml", orgs[r.org].slug)));
        self.add(format!("{root}/{IDENTITY}/kustomization.yaml"), Planned::Document(kustomization(files)));
        let source = self.oci_repository(&self.blueprint(first.blueprint).name.clone(), "flux-system");
        self.add(format!("{root}/{IDENTITY}/source.yaml"), Planned::Objects(vec![source]));
    }

    /// `identity/<org>.yaml`: the Organization's Keycloak (if it has its own), the Secret of its
    /// realm's clients, and the realm's release.
    pub(super) fn realm(&mut self, realm: &Realm) {
        let Some(root) = self.control_plane_root() else { return };
        let org = &self.project.sovereign.organizations[realm.org];
        let slug = org.slug.clone();
        let mut objects = Vec::new();
        let keycloak = &realm.keycloak;
        if let Some(values) = &keycloak.own {
            objects.push(namespace(&keycloak.namespace, &self.fqdn));
            let bp = self.blueprint(keycloak.blueprint).clone();
            objects.push(self.helm_release(
                &bp,
                &keycloak.helm_release,
                "flux-system",
                &keycloak.release_name,
                &keycloak.namespace,
                &[],
                values,
            ));
        }
        let secret = format!("realm-{slug}");
        let mut data = vec![
            json!({"secretKey": "clientSecret", "remoteRef": {"key": format!("org/{slug}/keycloak/client"), "property": "client-secret"}}),
        ];
        let mut values_from = vec![json!({"kind": "Secret", "name": secret, "valuesKey": "clientSecret", "targetPath": "clientSecret"})];
        if let Some(config) = org.spec.identity.federation_config.as_ref().filter(|_| realm.values.get("federation").is_some()) {
            let key = format!("org/{slug}/{}", config.client_secret_ref.name);
            data.push(json!({"secretKey": "federationClientSecret", "remoteRef": {"key": key, "property": config.client_secret_ref.key}}));
            values_from.push(
                json!({"kind": "Secret", "name": secret, "valuesKey": "federationClientSecret", "targetPath": "federation.clientSecret"}),
            );
        }
        objects.push(self.external_secret(&secret, Some("flux-system"), OPENBAO_STORE, data));
        let bp = self.blueprint(realm.blueprint).clone();
        let depends = [keycloak.helm_release.clone()];
        let mut release = self.helm_release(&bp, &secret, "flux-system", &secret, &keycloak.namespace, &depends, &realm.values);
        release["spec"]["valuesFrom"] = Json::Array(values_from);
        objects.push(release);
        self.add_for(org.origin.clone(), format!("{root}/{IDENTITY}/{slug}.yaml"), Planned::Objects(objects));
    }

    /// The tree of the control plane's cluster.
    pub(super) fn control_plane_root(&self) -> Option<String> {
        Some(cluster_root(&self.fqdn, self.project.sovereign.control_plane()?))
    }
}
