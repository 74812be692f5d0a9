//! Hiding secrets in the two sides of a changed resource, together, so that a secret that changed still
//! shows as changed (`<redacted>` becoming `<redacted (changed)>`) while its value never shows.
//!
//! Hidden: every value of a Secret's `data` and `stringData`; values under secret-looking keys anywhere
//! (`secrets::is_secret_field`); and, inside text values (config files embedded in ConfigMaps, JSON in
//! annotations), the same keys, found by parsing the text as YAML or JSON when it parses, else line by line.

use super::compare::Parsed;
use super::path::pair_items;
use crate::secrets::{self, MASK, MASK_CHANGED};
use crate::yaml::{Node, Value};
use serde_json::Value as Json;
use std::borrow::Cow;
use std::collections::HashMap;
use std::ops::Range;

/// Hides the secrets of a resource pair, where `is_secret` says whether the resource is a Kubernetes Secret.
pub fn hide_resource(
    mut old: Option<&mut Json>,
    mut new: Option<&mut Json>,
    is_secret: bool,
    parsed: &mut Parsed,
) {
    let level = if is_secret {
        Hidden::SecretObject
    } else {
        Hidden::No
    };
    if is_secret {
        // kubectl's copy of what it last applied holds the Secret's data: hidden whole.
        let a = old.as_deref_mut().and_then(last_applied);
        let b = new.as_deref_mut().and_then(last_applied);
        replace_pair(a, b);
    }
    visit(old, new, level, parsed);
}

fn last_applied(object: &mut Json) -> Option<&mut Json> {
    object.pointer_mut(secrets::LAST_APPLIED_POINTER)
}

/// How secret the value being visited is.
#[derive(Clone, Copy, PartialEq)]
enum Hidden {
    /// An ordinary value.
    No,
    /// The value itself is secret.
    Yes,
    /// A Secret object: its `data` and `stringData` entries are secret.
    SecretObject,
    /// A Secret's `data` or `stringData`: every entry is secret.
    AllEntries,
}

fn visit(old: Option<&mut Json>, new: Option<&mut Json>, level: Hidden, parsed: &mut Parsed) {
    if level == Hidden::Yes && (hideable(&old) || hideable(&new)) {
        return replace_pair(old, new);
    }
    if let (Some(a), Some(b)) = (&old, &new) {
        if shape(a) != shape(b) {
            visit(old, None, level, parsed);
            return visit(None, new, level, parsed);
        }
    }
    match old.as_deref().or(new.as_deref()).map(shape) {
        Some(Shape::Object) => visit_objects(old, new, level, parsed),
        Some(Shape::Text) => hide_strings(old, new, parsed),
        Some(Shape::List) => {
            let mut a = old.and_then(Json::as_array_mut);
            let mut b = new.and_then(Json::as_array_mut);
            let (items_a, items_b) = (
                a.as_deref().map_or(&[][..], Vec::as_slice),
                b.as_deref().map_or(&[][..], Vec::as_slice),
            );
            let pairs = pair_items(items_a, items_b);
            let flagged =
                |items: &[Json]| secrets::after_secret_flags(items.iter().map(Json::as_str));
            let (secret_a, secret_b) = (flagged(items_a), flagged(items_b));
            for (i, j, _) in pairs {
                let secret = i.is_some_and(|i| secret_a[i]) || j.is_some_and(|j| secret_b[j]);
                let x = i.and_then(|i| a.as_mut().map(|a| &mut a[i]));
                let y = j.and_then(|j| b.as_mut().map(|b| &mut b[j]));
                let level = if secret { Hidden::Yes } else { Hidden::No };
                visit(x, y, level, parsed);
            }
        }
        Some(Shape::Other) | None => {}
    }
}

#[derive(PartialEq)]
enum Shape {
    Object,
    List,
    Text,
    Other,
}

fn shape(v: &Json) -> Shape {
    match v {
        Json::Object(_) => Shape::Object,
        Json::Array(_) => Shape::List,
        Json::String(_) => Shape::Text,
        _ => Shape::Other,
    }
}

/// A value worth hiding: not a mapping (its own keys are looked at), not null, not empty text (showing that a
/// secret is unset reveals nothing and helps).
fn hideable(v: &Option<&mut Json>) -> bool {
    v.as_deref().is_some_and(worth_hiding)
}

fn worth_hiding(v: &Json) -> bool {
    !v.is_object() && !v.is_null() && v.as_str() != Some("")
}

