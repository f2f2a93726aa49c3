//! Renderers of diagnostics: they print, they never decide. One function per format.

use std::fmt;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, NamedSource, SourceSpan};
use serde_json::json;

use crate::diagnostic::codes;
use crate::diagnostic::{Diagnostic, Diagnostics, Severity};
use crate::support::source::{FileId, Sources};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    /// rustc-style snippets with labels (miette)
    Human,
    /// one JSON object per diagnostic, in an array
    Json,
    /// GitHub Actions workflow commands (annotations)
    Github,
    /// Markdown for a pull-request comment (the human view in a code block)
    Markdown,
    /// SARIF 2.1.0 (code scanning upload)
    Sarif,
}

pub fn render(format: Format, diagnostics: &Diagnostics, sources: &Sources, color: bool) -> String {
    match format {
        Format::Human => human(diagnostics, sources, color),
        Format::Json => json(diagnostics, sources),
        Format::Github => github(diagnostics, sources),
        Format::Markdown => format!("```text\n{}```\n", human(diagnostics, sources, false).replace("```", "'''")),
        Format::Sarif => sarif(diagnostics, sources),
    }
}

/// Diagnostics as rustc/miette snippets, followed by a one-line summary.
pub fn human(diagnostics: &Diagnostics, sources: &Sources, color: bool) -> String {
    let theme = if color { GraphicalTheme::unicode() } else { GraphicalTheme::unicode_nocolor() };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(110).with_context_lines(1);
    let mut out = String::new();
    for d in diagnostics.iter() {
        let _ = handler.render_report(&mut out, &MietteView::new(d, sources));
        out.push('\n');
    }
    out.push_str(&summary(diagnostics));
    out
}

pub fn summary(diagnostics: &Diagnostics) -> String {
    let shown = |severity| diagnostics.iter().filter(|d| d.severity == severity && d.code != codes::LIMIT_DIAGNOSTICS).count();
    let errors = shown(Severity::Error) + diagnostics.dropped_errors();
    let warnings = shown(Severity::Warning) + diagnostics.dropped() - diagnostics.dropped_errors();
    let mut line = format!("{errors} error(s), {warnings} warning(s)");
    if diagnostics.dropped() > 0 {
        line.push_str(&format!(" ({} not shown: the first {} are kept)", diagnostics.dropped(), crate::diagnostic::MAX_DIAGNOSTICS));
    }
    line.push('\n');
    line
}

/// Position of a span as `(path, line, column, end line, end column)`.
fn position(sources: &Sources, span: crate::support::source::Span) -> (String, usize, usize, usize, usize) {
    let file = sources.get(span.file);
    let (line, column) = file.line_col(span.start);
    let (end_line, end_column) = file.line_col(span.end);
    (file.path.display().to_string(), line, column, end_line, end_column)
}

pub fn json(diagnostics: &Diagnostics, sources: &Sources) -> String {
    let items: Vec<serde_json::Value> = diagnostics
        .iter()
        .map(|d| {
            let labels: Vec<serde_json::Value> = d
                .labels
                .iter()
                .map(|l| {
                    let (file, line, column, end_line, end_column) = position(sources, l.span);
                    json!({"file": file, "line": line, "column": column, "endLine": end_line, "endColumn": end_column, "message": l.message, "primary": l.primary})
                })
                .collect();
            json!({"code": d.code, "severity": d.severity, "message": d.message, "labels": labels, "help": d.help, "notes": d.notes})
        })
        .collect();
    let mut text = serde_json::to_string_pretty(&json!({"diagnostics": items, "dropped": diagnostics.dropped()})).unwrap_or_default();
    text.push('\n');
    text
}

