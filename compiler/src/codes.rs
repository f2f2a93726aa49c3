//! Every diagnostic code, with the explanation `catalyst explain` prints.
//! Codes are stable: tests match on them and users suppress by them.

#[derive(Debug, PartialEq, Eq)]
pub struct Code {
    pub code: &'static str,
    pub summary: &'static str,
    pub explanation: &'static str,
}

macro_rules! codes {
    ($($code:literal => $summary:literal, $explanation:literal;)*) => {
        pub const CODES: &[Code] = &[$(Code { code: $code, summary: $summary, explanation: $explanation }),*];
    };
}

codes! {
    "catalyst::io::read" => "a file could not be read", "The compiler could not read an input file (missing, unreadable). Exit code 2.";
    "catalyst::io::not-found" => "a folder or file that was named does not exist", "A catalog folder named in `spec.catalogs` (relative to the folder of sovereign.yaml), a CRD path named with --crds or in `[check] crds` of catalyst.toml (relative to it), or a built tree given to `lint --built` does not exist. Exit code 2.";
    "catalyst::io::watch" => "the file watcher could not start", "`check --watch` relies on the operating system's file notifications (inotify on Linux); the limit of watches may be exhausted (fs.inotify.max_user_watches). Exit code 2.";
    "catalyst::io::write" => "the output could not be written", "Writing the output tree failed; the previous output is left as it was. Exit code 2.";
    "catalyst::load::too-large" => "an input file is larger than the limit", "Input files are limited to 8 MiB: no input kind needs more, and the limit keeps a hostile file from exhausting memory.";
    "catalyst::load::not-utf8" => "an input file is not UTF-8", "YAML inputs must be UTF-8 encoded.";
    "catalyst::yaml::syntax" => "invalid YAML", "The file is not valid YAML. The label points at the position where the parser gave up.";
    "catalyst::yaml::duplicate-key" => "a key appears twice in one mapping", "YAML parsers disagree on which of two equal keys wins (the last, the first, or an error), so a duplicate key is refused.";
    "catalyst::yaml::multiple-documents" => "a file holds several YAML documents", "Each input file holds exactly one document; split multi-document files.";
    "catalyst::yaml::bad-scalar" => "a tagged scalar does not match its tag", "A value such as `!!int abc` cannot be read as its tag says.";
    "catalyst::yaml::complex-key" => "a mapping key is not a scalar", "Keys must be plain strings (JSON has no other kind of key).";
    "catalyst::yaml::bad-key" => "a mapping key too long or with control characters", "Mapping keys are at most 500 characters of printable text. Keys are written back into the output (values.yaml, rendered manifests); YAML allows an implicit key of at most 1,024 characters, and quoting can double a key's length, so a longer key, or one with control characters, would become YAML no parser reads.";
    "catalyst::yaml::too-deep" => "nesting beyond the limit", "Documents are limited to 64 levels of nesting. No input kind needs more; the limit bounds the work a hostile file can cause.";
    "catalyst::limit::diagnostics" => "more diagnostics than are kept", "A run keeps its first 200 diagnostics and counts the rest: a hostile or badly broken input must not make the report itself unbounded. The last entry says how many were not shown and how many of them are errors; they still decide the exit code.";
    "catalyst::yaml::too-large" => "a document expands to too many nodes", "Aliases are counted at every use, so an alias bomb (a billion laughs) is refused once it expands beyond 2,000,000 nodes.";
    "catalyst::schema::unknown-field" => "a field the schema does not know", "Unknown fields are errors, not silently ignored: a misspelt key would otherwise do nothing. The help suggests the closest known field. The schemas are in schemas/.";
    "catalyst::schema::missing-field" => "a required field is missing", "The file lacks a field its schema requires.";
    "catalyst::schema::wrong-type" => "a value has the wrong type", "The value is, say, a string where the schema wants a number. Quote versions: `1.4` in YAML is a number.";
    "catalyst::schema::invalid-value" => "a value the schema does not allow", "The value breaks a pattern, enum, range or format of the schema for this file kind.";
    "catalyst::blueprint::bare-name" => "a Blueprint name without the bp- prefix", "Upstream Application CRDs require `blueprintRef.name` to match ^bp-…; a bare name resolves here but will be refused at admission.";
    "catalyst::blueprint::legacy-version" => "version at metadata.version", "Older Blueprints carry the version at metadata.version; the CRD reads spec.version.";
    "catalyst::blueprint::missing-version" => "a Blueprint without a version", "Every Blueprint needs spec.version (semver).";
    "catalyst::blueprint::bad-version" => "a version that is not semver", "Versions are MAJOR.MINOR.PATCH with an optional pre-release; no `v` prefix, no build metadata.";
    "catalyst::blueprint::secret-in-collection" => "a secret field inside a list or a map", "Each secret field becomes one Secret filled from OpenBao by an ExternalSecret, named after its config path. A field inside `items` or `additionalProperties` has no fixed path, so its values would end up in Git: declare it as a named property.";
    "catalyst::blueprint::manifests" => "several manifest kinds", "A Blueprint ships exactly one of a Helm chart, minijinja templates or a kustomize base.";
    "catalyst::blueprint::path" => "a manifest path that leaves the Blueprint folder or does not exist", "Manifest paths are relative to the Blueprint folder; `..`, absolute paths and symbolic links that point outside are refused so that a catalog cannot read the rest of the disk.";
    "catalyst::blueprint::bad-config-schema" => "configSchema is not a valid JSON Schema", "The configSchema could not be compiled as a JSON Schema (draft 2020-12).";
    "catalyst::catalog::duplicate" => "a (name, version) defined twice", "Within one catalog, each Blueprint version is defined once; bump one of them.";
    "catalyst::sovereign::folder-name" => "the Sovereign folder is not named after the FQDN", "Sovereigns live in sovereigns/<fqdn>/ so that the tree and clusters/<fqdn>/ agree.";
    "catalyst::sovereign::no-catalog" => "no catalog named", "The Sovereign must name at least one catalog folder in spec.catalogs.";
    "catalyst::sovereign::bad-glob" => "an invalid organizations glob", "spec.organizations holds glob patterns relative to the Sovereign folder.";
    "catalyst::sovereign::duplicate-organization" => "an Organization defined twice", "Organization slugs are unique in a Sovereign.";
    "catalyst::sovereign::duplicate-environment" => "an Environment type declared twice", "An Organization has at most one Environment per type; the Environment name is {org}-{type}.";
    "catalyst::sovereign::duplicate-application" => "an Application declared twice", "Each Application is one Git repository, so names are unique in an Organization.";
    "catalyst::sovereign::unknown-region" => "a region the Sovereign does not have", "Environments run in regions declared in sovereign.yaml spec.regions.";
    "catalyst::sovereign::unknown-environment" => "a per-environment entry for a missing Environment", "Application.environments keys must be Environment types of the Organization.";
    "catalyst::naming::region" => "a region not in canonical form", "Regions are written {provider}-{region}-{building-block}-{env}, e.g. hz-fsn-rtz-prod. Provider codes such as fsn1 are derived where a provider API needs them.";
    "catalyst::naming::region-provider" => "a region of another provider", "The first segment of a region is the provider code of the Sovereign's provider (hz = hetzner).";
    "catalyst::naming::building-block" => "an unknown building block", "The third segment of a region is mgt, rtz or dmz.";
    "catalyst::naming::too-long" => "a generated name longer than 63 characters", "Names become DNS labels and Kubernetes object names, limited to 63 characters.";
    "catalyst::policy::min-approvals" => "more approvals required than approvers", "pr-required: minApprovals must not exceed the number of approvers, or no promotion can ever pass.";
    "catalyst::policy::soak-source" => "a soak source that is not a lower environment", "soak: sourceEnvironment must be a lower Environment (dev < uat < stg < prod) of the same Organization.";
    "catalyst::policy::cron" => "an invalid change-window cron", "change-window: cron is a five-field cron expression.";
    "catalyst::resolve::missing-blueprint" => "a Blueprint the catalog does not have", "No catalog folder holds a Blueprint of this name. The help suggests the closest name.";
    "catalyst::resolve::unsatisfiable" => "no version satisfies every requirement", "The resolver lists each requirement with who asked for it and the versions the catalog has, like cargo's resolver.";
    "catalyst::resolve::bad-requirement" => "an invalid version requirement", "Requirements use cargo's syntax: ^1.4, ~1.4.2, =1.4.0, >=1.2, <2, or * for any.";
    "catalyst::resolve::cycle" => "a dependency cycle", "Blueprints (or Applications through links) depend on each other in a circle; the message lists the whole cycle.";
    "catalyst::resolve::too-many" => "too many dedicated Applications in one Environment", "A dependency without a link creates one dedicated Application per dependant. Blueprints that depend several times on each other multiply them at every level; more than 2,000 in one Environment is refused.";
    "catalyst::resolve::too-deep" => "a dependency chain beyond the limit", "Chains of dedicated dependencies are limited to 16 levels.";
    "catalyst::resolve::kit-dependency" => "a kit Blueprint depends on one outside the kit", "Every dependency of a bootstrap-kit Blueprint must itself be in the kit: a HelmRelease dependsOn that names a missing release never becomes ready.";
    "catalyst::resolve::not-installable" => "a Blueprint without manifests installed as an Application", "Only Blueprints with a chart, templates or kustomize base can be installed.";
    "catalyst::resolve::dangling-link" => "a link to an Application that is not there", "links: alias → Application must name an Application of the same Organization installed in the same Environment.";
    "catalyst::resolve::link-mismatch" => "a link to an Application of another Blueprint", "A linked Application must run the Blueprint the dependency asks for.";
    "catalyst::resolve::unknown-alias" => "a link for an alias the Blueprint does not have", "links keys are aliases of the chosen Blueprint version's depends.";
    "catalyst::resolve::name-collision" => "a dedicated Application name already taken", "A dependency without a link creates <app>-<alias>; that name is already used.";
    "catalyst::expr::eval" => "an expression failed", "when and values expressions are minijinja; undefined variables are errors. Variables: config, application, sovereign, dependency.";
    "catalyst::config::invalid" => "config does not satisfy the configSchema", "The Application's effective config (defaults, size overlay, config, environment override) breaks the Blueprint's configSchema. The primary label shows where the value was written, the secondary one the rule.";
    "catalyst::config::not-an-object" => "config is not a mapping", "config, overlays and dependency values are mappings.";
    "catalyst::config::secret-literal" => "a value for a secret field", "Fields marked x-catalyst-secret or format: secret never carry values in Git; they are read from OpenBao through an ExternalSecret.";
    "catalyst::config::credential-literal" => "a credential-like key written in clear", "A config key whose name says it holds a credential (password, secret, token, api key, private key, access key, credential…) carries a literal, and the configSchema does not mark the field secret. Values in Git are readable by everyone with access to the repository. Mark the field `x-catalyst-secret: true` (the value then comes from OpenBao) or, if it holds no secret, `x-catalyst-not-secret: true`.";
    "catalyst::config::unknown-size" => "a size the Blueprint has no overlay for", "size names one of the Blueprint's overlays.";
    "catalyst::placement::region" => "an Application region outside its Environment", "placement.regions must be regions of the Environment.";
    "catalyst::placement::mode" => "a placement mode the Blueprint does not support", "The mode must be one of the Blueprint's placementSchema.modes.";
    "catalyst::placement::region-count" => "a region count outside the Blueprint's bounds", "placementSchema.minRegions..maxRegions bounds the number of regions.";
    "catalyst::infra::server-type" => "not a Hetzner server type", "Node sizes are Hetzner server types: `cx`, `cpx`, `ccx` or `cax` followed by digits (the OpenTofu module's own validation). The worker size is empty exactly when there are no workers.";
    "catalyst::infra::workers" => "a worker size without workers, or workers without a size", "The OpenTofu module creates `worker_count` servers of type `worker_size`: a size with a count of 0 is a leftover, a count without a size cannot be created.";
    "catalyst::infra::cidr" => "not an IPv4 CIDR", "sshAllowedCidrs are IPv4 networks such as `203.0.113.0/24`: four octets 0–255 and a prefix 0–32. OpenTofu refuses anything else at plan time.";
    "catalyst::infra::ssh-key" => "not an OpenSSH public key", "The key authorised on the nodes starts with `ssh-rsa `, `ssh-ed25519 ` or `ecdsa-sha2-nistp256 `.";
    "catalyst::infra::k3s-version" => "not a k3s release tag", "k3s versions look like `v1.31.4+k3s1`. The version is written once, in the Sovereign spec, and reaches both OpenTofu and cloud-init from there.";
    "catalyst::infra::secret-literal" => "a secret value in the spec", "Cloud tokens, registry tokens and registrar keys never go into Git: `infrastructure.secrets` names the environment variable that holds each one when OpenTofu runs.";
    "catalyst::infra::missing" => "an input the OpenTofu module requires is missing", "Emitting OpenTofu inputs needs the cloud project, the operator's name and e-mail and the SSH public key. Without them the module cannot plan.";
    "catalyst::infra::fqdn" => "an FQDN the OpenTofu module refuses", "The module's FQDN rule is stricter than the Sovereign's: every label starts with a letter (`^[a-z][a-z0-9-]*(\\.[a-z][a-z0-9-]*)+$`).";
    "catalyst::infra::domain" => "a domain mode that does not fit the FQDN", "In `pool` mode the Sovereign's FQDN is a subdomain of `poolDomain`; the subdomain passed to OpenTofu is derived from the two, never typed again.";
    "catalyst::infra::region" => "node pools for a region the Sovereign does not have", "Keys of `infrastructure.regions` are regions listed in `spec.regions`.";
    "catalyst::infra::location" => "a region the provider has no location for", "The provider's location code (Hetzner `fsn1`, `nbg1`, `hel1`, `ash`, `hil`) is derived from the canonical region; its second segment must name a location the provider has.";
    "catalyst::infra::unsupported-provider" => "no OpenTofu inputs for this provider yet", "The compiler emits OpenTofu and cloud-init inputs for Hetzner; other providers get the GitOps tree only.";
    "catalyst::pin::mismatch" => "one upstream version pinned differently in two places", "A version the Sovereign depends on twice (the Flux release cloud-init installs and the flux2 chart bp-flux upgrades to; the Cilium release installed before Flux and the one bp-cilium adopts) must agree everywhere. A mismatch made bp-flux run `helm install` over the live Flux, whose rollback deleted the Flux controllers (omantel, 2026-04-29). Both places are named; change them together.";
    "catalyst::pin::missing" => "a Blueprint the bring-up depends on declares no pin", "cloud-init installs Flux and Cilium before Flux exists, at the releases bp-flux and bp-cilium pin (`pins.flux`, `pins.cilium`): without the pin, or without the Blueprint in the kit, there is no one place the version comes from.";
    "catalyst::diff::git" => "a revision or repository `diff` cannot read", "`catalyst diff` reads both revisions from the Git object database: run it inside the repository and name revisions `git rev-parse` knows. A shallow CI clone needs the base commit fetched (e.g. `git fetch --depth=1 origin main`). Exit code 2.";
    "catalyst::toml::invalid" => "an invalid catalyst.toml", "`catalyst.toml` (named with --config, or found at the checked folder or its nearest ancestor) is TOML with a table per command. `[lint.rules]` maps a rule (`name-prefix` or `catalyst::lint::name-prefix`) to `off`, `warning` or `error`; `[[lint.ignore]]` entries hold `paths` (globs relative to the file) and optionally `rules` (default: every rule). `[check]` holds `crds` (CRD files or folders, relative to the file, that emitted objects are validated against) and `ignore-missing-schemas`. Unknown keys and rules are refused so that a typo does not silently switch nothing off.";
    "catalyst::apply::input" => "neither a Sovereign nor a built tree", "`catalyst apply` takes a Sovereign folder (one holding sovereign.yaml, compiled first) or a tree written by `catalyst build`, whose .catalyst-manifest lists exactly the files to publish. Exit code 2.";
    "catalyst::apply::layout" => "a compiled path with no repository", "The compiled tree maps to repositories: repos/<org>/<app>/<branch>/ to <org>/<app>, system/catalyst-config/ to system/catalyst-config, the rest to system/fleet. An Application repository named system/fleet or system/catalyst-config would overwrite a platform repository.";
    "catalyst::apply::remote-template" => "a --remote without {org} and {repo}", "Exit code 2. The remote is a URL template: {org} and {repo} are replaced per repository, e.g. https://gitea.example/{org}/{repo}.git, git://host/{org}/{repo}.git, file:///srv/git/{org}/{repo}.git or ssh://git@host/{org}/{repo}.git.";
    "catalyst::apply::unreachable" => "a Git server could not be reached", "Connecting to the repository failed (refused, unresolvable host, TLS, a broken connection). Nothing was pushed to that repository; the others are applied independently. Exit code 2.";
    "catalyst::apply::auth" => "the server refused the credentials", "Credentials come from CATALYST_GIT_TOKEN (with CATALYST_GIT_USERNAME) for HTTP(S), CATALYST_GIT_SSH_KEY or the ssh-agent for SSH, or a git credential helper. They are held in memory only and never printed. Exit code 2.";
    "catalyst::apply::missing-repo" => "a repository that does not exist", "The server has no such repository and did not create it on push (Gitea's push-to-create, for example, would). Create it, then apply again. Over file:// the runtime creates missing repositories itself.";
    "catalyst::apply::foreign-commit" => "a branch holds a commit the runtime did not make", "The runtime only fast-forwards branches whose tip it committed itself (its committer identity and a `Catalyst-Apply:` trailer). A hand-made commit would be silently overwritten by the next apply, so the repository is refused. Carry the change into the Sovereign spec, or pass --force-with-lease=<org>/<repo>:<branch>=<commit> (or --force-with-lease for any) to apply on top of it.";
    "catalyst::apply::race" => "a branch moved while the apply ran", "Between planning and pushing, another apply or a person updated the branch. The server compares each ref with the commit the runtime planned from, so nothing was overwritten. Apply again: the next run starts from the new commit.";
    "catalyst::apply::rejected" => "the server refused the push", "A server-side hook or permission declined the update. The notes show what the server said; the repository's branches are as they were.";
    "catalyst::apply::cache" => "the local cache failed", "The runtime keeps copies of remote objects in a local cache (--cache-dir, by default under $XDG_CACHE_HOME/catalyst/apply). It holds no credentials and no refs; remove it to start afresh. Exit code 2.";
    "catalyst::conform::unknown-field" => "an emitted object has a field its CRD does not define", "Every emitted Kubernetes object is validated against the schema of its kind and version: the built-in Catalyst CRDs (schemas/crds/) and the CRDs given with --crds or `[check] crds`. Validation is strict, as kubeconform's -strict: the API server would prune an unknown field silently (it does nothing), so it is an error here. The primary label is the field in the emitted file (shown under out/<fqdn>/), the secondary one the input the file was emitted for. A template Blueprint that renders the field, or a CRD of another release than the cluster runs, are the usual causes.";
    "catalyst::conform::missing-field" => "an emitted object lacks a field its CRD requires", "The schema of the object's kind and version requires the field (or `metadata.name`, which every object needs). See `catalyst::conform::unknown-field` for what is validated.";
    "catalyst::conform::invalid-value" => "an emitted object has a value its CRD does not allow", "A value has the wrong type or breaks a pattern, enum, range, format or list rule (x-kubernetes-list-type set/map) of the CRD, as the API server checks them at admission. For Catalyst CRs the value usually comes from the Sovereign spec: the secondary label shows where. See `catalyst::conform::unknown-field` for what is validated.";
    "catalyst::conform::unserved" => "an emitted object's apiVersion is not served", "The kind has a CRD, but it does not serve the object's version (it is gone, like source.toolkit.fluxcd.io/v1beta2 in Flux 2.8+, or `served: false`): the API server refuses the object. Emit a served version.";
    "catalyst::conform::missing-schema" => "emitted objects of kinds with no schema", "Objects whose kind has no CRD or schema were not validated; one warning lists every such kind with a count. Give the CRDs of the releases the cluster runs (Flux, External Secrets, …) with --crds PATH or `[check] crds` in catalyst.toml; core kinds take stand-alone JSON Schemas with x-kubernetes-group-version-kind (the kubernetes-json-schema files). --ignore-missing-schemas or `ignore-missing-schemas = true` silences the warning.";
    "catalyst::conform::crds" => "a CRD file that cannot be used", "Files named with --crds or `[check] crds` hold CustomResourceDefinitions (YAML or JSON, several per file) or JSON Schemas naming their kinds in x-kubernetes-group-version-kind. A folder is read one level deep, as `kubectl apply -f` does. A named path that defines nothing, a definition without spec.group, spec.names.kind or spec.versions, and a kind defined twice are refused; a definition of a built-in Catalyst kind replaces the built-in one.";
    "catalyst::conform::bad-schema" => "a CRD schema that does not compile", "The openAPIV3Schema of the CRD version is not a schema the validator can compile (a malformed pattern, a wrong keyword type). Objects of that kind cannot be validated until the CRD is fixed or replaced.";
    "catalyst::render::template" => "a template failed to render", "Template Blueprints must render valid Kubernetes YAML with a metadata.name on every object, within the fuel limit.";
}

/// Every code: the compiler's and the lint rules'.
pub fn all() -> impl Iterator<Item = &'static Code> {
    CODES.iter().chain(crate::lint::RULES.iter().map(|r| &r.code))
}

pub fn find(code: &str) -> Option<&'static Code> {
    let wanted = if code.starts_with("catalyst::") { code.to_string() } else { format!("catalyst::{code}") };
    // A lint rule may also be named alone: `catalyst explain name-prefix`.
    all().find(|c| c.code == wanted).or_else(|| crate::lint::rule(code).map(|r| &r.code))
}
