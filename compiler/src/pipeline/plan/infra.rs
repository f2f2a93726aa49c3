//! `infra/<provider>/`: the inputs that bring a Sovereign's machines up.
//!
//! OpenTofu variables (never a secret value: secret inputs are only named)
//! and one cloud-config per region and node role. The cloud-configs are
//! templates for the module's `templatefile()`: the only `${…}` left in them
//! are the module's secret variables ([`TEMPLATE_VARIABLES`]); every other
//! value is written here, from the same place the GitOps tree takes it.

use serde_json::{json, Value as Json};

use super::platform::Cluster;
use super::{Planned, Planner, PULL_SECRET};
use crate::check::infra::subdomain;
use crate::check::pins::BringUpPins;
use crate::check::regions::hetzner_location;
use crate::model::{BuildingBlock, CanonicalRegion, ControlPlane, Infrastructure, Workers};
use crate::pipeline::resolve::Resolution;

/// Template variables the OpenTofu module passes to the cloud-configs that
/// carry secrets it derives; nothing else in them may start with `${`.
pub const TEMPLATE_VARIABLES: [&str; 2] = ["k3s_token", "ghcr_pull_auth_b64"];

/// Secret inputs of the Hetzner module: named in `secret-inputs.json`, never valued.
const SECRET_INPUTS: [(&str, bool); 5] = [
    ("hcloud_token", true),
    ("ghcr_pull_token", true),
    ("dynadot_key", false),
    ("dynadot_secret", false),
    ("kubeconfig_bearer_token", false),
];

/// The first control-plane node's private address, which workers join (the module's fixed network plan).
const CONTROL_PLANE_IP: &str = "10.0.1.2";
const CILIUM_CHART_REPO: &str = "https://helm.cilium.io/";
const STATE_DIR: &str = "/var/lib/catalyst";

/// `text` as one shell word, for the scripts cloud-init runs as root. Every value that reaches
/// them is validated first (release versions, DNS names); quoting keeps it one word whatever it
/// is. A NUL, which no shell word can hold, becomes the empty word.
fn sh(text: &str) -> std::borrow::Cow<'_, str> {
    shlex::try_quote(text).unwrap_or(std::borrow::Cow::Borrowed("''"))
}

/// The node pools of one region: the Sovereign's, with the region's overrides.
struct RegionPools<'a> {
    region: &'a str,
    location: &'static str,
    control_plane: ControlPlane,
    workers: Workers,
}

impl Planner<'_, '_> {
    pub(super) fn infra(&mut self, resolution: &Resolution, pins: Option<&BringUpPins>) {
        let project = self.project;
        let (Some(infra), Some(pins)) = (&project.sovereign.spec.infrastructure, pins) else { return };
        if project.sovereign.spec.provider != "hetzner" {
            return;
        }
        let pools = region_pools(&project.sovereign.spec.regions, infra);
        // No region with a Hetzner location: `infra::check_spec` has reported why.
        if pools.is_empty() {
            return;
        }
        self.add("infra/hetzner/tofu.auto.tfvars.json".into(), Planned::Json(self.tfvars(infra, &pools)));
        let secrets: serde_json::Map<String, Json> = SECRET_INPUTS
            .iter()
            .map(|(input, required)| {
                let env = infra.secrets.get(*input).map_or_else(|| format!("TF_VAR_{input}"), |s| s.env.clone());
                (input.to_string(), json!({"env": env, "required": required}))
            })
            .collect();
        self.add("infra/hetzner/secret-inputs.json".into(), Planned::Json(Json::Object(secrets)));
        let cilium_values = self.cilium_values(resolution);
        for pool in &pools {
            let Some(cluster) = Cluster::of(project, resolution, &self.fqdn, pool.region) else { continue };
            let control_plane = self.control_plane_config(infra, pins, pool, &cilium_values, &cluster);
            self.add(format!("infra/hetzner/cloud-init/{}-control-plane.yaml", pool.region), Planned::CloudConfig(control_plane));
            if pool.workers.count > 0 {
                let worker = self.worker_config(infra, pool);
                self.add(format!("infra/hetzner/cloud-init/{}-worker.yaml", pool.region), Planned::CloudConfig(worker));
            }
        }
    }

