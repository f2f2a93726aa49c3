//! What the reconcile check needs to know of each emitted file, taken from its
//! objects while they are rendered (or read back from a built tree): names,
//! namespaces and every reference, each with the JSON pointer it was written at.
//! The objects themselves are not kept: a 10,000-Application tree is judged
//! from these facts alone.

use std::borrow::Cow;

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
}

#[derive(Clone, Debug)]
pub struct FileFacts {
    /// Relative to the output root, `/`-separated.
    pub path: String,
    /// The input the file was emitted for.
    pub origin: Option<Origin>,
    pub content: Content,
}

impl FileFacts {
    /// A file of objects (it is there for kustomize even when none of them can be judged).
    pub fn objects(path: &str, objects: &[Json], origin: Option<&Origin>) -> FileFacts {
        let objects: Vec<Obj> = objects.iter().enumerate().filter_map(|(document, object)| Obj::of(document, object)).collect();
        FileFacts { path: path.to_string(), origin: origin.cloned(), content: Content::Objects(objects) }
    }

    /// A `kustomization.yaml` (kustomize's, not Flux's), if `document` is one.
    pub fn kustomization(path: &str, document: &Json, origin: Option<&Origin>) -> Option<FileFacts> {
        let kustomize = Kustomize::of(path, document)?;
        Some(FileFacts { path: path.to_string(), origin: origin.cloned(), content: Content::Kustomize(kustomize) })
    }
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
            document.get(key).and_then(Json::as_array).into_iter().flatten().filter_map(|g| string(g, "/name")).collect()
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
            namespace: string(document, "/namespace"),
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
    Named(Text),
    Cluster,
}

/// One reference an object makes.
#[derive(Clone, Debug)]
pub struct Ref {
    pub kind: Cow<'static, str>,
    pub name: Text,
    pub scope: Scope,
    /// Where it is written in the object.
    pub pointer: Cow<'static, str>,
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

/// Text kept in the facts: exactly sized, as most of it is never read again.
pub type Text = Box<str>;

/// One emitted object.
#[derive(Clone, Debug)]
pub struct Obj {
    /// Index of its document in the file.
    pub document: usize,
    pub api_version: Cow<'static, str>,
    pub kind: Cow<'static, str>,
    pub name: Text,
    pub namespace: Option<Text>,
    pub refs: Box<[Ref]>,
    /// What only some kinds have.
    pub role: Option<Box<Role>>,
}

/// What only some kinds of object have.
#[derive(Clone, Debug, Default)]
pub struct Role {
    /// Set on Flux Kustomizations.
    pub sync: Option<Sync>,
    /// Set on GitRepositories.
    pub git: Option<Git>,
    /// The Secret an ExternalSecret creates.
    pub creates_secret: Option<Text>,
    /// The namespace a `kubernetes`-provider secret store reads from.
    pub reads_namespace: Option<Text>,
    /// The keys an ExternalSecret reads (with their pointers), for stores that read Secrets.
    pub remote_keys: Vec<(Text, Cow<'static, str>)>,
    /// The kit Blueprint a HelmRelease installs (its `catalyst.openova.io/blueprint` label), or a Crossplane package.
    pub installs: Option<Text>,
    /// What else the object is found by: a Sovereign by its FQDN.
    pub alias: Option<Text>,
}

/// apiVersions and kinds the compiler emits, kept without a copy.
const KNOWN: [&str; 33] = [
    "v1",
    "apps/v1",
    "batch/v1",
    "networking.k8s.io/v1",
    "policy/v1",
    "autoscaling/v2",
    "rbac.authorization.k8s.io/v1",
    "source.toolkit.fluxcd.io/v1",
    "kustomize.toolkit.fluxcd.io/v1",
    "helm.toolkit.fluxcd.io/v2",
    "external-secrets.io/v1",
    "catalyst.openova.io/v1",
    "catalyst.openova.io/v1alpha1",
    "orgs.openova.io/v1",
    "apps.openova.io/v1",
    "pkg.crossplane.io/v1",
    "Namespace",
    "ConfigMap",
    "Secret",
    "Service",
    "Deployment",
    "Ingress",
    "GitRepository",
    "HelmRepository",
    "OCIRepository",
    "Kustomization",
    "HelmRelease",
    "ExternalSecret",
    "ClusterSecretStore",
    "Application",
    "Environment",
    "EnvironmentPolicy",
    "Organization",
];

fn text(value: &Json, pointer: &str) -> Option<Text> {
    value.pointer(pointer).and_then(Json::as_str).map(Text::from)
}

fn string(value: &Json, pointer: &str) -> Option<String> {
    value.pointer(pointer).and_then(Json::as_str).map(str::to_string)
}

fn group(api_version: &str) -> &str {
    api_version.rsplit_once('/').map_or("", |(group, _)| group)
}

fn known(text: &str) -> Cow<'static, str> {
    KNOWN.iter().find(|k| **k == text).map_or_else(|| Cow::Owned(text.to_string()), |k| Cow::Borrowed(*k))
}

impl Obj {
    fn of(document: usize, object: &Json) -> Option<Obj> {
        let text_at = |pointer: &str| object.pointer(pointer).and_then(Json::as_str);
        let (api_version, kind) = (text_at("/apiVersion")?, text_at("/kind")?);
        let name = text(object, "/metadata/name")?;
        let mut obj = Building { refs: Vec::new(), role: Role::default() };
        let flux = group(api_version).ends_with(".toolkit.fluxcd.io");
        match (group(api_version), kind) {
            (_, "GitRepository" | "HelmRepository" | "OCIRepository" | "Bucket") if flux => obj.source(object, kind),
            (_, "HelmRelease") if flux => obj.helm_release(object),
            (_, "Kustomization") if flux => obj.kustomization(object),
            ("external-secrets.io", "ExternalSecret") => obj.external_secret(object, &name),
            ("external-secrets.io", "SecretStore" | "ClusterSecretStore") => obj.secret_store(object),
            ("catalyst.openova.io", "Environment") => {
                obj.named(object, "/spec/policyRef", "EnvironmentPolicy", Scope::Cluster, When::Reconcile);
                obj.named(object, "/spec/organizationRef", "Organization", Scope::Cluster, When::Reconcile);
            }
            ("catalyst.openova.io", "Sovereign") => obj.role.alias = text(object, "/spec/fqdn"),
            ("orgs.openova.io", "Organization") => obj.named(object, "/spec/sovereignRef", "Sovereign", Scope::Cluster, When::Reconcile),
            ("apps.openova.io", "Application") => {
                obj.named(object, "/spec/environmentRef", "Environment", Scope::Cluster, When::Reconcile);
                obj.listed(object, "/spec/dependsOn", "Application", When::Reconcile);
            }
            ("pkg.crossplane.io", "Provider") => obj.role.installs = text(object, "/spec/package"),
            (_, "ProviderConfig") => {
                obj.secret_at(object, ("/spec/credentials/secretRef", "/spec/credentials/secretRef/name"), When::Reconcile)
            }
            _ => {}
        }
        let has_role = obj.role.sync.is_some()
            || obj.role.git.is_some()
            || obj.role.creates_secret.is_some()
            || obj.role.reads_namespace.is_some()
            || obj.role.installs.is_some()
            || obj.role.alias.is_some();
        Some(Obj {
            document,
            api_version: known(api_version),
            kind: known(kind),
            name,
            namespace: text(object, "/metadata/namespace"),
            refs: obj.refs.into_boxed_slice(),
            role: has_role.then(|| Box::new(obj.role)),
        })
    }

