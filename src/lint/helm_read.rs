//! One values file read the way Helm reads it, step by step (see docs/values-reading.md):
//!
//! - Helm 4 (`loader.LoadValues`) cuts the file into documents at every line that starts with `---`
//!   (k8s.io/apimachinery's YAMLReader: anything but spaces or a comment after the dashes is an error), reads
//!   each piece with sigs.k8s.io/yaml (the first YAML document of the piece, through Go's yaml.v2, then JSON) and
//!   merges the pieces' maps in order.
//! - Helm 3 (`yaml.Unmarshal` of the whole file) reads the first document only.
//!
//! Either way an empty or `null` document is `{}`, any other top level than a mapping is an error, and the
//! step to JSON refuses what JSON cannot hold: `null` and unsigned 64-bit keys, `.inf` and `.nan`, and more than
//! 10,000 levels of nesting.

use crate::yaml::{self, Duplicate, Limits, Node, Span, Value};

/// The Helm major whose reading to reproduce where the two differ.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Helm {
    V3,
    #[default]
    V4,
}

/// The Helm in use (`--helm PATH`, else `HELM_BIN` when run as a Helm plugin), asked for its version only when
/// a file holds a construct Helm 3 and 4 read differently. Without either, Helm 4.
#[derive(Debug, Default)]
pub struct HelmInUse {
    path: Option<String>,
    major: std::cell::OnceCell<Helm>,
}

impl HelmInUse {
    /// `--helm PATH` if given, else the `HELM_BIN` Helm sets for its plugins.
    pub fn new(flag: Option<&str>) -> HelmInUse {
        let path = flag
            .map(str::to_string)
            .or_else(|| std::env::var("HELM_BIN").ok().filter(|p| !p.is_empty()));
        HelmInUse {
            path,
            major: std::cell::OnceCell::new(),
        }
    }

    /// The major of the Helm in use (run once: `helm version --template {{.Version}}`).
    pub fn major(&self) -> anyhow::Result<Helm> {
        let Some(path) = &self.path else {
            return Ok(Helm::V4);
        };
        if let Some(major) = self.major.get() {
            return Ok(*major);
        }
        let shown = crate::printable::shown(path);
        let output = std::process::Command::new(path)
            .args(["version", "--template", "{{.Version}}"])
            .stdin(std::process::Stdio::null())
            .output()
            .map_err(|e| {
                anyhow::anyhow!("--helm {shown}: cannot run it to learn its version: {e}")
            })?;
        let version = String::from_utf8_lossy(&output.stdout).trim().to_string();
        let major = match version.split('.').next() {
            Some("v3") => Helm::V3,
            Some("v4") => Helm::V4,
            _ => anyhow::bail!(
                "--helm {shown}: `version` printed {:?}, not a Helm 3 or 4 version",
                crate::printable::one_line(&version)
            ),
        };
        Ok(*self.major.get_or_init(|| major))
    }
}

/// The documents of one values file (each a mapping), and the duplicate keys met on the way.
#[derive(Debug, Default)]
pub struct Read {
    pub docs: Vec<Node>,
    pub duplicates: Vec<Duplicate>,
}

/// Reads a values file's text as the given Helm does; errors carry the line and column they refer to.
pub fn read(text: &str, helm: Helm) -> Result<Read, yaml::Error> {
    let pieces = match helm {
        Helm::V4 => split_documents(text)?,
        Helm::V3 => vec![Piece {
            byte: 0,
            line: 1,
            text,
        }],
    };
    let mut out = Read::default();
    for piece in pieces {
        let (doc, duplicates) = read_piece(&piece)?;
        if let Some(doc) = doc {
            out.docs.push(doc);
        }
        out.duplicates.extend(duplicates);
    }
    Ok(out)
}

/// Whether the text holds a construct Helm 3 and Helm 4 read differently: a line starting with `---` (Helm 4
/// reads every document, Helm 3 the first only).
pub fn differs(text: &str) -> bool {
    text.starts_with("---") || memchr::memmem::find(text.as_bytes(), b"\n---").is_some()
}

/// Whether the values hold a key named `<<` (written quoted or tagged `!!str`): Helm 3 validates its values
/// after writing them out as YAML and reading them back, where such a key becomes a merge key.
pub fn has_merge_named_key(value: &serde_json::Value) -> bool {
    match value {
        serde_json::Value::Object(map) => {
            map.contains_key("<<") || map.values().any(has_merge_named_key)
        }
        serde_json::Value::Array(items) => items.iter().any(has_merge_named_key),
        _ => false,
    }
}

