//! YAML in and out.
//!
//! Input: a span-keeping tree built from `saphyr-parser` events, under budgets
//! (nesting depth, node count with aliases expanded) so that a hostile file
//! gives a diagnostic instead of exhausting memory. Scalars are typed by the
//! YAML 1.2 core schema, as `saphyr` resolves them.
//!
//! Output: JSON-shaped values emitted as block YAML with `saphyr`'s emitter,
//! keys in insertion order, so the same value always gives the same bytes.

use std::borrow::Cow;
use std::fmt::Write as _;

use saphyr::{Scalar, Yaml, YamlEmitter};
use saphyr_parser::{Event, Parser, ScalarStyle, Span as YamlSpan, Tag};
use serde_json::Value as Json;

use crate::diagnostic::codes::{self, Code};
use crate::diagnostic::{Diagnostic, Label};
use crate::support::pointer;
use crate::support::source::{FileId, SourceFile, Span};

/// Most levels of nesting a document may have.
pub const MAX_DEPTH: usize = 64;
/// Most nodes one document may expand to, aliases counted at every use.
pub const MAX_NODES: usize = 2_000_000;

const TOO_DEEP_HELP: &str = "no input kind needs this much nesting; flatten the document";

/// Longest mapping key, in characters. YAML limits an implicit key to 1,024
/// characters, and the emitter may double a key's length when it quotes it:
/// a longer key would be written as YAML that no parser reads back.
pub const MAX_KEY_CHARS: usize = 500;

/// Why a mapping key cannot be written back as YAML, if it cannot.
fn key_problem(key: &str) -> Option<String> {
    if key.chars().count() > MAX_KEY_CHARS {
        Some(format!("a mapping key longer than {MAX_KEY_CHARS} characters"))
    } else if key.bytes().any(|b| b.is_ascii_control()) {
        Some("a mapping key with a control character".into())
    } else {
        None
    }
}

/// A parsed YAML node with the span of its text.
#[derive(Clone, Debug, PartialEq)]
pub struct Node {
    pub span: Span,
    pub value: Value,
}

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer above `i64::MAX`, which YAML parsers read as a float: kept exact.
    UInt(u64),
    Float(f64),
    String(String),
    Seq(Vec<Node>),
    /// Entries in file order; keys are scalars rendered as strings.
    Map(Vec<Entry>),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Entry {
    pub key: String,
    pub key_span: Span,
    pub value: Node,
}

impl Node {
    pub fn get(&self, key: &str) -> Option<&Node> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == key).map(|e| &e.value),
            _ => None,
        }
    }

    fn child(&self, segment: &str) -> Option<(&Node, Option<Span>)> {
        match &self.value {
            Value::Map(entries) => entries.iter().find(|e| e.key == segment).map(|e| (&e.value, Some(e.key_span))),
            Value::Seq(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)).map(|n| (n, None)),
            _ => None,
        }
    }

    /// The node at a JSON pointer, or the deepest ancestor on its path.
    pub fn nearest(&self, pointer: &str) -> &Node {
        let mut node = self;
        for segment in pointer::segments(pointer) {
            match node.child(&segment) {
                Some((child, _)) => node = child,
                None => break,
            }
        }
        node
    }

    /// The span of the mapping key whose value sits at `pointer`, if the whole path exists.
    pub fn key_span(&self, pointer: &str) -> Option<Span> {
        let mut node = self;
        let mut key_span = None;
        for segment in pointer::segments(pointer) {
            let (child, span) = node.child(&segment)?;
            node = child;
            key_span = span;
        }
        key_span
    }

    /// The JSON value of this tree.
    pub fn to_json(&self) -> Json {
        match &self.value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::UInt(u) => Json::from(*u),
            Value::Float(f) => serde_json::Number::from_f64(*f).map_or(Json::Null, Json::Number),
            Value::String(s) => Json::String(s.clone()),
            Value::Seq(items) => Json::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => Json::Object(entries.iter().map(|e| (e.key.clone(), e.value.to_json())).collect()),
        }
    }
}

/// Parses one YAML document. An empty file is `null`.
pub fn parse(file: FileId, text: &str) -> Result<Node, Diagnostic> {
    let mut roots = build(file, text, false)?;
    Ok(roots.pop().unwrap_or(Node { span: Span::new(file, 0, 0), value: Value::Null }))
}

