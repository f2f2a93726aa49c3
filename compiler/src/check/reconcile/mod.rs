//! The reconcile check: would Flux, on a fresh Sovereign, bring this tree up?
//!
//! It walks the tree the way the controllers do (flux-local is the model):
//! from what the bring-up creates (the `flux-system` objects cloud-init
//! applies, its `ghcr-pull` Secret, the Namespaces Kubernetes and Flux make),
//! through every `kustomization.yaml` and every Flux Kustomization, into the
//! Application repositories' branches, with the namespaces kustomize and
//! `targetNamespace` give each object. Then it asks of every reference (a
//! source's `secretRef`, a HelmRelease's chart source, `valuesFrom` and
//! `dependsOn`, a Kustomization's source, `dependsOn` and `targetNamespace`,
//! an ExternalSecret's store, every object's Namespace and the definition of
//! its kind, the Catalyst CRs' references) whether its target exists, in the
//! namespace the controller looks in, and whether it can exist in time:
//!
//! * `dangling`: nothing in the tree creates the target;
//! * `deadlock`: the target is created only by something that (transitively)
//!   waits for the object that needs it; the whole chain is reported;
//! * `unordered`: an object the API server refuses until its Namespace or
//!   CRD exists is applied by a Kustomization that does not wait for the one
//!   creating them;
//! * `no-crd`: no release of the tree installs the object's kind;
//! * `unserved-host`: a source on a host of the Sovereign that no kit
//!   release serves;
//! * `missing-path`: a Kustomization path or kustomize resource that is not
//!   in its repository;
//! * `unreached` (a warning): a file of objects no Kustomization applies.
//!
//! What it cannot see: what charts install beyond the CRDs the release table
//! names, values inside OpenBao, CEL rules, and the controllers' runtime
//! behaviour (timeouts, health checks of arbitrary kinds).

mod facts;
mod judge;
mod walk;

use std::collections::HashMap;

pub use facts::Facts;

use crate::check::conform::SchemaSet;
use crate::diagnostic::codes::{self, Code};
use crate::diagnostic::{Diagnostic, Label};
use crate::support::source::Sources;

/// Findings that do not stop the tree from reconciling.
const WARNINGS: [&Code; 2] = [codes::RECONCILE_UNKNOWN_SOURCE, codes::RECONCILE_UNREACHED];

/// Where in the emitted tree a finding points: an object's field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Place<'a> {
    /// Index into the facts' files.
    file: usize,
    document: usize,
    pointer: &'a str,
}

impl Place<'_> {
    fn owned(self) -> At {
        At { file: self.file, document: self.document, pointer: self.pointer.to_string() }
    }
}

/// Where a finding points: document `document` of file `file` (an index into the facts), at `pointer`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct At {
    pub file: usize,
    pub document: usize,
    pub pointer: String,
}

/// One problem found; turned into a [`Diagnostic`] once the file's text is at hand.
#[derive(Clone, Debug)]
pub struct Finding {
    pub code: &'static Code,
    pub message: String,
    pub at: At,
    pub help: String,
    pub notes: Vec<String>,
}