fn visit_objects(
    old: Option<&mut Json>,
    new: Option<&mut Json>,
    level: Hidden,
    parsed: &mut Parsed,
) {
    let (old, new) = (as_object(old), as_object(new));
    let mut keys: Vec<String> = new
        .as_ref()
        .map_or_else(Vec::new, |m| m.keys().cloned().collect());
    if let Some(m) = &old {
        keys.extend(
            m.keys()
                .filter(|k| !new.as_ref().is_some_and(|n| n.contains_key(*k)))
                .cloned(),
        );
    }
    let old_name = old
        .as_ref()
        .and_then(|m| m.get("name"))
        .and_then(Json::as_str)
        .map(str::to_string);
    let new_name = new
        .as_ref()
        .and_then(|m| m.get("name"))
        .and_then(Json::as_str)
        .map(str::to_string);
    let name = new_name.or(old_name);
    let (mut old, mut new) = (old, new);
    for key in keys {
        let child = match level {
            Hidden::AllEntries => Hidden::Yes,
            Hidden::SecretObject if key == "data" || key == "stringData" => Hidden::AllEntries,
            _ if secrets::is_secret_field(&key, name.as_deref()) => Hidden::Yes,
            _ => Hidden::No,
        };
        let a = old.as_mut().and_then(|m| m.get_mut(&key));
        let b = new.as_mut().and_then(|m| m.get_mut(&key));
        visit(a, b, child, parsed);
    }
}

fn as_object(v: Option<&mut Json>) -> Option<&mut serde_json::Map<String, Json>> {
    v.and_then(|v| v.as_object_mut())
}

/// Hides secrets inside two text values (either may be absent). The old side is read once, for itself and for
/// the new side's comparison with it. A text that holds no secret is left as it is.
fn hide_strings(old: Option<&mut Json>, new: Option<&mut Json>, parsed: &mut Parsed) {
    let (old, new) = (old.and_then(as_text), new.and_then(as_text));
    if let (Some(a), Some(b)) = (&old, &new) {
        if a == b {
            if let Some(hidden) = OldText::read(a, parsed).hidden() {
                return [old, new]
                    .into_iter()
                    .flatten()
                    .for_each(|s| *s = hidden.clone());
            }
            return;
        }
    }
    let mut old_text = old.as_deref().map(|o| OldText::read(o, parsed));
    let new_hidden = new
        .as_deref()
        .and_then(|n| hide_in_text(n, old_text.as_mut(), parsed));
    let old_hidden = old_text.and_then(OldText::hidden);
    if let (Some(s), Some(hidden)) = (new, new_hidden) {
        *s = hidden;
    }
    if let (Some(s), Some(hidden)) = (old, old_hidden) {
        *s = hidden;
    }
}

fn as_text(v: &mut Json) -> Option<&mut String> {
    match v {
        Json::String(s) => Some(s),
        _ => None,
    }
}

/// Replaces both sides with the mask; the new side says `changed` when it differs from the old one.
fn replace_pair(old: Option<&mut Json>, new: Option<&mut Json>) {
    let same = match (&old, &new) {
        (Some(a), Some(b)) => **a == **b,
        _ => true,
    };
    if let Some(v) = old.filter(|v| worth_hiding(v)) {
        *v = Json::String(MASK.into());
    }
    if let Some(v) = new.filter(|v| worth_hiding(v)) {
        *v = Json::String(if same { MASK } else { MASK_CHANGED }.into());
    }
}

/// The new side's text with its secrets hidden (None when it holds none). With the old side given, a secret
/// that differs from the old one is shown as changed.
fn hide_in_text(text: &str, old: Option<&mut OldText>, parsed: &mut Parsed) -> Option<String> {
    if !secrets::may_hold_secret(text) {
        return None;
    }
    let before = old.as_ref().map(|o| &o.before);
    let structured = hide_structured(text, parsed_secrets(text, parsed), before);
    Some(match old {
        Some(old) => {
            let (old, old_masked) = old.lines();
            hide_lines(&structured, old, old_masked)
        }
        None => secrets::mask_text(&structured),
    })
}

/// The old side of a text, read once: the secrets found in it by parsing (by path, with their values), the
/// text with those hidden, and then hidden line by line (`hidden`).
struct OldText<'a> {
    may_hold: bool,
    before: HashMap<String, String>,
    structured: Cow<'a, str>,
    masked: Option<String>,
}

