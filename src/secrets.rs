//! What counts as a secret, and how it is hidden. Every output path (reports, diffs, errors, logs) masks
//! through here, so a join token or a Secret's data never reaches a terminal, a file or CI logs.

/// What a hidden value is shown as.
pub const MASK: &str = "<redacted>";

/// What a hidden value is shown as on the new side of a comparison when it differs from the old one.
pub const MASK_CHANGED: &str = "<redacted (changed)>";

/// Key names whose values are secret wherever they appear (compared case-insensitively, ignoring `_` and `-`).
const SECRET_WORDS: &[&str] = &[
    "jointoken",
    "password",
    "passwd",
    "token",
    "secret",
    "apikey",
    "privatekey",
    "clientsecret",
    "credentials",
    "accesskey",
    "secretkey",
];

/// Keys that contain a secret word but name something that is not itself secret.
const NOT_SECRET: &[&str] = &[
    "existingjointokensecret",
    "secretname",
    "existingsecret",
    "secretref",
    "secretkeyref",
    "tokenttl",
    "serviceaccounttoken",
    "automountserviceaccounttoken",
    "createfromvalues",
];

/// True when a key's value should be hidden.
pub fn is_secret_key(key: &str) -> bool {
    let folded: String = key
        .chars()
        .filter(|c| *c != '_' && *c != '-')
        .flat_map(char::to_lowercase)
        .collect();
    if NOT_SECRET.iter().any(|n| folded.ends_with(n)) {
        return false;
    }
    SECRET_WORDS.iter().any(|w| folded.ends_with(w))
}

/// True when the value under `key` of a mapping is secret: a secret-looking key, or the `value` of a
/// `{name, value}` entry whose name looks secret (a container env var such as `CRA_HOST_JOIN_TOKEN`).
/// `entry_name` is the mapping's `name` when it has a string one.
pub fn is_secret_field(key: &str, entry_name: Option<&str>) -> bool {
    is_secret_key(key) || (key == "value" && entry_name.is_some_and(is_secret_key))
}

/// False when no line of a text has a secret-looking key before a `:` or `=` (or a `name:` naming a secret):
/// then `mask_text` leaves it as it is and no YAML or JSON key in it is secret. A cheap test before looking closer.
pub fn may_hold_secret(text: &str) -> bool {
    text.lines().any(|line| {
        let keyed = line.match_indices([':', '=']).any(|(at, _)| {
            let word = line[..at].split_whitespace().next_back().unwrap_or("");
            is_secret_key(word.trim_matches(|c: char| !c.is_alphanumeric()))
        });
        keyed
            || line_key_value(line)
                .is_some_and(|(k, v)| k == "name" && is_secret_key(v.trim_matches(['"', '\''])))
    })
}

/// True when a value was already hidden by this module.
pub fn is_masked(value: &str) -> bool {
    value == MASK || value == MASK_CHANGED
}

/// A copy of a JSON value with every secret-keyed value (at any depth) replaced by the mask.
pub fn mask_json(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let name = map.get("name").and_then(Value::as_str);
                    let hidden = is_secret_field(k, name) && !v.is_object() && !v.is_null();
                    let v = if hidden {
                        Value::String(MASK.into())
                    } else {
                        mask_json(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(mask_json).collect()),
        other => other.clone(),
    }
}

/// Masks `key: value` / `key=value` / `"key": "value"` occurrences of secret keys inside free text
/// (config files embedded in ConfigMaps, error messages). Line-based and conservative. A `value:` line right
/// after a `name:` line naming a secret (an env var written out as text) is hidden too, and so is every line of
/// a block scalar (`password: |`) under a secret key. Lines keep their count, indentation and endings.
pub fn mask_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut entry_name: Option<String> = None;
    let mut block: Option<usize> = None;
    for line in text.split_inclusive('\n') {
        if let Some(key_indent) = block {
            if inside_block(line, key_indent) {
                out.push_str(&mask_block_line(line));
                continue;
            }
            block = None;
        }
        let masked = mask_line(line, entry_name.as_deref());
        if masked.is_none() && opens_secret_block(line, entry_name.as_deref()) {
            block = Some(indent(line));
        }
        out.push_str(masked.as_deref().unwrap_or(line));
        entry_name = line_key_value(line)
            .filter(|(key, _)| *key == "name")
            .map(|(_, value)| value.trim_matches(['"', '\'']).to_string());
    }
    out
}

