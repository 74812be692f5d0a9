//! The one YAML reader of opsta-lint: a tree of nodes that remember where they stand in the source.
//!
//! Built on `granit-parser`'s event stream, whose spans are true UTF-8 byte ranges, so the same tree serves
//! three jobs: locating findings (line and column), splicing new text into the original bytes (the
//! post-renderer), and comparing documents by meaning (the diff). Scalars resolve the way Helm's Go YAML
//! (YAML 1.1) reads them: plain `yes`/`on`/`y` are booleans, `0755` is octal, `<<` merge keys are expanded.
//!
//! Hostile input is bounded: nesting depth, alias expansion and duplicate keys are errors with a location.
//!
//! build.rs compiles this file too (it embeds each product.yaml as JSON): keep it free of `crate::` paths and of
//! dependencies other than granit-parser and serde_json.

use granit_parser::{Event, Options, Parser, ScalarStyle, ScanError, Tag};
use serde_json::Value as Json;
use std::collections::HashMap;
use std::fmt;

/// A position in the source: byte offset, 1-based line, 1-based column (in characters).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pos {
    pub byte: usize,
    pub line: usize,
    pub col: usize,
}

/// The half-open source range a node covers. For quoted scalars it includes the quotes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Span {
    pub start: Pos,
    pub end: Pos,
}

impl Span {
    pub fn bytes(&self) -> std::ops::Range<usize> {
        self.start.byte..self.end.byte
    }
}

/// How a node was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Style {
    Plain,
    SingleQuoted,
    DoubleQuoted,
    Literal,
    Folded,
    Block,
    Flow,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Bool(bool),
    Int(i64),
    /// An integer above `i64::MAX` that fits 64 bits: Go's yaml.v2 (and so Helm) reads it as a uint64.
    Uint(u64),
    Float(f64),
    Str(String),
    Seq(Vec<Node>),
    /// Key/value pairs in source order; keys are unique.
    Map(Vec<(Node, Node)>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Node {
    pub value: Value,
    pub span: Span,
    pub style: Style,
    /// True when this node is a copy made for an alias (`*name`): its span is the anchored original's.
    pub aliased: bool,
}

/// A YAML syntax or structure error with the position it refers to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub message: String,
    pub line: usize,
    pub col: usize,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.col, self.message)
    }
}

impl std::error::Error for Error {}

/// Resource bounds for untrusted input.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Deepest nesting of collections.
    pub max_depth: usize,
    /// Most nodes that aliases may copy in one stream (billion-laughs guard).
    pub max_alias_nodes: usize,
    /// Accept a repeated mapping key (the last one wins) instead of failing.
    pub allow_duplicate_keys: bool,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 256,
            max_alias_nodes: 250_000,
            allow_duplicate_keys: false,
        }
    }
}

/// Parses every document of a YAML stream with the default limits.
pub fn parse(src: &str) -> Result<Vec<Node>, Error> {
    parse_with(src, Limits::default())
}

/// Parses every document of a YAML stream. An empty stream gives no documents; an empty document gives `Null`.
pub fn parse_with(src: &str, limits: Limits) -> Result<Vec<Node>, Error> {
    let mut options = Options::default();
    options.block_nesting_limit = limits.max_depth;
    options.flow_nesting_limit = limits.max_depth;
    options.emit_comments = false;
    let mut loader = Loader {
        parser: Parser::new_from_str_with_options(src, options),
        limits,
        anchors: HashMap::new(),
        alias_nodes: 0,
        depth: 0,
    };
    loader.stream()
}

impl Node {
    /// The value under `key` when this node is a mapping.
    pub fn get(&self, key: &str) -> Option<&Node> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The key node and value node under `key` when this node is a mapping.
    pub fn entry(&self, key: &str) -> Option<(&Node, &Node)> {
        match &self.value {
            Value::Map(entries) => entries
                .iter()
                .find(|(k, _)| k.key_text().as_deref() == Some(key))
                .map(|(k, v)| (k, v)),
            _ => None,
        }
    }

