//! The commands beyond `build` and `check`, as library operations the CLI
//! calls: [`diff`] two revisions' output, draw the [`graph`], [`watch`] the
//! inputs, and [`apply`] a compiled tree to the Git servers.

pub mod apply;
pub mod diff;
pub mod graph;
pub mod watch;

use serde_json::Value as Json;

use crate::pipeline::render::Output;

/// The rules of Environment `environment`'s EnvironmentPolicy in a compiled tree, if it has one.
pub(crate) fn policy_rules(output: &Output, environment: &str) -> Option<Vec<Json>> {
    let bytes = output.files.get(&format!("system/catalyst-config/policies/{environment}-policy.yaml"))?;
    let documents = crate::support::yaml::parse_stream(&String::from_utf8_lossy(bytes)).ok()?;
    documents.first()?.pointer("/spec/rules")?.as_array().cloned()
}

/// A rule's field as text (a number as written), empty when absent.
pub(crate) fn rule_text(rule: &Json, key: &str) -> String {
    rule.get(key).map(|v| v.as_str().map_or_else(|| v.to_string(), str::to_string)).unwrap_or_default()
}
