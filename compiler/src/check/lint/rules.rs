//! The lint rules: each a code (with the explanation `catalyst explain`
//! prints) and a default severity. Rules report under these constants
//! (`rules::NAME_PREFIX`); the engine in [`super`] applies the configuration.

use crate::diagnostic::codes::{Code, Exit};
use crate::diagnostic::Severity;

/// The prefix of every lint rule's code.
pub const PREFIX: &str = "catalyst::lint::";

/// A lint rule: its code (with the explanation `catalyst explain` prints) and default severity.
pub struct Rule {
    pub code: Code,
    pub default: Severity,
}

/// A rule stands for its code where a diagnostic is made.
impl From<&'static Rule> for &'static Code {
    fn from(rule: &'static Rule) -> Self {
        &rule.code
    }
}

impl Rule {
    /// `name-prefix` for `catalyst::lint::name-prefix`.
    pub fn name(&self) -> &'static str {
        self.code.id.strip_prefix(PREFIX).unwrap_or(self.code.id)
    }
}

macro_rules! rules {
    ($($ident:ident $name:literal $severity:ident $summary:literal, $rationale:literal, bad: $bad:literal, good: $good:literal;)*) => {
        $(pub const $ident: &Rule = &Rule {
            code: Code {
                id: concat!("catalyst::lint::", $name),
                summary: $summary,
                explanation: concat!($rationale, "\n\nBad:\n\n", $bad, "\n\nGood:\n\n", $good),
                exit: Exit::Findings,
            },
            default: Severity::$severity,
        };)*
        /// Every lint rule, in the order `explain` and SARIF list them.
        pub const RULES: &[&Rule] = &[$($ident),*];
    };
}

