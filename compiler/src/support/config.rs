//! `catalyst.toml`: what a repository decides about its checks. One file,
//! named with `--config` or found at the folder of what is checked or its
//! nearest ancestor, with a table per command:
//!
//! ```toml
//! [lint.rules]
//! name-prefix = "off"          # off | warning | error
//!
//! [[lint.ignore]]
//! paths = ["vendor/**"]        # globs relative to this file
//! rules = ["name-prefix"]      # default: every rule
//!
//! [check]
//! crds = ["crds/flux", "crds/external-secrets"]   # CRD files or folders, relative to this file
//! ignore-missing-schemas = false
//! ```
//!
//! Unknown keys are refused, so a typo cannot silently switch nothing off.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use toml::Spanned;

use crate::diagnostic::codes;
use crate::diagnostic::{Diagnostic, Diagnostics, Label};
use crate::support::source::{FileId, Sources, Span};
use crate::support::vfs::Vfs;

/// The file name looked up at the checked folder and its ancestors.
pub const FILE_NAME: &str = "catalyst.toml";

#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Off,
    Warning,
    Error,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    #[serde(default)]
    pub lint: LintSettings,
    #[serde(default)]
    pub check: CheckSettings,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LintSettings {
    #[serde(default)]
    pub rules: BTreeMap<Spanned<String>, Level>,
    #[serde(default)]
    pub ignore: Vec<IgnoreEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IgnoreEntry {
    pub paths: Vec<Spanned<String>>,
    #[serde(default)]
    pub rules: Vec<Spanned<String>>,
}

#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CheckSettings {
    /// CRD files or folders the emitted objects are validated against, relative to the file.
    #[serde(default)]
    pub crds: Vec<Spanned<String>>,
    #[serde(default)]
    pub ignore_missing_schemas: bool,
}

/// A `catalyst.toml` that was found and read.
pub struct Loaded {
    pub file: FileId,
    /// The folder that holds it: relative paths in it start here.
    pub dir: PathBuf,
    pub settings: Settings,
}

impl Loaded {
    /// The span of a spanned value of the file.
    pub fn span<T>(&self, value: &Spanned<T>) -> Span {
        Span::new(self.file, value.span().start, value.span().end)
    }
}

/// A problem at `span` of the file.
pub fn problem(span: Span, message: String) -> Diagnostic {
    Diagnostic::error(codes::TOML_INVALID, message)
        .with_label(Label::primary(span, "here"))
        .with_help("see `catalyst explain catalyst::toml::invalid`")
}

/// Reads `explicit`, or else the nearest `catalyst.toml` at `start` or above it; `None` when there is none
/// (or it cannot be read, which is reported).
pub fn load(
    vfs: &dyn Vfs,
    explicit: Option<&Path>,
    start: Option<&Path>,
    sources: &mut Sources,
    diagnostics: &mut Diagnostics,
) -> Option<Loaded> {
    let path = match explicit {
        Some(path) => path.to_path_buf(),
        None => {
            let start = vfs.canonicalize(start?).ok()?;
            start.ancestors().map(|dir| dir.join(FILE_NAME)).find(|file| vfs.is_file(file))?
        }
    };
    let text = match crate::pipeline::load::read_text(vfs, &path) {
        Ok(text) => text,
        Err(d) => {
            diagnostics.push(d);
            return None;
        }
    };
    // Found above the checked folder, the path is absolute: shown relative to the working directory when below it.
    let here = std::env::current_dir().and_then(|dir| dir.canonicalize()).unwrap_or_default();
    let file = sources.add(path.strip_prefix(&here).unwrap_or(&path), text);
    let settings = match toml::from_str(&sources.get(file).text) {
        Ok(settings) => settings,
        Err(e) => {
            let span = e.span().map_or(Span::new(file, 0, 0), |r| Span::new(file, r.start, r.end));
            diagnostics.push(problem(span, format!("invalid {FILE_NAME}: {}", e.message())));
            Settings::default()
        }
    };
    let dir = vfs.canonicalize(&path).ok().and_then(|p| p.parent().map(Path::to_path_buf)).unwrap_or_default();
    Some(Loaded { file, dir, settings })
}