/// SARIF 2.1.0: one run whose tool lists every code as a rule, one result per diagnostic.
pub fn sarif(diagnostics: &Diagnostics, sources: &Sources) -> String {
    let level = |s: Severity| match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let codes: Vec<&crate::diagnostic::codes::Code> = crate::diagnostic::codes::all().collect();
    let rules: Vec<serde_json::Value> = codes
        .iter()
        .map(|c| {
            // Lint rules have a default severity; compiler codes are reported as they were found here, else as errors.
            let default = crate::check::lint::rule(c.id)
                .map(|r| r.default)
                .or_else(|| diagnostics.iter().find(|d| d.code == *c).map(|d| d.severity))
                .unwrap_or(Severity::Error);
            json!({
                "id": c.id,
                "shortDescription": {"text": c.summary},
                "fullDescription": {"text": c.explanation},
                "help": {"text": format!("{}\n\nMore: catalyst explain {}", c.explanation, c.id)},
                "defaultConfiguration": {"level": level(default)},
            })
        })
        .collect();
    let location = |span: crate::support::source::Span, message: Option<&str>| {
        let (file, line, column, end_line, end_column) = position(sources, span);
        let mut location = json!({"physicalLocation": {
            "artifactLocation": {"uri": file_uri(&file)},
            "region": {"startLine": line, "startColumn": column, "endLine": end_line, "endColumn": end_column},
        }});
        if let Some(text) = message {
            location["message"] = json!({"text": text});
        }
        location
    };
    let results: Vec<serde_json::Value> = diagnostics
        .iter()
        .map(|d| {
            let mut text = d.message.clone();
            for extra in d.notes.iter().map(|n| format!("note: {n}")).chain(d.help.iter().map(|h| format!("help: {h}"))) {
                text.push('\n');
                text.push_str(&extra);
            }
            let mut result = json!({"ruleId": d.code, "level": level(d.severity), "message": {"text": text}});
            if let Some(index) = codes.iter().position(|c| *c == d.code) {
                result["ruleIndex"] = json!(index);
            }
            if let Some(span) = d.primary_span() {
                result["locations"] = json!([location(span, None)]);
            }
            let related: Vec<serde_json::Value> =
                d.labels.iter().filter(|l| Some(l.span) != d.primary_span()).map(|l| location(l.span, Some(&l.message))).collect();
            if !related.is_empty() {
                result["relatedLocations"] = json!(related);
            }
            result
        })
        .collect();
    let log = json!({
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "catalyst", "version": env!("CARGO_PKG_VERSION"), "rules": rules}},
            // Columns count characters, as in every other format.
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    });
    let mut text = serde_json::to_string_pretty(&log).unwrap_or_default();
    text.push('\n');
    text
}

/// A path as a URI reference: relative paths stay relative, absolute ones become `file://` URIs.
fn file_uri(path: &str) -> String {
    let mut encoded = String::with_capacity(path.len());
    for byte in path.replace('\\', "/").bytes() {
        if byte.is_ascii_alphanumeric() || b"-._~/".contains(&byte) {
            encoded.push(byte as char);
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    if encoded.starts_with('/') {
        format!("file://{encoded}")
    } else {
        encoded
    }
}

pub fn github(diagnostics: &Diagnostics, sources: &Sources) -> String {
    let escape = |s: &str| s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A");
    let escape_property = |s: &str| escape(s).replace(':', "%3A").replace(',', "%2C");
    let mut out = String::new();
    for d in diagnostics.iter() {
        let level = match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        };
        let mut properties = vec![format!("title={}", escape_property(d.code.id))];
        if let Some(span) = d.primary_span() {
            let (file, line, column, end_line, end_column) = position(sources, span);
            properties
                .insert(0, format!("file={},line={line},col={column},endLine={end_line},endColumn={end_column}", escape_property(&file)));
        }
        let mut message = d.message.clone();
        if let Some(help) = &d.help {
            message.push_str(&format!("\nhelp: {help}"));
        }
        out.push_str(&format!("::{level} {}::{}\n", properties.join(","), escape(&message)));
    }
    out
}

/// A diagnostic seen through miette's trait. Labels in other files than the
/// primary one become related reports, each with its own snippet.
struct MietteView<'a> {
    diagnostic: &'a Diagnostic,
    file: Option<FileId>,
    source: Option<NamedSource<String>>,
    related: Vec<MietteView<'a>>,
    help: Option<String>,
}

