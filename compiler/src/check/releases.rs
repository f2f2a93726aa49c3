//! The releases the Sovereign runs, in one place: which release of Flux,
//! External Secrets, Crossplane and Kubernetes the kit pins, the apiVersion
//! each serves for every kind the compiler emits, and the schemas of those
//! kinds (carried in `schemas/upstream/`, unchanged, with their licences).
//!
//! The kit's pins choose the release (`bp-flux` `pins.flux`,
//! `bp-external-secrets` `pins.external-secrets`, `bp-crossplane`
//! `pins.crossplane` and `pins.provider-hcloud`; Kubernetes from
//! `infrastructure.k3sVersion`). The planner emits the apiVersions the chosen
//! release serves and conformance validates against its schemas, so the two
//! cannot drift. A pin naming a release that is not in this table is an
//! error: its served versions are not known, so nothing emitted for it
//! could be trusted.

use std::sync::OnceLock;

use crate::check::conform::Schemas;
use crate::check::pins::Pins;
use crate::diagnostic::codes;
use crate::diagnostic::{Diagnostic, Label};
use crate::pipeline::load::Project;
use crate::pipeline::resolve::KitRelease;
use crate::support::source::Sources;

/// A component whose release decides what the tree may contain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Component {
    Flux,
    ExternalSecrets,
    Crossplane,
    ProviderHcloud,
    Kubernetes,
}

impl Component {
    /// The kit Blueprint that pins it, and the pin's name (Kubernetes is pinned by `infrastructure.k3sVersion`).
    pub fn pinned_by(self) -> Option<(&'static str, &'static str)> {
        match self {
            Component::Flux => Some(("bp-flux", "flux")),
            Component::ExternalSecrets => Some(("bp-external-secrets", "external-secrets")),
            Component::Crossplane => Some(("bp-crossplane", "crossplane")),
            Component::ProviderHcloud => Some(("bp-crossplane", "provider-hcloud")),
            Component::Kubernetes => None,
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Component::Flux => "Flux",
            Component::ExternalSecrets => "External Secrets",
            Component::Crossplane => "Crossplane",
            Component::ProviderHcloud => "provider-hcloud",
            Component::Kubernetes => "Kubernetes",
        }
    }
}

/// A subchart whose version decides the release a kit Blueprint pins: the upstream catalog
/// writes no `spec.pins`, the umbrella chart's dependency is the pin.
pub struct Subchart {
    /// The dependency's name in the umbrella chart's Chart.yaml.
    pub chart: &'static str,
    /// The pin it decides (`pins.<pin>` of the Blueprint).
    pub pin: &'static str,
    pub title: &'static str,
    pub ships: Ships,
    /// Where the chart-to-release pairs were read.
    pub source: &'static str,
}

