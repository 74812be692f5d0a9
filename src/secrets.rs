//! What counts as a secret, and how it is hidden. Every output path (reports, diffs, errors, logs) masks
//! through here, so a join token or a Secret's data never reaches a terminal, a file or CI logs.

/// What a hidden value is shown as.
pub const MASK: &str = "<redacted>";

/// What a hidden value is shown as on the new side of a comparison when it differs from the old one.
pub const MASK_CHANGED: &str = "<redacted (changed)>";

/// Key names whose values are secret wherever they appear (compared case-insensitively, ignoring `_` and `-`):
/// a name ending in one of these is secret (`dbpassword`, `joinToken`).
const SECRET_WORDS: &[&str] = &[
    "jointoken",
    "password",
    "passwd",
    "passphrase",
    "token",
    "secret",
    "apikey",
    "privatekey",
    "clientsecret",
    "credentials",
    "accesskey",
    "secretkey",
    "dockerconfigjson",
    "dockercfg",
];

/// Words that make a name secret wherever they stand in it (`passwordHash`, `PASSPHRASE_V2`): a name is cut
/// into words at `_`, `-`, `.`, spaces and camelCase humps. (`secret` counts at the end, through
/// `SECRET_WORDS`, or before `key`: `imagePullSecrets` and `secretMounts` name no secret value.)
const SECRET_NAME_WORDS: &[&str] = &[
    "password",
    "passwords",
    "passwd",
    "passphrase",
    "pwd",
    "token",
    "tokens",
    "credential",
    "credentials",
    "apikey",
    "privatekey",
];

/// Words that make a name secret when they end it: `DB_PASS`, `MYSQL_PASS`.
const SECRET_LAST_WORDS: &[&str] = &["pass"];

/// The word `key` right after one of these makes a name secret: `ENCRYPTION_KEY`, `api-key`, `jwtSigningKey`,
/// `tls.key`, `SECRET_KEY_BASE`. `key` alone (`secretKeyRef.key`) names a key of a Secret, not its value.
const KEY_KINDS: &[&str] = &[
    "encryption",
    "signing",
    "private",
    "api",
    "access",
    "secret",
    "master",
    "session",
    "hmac",
    "jwt",
    "license",
    "ssh",
    "tls",
    "ssl",
    "crypto",
    "cookie",
    "shared",
    "client",
];

/// Keys that name something secret only when they are the whole key: a docker config's `auth` (base64 of
/// `user:password`).
const SECRET_WHOLE_KEYS: &[&str] = &["auth"];

/// Last words of a name that only points at a secret or describes it, so its value is not secret:
/// `secretName`, `keyName`, `secretKeyRef`, `tokenTTL`, `passwordFile`, `existingSecretNamespace`, and a file
/// name such as `shared-key.yaml` (a YAML or JSON text under it is masked by its own keys).
const POINTER_WORDS: &[&str] = &[
    "yaml",
    "yml",
    "json",
    "name",
    "names",
    "ref",
    "refs",
    "reference",
    "path",
    "paths",
    "file",
    "filename",
    "files",
    "dir",
    "mount",
    "ttl",
    "namespace",
    "kind",
    "type",
    "enabled",
    "length",
    "id",
    "policy",
    "format",
    "version",
    "audience",
    "expiration",
    "expiry",
    "seconds",
    "header",
    "field",
    "selector",
    "provider",
    "store",
    "class",
    "mode",
    "source",
    "url",
    "uri",
    "endpoint",
    "issuer",
];

/// Keys that contain a secret word but name something that is not itself secret (the exception list; compared
/// as endings of the folded key, like `SECRET_WORDS`).
const NOT_SECRET: &[&str] = &[
    "existingjointokensecret",
    "secretname",
    "existingsecret",
    "secretref",
    "secretkeyref",
    "keyname",
    "tokenttl",
    "serviceaccounttoken",
    "automountserviceaccounttoken",
    "createfromvalues",
];

/// Where kubectl keeps its copy of what it last applied (a JSON pointer): for a Secret, its data again.
pub const LAST_APPLIED_POINTER: &str =
    "/metadata/annotations/kubectl.kubernetes.io~1last-applied-configuration";

