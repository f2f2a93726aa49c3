//! `repos/<org>/<app>/<branch>/`: an Application's repository, on each Environment's branch.
//!
//! Every branch has the same layout: `base/`, what every Environment shares (the chart source and
//! HelmRelease, or the kustomize base's source, and the shared values), and `overlays/<env>/` for
//! every Environment the Application runs in (its namespace, values, secrets and rendered
//! manifests), all at the version the branch's own Environment runs. An Environment's Flux
//! Kustomization applies `overlays/<env>` of its branch. So two branches differ only where their
//! versions (or what people committed) differ: merging `staging` into `main` promotes exactly
//! staging's version, and brings nothing that belongs to staging only. One CODEOWNERS, the same on
//! every branch, names the reviewers of each path.

use serde_json::{json, Map, Value as Json};

use super::platform::OPENBAO_STORE;
use super::{kustomization, labels, Planned, Planner};
use crate::model::{Blueprint, ManifestKind, PolicyRule};
use crate::pipeline::resolve::{Instance, ResolvedEnvironment};
use crate::pipeline::validate::secret_property;
use crate::support::pointer;

/// The folder of what every Environment shares, and the one of each Environment's overlay.
const BASE: &str = "base";
const OVERLAYS: &str = "overlays";

/// Where an Environment's Flux Kustomization applies its branch from.
pub(super) fn overlay_path(environment: &ResolvedEnvironment) -> String {
    format!("./{OVERLAYS}/{}", environment.env_type.as_str())
}

/// The Application's name in the Environments it runs in, with its instance there.
pub(super) type Running<'r> = [(&'r ResolvedEnvironment, &'r Instance)];

impl Planner<'_, '_> {
    /// The branch of `environment`, where the Application runs as `instance`; `running` lists every
    /// Environment of the Organization it runs in (this one too), in promotion order.
    ///
    /// Branches that run the same version with the same base hold the same files: the first of
    /// them in promotion order plans them, with the others' paths as copies.
    pub(super) fn application_repo(&mut self, environment: &ResolvedEnvironment, instance: &Instance, running: &Running<'_>) {
        let org = self.organization(environment).slug.clone();
        let branch_dir = |e: &ResolvedEnvironment| format!("repos/{org}/{}/{}/", instance.name, e.env_type.branch());
        let same: Vec<&ResolvedEnvironment> = running
            .iter()
            .filter(|(_, other)| other.blueprint == instance.blueprint && other.base_config == instance.base_config)
            .map(|&(e, _)| e)
            .collect();
        if same.first().is_some_and(|first| first.env_type != environment.env_type) {
            return;
        }
        let others = same.iter().filter(|e| e.env_type != environment.env_type).map(|e| branch_dir(e)).collect();
        let dir = branch_dir(environment);
        self.mirrored = Some((dir.clone(), others));
        let dir = dir.trim_end_matches('/').to_string();
        let bp = self.blueprint(instance.blueprint).clone();
        self.add(format!("{dir}/{BASE}/values.yaml"), Planned::Document(instance.base_config.clone()));
        match bp.spec.manifests.kind() {
            Some(ManifestKind::Chart) => self.chart_base(&org, instance, &bp, &dir),
            // Rendered manifests depend on each Environment's config: they are all in the overlays.
            Some(ManifestKind::Templates) => {}
            Some(ManifestKind::Kustomize) | None => self.kustomize_source(&org, instance, &bp, &dir),
        }
        for (other, running_there) in running {
            self.overlay(&dir, &org, instance, &bp, other, running_there);
        }
        self.add(format!("{dir}/CODEOWNERS"), Planned::Text(self.codeowners(&org, &instance.name, running)));
        self.mirrored = None;
    }

    /// Labels of what the base holds: the Environment's label is the overlay's.
    fn application_labels(&self, org: &str, instance: &Instance, bp: &Blueprint) -> Json {
        labels(&[
            ("catalyst.openova.io/organization", org),
            ("catalyst.openova.io/application", &instance.name),
            ("catalyst.openova.io/blueprint", &bp.name),
            ("catalyst.openova.io/blueprint-version", &bp.version.to_string()),
        ])
    }