/// Which release a subchart's version ships.
pub enum Ships {
    /// The chart is versioned as the release.
    ItsVersion,
    /// (chart version, release), as the chart's appVersion says.
    Known(&'static [(&'static str, &'static str)]),
}

/// The subcharts the kit's pins are derived from.
pub const SUBCHARTS: [Subchart; 2] = [
    Subchart {
        chart: "flux2",
        pin: "flux",
        title: "Flux",
        ships: Ships::Known(&[
            ("2.11.1", "2.1.2"),
            ("2.12.5", "2.2.3"),
            ("2.13.0", "2.3.0"),
            ("2.14.1", "2.4.0"),
            ("2.15.0", "2.5.1"),
            ("2.16.2", "2.6.3"),
            ("2.16.4", "2.6.4"),
            ("2.17.0", "2.7.1"),
            ("2.17.1", "2.7.2"),
            ("2.17.2", "2.7.5"),
            ("2.17.3", "2.7.5"),
            ("2.19.0", "2.8.8"),
        ]),
        source: "the appVersion of fluxcd-community/helm-charts charts/flux2 at each chart version (its Chart.yaml or test snapshots); \
                 2.13.0 and 2.14.1 as the OpenOva bp-flux incident records them",
    },
    Subchart {
        chart: "cilium",
        pin: "cilium",
        title: "Cilium",
        ships: Ships::ItsVersion,
        source: "cilium/cilium install/kubernetes (`make update-versions` writes one version as the chart's version and appVersion)",
    },
];

impl Subchart {
    /// The releases the subchart at `version` (a version or a Helm range) may ship: one for an
    /// exact version the table knows, those of the known versions a range allows, none when unknown.
    pub fn ships(&self, version: &str) -> Vec<String> {
        let text = version.trim().trim_start_matches(['=', 'v']);
        let mut shipped: Vec<String> = match (&self.ships, semver::Version::parse(text)) {
            (Ships::ItsVersion, Ok(exact)) => vec![exact.to_string()],
            (Ships::ItsVersion, Err(_)) => Vec::new(),
            (Ships::Known(pairs), Ok(exact)) => {
                pairs.iter().filter(|(chart, _)| *chart == exact.to_string()).map(|(_, release)| release.to_string()).collect()
            }
            (Ships::Known(pairs), Err(_)) => {
                // Helm writes an AND of comparators with spaces, semver with commas.
                let Ok(range) = semver::VersionReq::parse(&version.split_whitespace().collect::<Vec<_>>().join(", ")) else {
                    return Vec::new();
                };
                let allowed = |chart: &str| semver::Version::parse(chart).is_ok_and(|v| range.matches(&v));
                pairs.iter().filter(|(chart, _)| allowed(chart)).map(|(_, release)| release.to_string()).collect()
            }
        };
        shipped.dedup();
        shipped
    }
}

/// The Helm release the bring-up installs Cilium with, before Flux exists; its installer script is
/// read from the same tag (helm/helm `v3.19.3`, released 2025-12-10), never from a moving branch.
pub const HELM: &str = "3.19.3";

/// One release: what it serves and the schemas of what it serves.
pub struct Release {
    pub component: Component,
    pub version: &'static str,
    /// Every kind it serves, with the apiVersion it serves it at.
    pub serves: &'static [(&'static str, &'static str)],
    /// The definitions of those kinds: (path in the repository, text).
    pub schemas: &'static [(&'static str, &'static str)],
    /// The lowest Kubernetes release it supports (`major.minor.patch`), where it says.
    pub min_kubernetes: Option<&'static str>,
    /// Where the served versions and the support range are written upstream.
    pub source: &'static str,
    parsed: OnceLock<Schemas>,
}

macro_rules! carried {
    ($($path:literal),* $(,)?) => {
        &[$(($path, include_str!(concat!("../../../", $path)))),*]
    };
}

/// Every known release, newest first within a component.
pub static RELEASES: [Release; 5] = [
    Release {
        component: Component::Flux,
        version: "2.9.4",
        serves: &[
            ("GitRepository", "source.toolkit.fluxcd.io/v1"),
            ("HelmRepository", "source.toolkit.fluxcd.io/v1"),
            ("OCIRepository", "source.toolkit.fluxcd.io/v1"),
            ("HelmChart", "source.toolkit.fluxcd.io/v1"),
            ("Bucket", "source.toolkit.fluxcd.io/v1"),
            ("Kustomization", "kustomize.toolkit.fluxcd.io/v1"),
            ("HelmRelease", "helm.toolkit.fluxcd.io/v2"),
            ("Alert", "notification.toolkit.fluxcd.io/v1beta3"),
            ("Provider", "notification.toolkit.fluxcd.io/v1beta3"),
            ("Receiver", "notification.toolkit.fluxcd.io/v1"),
        ],
        schemas: carried![
            "schemas/upstream/flux-2.9.4/source.toolkit.fluxcd.io_gitrepositories.yaml",
            "schemas/upstream/flux-2.9.4/source.toolkit.fluxcd.io_helmrepositories.yaml",
            "schemas/upstream/flux-2.9.4/source.toolkit.fluxcd.io_ocirepositories.yaml",
            "schemas/upstream/flux-2.9.4/source.toolkit.fluxcd.io_helmcharts.yaml",
            "schemas/upstream/flux-2.9.4/source.toolkit.fluxcd.io_buckets.yaml",
            "schemas/upstream/flux-2.9.4/kustomize.toolkit.fluxcd.io_kustomizations.yaml",
            "schemas/upstream/flux-2.9.4/helm.toolkit.fluxcd.io_helmreleases.yaml",
            "schemas/upstream/flux-2.9.4/notification.toolkit.fluxcd.io_alerts.yaml",
            "schemas/upstream/flux-2.9.4/notification.toolkit.fluxcd.io_providers.yaml",
            "schemas/upstream/flux-2.9.4/notification.toolkit.fluxcd.io_receivers.yaml",
        ],
        min_kubernetes: Some("1.34.1"),
        source: "fluxcd/flux2 v2.9.0 release notes (Kubernetes >= 1.34.1) and the CRDs of its controllers",
        parsed: OnceLock::new(),
    },
    Release {
        component: Component::ExternalSecrets,
        version: "2.9.0",
        serves: &[
            ("ExternalSecret", "external-secrets.io/v1"),
            ("SecretStore", "external-secrets.io/v1"),
            ("ClusterSecretStore", "external-secrets.io/v1"),
            ("ClusterExternalSecret", "external-secrets.io/v1"),
        ],
        schemas: carried![
            "schemas/upstream/external-secrets-2.9.0/external-secrets.io_externalsecrets.yaml",
            "schemas/upstream/external-secrets-2.9.0/external-secrets.io_secretstores.yaml",
            "schemas/upstream/external-secrets-2.9.0/external-secrets.io_clustersecretstores.yaml",
            "schemas/upstream/external-secrets-2.9.0/external-secrets.io_clusterexternalsecrets.yaml",
        ],
        min_kubernetes: None,
        source: "external-secrets/external-secrets v2.9.0, config/crds/bases",
        parsed: OnceLock::new(),
    },
    Release {
        component: Component::Crossplane,
        version: "1.18.2",
        serves: &[("Provider", "pkg.crossplane.io/v1")],
        schemas: carried!["schemas/upstream/crossplane-1.18/pkg.crossplane.io_providers.yaml"],
        min_kubernetes: None,
        source: "crossplane/crossplane cluster/crds (the Provider spec of v1.18, see schemas/upstream/README.md)",
        parsed: OnceLock::new(),
    },
    Release {
        component: Component::ProviderHcloud,
        version: "0.4.0",
        serves: &[("ProviderConfig", "hcloud.crossplane.io/v1beta1")],
        schemas: carried!["schemas/upstream/provider-hcloud/hcloud.crossplane.io_providerconfigs.yaml"],
        min_kubernetes: None,
        source: "the provider-hcloud package CRDs (package/crds), see schemas/upstream/README.md",
        parsed: OnceLock::new(),
    },
    Release {
        component: Component::Kubernetes,
        version: "1.34",
        serves: &[
            ("Namespace", "v1"),
            ("ConfigMap", "v1"),
            ("Secret", "v1"),
            ("ServiceAccount", "v1"),
            ("Service", "v1"),
            ("PersistentVolumeClaim", "v1"),
            ("Deployment", "apps/v1"),
            ("StatefulSet", "apps/v1"),
            ("DaemonSet", "apps/v1"),
            ("Job", "batch/v1"),
            ("CronJob", "batch/v1"),
            ("Ingress", "networking.k8s.io/v1"),
            ("NetworkPolicy", "networking.k8s.io/v1"),
            ("PodDisruptionBudget", "policy/v1"),
            ("HorizontalPodAutoscaler", "autoscaling/v2"),
            ("Role", "rbac.authorization.k8s.io/v1"),
            ("RoleBinding", "rbac.authorization.k8s.io/v1"),
            ("ClusterRole", "rbac.authorization.k8s.io/v1"),
            ("ClusterRoleBinding", "rbac.authorization.k8s.io/v1"),
        ],
        schemas: carried![
            "schemas/upstream/kubernetes-1.34/namespace-v1.json",
            "schemas/upstream/kubernetes-1.34/configmap-v1.json",
            "schemas/upstream/kubernetes-1.34/secret-v1.json",
            "schemas/upstream/kubernetes-1.34/serviceaccount-v1.json",
            "schemas/upstream/kubernetes-1.34/service-v1.json",
            "schemas/upstream/kubernetes-1.34/persistentvolumeclaim-v1.json",
            "schemas/upstream/kubernetes-1.34/deployment-apps-v1.json",
            "schemas/upstream/kubernetes-1.34/statefulset-apps-v1.json",
            "schemas/upstream/kubernetes-1.34/daemonset-apps-v1.json",
            "schemas/upstream/kubernetes-1.34/job-batch-v1.json",
            "schemas/upstream/kubernetes-1.34/cronjob-batch-v1.json",
            "schemas/upstream/kubernetes-1.34/ingress-networking-v1.json",
            "schemas/upstream/kubernetes-1.34/networkpolicy-networking-v1.json",
            "schemas/upstream/kubernetes-1.34/poddisruptionbudget-policy-v1.json",
            "schemas/upstream/kubernetes-1.34/horizontalpodautoscaler-autoscaling-v2.json",
            "schemas/upstream/kubernetes-1.34/role-rbac-v1.json",
            "schemas/upstream/kubernetes-1.34/rolebinding-rbac-v1.json",
            "schemas/upstream/kubernetes-1.34/clusterrole-rbac-v1.json",
            "schemas/upstream/kubernetes-1.34/clusterrolebinding-rbac-v1.json",
        ],
        min_kubernetes: None,
        source: "kubernetes-validate 1.37.0 (PyPI), the v1.34 strict schemas",
        parsed: OnceLock::new(),
    },
];

impl Release {
    /// The schemas of its kinds, parsed once per process.
    pub fn schemas(&self) -> &Schemas {
        self.parsed.get_or_init(|| Schemas::carried(self.schemas))
    }