/// True when a key's value should be hidden: a key ending in a secret word (`db-password`), a name holding a
/// secret word (`SECRET_KEY_BASE`), ending in `pass` (`DB_PASS`) or in a kind of key (`ENCRYPTION_KEY`); never
/// one that only points at a secret (`secretName`, `keyName`, `secretKeyRef`, `passwordFile`).
pub fn is_secret_key(key: &str) -> bool {
    if !has_trigger(key) {
        return false;
    }
    let folded = fold(key);
    if NOT_SECRET.iter().any(|n| folded.ends_with(n)) {
        return false;
    }
    if SECRET_WHOLE_KEYS.contains(&folded.as_str()) {
        return true;
    }
    let words = words(key);
    let Some(last) = words.last() else {
        return false;
    };
    if POINTER_WORDS.contains(&last.as_str()) {
        return false;
    }
    let keyed = words
        .windows(2)
        .any(|w| KEY_KINDS.contains(&w[0].as_str()) && matches!(w[1].as_str(), "key" | "keys"));
    keyed
        || SECRET_LAST_WORDS.contains(&last.as_str())
        || words
            .iter()
            .any(|w| SECRET_NAME_WORDS.contains(&w.as_str()))
        || SECRET_WORDS.iter().any(|w| folded.ends_with(w))
}

/// A key lower-cased, without `_` and `-`.
fn fold(key: &str) -> String {
    let kept = |c: &char| *c != '_' && *c != '-';
    if key.is_ascii() {
        return key
            .chars()
            .filter(kept)
            .map(|c| c.to_ascii_lowercase())
            .collect();
    }
    key.chars()
        .filter(kept)
        .flat_map(char::to_lowercase)
        .collect()
}

/// True when a key, folded, holds one of the words every rule of `is_secret_key` needs (`pass`, `pwd`, `token`,
/// `secret`, `key`, `auth`, `credential`, `dockercfg`, `dockerconfig`): most keys are ruled out without cutting
/// them into words. It runs for every key and separator of a diffed text: a short ASCII key is folded on the
/// stack and scanned once.
fn has_trigger(key: &str) -> bool {
    let mut stack = [0u8; 64];
    if key.is_ascii() && key.len() <= stack.len() {
        let mut len = 0;
        for byte in key.bytes().filter(|b| !matches!(b, b'_' | b'-')) {
            stack[len] = byte.to_ascii_lowercase();
            len += 1;
        }
        return holds_trigger(&stack[..len]);
    }
    holds_trigger(fold(key).as_bytes())
}

fn holds_trigger(folded: &[u8]) -> bool {
    (0..folded.len()).any(|at| {
        let rest = &folded[at..];
        match rest[0] {
            b'p' => rest.starts_with(b"pass") || rest.starts_with(b"pwd"),
            b't' => rest.starts_with(b"token"),
            b's' => rest.starts_with(b"secret"),
            b'k' => rest.starts_with(b"key"),
            b'a' => rest.starts_with(b"auth"),
            b'c' => rest.starts_with(b"credential"),
            b'd' => rest.starts_with(b"dockercfg") || rest.starts_with(b"dockerconfig"),
            _ => false,
        }
    })
}

/// The words of a name, lower-cased: cut at anything not a letter or digit and where camelCase starts a word
/// (`jwtSigningKey` -> jwt, signing, key; `APIKey` -> api, key).
fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    for part in name.split(|c: char| !c.is_alphanumeric()) {
        let chars: Vec<char> = part.chars().collect();
        let mut word = String::new();
        for (i, &c) in chars.iter().enumerate() {
            let prev = i.checked_sub(1).map(|p| chars[p]);
            let next = chars.get(i + 1);
            let hump = c.is_uppercase()
                && (prev.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit())
                    || prev.is_some_and(char::is_uppercase)
                        && next.is_some_and(|n| n.is_lowercase()));
            if hump && !word.is_empty() {
                out.push(std::mem::take(&mut word));
            }
            word.extend(c.to_lowercase());
        }
        if !word.is_empty() {
            out.push(word);
        }
    }
    out
}