    pub fn sync(&self) -> Option<&Sync> {
        self.role.as_ref()?.sync.as_ref()
    }

    pub fn git(&self) -> Option<&Git> {
        self.role.as_ref()?.git.as_ref()
    }

    pub fn creates_secret(&self) -> Option<&str> {
        self.role.as_ref()?.creates_secret.as_deref()
    }

    pub fn reads_namespace(&self) -> Option<&str> {
        self.role.as_ref()?.reads_namespace.as_deref()
    }

    pub fn remote_keys(&self) -> &[(Text, Cow<'static, str>)] {
        self.role.as_ref().map_or(&[], |r| &r.remote_keys)
    }

    pub fn installs(&self) -> Option<&str> {
        self.role.as_ref()?.installs.as_deref()
    }

    pub fn alias(&self) -> Option<&str> {
        self.role.as_ref()?.alias.as_deref()
    }
}

/// An object's facts while they are gathered.
struct Building {
    refs: Vec<Ref>,
    role: Role,
}

impl Building {
    fn push(&mut self, kind: &str, name: Text, scope: Scope, pointer: Cow<'static, str>, when: When, optional: bool) {
        self.refs.push(Ref { kind: known(kind), name, scope, pointer, when, optional });
    }

    /// A reference written as a plain name at `pointer`.
    fn named(&mut self, object: &Json, pointer: &'static str, kind: &str, scope: Scope, when: When) {
        if let Some(name) = text(object, pointer) {
            self.push(kind, name, scope, Cow::Borrowed(pointer), when, false);
        }
    }

    /// `{name, namespace?}` items of a list at `pointer`, all of `kind`.
    fn listed(&mut self, object: &Json, pointer: &str, kind: &str, when: When) {
        for (i, item) in object.pointer(pointer).and_then(Json::as_array).into_iter().flatten().enumerate() {
            let Some(name) = text(item, "/name") else { continue };
            let scope = text(item, "/namespace").map_or(Scope::Own, Scope::Named);
            self.push(kind, name, scope, Cow::Owned(format!("{pointer}/{i}/name")), when, false);
        }
    }