    /// The apiVersion it serves `kind` at.
    pub fn api_version(&self, kind: &str) -> Option<&'static str> {
        self.serves.iter().find(|(k, _)| *k == kind).map(|(_, api)| *api)
    }

    /// The apiVersion of a kind the compiler emits from this release (tested to be in its table).
    pub fn api(&self, kind: &str) -> &'static str {
        self.api_version(kind).unwrap_or("v1")
    }

    fn known(component: Component) -> impl Iterator<Item = &'static Release> {
        RELEASES.iter().filter(move |r| r.component == component)
    }

    /// The newest known release of a component, used when nothing pins one.
    fn newest(component: Component) -> &'static Release {
        Release::known(component).next().unwrap_or(&RELEASES[0])
    }

    fn find(component: Component, version: &str) -> Option<&'static Release> {
        let version = version.trim_start_matches('v');
        Release::known(component).find(|r| r.version == version)
    }
}

/// The releases one Sovereign runs.
#[derive(Clone, Copy)]
pub struct Pinned {
    pub flux: &'static Release,
    pub external_secrets: &'static Release,
    pub crossplane: &'static Release,
    pub provider_hcloud: &'static Release,
    pub kubernetes: &'static Release,
}

impl Default for Pinned {
    /// The newest known release of everything.
    fn default() -> Self {
        Pinned {
            flux: Release::newest(Component::Flux),
            external_secrets: Release::newest(Component::ExternalSecrets),
            crossplane: Release::newest(Component::Crossplane),
            provider_hcloud: Release::newest(Component::ProviderHcloud),
            kubernetes: Release::newest(Component::Kubernetes),
        }
    }
}