    /// The string value of a scalar, if it is one.
    pub fn as_str(&self) -> Option<&str> {
        match &self.value {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    /// The text a scalar stands for as a mapping key (how Helm's YAML-to-JSON step names it).
    pub fn key_text(&self) -> Option<String> {
        match &self.value {
            Value::Str(s) => Some(s.clone()),
            Value::Null => Some("null".into()),
            Value::Bool(b) => Some(b.to_string()),
            Value::Int(i) => Some(i.to_string()),
            Value::Uint(u) => Some(u.to_string()),
            Value::Float(f) => Some(json_float(*f).to_string()),
            Value::Seq(_) | Value::Map(_) => None,
        }
    }

    /// The node as JSON, with mapping keys as strings (Helm turns values YAML into JSON the same way).
    pub fn to_json(&self) -> Json {
        match &self.value {
            Value::Null => Json::Null,
            Value::Bool(b) => Json::Bool(*b),
            Value::Int(i) => Json::from(*i),
            Value::Uint(u) => Json::from(*u),
            Value::Float(f) => json_float(*f),
            Value::Str(s) => Json::String(s.clone()),
            Value::Seq(items) => Json::Array(items.iter().map(Node::to_json).collect()),
            Value::Map(entries) => Json::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.key_text().unwrap_or_default(), v.to_json()))
                    .collect(),
            ),
        }
    }

    /// Visits this node and every node below it (keys included), depth first, in source order.
    pub fn walk<'a>(&'a self, visit: &mut dyn FnMut(&'a Node)) {
        visit(self);
        match &self.value {
            Value::Seq(items) => items.iter().for_each(|n| n.walk(visit)),
            Value::Map(entries) => entries.iter().for_each(|(k, v)| {
                k.walk(visit);
                v.walk(visit);
            }),
            _ => {}
        }
    }
}

fn json_float(f: f64) -> Json {
    serde_json::Number::from_f64(f).map_or_else(|| Json::String(f.to_string()), Json::Number)
}

struct Anchor {
    node: Node,
    size: usize,
}

struct Loader<'a> {
    parser: Parser<'a, granit_parser::StrInput<'a>>,
    limits: Limits,
    anchors: HashMap<usize, Anchor>,
    alias_nodes: usize,
    depth: usize,
}

type Spanned<'a> = (Event<'a>, granit_parser::Span);

