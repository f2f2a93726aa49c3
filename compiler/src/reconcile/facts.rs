//! What the reconcile check needs to know of each emitted file, taken from its
//! objects while they are rendered (or read back from a built tree): names,
//! namespaces and every reference, each with the JSON pointer it was written at.
//! The objects themselves are not kept: a 10,000-Application tree is judged
//! from these facts alone.

use serde_json::Value as Json;

use crate::source::Origin;

/// The facts of every emitted file, gathered across parts and threads.
#[derive(Clone, Debug, Default)]
pub struct Facts {
    pub files: Vec<FileFacts>,
}

impl Facts {
    pub fn merge(&mut self, other: Facts) {
        self.files.extend(other.files);
    }

    /// Adds a file of objects (it is there for kustomize even when none of them can be judged).
    pub fn add_objects(&mut self, path: &str, objects: &[Json], origin: Option<&Origin>) {
        let objects: Vec<Obj> = objects.iter().enumerate().filter_map(|(document, object)| Obj::of(document, object)).collect();
        self.files.push(FileFacts { path: path.to_string(), origin: origin.cloned(), content: Content::Objects(objects) });
    }

    /// Adds a `kustomization.yaml` (kustomize's, not Flux's); whether `document` is one.
    pub fn add_document(&mut self, path: &str, document: &Json, origin: Option<&Origin>) -> bool {
        let Some(kustomize) = Kustomize::of(path, document) else { return false };
        self.files.push(FileFacts { path: path.to_string(), origin: origin.cloned(), content: Content::Kustomize(kustomize) });
        true
    }
}

#[derive(Clone, Debug)]
pub struct FileFacts {
    /// Relative to the output root, `/`-separated.
    pub path: String,
    /// The input the file was emitted for.
    pub origin: Option<Origin>,
    pub content: Content,
}

#[derive(Clone, Debug)]
pub enum Content {
    Objects(Vec<Obj>),
    Kustomize(Kustomize),
}

/// A `kustomization.yaml`: what `kustomize build` of its folder yields.
#[derive(Clone, Debug, Default)]
pub struct Kustomize {
    pub resources: Vec<String>,
    /// The `namespace:` it sets on every namespaced object.
    pub namespace: Option<String>,
    /// ConfigMaps and Secrets its generators create: (kind, name).
    pub generated: Vec<(&'static str, String)>,
}

impl Kustomize {
    fn of(path: &str, document: &Json) -> Option<Kustomize> {
        let is_kustomization = path.rsplit('/').next().is_some_and(|name| name == "kustomization.yaml" || name == "kustomization.yml");
        let api = document.get("apiVersion").and_then(Json::as_str).unwrap_or_default();
        if !is_kustomization || !api.starts_with("kustomize.config.k8s.io/") {
            return None;
        }
        let names = |key: &str| -> Vec<String> {
            document.get(key).and_then(Json::as_array).into_iter().flatten().filter_map(|g| text(g, "/name")).collect()
        };
        let mut generated: Vec<(&'static str, String)> = names("configMapGenerator").into_iter().map(|n| ("ConfigMap", n)).collect();
        generated.extend(names("secretGenerator").into_iter().map(|n| ("Secret", n)));
        Some(Kustomize {
            resources: document
                .get("resources")
                .and_then(Json::as_array)
                .into_iter()
                .flatten()
                .filter_map(|r| r.as_str().map(str::to_string))
                .collect(),
            namespace: text(document, "/namespace"),
            generated,
        })
    }
}

/// Whether a reference must resolve before the object is admitted, or before it becomes ready.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum When {
    /// The API server refuses the object until the target exists (its Namespace).
    Apply,
    /// The controller cannot reconcile the object until the target exists.
    Reconcile,
    /// The controller waits until the target is ready (`dependsOn`).
    Ready,
}

/// Where a reference looks for its target.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// The referring object's own namespace, whatever it ends up being.
    Own,
    Named(String),
    Cluster,
}

/// One reference an object makes.
#[derive(Clone, Debug)]
pub struct Ref {
    pub kind: String,
    pub name: String,
    pub scope: Scope,
    /// Where it is written in the object.
    pub pointer: String,
    pub when: When,
    pub optional: bool,
}

/// A GitRepository's address.
#[derive(Clone, Debug)]
pub struct Git {
    pub url: String,
    pub branch: String,
}

/// A Flux Kustomization's own settings.
#[derive(Clone, Debug)]
pub struct Sync {
    pub path: String,
    pub source_kind: String,
    pub source_name: String,
    pub source_namespace: Option<String>,
    pub target_namespace: Option<String>,
    pub wait: bool,
}

