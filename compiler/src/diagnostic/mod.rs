//! The one diagnostic model every stage reports in, with its stable
//! [`codes`]. Renderers live in [`format`]; they print diagnostics, they
//! never compute them. [`violation`] turns JSON Schema errors into
//! diagnostics for the input and the output checks alike.

pub mod codes;
pub mod format;
pub mod violation;

use crate::support::source::Span;
use codes::{Code, Exit};

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Label {
    pub span: Span,
    pub message: String,
    /// The primary label is where the problem is; others give context.
    pub primary: bool,
}

impl Label {
    pub fn primary(span: Span, message: impl Into<String>) -> Self {
        Label { span, message: message.into(), primary: true }
    }

    pub fn secondary(span: Span, message: impl Into<String>) -> Self {
        Label { span, message: message.into(), primary: false }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Diagnostic {
    /// Stable code such as `catalyst::resolve::cycle`; see [`crate::diagnostic::codes`].
    pub code: &'static Code,
    pub severity: Severity,
    pub message: String,
    pub labels: Vec<Label>,
    pub help: Option<String>,
    /// Extra lines of context, e.g. the chain of requirements that led here.
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(code: impl Into<&'static Code>, message: impl Into<String>) -> Self {
        Diagnostic {
            code: code.into(),
            severity: Severity::Error,
            message: message.into(),
            labels: Vec::new(),
            help: None,
            notes: Vec::new(),
        }
    }

    pub fn warning(code: impl Into<&'static Code>, message: impl Into<String>) -> Self {
        Diagnostic { severity: Severity::Warning, ..Diagnostic::error(code, message) }
    }

    pub fn with_label(mut self, label: Label) -> Self {
        self.labels.push(label);
        self
    }

    pub fn with_help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    /// The primary label's span, where the problem is.
    pub fn primary_span(&self) -> Option<Span> {
        self.labels.iter().find(|l| l.primary).or(self.labels.first()).map(|l| l.span)
    }
}

/// Most diagnostics kept from one run; the rest are counted, not stored.
pub const MAX_DIAGNOSTICS: usize = 200;

/// A bounded collection of diagnostics. Once [`MAX_DIAGNOSTICS`] are kept, a
/// last entry ([`codes::LIMIT_DIAGNOSTICS`]) says how many more were not, so every
/// renderer shows the cut.
#[derive(Clone, Debug, Default)]
pub struct Diagnostics {
    items: Vec<Diagnostic>,
    dropped: usize,
    /// Of those dropped, how many were errors: a pile of warnings must not fail a build.
    dropped_errors: usize,
}

impl Diagnostics {
    pub fn push(&mut self, diagnostic: Diagnostic) {
        if self.items.len() < MAX_DIAGNOSTICS {
            self.items.push(diagnostic);
            return;
        }
        self.count_dropped(1, usize::from(diagnostic.severity == Severity::Error));
    }

    fn count_dropped(&mut self, dropped: usize, errors: usize) {
        self.dropped += dropped;
        self.dropped_errors += errors;
        let notice = Diagnostic::warning(
            codes::LIMIT_DIAGNOSTICS,
            format!(
                "{} more diagnostic(s) not shown, {} of them error(s): only the first {MAX_DIAGNOSTICS} are kept",
                self.dropped, self.dropped_errors
            ),
        )
        .with_help("fix the ones shown and run again: the rest often follow from them");
        if self.items.len() > MAX_DIAGNOSTICS {
            self.items.pop();
        }
        self.items.push(notice);
    }

    pub fn extend(&mut self, diagnostics: impl IntoIterator<Item = Diagnostic>) {
        for d in diagnostics {
            self.push(d);
        }
    }

    /// Adds another collection, with what it dropped.
    pub fn append(&mut self, other: Diagnostics) {
        let (dropped, errors) = (other.dropped, other.dropped_errors);
        self.extend(other.items.into_iter().filter(|d| d.code != codes::LIMIT_DIAGNOSTICS));
        if dropped > 0 {
            self.count_dropped(dropped, errors);
        }
    }

    pub fn has_errors(&self) -> bool {
        self.dropped_errors > 0 || self.items.iter().any(|d| d.severity == Severity::Error)
    }

    /// The exit status these diagnostics call for: the gravest class among the errors.
    pub fn exit(&self) -> Exit {
        let kept = self.items.iter().filter(|d| d.severity == Severity::Error).map(|d| d.code.exit).max();
        kept.unwrap_or(if self.dropped_errors > 0 { Exit::Findings } else { Exit::Ok })
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    pub fn iter(&self) -> std::slice::Iter<'_, Diagnostic> {
        self.items.iter()
    }

    /// How many diagnostics were not kept because of [`MAX_DIAGNOSTICS`].
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    pub fn dropped_errors(&self) -> usize {
        self.dropped_errors
    }

    /// Sorts by file and position so output does not depend on thread timing; the notice of a cut stays last.
    pub fn sort(&mut self) {
        self.items.sort_by_key(|d| {
            let span = d.primary_span();
            (d.code == codes::LIMIT_DIAGNOSTICS, span.map(|s| (s.file, s.start)), d.code.id, d.message.clone())
        });
        self.items.dedup();
    }
}

impl From<Diagnostic> for Diagnostics {
    fn from(d: Diagnostic) -> Self {
        let mut all = Diagnostics::default();
        all.push(d);
        all
    }
}

impl IntoIterator for Diagnostics {
    type Item = Diagnostic;
    type IntoIter = std::vec::IntoIter<Diagnostic>;
    fn into_iter(self) -> Self::IntoIter {
        self.items.into_iter()
    }
}

/// Suggests the closest candidate for a misspelt name (Jaro-Winkler ≥ 0.8).
pub fn did_you_mean<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .into_iter()
        .map(|c| (strsim::jaro_winkler(name, c), c))
        .filter(|(score, _)| *score >= 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dropped_warnings_are_not_errors() {
        let mut diagnostics = Diagnostics::default();
        diagnostics.extend((0..MAX_DIAGNOSTICS + 5).map(|_| Diagnostic::warning(codes::BLUEPRINT_BARE_NAME, "bare")));
        assert!(!diagnostics.has_errors());
        assert_eq!(crate::diagnostic::format::summary(&diagnostics), "0 error(s), 205 warning(s) (5 not shown: the first 200 are kept)\n");
        diagnostics.push(Diagnostic::error(codes::IO_READ, "dropped, still counted"));
        assert!(diagnostics.has_errors(), "an error beyond the cap still fails the run");
    }

    #[test]
    fn a_cut_list_ends_with_a_coded_notice_that_survives_sorting_and_merging() {
        let mut first = Diagnostics::default();
        first.extend((0..MAX_DIAGNOSTICS + 3).map(|i| Diagnostic::error(codes::IO_READ, format!("e{i}"))));
        first.sort();
        let codes = |d: &Diagnostics| d.iter().map(|d| d.code).collect::<Vec<_>>();
        assert_eq!(codes(&first).len(), MAX_DIAGNOSTICS + 1);
        assert_eq!(codes(&first).last(), Some(&codes::LIMIT_DIAGNOSTICS));
        let notice = first.iter().last().expect("a notice");
        assert_eq!(notice.message, "3 more diagnostic(s) not shown, 3 of them error(s): only the first 200 are kept");
        let mut all = Diagnostics::default();
        all.push(Diagnostic::warning(codes::BLUEPRINT_BARE_NAME, "kept"));
        all.append(first);
        assert_eq!(all.dropped(), 4, "one more is dropped to make room, and the 3 the other collection dropped count");
        assert_eq!(all.dropped_errors(), 4);
        assert_eq!(all.iter().filter(|d| d.code == codes::LIMIT_DIAGNOSTICS).count(), 1);
        assert_eq!(crate::diagnostic::format::summary(&all), "203 error(s), 1 warning(s) (4 not shown: the first 200 are kept)\n");
    }
}
