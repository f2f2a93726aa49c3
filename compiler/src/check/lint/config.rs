//! What the user decides about the rules: the `[lint]` table of
//! `catalyst.toml` (severities, ignored paths; see [`crate::support::config`]) and
//! inline suppressions in YAML comments.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::rules;
use super::{rule, Request, Rule};
use crate::diagnostic::{Diagnostic, Diagnostics, Label, Severity};
use crate::support::config::{problem, Level, Loaded};
use crate::support::source::{FileId, Sources, Span};
use crate::support::vfs::Vfs;

struct Ignore {
    paths: Vec<glob::Pattern>,
    /// Rule names; empty = every rule.
    rules: Vec<&'static str>,
}

/// The configuration in force: defaults when there is no `catalyst.toml`.
#[derive(Default)]
pub struct Config {
    levels: HashMap<&'static str, Level>,
    ignores: Vec<Ignore>,
    /// The folder of `catalyst.toml`: ignore globs are relative to it.
    root: Option<PathBuf>,
}

impl Config {
    /// Reads the configuration the request names, or the nearest `catalyst.toml` above the first catalog.
    pub fn load(vfs: &dyn Vfs, request: &Request, sources: &mut Sources, diagnostics: &mut Diagnostics) -> (Config, Option<Loaded>) {
        let first = request.catalogs.iter().chain(&request.sovereigns).chain(&request.built).next();
        let Some(loaded) = crate::support::config::load(vfs, request.config.as_deref(), first.map(PathBuf::as_path), sources, diagnostics)
        else {
            return (Config::default(), None);
        };
        let lint = &loaded.settings.lint;
        let mut problems = Vec::new();
        let mut known = |name: &toml::Spanned<String>| {
            let found = rule(name.get_ref()).map(Rule::name);
            if found.is_none() {
                problems.push(problem(loaded.span(name), format!("`{}` is not a lint rule", name.get_ref())));
            }
            found
        };
        let levels = lint.rules.iter().filter_map(|(name, level)| Some((known(name)?, *level))).collect();
        let mut ignores = Vec::new();
        for entry in &lint.ignore {
            let rules = entry.rules.iter().filter_map(&mut known).collect();
            let paths = entry.paths.iter().filter_map(|pattern| {
                glob::Pattern::new(pattern.get_ref())
                    .map_err(|e| diagnostics.push(problem(loaded.span(pattern), format!("invalid glob `{}`: {e}", pattern.get_ref()))))
                    .ok()
            });
            ignores.push(Ignore { paths: paths.collect(), rules });
        }
        diagnostics.extend(problems);
        let config = Config { levels, ignores, root: Some(loaded.dir.clone()) };
        (config, Some(loaded))
    }

    pub fn level(&self, rule: &Rule) -> Level {
        self.levels.get(rule.name()).copied().unwrap_or(match rule.default {
            Severity::Warning => Level::Warning,
            Severity::Error => Level::Error,
        })
    }

    /// Whether a finding of `rule` in the file at `path` is ignored by a path glob.
    pub fn ignores(&self, vfs: &dyn Vfs, path: &Path, rule: &Rule) -> bool {
        let (Some(root), Ok(real)) = (&self.root, vfs.canonicalize(path)) else { return false };
        let Ok(relative) = real.strip_prefix(root) else { return false };
        self.ignores
            .iter()
            .filter(|i| i.rules.is_empty() || i.rules.contains(&rule.name()))
            .any(|i| i.paths.iter().any(|p| p.matches_path(relative)))
    }
}

/// `# catalyst: allow(<rule>, …) -- <reason>` comments, by file and line.
pub struct Suppressions {
    allowed: Vec<(FileId, usize, Vec<&'static str>)>,
}

const MARKER: &str = "catalyst:";
const SYNTAX: &str = "write `# catalyst: allow(<rule>) -- <reason>` on the offending line or the line before";

impl Suppressions {
    /// Finds every suppression in the files read, and the malformed ones as findings of the `suppression` rule.
    pub fn scan(sources: &Sources) -> (Suppressions, Vec<Diagnostic>) {
        let mut allowed = Vec::new();
        let mut problems = Vec::new();
        for file in sources.ids() {
            let mut offset = 0;
            for (index, line) in sources.get(file).text.split_inclusive('\n').enumerate() {
                let start = offset;
                offset += line.len();
                let Some(at) = comment(line) else { continue };
                let span = Span::new(file, start + at, start + line.trim_end().len());
                match parse(&line[at..]) {
                    Ok(rules) => allowed.push((file, index + 1, rules)),
                    Err(why) => problems.push(
                        Diagnostic::error(rules::SUPPRESSION, why)
                            .with_label(Label::primary(span, "this suppression silences nothing"))
                            .with_help(SYNTAX),
                    ),
                }
            }
        }
        (Suppressions { allowed }, problems)
    }

    /// Whether a suppression on the span's line, or the line before, allows `rule`.
    pub fn allows(&self, sources: &Sources, span: Span, rule: &Rule) -> bool {
        let (line, _) = sources.get(span.file).line_col(span.start);
        self.allowed.iter().any(|(file, at, rules)| *file == span.file && (*at == line || at + 1 == line) && rules.contains(&rule.name()))
    }
}

/// Byte offset of a `# catalyst:` comment in a line.
fn comment(line: &str) -> Option<usize> {
    line.match_indices('#').map(|(i, _)| i).find(|&i| line[i + 1..].trim_start().starts_with(MARKER))
}

/// The rules a well-formed suppression comment allows.
fn parse(comment: &str) -> Result<Vec<&'static str>, String> {
    let body = comment.trim_start_matches('#').trim_start().trim_start_matches(MARKER).trim();
    let (names, rest) =
        body.strip_prefix("allow(").and_then(|b| b.split_once(')')).ok_or_else(|| format!("malformed suppression `{}`", comment.trim()))?;
    let reason = rest.trim().strip_prefix("--").map(str::trim).unwrap_or_default();
    if reason.is_empty() {
        return Err(format!("suppression `{}` gives no reason", comment.trim()));
    }
    names
        .split(',')
        .map(|name| {
            rule(name.trim()).map(Rule::name).ok_or_else(|| format!("suppression names `{}`, which is not a lint rule", name.trim()))
        })
        .collect()
}