/// One emitted object.
#[derive(Clone, Debug)]
pub struct Obj {
    /// Index of its document in the file.
    pub document: usize,
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub namespace: Option<String>,
    pub refs: Vec<Ref>,
    /// Set on Flux Kustomizations.
    pub sync: Option<Sync>,
    /// Set on GitRepositories.
    pub git: Option<Git>,
    /// The Secret an ExternalSecret creates.
    pub creates_secret: Option<String>,
    /// The namespace a `kubernetes`-provider secret store reads from.
    pub reads_namespace: Option<String>,
    /// The keys an ExternalSecret reads (with their pointers), for stores that read Secrets.
    pub remote_keys: Vec<(String, String)>,
    /// The kit Blueprint a HelmRelease installs (its `catalyst.openova.io/blueprint` label), or a Crossplane package.
    pub installs: Option<String>,
    /// What else the object is found by: a Sovereign by its FQDN.
    pub alias: Option<String>,
}

fn text(value: &Json, pointer: &str) -> Option<String> {
    value.pointer(pointer).and_then(Json::as_str).map(str::to_string)
}

fn group(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(group, _)| group)
}

impl Obj {
    fn of(document: usize, object: &Json) -> Option<Obj> {
        let api_version = text(object, "/apiVersion")?;
        let kind = text(object, "/kind")?;
        let name = text(object, "/metadata/name")?;
        let mut obj = Obj {
            document,
            namespace: text(object, "/metadata/namespace"),
            api_version,
            kind,
            name,
            refs: Vec::new(),
            sync: None,
            git: None,
            creates_secret: None,
            reads_namespace: None,
            remote_keys: Vec::new(),
            installs: None,
            alias: None,
        };
        let flux = group(&obj.api_version).ends_with(".toolkit.fluxcd.io");
        match (group(&obj.api_version), obj.kind.as_str()) {
            (_, "GitRepository" | "HelmRepository" | "OCIRepository" | "Bucket") if flux => obj.source(object),
            (_, "HelmRelease") if flux => obj.helm_release(object),
            (_, "Kustomization") if flux => obj.kustomization(object),
            ("external-secrets.io", "ExternalSecret") => obj.external_secret(object),
            ("external-secrets.io", "SecretStore" | "ClusterSecretStore") => obj.secret_store(object),
            ("catalyst.openova.io", "Environment") => {
                obj.named(object, "/spec/policyRef", "EnvironmentPolicy", Scope::Cluster, When::Reconcile);
                obj.named(object, "/spec/organizationRef", "Organization", Scope::Cluster, When::Reconcile);
            }
            ("catalyst.openova.io", "Sovereign") => obj.alias = text(object, "/spec/fqdn"),
            ("orgs.openova.io", "Organization") => obj.named(object, "/spec/sovereignRef", "Sovereign", Scope::Cluster, When::Reconcile),
            ("apps.openova.io", "Application") => {
                obj.named(object, "/spec/environmentRef", "Environment", Scope::Cluster, When::Reconcile);
                obj.listed(object, "/spec/dependsOn", "Application", When::Reconcile);
            }
            ("pkg.crossplane.io", "Provider") => obj.installs = text(object, "/spec/package"),
            (_, "ProviderConfig") => obj.secret_at(object, "/spec/credentials/secretRef", When::Reconcile),
            _ => {}
        }
        Some(obj)
    }

    fn push(&mut self, kind: &str, name: String, scope: Scope, pointer: String, when: When, optional: bool) {
        self.refs.push(Ref { kind: kind.to_string(), name, scope, pointer, when, optional });
    }

    /// A reference written as a plain name at `pointer`.
    fn named(&mut self, object: &Json, pointer: &str, kind: &str, scope: Scope, when: When) {
        if let Some(name) = text(object, pointer) {
            self.push(kind, name, scope, pointer.to_string(), when, false);
        }
    }

    /// `{name, namespace?}` items of a list at `pointer`, all of `kind`.
    fn listed(&mut self, object: &Json, pointer: &str, kind: &str, when: When) {
        for (i, item) in object.pointer(pointer).and_then(Json::as_array).into_iter().flatten().enumerate() {
            let Some(name) = text(item, "/name") else { continue };
            let scope = text(item, "/namespace").map_or(Scope::Own, Scope::Named);
            self.push(kind, name, scope, format!("{pointer}/{i}/name"), when, false);
        }
    }

    /// A `{kind, name, namespace?}` reference at `pointer`; `default_kind` when it names none.
    fn typed(&mut self, object: &Json, pointer: &str, default_kind: &str, when: When) {
        let Some(target) = object.pointer(pointer) else { return };
        let Some(name) = text(target, "/name") else { return };
        let kind = text(target, "/kind").unwrap_or_else(|| default_kind.to_string());
        let scope = text(target, "/namespace").map_or(Scope::Own, Scope::Named);
        self.push(&kind, name, scope, format!("{pointer}/name"), when, false);
    }