/// Runs the check over `facts`, one cluster at a time; `fqdn` names the hosts the Sovereign
/// serves itself. A file is unreached when no cluster applies it, and a finding in a file two
/// clusters apply (an Application repository) is reported once.
pub fn check(facts: &Facts, schemas: &SchemaSet<'_>, fqdn: &str) -> Vec<Finding> {
    use rayon::prelude::*;
    let tree = walk::Tree::new(facts);
    let clusters = tree.clusters();
    // A fragment of a tree (no entry point Flux starts from) is not walked: all of it would be unreached.
    if clusters.is_empty() {
        return Vec::new();
    }
    let mut walks: Vec<walk::Walk<'_>> = clusters
        .par_iter()
        .map(|cluster| {
            let mut walk = walk::Walk::new(&tree, schemas, fqdn, walk::World::Host);
            walk.apply_all(&[walk::Bring::folder(format!("{cluster}/flux-system"))]);
            walk
        })
        .collect();
    // Each virtual cluster a host's Kustomizations apply into is a cluster of its own.
    let vclusters: Vec<walk::Vcluster<'_>> = walks.iter().flat_map(walk::Walk::vclusters).collect();
    let virtual_walks: Vec<walk::Walk<'_>> = vclusters
        .into_par_iter()
        .map(|vcluster| {
            let applied_by = vcluster.applied_by.join(", ");
            let mut walk = walk::Walk::new(&tree, schemas, fqdn, walk::World::Virtual { applied_by, given: vcluster.installs });
            walk.apply_all(&vcluster.dirs);
            walk
        })
        .collect();
    walks.extend(virtual_walks);
    // What each cluster installs serves the others: counted once, so that each walk subtracts only itself.
    let mut installers: std::collections::HashMap<facts::Sym, usize> = std::collections::HashMap::new();
    for sym in walks.iter().flat_map(|w| w.installed_by.keys()) {
        *installers.entry(*sym).or_default() += 1;
    }
    for walk in &mut walks {
        let elsewhere = |(sym, count): (&facts::Sym, &usize)| (*count > usize::from(walk.installed_by.contains_key(sym))).then_some(*sym);
        walk.served = installers.iter().filter_map(elsewhere).collect();
    }
    let judged: Vec<Vec<Finding>> = walks.into_par_iter().map(walk::Walk::judge).collect();
    let mut findings = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for finding in judged.into_iter().flatten() {
        if seen.insert((finding.code.id, finding.at.clone(), finding.message.clone())) {
            findings.push(finding);
        }
    }
    tree.unreached(&mut findings);
    findings
}

/// The diagnostics of `findings`: each points at its field in the emitted file (shown below
/// `shown_at`, with the text `text_of` gives) and at the input the file was emitted for.
pub fn diagnostics(
    findings: Vec<Finding>,
    facts: &Facts,
    sources: &mut Sources,
    shown_at: &std::path::Path,
    text_of: &mut dyn FnMut(&str) -> Option<String>,
) -> Vec<Diagnostic> {
    let mut files: HashMap<usize, crate::support::source::FileId> = HashMap::new();
    let mut found = Vec::new();
    for finding in findings {
        let file = facts.file(finding.at.file);
        let path = file.path();
        let id = match files.get(&finding.at.file) {
            Some(&id) => Some(id),
            None => text_of(path).map(|text| {
                let id = sources.add(shown_at.join(path), text);
                if let Ok(root) = crate::support::yaml::parse_documents(id, &sources.get(id).text) {
                    sources.set_root(id, root);
                }
                files.insert(finding.at.file, id);
                id
            }),
        };
        let mut d = if WARNINGS.contains(&finding.code) {
            Diagnostic::warning(finding.code, finding.message)
        } else {
            Diagnostic::error(finding.code, finding.message)
        };
        if let Some(id) = id {
            let pointer = format!("/{}{}", finding.at.document, finding.at.pointer);
            let span = if file.kustomize().is_some() { sources.key_span_at(id, &pointer) } else { sources.span_at(id, &pointer) };
            d = d.with_label(Label::primary(span, "here"));
        }
        if let Some((input, pointer)) = file.origin() {
            d = d.with_label(Label::secondary(sources.span_at(input, facts.str(pointer)), "emitted for this"));
        }
        for note in finding.notes {
            d = d.with_note(note);
        }
        found.push(d.with_help(finding.help));
    }
    found
}

/// The reconcile check of a tree `catalyst build` wrote (`lint --built`), judged against the
/// newest known releases; its files are shown below `shown_at`.
pub fn check_built(output: &crate::pipeline::render::Output, shown_at: &std::path::Path, sources: &mut Sources) -> Vec<Diagnostic> {
    let mut facts = Facts::default();
    for (path, bytes) in &output.files {
        let Some(documents) = std::str::from_utf8(bytes).ok().and_then(|text| crate::support::yaml::parse_stream(text).ok()) else {
            continue;
        };
        let kustomization = matches!(documents.as_slice(), [document] if facts.add_kustomization(path, document, None));
        if !kustomization {
            facts.add_objects(path, &documents, None);
        }
    }
    let fqdn = output.files.keys().find_map(|path| path.strip_prefix("clusters/")?.split('/').next()).unwrap_or_default().to_string();
    let options = crate::Options::default();
    let schemas = crate::pipeline::schema_set(&options, &crate::check::releases::Pinned::default());
    let findings = check(&facts, &schemas, &fqdn);
    let mut text_of = |path: &str| output.files.get(path).map(|bytes| String::from_utf8_lossy(bytes).into_owned());
    diagnostics(findings, &facts, sources, shown_at, &mut text_of)
}