/// Parses a stream of documents (an emitted multi-document file) into one
/// sequence node, document `i` at pointer `/i`, with spans into the whole text.
pub fn parse_documents(file: FileId, text: &str) -> Result<Node, Diagnostic> {
    let documents = build(file, text, true)?;
    Ok(Node { span: Span::new(file, 0, text.len()), value: Value::Seq(documents) })
}

fn build(file: FileId, text: &str, many: bool) -> Result<Vec<Node>, Diagnostic> {
    let offsets = CharOffsets::new(text);
    let mut builder =
        Builder { file, offsets: &offsets, stack: Vec::new(), anchors: Vec::new(), nodes: 0, roots: Vec::new(), documents: 0, many };
    for event in Parser::new_from_str(text) {
        match event {
            Ok((event, span)) => builder.event(event, span)?,
            Err(error) => {
                let at = offsets.byte(error.marker().index());
                // The scanner counts flow levels in a u8 and stops at 256, ahead of the events the budget sees.
                if error.info() == "recursion limit exceeded" {
                    return Err(builder.limit(
                        Span::new(file, at, at),
                        codes::YAML_TOO_DEEP,
                        format!("nesting deeper than {MAX_DEPTH} levels"),
                        TOO_DEEP_HELP,
                    ));
                }
                return Err(Diagnostic::error(codes::YAML_SYNTAX, format!("invalid YAML: {}", error.info()))
                    .with_label(Label::primary(Span::new(file, at, at), "here"))
                    .with_help("fix the YAML syntax at the marked position"));
            }
        }
    }
    Ok(builder.roots)
}

/// saphyr reports positions in characters; spans are in bytes.
struct CharOffsets {
    /// Byte offset of every character, or empty when the text is ASCII.
    bytes: Vec<usize>,
    len: usize,
}

impl CharOffsets {
    fn new(text: &str) -> Self {
        let bytes = if text.is_ascii() { Vec::new() } else { text.char_indices().map(|(i, _)| i).collect() };
        CharOffsets { bytes, len: text.len() }
    }

    fn byte(&self, char_index: usize) -> usize {
        if self.bytes.is_empty() {
            char_index.min(self.len)
        } else {
            self.bytes.get(char_index).copied().unwrap_or(self.len)
        }
    }
}

/// An open collection; `counted` is the node count before it opened, so its
/// own size is known when it closes.
enum Frame {
    Seq { start: usize, anchor: usize, counted: usize, items: Vec<Node> },
    Map { start: usize, anchor: usize, counted: usize, entries: Vec<Entry>, key: Option<Node> },
}

struct Builder<'a> {
    file: FileId,
    offsets: &'a CharOffsets,
    stack: Vec<Frame>,
    /// Anchor id, the anchored node and the nodes it counts for at every use.
    anchors: Vec<(usize, Node, usize)>,
    nodes: usize,
    roots: Vec<Node>,
    documents: usize,
    /// Whether more than one document is allowed.
    many: bool,
}