/// True when the value under `key` of a mapping is secret: a secret-looking key, or the `value` of a
/// `{name, value}` entry whose name looks secret (a container env var such as `CRA_HOST_JOIN_TOKEN`).
/// `entry_name` is the mapping's `name` when it has a string one.
pub fn is_secret_field(key: &str, entry_name: Option<&str>) -> bool {
    is_secret_key(key) || (key == "value" && entry_name.is_some_and(is_secret_key))
}

/// False when no line of a text has a secret-looking key before a `:` or `=` (or a `name:` naming a secret), nor
/// a secret by its look (`content_hint`): then `mask_text` leaves it as it is and no YAML or JSON key in it is
/// secret. A cheap test before looking closer.
pub fn may_hold_secret(text: &str) -> bool {
    text.lines().any(|line| {
        let keyed = line.match_indices([':', '=']).any(|(at, _)| {
            let word = line[..at].split_whitespace().next_back().unwrap_or("");
            is_secret_key(word.trim_matches(|c: char| !c.is_alphanumeric()))
                || is_secret_key(key_before(line, at))
        });
        keyed
            || line_key_value(line)
                .is_some_and(|(k, v)| k == "name" && is_secret_key(v.trim_matches(['"', '\''])))
            || content_hint(line)
    })
}

/// True when a line may hold a secret that shows by its look rather than its key: a private key's armour, a URL
/// with a password, an XML element named like a secret, a secret flag (`--password`).
fn content_hint(line: &str) -> bool {
    line.contains(PRIVATE_KEY)
        || line.contains("://") && line.contains('@')
        || line.contains("</") && xml_secret(line).is_some()
        || has_secret_flag(line)
}

/// True when a word of a line is a secret flag (`--password`): what `flag_value` and `ends_with_secret_flag`
/// look for, cheaply.
fn has_secret_flag(line: &str) -> bool {
    line.contains('-') && tokens(line).any(|(_, t)| is_secret_flag(bare(t)))
}

/// The armour line of a PEM private key (`-----BEGIN RSA PRIVATE KEY-----`, `... OPENSSH PRIVATE KEY-----`).
const PRIVATE_KEY: &str = "PRIVATE KEY";
const PEM_BEGIN: &str = "-----BEGIN ";
const PEM_END: &str = "-----END";

/// True for a command-line argument that asks for a secret value in the next argument: it starts with `-`,
/// holds no `=`, and its name looks secret (`--password`, `--api-token`; not `-p`, which names nothing).
pub fn is_secret_flag(arg: &str) -> bool {
    let t = arg.trim();
    t.starts_with('-') && !t.contains('=') && is_secret_key(t.trim_start_matches('-'))
}

/// Which items of an argument list (a container's `args` or `command`) are secret: those right after a secret
/// flag (`["--api-token", "VALUE"]`). `--token=VALUE` in one item is hidden as text (`mask_text`).
pub fn after_secret_flags<'a>(items: impl Iterator<Item = Option<&'a str>>) -> Vec<bool> {
    let mut out = Vec::new();
    let mut flag = false;
    for item in items {
        out.push(flag);
        flag = item.is_some_and(is_secret_flag);
    }
    out
}

/// True when a value was already hidden by this module.
pub fn is_masked(value: &str) -> bool {
    value == MASK || value == MASK_CHANGED
}

/// A copy of a JSON value with every secret-keyed value (at any depth) replaced by the mask, the item after a
/// secret flag in a list (`["--password", "x"]`) too, and the secrets inside texts (`mask_text`) hidden.
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
        Value::Array(items) => {
            let after = after_secret_flags(items.iter().map(Value::as_str));
            items
                .iter()
                .zip(after)
                .map(
                    |(v, secret)| match secret && !v.is_object() && !v.is_null() {
                        true => Value::String(MASK.into()),
                        false => mask_json(v),
                    },
                )
                .collect()
        }
        Value::String(text) => Value::String(mask_text(text)),
        other => other.clone(),
    }
}