/// An error message made safe to print: `mask_text`, then every secret this process was given on its command
/// line (`argv_secrets`) replaced by the mask, wherever the message repeats it.
pub fn mask_message(text: &str) -> String {
    let args: Vec<String> = std::env::args().skip(1).collect();
    mask_values(&mask_text(text), &argv_secrets(&args))
}

/// The secret values of a command line: the value of a `key=value` argument whose key looks secret
/// (`--set join_token=x`, `--password=x`), and the argument that follows a secret-looking one given alone
/// (`--set join_token jt-x`, `--password jt-x`), which may end up read as a file name or a stray value.
pub fn argv_secrets(args: &[String]) -> Vec<String> {
    let key_of = |arg: &str| {
        arg.trim_start_matches('-')
            .rsplit('.')
            .next()
            .unwrap_or("")
            .to_string()
    };
    let mut found = Vec::new();
    for (i, arg) in args.iter().enumerate() {
        match arg.split_once('=') {
            Some((key, value)) if is_secret_key(&key_of(key)) => found.push(value.to_string()),
            Some(_) => {}
            None if is_secret_key(&key_of(arg)) => found.extend(args.get(i + 1).cloned()),
            None => {}
        }
    }
    found.retain(|v| !v.is_empty() && !is_masked(v));
    found
}

/// Replaces every occurrence of the given values in a text by the mask (longest first, so a value that holds
/// another is hidden whole).
pub fn mask_values(text: &str, values: &[String]) -> String {
    let mut values: Vec<&String> = values.iter().collect();
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    values.into_iter().fold(text.to_string(), |text, value| {
        text.replace(value.as_str(), MASK)
    })
}

/// The key and value of a `key: value` line (list dash and quotes around the key removed).
fn line_key_value(line: &str) -> Option<(&str, &str)> {
    let (key, value) = line.split_once(':')?;
    let key = key
        .trim()
        .trim_matches(|c| c == '"' || c == '\'' || c == '-' || c == ' ');
    Some((key, value.trim()))
}

/// The line with a secret value hidden, or None when it shows no secret value. Separators are tried from the
/// left, so the first secret key hides everything after it (and hiding again finds the same place).
fn mask_line(line: &str, entry_name: Option<&str>) -> Option<String> {
    for (at, sep) in line.match_indices([':', '=']) {
        let key = key_before(line, at);
        let secret = sep == ":" && is_secret_field(key, entry_name) || is_secret_key(key);
        if key.is_empty() || !secret {
            continue;
        }
        let rest = &line[at + 1..];
        let value = rest.trim_end_matches(['\n', '\r']).trim();
        let blank = value.is_empty() || block_indicator(value) || value.starts_with('{');
        let unquoted = value.trim_matches(['"', '\'']);
        if blank || unquoted.is_empty() || is_masked(unquoted) {
            continue;
        }
        let ending = &rest[rest.trim_end_matches(['\n', '\r']).len()..];
        return Some(format!("{}{} {MASK}{ending}", &line[..at], sep));
    }
    None
}

/// The last word before a separator: `export API_TOKEN=x`, `--db-password=x`, `"password": x`.
fn key_before(line: &str, at: usize) -> &str {
    line[..at]
        .split_whitespace()
        .next_back()
        .unwrap_or("")
        .trim_matches(|c| c == '"' || c == '\'' || c == '-')
}

/// True for a line `secret_key: |` (or `>`, `|-`, `>+2`, ...): the lines after it hold the secret.
fn opens_secret_block(line: &str, entry_name: Option<&str>) -> bool {
    let Some(at) = line.find(':') else {
        return false;
    };
    let key = key_before(line, at);
    let value = line[at + 1..].trim();
    !key.is_empty() && is_secret_field(key, entry_name) && block_indicator(value)
}

/// A YAML block scalar header: `|` or `>` with optional chomping and indentation indicators.
fn block_indicator(value: &str) -> bool {
    let mut chars = value.chars();
    matches!(chars.next(), Some('|' | '>')) && chars.all(|c| matches!(c, '-' | '+' | '1'..='9'))
}