rules! {
    SCHEMA "schema" Error "the Blueprint breaks its JSON Schema",
        "Every blueprint.yaml is checked against schemas/blueprint.schema.json (the schema `catalyst check` and editors use). Where a dedicated rule reports the same place, only the dedicated finding is shown.",
        bad: "spec:\n  visibilty: listed",
        good: "spec:\n  visibility: listed";
    NAME_PREFIX "name-prefix" Warning "a Blueprint name without the bp- prefix",
        "The upstream Application CRD requires `blueprintRef.name` to match ^bp-…; a bare name resolves in the compiler but is refused at admission.",
        bad: "metadata:\n  name: wordpress",
        good: "metadata:\n  name: bp-wordpress";
    NAME_DNS_LABEL "name-dns-label" Error "a Blueprint name that is not a DNS label",
        "Blueprint names become OCI artifact names, namespaces and release names: lowercase letters, digits and `-`, at most 63 characters, starting and ending with a letter or digit.",
        bad: "metadata:\n  name: bp-Word_Press",
        good: "metadata:\n  name: bp-wordpress";
    VERSION "version" Error "a missing or invalid spec.version",
        "The version is MAJOR.MINOR.PATCH with an optional lowercase pre-release: no `v` prefix, no build metadata, no leading zeros. It tags the OCI artifact and is compared by semver requirements. Quote it: `1.4` in YAML is a number.",
        bad: "spec:\n  version: v1.4",
        good: "spec:\n  version: \"1.4.0\"";
    LEGACY_VERSION "legacy-version" Warning "the version at metadata.version",
        "Older upstream files carry the version at metadata.version; the Blueprint CRD reads spec.version.",
        bad: "metadata:\n  name: bp-redis\n  version: 1.0.0",
        good: "metadata:\n  name: bp-redis\nspec:\n  version: 1.0.0";
    DUPLICATE_VERSION "duplicate-version" Error "a (name, version) defined twice in one catalog",
        "Within one catalog each Blueprint version is defined once; which of two copies a Sovereign would get is otherwise an accident of file order.",
        bad: "postgres/a/blueprint.yaml: {name: bp-postgres, version: 1.4.2}\npostgres/b/blueprint.yaml: {name: bp-postgres, version: 1.4.2}",
        good: "postgres/1.4.2/blueprint.yaml: {name: bp-postgres, version: 1.4.2}\npostgres/1.5.0/blueprint.yaml: {name: bp-postgres, version: 1.5.0}";
    CONFIG_SCHEMA "config-schema" Error "configSchema is not a valid JSON Schema",
        "configSchema drives Application validation and the console form. It is checked against the draft 2020-12 metaschema, then compiled: a schema that is not one would reject (or accept) every config for the wrong reason.",
        bad: "configSchema:\n  type: obj\n  properties: {replicas: {type: integer, minimum: one}}",
        good: "configSchema:\n  type: object\n  properties: {replicas: {type: integer, minimum: 1}}";
    DEFAULT_INVALID "default-invalid" Error "a default its own subschema rejects",
        "Defaults are merged into every Application's config before validation: a default that breaks its own rule makes every Application that does not override it invalid.",
        bad: "replicas: {type: integer, minimum: 1, default: 0}",
        good: "replicas: {type: integer, minimum: 1, default: 1}";
    REQUIRED_UNKNOWN "required-unknown" Error "a required key that is not among the properties",
        "A `required` name missing from `properties` is almost always a typo; the console form cannot render a field for it and no config can satisfy it knowingly.",
        bad: "type: object\nrequired: [hostname]\nproperties: {host: {type: string}}",
        good: "type: object\nrequired: [host]\nproperties: {host: {type: string}}";
    SECRET_DEFAULT "secret-default" Error "a secret field with a default",
        "Fields marked `x-catalyst-secret: true` or `format: secret` never carry a value in Git: their value comes from OpenBao through an ExternalSecret. A default would put a secret in the catalog.",
        bad: "password: {type: string, format: secret, default: changeme}",
        good: "password: {type: string, format: secret}";
    DEPENDENCY_MISSING "dependency-missing" Error "a dependency on a Blueprint the catalog does not have",
        "Every `depends` entry names a Blueprint of the catalog; a Sovereign installing this Blueprint would fail to resolve.",
        bad: "depends:\n  - blueprint: bp-postgress",
        good: "depends:\n  - blueprint: bp-postgres";
    DEPENDENCY_UNSATISFIABLE "dependency-unsatisfiable" Error "a dependency requirement no version satisfies",
        "The requirement must parse as a semver requirement (`^1.4`, `~1.4.2`, `=1.4.0`, `>=1.2, <2`) and match at least one version of the catalog.",
        bad: "depends:\n  - {blueprint: bp-postgres, version: ^9}",
        good: "depends:\n  - {blueprint: bp-postgres, version: ^1.4}";
    DEPENDENCY_CYCLE "dependency-cycle" Error "Blueprints that depend on each other in a circle",
        "Dependencies become dependsOn edges between Flux objects; a cycle never becomes ready. The newest version matching each requirement is followed, as the resolver does.",
        bad: "bp-a depends on bp-b\nbp-b depends on bp-a",
        good: "bp-a depends on bp-b\nbp-b depends on nothing";
    DUPLICATE_ALIAS "duplicate-alias" Error "two dependencies with one alias",
        "The alias names a dependency in `links`, in dedicated Application names (`<app>-<alias>`) and in values; it must be unique within a Blueprint. The default alias is the name without `bp-`.",
        bad: "depends:\n  - {blueprint: bp-postgres, alias: db}\n  - {blueprint: bp-redis, alias: db}",
        good: "depends:\n  - {blueprint: bp-postgres, alias: db}\n  - {blueprint: bp-redis, alias: cache}";
    EXPRESSION "expression" Error "a when or values expression that does not parse or reads an unknown variable",
        "`when` and `values` are minijinja expressions (a leading Go-template dot is accepted). They may read `config` (fields of the configSchema), `application` (name, org, environment, envType, namespace), `sovereign` (fqdn, name, provider) and, in values, `dependency` (alias, blueprint, name). Anything else fails at build time in some Sovereign.",
        bad: "when: \"{{ .config.databse.mode == 'embedded' }}\"",
        good: "when: \"{{ .config.database.mode == 'embedded' }}\"";
    DEPENDENCY_VALUES "dependency-values" Error "dependency values the dependency's configSchema rejects",
        "`values` become the config of the dedicated Application created for the dependency; they are validated, with defaults applied, against the configSchema of the newest version the requirement matches. Values written as expressions are judged at build time.",
        bad: "depends:\n  - {blueprint: bp-postgres, values: {replicas: many}}",
        good: "depends:\n  - {blueprint: bp-postgres, values: {replicas: 2}}";
    MANIFESTS_KIND "manifests-kind" Error "not exactly one of chart, templates, kustomize",
        "A Blueprint ships exactly one of a Helm chart, minijinja templates or a kustomize base; with none it cannot be installed, with several it is ambiguous.",
        bad: "manifests:\n  chart: ./chart\n  templates: ./templates",
        good: "manifests:\n  chart: ./chart";
    MANIFESTS_CONVENTION "manifests-convention" Warning "no `manifests`: the chart in chart/ is used",
        "A third of the upstream Blueprints declare no `manifests` and rely on the convention that the chart sits at ./chart, which the upstream CI packages. The compiler follows it; writing it out says so to every reader.",
        bad: "spec:\n  version: 1.0.0   # and a chart/ folder beside blueprint.yaml",
        good: "spec:\n  version: 1.0.0\n  manifests:\n    chart: ./chart";
    DEPENDENCY_SPELLING "dependency-spelling" Warning "a dependency that names a Blueprint in the other spelling",
        "Upstream v1alpha1 Blueprints are named `bp-<name>`, v1 ones `<name>`. A dependency on `bp-seaweedfs` when the catalog has `seaweedfs` resolves to it; write the name the Blueprint declares.",
        bad: "depends:\n  - blueprint: bp-seaweedfs   # the catalog has `seaweedfs`",
        good: "depends:\n  - blueprint: seaweedfs";
    AMBIGUOUS_NAME "ambiguous-name" Error "a catalog with both `x` and `bp-x`",
        "References resolve across the `bp-` prefix, so a catalog holding both spellings of one name makes every reference to them ambiguous.",
        bad: "harbor/blueprint.yaml: {name: harbor}\nbp-harbor/blueprint.yaml: {name: bp-harbor}",
        good: "harbor/blueprint.yaml: {name: bp-harbor}";
    KIT_DEPENDENCY_VALUES "kit-dependency-values" Warning "`values` for a dependency the bootstrap kit runs",
        "A dependency on a bootstrap-kit Blueprint (cert-manager, Flux, Keycloak, OpenBao…) is satisfied by the kit's one release, never by a copy per Application, so `values` passed to it are ignored; the kit is configured in the Sovereign's `bootstrapKit`.",
        bad: "depends:\n  - blueprint: bp-cert-manager\n    values: {installCRDs: true}",
        good: "depends:\n  - blueprint: bp-cert-manager";
    SOVEREIGN_VALUE "sovereign-value" Error "`x-catalyst-sovereign` or `x-catalyst-organization` naming no such value",
        "A configSchema property marked `x-catalyst-sovereign: <value>` takes that value of the Sovereign it runs in (fqdn, name, provider, zone, regions, hosts.gitea, hosts.auth, hosts.console, hosts.api, hosts.bao); one marked `x-catalyst-organization: <value>` takes that value of the Application's Organization (slug, realm, issuer: the OIDC issuer of its realm). Either sits under what the Sovereign and the Application write. A name that is none of them gives the property nothing.",
        bad: "zones: {type: array, x-catalyst-sovereign: domain}",
        good: "zones: {type: array, x-catalyst-sovereign: zone}";
    MANIFESTS_PATH "manifests-path" Error "a manifest path that leaves the Blueprint folder or does not exist",
        "Manifest paths are relative to the Blueprint folder. `..`, absolute paths and symbolic links out of the folder are refused, so that a catalog cannot read the rest of the disk; a kustomize folder holds a kustomization.yaml.",
        bad: "manifests:\n  chart: ../shared/chart",
        good: "manifests:\n  chart: ./chart";
    TEMPLATE_SYNTAX "template-syntax" Error "a template that does not parse",
        "Template Blueprints are rendered per Application; a syntax error would fail every build that installs them. The file is parsed with the compiler's minijinja settings.",
        bad: "kind: ConfigMap\nmetadata: {name: \"{{ application.name }\"}",
        good: "kind: ConfigMap\nmetadata: {name: \"{{ application.name }}\"}";
    PLACEMENT_MODE "placement-mode" Error "a placement mode outside the known set",
        "The compiler places Applications in the modes single-region, active-active and active-hotstandby; `default` must be one of `modes`.",
        bad: "placementSchema: {modes: [single-region, multi-master], default: active-active}",
        good: "placementSchema: {modes: [single-region, active-active], default: single-region}";
    PLACEMENT_REGIONS "placement-regions" Error "minRegions above maxRegions",
        "No region count satisfies minRegions > maxRegions, so every Application of the Blueprint would be refused.",
        bad: "placementSchema: {modes: [active-active], minRegions: 3, maxRegions: 2}",
        good: "placementSchema: {modes: [active-active], minRegions: 2, maxRegions: 3}";
    PIN_MISMATCH "pin-mismatch" Error "an upstream release pinned differently in two places",
        "A release the platform depends on twice must agree everywhere: bp-flux `pins.flux` with the chart's appVersion, a pin named after a subchart with that subchart's version, `values.yaml` `catalystBlueprint.upstream.version` with the subchart, `Chart.yaml` version with `spec.version`. cloud-init installed Flux 2.4.0 while bp-flux shipped 2.3.0; the Helm rollback deleted the Flux controllers.",
        bad: "blueprint.yaml: pins: {flux: 2.4.0}\nchart/Chart.yaml: appVersion: 2.3.0",
        good: "blueprint.yaml: pins: {flux: 2.4.0}\nchart/Chart.yaml: appVersion: 2.4.0";
    PIN_MISSING "pin-missing" Error "bp-flux or bp-cilium without its bring-up pin",
        "cloud-init installs Flux and Cilium before Flux exists, at bp-flux `pins.flux` and bp-cilium `pins.cilium`: that pin is the one place the release is written.",
        bad: "metadata: {name: bp-flux}\nspec: {version: 1.0.0}",
        good: "metadata: {name: bp-flux}\nspec: {version: 1.0.0, pins: {flux: 2.4.0}}";
    EMITTED_API_VERSION "emitted-api-version" Error "an emitted object with a removed API version",
        "Flux 2.8 serves only source.toolkit.fluxcd.io/v1, kustomize.toolkit.fluxcd.io/v1 and helm.toolkit.fluxcd.io/v2; External Secrets 2.x only external-secrets.io/v1. An object of a removed version is refused by the API server.",
        bad: "apiVersion: source.toolkit.fluxcd.io/v1beta2\nkind: HelmRepository",
        good: "apiVersion: source.toolkit.fluxcd.io/v1\nkind: HelmRepository";
    EMITTED_DEPENDS_MISSING "emitted-depends-missing" Error "a dependsOn on an object that is not emitted",
        "A Kustomization or HelmRelease that waits for an object nobody applies never becomes ready (bp-powerdns not found, 139ce37).",
        bad: "kind: HelmRelease\nmetadata: {name: gitea}\nspec:\n  dependsOn: [{name: bp-powerdns}]   # no such HelmRelease",
        good: "kind: HelmRelease\nmetadata: {name: gitea}\nspec:\n  dependsOn: [{name: powerdns}]";
    EMITTED_DEPENDS_KIND "emitted-depends-kind" Error "a dependsOn that names an object of another kind",
        "Flux's dependsOn names objects of the same kind: a Kustomization that names a HelmRelease waits for a Kustomization of that name, which does not exist, and the ordering silently does not happen.",
        bad: "kind: Kustomization\nspec:\n  dependsOn: [{name: postgres}]   # postgres is a HelmRelease",
        good: "kind: Kustomization\nspec:\n  dependsOn: [{name: postgres-app}]   # the Kustomization that applies it";
    EMITTED_DEPENDS_CYCLE "emitted-depends-cycle" Error "a cycle in the emitted dependsOn graph",
        "Objects that wait for each other are never reconciled.",
        bad: "a dependsOn b\nb dependsOn a",
        good: "a dependsOn b\nb dependsOn nothing";
    EMITTED_REMEDIATION "emitted-remediation" Warning "a HelmRelease without install and upgrade remediation",
        "Without remediation a failed install or upgrade stays failed, half-applied, until someone intervenes; with it helm-controller retries and rolls back.",
        bad: "kind: HelmRelease\nspec:\n  chart: {…}",
        good: "kind: HelmRelease\nspec:\n  install: {remediation: {retries: 3}}\n  upgrade: {remediation: {retries: 3, remediateLastFailure: true}}";
    EMITTED_SOVEREIGN_REF "emitted-sovereign-ref" Error "an Organization whose sovereignRef is not an FQDN",
        "The Organization CRD admits spec.sovereignRef only in FQDN form (^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$).",
        bad: "kind: Organization\nspec: {sovereignRef: omantel}",
        good: "kind: Organization\nspec: {sovereignRef: omantel.omani.works}";
    EMITTED_REGION "emitted-region" Error "an Application region not in canonical form",
        "Application regions are canonical 4-segment names {provider}-{region}-{building-block}-{env}; upstream relaxed the CRD pattern, our rule stays.",
        bad: "kind: Application\nspec: {regions: [fsn1]}",
        good: "kind: Application\nspec: {regions: [hz-fsn-rtz-prod]}";
    SUPPRESSION "suppression" Error "an inline suppression without a reason or for an unknown rule",
        "`# catalyst: allow(<rule>) -- <reason>` on the offending line or the line before silences a rule there. The reason is mandatory so that reviewers see why; a suppression naming no known rule silences nothing and is reported.",
        bad: "# catalyst: allow(name-prefix)\nname: wordpress",
        good: "# catalyst: allow(name-prefix) -- the upstream v1 catalog uses bare names until 2027\nname: wordpress";
}

/// The rule with this code (`catalyst::lint::x`) or name (`x`).
pub fn rule(code_or_name: &str) -> Option<&'static Rule> {
    let name = code_or_name.strip_prefix(PREFIX).unwrap_or(code_or_name);
    RULES.iter().copied().find(|r| r.name() == name)
}