/// Helm 3's round trip before validation: a key named `<<` merges its mapping (or list of mappings, the first
/// winning) into the mapping that holds it; keys that sort before `<<` are overridden, the others win.
pub fn helm3_merge_keys(value: serde_json::Value) -> serde_json::Value {
    use serde_json::Value as Json;
    match value {
        Json::Object(map) => {
            let mut map: serde_json::Map<String, Json> = map
                .into_iter()
                .map(|(k, v)| (k, helm3_merge_keys(v)))
                .collect();
            let sources = match map.get("<<") {
                Some(Json::Object(m)) => vec![m.clone()],
                Some(Json::Array(items)) if items.iter().all(Json::is_object) => items
                    .iter()
                    .rev()
                    .filter_map(|i| i.as_object().cloned())
                    .collect(),
                _ => return Json::Object(map),
            };
            map.remove("<<");
            let mut merged = serde_json::Map::new();
            for source in sources {
                merged.extend(source);
            }
            for (k, v) in merged {
                if k.as_str() < "<<" || !map.contains_key(&k) {
                    map.insert(k, v);
                }
            }
            Json::Object(map)
        }
        Json::Array(items) => Json::Array(items.into_iter().map(helm3_merge_keys).collect()),
        other => other,
    }
}

/// A piece of the file: its text and where it starts.
struct Piece<'a> {
    byte: usize,
    line: usize,
    text: &'a str,
}

/// Helm 4's cut into documents (apimachinery's YAMLReader): a line starting with `---` ends the piece before
/// it, unless that piece is still empty (then the line opens the next one); text after the dashes other than
/// spaces or a comment is an error.
fn split_documents(text: &str) -> Result<Vec<Piece<'_>>, yaml::Error> {
    let mut pieces = Vec::new();
    let (mut start, mut start_line) = (0, 1);
    let mut offset = 0;
    for (n, line) in text.split_inclusive('\n').enumerate() {
        let line_no = n + 1;
        if let Some(rest) = line.strip_prefix("---") {
            let rest = rest.trim_matches(|c: char| c.is_ascii_whitespace() || go_space(c));
            if !rest.is_empty() && !rest.starts_with('#') {
                return Err(yaml::Error {
                    message: format!("invalid YAML document separator: {rest}"),
                    line: line_no,
                    col: 4,
                });
            }
            if offset > start {
                pieces.push(Piece {
                    byte: start,
                    line: start_line,
                    text: &text[start..offset],
                });
                start = offset + line.len();
                start_line = line_no + 1;
            }
        }
        offset += line.len();
    }
    if offset > start {
        pieces.push(Piece {
            byte: start,
            line: start_line,
            text: &text[start..],
        });
    }
    Ok(pieces)
}

/// The other characters Go's `strings.TrimSpace` trims.
fn go_space(c: char) -> bool {
    matches!(c, '\u{85}' | '\u{a0}') || c.is_whitespace()
}

/// One piece through sigs.k8s.io/yaml: its first document, which must be a mapping (or nothing), then the
/// checks of the step to JSON. Positions are moved to the piece's place in the file.
fn read_piece(piece: &Piece) -> Result<(Option<Node>, Vec<Duplicate>), yaml::Error> {
    let limits = Limits {
        max_depth: yaml::HELM_MAX_DEPTH,
        allow_duplicate_keys: true,
        first_document_only: true,
        go_strict: true,
        ..Limits::default()
    };
    if let Some(line) = starts_with_document_end(piece.text) {
        return Err(yaml::Error {
            message:
                "did not find expected node content (a document end marker `...` with no document)"
                    .into(),
            line: piece.line + line - 1,
            col: 1,
        });
    }
    go_directives(piece)?;
    let text = go_line_breaks(piece.text);
    let moved = |mut e: yaml::Error| {
        if e.line > 0 {
            e.line += piece.line - 1;
        }
        e
    };
    let mut text = text;
    let loaded = loop {
        match yaml::load(&text, limits) {
            Err(e) if e.message == QUOTED_INDENTATION && e.line > 0 => {
                text = std::borrow::Cow::Owned(indent_line(&text, e.line).ok_or_else(|| moved(e))?)
            }
            other => break other.map_err(moved)?,
        }
    };
    let mut duplicates = loaded.duplicates;
    for d in &mut duplicates {
        move_span(&mut d.key, piece);
        move_span(&mut d.first, piece);
    }
    let Some(mut doc) = loaded.docs.into_iter().next() else {
        return Ok((None, duplicates));
    };
    move_node(&mut doc, piece);
    let kind = match &doc.value {
        Value::Map(_) => {
            check_json(&doc)?;
            return Ok((Some(doc), duplicates));
        }
        Value::Null => return Ok((None, duplicates)),
        Value::Seq(_) => "a list",
        Value::Str(_) => "a string",
        _ => "a scalar",
    };
    Err(node_error(
        &doc,
        format!("the top level is {kind}; a values file must be a mapping of keys to values"),
    ))
}