impl Pinned {
    pub fn all(&self) -> [&'static Release; 5] {
        [self.flux, self.external_secrets, self.crossplane, self.provider_hcloud, self.kubernetes]
    }

    /// The apiVersion the pinned releases serve `kind` at, for kinds only one of them serves
    /// (a Crossplane `Provider` is asked of [`Pinned::crossplane`]: Flux has a `Provider` too).
    pub fn api(&self, kind: &str) -> &'static str {
        self.all().iter().find_map(|r| r.api_version(kind)).unwrap_or("v1")
    }

    /// The releases the kit's pins name (the newest known one where nothing pins it), and the
    /// problems: a pin of an unknown release, a Kubernetes release a pinned component does not support.
    pub fn of(project: &Project, kit: &[KitRelease], pins: &Pins, sources: &Sources) -> (Pinned, Vec<Diagnostic>) {
        let mut pinned = Pinned::default();
        let mut problems = Vec::new();
        for component in [Component::Flux, Component::ExternalSecrets, Component::Crossplane, Component::ProviderHcloud] {
            let Some((blueprint, pin)) = component.pinned_by() else { continue };
            let release = crate::pipeline::resolve::kit_release(project, kit, blueprint);
            let Some(found) = release.and_then(|r| pins.get(r.blueprint, pin)) else { continue };
            match Release::find(component, &found.version) {
                Some(release) => pinned.set(component, release),
                None => problems.push(unknown_release(component, &found.version, Label::primary(found.at, "pinned here"))),
            }
        }
        if let Some(infra) = &project.sovereign.spec.infrastructure {
            let at = || Label::primary(sources.span_at(project.sovereign.origin.file, "/spec/infrastructure/k3sVersion"), "k3s release");
            let running = kubernetes_version(&infra.k3s_version);
            match running.as_ref().and_then(|v| Release::find(Component::Kubernetes, &format!("{}.{}", v.major, v.minor))) {
                Some(release) => pinned.kubernetes = release,
                None => problems.push(unknown_release(Component::Kubernetes, &infra.k3s_version, at())),
            }
            for release in pinned.all() {
                let Some(minimum) = release.min_kubernetes else { continue };
                if running.as_ref().is_some_and(|v| v < &semver::Version::parse(minimum).unwrap_or(semver::Version::new(0, 0, 0))) {
                    problems.push(
                        Diagnostic::error(
                            codes::PIN_INCOMPATIBLE,
                            format!(
                                "{} {} needs Kubernetes {minimum} or later, but k3s {} runs an older release",
                                release.component.title(),
                                release.version,
                                infra.k3s_version
                            ),
                        )
                        .with_label(at())
                        .with_note(format!("from {}", release.source))
                        .with_help("pin a k3s release the kit's components support, or older components"),
                    );
                }
            }
        }
        (pinned, problems)
    }

    fn set(&mut self, component: Component, release: &'static Release) {
        match component {
            Component::Flux => self.flux = release,
            Component::ExternalSecrets => self.external_secrets = release,
            Component::Crossplane => self.crossplane = release,
            Component::ProviderHcloud => self.provider_hcloud = release,
            Component::Kubernetes => self.kubernetes = release,
        }
    }
}