/// Masks `key: value` / `key=value` / `"key": "value"` occurrences of secret keys inside free text
/// (config files embedded in ConfigMaps, error messages). Line-based and conservative. A `value:` line right
/// after a `name:` line naming a secret (an env var written out as text) is hidden too, and so is every line of
/// a block scalar (`password: |`) under a secret key. Secrets are also found by their look (`mask_content`):
/// the body of a PEM private key, a URL's password, `<password>x</password>`, the value after `--password`
/// (on the same line, or on the next list item line after `- --password`). Lines keep their count,
/// indentation and endings.
pub fn mask_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut entry_name: Option<String> = None;
    let mut block: Option<usize> = None;
    let mut pem = false;
    let mut flag = false;
    for line in text.split_inclusive('\n') {
        if let Some(key_indent) = block {
            if inside_block(line, key_indent) {
                out.push_str(&mask_block_line(line));
                continue;
            }
            block = None;
        }
        if pem {
            pem = !line.contains(PEM_END);
            out.push_str(&mask_pem_line(line));
            continue;
        }
        let after_flag = std::mem::take(&mut flag);
        let masked = mask_line(line, entry_name.as_deref());
        if masked.is_none() && opens_secret_block(line, entry_name.as_deref()) {
            block = Some(indent(line));
        }
        let mut shown = masked.unwrap_or_else(|| line.to_string());
        if after_flag {
            shown = mask_list_item(&shown).unwrap_or(shown);
        }
        shown = mask_content(&shown).unwrap_or(shown);
        pem = opens_pem(&shown);
        flag = ends_with_secret_flag(&shown);
        out.push_str(&shown);
        entry_name = line_key_value(line)
            .filter(|(key, _)| *key == "name")
            .map(|(_, value)| value.trim_matches(['"', '\'']).to_string());
    }
    out
}

/// The secrets of one line found by their look, or None when it shows none: a PEM private key written on one
/// line (JSON's `\n`), a URL's password, an XML element named like a secret, the value after a secret flag.
fn mask_content(line: &str) -> Option<String> {
    let mut shown: Option<String> = None;
    for rule in [mask_inline_pem, mask_url_password, xml_secret, flag_value] {
        let current = shown.as_deref().unwrap_or(line);
        if let Some(next) = rule(current) {
            shown = Some(next);
        }
    }
    shown
}

/// True when a line opens a private key whose body follows on the next lines.
fn opens_pem(line: &str) -> bool {
    line.find(PEM_BEGIN)
        .is_some_and(|at| line[at..].contains(PRIVATE_KEY) && !line[at..].contains(PEM_END))
}

/// A line inside a private key: its text hidden, up to the `-----END` armour when it is there.
fn mask_pem_line(line: &str) -> String {
    match line.find(PEM_END) {
        Some(at) => {
            let before = &line[..at];
            let body = before.trim();
            if body.is_empty() || is_masked(body) {
                return line.to_string();
            }
            format!("{}{MASK}{}", &before[..indent(before)], &line[at..])
        }
        None => mask_block_line(line),
    }
}

/// A private key written on one line (inside JSON, say): what stands between its armour lines hidden. A key
/// cut short (no `-----END`) is hidden to the end of the line.
fn mask_inline_pem(line: &str) -> Option<String> {
    let begin = line.find(PEM_BEGIN)?;
    let armour_end = begin + line[begin..].find(PRIVATE_KEY)? + PRIVATE_KEY.len();
    let body_start = armour_end + line[armour_end..].find("-----")? + "-----".len();
    let rest = &line[body_start..];
    let end = rest.find(PEM_END)?;
    let body = &rest[..end];
    let trimmed = body.trim_matches(|c: char| c.is_whitespace() || c == '\\' || c == 'n');
    if trimmed.is_empty() || is_masked(trimmed) || body == MASK {
        return None;
    }
    Some(format!("{}{MASK}{}", &line[..body_start], &rest[end..]))
}