    /// A `{kind, name, namespace?}` reference at `pointer` (its `name` at `name`); `default_kind` when it names none.
    fn typed(&mut self, object: &Json, (pointer, name): (&str, &'static str), default_kind: &str, when: When) {
        let Some(target) = object.pointer(pointer) else { return };
        let Some(target_name) = text(target, "/name") else { return };
        let kind = string(target, "/kind").unwrap_or_else(|| default_kind.to_string());
        let scope = text(target, "/namespace").map_or(Scope::Own, Scope::Named);
        self.push(&kind, target_name, scope, Cow::Borrowed(name), when, false);
    }

    /// A Secret named at `pointer` (`{name, namespace?}`).
    fn secret_at(&mut self, object: &Json, at: (&str, &'static str), when: When) {
        self.typed(object, at, "Secret", when);
    }

    fn source(&mut self, object: &Json, kind: &str) {
        self.secret_at(object, ("/spec/secretRef", "/spec/secretRef/name"), When::Reconcile);
        if kind == "GitRepository" {
            let url = string(object, "/spec/url").unwrap_or_default();
            let branch = string(object, "/spec/ref/branch").unwrap_or_else(|| "main".to_string());
            self.role.git = Some(Git { url, branch });
        }
    }

    fn helm_release(&mut self, object: &Json) {
        self.typed(object, ("/spec/chart/spec/sourceRef", "/spec/chart/spec/sourceRef/name"), "HelmRepository", When::Ready);
        self.typed(object, ("/spec/chartRef", "/spec/chartRef/name"), "OCIRepository", When::Ready);
        for (i, item) in object.pointer("/spec/valuesFrom").and_then(Json::as_array).into_iter().flatten().enumerate() {
            let (Some(kind), Some(name)) = (text(item, "/kind"), text(item, "/name")) else { continue };
            let optional = item.get("optional").and_then(Json::as_bool).unwrap_or(false);
            self.push(&kind, name, Scope::Own, Cow::Owned(format!("/spec/valuesFrom/{i}/name")), When::Reconcile, optional);
        }
        self.listed(object, "/spec/dependsOn", "HelmRelease", When::Ready);
        self.secret_at(object, ("/spec/kubeConfig/secretRef", "/spec/kubeConfig/secretRef/name"), When::Reconcile);
        let creates = object.pointer("/spec/install/createNamespace").and_then(Json::as_bool).unwrap_or(false);
        if !creates {
            self.named(object, "/spec/targetNamespace", "Namespace", Scope::Cluster, When::Reconcile);
        }
        self.role.installs = text(object, "/metadata/labels/catalyst.openova.io~1blueprint");
    }

    fn kustomization(&mut self, object: &Json) {
        self.typed(object, ("/spec/sourceRef", "/spec/sourceRef/name"), "GitRepository", When::Ready);
        self.listed(object, "/spec/dependsOn", "Kustomization", When::Ready);
        self.secret_at(object, ("/spec/decryption/secretRef", "/spec/decryption/secretRef/name"), When::Reconcile);
        self.secret_at(object, ("/spec/kubeConfig/secretRef", "/spec/kubeConfig/secretRef/name"), When::Reconcile);
        for (i, item) in object.pointer("/spec/postBuild/substituteFrom").and_then(Json::as_array).into_iter().flatten().enumerate() {
            let (Some(kind), Some(name)) = (text(item, "/kind"), text(item, "/name")) else { continue };
            let optional = item.get("optional").and_then(Json::as_bool).unwrap_or(false);
            self.push(&kind, name, Scope::Own, Cow::Owned(format!("/spec/postBuild/substituteFrom/{i}/name")), When::Apply, optional);
        }
        self.named(object, "/spec/targetNamespace", "Namespace", Scope::Cluster, When::Apply);
        let source = object.pointer("/spec/sourceRef");
        self.role.sync = Some(Sync {
            path: string(object, "/spec/path").unwrap_or_default(),
            source_kind: source.and_then(|s| string(s, "/kind")).unwrap_or_else(|| "GitRepository".to_string()),
            source_name: source.and_then(|s| string(s, "/name")).unwrap_or_default(),
            source_namespace: source.and_then(|s| string(s, "/namespace")),
            target_namespace: string(object, "/spec/targetNamespace"),
            wait: object.pointer("/spec/wait").and_then(Json::as_bool).unwrap_or(false),
        });
    }

    fn external_secret(&mut self, object: &Json, name: &Text) {
        let store = object.pointer("/spec/secretStoreRef");
        let kind = store.and_then(|s| string(s, "/kind")).unwrap_or_else(|| "SecretStore".to_string());
        if let Some(name) = store.and_then(|s| text(s, "/name")) {
            let scope = if kind == "ClusterSecretStore" { Scope::Cluster } else { Scope::Own };
            self.push(&kind, name, scope, Cow::Borrowed("/spec/secretStoreRef/name"), When::Reconcile, false);
        }
        self.role.creates_secret = Some(text(object, "/spec/target/name").unwrap_or_else(|| name.clone()));
        for (i, item) in object.pointer("/spec/data").and_then(Json::as_array).into_iter().flatten().enumerate() {
            if let Some(key) = text(item, "/remoteRef/key") {
                self.role.remote_keys.push((key, Cow::Owned(format!("/spec/data/{i}/remoteRef/key"))));
            }
        }
    }

    fn secret_store(&mut self, object: &Json) {
        let token = "/spec/provider/vault/auth/tokenSecretRef";
        self.secret_at(object, (token, "/spec/provider/vault/auth/tokenSecretRef/name"), When::Reconcile);
        self.role.reads_namespace = text(object, "/spec/provider/kubernetes/remoteNamespace");
    }
}