/// True when a line belongs to a block scalar whose key is indented by `key_indent`: blank, or indented deeper.
fn inside_block(line: &str, key_indent: usize) -> bool {
    line.trim().is_empty() || indent(line) > key_indent
}

fn indent(line: &str) -> usize {
    line.len() - line.trim_start_matches(' ').len()
}

/// A block scalar line with its text hidden (indentation and line ending kept; blank lines stay blank).
fn mask_block_line(line: &str) -> String {
    let body = line.trim_end_matches(['\n', '\r']);
    if body.trim().is_empty() {
        return line.to_string();
    }
    let ending = &line[body.len()..];
    format!("{}{MASK}{ending}", &body[..indent(body)])
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn recognizes_secret_keys() {
        for k in [
            "join_token",
            "joinToken",
            "password",
            "db-password",
            "apiKey",
            "client_secret",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
        for k in [
            "existingJoinTokenSecret",
            "image",
            "secretName",
            "tag",
            "automountServiceAccountToken",
        ] {
            assert!(!is_secret_key(k), "{k}");
        }
    }

    #[test]
    fn masks_json_and_text() {
        let v = json!({"join_token": "jt-1", "agent": {"existingJoinTokenSecret": {"name": "s"}, "password": 5}});
        let m = mask_json(&v);
        assert_eq!(m["join_token"], json!(MASK));
        assert_eq!(m["agent"]["password"], json!(MASK));
        assert_eq!(m["agent"]["existingJoinTokenSecret"]["name"], json!("s"));
        let t = mask_text("host:\n  join_token: jt-SECRET\n  url: x\nPASSWORD=hunter2\r\n");
        assert!(!t.contains("jt-SECRET") && !t.contains("hunter2"), "{t}");
        assert!(t.contains("url: x") && t.ends_with("\r\n"), "{t}");
    }

    #[test]
    fn masks_values_of_entries_named_like_secrets() {
        let v = json!({"env": [{"name": "CRA_HOST_JOIN_TOKEN", "value": "jt-1"}, {"name": "A", "value": "b"}]});
        let m = mask_json(&v);
        assert_eq!(m["env"][0]["value"], json!(MASK));
        assert_eq!(m["env"][1]["value"], json!("b"));
        let t = mask_text("- name: DB_PASSWORD\n  value: \"hunter2\"\n- name: HOST\n  value: db\n");
        assert!(!t.contains("hunter2") && t.contains("value: db"), "{t}");
        assert_eq!(
            mask_text("token: <redacted (changed)>\n"),
            "token: <redacted (changed)>\n"
        );
    }

    #[test]
    fn masks_every_line_of_a_block_scalar_under_a_secret_key() {
        let text = "a:\n  password: |-\n    hunter2\n\n    more\r\n  user: bob\n- name: API_TOKEN\n  value: >\n   tok1\nb: c\n";
        let masked = mask_text(text);
        assert!(
            !masked.contains("hunter2") && !masked.contains("more") && !masked.contains("tok1"),
            "{masked}"
        );
        assert_eq!(masked.lines().count(), text.lines().count(), "{masked}");
        assert!(
            masked.contains("    <redacted>\r\n")
                && masked.contains("  user: bob\n")
                && masked.ends_with("b: c\n"),
            "{masked}"
        );
        let plain = "notes: |\n  hunter2\n";
        assert_eq!(mask_text(plain), plain);
    }

    #[test]
    fn finds_secrets_on_a_command_line() {
        let args: Vec<String> = [
            "lint",
            "--set",
            "join_token",
            "jt-1",
            "--set",
            "a.password=pw-2",
            "--password",
            "pw-3",
            "--db-token=t-4",
            "--set",
            "image.tag=1.0",
            "values.yaml",
        ]
        .map(String::from)
        .into();
        assert_eq!(argv_secrets(&args), ["jt-1", "pw-2", "pw-3", "t-4"]);
        let text = mask_values("jt-1: no such file (pw-2, pw-3)", &argv_secrets(&args));
        assert_eq!(text, "<redacted>: no such file (<redacted>, <redacted>)");
    }
}
