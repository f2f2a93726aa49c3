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
/// Whatever precedes the first `/` is not a segment. A byte scan: the pointers are short, and
/// looked up for every field the checks read.
pub fn segments(pointer: &str) -> impl Iterator<Item = Cow<'_, str>> + '_ {
    let mut rest = pointer.find('/').map_or("", |start| &pointer[start..]);
    std::iter::from_fn(move || {
        let tail = rest.strip_prefix('/')?;
        let end = tail.bytes().position(|b| b == b'/').unwrap_or(tail.len());
        let (segment, after) = tail.split_at(end);
        rest = after;
        Some(if segment.bytes().any(|b| b == b'~') {
            Cow::Owned(segment.replace("~1", "/").replace("~0", "~"))
        } else {
            Cow::Borrowed(segment)
        })
    })
}

/// The value at a JSON pointer; unlike `Value::pointer`, it allocates nothing for plain segments.
pub fn get<'v>(value: &'v Json, pointer: &str) -> Option<&'v Json> {
    segments(pointer).try_fold(value, |node, segment| match node {
        Json::Array(items) => items.get(segment.parse::<usize>().ok()?),
        node => member(node, &segment),
    })
}

/// The member `key` of an object; unlike `Value::get`, a small map is scanned, not hashed.
pub fn member<'v>(value: &'v Json, key: &str) -> Option<&'v Json> {
    match value {
        // Kubernetes objects are small maps: a scan beats hashing the key.
        Json::Object(map) if map.len() <= 8 => map.iter().find_map(|(name, value)| same(name, key).then_some(value)),
        Json::Object(map) => map.get(key),
        _ => None,
    }
}

/// Key equality that compares lengths and first bytes before the bytes: an object's keys
/// mostly differ there already.
fn same(key: &str, segment: &str) -> bool {
    key.len() == segment.len() && key.as_bytes().first() == segment.as_bytes().first() && key == segment
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn segments_are_what_follows_each_slash_unescaped() {
        let split = |pointer: &str| segments(pointer).map(Cow::into_owned).collect::<Vec<_>>();
        assert_eq!(split(""), Vec::<String>::new());
        assert_eq!(split("/"), [""]);
        assert_eq!(split("/a//b"), ["a", "", "b"]);
        assert_eq!(split("/a/"), ["a", ""]);
        assert_eq!(split("x/b"), ["b"]);
        assert_eq!(split("/metadata/labels/app~1name/x~0y~01"), ["metadata", "labels", "app/name", "x~y~1"]);
    }

    #[test]
    fn get_finds_members_and_items() {
        let value = serde_json::json!({"spec": {"a/b": [1, {"kind": "K", "kinx": "L"}]}});
        assert_eq!(get(&value, "/spec/a~1b/1/kinx"), Some(&serde_json::json!("L")));
        assert_eq!(get(&value, "/spec/a~1b/0"), Some(&serde_json::json!(1)));
        assert_eq!(get(&value, "/spec/a~1b/2"), None);
        assert_eq!(get(&value, "/spec/missing"), None);
        assert_eq!(get(&value, ""), Some(&value));
    }
}