impl<'a> OldText<'a> {
    fn read(text: &'a str, parsed: &mut Parsed) -> OldText<'a> {
        let may_hold = secrets::may_hold_secret(text);
        let found = if may_hold {
            parsed_secrets(text, parsed)
        } else {
            None
        };
        let before = found
            .iter()
            .flatten()
            .map(|f| (f.path.clone(), f.value.clone()))
            .collect();
        OldText {
            may_hold,
            before,
            structured: hide_structured(text, found, None),
            masked: None,
        }
    }

    /// The text with the secrets found by parsing hidden, and the same hidden line by line as well.
    fn lines(&mut self) -> (&str, &str) {
        let masked = self
            .masked
            .get_or_insert_with(|| secrets::mask_text(&self.structured));
        (&self.structured, masked)
    }

    /// The text with its secrets hidden, or None when it holds none.
    fn hidden(self) -> Option<String> {
        match (self.may_hold, self.masked) {
            (false, _) => None,
            (true, Some(masked)) => Some(masked),
            (true, None) => Some(secrets::mask_text(&self.structured)),
        }
    }
}

/// One secret value found inside a text: where it is, and the path and value that identify it.
struct Found {
    path: String,
    range: Range<usize>,
    value: String,
}

/// Hides the secret values `found` in a text that parses as YAML or JSON with a mapping or list in it. With the
/// old side's secrets (`before`, by path) given, one whose value differs is shown as changed.
fn hide_structured<'a>(
    text: &'a str,
    found: Option<Vec<Found>>,
    before: Option<&HashMap<String, String>>,
) -> Cow<'a, str> {
    let Some(mut found) = found else {
        return Cow::Borrowed(text);
    };
    found.sort_by_key(|f| std::cmp::Reverse(f.range.start));
    found.dedup_by_key(|f| f.range.start);
    let mut out = text.to_string();
    for f in found {
        let changed = before.is_some_and(|b| b.get(&f.path).is_some_and(|v| *v != f.value));
        let mask = if changed { MASK_CHANGED } else { MASK };
        let hidden = hidden_keeping_lines(&text[f.range.clone()], mask);
        out.replace_range(f.range, &hidden);
    }
    Cow::Owned(out)
}

/// The text of a scalar hidden with as many lines as it had, so that the lines after it keep their numbers: a
/// block scalar keeps its header and each line shows the mask; a scalar written over several lines otherwise
/// is the mask followed by blank lines.
fn hidden_keeping_lines(value: &str, mask: &str) -> String {
    let Some((header, body)) = value.split_once('\n') else {
        return mask.to_string();
    };
    let header = header.trim_end_matches('\r');
    if header.starts_with(['|', '>']) {
        let mut out = format!("{header}\n");
        for line in body.split_inclusive('\n') {
            let text = line.trim_end_matches(['\n', '\r']);
            if text.trim().is_empty() {
                out.push_str(line);
            } else {
                let pad = text.len() - text.trim_start().len();
                out.push_str(&text[..pad]);
                out.push_str(mask);
                out.push_str(&line[text.len()..]);
            }
        }
        return out;
    }
    let mut out = mask.to_string();
    out.extend(std::iter::repeat_n('\n', value.matches('\n').count()));
    out
}

/// The secret values of a text that parses as YAML or JSON with a mapping or list in it, for a text that
/// `secrets::may_hold_secret` already let through.
fn parsed_secrets(text: &str, parsed: &mut Parsed) -> Option<Vec<Found>> {
    let t = text.trim_start();
    let worth = text.contains('\n') || t.starts_with('{') || t.starts_with('[');
    if !worth {
        return None;
    }
    let docs = parsed.documents(text)?;
    let mut found = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        collect(doc, &i.to_string(), &mut found);
    }
    Some(found)
}

fn collect(node: &Node, path: &str, found: &mut Vec<Found>) {
    match &node.value {
        Value::Map(entries) => {
            let name = node.get("name").and_then(Node::as_str);
            for (k, v) in entries {
                let key = k.key_text().unwrap_or_default();
                let here = format!("{path}.{key}");
                let empty = matches!(&v.value, Value::Str(t) if t.is_empty());
                let scalar =
                    !empty && !matches!(v.value, Value::Map(_) | Value::Seq(_) | Value::Null);
                if scalar && secrets::is_secret_field(&key, name) {
                    found.push(Found {
                        path: here,
                        range: v.span.bytes(),
                        value: v.to_json().to_string(),
                    });
                } else {
                    collect(v, &here, found);
                }
            }
        }
        Value::Seq(items) => {
            let after = secrets::after_secret_flags(items.iter().map(Node::as_str));
            for (i, (item, secret)) in items.iter().zip(after).enumerate() {
                let here = format!("{path}[{i}]");
                if secret && matches!(item.value, Value::Str(_) | Value::Int(_) | Value::Float(_)) {
                    found.push(Found {
                        path: here,
                        range: item.span.bytes(),
                        value: item.to_json().to_string(),
                    });
                } else {
                    collect(item, &here, found);
                }
            }
        }
        _ => {}
    }
}

