//! Upgrade paths. A Blueprint's `upgrades.from` lists the versions that may upgrade to it
//! (`1.2.x`, `1.2.3`), `upgrades.blocks` those that may not. Against the lock of the tree a
//! build replaces (its `catalyst.lock`), every Application and kit release whose Blueprint
//! version moves up must come from a version the new one allows.

use std::collections::BTreeMap;

use serde_json::Value as Json;

use crate::diagnostic::codes;
use crate::diagnostic::{Diagnostic, Label};
use crate::model::Blueprint;
use crate::pipeline::load::Project;
use crate::pipeline::resolve::{KitRelease, ResolvedEnvironment};
use crate::support::source::{Origin, Sources};

/// What a `catalyst.lock` says each user runs: `<environment>/<application>` or
/// `bootstrap-kit/<blueprint>` → (Blueprint, version).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Lock {
    pub users: BTreeMap<String, (String, String)>,
}

impl Lock {
    /// The users of a `catalyst.lock`'s text; an unreadable lock says nothing.
    pub fn parse(text: &str) -> Lock {
        let Ok(documents) = crate::support::yaml::parse_stream(text) else { return Lock::default() };
        let mut users = BTreeMap::new();
        for blueprint in documents.first().and_then(|d| d.get("blueprints")).and_then(Json::as_array).into_iter().flatten() {
            let name = blueprint.get("name").and_then(Json::as_str).unwrap_or_default();
            let version = blueprint.get("version").and_then(Json::as_str).unwrap_or_default();
            for user in blueprint.get("usedBy").and_then(Json::as_array).into_iter().flatten().filter_map(Json::as_str) {
                users.insert(kit_user(user, name), (name.to_string(), version.to_string()));
            }
        }
        Lock { users }
    }
}

/// The kit is one user per Blueprint.
fn kit_user(user: &str, blueprint: &str) -> String {
    if user == "bootstrap-kit" {
        format!("bootstrap-kit/{blueprint}")
    } else {
        user.to_string()
    }
}

/// Whether the pattern (`1.2.x`, `>=1.2, <2`, or a version, meaning exactly it) takes `version`.
fn matches(pattern: &str, version: &semver::Version) -> bool {
    match semver::Version::parse(pattern.trim()) {
        Ok(exact) => exact == *version,
        Err(_) => semver::VersionReq::parse(pattern).is_ok_and(|req| req.matches(version)),
    }
}

/// Every move up from the lock's version that the new Blueprint's upgrade paths refuse.
pub fn check<'r>(
    project: &Project,
    kit: &[KitRelease],
    environments: impl Iterator<Item = &'r ResolvedEnvironment>,
    lock: &Lock,
    sources: &Sources,
) -> Vec<Diagnostic> {
    let sovereign = &project.sovereign;
    // A kit release's requirement: its `bootstrapKit` entry's version, else the entry, else the spec.
    let kit_origin = |bp: &Blueprint| {
        let entries = sovereign.spec.bootstrap_kit.iter().flatten();
        let at = entries.enumerate().find(|(_, e)| crate::model::short_name(&e.blueprint) == bp.short_name()).map(|(i, _)| i);
        at.map_or_else(|| sovereign.origin.join("/spec"), |i| sovereign.origin.join(&format!("/spec/bootstrapKit/{i}/version")))
    };
    let kit = kit.iter().map(|r| {
        let bp = &project.catalog.blueprints[r.blueprint];
        (format!("bootstrap-kit/{}", bp.name), bp, kit_origin(bp))
    });
    let instances = environments.flat_map(|e| {
        e.instances
            .iter()
            .map(move |i| (format!("{}/{}", e.name, i.name), &project.catalog.blueprints[i.blueprint], i.requirement_at.clone()))
    });
    kit.chain(instances).filter_map(|(user, bp, at)| refused(&user, bp, &at, lock, sources)).collect()
}

fn refused(user: &str, bp: &Blueprint, at: &Origin, lock: &Lock, sources: &Sources) -> Option<Diagnostic> {
    let (_, locked) = lock.users.get(user)?;
    let from = semver::Version::parse(locked).ok().filter(|from| *from < bp.version)?;
    let upgrades = &bp.spec.upgrades;
    let blocked = upgrades.blocks.iter().any(|p| matches(p, &from));
    if !blocked && (upgrades.from.is_empty() || upgrades.from.iter().any(|p| matches(p, &from))) {
        return None;
    }
    let (rule, says) = if blocked { ("blocks", "blocks") } else { ("from", "allows upgrades only from") };
    let written = if blocked { &upgrades.blocks } else { &upgrades.from };
    // The version requirement when the entry writes one, else the nearest place that exists.
    let span = sources.span_at(at.file, &at.pointer);
    Some(
        Diagnostic::error(
            codes::UPGRADE_SKIPPED,
            format!("{user} moves from {} {from} to {}, which its upgrade paths refuse", bp.name, bp.id()),
        )
        .with_label(Label::primary(span, format!("upgraded here from {from}")))
        .with_label(Label::secondary(
            sources.key_span_at(bp.origin.file, &format!("/spec/upgrades/{rule}")),
            format!("{} {says} {}", bp.version, written.join(", ")),
        ))
        .with_note(format!("the tree this build replaces (its catalyst.lock) runs {} {from}", bp.name))
        .with_help(format!("upgrade through a version {} allows first, or pin the version this Application runs", bp.id())),
    )
}

#[cfg(test)]
mod tests {
    use super::{matches, Lock};

    #[test]
    fn patterns_take_versions_as_upgrade_paths_write_them() {
        let v = |text: &str| semver::Version::parse(text).expect("version");
        assert!(matches("1.2.x", &v("1.2.9")) && !matches("1.2.x", &v("1.3.0")));
        assert!(matches("1.x", &v("1.9.0")) && !matches("1.x", &v("2.0.0")));
        assert!(matches("1.2.3", &v("1.2.3")) && !matches("1.2.3", &v("1.2.4")), "a version means exactly it");
        assert!(matches(">=1.2, <2", &v("1.5.0")));
        assert!(!matches("not a pattern", &v("1.0.0")));
    }

    #[test]
    fn a_lock_names_each_user_once() {
        let lock = Lock::parse(
            "lockVersion: 1\nblueprints:\n  - {name: bp-flux, version: 1.2.0, usedBy: [bootstrap-kit]}\n  - {name: bp-redis, version: 2.0.1, usedBy: [acme-prod/cache, acme-dev/cache]}\n",
        );
        let users: Vec<(&str, &str)> = lock.users.iter().map(|(user, (_, version))| (user.as_str(), version.as_str())).collect();
        assert_eq!(users, [("acme-dev/cache", "2.0.1"), ("acme-prod/cache", "2.0.1"), ("bootstrap-kit/bp-flux", "1.2.0")]);
        assert_eq!(Lock::parse(": not yaml ["), Lock::default());
    }
}
