//! Which compiled file goes to which repository and branch.
//!
//! Flux reads the fleet from `system/fleet` (`./clusters/<fqdn>/…`), the
//! Catalyst CRs from `system/catalyst-config` (at its root) and each
//! Application from `<org>/<app>` at the branch of its environment type
//! (`golden/*/clusters/*/flux-system/gotk-sync.yaml` and the environments'
//! GitRepositories). So:
//!
//! | compiled path | repository | branch | path in the repository |
//! |---|---|---|---|
//! | `repos/<org>/<app>/<branch>/<file>` | `<org>/<app>` | `<branch>` | `<file>` |
//! | `system/catalyst-config/<file>` | `system/catalyst-config` | `main` | `<file>` |
//! | anything else (`clusters/`, `infra/`, `catalyst.lock`) | `system/fleet` | `main` | unchanged |

use std::collections::BTreeMap;
use std::fmt;
use std::fs;

use rayon::prelude::*;
use std::path::Path;

use crate::diagnostic::codes;
use crate::diagnostic::Diagnostic;
use crate::pipeline::emit::{self, MANIFEST};
use crate::pipeline::render::Output;
use crate::support::vfs::DiskFs;

/// The Gitea Organization of the two platform repositories.
pub const SYSTEM_ORG: &str = "system";
const FLEET: &str = "fleet";
const CONFIG: &str = "catalyst-config";
const CONFIG_PREFIX: &str = "system/catalyst-config/";
/// The branch Flux reads the fleet and the Catalyst CRs from.
const SYSTEM_BRANCH: &str = "main";

/// One repository on the Git server, `<org>/<name>`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RepoId {
    pub org: String,
    pub name: String,
}

impl RepoId {
    pub fn new(org: &str, name: &str) -> Self {
        RepoId { org: org.to_string(), name: name.to_string() }
    }
}

impl fmt::Display for RepoId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.org, self.name)
    }
}

/// Files of one branch: path inside the repository → bytes, sorted by path.
pub type Files<'a> = Vec<(&'a str, &'a [u8])>;

/// What one repository must hold: branch → files.
#[derive(Debug, Clone, PartialEq)]
pub struct RepoContent<'a> {
    pub id: RepoId,
    pub branches: BTreeMap<String, Files<'a>>,
}

fn layout_error(message: String) -> Diagnostic {
    Diagnostic::error(codes::APPLY_LAYOUT, message)
        .with_help("the compiled tree maps to repositories as README.md § Apply describes; rebuild it with `catalyst build`")
}

/// Splits a compiled tree into repositories, sorted by `org/name`.
pub fn split(output: &Output) -> Result<Vec<RepoContent<'_>>, Diagnostic> {
    let mut repos: BTreeMap<RepoId, BTreeMap<String, Files<'_>>> = BTreeMap::new();
    for (path, bytes) in &output.files {
        let (id, branch, inner) = if let Some(rest) = path.strip_prefix("repos/") {
            let parts: Vec<&str> = rest.splitn(4, '/').collect();
            let [org, app, branch, inner] = parts[..] else {
                return Err(layout_error(format!("`{path}` is not of the form repos/<org>/<app>/<branch>/<file>")));
            };
            if org == SYSTEM_ORG && (app == FLEET || app == CONFIG) {
                return Err(layout_error(format!(
                    "the Application repository {org}/{app} would overwrite the platform repository of the same name"
                ))
                .with_help("rename the Application or the Organization: system/fleet and system/catalyst-config are reserved"));
            }
            (RepoId::new(org, app), branch, inner)
        } else if let Some(inner) = path.strip_prefix(CONFIG_PREFIX) {
            (RepoId::new(SYSTEM_ORG, CONFIG), SYSTEM_BRANCH, inner)
        } else {
            (RepoId::new(SYSTEM_ORG, FLEET), SYSTEM_BRANCH, path.as_str())
        };
        repos.entry(id).or_default().entry(branch.to_string()).or_default().push((inner, bytes.as_slice()));
    }
    Ok(repos.into_iter().map(|(id, branches)| RepoContent { id, branches }).collect())
}

/// Is `path` a Sovereign (its folder or its sovereign.yaml) rather than a built tree?
pub fn is_sovereign(path: &Path) -> bool {
    path.is_file() || path.join("sovereign.yaml").is_file()
}

