//! Every diagnostic code, with the explanation `catalyst explain` prints and
//! the exit class it gives a run. Codes are stable: tests match on them and
//! users suppress by them. Stages name them by constant (`codes::IO_READ`);
//! the lint rules' codes live with the rules ([`crate::check::lint::rules`]).

use std::fmt;

/// A run's exit status (DESIGN §5); a code's class is what an error with it makes of the status.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Exit {
    /// Nothing wrong (warnings at most): exit 0.
    Ok = 0,
    /// A verdict on the inputs: exit 1.
    Findings = 1,
    /// The run could not do its job (I/O, usage, unreachable servers): exit 2.
    Failure = 2,
}

#[derive(Debug, PartialEq, Eq)]
pub struct Code {
    /// `catalyst::<area>::<name>`.
    pub id: &'static str,
    pub summary: &'static str,
    pub explanation: &'static str,
    pub exit: Exit,
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id)
    }
}

/// Codes compare with their id, as users and tests write them.
impl PartialEq<str> for Code {
    fn eq(&self, id: &str) -> bool {
        self.id == id
    }
}

impl serde::Serialize for Code {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.id)
    }
}

macro_rules! codes {
    ($($name:ident $id:literal $exit:ident => $summary:literal, $explanation:literal;)*) => {
        $(pub const $name: &Code = &Code { id: $id, summary: $summary, explanation: $explanation, exit: Exit::$exit };)*
        pub const CODES: &[&Code] = &[$($name),*];
    };
}