impl<'a> Loader<'a> {
    fn next(&mut self) -> Result<Spanned<'a>, Error> {
        match self.parser.next() {
            Some(Ok(event)) => Ok(event),
            Some(Err(e)) => Err(scan_error(&e, self.limits.max_depth)),
            None => Err(Error {
                message: "unexpected end of YAML stream".into(),
                line: 0,
                col: 0,
            }),
        }
    }

    fn stream(&mut self) -> Result<Vec<Node>, Error> {
        let mut docs = Vec::new();
        loop {
            let (event, span) = self.next()?;
            match event {
                Event::StreamStart => {}
                Event::StreamEnd => return Ok(docs),
                Event::DocumentStart(..) => {
                    self.anchors.clear();
                    let (first, first_span) = self.next()?;
                    if matches!(first, Event::DocumentEnd) {
                        docs.push(null_at(pos(&span.end)));
                        continue;
                    }
                    docs.push(self.node(first, first_span)?);
                    self.expect_document_end()?;
                }
                other => return Err(at(&span, format!("unexpected YAML event {other:?}"))),
            }
        }
    }

    fn expect_document_end(&mut self) -> Result<(), Error> {
        match self.next()? {
            (Event::DocumentEnd, _) => Ok(()),
            (_, span) => Err(at(&span, "expected the end of the document".into())),
        }
    }

    fn node(&mut self, event: Event<'a>, span: granit_parser::Span) -> Result<Node, Error> {
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                let node = scalar(&text, style, tag.as_deref(), &span)?;
                self.remember(anchor, &node);
                Ok(node)
            }
            Event::SequenceStart(style, anchor, _) => {
                let node = self.sequence(style, span)?;
                self.remember(anchor, &node);
                Ok(node)
            }
            Event::MappingStart(style, anchor, _) => {
                let node = self.mapping(style, span)?;
                self.remember(anchor, &node);
                Ok(node)
            }
            Event::Alias(id) => self.alias(id, &span),
            other => Err(at(&span, format!("unexpected YAML event {other:?}"))),
        }
    }

    /// Keeps an anchored node for later aliases (its size counted only then: counting every node is quadratic).
    fn remember(&mut self, anchor: usize, node: &Node) {
        if anchor != 0 {
            let size = count(node);
            let node = node.clone();
            self.anchors.insert(anchor, Anchor { node, size });
        }
    }

    fn alias(&mut self, id: usize, span: &granit_parser::Span) -> Result<Node, Error> {
        let Some(anchor) = self.anchors.get(&id) else {
            return Err(at(span, "alias refers to an unknown anchor".into()));
        };
        self.alias_nodes += anchor.size;
        if self.alias_nodes > self.limits.max_alias_nodes {
            return Err(at(
                span,
                format!(
                    "aliases expand to more than {} nodes; refusing a possible alias bomb",
                    self.limits.max_alias_nodes
                ),
            ));
        }
        let mut node = anchor.node.clone();
        node.aliased = true;
        Ok(node)
    }

    fn enter(&mut self, span: &granit_parser::Span) -> Result<(), Error> {
        self.depth += 1;
        if self.depth > self.limits.max_depth {
            return Err(at(
                span,
                format!("nesting deeper than {} levels", self.limits.max_depth),
            ));
        }
        Ok(())
    }

    fn sequence(
        &mut self,
        style: granit_parser::StructureStyle,
        start: granit_parser::Span,
    ) -> Result<Node, Error> {
        self.enter(&start)?;
        let mut items = Vec::new();
        let end = loop {
            let (event, span) = self.next()?;
            if matches!(event, Event::SequenceEnd) {
                break span;
            }
            items.push(self.node(event, span)?);
        };
        self.depth -= 1;
        Ok(collection(Value::Seq(items), style, &start, &end))
    }

    fn mapping(
        &mut self,
        style: granit_parser::StructureStyle,
        start: granit_parser::Span,
    ) -> Result<Node, Error> {
        self.enter(&start)?;
        let mut entries: Vec<(Node, Node)> = Vec::new();
        let mut positions: HashMap<String, usize> = HashMap::new();
        let mut merges: Vec<Node> = Vec::new();
        let end = loop {
            let (event, span) = self.next()?;
            if matches!(event, Event::MappingEnd) {
                break span;
            }
            let key = self.node(event, span)?;
            let (event, span) = self.next()?;
            let value = self.node(event, span)?;
            if is_merge_key(&key) {
                merges.push(value);
                continue;
            }
            self.insert(&mut entries, &mut positions, key, value)?;
        };
        self.depth -= 1;
        for source in merges {
            merge_into(&mut entries, source)?;
        }
        Ok(collection(Value::Map(entries), style, &start, &end))
    }

    /// Adds an entry; `positions` maps the key texts already in `entries` to their index.
    fn insert(
        &self,
        entries: &mut Vec<(Node, Node)>,
        positions: &mut HashMap<String, usize>,
        key: Node,
        value: Node,
    ) -> Result<(), Error> {
        let Some(name) = key.key_text() else {
            return Err(node_error(&key, "a mapping key must be a scalar".into()));
        };
        match positions.get(&name).copied() {
            None => {
                positions.insert(name, entries.len());
                entries.push((key, value));
            }
            Some(i) if self.limits.allow_duplicate_keys => entries[i] = (key, value),
            Some(i) => {
                let first = entries[i].0.span.start.line;
                return Err(node_error(
                    &key,
                    format!("duplicate key \"{name}\" (first defined on line {first})"),
                ));
            }
        }
        Ok(())
    }
}

fn is_merge_key(key: &Node) -> bool {
    key.style == Style::Plain && key.value == Value::Str("<<".into())
}