impl Builder<'_> {
    fn span(&self, span: YamlSpan) -> Span {
        Span::new(self.file, self.offsets.byte(span.start.index()), self.offsets.byte(span.end.index()))
    }

    fn limit(&self, span: Span, code: &'static Code, message: String, help: &str) -> Diagnostic {
        Diagnostic::error(code, message).with_label(Label::primary(span, "here")).with_help(help.to_string())
    }

    fn count(&mut self, added: usize, span: Span) -> Result<(), Diagnostic> {
        self.nodes = self.nodes.saturating_add(added);
        if self.nodes > MAX_NODES {
            return Err(self.limit(
                span,
                codes::YAML_TOO_LARGE,
                format!("document expands to more than {MAX_NODES} nodes"),
                "aliases are counted at every use: an alias bomb or a generated file this large is refused",
            ));
        }
        Ok(())
    }

    fn event(&mut self, event: Event<'_>, raw_span: YamlSpan) -> Result<(), Diagnostic> {
        let span = self.span(raw_span);
        match event {
            Event::DocumentStart(_) => {
                self.documents += 1;
                if self.documents > 1 && !self.many {
                    return Err(self.limit(
                        span,
                        codes::YAML_MULTIPLE_DOCUMENTS,
                        "this file holds more than one YAML document".into(),
                        "put each document in a file of its own",
                    ));
                }
            }
            Event::Scalar(text, style, anchor, tag) => {
                self.count(1, span)?;
                let value = scalar(text, style, tag.as_ref()).map_err(|(code, message, help)| self.limit(span, code, message, help))?;
                self.push(Node { span, value }, anchor, 1)?;
            }
            Event::Alias(id) => {
                let Some(index) = self.anchors.iter().rposition(|(a, ..)| *a == id) else {
                    return Err(self.limit(
                        span,
                        codes::YAML_SYNTAX,
                        "alias to an unknown anchor".into(),
                        "define the anchor before using it",
                    ));
                };
                // Counted before it is copied: a bomb is refused without building its last expansion.
                let size = self.anchors[index].2;
                self.count(size, span)?;
                let value = self.anchors[index].1.value.clone();
                self.push(Node { span, value }, 0, size)?;
            }
            Event::SequenceStart(anchor, _) => {
                let counted = self.nodes;
                self.open(span)?;
                self.stack.push(Frame::Seq { start: span.start, anchor, counted, items: Vec::new() });
            }
            Event::MappingStart(anchor, _) => {
                let counted = self.nodes;
                self.open(span)?;
                self.stack.push(Frame::Map { start: span.start, anchor, counted, entries: Vec::new(), key: None });
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let (node, anchor, counted) = match self.stack.pop() {
                    Some(Frame::Seq { start, anchor, counted, items }) => {
                        (Node { span: Span::new(self.file, start, span.end), value: Value::Seq(items) }, anchor, counted)
                    }
                    Some(Frame::Map { start, anchor, counted, entries, .. }) => {
                        (Node { span: Span::new(self.file, start, span.end), value: Value::Map(entries) }, anchor, counted)
                    }
                    None => return Ok(()),
                };
                let size = self.nodes - counted;
                self.push(node, anchor, size)?;
            }
            Event::Nothing | Event::StreamStart | Event::StreamEnd | Event::DocumentEnd => {}
        }
        Ok(())
    }

    fn open(&mut self, span: Span) -> Result<(), Diagnostic> {
        self.count(1, span)?;
        if self.stack.len() >= MAX_DEPTH {
            return Err(self.limit(span, codes::YAML_TOO_DEEP, format!("nesting deeper than {MAX_DEPTH} levels"), TOO_DEEP_HELP));
        }
        Ok(())
    }

    /// Adds a finished node (of `size` counted nodes) to the collection it belongs to.
    fn push(&mut self, node: Node, anchor: usize, size: usize) -> Result<(), Diagnostic> {
        if anchor != 0 {
            self.anchors.push((anchor, node.clone(), size));
        }
        match self.stack.last_mut() {
            None => self.roots.push(node),
            Some(Frame::Seq { items, .. }) => items.push(node),
            Some(Frame::Map { entries, key, .. }) => match key.take() {
                None => *key = Some(node),
                Some(key_node) => {
                    let key_span = key_node.span;
                    let key_text = match key_node.value {
                        Value::String(s) => s,
                        Value::Int(i) => i.to_string(),
                        Value::UInt(u) => u.to_string(),
                        Value::Bool(b) => b.to_string(),
                        Value::Float(f) => f.to_string(),
                        Value::Null => "null".into(),
                        Value::Seq(_) | Value::Map(_) => {
                            return Err(self.limit(
                                key_span,
                                codes::YAML_COMPLEX_KEY,
                                "a mapping key must be a scalar".into(),
                                "use a plain string key",
                            ));
                        }
                    };
                    if let Some(problem) = key_problem(&key_text) {
                        return Err(self.limit(key_span, codes::YAML_BAD_KEY, problem, "use a short key of printable characters"));
                    }
                    if let Some(first) = entries.iter().find(|e| e.key == key_text) {
                        let first_span = first.key_span;
                        return Err(Diagnostic::error(codes::YAML_DUPLICATE_KEY, format!("duplicate key `{key_text}`"))
                            .with_label(Label::primary(key_span, "repeated here"))
                            .with_label(Label::secondary(first_span, "first defined here"))
                            .with_help("YAML keys must be unique within a mapping; remove one of them"));
                    }
                    entries.push(Entry { key: key_text, key_span, value: node });
                }
            },
        }
        Ok(())
    }
}

