//! Source files and the spans that point into them.
//!
//! Every later stage reports problems as [`Span`]s; this module owns the text
//! those spans index, and turns byte offsets into line/column pairs.

use std::path::{Component, Path, PathBuf};

use crate::support::yaml::Node;

/// Index of a file in a [`Sources`] table.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FileId(pub u32);

/// A byte range inside one source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Span {
    pub file: FileId,
    pub start: usize,
    pub end: usize,
}

impl Span {
    pub fn new(file: FileId, start: usize, end: usize) -> Self {
        Span { file, start, end: end.max(start) }
    }
}

/// One loaded input file and, once parsed, its YAML tree.
#[derive(Debug)]
pub struct SourceFile {
    /// The path as shown to users (relative to the working directory when possible).
    pub path: PathBuf,
    pub text: String,
    /// Byte offset of the start of every line, for line/column look-ups.
    line_starts: Vec<usize>,
    pub root: Option<Node>,
}

impl SourceFile {
    pub fn new(path: impl Into<PathBuf>, text: String) -> Self {
        let line_starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        SourceFile { path: display_path(&path.into()), text, line_starts, root: None }
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let offset = offset.min(self.text.len());
        let line = self.line_starts.partition_point(|&start| start <= offset) - 1;
        let line_text = &self.text[self.line_starts[line]..offset];
        (line + 1, line_text.chars().count() + 1)
    }
}

/// `sovereigns/x/../../blueprints/a.yaml` as `blueprints/a.yaml`: the path is
/// only shown, never opened again, so folding `..` lexically is safe.
fn display_path(path: &Path) -> PathBuf {
    let mut folded = PathBuf::new();
    for component in path.components() {
        match component {
            Component::ParentDir if matches!(folded.components().next_back(), Some(Component::Normal(_))) => {
                folded.pop();
            }
            Component::CurDir => {}
            other => folded.push(other),
        }
    }
    folded
}

/// Every file the compiler has read in one run.
#[derive(Debug, Default)]
pub struct Sources {
    files: Vec<SourceFile>,
}

impl Sources {
    pub fn add(&mut self, path: impl Into<PathBuf>, text: String) -> FileId {
        self.files.push(SourceFile::new(path, text));
        FileId(self.files.len() as u32 - 1)
    }

    /// Every file read, in the order read.
    pub fn ids(&self) -> impl Iterator<Item = FileId> {
        (0..self.files.len() as u32).map(FileId)
    }

    pub fn get(&self, id: FileId) -> &SourceFile {
        &self.files[id.0 as usize]
    }

    /// The span of a whole line (1-based), for findings that only know their line.
    pub fn line_span(&self, id: FileId, line: usize) -> Span {
        let file = self.get(id);
        let start = file.line_starts.get(line.saturating_sub(1)).copied().unwrap_or(0);
        let end = file.text[start..].find('\n').map_or(file.text.len(), |n| start + n);
        Span::new(id, start, end)
    }

    pub fn set_root(&mut self, id: FileId, root: Node) {
        self.files[id.0 as usize].root = Some(root);
    }

    /// Every file, in the order read (the order of their ids).
    pub fn files(&self) -> impl Iterator<Item = &SourceFile> {
        self.files.iter()
    }

    pub fn path(&self, id: FileId) -> &Path {
        &self.get(id).path
    }

    /// The span of the value at a JSON pointer inside a parsed file, or of its
    /// nearest ancestor that exists (a missing key points at its parent).
    pub fn span_at(&self, file: FileId, pointer: &str) -> Span {
        let source = self.get(file);
        match &source.root {
            Some(root) => root.nearest(pointer).span,
            None => Span::new(file, 0, 0),
        }
    }

    /// The span of the *key* of the value at `pointer` when there is one
    /// (unknown fields are best shown at their key), else the value's span.
    pub fn key_span_at(&self, file: FileId, pointer: &str) -> Span {
        let source = self.get(file);
        source.root.as_ref().and_then(|root| root.key_span(pointer)).unwrap_or_else(|| self.span_at(file, pointer))
    }
}

/// The place a model value was read from: a file and a JSON pointer into it.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Origin {
    pub file: FileId,
    pub pointer: String,
}

impl Origin {
    pub fn new(file: FileId, pointer: impl Into<String>) -> Self {
        Origin { file, pointer: pointer.into() }
    }

    /// The origin of a member of this value.
    pub fn child(&self, segment: impl std::fmt::Display) -> Origin {
        Origin { file: self.file, pointer: crate::support::pointer::child(&self.pointer, &segment.to_string()) }
    }

    /// The origin of a value at a JSON pointer relative to this one.
    pub fn join(&self, relative_pointer: &str) -> Origin {
        Origin { file: self.file, pointer: format!("{}{}", self.pointer, relative_pointer) }
    }
}