codes! {
    IO_READ "catalyst::io::read" Failure => "a file could not be read", "The compiler could not read an input file (missing, unreadable). Exit code 2.";
    IO_NOT_FOUND "catalyst::io::not-found" Failure => "a folder or file that was named does not exist", "A catalog folder named in `spec.catalogs` (relative to the folder of sovereign.yaml), a CRD path named with --crds or in `[check] crds` of catalyst.toml (relative to it), or a built tree given to `lint --built` does not exist. Exit code 2.";
    IO_WATCH "catalyst::io::watch" Failure => "the file watcher could not start", "`check --watch` relies on the operating system's file notifications (inotify on Linux); the limit of watches may be exhausted (fs.inotify.max_user_watches). Exit code 2.";
    IO_WRITE "catalyst::io::write" Failure => "the output could not be written", "Writing the output tree failed; the previous output is left as it was. Exit code 2.";
    LOAD_TOO_LARGE "catalyst::load::too-large" Findings => "an input file is larger than the limit", "Input files are limited to 8 MiB: no input kind needs more, and the limit keeps a hostile file from exhausting memory.";
    LOAD_NOT_UTF8 "catalyst::load::not-utf8" Findings => "an input file is not UTF-8", "YAML inputs must be UTF-8 encoded.";
    YAML_SYNTAX "catalyst::yaml::syntax" Findings => "invalid YAML", "The file is not valid YAML. The label points at the position where the parser gave up.";
    YAML_DUPLICATE_KEY "catalyst::yaml::duplicate-key" Findings => "a key appears twice in one mapping", "YAML parsers disagree on which of two equal keys wins (the last, the first, or an error), so a duplicate key is refused.";
    YAML_MULTIPLE_DOCUMENTS "catalyst::yaml::multiple-documents" Findings => "a file holds several YAML documents", "Each input file holds exactly one document; split multi-document files.";
    YAML_BAD_SCALAR "catalyst::yaml::bad-scalar" Findings => "a tagged scalar does not match its tag", "A value such as `!!int abc` cannot be read as its tag says.";
    YAML_INTEGER_RANGE "catalyst::yaml::integer-range" Findings => "an integer beyond 64 bits", "A plain integer below -2^63 or above 2^64 - 1 cannot be kept exact (YAML parsers would round it to a float); quote it to keep it as a string.";
    YAML_COMPLEX_KEY "catalyst::yaml::complex-key" Findings => "a mapping key is not a scalar", "Keys must be plain strings (JSON has no other kind of key).";
    YAML_BAD_KEY "catalyst::yaml::bad-key" Findings => "a mapping key too long or with control characters", "Mapping keys are at most 500 characters of printable text. Keys are written back into the output (values.yaml, rendered manifests); YAML allows an implicit key of at most 1,024 characters, and quoting can double a key's length, so a longer key, or one with control characters, would become YAML no parser reads.";
    YAML_TOO_DEEP "catalyst::yaml::too-deep" Findings => "nesting beyond the limit", "Documents are limited to 64 levels of nesting. No input kind needs more; the limit bounds the work a hostile file can cause.";
    LIMIT_DIAGNOSTICS "catalyst::limit::diagnostics" Findings => "more diagnostics than are kept", "A run keeps its first 200 diagnostics and counts the rest: a hostile or badly broken input must not make the report itself unbounded. The last entry says how many were not shown and how many of them are errors; they still decide the exit code.";
    YAML_TOO_LARGE "catalyst::yaml::too-large" Findings => "a document expands to too many nodes", "Aliases are counted at every use, so an alias bomb (a billion laughs) is refused once it expands beyond 2,000,000 nodes.";
    SCHEMA_UNKNOWN_FIELD "catalyst::schema::unknown-field" Findings => "a field the schema does not know", "Unknown fields are errors, not silently ignored: a misspelt key would otherwise do nothing. The help suggests the closest known field. The schemas are in schemas/.";
    SCHEMA_MISSING_FIELD "catalyst::schema::missing-field" Findings => "a required field is missing", "The file lacks a field its schema requires.";
    SCHEMA_WRONG_TYPE "catalyst::schema::wrong-type" Findings => "a value has the wrong type", "The value is, say, a string where the schema wants a number. Quote versions: `1.4` in YAML is a number.";
    SCHEMA_INVALID_VALUE "catalyst::schema::invalid-value" Findings => "a value the schema does not allow", "The value breaks a pattern, enum, range or format of the schema for this file kind.";
    BLUEPRINT_BARE_NAME "catalyst::blueprint::bare-name" Findings => "a Blueprint name without the bp- prefix", "Upstream Application CRDs require `blueprintRef.name` to match ^bp-…: the compiler resolves a bare name and writes the Application's blueprintRef with the prefix, but rename the Blueprint `bp-<name>` so that every tool agrees.";
    BLUEPRINT_LEGACY_VERSION "catalyst::blueprint::legacy-version" Findings => "version at metadata.version", "Older Blueprints carry the version at metadata.version; the CRD reads spec.version.";
    BLUEPRINT_MISSING_VERSION "catalyst::blueprint::missing-version" Findings => "a Blueprint without a version", "Every Blueprint needs spec.version (semver).";
    BLUEPRINT_BAD_VERSION "catalyst::blueprint::bad-version" Findings => "a version that is not semver", "Versions are MAJOR.MINOR.PATCH with an optional pre-release; no `v` prefix, no build metadata.";
    BLUEPRINT_SECRET_IN_COLLECTION "catalyst::blueprint::secret-in-collection" Findings => "a secret field inside a list or a map", "Each secret field becomes one Secret filled from OpenBao by an ExternalSecret, named after its config path. A field inside `items` or `additionalProperties` has no fixed path, so its values would end up in Git: declare it as a named property.";
    BLUEPRINT_MANIFESTS "catalyst::blueprint::manifests" Findings => "several manifest kinds", "A Blueprint ships exactly one of a Helm chart, minijinja templates or a kustomize base.";
    BLUEPRINT_CHART_CONVENTION "catalyst::blueprint::chart-convention" Findings => "a Blueprint without `manifests` whose chart/ folder is used", "A third of the upstream Blueprints declare no `manifests` and rely on the convention that the chart sits at ./chart (the upstream CI packages `platform/<name>/chart`). The compiler follows the convention and says so: write `manifests: {chart: ./chart}` to make it explicit.";
    BLUEPRINT_NAME_SPELLING "catalyst::blueprint::name-spelling" Findings => "a reference that names a Blueprint in the other spelling", "Upstream v1alpha1 Blueprints are named `bp-<name>`, v1 ones `<name>`, and references mix both. A reference to `bp-seaweedfs` when the catalog has `seaweedfs` (or the reverse) resolves to it; the warning names the spelling the Blueprint declares.";
    BLUEPRINT_PATH "catalyst::blueprint::path" Findings => "a manifest path that leaves the Blueprint folder or does not exist", "Manifest paths are relative to the Blueprint folder; `..`, absolute paths and symbolic links that point outside are refused so that a catalog cannot read the rest of the disk.";
    BLUEPRINT_BAD_CONFIG_SCHEMA "catalyst::blueprint::bad-config-schema" Findings => "configSchema is not a valid JSON Schema", "The configSchema could not be compiled as a JSON Schema (draft 2020-12).";
    CATALOG_AMBIGUOUS_NAME "catalyst::catalog::ambiguous-name" Findings => "a catalog with both `x` and `bp-x`", "References resolve across the `bp-` prefix (upstream names one Blueprint either way), so a catalog holding both spellings makes every reference to them ambiguous. Rename one of the two.";
    CATALOG_DUPLICATE "catalyst::catalog::duplicate" Findings => "a (name, version) defined twice", "Within one catalog, each Blueprint version is defined once; bump one of them.";
    SOVEREIGN_FOLDER_NAME "catalyst::sovereign::folder-name" Findings => "the Sovereign folder is not named after the FQDN", "Sovereigns live in sovereigns/<fqdn>/ so that the tree and clusters/<fqdn>/ agree.";
    SOVEREIGN_NO_CATALOG "catalyst::sovereign::no-catalog" Findings => "no catalog named", "The Sovereign must name at least one catalog folder in spec.catalogs.";
    SOVEREIGN_BAD_GLOB "catalyst::sovereign::bad-glob" Findings => "an invalid organizations glob", "spec.organizations holds glob patterns relative to the Sovereign folder.";
    SOVEREIGN_DUPLICATE_ORGANIZATION "catalyst::sovereign::duplicate-organization" Findings => "an Organization defined twice", "Organization slugs are unique in a Sovereign.";
    SOVEREIGN_DUPLICATE_ENVIRONMENT "catalyst::sovereign::duplicate-environment" Findings => "an Environment type declared twice", "An Organization has at most one Environment per type; the Environment name is {org}-{type}.";
    SOVEREIGN_DUPLICATE_APPLICATION "catalyst::sovereign::duplicate-application" Findings => "an Application declared twice", "Each Application is one Git repository, so names are unique in an Organization.";
    SOVEREIGN_UNKNOWN_REGION "catalyst::sovereign::unknown-region" Findings => "a region the Sovereign does not have", "Environments run in regions declared in sovereign.yaml spec.regions.";
    SOVEREIGN_MGT_REGION "catalyst::sovereign::mgt-region" Findings => "not exactly one mgt region", "A Sovereign has exactly one control-plane region, the one whose building block is mgt: its cluster runs Gitea, Keycloak, OpenBao, Crossplane and the console, and applies the Catalyst CRs.";
    SOVEREIGN_REGION_ROLE "catalyst::sovereign::region-role" Findings => "an Environment in a region that does not run workloads", "Organization workloads run in rtz regions. The mgt region runs the control plane and the dmz region the edge (DNS, gateway) for every Environment; neither reconciles an Organization's Applications.";
    SOVEREIGN_UNKNOWN_ENVIRONMENT "catalyst::sovereign::unknown-environment" Findings => "a per-environment entry for a missing Environment", "Application.environments keys must be Environment types of the Organization.";
    NAMING_REGION "catalyst::naming::region" Findings => "a region not in canonical form", "Regions are written {provider}-{region}-{building-block}-{env}, e.g. hz-fsn-rtz-prod. Provider codes such as fsn1 are derived where a provider API needs them.";
    NAMING_REGION_PROVIDER "catalyst::naming::region-provider" Findings => "a region of another provider", "The first segment of a region is the provider code of the Sovereign's provider (hz = hetzner).";
    NAMING_BUILDING_BLOCK "catalyst::naming::building-block" Findings => "an unknown building block", "The third segment of a region is mgt, rtz or dmz.";
    NAMING_TOO_LONG "catalyst::naming::too-long" Findings => "a generated name longer than 63 characters", "Names become DNS labels and Kubernetes object names, limited to 63 characters.";
    POLICY_MIN_APPROVALS "catalyst::policy::min-approvals" Findings => "more approvals required than approvers", "pr-required: minApprovals must not exceed the number of approvers, or no promotion can ever pass.";
    POLICY_SOAK_SOURCE "catalyst::policy::soak-source" Findings => "a soak source that is not a lower environment", "soak: sourceEnvironment must be a lower Environment (dev < uat < stg < prod) of the same Organization.";
    POLICY_CRON "catalyst::policy::cron" Findings => "an invalid change-window cron", "change-window: cron is a five-field cron expression.";
    RESOLVE_MISSING_BLUEPRINT "catalyst::resolve::missing-blueprint" Findings => "a Blueprint the catalog does not have", "No catalog folder holds a Blueprint of this name. The help suggests the closest name.";
    RESOLVE_UNSATISFIABLE "catalyst::resolve::unsatisfiable" Findings => "no version satisfies every requirement", "The resolver lists each requirement with who asked for it and the versions the catalog has, like cargo's resolver.";
    RESOLVE_BAD_REQUIREMENT "catalyst::resolve::bad-requirement" Findings => "an invalid version requirement", "Requirements use cargo's syntax: ^1.4, ~1.4.2, =1.4.0, >=1.2, <2, or * for any.";
    RESOLVE_CYCLE "catalyst::resolve::cycle" Findings => "a dependency cycle", "Blueprints (or Applications through links) depend on each other in a circle; the message lists the whole cycle.";
    RESOLVE_TOO_MANY "catalyst::resolve::too-many" Findings => "too many dedicated Applications in one Environment", "A dependency without a link creates one dedicated Application per dependant. Blueprints that depend several times on each other multiply them at every level; more than 2,000 in one Environment is refused.";
    RESOLVE_TOO_DEEP "catalyst::resolve::too-deep" Findings => "a dependency chain beyond the limit", "Chains of dedicated dependencies are limited to 16 levels.";
    RESOLVE_KIT_DEPENDENCY "catalyst::resolve::kit-dependency" Findings => "a kit Blueprint depends on one outside the kit", "Every dependency of a bootstrap-kit Blueprint must itself be in the kit: a HelmRelease dependsOn that names a missing release never becomes ready.";
    RESOLVE_NOT_INSTALLABLE "catalyst::resolve::not-installable" Findings => "a Blueprint without manifests installed as an Application", "Only Blueprints with a chart, templates or kustomize base can be installed.";
    RESOLVE_DANGLING_LINK "catalyst::resolve::dangling-link" Findings => "a link to an Application that is not there", "links: alias → Application must name an Application of the same Organization installed in the same Environment.";
    RESOLVE_LINK_MISMATCH "catalyst::resolve::link-mismatch" Findings => "a link to an Application of another Blueprint", "A linked Application must run the Blueprint the dependency asks for.";
    RESOLVE_UNKNOWN_ALIAS "catalyst::resolve::unknown-alias" Findings => "a link for an alias the Blueprint does not have", "links keys are aliases of the chosen Blueprint version's depends.";
    RESOLVE_PLACEMENT_DEPENDENCY "catalyst::resolve::placement-dependency" Findings => "a dependency placed outside its dependant's regions", "Each region's cluster reconciles the Applications placed there, and an Application's Kustomization waits for its dependencies in the same cluster: a linked dependency must run in every region its dependant runs in.";
    RESOLVE_NAME_COLLISION "catalyst::resolve::name-collision" Findings => "a dedicated Application name already taken", "A dependency without a link creates <app>-<alias>; that name is already used.";
    EXPR_EVAL "catalyst::expr::eval" Findings => "an expression failed", "when and values expressions are minijinja; undefined variables are errors. Variables: config, application, sovereign, dependency.";
    CONFIG_INVALID "catalyst::config::invalid" Findings => "config does not satisfy the configSchema", "The Application's effective config (defaults, size overlay, config, environment override) breaks the Blueprint's configSchema. The primary label shows where the value was written, the secondary one the rule.";
    CONFIG_NOT_AN_OBJECT "catalyst::config::not-an-object" Findings => "config is not a mapping", "config, overlays and dependency values are mappings.";
    CONFIG_SECRET_LITERAL "catalyst::config::secret-literal" Findings => "a value for a secret field", "Fields marked x-catalyst-secret or format: secret never carry values in Git; they are read from OpenBao through an ExternalSecret.";
    CONFIG_CREDENTIAL_LITERAL "catalyst::config::credential-literal" Findings => "a credential-like key written in clear", "A config key whose name says it holds a credential (password, secret, token, api key, private key, access key, credential…) carries a literal, and the configSchema does not mark the field secret. Values in Git are readable by everyone with access to the repository. Mark the field `x-catalyst-secret: true` (the value then comes from OpenBao) or, if it holds no secret, `x-catalyst-not-secret: true`.";
    CONFIG_UNKNOWN_SIZE "catalyst::config::unknown-size" Findings => "a size the Blueprint has no overlay for", "size names one of the Blueprint's overlays.";
    PLACEMENT_REGION "catalyst::placement::region" Findings => "an Application region outside its Environment", "placement.regions must be regions of the Environment.";
    PLACEMENT_MODE "catalyst::placement::mode" Findings => "a placement mode the Blueprint does not support", "The mode must be one of the Blueprint's placementSchema.modes.";
    PLACEMENT_REGION_COUNT "catalyst::placement::region-count" Findings => "a region count outside the Blueprint's bounds", "placementSchema.minRegions..maxRegions bounds the number of regions.";
    INFRA_SERVER_TYPE "catalyst::infra::server-type" Findings => "not a Hetzner server type", "Node sizes are Hetzner server types: `cx`, `cpx`, `ccx` or `cax` followed by digits (the OpenTofu module's own validation). The worker size is empty exactly when there are no workers.";
    INFRA_WORKERS "catalyst::infra::workers" Findings => "a worker size without workers, or workers without a size", "The OpenTofu module creates `worker_count` servers of type `worker_size`: a size with a count of 0 is a leftover, a count without a size cannot be created.";
    INFRA_CIDR "catalyst::infra::cidr" Findings => "not an IPv4 CIDR", "sshAllowedCidrs are IPv4 networks such as `203.0.113.0/24`: four octets 0–255 and a prefix 0–32. OpenTofu refuses anything else at plan time.";
    INFRA_SSH_KEY "catalyst::infra::ssh-key" Findings => "not an OpenSSH public key", "The key authorised on the nodes starts with `ssh-rsa `, `ssh-ed25519 ` or `ecdsa-sha2-nistp256 `.";
    INFRA_K3S_VERSION "catalyst::infra::k3s-version" Findings => "not a k3s release tag", "k3s versions look like `v1.34.1+k3s1`. The version is written once, in the Sovereign spec, and reaches both OpenTofu and cloud-init from there.";
    INFRA_SECRET_LITERAL "catalyst::infra::secret-literal" Findings => "a secret value in the spec", "Cloud tokens, registry tokens and registrar keys never go into Git: `infrastructure.secrets` names the environment variable that holds each one when OpenTofu runs.";
    INFRA_MISSING "catalyst::infra::missing" Findings => "an input the OpenTofu module requires is missing", "Emitting OpenTofu inputs needs the cloud project, the operator's name and e-mail and the SSH public key. Without them the module cannot plan.";
    INFRA_FQDN "catalyst::infra::fqdn" Findings => "an FQDN the OpenTofu module refuses", "The module's FQDN rule is stricter than the Sovereign's: every label starts with a letter (`^[a-z][a-z0-9-]*(\\.[a-z][a-z0-9-]*)+$`).";
    INFRA_DOMAIN "catalyst::infra::domain" Findings => "a domain mode that does not fit the FQDN", "In `pool` mode the Sovereign's FQDN is a subdomain of `poolDomain`; the subdomain passed to OpenTofu is derived from the two, never typed again.";
    INFRA_REGION "catalyst::infra::region" Findings => "node pools for a region the Sovereign does not have", "Keys of `infrastructure.regions` are regions listed in `spec.regions`.";
    INFRA_LOCATION "catalyst::infra::location" Findings => "a region the provider has no location for", "The provider's location code (Hetzner `fsn1`, `nbg1`, `hel1`, `ash`, `hil`) is derived from the canonical region; its second segment must name a location the provider has.";
    INFRA_UNSUPPORTED_PROVIDER "catalyst::infra::unsupported-provider" Findings => "no OpenTofu inputs for this provider yet", "The compiler emits OpenTofu and cloud-init inputs for Hetzner; other providers get the GitOps tree only.";
    PIN_MISMATCH "catalyst::pin::mismatch" Findings => "one upstream version pinned differently in two places", "A version the Sovereign depends on twice (the Flux release cloud-init installs and the flux2 chart bp-flux upgrades to; the Cilium release installed before Flux and the one bp-cilium adopts) must agree everywhere. A mismatch made bp-flux run `helm install` over the live Flux, whose rollback deleted the Flux controllers (omantel, 2026-04-29). Both places are named; change them together.";
    PIN_MALFORMED "catalyst::pin::malformed" Findings => "a pin that is not a release version", "The releases bp-flux and bp-cilium pin (`pins.flux`, `pins.cilium`) are written into the bring-up script cloud-init runs as root and into download URLs. Only a release version (MAJOR.MINOR.PATCH, with an optional pre-release) is accepted, so that a pin can never carry shell or URL syntax.";
    PIN_MISSING "catalyst::pin::missing" Findings => "a Blueprint the bring-up depends on declares no pin", "cloud-init installs Flux and Cilium before Flux exists, at the releases bp-flux and bp-cilium pin (`pins.flux`, `pins.cilium`): without the pin, or without the Blueprint in the kit, there is no one place the version comes from.";
    DIFF_GIT "catalyst::diff::git" Failure => "a revision or repository `diff` cannot read", "`catalyst diff` reads both revisions from the Git object database: run it inside the repository and name revisions `git rev-parse` knows. A shallow CI clone needs the base commit fetched (e.g. `git fetch --depth=1 origin main`). Exit code 2.";
    TOML_INVALID "catalyst::toml::invalid" Findings => "an invalid catalyst.toml", "`catalyst.toml` (named with --config, or found at the checked folder or its nearest ancestor) is TOML with a table per command. `[lint.rules]` maps a rule (`name-prefix` or `catalyst::lint::name-prefix`) to `off`, `warning` or `error`; `[[lint.ignore]]` entries hold `paths` (globs relative to the file) and optionally `rules` (default: every rule). `[check]` holds `crds` (CRD files or folders, relative to the file, that emitted objects are validated against) and `ignore-missing-schemas`. Unknown keys and rules are refused so that a typo does not silently switch nothing off.";
    APPLY_INPUT "catalyst::apply::input" Failure => "neither a Sovereign nor a built tree", "`catalyst apply` takes a Sovereign folder (one holding sovereign.yaml, compiled first) or a tree written by `catalyst build`, whose .catalyst-manifest lists exactly the files to publish. Exit code 2.";
    APPLY_LAYOUT "catalyst::apply::layout" Findings => "a compiled path with no repository", "The compiled tree maps to repositories: repos/<org>/<app>/<branch>/ to <org>/<app>, system/catalyst-config/ to system/catalyst-config, the rest to system/fleet. An Application repository named system/fleet or system/catalyst-config would overwrite a platform repository.";
    APPLY_REMOTE_TEMPLATE "catalyst::apply::remote-template" Failure => "a --remote without {org} and {repo}", "Exit code 2. The remote is a URL template: {org} and {repo} are replaced per repository, e.g. https://gitea.example/{org}/{repo}.git, git://host/{org}/{repo}.git, file:///srv/git/{org}/{repo}.git or ssh://git@host/{org}/{repo}.git.";
    APPLY_UNREACHABLE "catalyst::apply::unreachable" Failure => "a Git server could not be reached", "Connecting to the repository failed (refused, unresolvable host, TLS, a broken connection). Nothing was pushed to that repository; the others are applied independently. Exit code 2.";
    APPLY_AUTH "catalyst::apply::auth" Failure => "the server refused the credentials", "Credentials come from CATALYST_GIT_TOKEN (with CATALYST_GIT_USERNAME) for HTTP(S), CATALYST_GIT_SSH_KEY or the ssh-agent for SSH, or a git credential helper. They are held in memory only and never printed. Exit code 2.";
    APPLY_MISSING_REPO "catalyst::apply::missing-repo" Findings => "a repository that does not exist", "The server has no such repository and did not create it on push (Gitea's push-to-create, for example, would). Create it, then apply again. Over file:// the runtime creates missing repositories itself.";
    APPLY_FOREIGN_COMMIT "catalyst::apply::foreign-commit" Findings => "a branch holds a commit the runtime did not make", "The runtime only fast-forwards branches whose tip it committed itself (its committer identity and a `Catalyst-Apply:` trailer). A hand-made commit would be silently overwritten by the next apply, so the repository is refused. Carry the change into the Sovereign spec, or pass --force-with-lease=<org>/<repo>:<branch>=<commit> (or --force-with-lease for any) to apply on top of it.";
    APPLY_RACE "catalyst::apply::race" Findings => "a branch moved while the apply ran", "Between planning and pushing, another apply or a person updated the branch. The server compares each ref with the commit the runtime planned from, so nothing was overwritten. Apply again: the next run starts from the new commit.";
    APPLY_REJECTED "catalyst::apply::rejected" Findings => "the server refused the push", "A server-side hook or permission declined the update. The notes show what the server said; the repository's branches are as they were.";
    APPLY_CACHE "catalyst::apply::cache" Failure => "the local cache failed", "The runtime keeps copies of remote objects in a local cache (--cache-dir, by default under $XDG_CACHE_HOME/catalyst/apply). It holds no credentials and no refs; remove it to start afresh. Exit code 2.";
    CONFORM_UNKNOWN_FIELD "catalyst::conform::unknown-field" Findings => "an emitted object has a field its CRD does not define", "Every emitted Kubernetes object is validated against the schema of its kind and version: the built-in Catalyst CRDs (schemas/crds/) and the CRDs given with --crds or `[check] crds`. Validation is strict, as kubeconform's -strict: the API server would prune an unknown field silently (it does nothing), so it is an error here. The primary label is the field in the emitted file (shown under out/<fqdn>/), the secondary one the input the file was emitted for. A template Blueprint that renders the field, or a CRD of another release than the cluster runs, are the usual causes.";
    CONFORM_MISSING_FIELD "catalyst::conform::missing-field" Findings => "an emitted object lacks a field its CRD requires", "The schema of the object's kind and version requires the field (or `metadata.name`, which every object needs). See `catalyst::conform::unknown-field` for what is validated.";
    CONFORM_INVALID_VALUE "catalyst::conform::invalid-value" Findings => "an emitted object has a value its CRD does not allow", "A value has the wrong type or breaks a pattern, enum, range, format or list rule (x-kubernetes-list-type set/map) of the CRD, as the API server checks them at admission. For Catalyst CRs the value usually comes from the Sovereign spec: the secondary label shows where. See `catalyst::conform::unknown-field` for what is validated.";
    CONFORM_UNSERVED "catalyst::conform::unserved" Findings => "an emitted object's apiVersion is not served", "The kind has a CRD, but it does not serve the object's version (it is gone, like source.toolkit.fluxcd.io/v1beta2 in Flux 2.8+, or `served: false`): the API server refuses the object. Emit a served version.";
    CONFORM_MISSING_SCHEMA "catalyst::conform::missing-schema" Findings => "emitted objects of kinds with no schema", "Objects whose kind has no CRD or schema were not validated; one warning lists every such kind with a count. Give the CRDs of the releases the cluster runs (Flux, External Secrets, …) with --crds PATH or `[check] crds` in catalyst.toml; core kinds take stand-alone JSON Schemas with x-kubernetes-group-version-kind (the kubernetes-json-schema files). --ignore-missing-schemas or `ignore-missing-schemas = true` silences the warning.";
    CONFORM_CRDS "catalyst::conform::crds" Findings => "a CRD file that cannot be used", "Files named with --crds or `[check] crds` hold CustomResourceDefinitions (YAML or JSON, several per file) or JSON Schemas naming their kinds in x-kubernetes-group-version-kind. A folder is read one level deep, as `kubectl apply -f` does. A named path that defines nothing, a definition without spec.group, spec.names.kind or spec.versions, and a kind defined twice are refused; a definition of a built-in Catalyst kind replaces the built-in one.";
    CONFORM_BAD_SCHEMA "catalyst::conform::bad-schema" Findings => "a CRD schema that does not compile", "The openAPIV3Schema of the CRD version is not a schema the validator can compile (a malformed pattern, a wrong keyword type). Objects of that kind cannot be validated until the CRD is fixed or replaced.";
    RESOLVE_KIT_VERSION "catalyst::resolve::kit-version" Findings => "a dependency the bootstrap kit runs at a version it refuses", "A dependency on a Blueprint of the bootstrap kit (cert-manager, Flux, Keycloak, OpenBao…) is satisfied by the kit's release, never by a copy per Application: the host runs one. The dependency's version requirement must allow the version the kit runs; widen it, or move the kit to a version it allows.";
    UPGRADE_SKIPPED "catalyst::upgrade::skipped" Findings => "a version change its upgrade paths refuse", "A Blueprint's `upgrades.from` lists the versions that may upgrade to it (`1.2.x`, or an exact version), `upgrades.blocks` those that may not. `check` and `build` compare the resolution with the `catalyst.lock` of the tree they replace (out/<fqdn>/, or the folder given with -o), and `diff` with the base revision's: an Application or kit release whose Blueprint moves up from a version the new one does not allow would skip a supported upgrade path (a schema migration, a CRD storage version). Upgrade through an allowed version first.";
    PIN_UNKNOWN_SUBCHART "catalyst::pin::unknown-subchart" Findings => "a subchart whose release cannot be told", "Upstream kit Blueprints pin the release they install through their umbrella chart's subchart (the flux2 chart for Flux, the cilium chart for Cilium) rather than `spec.pins`. The compiler maps a subchart version to the release it ships with a table (compiler/src/check/releases.rs, `SUBCHARTS`, with its sources). A version the table does not know, or a range that allows charts shipping different releases, says nothing certain: pin the subchart exactly, commit its Chart.lock, or write the pin.";
    PIN_UNKNOWN_RELEASE "catalyst::pin::unknown-release" Findings => "a pinned release whose served API versions are not known", "The releases the kit pins (bp-flux `pins.flux`, bp-external-secrets `pins.external-secrets`, bp-crossplane `pins.crossplane` and `pins.provider-hcloud`, and the Kubernetes minor of `infrastructure.k3sVersion`) decide the apiVersion of every object the compiler emits and the schemas it is validated against. A release that is not in the compiler's release table (compiler/src/check/releases.rs, schemas in schemas/upstream/) has no known served versions: nothing emitted for it could be trusted, so it is refused. The help lists the known releases.";
    PIN_INCOMPATIBLE "catalyst::pin::incompatible" Findings => "a pinned release that does not support the pinned Kubernetes", "A component of the kit states the oldest Kubernetes it supports (Flux 2.9 needs Kubernetes 1.34.1 or later); the k3s release in `infrastructure.k3sVersion` is older, so the controllers would not start or would misbehave. Pin a newer k3s or an older component.";
    RECONCILE_DANGLING "catalyst::reconcile::dangling" Findings => "a reference that nothing in the tree satisfies", "The reconcile check walks the tree as Flux applies it, from what the bring-up creates (flux-system and its ghcr-pull Secret) through every Flux Kustomization into the Application repositories, and resolves every reference with the controllers' namespace rules: a source's secretRef, a HelmRelease's chart source, valuesFrom, dependsOn and targetNamespace, a Kustomization's source, dependsOn, decryption and substituteFrom, an ExternalSecret's store, every object's Namespace, and the Catalyst CRs' references. A Secret or ConfigMap reference is namespace-local: a Secret in flux-system does not serve a source in another namespace. Nothing creates this target: the reconciliation stops there.";
    RECONCILE_DEADLOCK "catalyst::reconcile::deadlock" Findings => "objects that wait for each other", "The target of a reference is created only by something that, directly or through a chain of waits (dependsOn, a Kustomization's wait, a source's host, a Namespace or CRD the API server needs first), waits for the object that needs it. Flux never gets past such a cycle on a fresh Sovereign. The notes list every step of the chain.";
    RECONCILE_UNORDERED "catalyst::reconcile::unordered" Findings => "an object applied before what the API server needs for it", "The API server refuses an object until its Namespace exists and its kind's CRD is installed. When another Kustomization creates them, the one applying the object must wait for it (dependsOn, directly or through its parents), or its apply fails until an unrelated retry happens to come later (the ClusterSecretStore, ProviderConfig and ServiceMonitor incidents).";
    RECONCILE_NO_CRD "catalyst::reconcile::no-crd" Findings => "an object of a kind no release of the tree installs", "The kind's definition comes with a kit Blueprint's chart (External Secrets, Crossplane, cert-manager, catalyst-platform) or a Crossplane provider package, and the tree does not install it: the API server refuses the object. Add the Blueprint to the bootstrap kit.";
    RECONCILE_UNSERVED_HOST "catalyst::reconcile::unserved-host" Findings => "a source on a host of the Sovereign that nothing serves", "A GitRepository reads from a host of the Sovereign's own FQDN (gitea.<fqdn>) that no kit release serves, or whose serving release is not in the kit.";
    RECONCILE_MISSING_PATH "catalyst::reconcile::missing-path" Findings => "a Kustomization path or kustomize resource missing from its repository", "A Flux Kustomization's spec.path, or a resource listed in a kustomization.yaml, is not in the repository it reads: kustomize build fails and the Kustomization never becomes ready.";
    RECONCILE_UNREACHED "catalyst::reconcile::unreached" Findings => "an emitted file no Flux Kustomization applies", "The reconcile check follows every Flux Kustomization from the bring-up down; a file of Kubernetes objects that none of them reaches (not listed in any kustomization.yaml below a Kustomization's path) never gets to a cluster. A warning: the rest of the tree may still reconcile.";
    RECONCILE_UNKNOWN_SOURCE "catalyst::reconcile::unknown-source" Findings => "a Kustomization reading a repository the compiler does not emit", "The Kustomization's GitRepository points at a repository whose content is not in this tree, so nothing it applies can be checked. A warning: the tree may still reconcile.";
    RENDER_TEMPLATE "catalyst::render::template" Findings => "a template failed to render", "Template Blueprints must render valid Kubernetes YAML with a metadata.name on every object, within the fuel limit.";
}

/// Every code: the compiler's and the lint rules'.
pub fn all() -> impl Iterator<Item = &'static Code> {
    CODES.iter().copied().chain(crate::check::lint::rules::RULES.iter().map(|r| &r.code))
}

pub fn find(code: &str) -> Option<&'static Code> {
    let wanted = if code.starts_with("catalyst::") { code.to_string() } else { format!("catalyst::{code}") };
    // A lint rule may also be named alone: `catalyst explain name-prefix`.
    all().find(|c| c.id == wanted).or_else(|| crate::check::lint::rule(code).map(|r| &r.code))
}