/// A problem with a scalar: (code, message, help).
type ScalarProblem = (&'static Code, String, &'static str);

fn scalar(text: Cow<'_, str>, style: ScalarStyle, tag: Option<&Cow<'_, Tag>>) -> Result<Value, ScalarProblem> {
    // A plain decimal integer is an integer however large: the parser would read one above
    // i64::MAX as a float and lose its last digits.
    let (negative, digits) = match text.strip_prefix('-') {
        Some(digits) => (true, digits),
        None => (false, text.strip_prefix('+').unwrap_or(&text)),
    };
    if style == ScalarStyle::Plain && tag.is_none() && digits.len() > 18 && digits.bytes().all(|b| b.is_ascii_digit()) {
        let out_of_range = || {
            let message = format!("the integer {text} is beyond what a Kubernetes object or JSON Schema holds exactly");
            (codes::YAML_INTEGER_RANGE, message, "quote it to keep it as a string, or stay within -2^63 and 2^64 - 1")
        };
        return match (text.parse::<i64>(), negative) {
            (Ok(i), _) => Ok(Value::Int(i)),
            (Err(_), false) => digits.parse::<u64>().map(Value::UInt).map_err(|_| out_of_range()),
            (Err(_), true) => Err(out_of_range()),
        };
    }
    let mismatch = || (codes::YAML_BAD_SCALAR, "this scalar does not match its tag".to_string(), "remove the tag or fix the value");
    Ok(match Scalar::parse_from_cow_and_metadata(text, style, tag).ok_or_else(mismatch)? {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(b),
        Scalar::Integer(i) => Value::Int(i),
        Scalar::FloatingPoint(f) if f.is_finite() => Value::Float(f.into_inner()),
        Scalar::FloatingPoint(_) => return Err(mismatch()),
        Scalar::String(s) => Value::String(s.into_owned()),
    })
}

/// Parses a multi-document stream (rendered template output, an emitted
/// file) into JSON values, under the same budgets and rules as input files.
pub fn parse_stream(text: &str) -> Result<Vec<Json>, String> {
    match build(FileId(0), text, true) {
        Ok(documents) => Ok(documents.iter().map(Node::to_json).collect()),
        Err(d) => {
            // The text has no file of its own: a throwaway one places the problem.
            let (line, column) = SourceFile::new("", text.to_string()).line_col(d.primary_span().map_or(0, |s| s.start));
            Err(format!("{} at line {line}, column {column}", d.message))
        }
    }
}

/// Renders a JSON value as one YAML document (no `---` header, trailing newline).
pub fn to_yaml(value: &Json) -> String {
    let mut out = String::new();
    let mut emitter = YamlEmitter::new(&mut out);
    emitter.multiline(true);
    // Writing to a String cannot fail, and every value is representable.
    let _ = emitter.dump(&to_saphyr(value));
    let body = out.strip_prefix("---\n").or_else(|| out.strip_prefix("---")).unwrap_or(&out).trim_start_matches(' ');
    format!("{body}\n")
}

/// A JSON value as YAML text that is one value wherever a template writes it: where a whole
/// scalar goes, inside a quoted or block scalar, in a comment or in a flow collection. A string
/// that is a plain word (letters, digits and `._/-`, beginning and ending with a letter or digit,
/// and read back by YAML as that string) is written as it is, so `{{ name }}-web` joins names.
/// Any other string is double-quoted with every character but letters, digits, spaces and `._/-`
/// escaped: no quote, line break, indicator, comma or bracket of it can end the scalar.
pub fn flow_value(value: &Json) -> String {
    let mut out = String::new();
    write_flow(value, &mut out, true);
    out
}

