//! The one diagnostic model every stage reports in. Renderers live in
//! [`crate::report`]; they print diagnostics, they never compute them.

use crate::source::Span;

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
    /// Stable code such as `catalyst::resolve::cycle`; see [`crate::codes`].
    pub code: &'static str,
    pub severity: Severity,
    pub message: String,
    pub labels: Vec<Label>,
    pub help: Option<String>,
    /// Extra lines of context, e.g. the chain of requirements that led here.
    pub notes: Vec<String>,
}

impl Diagnostic {
    pub fn error(code: &'static str, message: impl Into<String>) -> Self {
        Diagnostic { code, severity: Severity::Error, message: message.into(), labels: Vec::new(), help: None, notes: Vec::new() }
    }

    pub fn warning(code: &'static str, message: impl Into<String>) -> Self {
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

/// A bounded collection of diagnostics.
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
        } else {
            self.dropped += 1;
            self.dropped_errors += usize::from(diagnostic.severity == Severity::Error);
        }
    }

    pub fn extend(&mut self, diagnostics: impl IntoIterator<Item = Diagnostic>) {
        for d in diagnostics {
            self.push(d);
        }
    }

    pub fn has_errors(&self) -> bool {
        self.dropped_errors > 0 || self.items.iter().any(|d| d.severity == Severity::Error)
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

    /// Sorts by file and position so output does not depend on thread timing.
    pub fn sort(&mut self) {
        self.items.sort_by_key(|d| {
            let span = d.primary_span();
            (span.map(|s| (s.file, s.start)), d.code, d.message.clone())
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
        diagnostics.extend((0..MAX_DIAGNOSTICS + 5).map(|_| Diagnostic::warning("catalyst::blueprint::bare-name", "bare")));
        assert!(!diagnostics.has_errors());
        assert_eq!(crate::report::summary(&diagnostics), "0 error(s), 205 warning(s) (5 not shown: the first 200 are kept)\n");
        diagnostics.push(Diagnostic::error("catalyst::io::read", "dropped, still counted"));
        assert!(diagnostics.has_errors(), "an error beyond the cap still fails the run");
    }
}
