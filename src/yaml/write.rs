//! The canonical YAML text of an object: one way to write each meaning, so that two documents that mean the
//! same thing read the same, and a line-by-line diff of the texts shows only real changes.
//!
//! Keys keep the value's own order (the diff first re-orders its old side to follow the new one: diff/order.rs).
//! That order is the one the chart's authors chose (`apiVersion`, `kind`, `metadata`, `spec`; a container's
//! `name` first), which reads better than sorted keys, and it is still fully determined by the inputs. Strings are quoted exactly when Helm's YAML 1.1 would read them as something
//! else (`"yes"`, `"0755"`, `"1.0"`, `"null"`), so a string never looks like a boolean or a number; multi-line
//! strings are literal blocks, so embedded config files read as files.

use crate::printable::{double_quoted, escaped};
use crate::yaml::{self, Value};
use serde_json::{Map, Value as Json};

/// The canonical text of a value, ending with a newline.
pub fn render(value: &Json) -> String {
    let mut out = String::new();
    match value {
        Json::Object(map) if !map.is_empty() => write_entries(&mut out, map, 0, true),
        Json::Array(items) if !items.is_empty() => write_items(&mut out, items, 0),
        other => {
            write_inline(&mut out, other, 0);
        }
    }
    out
}

fn pad(out: &mut String, indent: usize) {
    out.extend(std::iter::repeat_n(' ', indent));
}

/// The longest key YAML reads without `?` (an implicit key is limited to 1,024 characters; margin for the `:`).
const IMPLICIT_KEY_MAX: usize = 1000;

/// Writes mapping entries at `indent`; the first one without padding when it follows a list dash.
fn write_entries(out: &mut String, map: &Map<String, Json>, indent: usize, pad_first: bool) {
    for (i, (key, value)) in map.iter().enumerate() {
        if i > 0 || pad_first {
            pad(out, indent);
        }
        let key = scalar_text(key);
        // Bytes first: counting characters is only needed for the rare key that long in bytes (the diff writes
        // every key of a render).
        if key.len() > IMPLICIT_KEY_MAX && key.chars().count() > IMPLICIT_KEY_MAX {
            out.push_str("? ");
            out.push_str(&key);
            out.push('\n');
            pad(out, indent);
        } else {
            out.push_str(&key);
        }
        out.push(':');
        write_value(out, value, indent);
    }
}

/// Writes what follows `key:` (or a list dash) for a value whose parent sits at `indent`.
fn write_value(out: &mut String, value: &Json, indent: usize) {
    match value {
        Json::Object(map) if !map.is_empty() => {
            out.push('\n');
            write_entries(out, map, indent + 2, true);
        }
        Json::Array(items) if !items.is_empty() => {
            out.push('\n');
            write_items(out, items, indent + 2);
        }
        other => {
            out.push(' ');
            write_inline(out, other, indent + 2);
        }
    }
}

fn write_items(out: &mut String, items: &[Json], indent: usize) {
    for item in items {
        pad(out, indent);
        match item {
            Json::Object(map) if !map.is_empty() => {
                out.push_str("- ");
                write_entries(out, map, indent + 2, false);
            }
            Json::Array(inner) if !inner.is_empty() => {
                out.push_str("-\n");
                write_items(out, inner, indent + 2);
            }
            other => {
                out.push_str("- ");
                write_inline(out, other, indent + 2);
            }
        }
    }
}

/// A scalar, an empty collection, or a literal block whose lines sit at `indent`.
fn write_inline(out: &mut String, value: &Json, indent: usize) {
    match value {
        Json::String(s) if is_block(s) => write_block(out, s, indent),
        Json::String(s) => out.push_str(&scalar_text(s)),
        Json::Null => out.push_str("null"),
        Json::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Json::Number(n) => out.push_str(&number_text(n)),
        Json::Object(_) => out.push_str("{}"),
        Json::Array(_) => out.push_str("[]"),
    }
    if !out.ends_with('\n') {
        out.push('\n');
    }
}

fn number_text(n: &serde_json::Number) -> String {
    match n.as_f64() {
        Some(f) if n.is_f64() => format!("{f:?}"),
        _ => n.to_string(),
    }
}

/// Multi-line text of printable characters is written as a literal block.
fn is_block(s: &str) -> bool {
    s.contains('\n')
        && !s.trim_end_matches('\n').is_empty()
        && !s.chars().any(|c| escaped(c) && c != '\n' && c != '\t')
}