fn unknown_release(component: Component, version: &str, at: Label) -> Diagnostic {
    let known: Vec<&str> = Release::known(component).map(|r| r.version).collect();
    Diagnostic::error(
        codes::PIN_UNKNOWN_RELEASE,
        format!("{} {version} is not a release whose served API versions are known", component.title()),
    )
    .with_label(at)
    .with_help(format!(
        "pin a known release ({}), or add this one to compiler/src/check/releases.rs with its schemas in schemas/upstream/",
        known.join(", ")
    ))
}

/// `v1.34.1+k3s1` → 1.34.1.
fn kubernetes_version(k3s: &str) -> Option<semver::Version> {
    let core = k3s.trim_start_matches('v').split('+').next()?;
    semver::Version::parse(core).ok()
}

/// Who installs the definitions of an API group, when Flux is not the one: a kit
/// Blueprint's HelmRelease, or an object of the tree (a Crossplane provider package).
pub enum Installer {
    /// Served before Flux starts: Kubernetes itself.
    BringUp,
    /// Flux, which cloud-init installs on a region's cluster; a vcluster's comes from its host.
    Flux,
    /// The CRDs come with this kit Blueprint's chart.
    Blueprint(&'static str),
    /// The CRDs come with this Crossplane Provider object.
    CrossplaneProvider(&'static str),
}

/// Who installs the kinds of `group`; `None`: not known here.
pub fn installer(group: &str) -> Option<Installer> {
    const BY_GROUP: [(&str, Installer); 11] = [
        ("source.toolkit.fluxcd.io", Installer::Flux),
        ("kustomize.toolkit.fluxcd.io", Installer::Flux),
        ("helm.toolkit.fluxcd.io", Installer::Flux),
        ("notification.toolkit.fluxcd.io", Installer::Flux),
        ("external-secrets.io", Installer::Blueprint("bp-external-secrets")),
        ("pkg.crossplane.io", Installer::Blueprint("bp-crossplane")),
        ("cert-manager.io", Installer::Blueprint("bp-cert-manager")),
        ("catalyst.openova.io", Installer::Blueprint("bp-catalyst-platform")),
        ("orgs.openova.io", Installer::Blueprint("bp-catalyst-platform")),
        ("apps.openova.io", Installer::Blueprint("bp-catalyst-platform")),
        ("hcloud.crossplane.io", Installer::CrossplaneProvider("provider-hcloud")),
    ];
    let core = !group.contains('.') || group.ends_with(".k8s.io");
    if core {
        return Some(Installer::BringUp);
    }
    BY_GROUP.into_iter().find(|(g, _)| *g == group).map(|(_, installer)| installer)
}

/// The hosts of a Sovereign (`<label>.<fqdn>`) and the kit Blueprint that serves each.
pub const HOSTS: [(&str, &str); 5] = [
    ("gitea", "bp-gitea"),
    ("auth", "bp-keycloak"),
    ("console", "bp-catalyst-platform"),
    ("api", "bp-catalyst-platform"),
    ("bao", "bp-openbao"),
];

/// Charts that write a kubeconfig Secret beside their release: (Blueprint, Secret name prefix);
/// the vCluster chart writes `vc-<release>` in its namespace.
pub const KUBECONFIG_SECRETS: [(&str, &str); 1] = [("bp-vcluster", "vc-")];

/// The Sovereign's host `label` (`gitea` → `gitea.<fqdn>`).
pub fn sovereign_host(fqdn: &str, label: &str) -> String {
    format!("{label}.{fqdn}")
}

/// The kit Blueprint that serves a host of the Sovereign (`gitea.<fqdn>` → bp-gitea).
pub fn host_server(host: &str, fqdn: &str) -> Option<Option<&'static str>> {
    let label = host.strip_suffix(fqdn)?.strip_suffix('.')?;
    Some(HOSTS.into_iter().find(|(l, _)| *l == label).map(|(_, bp)| bp))
}

#[cfg(test)]
mod tests {
    use super::SUBCHARTS;

    #[test]
    fn a_subchart_version_ships_its_release() {
        let [flux2, cilium] = &SUBCHARTS;
        // The incident pair, an exact version the table knows, one it does not.
        assert_eq!(flux2.ships("2.13.0"), ["2.3.0"]);
        assert_eq!(flux2.ships("v2.14.1"), ["2.4.0"]);
        assert!(flux2.ships("2.20.0").is_empty());
        // A range: every known chart it allows, each release once.
        assert_eq!(flux2.ships("~2.17.0"), ["2.7.1", "2.7.2", "2.7.5"]);
        assert_eq!(flux2.ships(">=2.17.2 <2.18.0"), ["2.7.5"]);
        assert!(flux2.ships("not a version").is_empty());
        assert_eq!(cilium.ships("1.16.5"), ["1.16.5"]);
        assert!(cilium.ships("~1.16.0").is_empty(), "a range of an its-version chart says no single release");
    }
}
