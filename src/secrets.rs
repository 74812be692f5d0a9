//! What counts as a secret, and how it is hidden. Every output path (reports, diffs, errors, logs) masks
//! through here, so a join token or a Secret's data never reaches a terminal, a file or CI logs.

/// What a hidden value is shown as.
pub const MASK: &str = "<redacted>";

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

/// A copy of a JSON value with every secret-keyed value (at any depth) replaced by the mask.
pub fn mask_json(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| {
                    let hidden = is_secret_key(k) && !v.is_object() && !v.is_null();
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
/// (config files embedded in ConfigMaps, error messages). Line-based and conservative.
pub fn mask_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for line in text.split_inclusive('\n') {
        out.push_str(&mask_line(line));
    }
    out
}

fn mask_line(line: &str) -> String {
    for sep in [':', '='] {
        let Some(at) = line.find(sep) else { continue };
        let key = line[..at]
            .trim()
            .trim_matches(|c| c == '"' || c == '\'' || c == '-' || c == ' ');
        if key.is_empty() || key.contains(char::is_whitespace) || !is_secret_key(key) {
            continue;
        }
        let rest = &line[at + 1..];
        let value = rest.trim_end_matches(['\n', '\r']).trim();
        if value.is_empty() || value == "|" || value == ">" || value.starts_with('{') {
            continue;
        }
        let ending = &rest[rest.trim_end_matches(['\n', '\r']).len()..];
        return format!("{}{} {MASK}{ending}", &line[..at], sep);
    }
    line.to_string()
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
}
