//! JSON pointers (RFC 6901), the one way every stage names a place in a
//! document: built segment by segment, split back, looked up, and shown to
//! users in the dotted form of Helm values.

use std::borrow::Cow;

use serde_json::Value as Json;

/// A segment as a pointer writes it: `~` as `~0`, `/` as `~1`.
pub fn escape(segment: &str) -> Cow<'_, str> {
    if segment.contains(['~', '/']) {
        Cow::Owned(segment.replace('~', "~0").replace('/', "~1"))
    } else {
        Cow::Borrowed(segment)
    }
}

/// The pointer to the member `segment` of the value at `pointer`.
pub fn child(pointer: &str, segment: &str) -> String {
    format!("{pointer}/{}", escape(segment))
}

/// `/a/b/0` as `a.b.0`, as Helm values paths and messages write it.
pub fn dotted(pointer: &str) -> String {
    pointer.trim_start_matches('/').replace('/', ".")
}

/// Splits a JSON pointer into unescaped segments (copied only when they hold an escape).
pub fn segments(pointer: &str) -> impl Iterator<Item = Cow<'_, str>> + '_ {
    pointer.split('/').skip(1).map(|s| if s.contains('~') { Cow::Owned(s.replace("~1", "/").replace("~0", "~")) } else { Cow::Borrowed(s) })
}

/// The value at a JSON pointer; unlike `Value::pointer`, it allocates nothing for plain segments.
pub fn get<'v>(value: &'v Json, pointer: &str) -> Option<&'v Json> {
    segments(pointer).try_fold(value, |node, segment| match node {
        // Kubernetes objects are small maps: a scan beats hashing the key.
        Json::Object(map) if map.len() <= 8 => map.iter().find_map(|(key, value)| (*key == *segment).then_some(value)),
        Json::Object(map) => map.get(&*segment),
        Json::Array(items) => items.get(segment.parse::<usize>().ok()?),
        _ => None,
    })
}