    /// A chart Application's base: its OCI source and HelmRelease, valued by the shared values,
    /// then the overlay's, then its secrets.
    fn chart_base(&mut self, org: &str, instance: &Instance, bp: &Blueprint, dir: &str) {
        let mut release = self.helm_release(bp, &instance.name, "", &instance.name, "", &[], &Json::Null);
        without_namespace(&mut release);
        if let Some(spec) = release["spec"].as_object_mut() {
            // The release goes where the HelmRelease is: the namespace the overlay sets.
            spec.shift_remove("targetNamespace");
        }
        let mut values_from = vec![
            json!({"kind": "ConfigMap", "name": shared_values(&instance.name)}),
            json!({"kind": "ConfigMap", "name": environment_values(&instance.name)}),
        ];
        values_from.extend(
            external_secrets(&instance.name, &instance.secrets)
                .into_iter()
                .map(|(secret, at)| json!({"kind": "Secret", "name": secret, "valuesKey": "value", "targetPath": pointer::dotted(&at)})),
        );
        release["spec"]["valuesFrom"] = Json::Array(values_from);
        release["metadata"]["labels"] = self.application_labels(org, instance, bp);
        let mut source = self.oci_repository(&bp.name, "");
        without_namespace(&mut source);
        self.add(format!("{dir}/{BASE}/source.yaml"), Planned::Objects(vec![source]));
        self.add(format!("{dir}/{BASE}/helmrelease.yaml"), Planned::Objects(vec![release]));
        let mut base = kustomization(vec!["source.yaml".to_string(), "helmrelease.yaml".to_string()]);
        base["configMapGenerator"] = json!([{"name": shared_values(&instance.name), "files": ["values.yaml"]}]);
        base["generatorOptions"] = json!({"disableNameSuffixHash": true});
        self.add(format!("{dir}/{BASE}/kustomization.yaml"), Planned::Document(base));
    }

    /// A kustomize Application's base: the Blueprint's published OCI artifact. It is referenced and
    /// applied by Flux, never built here: the branch stays small and builds offline.
    fn kustomize_source(&mut self, org: &str, instance: &Instance, bp: &Blueprint, dir: &str) {
        let source = json!({
            "apiVersion": self.pinned.api("OCIRepository"), "kind": "OCIRepository",
            "metadata": {"name": kustomize_base(&instance.name), "labels": self.application_labels(org, instance, bp)},
            "spec": {
                "interval": "15m",
                "url": format!("{}/{}", self.project.sovereign.spec.registry.trim_end_matches('/'), bp.name),
                "ref": {"tag": bp.version.to_string()},
                "secretRef": {"name": super::PULL_SECRET},
            },
        });
        self.add(format!("{dir}/{BASE}/source.yaml"), Planned::Objects(vec![source]));
        self.add(format!("{dir}/{BASE}/kustomization.yaml"), Planned::Document(kustomization(vec!["source.yaml".to_string()])));
    }

    /// `overlays/<env>/` on a branch that runs `branch`: the Environment's config at the branch's
    /// version (`running` is the Application's instance in that Environment).
    fn overlay(&mut self, dir: &str, org: &str, branch: &Instance, bp: &Blueprint, environment: &ResolvedEnvironment, running: &Instance) {
        let dir = format!("{dir}/{OVERLAYS}/{}", environment.env_type.as_str());
        let (blueprint, config, secret_fields) = running.at(branch.blueprint);
        self.add(format!("{dir}/values.yaml"), Planned::Document(values_over(&branch.base_config, config)));
        let secrets = external_secrets(&running.name, secret_fields);
        let kind = bp.spec.manifests.kind();
        let mut resources = match kind {
            Some(ManifestKind::Templates) => self.templates(environment, running, blueprint, config, &dir, &secrets),
            Some(ManifestKind::Chart) => vec![format!("../../{BASE}")],
            Some(ManifestKind::Kustomize) | None => {
                self.kustomize_release(environment, running, bp, config, &dir);
                vec![format!("../../{BASE}"), "blueprint.yaml".to_string()]
            }
        };
        for (secret, at) in &secrets {
            let file = format!("secrets/{secret}.yaml");
            let key = format!("org/{org}/env/{}/{}", environment.env_type.as_str(), running.name);
            let data = vec![json!({"secretKey": "value", "remoteRef": {"key": key, "property": secret_property(at)}})];
            self.add(format!("{dir}/{file}"), Planned::Objects(vec![self.external_secret(secret, None, OPENBAO_STORE, data)]));
            resources.push(file);
        }
        let mut overlay = kustomization(resources);
        overlay["namespace"] = json!(environment.name);
        overlay["labels"] = json!([{"pairs": {"catalyst.openova.io/environment": environment.name}}]);
        if kind == Some(ManifestKind::Chart) {
            overlay["configMapGenerator"] = json!([{"name": environment_values(&running.name), "files": ["values.yaml"]}]);
            overlay["generatorOptions"] = json!({"disableNameSuffixHash": true});
        }
        self.add(format!("{dir}/kustomization.yaml"), Planned::Document(overlay));
    }