/// yaml.v2 knows two directives, `%YAML 1.1` and `%TAG`: another version, or another name, is an error.
/// Directives stand at the start of a line before a document, after only blank, comment and directive lines.
fn go_directives(piece: &Piece) -> Result<(), yaml::Error> {
    for (n, line) in piece.text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let Some(directive) = line.strip_prefix('%') else {
            return Ok(());
        };
        let mut words = directive.split_whitespace();
        let message = match (words.next(), words.next()) {
            (Some("YAML"), Some("1.1")) | (Some("TAG"), _) => continue,
            (Some("YAML"), _) => {
                "found incompatible YAML document (Helm's YAML reader takes %YAML 1.1 only)"
            }
            _ => "found unknown directive name (Helm's YAML reader knows %YAML and %TAG)",
        };
        return Err(yaml::Error {
            message: message.into(),
            line: piece.line + n,
            col: 1,
        });
    }
    Ok(())
}

/// granit-parser wants the continuation lines of a quoted scalar indented; yaml.v2 takes them at any column.
const QUOTED_INDENTATION: &str = "invalid indentation in multiline quoted scalar";

/// The text with a continuation line of a quoted scalar indented further (which leaves the scalar's value as
/// it was: a quoted scalar's line breaks fold and its continuation lines lose their leading spaces). None once
/// the line is indented far beyond any block's indentation.
fn indent_line(text: &str, line: usize) -> Option<String> {
    const STEP: &str = "        ";
    let mut out = String::with_capacity(text.len() + STEP.len());
    let mut found = false;
    for (n, l) in text.split_inclusive('\n').enumerate() {
        if n + 1 == line {
            // yaml.v2 refuses a document marker at the start of a line inside quotes; so too far an indentation.
            let marker = l.starts_with("---") || l.starts_with("...");
            if marker || l.len() - l.trim_start_matches(' ').len() > 4096 {
                return None;
            }
            out.push_str(STEP);
            found = true;
        }
        out.push_str(l);
    }
    found.then_some(out)
}

/// The line of a `...` that comes before any content (only blank and comment lines above it): yaml.v2 refuses it.
fn starts_with_document_end(text: &str) -> Option<usize> {
    for (n, line) in text.lines().enumerate() {
        let trimmed = line.trim_start_matches([' ', '\t', '\u{feff}']);
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let end = line.strip_prefix("...")?;
        return (end.is_empty() || end.starts_with([' ', '\t', '#'])).then_some(n + 1);
    }
    None
}

/// yaml.v2 breaks lines at NEL, LS and PS too, and skips a byte order mark at the start of any line: the text
/// as granit-parser then reads it the same way (a line break for each, the marks dropped).
fn go_line_breaks(text: &str) -> std::borrow::Cow<'_, str> {
    let odd = ['\u{85}', '\u{2028}', '\u{2029}', '\u{feff}'];
    if !text.contains(odd) {
        return std::borrow::Cow::Borrowed(text);
    }
    let mut out = String::with_capacity(text.len());
    let mut line_start = true;
    for c in text.chars() {
        match c {
            '\u{85}' | '\u{2028}' | '\u{2029}' => out.push('\n'),
            '\u{feff}' if line_start => continue,
            c => out.push(c),
        }
        line_start = matches!(c, '\n' | '\u{85}' | '\u{2028}' | '\u{2029}');
    }
    std::borrow::Cow::Owned(out)
}