/// A URL's password hidden: `postgres://user:PASS@host` becomes `postgres://user:<redacted>@host`.
fn mask_url_password(line: &str) -> Option<String> {
    let mut out = String::new();
    let mut rest = line;
    let mut changed = false;
    while let Some(at) = rest.find("://") {
        let start = at + 3;
        let authority_len = rest[start..]
            .find(|c: char| c.is_whitespace() || "/?#\"'`,;)]}".contains(c))
            .unwrap_or(rest.len() - start);
        let authority = &rest[start..start + authority_len];
        out.push_str(&rest[..start]);
        match authority.rfind('@').and_then(|a| {
            let userinfo = &authority[..a];
            userinfo.find(':').map(|c| (c, a))
        }) {
            Some((colon, a)) if !is_masked(&authority[colon + 1..a]) && colon + 1 < a => {
                out.push_str(&authority[..colon + 1]);
                out.push_str(MASK);
                out.push_str(&authority[a..]);
                changed = true;
            }
            _ => out.push_str(authority),
        }
        rest = &rest[start + authority_len..];
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// An XML element named like a secret with its text hidden: `<password>x</password>`, `<db:apiToken>`.
fn xml_secret(line: &str) -> Option<String> {
    if !line.contains("</") {
        return None;
    }
    let mut out = String::new();
    let mut rest = line;
    let mut changed = false;
    while let Some(open) = rest.find('<') {
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else { break };
        let tag = &after[..close];
        let name = tag.rsplit(':').next().unwrap_or(tag);
        let plain = !tag.is_empty()
            && tag
                .chars()
                .all(|c| c.is_alphanumeric() || "_-.:".contains(c));
        let end_tag = format!("</{tag}>");
        let body_start = open + 1 + close + 1;
        match rest[body_start..].find(&end_tag) {
            Some(len) if plain && is_secret_key(name) => {
                let body = &rest[body_start..body_start + len];
                out.push_str(&rest[..body_start]);
                if body.trim().is_empty() || is_masked(body) {
                    out.push_str(body);
                } else {
                    out.push_str(MASK);
                    changed = true;
                }
                out.push_str(&end_tag);
                rest = &rest[body_start + len + end_tag.len()..];
            }
            _ => {
                out.push_str(&rest[..body_start]);
                rest = &rest[body_start..];
            }
        }
    }
    out.push_str(rest);
    changed.then_some(out)
}

/// The words of a line with their places: runs of characters between spaces and the separators of lists and
/// compact JSON (`,`, `[`, `{`, `(`), so that `["--api-token","x"]` has the words `"--api-token"` and `"x"]`.
fn tokens(line: &str) -> impl Iterator<Item = (usize, &str)> {
    let cut = |c: char| c.is_whitespace() || ",[{(".contains(c);
    let mut rest = line.char_indices().peekable();
    std::iter::from_fn(move || {
        while rest.next_if(|(_, c)| cut(*c)).is_some() {}
        let (start, _) = rest.next()?;
        let mut end = line.len();
        while let Some(&(i, c)) = rest.peek() {
            if cut(c) {
                end = i;
                break;
            }
            rest.next();
        }
        Some((start, &line[start..end]))
    })
}

/// A flag's name without what a quoted or listed argument wraps it in (`"--api-token",` -> `--api-token`).
fn bare(token: &str) -> &str {
    token.trim_matches(|c: char| "\"'[],;()".contains(c))
}

/// The value after a secret flag on the same line hidden: `--password VALUE`, `"--api-token", "VALUE"`.
fn flag_value(line: &str) -> Option<String> {
    if !has_secret_flag(line) {
        return None;
    }
    let words: Vec<(usize, &str)> = tokens(line).collect();
    let mut out = line.to_string();
    let mut changed = false;
    for pair in words.windows(2).rev() {
        let ((_, flag), (at, value)) = (pair[0], pair[1]);
        let core = bare(value);
        if !is_secret_flag(bare(flag))
            || core.is_empty()
            || core.starts_with('-')
            || is_masked(core)
        {
            continue;
        }
        if core.starts_with('<') || core.contains(MASK) {
            continue;
        }
        let offset = at + value.find(core).unwrap_or(0);
        out.replace_range(offset..offset + core.len(), MASK);
        changed = true;
    }
    changed.then_some(out)
}

/// True when a line ends with a secret flag, so that its value is the next list item: `- --password`.
fn ends_with_secret_flag(line: &str) -> bool {
    line.contains('-')
        && tokens(line)
            .last()
            .is_some_and(|(_, t)| is_secret_flag(bare(t)))
}

/// The value of a list item line (`- VALUE`, `- "VALUE"`) hidden; None when the line is no list item.
fn mask_list_item(line: &str) -> Option<String> {
    let body = line.trim_end_matches(['\n', '\r']);
    let item = body.trim_start().strip_prefix("- ")?;
    let core = bare(item.trim());
    if core.is_empty() || core.starts_with('-') || is_masked(core) {
        return None;
    }
    let at = body.len() - item.len() + item.find(core)?;
    let mut out = line.to_string();
    out.replace_range(at..at + core.len(), MASK);
    Some(out)
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
        if let Some(after) = after_quoted(value).filter(|a| !matches!(a.trim(), "" | ",")) {
            // A value in quotes with more after it (compact JSON: `{"auth":"x","email":"y"}`): only the
            // quoted text is hidden, and the rest is looked at again.
            let after = &rest[rest.len() - rest.trim_start().len() + value.len() - after.len()..];
            let shown = mask_line(after, None).unwrap_or_else(|| after.to_string());
            return Some(format!("{}{sep}\"{MASK}\"{shown}", &line[..at]));
        }
        let ending = &rest[rest.trim_end_matches(['\n', '\r']).len()..];
        return Some(format!("{}{} {MASK}{ending}", &line[..at], sep));
    }
    None
}

/// What follows a double-quoted string at the start of a text, or None when it does not start with one or
/// the quote does not close.
fn after_quoted(text: &str) -> Option<&str> {
    let inner = text.strip_prefix('"')?;
    let mut escaped = false;
    for (i, c) in inner.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => return Some(&inner[i + 1..]),
            _ => {}
        }
    }
    None
}