    /// The Flux Kustomization that applies a kustomize Blueprint's base with the Environment's
    /// config substituted.
    fn kustomize_release(&mut self, environment: &ResolvedEnvironment, instance: &Instance, bp: &Blueprint, config: &Json, dir: &str) {
        let name = kustomize_base(&instance.name);
        let mut substitute = json!({"APP_NAME": instance.name, "APP_NAMESPACE": environment.name, "SOVEREIGN_FQDN": self.fqdn});
        flatten_scalars("CONFIG", config, &mut substitute);
        let release = json!({
            "apiVersion": self.pinned.api("Kustomization"), "kind": "Kustomization",
            "metadata": {"name": name, "labels": self.instance_labels(environment, instance)},
            "spec": {
                "interval": "10m",
                "path": bp.spec.manifests.kustomize.clone().unwrap_or_default(),
                "prune": true,
                "sourceRef": {"kind": "OCIRepository", "name": name},
                "targetNamespace": environment.name,
                "timeout": "10m",
                "wait": true,
                "postBuild": {"substitute": substitute},
            },
        });
        self.add(format!("{dir}/blueprint.yaml"), Planned::Objects(vec![release]));
    }

    /// The rendered manifests of a template Blueprint for one Environment, as paths below `dir`.
    fn templates(
        &mut self,
        environment: &ResolvedEnvironment,
        instance: &Instance,
        blueprint: usize,
        config: &Json,
        dir: &str,
        secrets: &[(String, String)],
    ) -> Vec<String> {
        let project = self.project;
        let files = self
            .template_files
            .entry(blueprint)
            .or_insert_with(|| template_files(&*project.vfs, &project.catalog.blueprints[blueprint]))
            .clone();
        let org = &self.organization(environment).slug;
        let secret_map: Map<String, Json> = secrets.iter().map(|(name, at)| (pointer::dotted(at), Json::String(name.clone()))).collect();
        let context = json!({
            "config": config,
            "application": crate::pipeline::expr::application_variables(&instance.name, org, &environment.name, environment.env_type),
            "sovereign": crate::pipeline::expr::sovereign_variables(&project.sovereign),
            "secrets": secret_map,
        });
        let mut outputs = Vec::new();
        for file in files {
            let output = format!("manifests/{}", file.trim_end_matches(".j2"));
            self.add(format!("{dir}/{output}"), Planned::Template { blueprint, file, context: context.clone() });
            outputs.push(output);
        }
        outputs
    }

    /// One CODEOWNERS for every branch. Gitea reads each rule as a regular expression over the
    /// path and asks every matching rule's owners: an overlay is reviewed by its Environment's
    /// approvers, the base by those of the first Environment, where changes enter; promotion
    /// further is gated by each Environment's policy.
    fn codeowners(&self, org: &str, app: &str, running: &Running<'_>) -> String {
        let mut text = format!("# Generated by catalyst: reviewers of {org}/{app}, the same on every branch.\n");
        if let Some((first, _)) = running.first() {
            text.push_str(&format!(".* {}\n", self.reviewers(first).join(" ")));
        }
        for (environment, _) in running {
            text.push_str(&format!("{OVERLAYS}/{}/.* {}\n", environment.env_type.as_str(), self.reviewers(environment).join(" ")));
        }
        text
    }