fn write_block(out: &mut String, s: &str, indent: usize) {
    let body = s.strip_suffix('\n').unwrap_or(s);
    out.push('|');
    if s.starts_with([' ', '\t']) || s.starts_with('\n') {
        out.push('2');
    }
    if !s.ends_with('\n') {
        out.push('-');
    } else if body.ends_with('\n') {
        out.push('+');
    }
    out.push('\n');
    for line in body.split('\n') {
        if !line.is_empty() {
            pad(out, indent);
            out.push_str(line);
        }
        out.push('\n');
    }
}

/// A string as a plain scalar when YAML 1.1 reads it back as the same string, else double-quoted.
pub fn scalar_text(s: &str) -> String {
    if plain_ok(s) {
        s.to_string()
    } else {
        double_quoted(s)
    }
}

fn plain_ok(s: &str) -> bool {
    let Some(first) = s.chars().next() else {
        return false;
    };
    let second = s.chars().nth(1);
    let indicator = "-?:,[]{}#&*!|>'\"%@`".contains(first);
    let dash_like = matches!(first, '-' | '?' | ':') && second.is_some_and(|c| c != ' ');
    s.trim() == s
        && (!indicator || dash_like)
        && !s.contains(": ")
        && !s.contains(" #")
        && !s.ends_with(':')
        && !s.chars().any(escaped)
        && !matches!(s, "<<" | "=")
        && !looks_like_date(s)
        && matches!(yaml::resolve_plain(s), Value::Str(_))
}

/// YAML 1.1 timestamps (`2024-01-31`, `2024-01-31T10:00:00Z`) may be read as dates: quote them.
fn looks_like_date(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 8 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-' && b[5].is_ascii_digit()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn canon(yaml_text: &str) -> String {
        render(&crate::yaml::parse(yaml_text).unwrap()[0].to_json())
    }

    #[test]
    fn keys_too_long_to_be_implicit_are_explicit() {
        let long = "k".repeat(1500);
        let value = json!({"a": [{&long: {&long: 1}, "b": 2}], &long: "x"});
        let text = render(&value);
        assert!(text.contains(&format!("? {long}\n")), "{text}");
        assert_eq!(
            crate::yaml::parse(&text).unwrap()[0].to_json(),
            value,
            "{text}"
        );
    }

    #[test]
    fn same_meaning_same_text() {
        let a = canon(
            "kind: A\nmetadata: {name: x, labels: {'a': \"1\"}}\nspec:\n- b: 0x10\n  c: 'text'\n",
        );
        let b = canon("kind: A\nmetadata:\n  name: \"x\"\n  labels:\n    a: '1'\nspec:\n  - {b: 16, c: text}\n");
        assert_eq!(a, b);
        assert_eq!(a, "kind: A\nmetadata:\n  name: x\n  labels:\n    a: \"1\"\nspec:\n  - b: 16\n    c: text\n");
    }

    #[test]
    fn strings_that_yaml_11_would_misread_are_quoted() {
        let t = canon("a: 'yes'\nb: 'on'\nc: '0755'\nd: '1.0'\ne: 'null'\nf: ''\ng: '2024-01-31'\nh: yes\ni: '-x'\nj: 'a: b'\nk: v1.2.3\nl: 1.0\nm: ' x'\n");
        assert_eq!(
            t,
            "a: \"yes\"\nb: \"on\"\nc: \"0755\"\nd: \"1.0\"\ne: \"null\"\nf: \"\"\ng: \"2024-01-31\"\nh: true\ni: -x\nj: \"a: b\"\nk: v1.2.3\nl: 1.0\nm: \" x\"\n"
        );
        let back = crate::yaml::parse(&t).unwrap()[0].to_json();
        assert_eq!(back["a"], json!("yes"));
        assert_eq!(back["c"], json!("0755"));
    }

    #[test]
    fn multi_line_text_is_a_literal_block_that_reads_back() {
        let v = json!({"data": {"config.yaml": "a: 1\n\nb:\n  c: 2\n", "x": "no newline\nat end", "y": [" lead\n"]}});
        let t = render(&v);
        assert!(
            t.contains("  config.yaml: |\n    a: 1\n\n    b:\n      c: 2\n"),
            "{t}"
        );
        assert_eq!(crate::yaml::parse(&t).unwrap()[0].to_json(), v, "{t}");
    }
}