/// Applies a `<<` merge: keys written in the mapping itself win over merged ones.
fn merge_into(entries: &mut Vec<(Node, Node)>, source: Node) -> Result<(), Error> {
    let maps = match source.value {
        Value::Map(_) => vec![source],
        Value::Seq(items) => items,
        _ => {
            return Err(node_error(
                &source,
                "a merge key (<<) needs a mapping".into(),
            ))
        }
    };
    for map in maps {
        let Value::Map(pairs) = map.value else {
            return Err(node_error(&map, "a merge key (<<) needs mappings".into()));
        };
        for (k, v) in pairs {
            if !entries.iter().any(|(e, _)| e.key_text() == k.key_text()) {
                entries.push((k, v));
            }
        }
    }
    Ok(())
}

fn count(node: &Node) -> usize {
    let mut n = 0;
    node.walk(&mut |_| n += 1);
    n
}

fn collection(
    value: Value,
    style: granit_parser::StructureStyle,
    start: &granit_parser::Span,
    end: &granit_parser::Span,
) -> Node {
    let style = match style {
        granit_parser::StructureStyle::Block => Style::Block,
        granit_parser::StructureStyle::Flow => Style::Flow,
    };
    Node {
        value,
        span: Span {
            start: pos(&start.start),
            end: pos(&end.end),
        },
        style,
        aliased: false,
    }
}

fn scalar(
    text: &str,
    style: ScalarStyle,
    tag: Option<&Tag>,
    span: &granit_parser::Span,
) -> Result<Node, Error> {
    let style = match style {
        ScalarStyle::Plain => Style::Plain,
        ScalarStyle::SingleQuoted => Style::SingleQuoted,
        ScalarStyle::DoubleQuoted => Style::DoubleQuoted,
        ScalarStyle::Literal => Style::Literal,
        ScalarStyle::Folded => Style::Folded,
    };
    let value = match tag {
        Some(tag) => tagged(text, tag).ok_or_else(|| {
            at(
                span,
                format!("\"{text}\" is not a valid !!{}", tag.suffix()),
            )
        })?,
        None if style == Style::Plain => resolve_plain(text),
        None => Value::Str(text.to_string()),
    };
    Ok(Node {
        value,
        span: Span {
            start: pos(&span.start),
            end: pos(&span.end),
        },
        style,
        aliased: false,
    })
}

/// An explicitly tagged scalar (`!!str 10`, `!!int "3"`); unknown tags resolve like plain text.
fn tagged(text: &str, tag: &Tag) -> Option<Value> {
    match tag.core_suffix() {
        Some("str") => Some(Value::Str(text.to_string())),
        Some("int") => resolve_int(text),
        Some("float") => resolve_float(text).or_else(|| resolve_int(text).map(int_to_float)),
        Some("bool") => resolve_bool(text).map(Value::Bool),
        Some("null") => Some(Value::Null),
        _ if tag.handle() == "!" && tag.suffix().is_empty() => Some(Value::Str(text.to_string())),
        _ => Some(resolve_plain(text)),
    }
}

fn int_to_float(v: Value) -> Value {
    match v {
        Value::Int(i) => Value::Float(i as f64),
        Value::Uint(u) => Value::Float(u as f64),
        other => other,
    }
}

/// YAML 1.1 resolution of a plain scalar, as Go's yaml.v2 (and so Helm) does it.
pub fn resolve_plain(text: &str) -> Value {
    if matches!(text, "" | "~" | "null" | "Null" | "NULL") {
        return Value::Null;
    }
    if let Some(b) = resolve_bool(text) {
        return Value::Bool(b);
    }
    resolve_int(text)
        .or_else(|| resolve_float(text))
        .unwrap_or_else(|| Value::Str(text.to_string()))
}

fn resolve_bool(text: &str) -> Option<bool> {
    match text {
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Some(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Some(false)
        }
        _ => None,
    }
}