fn write_flow(value: &Json, out: &mut String, bare: bool) {
    match value {
        Json::String(s) if bare && is_plain_word(s) => out.push_str(s),
        Json::String(s) => {
            out.push('"');
            for c in s.chars() {
                // Writing to a String cannot fail.
                match c {
                    'a'..='z' | 'A'..='Z' | '0'..='9' | ' ' | '.' | '_' | '/' | '-' => out.push(c),
                    c if u32::from(c) <= 0xffff => _ = write!(out, "\\u{:04x}", u32::from(c)),
                    c => _ = write!(out, "\\U{:08x}", u32::from(c)),
                }
            }
            out.push('"');
        }
        Json::Array(items) => {
            out.push('[');
            for (i, item) in items.iter().enumerate() {
                out.push_str(if i == 0 { "" } else { ", " });
                write_flow(item, out, false);
            }
            out.push(']');
        }
        Json::Object(map) => {
            out.push('{');
            for (i, (key, item)) in map.iter().enumerate() {
                out.push_str(if i == 0 { "" } else { ", " });
                write_flow(&Json::String(key.clone()), out, false);
                out.push_str(": ");
                write_flow(item, out, false);
            }
            out.push('}');
        }
        // Numbers, booleans and null: their JSON is their YAML.
        other => out.push_str(&other.to_string()),
    }
}

/// Whether `text` can be written bare anywhere: a word YAML reads back as this very string.
fn is_plain_word(text: &str) -> bool {
    let bytes = text.as_bytes();
    let word = |b: &u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'/' | b'-');
    bytes.first().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.last().is_some_and(u8::is_ascii_alphanumeric)
        && bytes.iter().all(word)
        && matches!(scalar(Cow::Borrowed(text), ScalarStyle::Plain, None), Ok(Value::String(_)))
}

/// Renders several JSON values as a multi-document YAML stream.
pub fn to_yaml_stream(values: &[Json]) -> String {
    values.iter().map(|v| format!("---\n{}", to_yaml(v))).collect()
}