    /// The approver teams of the Environment's policy, else the Organization's owners.
    fn reviewers(&self, environment: &ResolvedEnvironment) -> Vec<String> {
        let org = self.organization(environment);
        let env = org.spec.environments.iter().find(|e| e.env_type == environment.env_type);
        let approvers: Vec<String> = env
            .and_then(|e| e.policy.as_ref())
            .into_iter()
            .flat_map(|p| &p.rules)
            .filter_map(|r| match r {
                PolicyRule::PrRequired { approvers, .. } => Some(approvers.iter().map(|a| format!("@{}/{a}", org.slug))),
                _ => None,
            })
            .flatten()
            .collect();
        if approvers.is_empty() {
            org.spec.owners.iter().map(|o| o.email.clone()).collect()
        } else {
            approvers
        }
    }
}

fn shared_values(app: &str) -> String {
    format!("{app}-values")
}

fn environment_values(app: &str) -> String {
    format!("{app}-env-values")
}

/// Not `<app>`: that is the name of the Kustomization that applies the branch.
fn kustomize_base(app: &str) -> String {
    format!("{app}-base")
}

/// The base's objects take the namespace of the overlay that applies them.
fn without_namespace(object: &mut Json) {
    if let Some(metadata) = object["metadata"].as_object_mut() {
        metadata.shift_remove("namespace");
    }
}

/// One Secret per secret field: `<app>-<property>`, with the config pointer it fills.
fn external_secrets(app: &str, secrets: &[String]) -> Vec<(String, String)> {
    secrets.iter().map(|at| (format!("{app}-{}", secret_property(at).to_lowercase()), at.clone())).collect()
}

/// What `config` changes over `base`, as a Helm values layer laid over it: mappings merge, any
/// other value replaces, and `null` removes a key.
fn values_over(base: &Json, config: &Json) -> Json {
    let (Json::Object(base), Json::Object(config)) = (base, config) else {
        return if config.is_object() { config.clone() } else { json!({}) };
    };
    let mut layer = Map::new();
    for (key, value) in config {
        match base.get(key) {
            Some(old) if old == value => {}
            Some(old) if old.is_object() && value.is_object() => {
                layer.insert(key.clone(), values_over(old, value));
            }
            _ => {
                layer.insert(key.clone(), value.clone());
            }
        }
    }
    for key in base.keys().filter(|key| !config.contains_key(*key)) {
        layer.insert(key.clone(), Json::Null);
    }
    Json::Object(layer)
}

/// The template files of a Blueprint, sorted (read once more by the renderer).
fn template_files(vfs: &dyn crate::support::vfs::Vfs, bp: &Blueprint) -> Vec<String> {
    let Some(relative) = &bp.spec.manifests.templates else { return Vec::new() };
    let Ok(dir) = crate::pipeline::load::contained_path(vfs, &bp.dir, relative) else { return Vec::new() };
    let mut files: Vec<String> = vfs
        .files_under(&dir)
        .into_iter()
        .filter_map(|path| path.strip_prefix(&dir).ok().map(|p| p.to_string_lossy().replace('\\', "/")))
        .filter(|f| f.ends_with(".yaml") || f.ends_with(".yml") || f.ends_with(".j2"))
        .collect();
    files.sort();
    files
}

/// Scalar config values as Flux `postBuild` variables: `{db: {port: 5432}}` → `CONFIG_DB_PORT: "5432"`.
/// Lists have no variable form and are left to the base's own defaults.
fn flatten_scalars(prefix: &str, value: &Json, into: &mut Json) {
    match value {
        Json::Object(map) => {
            for (key, child) in map {
                let key: String = key.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
                flatten_scalars(&format!("{prefix}_{key}"), child, into);
            }
        }
        Json::String(text) => into[prefix] = Json::String(text.clone()),
        Json::Number(_) | Json::Bool(_) => into[prefix] = Json::String(value.to_string()),
        Json::Array(_) | Json::Null => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_overlay_holds_what_its_environment_changes_over_the_base() {
        let base = json!({"replicas": 2, "db": {"host": "a", "port": 5432}, "gone": true});
        let config = json!({"replicas": 2, "db": {"host": "b", "port": 5432}, "size": "large"});
        assert_eq!(values_over(&base, &config), json!({"db": {"host": "b"}, "size": "large", "gone": null}));
        assert_eq!(values_over(&base, &base), json!({}));
        assert_eq!(values_over(&Json::Null, &config), config);
        assert_eq!(values_over(&base, &Json::Null), json!({}));
    }
}