/// Reads a tree written by `catalyst build`: exactly the files its manifest lists, each
/// holding the content the manifest records, of a build that finished.
pub fn read_built(dir: &Path) -> Result<Output, Diagnostic> {
    let manifest = fs::read_to_string(dir.join(MANIFEST))
        .map_err(|e| input_error(format!("`{}` is neither a Sovereign nor a built tree: cannot read {MANIFEST}: {e}", dir.display())))?;
    if let Some(unfinished) = emit::interrupted(&DiskFs, dir) {
        return Err(unfinished);
    }
    let entries = emit::parse_manifest(&manifest);
    // The manifest is an input: it must not name files outside the tree.
    if let Some((path, _)) = entries.iter().find(|(path, _)| !emit::is_tree_path(path)) {
        return Err(input_error(format!("{MANIFEST} names `{path}`, which is not a path inside the tree")));
    }
    // Each content is read once, from the first file that records its digest. A later file
    // untouched since the build that records the same digest holds the same bytes (the branches
    // of an Application repository mostly do); every other file is read and checked against its
    // digest, in parallel. The first problem in the manifest's order is the one reported.
    let mut first_with: foldhash::HashMap<emit::Digest32, usize> = foldhash::HashMap::default();
    let firsts: Vec<usize> =
        (entries.iter().enumerate()).map(|(i, (_, digest))| digest.map_or(i, |digest| *first_with.entry(digest).or_insert(i))).collect();
    let later: Vec<usize> = (0..entries.len()).filter(|&i| firsts[i] != i).collect();
    let later_paths: Vec<&str> = later.iter().map(|&i| entries[i].0.as_str()).collect();
    let mut source: Vec<usize> = (0..entries.len()).collect();
    for (&i, untouched) in later.iter().zip(emit::untouched(dir, &later_paths)) {
        if untouched {
            source[i] = firsts[i];
        }
    }
    let read: Vec<Result<Option<Vec<u8>>, Diagnostic>> = (entries.par_iter().enumerate())
        .map(|(i, (path, digest))| (source[i] == i).then(|| read_checked(dir, path, digest.as_ref())).transpose())
        .collect();
    let mut bytes: Vec<Option<Vec<u8>>> = read.into_iter().collect::<Result<_, _>>()?;
    // Last to first, so that a content is cloned for its copies before it is moved into its first file.
    let mut files = BTreeMap::new();
    for (i, (path, _)) in entries.into_iter().enumerate().rev() {
        let content = if source[i] == i { bytes[i].take() } else { bytes[source[i]].clone() };
        files.insert(path, content.unwrap_or_default());
    }
    Ok(Output { files, ..Output::default() })
}

fn input_error(message: String) -> Diagnostic {
    Diagnostic::error(codes::APPLY_INPUT, message)
        .with_help("pass a Sovereign folder (with sovereign.yaml) or a tree written by `catalyst build`")
}

/// The bytes of the file at `path` of the tree at `dir`, which must hold `digest` when the manifest records one.
fn read_checked(dir: &Path, path: &str, digest: Option<&emit::Digest32>) -> Result<Vec<u8>, Diagnostic> {
    let file = dir.join(path);
    let bytes = fs::read(&file).map_err(|e| input_error(format!("cannot read `{}`: {e}", file.display())))?;
    if digest.is_some_and(|digest| !emit::holds_digest(&bytes, digest)) {
        return Err(Diagnostic::error(codes::APPLY_INPUT, format!("`{}` was changed after `catalyst build` wrote it", file.display()))
            .with_help("rebuild the tree; what is published is what the compiler wrote"));
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn output(paths: &[&str]) -> Output {
        Output { files: paths.iter().map(|p| (p.to_string(), p.as_bytes().to_vec())).collect(), ..Output::default() }
    }

    #[test]
    fn maps_the_tree_to_fleet_config_and_application_repos() {
        let tree = output(&[
            "catalyst.lock",
            "clusters/a.example/kustomization.yaml",
            "infra/hetzner/tofu.auto.tfvars.json",
            "repos/acme/shop/develop/values.yaml",
            "repos/acme/shop/main/overlays/prod/values.yaml",
            "system/catalyst-config/policies/acme-prod-policy.yaml",
        ]);
        let repos = split(&tree).expect("splits");
        let names: Vec<String> = repos.iter().map(|r| r.id.to_string()).collect();
        assert_eq!(names, ["acme/shop", "system/catalyst-config", "system/fleet"]);
        let shop = &repos[0].branches;
        assert_eq!(shop.keys().collect::<Vec<_>>(), ["develop", "main"]);
        assert_eq!(shop["main"][0].0, "overlays/prod/values.yaml");
        assert_eq!(repos[1].branches["main"][0].0, "policies/acme-prod-policy.yaml");
        let fleet: Vec<&str> = repos[2].branches["main"].iter().map(|f| f.0).collect();
        assert_eq!(fleet, ["catalyst.lock", "clusters/a.example/kustomization.yaml", "infra/hetzner/tofu.auto.tfvars.json"]);
    }

    #[test]
    fn refuses_an_application_repo_named_like_a_platform_repo() {
        let error = split(&output(&["repos/system/fleet/main/values.yaml"])).expect_err("reserved");
        assert_eq!(error.code, codes::APPLY_LAYOUT);
        assert!(split(&output(&["repos/acme/shop/values.yaml"])).is_err(), "a file outside a branch folder");
    }
}