/// The last word before a separator: `export API_TOKEN=x`, `--db-password=x`, `"password": x`. Words are cut
/// at spaces and at the punctuation of compact JSON and flow YAML (`{"auth":"x"}`); only the key characters at
/// its end count (`<db:password>x</db:` names `db`, not the password before it).
fn key_before(line: &str, at: usize) -> &str {
    let word = line[..at]
        .trim_end()
        .rsplit(|c: char| c.is_whitespace() || "{[,(;".contains(c))
        .next()
        .unwrap_or("")
        .trim_matches(|c| c == '"' || c == '\'');
    let start = word
        .char_indices()
        .rev()
        .take_while(|(_, c)| c.is_alphanumeric() || "_-.".contains(*c))
        .last()
        .map_or(word.len(), |(i, _)| i);
    word[start..].trim_matches('-')
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

    /// The one-pass trigger scan and the ASCII folding say what substring search and Unicode lower-casing say.
    #[test]
    fn trigger_scan_matches_substring_search() {
        let triggers = [
            "pass",
            "pwd",
            "token",
            "secret",
            "key",
            "auth",
            "credential",
            "dockercfg",
            "dockerconfig",
        ];
        let keys = [
            "",
            "k",
            "ke",
            "key",
            "KEY",
            "monkey",
            "pas",
            "passs",
            "db_PASS",
            "p-w-d",
            "tok",
            "tokens",
            "secre",
            "SECRET_KEY_BASE",
            "authority",
            "credentia",
            "dockercf",
            ".dockerconfigjson",
            "dockercfg",
            "image",
            "name",
            "\u{212A}ey",
            "pa\u{00DF}",
            "K\u{0130}Y",
            "aut\u{0048}",
            "a_very_long_configuration_key_name_that_goes_on_and_on_past_sixty_four_bytes_token",
            "a_very_long_configuration_key_name_that_goes_on_and_on_past_sixty_four_bytes_value",
        ];
        for key in keys {
            let unicode: String = key
                .chars()
                .filter(|c| *c != '_' && *c != '-')
                .flat_map(char::to_lowercase)
                .collect();
            assert_eq!(fold(key), unicode, "{key}");
            let slow = triggers.iter().any(|t| unicode.contains(t));
            assert_eq!(has_trigger(key), slow, "{key}");
        }
        assert!(
            has_trigger("\u{212A}ey"),
            "the Kelvin sign lower-cases to k"
        );
    }

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
        // Keys too long or not ASCII are folded another way, to the same verdicts.
        let long = "x".repeat(70);
        assert!(is_secret_key(&format!("{long}_PASSWORD")));
        assert!(!is_secret_key(&format!("{long}SecretName")));
        assert!(is_secret_key("clé_password") && !is_secret_key("clé_secretName"));
    }

    #[test]
    fn recognizes_secret_names_by_word() {
        for k in [
            "DB_PASS",
            "ENCRYPTION_KEY",
            "SECRET_KEY_BASE",
            "PASSPHRASE",
            "jwtSigningKey",
            "APIKey",
            "tls.key",
            "passwordHash",
            "MYSQL_ROOT_PASSWORD",
            "auth",
            ".dockerconfigjson",
            "db.password",
        ] {
            assert!(is_secret_key(k), "{k}");
        }
    }

    /// The exception list: names that only point at a secret (or describe one) stay visible.
    #[test]
    fn names_that_point_at_a_secret_stay_visible() {
        for k in [
            "secretName",
            "keyName",
            "secretKeyRef",
            "key",
            "name",
            "existingSecret",
            "passwordFile",
            "tokenTTL",
            "DB_PASSWORD_FILE",
            "imagePullSecrets",
            "AWS_ACCESS_KEY_ID",
            "secretMounts",
            "authType",
            "tokenUrl",
            "sortKey",
        ] {
            assert!(!is_secret_key(k), "{k}");
        }
        let v = json!({"env": [{"name": "X", "valueFrom": {"secretKeyRef": {"name": "db", "key": "password"}}}],
            "volumes": [{"name": "v", "secret": {"secretName": "tls", "items": [{"key": "tls.key", "path": "k"}]}}],
            "keyName": "signing"});
        assert_eq!(mask_json(&v), v);
    }

    #[test]
    fn masks_secrets_by_their_look() {
        let text = "db: postgres://app:pw-1@db:5432/x?ssl=1 and https://u:pw-2@h\n\
                    <config><db:password>pw-3</db:password><user>u</user></config>\n\
                    exec app --api-token pw-4 --verbose --password \"pw-5\"\n\
                    args: [\"--token\", \"pw-6\"]\n\
                    - --password\n\
                    - pw-7\n\
                    key: |\n  -----BEGIN OPENSSH PRIVATE KEY-----\n  pw-8\n  pw-9\n  -----END OPENSSH PRIVATE KEY-----\n\
                    json: {\"k\":\"-----BEGIN PRIVATE KEY-----\\npw-10\\n-----END PRIVATE KEY-----\\n\"}\n\
                    cfg: {\"auths\":{\"r\":{\"auth\":\"pw-11\",\"email\":\"ops@x\"}}}\n\
                    [db]\npassword = pw-12\n";
        let masked = mask_text(text);
        for i in 1..=12 {
            assert!(!masked.contains(&format!("pw-{i}")), "pw-{i}:\n{masked}");
        }
        assert_eq!(masked.lines().count(), text.lines().count());
        for kept in [
            "postgres://app:<redacted>@db:5432/x?ssl=1",
            "<user>u</user>",
            "--verbose",
            "-----BEGIN OPENSSH PRIVATE KEY-----\n  <redacted>\n  <redacted>\n  -----END",
            "\"email\":\"ops@x\"",
        ] {
            assert!(masked.contains(kept), "{kept}:\n{masked}");
        }
        assert_eq!(mask_text(&masked), masked, "masking twice changes nothing");
        assert!(may_hold_secret("x: https://u:p@h\n"));
        let plain = "url: https://example.com/a@b\ncert: -----BEGIN CERTIFICATE-----\n";
        assert_eq!(mask_text(plain), plain);
        let args = json!({"args": ["--api-token", "pw-1", "-p", "8080", "--token=pw-2"]});
        assert_eq!(
            mask_json(&args),
            json!({"args": ["--api-token", MASK, "-p", "8080", "--token= <redacted>"]})
        );
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
