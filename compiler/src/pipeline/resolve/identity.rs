//! Identity by `keycloakTopology`: every Organization gets a realm named after its slug, in the
//! Sovereign's one Keycloak (`shared-sovereign`) or in a minimal Keycloak of its own
//! (`per-organization`). Either way its Applications learn the realm's issuer through
//! `x-catalyst-organization: issuer` ([`crate::pipeline::expr::organization_variables`]).

use serde_json::{json, Value as Json};

use super::{kit_release, Context, KitRelease};
use crate::diagnostic::codes;
use crate::diagnostic::{Diagnostic, Diagnostics, Label};
use crate::model::Organization;
use crate::pipeline::validate::Layer;

/// The Blueprint that applies a realm (keycloak-config-cli).
pub const REALM_BLUEPRINT: &str = "bp-keycloak-realm";
const KEYCLOAK: &str = "bp-keycloak";

/// One Organization's realm and the Keycloak that serves it.
#[derive(Debug, Clone)]
pub struct Realm {
    pub org: usize,
    /// bp-keycloak-realm at the version chosen, and the realm's validated values.
    pub blueprint: usize,
    pub values: Json,
    pub keycloak: Keycloak,
}

/// The Keycloak a realm lives in: the kit's, or (per-organization) one of the Organization's own.
#[derive(Debug, Clone)]
pub struct Keycloak {
    pub blueprint: usize,
    /// The HelmRelease (in `flux-system`) the realm waits for.
    pub helm_release: String,
    pub release_name: String,
    pub namespace: String,
    /// The values of the Organization's own Keycloak; `None` for the kit's.
    pub own: Option<Json>,
}

impl Keycloak {
    /// The in-cluster address keycloak-config-cli reaches the admin API at.
    pub fn url(&self) -> String {
        format!("http://{}.{}.svc.cluster.local", self.release_name, self.namespace)
    }
}

pub(super) fn resolve_identity(cx: &Context<'_>, kit: &[KitRelease], diagnostics: &mut Diagnostics) -> Vec<Realm> {
    let sovereign = &cx.project.sovereign;
    if sovereign.organizations.is_empty() {
        return Vec::new();
    }
    let topology_at = sovereign.origin.join("/spec/keycloakTopology");
    // Without Keycloak there are no realms; an Organization that configures its identity is told.
    let Some(kit_keycloak) = kit_release(cx.project, kit, KEYCLOAK) else {
        for org in sovereign.organizations.iter().filter(|o| o.spec.identity.configured()) {
            diagnostics.push(
                Diagnostic::error(
                    codes::IDENTITY_NO_KEYCLOAK,
                    format!("{} configures its realm, but the bootstrap kit runs no Keycloak", org.slug),
                )
                .with_label(Label::primary(
                    cx.sources.key_span_at(org.origin.file, &format!("{}/spec/identity", org.origin.pointer)),
                    "this realm",
                ))
                .with_label(Label::secondary(
                    cx.sources.key_span_at(sovereign.origin.file, "/spec"),
                    "no bp-keycloak in this Sovereign's kit",
                ))
                .with_help("add bp-keycloak to `bootstrapKit`"),
            );
        }
        return Vec::new();
    };
    let Ok(realm_bp) = cx.newest(REALM_BLUEPRINT, "the Organizations' realms".into(), &topology_at).map_err(|d| diagnostics.push(d)) else {
        return Vec::new();
    };
    let shared = sovereign.spec.keycloak_topology != "per-organization";
    if shared {
        single_keycloak(cx, kit_keycloak, diagnostics);
    }
    let mut realms = Vec::new();
    for (index, org) in sovereign.organizations.iter().enumerate() {
        let keycloak = match shared {
            true => Ok(kit_keycloak_of(cx, kit_keycloak)),
            false => own_keycloak(cx, kit_keycloak, org),
        };
        match keycloak.and_then(|keycloak| realm(cx, realm_bp, index, keycloak)) {
            Ok(realm) => realms.push(realm),
            Err(problems) => diagnostics.extend(problems),
        }
    }
    realms
}

/// The kit's Keycloak, which holds every realm (`shared-sovereign`).
fn kit_keycloak_of(cx: &Context<'_>, kit_keycloak: &KitRelease) -> Keycloak {
    let bp = cx.blueprint(kit_keycloak.blueprint);
    Keycloak {
        blueprint: kit_keycloak.blueprint,
        helm_release: bp.name.clone(),
        release_name: bp.short_name().to_string(),
        namespace: bp.spec.manifests.helm_release.namespace.clone().unwrap_or_else(|| bp.short_name().to_string()),
        own: None,
    }
}

/// A minimal Keycloak of the Organization's own (`per-organization`): the kit's Blueprint, one
/// replica, on the Organization's own host.
fn own_keycloak(cx: &Context<'_>, kit_keycloak: &KitRelease, org: &Organization) -> Result<Keycloak, Vec<Diagnostic>> {
    let name = format!("keycloak-{}", org.slug);
    let host = crate::check::releases::sovereign_host(&cx.project.sovereign.spec.fqdn, &format!("auth.{}", org.slug));
    let written = json!({"replicas": 1, "hostname": host});
    let layers = [Layer { value: &written, origin: org.origin.join("/spec/identity") }];
    let (values, _) = cx.validated(kit_keycloak.blueprint, None, &layers, &org.origin)?;
    Ok(Keycloak {
        blueprint: kit_keycloak.blueprint,
        helm_release: name.clone(),
        release_name: name.clone(),
        namespace: name,
        own: Some(values),
    })
}

/// Organization `index`'s realm in `keycloak`, from its `identity`, validated against bp-keycloak-realm.
fn realm(cx: &Context<'_>, realm_bp: usize, index: usize, keycloak: Keycloak) -> Result<Realm, Vec<Diagnostic>> {
    let org = &cx.project.sovereign.organizations[index];
    let identity = &org.spec.identity;
    let mut written = json!({
        "realm": org.slug,
        "displayName": org.spec.display_name.clone().unwrap_or_else(|| org.slug.clone()),
        "keycloakUrl": keycloak.url(),
        "redirectUris": identity.redirect_uris,
    });
    if let Some(config) = identity.federation_config.as_ref().filter(|_| !identity.federation_provider.is_empty()) {
        let mut federation = json!({"provider": identity.federation_provider, "issuer": config.issuer, "clientId": config.client_id});
        if let Some(tenant) = &config.tenant_id {
            federation["tenantId"] = json!(tenant);
        }
        written["federation"] = federation;
    }
    let layers = [Layer { value: &written, origin: org.origin.join("/spec/identity") }];
    let (values, _) = cx.validated(realm_bp, Some(&org.slug), &layers, &org.origin)?;
    Ok(Realm { org: index, blueprint: realm_bp, values, keycloak })
}

/// One Keycloak serves every Organization: with a single replica, one restart logs them all out.
fn single_keycloak(cx: &Context<'_>, keycloak: &KitRelease, diagnostics: &mut Diagnostics) {
    if keycloak.values.get("replicas").and_then(Json::as_u64).unwrap_or(1) > 1 {
        return;
    }
    let sovereign = &cx.project.sovereign;
    diagnostics.push(
        Diagnostic::warning(codes::IDENTITY_SINGLE_KEYCLOAK, "one Keycloak replica serves every Organization's realm")
            .with_label(Label::primary(cx.sources.span_at(sovereign.origin.file, "/spec/keycloakTopology"), "shared-sovereign"))
            .with_help("give bp-keycloak `replicas: 3` in `bootstrapKit`, or run a Keycloak per Organization (`per-organization`)"),
    );
}
