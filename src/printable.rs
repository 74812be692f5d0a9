//! Text from the input as people see it. Names, keys and fields come from files and clusters that may be hostile:
//! a release named `"x\nvalues ..."` must not forge a line of output, and an escape sequence in a key must not
//! drive the reader's terminal. Everything here writes such text so that it reads back as YAML and shows each
//! odd character as a `\u` escape.

use std::borrow::Cow;

/// Characters written only as `\u` escapes: controls (C0 with line breaks and tabs, DEL, C1), the byte-order
/// mark, and what YAML may not hold raw (U+FFFE, U+FFFF).
pub fn escaped(c: char) -> bool {
    c.is_control() || matches!(c, '\u{feff}' | '\u{fffe}' | '\u{ffff}')
}

/// One name or field on a line of output: as it is, unless it is empty, has surrounding spaces, or holds a
/// character `escaped` covers; then double-quoted (the YAML way), so where it starts and ends stays visible.
pub fn shown(s: &str) -> Cow<'_, str> {
    if !s.is_empty() && s.trim() == s && !s.chars().any(escaped) {
        Cow::Borrowed(s)
    } else {
        Cow::Owned(double_quoted(s))
    }
}

/// One line of output (a finding, an error): every `escaped` character, line breaks and tabs too, written as a
/// `\u` escape, so text from the input can neither start a line of its own nor drive the terminal.
pub fn one_line(s: &str) -> Cow<'_, str> {
    escape_where(s, escaped)
}

/// Text of several lines (a report, a source line shown under a finding): line breaks and tabs kept, every
/// other `escaped` character written as a `\u` escape.
pub fn message(s: &str) -> Cow<'_, str> {
    escape_where(s, |c| escaped(c) && c != '\n' && c != '\t')
}

/// JSON for output, pretty and ending in a line break, with every `escaped` character but the line breaks
/// between its lines as a `\u` escape: serde_json writes DEL, the C1 controls (NEL among them, which some
/// readers take for a line break) and the byte-order mark raw. Outside its strings JSON is ASCII, so what this
/// escapes was inside a string, where `\u` escapes mean the same character.
pub fn json<T: serde::Serialize + ?Sized>(value: &T) -> serde_json::Result<String> {
    let text = serde_json::to_string_pretty(value)?;
    // Copied only when something was escaped.
    let rewritten = match escape_where(&text, |c| escaped(c) && c != '\n') {
        Cow::Owned(rewritten) => Some(rewritten),
        Cow::Borrowed(_) => None,
    };
    let mut out = rewritten.unwrap_or(text);
    out.push('\n');
    Ok(out)
}

fn escape_where(s: &str, odd: impl Fn(char) -> bool) -> Cow<'_, str> {
    if !s.chars().any(&odd) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        if odd(c) {
            out.push_str(&format!("\\u{:04x}", c as u32));
        } else {
            out.push(c);
        }
    }
    Cow::Owned(out)
}

/// A YAML double-quoted scalar holding `s`.
pub fn double_quoted(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            '\r' => out.push_str("\\r"),
            c if escaped(c) => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_names_stay_as_they_are_and_odd_ones_are_quoted() {
        assert_eq!(shown("catalyst"), "catalyst");
        assert_eq!(shown("a b"), "a b");
        assert_eq!(shown(""), "\"\"");
        assert_eq!(shown(" x"), "\" x\"");
        assert_eq!(
            shown("x\nvalues (user-supplied, secrets masked):"),
            "\"x\\nvalues (user-supplied, secrets masked):\""
        );
        assert_eq!(shown("a\u{1b}[2J\u{9b}"), "\"a\\u001b[2J\\u009b\"");
        let text = format!("k: {}\n", shown("\u{7f}\"\\\t\u{feff}"));
        let docs = crate::yaml::parse(&text).unwrap();
        assert_eq!(
            docs[0].to_json(),
            serde_json::json!({"k": "\u{7f}\"\\\t\u{feff}"})
        );
    }

    #[test]
    fn messages_keep_their_lines_and_lose_their_escape_sequences() {
        assert_eq!(message("a\n\tb"), "a\n\tb");
        assert_eq!(
            message("bad key \u{1b}]0;x\u{7}\r\n"),
            "bad key \\u001b]0;x\\u0007\\u000d\n"
        );
    }

    #[test]
    fn json_holds_no_control_character_but_its_line_breaks() {
        let value = serde_json::json!({"k\u{85}": ["a\u{9b}2J\u{7f}\u{feff}\n\t\u{1b}", 1]});
        let text = json(&value).unwrap();
        assert!(text.ends_with("}\n"), "{text}");
        assert!(!text.contains(|c| escaped(c) && c != '\n'), "{text}");
        assert!(text.contains(r#""k\u0085""#), "{text}");
        assert_eq!(
            serde_json::from_str::<serde_json::Value>(&text).unwrap(),
            value
        );
    }

    #[test]
    fn one_line_stays_one_line() {
        assert_eq!(one_line("unknown key a b"), "unknown key a b");
        assert_eq!(
            one_line("key a\nv.yaml:1:1: OL000 ok\t\u{1b}[0m"),
            "key a\\u000av.yaml:1:1: OL000 ok\\u0009\\u001b[0m"
        );
    }
}