fn resolve_int(text: &str) -> Option<Value> {
    let (negative, body) = match text.as_bytes().first()? {
        b'-' => (true, &text[1..]),
        b'+' => (false, &text[1..]),
        _ => (false, text),
    };
    if !body.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    let digits: String = body.chars().filter(|&c| c != '_').collect();
    if digits.is_empty() {
        return None;
    }
    let (radix, digits) = if let Some(d) = digits.strip_prefix("0b") {
        (2, d.to_string())
    } else if let Some(d) = digits.strip_prefix("0x") {
        (16, d.to_string())
    } else if digits.len() > 1 && digits.starts_with('0') {
        (8, digits[1..].to_string())
    } else {
        (10, digits)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(&digits, radix).ok();
    let value = match magnitude {
        Some(m) if negative && m <= i64::MAX as u64 + 1 => Value::Int((-i128::from(m)) as i64),
        Some(m) if !negative => i64::try_from(m).map_or(Value::Uint(m), Value::Int),
        _ => Value::Float(text.replace('_', "").parse::<f64>().ok()?),
    };
    Some(value)
}

fn resolve_float(text: &str) -> Option<Value> {
    let special = match text {
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => Some(f64::INFINITY),
        "-.inf" | "-.Inf" | "-.INF" => Some(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => Some(f64::NAN),
        _ => None,
    };
    if let Some(f) = special {
        return Some(Value::Float(f));
    }
    let body = text.trim_start_matches(['-', '+']);
    let looks_numeric = body.starts_with(|c: char| c.is_ascii_digit() || c == '.')
        && body.chars().any(|c| c.is_ascii_digit())
        && body
            .chars()
            .all(|c| c.is_ascii_digit() || matches!(c, '.' | 'e' | 'E' | '-' | '+' | '_'));
    if !looks_numeric || body.ends_with(['e', 'E', '-', '+']) {
        return None;
    }
    text.replace('_', "").parse::<f64>().ok().map(Value::Float)
}

fn pos(marker: &granit_parser::Marker) -> Pos {
    Pos {
        byte: marker.byte_offset().unwrap_or(0),
        line: marker.line(),
        col: marker.col() + 1,
    }
}

fn null_at(p: Pos) -> Node {
    Node {
        value: Value::Null,
        span: Span { start: p, end: p },
        style: Style::Plain,
        aliased: false,
    }
}

fn at(span: &granit_parser::Span, message: String) -> Error {
    Error {
        message,
        line: span.start.line(),
        col: span.start.col() + 1,
    }
}

fn node_error(node: &Node, message: String) -> Error {
    Error {
        message,
        line: node.span.start.line,
        col: node.span.start.col,
    }
}

fn scan_error(e: &ScanError, max_depth: usize) -> Error {
    // The scanner's own nesting guard speaks of recursion; say what the input did.
    let message = match e.info().as_str() {
        "recursion limit exceeded" => format!("nesting deeper than {max_depth} levels"),
        info => info.to_string(),
    };
    Error {
        message,
        line: e.marker().line(),
        col: e.marker().col() + 1,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn one(src: &str) -> Node {
        let mut docs = parse(src).expect("parses");
        assert_eq!(docs.len(), 1);
        docs.remove(0)
    }

    #[test]
    fn resolves_scalars_as_helm_does() {
        let doc = one("a: yes\nb: 'yes'\nc: 0755\nd: 1_000\ne: ~\nf: 1.5\ng: 0x1F\nh: on\ni: -3\nj: 1e3\nk: v1.2\nl: .inf\n");
        let j = doc.to_json();
        assert_eq!(j["a"], json!(true));
        assert_eq!(j["b"], json!("yes"));
        assert_eq!(j["c"], json!(493));
        assert_eq!(j["d"], json!(1000));
        assert_eq!(j["e"], json!(null));
        assert_eq!(j["f"], json!(1.5));
        assert_eq!(j["g"], json!(31));
        assert_eq!(j["h"], json!(true));
        assert_eq!(j["i"], json!(-3));
        assert_eq!(j["j"], json!(1000.0));
        assert_eq!(j["k"], json!("v1.2"));
        assert_eq!(j["l"], json!("inf"));
    }

    #[test]
    fn tags_override_resolution() {
        let j = one("a: !!str 10\nb: !!int \"7\"\nc: !!bool 'on'\n").to_json();
        assert_eq!(j, json!({"a": "10", "b": 7, "c": true}));
        assert!(parse("a: !!int nope\n").is_err());
    }

    #[test]
    fn integers_take_go_yaml_range_int64_then_uint64() {
        // Found by the `release` fuzz target: a uint64 printed from a release's values read back as a float.
        let j = one(concat!(
            "a: 9223372036854775807\nb: 9223372036854775808\nc: 18446744073709551615\n",
            "d: 18446744073709551616\ne: -9223372036854775808\nf: -9223372036854775809\n",
            "g: 0xFFFFFFFFFFFFFFFF\nh: 11111111111111111111\n"
        ))
        .to_json();
        assert_eq!(j["a"], json!(i64::MAX));
        assert_eq!(j["b"], json!(9_223_372_036_854_775_808_u64));
        assert_eq!(j["c"], json!(u64::MAX));
        assert_eq!(j["d"], json!(18_446_744_073_709_551_616.0));
        assert_eq!(j["e"], json!(i64::MIN));
        assert_eq!(j["f"], json!(-9_223_372_036_854_775_809.0));
        assert_eq!(j["g"], json!(u64::MAX));
        assert_eq!(j["h"], json!(11_111_111_111_111_111_111_u64));
        assert_eq!(
            one("k: !!float 18446744073709551615\n").to_json()["k"],
            json!(u64::MAX as f64)
        );
    }

    #[test]
    fn spans_are_byte_ranges_with_lines_and_columns() {
        let src = "é: 1\nimage: \"nginx:1\"\nother: 'x'\n";
        let doc = one(src);
        let (key, value) = doc.entry("image").unwrap();
        assert_eq!(&src[value.span.bytes()], "\"nginx:1\"");
        assert_eq!((key.span.start.line, key.span.start.col), (2, 1));
        assert_eq!((value.span.start.line, value.span.start.col), (2, 8));
        assert_eq!(value.style, Style::DoubleQuoted);
        assert_eq!(&src[doc.get("é").unwrap().span.bytes()], "1");
    }

    #[test]
    fn merge_keys_expand_and_explicit_keys_win() {
        let j = one("base: &b {x: 1, z: 2}\nitem:\n  <<: *b\n  z: 3\n").to_json();
        assert_eq!(j["item"], json!({"z": 3, "x": 1}));
        // YAML 1.1, as Helm reads it: a plain `y` key is the boolean true.
        assert_eq!(one("y: 1\n").to_json(), json!({"true": 1}));
    }

    #[test]
    fn duplicate_keys_are_located_errors() {
        let e = parse("a: 1\nb: 2\na: 3\n").unwrap_err();
        assert_eq!((e.line, e.col), (3, 1));
        assert!(e.message.contains("duplicate key \"a\""), "{e}");
        let lenient = Limits {
            allow_duplicate_keys: true,
            ..Limits::default()
        };
        let docs = parse_with("a: 1\na: 3\n", lenient).unwrap();
        assert_eq!(docs[0].to_json(), json!({"a": 3}));
    }

    #[test]
    fn alias_bombs_stop_early() {
        let mut src = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            let p = i - 1;
            src.push_str(&format!(
                "a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n"
            ));
        }
        let e = parse(&src).unwrap_err();
        assert!(e.message.contains("alias bomb"), "{e}");
    }

    #[test]
    fn deep_nesting_is_refused() {
        let src = "[".repeat(10_000) + &"]".repeat(10_000);
        let e = parse(&src).unwrap_err();
        assert_eq!(e.message, "nesting deeper than 256 levels");
        let block: String = (0..400).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
        assert!(parse(&block).is_err());
    }

    #[test]
    fn comments_are_skipped() {
        let doc = one("# head\na: 1 # trailing\n# between\nb:\n  # inside\n  - x\n");
        assert_eq!(doc.to_json(), json!({"a": 1, "b": ["x"]}));
    }

    #[test]
    fn streams_empty_documents_and_syntax_errors() {
        assert!(parse("").unwrap().is_empty());
        let docs = parse("---\n---\na: 1\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[0].value, Value::Null);
        let e = parse("a: [1, 2\nb: 3\n").unwrap_err();
        assert!(e.line >= 1, "{e}");
    }
}