/// What Go's JSON step refuses: keys that are `null` or above `i64::MAX`, and infinite or NaN numbers.
fn check_json(node: &Node) -> Result<(), yaml::Error> {
    match &node.value {
        Value::Float(f) if !f.is_finite() => Err(node_error(
            node,
            format!(
                "Helm cannot turn {} into JSON (write it in quotes for the text)",
                match f {
                    f if f.is_nan() => ".nan",
                    f if *f > 0.0 => ".inf",
                    _ => "-.inf",
                }
            ),
        )),
        Value::Seq(items) => items.iter().try_for_each(check_json),
        Value::Map(entries) => entries.iter().try_for_each(|(k, v)| {
            match k.value {
                Value::Null => Err(node_error(
                    k,
                    "a null key: Helm cannot name it in JSON".into(),
                )),
                Value::Uint(u) => Err(node_error(
                    k,
                    format!("the key {u} is beyond what Helm accepts as a map key (a 64-bit signed integer)"),
                )),
                _ => Ok(()),
            }?;
            check_json(v)
        }),
        _ => Ok(()),
    }
}

fn node_error(node: &Node, message: String) -> yaml::Error {
    yaml::Error {
        message,
        line: node.span.start.line,
        col: node.span.start.col,
    }
}

fn move_span(span: &mut Span, piece: &Piece) {
    for p in [&mut span.start, &mut span.end] {
        p.byte += piece.byte;
        p.line += piece.line - 1;
    }
}

fn move_node(node: &mut Node, piece: &Piece) {
    if piece.byte == 0 {
        return;
    }
    move_span(&mut node.span, piece);
    match &mut node.value {
        Value::Seq(items) => items.iter_mut().for_each(|n| move_node(n, piece)),
        Value::Map(entries) => entries.iter_mut().for_each(|(k, v)| {
            move_node(k, piece);
            move_node(v, piece);
        }),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn json_of(text: &str, helm: Helm) -> Vec<serde_json::Value> {
        read(text, helm)
            .unwrap()
            .docs
            .iter()
            .map(Node::to_json)
            .collect()
    }

    #[test]
    fn helm4_reads_every_document_helm3_the_first() {
        let text = "a: 1\n---\nb: 2\n--- # c\nc: 3\n";
        assert_eq!(
            json_of(text, Helm::V4),
            vec![json!({"a": 1}), json!({"b": 2}), json!({"c": 3})]
        );
        assert_eq!(json_of(text, Helm::V3), vec![json!({"a": 1})]);
        assert!(json_of("", Helm::V4).is_empty());
        assert!(json_of("# c\n---\n~\n---\n", Helm::V4).is_empty());
        let e = read("a: 1\n--- {b: 2}\n", Helm::V4).unwrap_err();
        assert_eq!((e.line, e.col), (2, 4));
        assert!(read("a: 1\n--- {b: 2}\n", Helm::V3).is_ok());
    }

    #[test]
    fn positions_are_the_files() {
        let r = read("a: 1\n---\nb: 2\nb: 3\n", Helm::V4).unwrap();
        let (key, value) = r.docs[1].entry("b").unwrap();
        assert_eq!((key.span.start.line, key.span.start.col), (4, 1));
        assert_eq!(value.span.start.byte, 17);
        assert_eq!(r.duplicates[0].first.start.line, 3);
        let e = read("a: 1\n---\nb: [\n", Helm::V4).unwrap_err();
        assert!(e.line >= 3, "{e}");
    }

    #[test]
    fn json_refuses_what_helm_refuses() {
        for (text, says) in [
            ("a: .inf\n", "1:4: Helm cannot turn .inf into JSON"),
            ("a: [-.Inf]\n", "1:5: Helm cannot turn -.inf into JSON"),
            ("~: 1\n", "1:1: a null key"),
            (
                "18446744073709551615: 1\n",
                "1:1: the key 18446744073709551615",
            ),
            ("- a\n", "1:1: the top level is a list"),
        ] {
            let e = read(text, Helm::V4).unwrap_err().to_string();
            assert!(e.starts_with(says), "{text:?}: {e}");
        }
        assert_eq!(json_of(".inf: 1\n", Helm::V4), vec![json!({".inf": 1})]);
    }

    #[test]
    fn helm3_round_trip_merges_keys_named_merge() {
        let v = json!({"<<": {"a": 1, "b": 2, "1": 9}, "b": 3, "1": 4, "n": [{"<<": [{"x": 1}, {"x": 2}]}]});
        assert!(has_merge_named_key(&v));
        let wanted = json!({"a": 1, "b": 3, "1": 9, "n": [{"x": 1}]});
        assert_eq!(helm3_merge_keys(v), wanted);
        assert!(!has_merge_named_key(&wanted));
    }
}