    /// The module's variables, in its own names; the primary region is the control plane's.
    fn tfvars(&self, infra: &Infrastructure, pools: &[RegionPools<'_>]) -> Json {
        let spec = &self.project.sovereign.spec;
        let primary = &pools[0];
        let operator = spec.operator.as_ref();
        let (mode, pool_domain, sub) = match (infra.domain.mode.as_str(), &infra.domain.pool_domain) {
            ("pool", Some(pool)) => ("pool", pool.clone(), subdomain(&self.fqdn, pool).unwrap_or_default().to_string()),
            _ => ("byo", String::new(), String::new()),
        };
        let (url, branch) = self.fleet_repo();
        json!({
            "sovereign_fqdn": self.fqdn,
            "sovereign_subdomain": sub,
            "org_name": operator.map(|o| o.name.clone()).unwrap_or_default(),
            "org_email": operator.map(|o| o.email.clone()).unwrap_or_default(),
            "hcloud_project_id": infra.project_id.clone().unwrap_or_default(),
            "region": primary.location,
            "control_plane_size": primary.control_plane.size,
            "worker_size": primary.workers.size,
            "worker_count": primary.workers.count,
            "ha_enabled": primary.control_plane.ha,
            "regions": pools.iter().map(|p| json!({
                "provider": "hetzner",
                "cloudRegion": p.location,
                "controlPlaneSize": p.control_plane.size,
                "workerSize": p.workers.size,
                "workerCount": p.workers.count,
            })).collect::<Vec<_>>(),
            "k3s_version": infra.k3s_version,
            "ssh_public_key": infra.ssh_public_key.clone().unwrap_or_default(),
            "domain_mode": mode,
            "pool_domain": pool_domain,
            "gitops_repo_url": url,
            "gitops_branch": branch,
            "ssh_allowed_cidrs": infra.ssh_allowed_cidrs,
            "enable_unattended_upgrades": infra.unattended_upgrades,
            "enable_fail2ban": infra.fail2ban,
        })
    }

    /// The pre-Flux Cilium install must match what bp-cilium adopts: its values come from the kit release.
    fn cilium_values(&self, resolution: &Resolution) -> Json {
        let kit = crate::pipeline::resolve::kit_release(self.project, &resolution.kit, "bp-cilium");
        let setting = |key: &str, default: Json| kit.and_then(|r| r.values.get(key).cloned()).unwrap_or(default);
        json!({
            "kubeProxyReplacement": setting("kubeProxyReplacement", json!(true)),
            "k8sServiceHost": "127.0.0.1",
            "k8sServicePort": 6443,
            "ipam": {"mode": "kubernetes"},
            "routingMode": setting("routingMode", json!("tunnel")),
            "tunnelProtocol": setting("tunnelProtocol", json!("vxlan")),
            "bpf": {"masquerade": true},
        })
    }

    /// The k3s flags labelling a node of `region`, each one shell word.
    fn node_labels(&self, region: &str) -> String {
        let block = CanonicalRegion::parse(region).map_or("", |r| r.building_block);
        let (region, block) = (
            format!("--node-label=topology.kubernetes.io/region={region}"),
            format!("--node-label=catalyst.openova.io/building-block={block}"),
        );
        format!("{} {}", sh(&region), sh(&block))
    }

    fn control_plane_config(
        &self,
        infra: &Infrastructure,
        pins: &BringUpPins,
        pool: &RegionPools<'_>,
        cilium: &Json,
        cluster: &Cluster<'_>,
    ) -> Json {
        let fqdn = &self.fqdn;
        let (url, _) = self.fleet_repo();
        let pull_secret = json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": PULL_SECRET, "namespace": "flux-system"},
            "type": "kubernetes.io/dockerconfigjson",
            "stringData": {".dockerconfigjson": format!(
                r#"{{"auths":{{"ghcr.io":{{"username":"openova-bot","auth":"${{{}}}"}}}}}}"#, TEMPLATE_VARIABLES[1]
            )},
        });
        let flux_bootstrap: Vec<Json> =
            std::iter::once(json!({"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": "flux-system"}}))
                .chain(self.flux_sync_objects(cluster))
                .collect();
        let sovereign = json!({
            "fqdn": fqdn, "provider": "hetzner", "region": pool.region, "location": pool.location,
            "role": "control-plane", "buildingBlock": cluster.block.as_str(), "gitopsRepoUrl": url,
        });
        let script = format!(
            "#!/bin/bash\n\
             # Generated by catalyst: bring-up of {fqdn}, control plane in {region}.\n\
             set -euo pipefail\n\
             export KUBECONFIG=/etc/rancher/k3s/k3s.yaml\n\
             curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION={k3s} K3S_TOKEN='${{{token}}}' sh -s - server \\\n  \
             --cluster-init --flannel-backend=none --disable-network-policy --disable=traefik --disable=servicelb \\\n  \
             {tls_san} {labels}\n\
             until kubectl get --raw /healthz >/dev/null 2>&1; do sleep 5; done\n\
             kubectl patch storageclass local-path -p '{{\"metadata\":{{\"annotations\":{{\"storageclass.kubernetes.io/is-default-class\":\"true\"}}}}}}'\n\
             curl -fsSL https://raw.githubusercontent.com/helm/helm/v{helm}/scripts/get-helm-3 | bash -s -- --version v{helm}\n\
             helm repo add cilium {cilium_repo}\n\
             helm install cilium cilium/cilium --version {cilium_version} --namespace kube-system -f {STATE_DIR}/cilium-values.yaml\n\
             kubectl apply -f {flux_install}\n\
             kubectl apply -f {STATE_DIR}/ghcr-pull.yaml\n\
             kubectl apply -f {STATE_DIR}/flux-bootstrap.yaml\n\
             touch {STATE_DIR}/cloud-init-complete\n",
            region = pool.region,
            k3s = sh(&infra.k3s_version),
            token = TEMPLATE_VARIABLES[0],
            tls_san = sh(&format!("--tls-san={fqdn}")),
            labels = self.node_labels(pool.region),
            helm = crate::check::releases::HELM,
            cilium_repo = CILIUM_CHART_REPO,
            cilium_version = sh(&pins.cilium),
            flux_install = sh(&format!("https://github.com/fluxcd/flux2/releases/download/v{}/install.yaml", pins.flux)),
        );
        let files = vec![
            file("/etc/ssh/sshd_config.d/90-catalyst.conf", "0644", SSHD_HARDENING.to_string()),
            file("/etc/catalyst/sovereign.json", "0644", format!("{}\n", serde_json::to_string_pretty(&sovereign).unwrap_or_default())),
            file(&format!("{STATE_DIR}/cilium-values.yaml"), "0644", crate::support::yaml::to_yaml(cilium)),
            file(&format!("{STATE_DIR}/ghcr-pull.yaml"), "0600", crate::support::yaml::to_yaml_stream(&[pull_secret])),
            file(&format!("{STATE_DIR}/flux-bootstrap.yaml"), "0644", crate::support::yaml::to_yaml_stream(&flux_bootstrap)),
            file(&format!("{STATE_DIR}/bring-up.sh"), "0700", script),
        ];
        cloud_config(infra, files)
    }

    fn worker_config(&self, infra: &Infrastructure, pool: &RegionPools<'_>) -> Json {
        let script = format!(
            "#!/bin/bash\n\
             # Generated by catalyst: bring-up of {fqdn}, worker in {region}.\n\
             set -euo pipefail\n\
             curl -sfL https://get.k3s.io | INSTALL_K3S_VERSION={k3s} K3S_URL='https://{CONTROL_PLANE_IP}:6443' K3S_TOKEN='${{{token}}}' \\\n  \
             sh -s - agent {labels}\n\
             touch {STATE_DIR}/cloud-init-complete\n",
            fqdn = self.fqdn,
            region = pool.region,
            k3s = sh(&infra.k3s_version),
            token = TEMPLATE_VARIABLES[0],
            labels = self.node_labels(pool.region),
        );
        let files = vec![
            file("/etc/ssh/sshd_config.d/90-catalyst.conf", "0644", SSHD_HARDENING.to_string()),
            file(&format!("{STATE_DIR}/bring-up.sh"), "0700", script),
        ];
        cloud_config(infra, files)
    }
}