fn to_saphyr(value: &Json) -> Yaml<'static> {
    match value {
        Json::Null => Yaml::Value(Scalar::Null),
        Json::Bool(b) => Yaml::Value(Scalar::Boolean(*b)),
        Json::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => Yaml::Value(Scalar::Integer(i)),
            // saphyr's integers are i64: a larger one is written as it is.
            (None, Some(u)) => Yaml::Representation(Cow::Owned(u.to_string()), ScalarStyle::Plain, None),
            (None, None) => Yaml::Value(Scalar::FloatingPoint(n.as_f64().unwrap_or_default().into())),
        },
        Json::String(s) => Yaml::Value(Scalar::String(Cow::Owned(s.clone()))),
        Json::Array(items) => Yaml::Sequence(items.iter().map(to_saphyr).collect()),
        Json::Object(map) => {
            Yaml::Mapping(map.iter().map(|(k, v)| (Yaml::Value(Scalar::String(Cow::Owned(k.clone()))), to_saphyr(v))).collect())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_json(text: &str) -> Json {
        parse(FileId(0), text).map(|n| n.to_json()).unwrap_or_else(|d| panic!("{}", d.message))
    }

    #[test]
    fn integers_stay_exact_up_to_64_bits() {
        let text = "max: 18446744073709551615\nabove_i64: 9223372036854775808\nmin: -9223372036854775808\nplus: +10000000000000000000\n";
        let value = parse_json(text);
        assert_eq!(value["max"], json!(u64::MAX));
        assert_eq!(value["above_i64"], json!(9_223_372_036_854_775_808_u64));
        assert_eq!(value["min"], json!(i64::MIN));
        assert_eq!(value["plus"], json!(10_000_000_000_000_000_000_u64));
        let written = to_yaml(&value);
        assert_eq!(
            written,
            "max: 18446744073709551615\nabove_i64: 9223372036854775808\nmin: -9223372036854775808\nplus: 10000000000000000000\n"
        );
        assert_eq!(parse_json(&written), value, "what is written reads back the same");
        // Quoted, tagged or a float: not taken for an integer.
        assert_eq!(parse_json("q: '18446744073709551616'")["q"], json!("18446744073709551616"));
        assert_eq!(parse_json("f: 1.8e19")["f"], json!(1.8e19));
        for beyond in ["big: 18446744073709551616", "small: -9223372036854775809"] {
            let problem = parse(FileId(0), beyond).unwrap_err();
            assert_eq!(problem.code, codes::YAML_INTEGER_RANGE, "{beyond}");
            assert_eq!(problem.primary_span().map(|s| s.start), Some(beyond.find(": ").unwrap() + 2), "{beyond}");
        }
    }

    #[test]
    fn spans_point_at_values_and_keys() {
        let text = "a:\n  b: [1, two]\n";
        let root = parse(FileId(0), text).unwrap();
        let node = root.nearest("/a/b/1");
        assert_eq!(&text[node.span.start..node.span.end], "two");
        let key = root.key_span("/a/b").unwrap();
        assert_eq!(&text[key.start..key.end], "b");
        assert_eq!(root.nearest("/a/missing/x").span, root.nearest("/a").span);
    }

    #[test]
    fn documents_of_a_stream_are_indexed_with_spans_into_the_whole_text() {
        let text = to_yaml_stream(&[json!({"kind": "A"}), json!({"kind": "B", "spec": {"x": [1, 2]}})]);
        let root = parse_documents(FileId(0), &text).unwrap();
        let node = root.nearest("/1/spec/x/1");
        assert_eq!(&text[node.span.start..node.span.end], "2");
        let key = root.key_span("/1/kind").unwrap();
        assert_eq!(&text[key.start..key.end], "kind");
        assert!(key.start > text.find("B").unwrap() - 10, "the second document's key, not the first's");
        assert_eq!(parse(FileId(0), &text).unwrap_err().code, codes::YAML_MULTIPLE_DOCUMENTS);
    }

    #[test]
    fn keys_that_could_not_be_written_back_are_refused() {
        let long = format!("{}: 1\n", "k".repeat(MAX_KEY_CHARS + 1));
        assert_eq!(parse(FileId(0), &long).unwrap_err().code, codes::YAML_BAD_KEY);
        assert_eq!(parse(FileId(0), "\"a\\u0018b\": 1\n").unwrap_err().code, codes::YAML_BAD_KEY);
        assert!(parse_stream("\"a\\u0001\": 1\n").is_err(), "rendered template output too");
        // Streams are read by the same rules: a duplicate key is refused, named with its line.
        let duplicate = parse_stream("---\na: 1\n---\nb: 1\nb: 2\n").unwrap_err();
        assert_eq!(duplicate, "duplicate key `b` at line 5, column 1");
        // The longest key allowed, in its most expanded quoted form, still reads back.
        let quoted = json!({"\"".repeat(MAX_KEY_CHARS): 1});
        assert_eq!(parse_json(&to_yaml(&quoted)), quoted);
    }

    #[test]
    fn core_schema_scalars() {
        assert_eq!(parse_json("[1, '1', true, 'yes', yes, null, ~, 1.5, '']"), json!([1, "1", true, "yes", "yes", null, null, 1.5, ""]));
    }

    #[test]
    fn duplicate_keys_and_bombs_are_refused() {
        assert_eq!(parse(FileId(0), "a: 1\na: 2\n").unwrap_err().code, codes::YAML_DUPLICATE_KEY);
        let mut bomb = String::from("a: &a [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 0..12 {
            let prev = if i == 0 { "a".to_string() } else { format!("l{}", i - 1) };
            bomb.push_str(&format!(
                "l{i}: &l{i} [*{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}, *{prev}]\n"
            ));
        }
        assert_eq!(parse(FileId(0), &bomb).unwrap_err().code, codes::YAML_TOO_LARGE);
        let deep = "[".repeat(MAX_DEPTH + 5) + &"]".repeat(MAX_DEPTH + 5);
        assert!(matches!(parse(FileId(0), &deep).unwrap_err().code, codes::YAML_TOO_DEEP | codes::YAML_SYNTAX));
    }

    #[test]
    fn emitted_yaml_reads_back_identically() {
        let value = json!({"s": "yes", "n": "0755", "e": "", "m": "a\nb\n", "k": "a: b", "l": [[1], {}], "f": 1.5, "o": {}});
        let text = to_yaml(&value);
        assert!(!text.starts_with("---"));
        assert_eq!(parse_json(&text), value);
    }
}