impl<'a> MietteView<'a> {
    fn new(diagnostic: &'a Diagnostic, sources: &Sources) -> Self {
        let file = diagnostic.primary_span().map(|s| s.file);
        let mut related = Vec::new();
        let mut seen = vec![file];
        for label in &diagnostic.labels {
            if !seen.contains(&Some(label.span.file)) {
                seen.push(Some(label.span.file));
                related.push(MietteView {
                    diagnostic,
                    file: Some(label.span.file),
                    source: Some(named(sources, label.span.file)),
                    related: Vec::new(),
                    help: None,
                });
            }
        }
        let mut source = file.map(|f| named(sources, f));
        // The snippet of a secret written in clear must not repeat it.
        if let (true, Some(span), Some(named)) =
            ([codes::CONFIG_SECRET_LITERAL, codes::INFRA_SECRET_LITERAL].contains(&diagnostic.code), diagnostic.primary_span(), &mut source)
        {
            *named = redacted(sources, span);
        }
        MietteView { diagnostic, file, source, related, help: diagnostic.help.clone() }
    }

    fn is_related(&self) -> bool {
        self.help.is_none() && self.related.is_empty() && self.file != self.diagnostic.primary_span().map(|s| s.file)
    }
}

/// The file with the bytes of `span` starred out (same length, so every offset still holds).
fn redacted(sources: &Sources, span: crate::support::source::Span) -> NamedSource<String> {
    let source = sources.get(span.file);
    let mut text = source.text.clone().into_bytes();
    let end = span.end.min(text.len());
    for byte in &mut text[span.start.min(end)..end] {
        if !byte.is_ascii_whitespace() {
            *byte = b'*';
        }
    }
    NamedSource::new(source.path.display().to_string(), String::from_utf8_lossy(&text).into_owned())
}

fn named(sources: &Sources, file: FileId) -> NamedSource<String> {
    let source = sources.get(file);
    NamedSource::new(source.path.display().to_string(), source.text.clone())
}

impl fmt::Debug for MietteView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.diagnostic.message)
    }
}

impl fmt::Display for MietteView<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.is_related() {
            return f.write_str("related location");
        }
        // Notes follow the message, as rustc prints them; the help stays the last word.
        f.write_str(&self.diagnostic.message)?;
        self.diagnostic.notes.iter().try_for_each(|note| write!(f, "\nnote: {note}"))
    }
}

impl std::error::Error for MietteView<'_> {}

impl miette::Diagnostic for MietteView<'_> {
    fn code<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        (!self.is_related()).then(|| Box::new(self.diagnostic.code) as Box<dyn fmt::Display>)
    }

    fn severity(&self) -> Option<miette::Severity> {
        Some(match (self.is_related(), self.diagnostic.severity) {
            (true, _) => miette::Severity::Advice,
            (false, Severity::Error) => miette::Severity::Error,
            (false, Severity::Warning) => miette::Severity::Warning,
        })
    }

    fn help<'b>(&'b self) -> Option<Box<dyn fmt::Display + 'b>> {
        self.help.as_ref().map(|h| Box::new(h.clone()) as Box<dyn fmt::Display>)
    }

    fn source_code(&self) -> Option<&dyn miette::SourceCode> {
        self.source.as_ref().map(|s| s as &dyn miette::SourceCode)
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        let file = self.file?;
        Some(Box::new(self.diagnostic.labels.iter().filter(move |l| l.span.file == file).map(|l| {
            let span = SourceSpan::new(l.span.start.into(), l.span.end - l.span.start);
            if l.primary {
                LabeledSpan::new_primary_with_span(Some(l.message.clone()), span)
            } else {
                LabeledSpan::new_with_span(Some(l.message.clone()), span)
            }
        })))
    }

    fn related<'b>(&'b self) -> Option<Box<dyn Iterator<Item = &'b dyn miette::Diagnostic> + 'b>> {
        (!self.related.is_empty())
            .then(|| Box::new(self.related.iter().map(|r| r as &dyn miette::Diagnostic)) as Box<dyn Iterator<Item = _>>)
    }
}