    /// A Secret named at `pointer` (`{name, namespace?}`).
    fn secret_at(&mut self, object: &Json, pointer: &str, when: When) {
        self.typed(object, pointer, "Secret", when);
    }

    fn source(&mut self, object: &Json) {
        self.secret_at(object, "/spec/secretRef", When::Reconcile);
        if self.kind == "GitRepository" {
            let url = text(object, "/spec/url").unwrap_or_default();
            let branch = text(object, "/spec/ref/branch").unwrap_or_else(|| "main".to_string());
            self.git = Some(Git { url, branch });
        }
    }

    fn helm_release(&mut self, object: &Json) {
        self.typed(object, "/spec/chart/spec/sourceRef", "HelmRepository", When::Ready);
        self.typed(object, "/spec/chartRef", "OCIRepository", When::Ready);
        for (i, item) in object.pointer("/spec/valuesFrom").and_then(Json::as_array).into_iter().flatten().enumerate() {
            let (Some(kind), Some(name)) = (text(item, "/kind"), text(item, "/name")) else { continue };
            let optional = item.get("optional").and_then(Json::as_bool).unwrap_or(false);
            self.push(&kind, name, Scope::Own, format!("/spec/valuesFrom/{i}/name"), When::Reconcile, optional);
        }
        self.listed(object, "/spec/dependsOn", "HelmRelease", When::Ready);
        self.secret_at(object, "/spec/kubeConfig/secretRef", When::Reconcile);
        let creates = object.pointer("/spec/install/createNamespace").and_then(Json::as_bool).unwrap_or(false);
        if !creates {
            self.named(object, "/spec/targetNamespace", "Namespace", Scope::Cluster, When::Reconcile);
        }
        self.installs = text(object, "/metadata/labels/catalyst.openova.io~1blueprint");
    }

    fn kustomization(&mut self, object: &Json) {
        self.typed(object, "/spec/sourceRef", "GitRepository", When::Ready);
        self.listed(object, "/spec/dependsOn", "Kustomization", When::Ready);
        self.secret_at(object, "/spec/decryption/secretRef", When::Reconcile);
        self.secret_at(object, "/spec/kubeConfig/secretRef", When::Reconcile);
        for (i, item) in object.pointer("/spec/postBuild/substituteFrom").and_then(Json::as_array).into_iter().flatten().enumerate() {
            let (Some(kind), Some(name)) = (text(item, "/kind"), text(item, "/name")) else { continue };
            let optional = item.get("optional").and_then(Json::as_bool).unwrap_or(false);
            self.push(&kind, name, Scope::Own, format!("/spec/postBuild/substituteFrom/{i}/name"), When::Apply, optional);
        }
        self.named(object, "/spec/targetNamespace", "Namespace", Scope::Cluster, When::Apply);
        let source = object.pointer("/spec/sourceRef");
        self.sync = Some(Sync {
            path: text(object, "/spec/path").unwrap_or_default(),
            source_kind: source.and_then(|s| text(s, "/kind")).unwrap_or_else(|| "GitRepository".to_string()),
            source_name: source.and_then(|s| text(s, "/name")).unwrap_or_default(),
            source_namespace: source.and_then(|s| text(s, "/namespace")),
            target_namespace: text(object, "/spec/targetNamespace"),
            wait: object.pointer("/spec/wait").and_then(Json::as_bool).unwrap_or(false),
        });
    }

    fn external_secret(&mut self, object: &Json) {
        let store = object.pointer("/spec/secretStoreRef");
        let kind = store.and_then(|s| text(s, "/kind")).unwrap_or_else(|| "SecretStore".to_string());
        if let Some(name) = store.and_then(|s| text(s, "/name")) {
            let scope = if kind == "ClusterSecretStore" { Scope::Cluster } else { Scope::Own };
            self.push(&kind, name, scope, "/spec/secretStoreRef/name".into(), When::Reconcile, false);
        }
        self.creates_secret = Some(text(object, "/spec/target/name").unwrap_or_else(|| self.name.clone()));
        for (i, item) in object.pointer("/spec/data").and_then(Json::as_array).into_iter().flatten().enumerate() {
            if let Some(key) = text(item, "/remoteRef/key") {
                self.remote_keys.push((key, format!("/spec/data/{i}/remoteRef/key")));
            }
        }
    }

    fn secret_store(&mut self, object: &Json) {
        let provider = "/spec/provider";
        self.secret_at(object, &format!("{provider}/vault/auth/tokenSecretRef"), When::Reconcile);
        self.reads_namespace = text(object, &format!("{provider}/kubernetes/remoteNamespace"));
    }
}