/// Line-by-line hiding (`secrets::mask_text`) for what the structured pass cannot see, against the old side's
/// text (`old`, hidden line by line: `old_masked`). A line whose hidden form equals the old side's line at the
/// same place, while the lines themselves differ, is marked as changed.
fn hide_lines(text: &str, old: &str, old_masked: &str) -> String {
    let masked = secrets::mask_text(text);
    let mut out = String::with_capacity(masked.len());
    let mut old_pairs = old
        .split_inclusive('\n')
        .zip(old_masked.split_inclusive('\n'));
    for (raw, line) in text.split_inclusive('\n').zip(masked.split_inclusive('\n')) {
        let marked = match old_pairs.next() {
            Some((old_raw, old_line))
                if old_line == line && old_raw != raw && line.contains(MASK) =>
            {
                line.replacen(MASK, MASK_CHANGED, 1)
            }
            _ => line.to_string(),
        };
        out.push_str(&marked);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn pair(mut old: Json, mut new: Json, is_secret: bool) -> (Json, Json) {
        let parsed = &mut Parsed::default();
        hide_resource(Some(&mut old), Some(&mut new), is_secret, parsed);
        (old, new)
    }

    #[test]
    fn secret_data_shows_which_keys_changed_only() {
        let (o, n) = pair(
            json!({"kind": "Secret", "data": {"a": "b2xk", "same": "eA==", "gone": "eQ=="}}),
            json!({"kind": "Secret", "data": {"a": "bmV3", "same": "eA==", "added": "eg=="}}),
            true,
        );
        assert_eq!(o["data"], json!({"a": MASK, "same": MASK, "gone": MASK}));
        assert_eq!(
            n["data"],
            json!({"a": MASK_CHANGED, "same": MASK, "added": MASK})
        );
        assert_eq!(n["kind"], json!("Secret"));
    }

    #[test]
    fn secret_keys_and_env_entries_anywhere() {
        let (o, n) = pair(
            json!({"env": [{"name": "CRA_HOST_JOIN_TOKEN", "value": "jt-1"}], "password": "a"}),
            json!({"env": [{"name": "CRA_HOST_JOIN_TOKEN", "value": "jt-1"}], "password": "b"}),
            false,
        );
        assert_eq!(
            o,
            json!({"env": [{"name": "CRA_HOST_JOIN_TOKEN", "value": MASK}], "password": MASK})
        );
        assert_eq!(n["password"], json!(MASK_CHANGED));
    }

    #[test]
    fn named_items_are_hidden_pairwise_by_name() {
        let (_, n) = pair(
            json!({"env": [{"name": "DB_PASSWORD", "value": "p1"}]}),
            json!({"env": [{"name": "HOST", "value": "h"}, {"name": "DB_PASSWORD", "value": "p1"}]}),
            false,
        );
        assert_eq!(
            n["env"][1]["value"],
            json!(MASK),
            "the same password, not a changed one"
        );
    }

    #[test]
    fn embedded_config_keeps_its_text_and_hides_the_token() {
        let old = "host:\n  join_token: jt-EXAMPLE-0001\n  private_region: true\n";
        let new = "host:\n  join_token: \"jt-OTHER\"\n  private_region: false\n";
        let (o, n) = pair(
            json!({"data": {"config.yaml": old}}),
            json!({"data": {"config.yaml": new}}),
            false,
        );
        assert_eq!(
            o["data"]["config.yaml"],
            json!("host:\n  join_token: <redacted>\n  private_region: true\n")
        );
        assert_eq!(
            n["data"]["config.yaml"],
            json!("host:\n  join_token: <redacted (changed)>\n  private_region: false\n")
        );
    }

    #[test]
    fn text_that_is_not_yaml_is_hidden_line_by_line() {
        let old = "#!/bin/sh\nexport API_TOKEN=abc {\necho [x\n";
        let new = "#!/bin/sh\nexport API_TOKEN=def {\necho [x\n";
        let (o, n) = pair(json!({"script": old}), json!({"script": new}), false);
        let (o, n) = (o["script"].as_str().unwrap(), n["script"].as_str().unwrap());
        assert!(!o.contains("abc") && !n.contains("def"), "{o}{n}");
        assert!(n.contains(MASK_CHANGED), "{n}");
    }
}