/// The pools of every region with a Hetzner location, the control plane's first.
fn region_pools<'r>(regions: &'r [String], infra: &Infrastructure) -> Vec<RegionPools<'r>> {
    let mut ordered: Vec<&String> = regions.iter().collect();
    ordered.sort_by_key(|r| BuildingBlock::of_region(r) != Some(BuildingBlock::Mgt));
    ordered
        .into_iter()
        .filter_map(|region| {
            let nodes = infra.regions.get(region);
            Some(RegionPools {
                region,
                location: hetzner_location(region)?,
                control_plane: nodes.and_then(|n| n.control_plane.clone()).unwrap_or_else(|| infra.control_plane.clone()),
                workers: nodes.and_then(|n| n.workers.clone()).unwrap_or_else(|| infra.workers.clone()),
            })
        })
        .collect()
}

const SSHD_HARDENING: &str = "# Generated by catalyst.\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\nX11Forwarding no\nMaxAuthTries 3\n";

fn file(path: &str, permissions: &str, content: String) -> Json {
    json!({"path": path, "permissions": permissions, "owner": "root:root", "content": content})
}

/// A cloud-config that writes `files` and runs the bring-up script they include.
fn cloud_config(infra: &Infrastructure, files: Vec<Json>) -> Json {
    let mut packages = vec!["curl", "jq"];
    if infra.unattended_upgrades {
        packages.push("unattended-upgrades");
    }
    if infra.fail2ban {
        packages.push("fail2ban");
    }
    json!({
        "package_update": true,
        "packages": packages,
        "write_files": files,
        "runcmd": [["systemctl", "reload", "ssh"], ["bash", format!("{STATE_DIR}/bring-up.sh")]],
    })
}
