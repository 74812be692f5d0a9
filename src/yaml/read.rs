//! The one YAML reader of opsta-lint: a tree of nodes that remember where they stand in the source.
//!
//! Built on `granit-parser`'s event stream, whose spans are true UTF-8 byte ranges, so the same tree serves
//! three jobs: locating findings (line and column), splicing new text into the original bytes (the
//! post-renderer), and comparing documents by meaning (the diff). Scalars resolve the way Helm's Go YAML
//! (yaml.v2, YAML 1.1) reads them, step by step as its resolver does: plain `yes`/`on`/`y` are booleans, numbers
//! go through Go's `strconv.ParseInt(s, 0, 64)` (so `0755`, `0o755` and `0x1F` are integers), tags are checked
//! as Go checks them, and `<<` merge keys apply in document order.
//!
//! Hostile input is bounded: nesting depth and alias expansion are errors with a location; duplicate keys are
//! errors unless the limits allow them (then the last wins, as in Go, and each is reported).
//!
//! build.rs compiles this file too (it embeds each product.yaml as JSON): keep it free of `crate::` paths and of
//! dependencies other than granit-parser and serde_json.

use granit_parser::{Event, Options, Parser, ScalarStyle, ScanError, Tag};
use serde_json::Value as Json;
use std::borrow::Cow;
use std::collections::hash_map::Entry;
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
    /// Read only the first document of the stream (as Go's `yaml.Unmarshal` does); what follows is not parsed.
    pub first_document_only: bool,
    /// Also refuse what Go's yaml.v2 refuses where granit-parser is lenient: anchor names other than letters,
    /// digits, `_` and `-`; escapes `\/` and surrogates in double quotes; tabs where yaml.v2 expects
    /// indentation; a flow mapping key that spans lines.
    pub go_strict: bool,
}

/// Helm's YAML reader (Go's yaml.v2, then encoding/json) refuses values nested deeper than this, counting the
/// top-level mapping as one level.
pub const HELM_MAX_DEPTH: usize = 10_000;

/// A mapping key written again in the same mapping: the later one wins.
#[derive(Debug, Clone, PartialEq)]
pub struct Duplicate {
    /// The key as Helm names it.
    pub name: String,
    /// The key that won (the later one).
    pub key: Span,
    /// The key it replaced.
    pub first: Span,
}

/// Every document of a stream, and the duplicate keys met while reading them.
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub docs: Vec<Node>,
    pub duplicates: Vec<Duplicate>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_depth: 256,
            max_alias_nodes: 250_000,
            allow_duplicate_keys: false,
            first_document_only: false,
            go_strict: false,
        }
    }
}

/// Parses every document of a YAML stream with the default limits.
pub fn parse(src: &str) -> Result<Vec<Node>, Error> {
    parse_with(src, Limits::default())
}

/// Parses every document of a YAML stream. An empty stream gives no documents; an empty document gives `Null`.
pub fn parse_with(src: &str, limits: Limits) -> Result<Vec<Node>, Error> {
    load(src, limits).map(|loaded| loaded.docs)
}

/// Parses a YAML stream, keeping the duplicate keys it met (when the limits allow them).
pub fn load(src: &str, limits: Limits) -> Result<Loaded, Error> {
    let mut options = Options::default();
    options.block_nesting_limit = limits.max_depth;
    options.flow_nesting_limit = limits.max_depth;
    options.emit_comments = false;
    options.emit_anchor_events = limits.go_strict;
    let mut loader = Loader {
        src,
        exempt: Vec::new(),
        read_to: src.len(),
        parser: Parser::new_from_str_with_options(src, options),
        limits,
        anchors: HashMap::new(),
        alias_nodes: 0,
        depth: 0,
        duplicates: Vec::new(),
    };
    let docs = loader.stream()?;
    if limits.go_strict {
        // Only the text read: with `first_document_only`, what follows the first document is not Go's concern.
        let read = match limits.first_document_only {
            true => &src[..loader.read_to.min(src.len())],
            false => src,
        };
        go_tabs_at_line_starts(read, &mut loader.exempt)?;
    }
    Ok(Loaded {
        docs,
        duplicates: loader.duplicates,
    })
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
                .find(|(k, _)| match &k.value {
                    Value::Str(s) => s == key,
                    _ => k.key_text().as_deref() == Some(key),
                })
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
            Value::Float(f) => Some(go_float_key(*f)),
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

/// A float mapping key as sigs.k8s.io/yaml names it: `strconv.FormatFloat(f, 'g', -1, 32)`, that is the
/// shortest float32 digits, in exponent form below 1e-4 or from 1e21 (or from 10^digits when that is more).
fn go_float_key(f: f64) -> String {
    let f = f as f32;
    if f.is_nan() {
        return ".nan".into();
    }
    if f.is_infinite() {
        return if f > 0.0 { ".inf" } else { "-.inf" }.into();
    }
    let sign = if f.is_sign_negative() { "-" } else { "" };
    if f == 0.0 {
        return format!("{sign}0");
    }
    let shortest = format!("{:e}", f.abs());
    let (mantissa, exp) = shortest.split_once('e').unwrap_or((&shortest, "0"));
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let exp: i32 = exp.parse().unwrap_or(0);
    let nd = digits.len() as i32;
    let dp = exp + 1;
    let eprec = if 6 > nd && nd >= dp { nd } else { 6 };
    if exp < -4 || exp >= eprec {
        let rest = if nd > 1 {
            format!(".{}", &digits[1..])
        } else {
            String::new()
        };
        let esign = if exp < 0 { '-' } else { '+' };
        return format!("{sign}{}{rest}e{esign}{:02}", &digits[..1], exp.abs());
    }
    let body = if dp <= 0 {
        format!("0.{}{digits}", "0".repeat((-dp) as usize))
    } else if dp >= nd {
        format!("{digits}{}", "0".repeat((dp - nd) as usize))
    } else {
        format!("{}.{}", &digits[..dp as usize], &digits[dp as usize..])
    };
    format!("{sign}{body}")
}

struct Anchor {
    node: Node,
    size: usize,
}

struct Loader<'a> {
    src: &'a str,
    /// Byte ranges where a tab at the start of a line is content or allowed (quoted and block scalars, flow
    /// collections), for `go_strict`.
    exempt: Vec<std::ops::Range<usize>>,
    /// The end of the last document read.
    read_to: usize,
    parser: Parser<'a, granit_parser::StrInput<'a>>,
    limits: Limits,
    anchors: HashMap<usize, Anchor>,
    alias_nodes: usize,
    depth: usize,
    duplicates: Vec<Duplicate>,
}

type Spanned<'a> = (Event<'a>, granit_parser::Span);

impl<'a> Loader<'a> {
    #[inline(always)]
    fn next(&mut self) -> Result<Spanned<'a>, Error> {
        loop {
            match self.parser.next() {
                Some(Ok((Event::Anchor(_, name), span))) => check_anchor_name(&name, &span)?,
                Some(Ok(event)) => return Ok(event),
                Some(Err(e)) => return Err(scan_error(&e, self.limits.max_depth)),
                None => return Err(end_of_stream()),
            }
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
                        if self.limits.first_document_only {
                            return Ok(docs);
                        }
                        continue;
                    }
                    docs.push(self.node(first, first_span)?);
                    self.expect_document_end()?;
                    if self.limits.first_document_only {
                        return Ok(docs);
                    }
                }
                other => return Err(at(&span, format!("unexpected YAML event {other:?}"))),
            }
        }
    }

    fn expect_document_end(&mut self) -> Result<(), Error> {
        match self.next()? {
            (Event::DocumentEnd, span) => {
                self.read_to = marker_byte(&span.end);
                Ok(())
            }
            (_, span) => Err(at(&span, "expected the end of the document".into())),
        }
    }

    fn node(&mut self, event: Event<'a>, span: granit_parser::Span) -> Result<Node, Error> {
        match event {
            Event::Scalar(text, style, anchor, tag) => {
                if self.limits.go_strict {
                    self.go_scalar_checks(style, &span)?;
                }
                let node = scalar(text, style, tag.as_deref(), &span)?;
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
        let node = collection(Value::Seq(items), style, &start, &end);
        if node.style == Style::Flow {
            self.exempt.push(node.span.bytes());
        }
        Ok(node)
    }

    fn mapping(
        &mut self,
        style: granit_parser::StructureStyle,
        start: granit_parser::Span,
    ) -> Result<Node, Error> {
        self.enter(&start)?;
        let mut entries: Vec<(Node, Node)> = Vec::new();
        // None while the mapping is small and has no merged entries, as most are: keys are then compared with a
        // linear search (no copy of each key name, no hash map per mapping).
        let mut slots: Option<HashMap<String, Slot>> = None;
        let end = loop {
            let (event, span) = self.next()?;
            if matches!(event, Event::MappingEnd) {
                break span;
            }
            let merge = is_merge_key(&event);
            let key = self.node(event, span)?;
            if self.limits.go_strict && style == granit_parser::StructureStyle::Flow {
                go_flow_key_on_one_line(self.src, &key)?;
            }
            let (event, span) = self.next()?;
            let value = self.node(event, span)?;
            if merge {
                // As Go's decoder does: the merged keys override the keys written before `<<`, later keys
                // override them, and a list of mappings applies from its last item to its first.
                let slots = slots.get_or_insert_with(|| written_slots(&entries));
                for (k, v) in merge_sources(value)? {
                    let name = k.key_text().unwrap_or_default();
                    put(&mut entries, slots, name, k, v);
                }
                continue;
            }
            match &mut slots {
                Some(slots) => self.insert(&mut entries, slots, key, value)?,
                None => {
                    self.insert_small(&mut entries, key, value)?;
                    if entries.len() > SMALL_MAPPING {
                        slots = Some(written_slots(&entries));
                    }
                }
            }
        };
        self.depth -= 1;
        let node = collection(Value::Map(entries), style, &start, &end);
        if node.style == Style::Flow {
            self.exempt.push(node.span.bytes());
        }
        Ok(node)
    }

    /// Adds an entry written in a small mapping without merged entries, where every key is where it was last
    /// written.
    fn insert_small(
        &mut self,
        entries: &mut Vec<(Node, Node)>,
        key: Node,
        value: Node,
    ) -> Result<(), Error> {
        if matches!(key.value, Value::Seq(_) | Value::Map(_)) {
            return Err(node_error(&key, "a mapping key must be a scalar".into()));
        }
        match entries.iter().position(|(k, _)| same_name(k, &key)) {
            Some(index) => {
                let name = key.key_text().unwrap_or_default();
                self.duplicate(name, &key, entries[index].0.span)?;
                entries[index] = (key, value);
            }
            None => entries.push((key, value)),
        }
        Ok(())
    }

    /// Adds an entry written in the mapping; `slots` maps the key texts already in `entries` to their index
    /// and, for the keys written (not merged) so far, to their place.
    fn insert(
        &mut self,
        entries: &mut Vec<(Node, Node)>,
        slots: &mut HashMap<String, Slot>,
        key: Node,
        value: Node,
    ) -> Result<(), Error> {
        let Some(name) = key.key_text() else {
            return Err(node_error(&key, "a mapping key must be a scalar".into()));
        };
        match slots.entry(name) {
            Entry::Vacant(vacant) => {
                vacant.insert(Slot {
                    index: entries.len(),
                    written: Some(key.span),
                });
                entries.push((key, value));
            }
            Entry::Occupied(mut occupied) => {
                if let Some(first) = occupied.get().written {
                    self.duplicate(occupied.key().clone(), &key, first)?;
                }
                let slot = occupied.get_mut();
                slot.written = Some(key.span);
                entries[slot.index] = (key, value);
            }
        }
        Ok(())
    }

    /// A key written again in a mapping (`first` is where it was written before): an error, or when the limits
    /// allow it, a duplicate to report.
    fn duplicate(&mut self, name: String, key: &Node, first: Span) -> Result<(), Error> {
        if !self.limits.allow_duplicate_keys {
            let first = first.start.line;
            return Err(node_error(
                key,
                format!("duplicate key \"{name}\" (first defined on line {first})"),
            ));
        }
        self.duplicates.push(Duplicate {
            name,
            key: key.span,
            first,
        });
        Ok(())
    }
}

impl Loader<'_> {
    /// Go's yaml.v2 checks on a scalar that granit-parser does not make.
    fn go_scalar_checks(
        &mut self,
        style: ScalarStyle,
        span: &granit_parser::Span,
    ) -> Result<(), Error> {
        let range = marker_byte(&span.start)..marker_byte(&span.end);
        let raw = self.src.get(range.clone()).unwrap_or_default();
        if matches!(style, ScalarStyle::DoubleQuoted | ScalarStyle::SingleQuoted) {
            if let Some(offset) = go_document_indicator(raw) {
                return Err(Error {
                    message: "found unexpected document indicator (a line starting with --- or ... inside quotes)"
                        .into(),
                    ..error_at(self.src, range.start + offset)
                });
            }
        }
        match style {
            ScalarStyle::DoubleQuoted => go_escapes(raw).map_err(|(offset, message)| Error {
                message,
                ..error_at(self.src, range.start + offset)
            })?,
            ScalarStyle::Literal | ScalarStyle::Folded => {
                // The span starts at the content: read from the start of its first line.
                let line_start = self.src[..range.start].rfind('\n').map_or(0, |i| i + 1);
                let lines = self.src.get(line_start..range.end).unwrap_or_default();
                go_block_indentation(lines).map_err(|offset| Error {
                    message: "found a tab character where an indentation space is expected".into(),
                    ..error_at(self.src, line_start + offset)
                })?
            }
            _ => {}
        }
        if style != ScalarStyle::Plain {
            self.exempt.push(range);
        }
        Ok(())
    }
}

/// An anchor name as Helm's YAML reader takes one (`Event::Anchor` comes only with `go_strict`).
#[cold]
fn check_anchor_name(name: &str, span: &granit_parser::Span) -> Result<(), Error> {
    if name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        return Ok(());
    }
    Err(at(
        span,
        format!("the anchor name \"{name}\" holds characters Helm's YAML reader refuses (it takes letters, digits, _ and -)"),
    ))
}

#[cold]
fn end_of_stream() -> Error {
    Error {
        message: "unexpected end of YAML stream".into(),
        line: 0,
        col: 0,
    }
}

fn marker_byte(marker: &granit_parser::Marker) -> usize {
    marker.byte_offset().unwrap_or(0)
}

/// An error at a byte offset of the source, with its line and column.
fn error_at(src: &str, byte: usize) -> Error {
    let before = &src[..byte.min(src.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .unwrap_or_default()
        .chars()
        .count()
        + 1;
    Error {
        message: String::new(),
        line,
        col,
    }
}

/// The offset of a line inside a quoted scalar that starts with `---` or `...` and a blank: yaml.v2 refuses it.
fn go_document_indicator(raw: &str) -> Option<usize> {
    let mut offset = 0;
    for line in raw.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        if start == 0 {
            continue;
        }
        let marker = line.starts_with("---") || line.starts_with("...");
        if marker && line[3..].chars().next().is_none_or(char::is_whitespace) {
            return Some(start);
        }
    }
    None
}

/// The escapes yaml.v2 knows in double quotes (no `\/`), and no surrogate code points: the offset of the
/// first bad one.
fn go_escapes(raw: &str) -> Result<(), (usize, String)> {
    let mut chars = raw.char_indices();
    while let Some((i, c)) = chars.next() {
        if c != '\\' {
            continue;
        }
        let Some((_, e)) = chars.next() else { break };
        let digits = match e {
            'x' => 2,
            'u' => 4,
            'U' => 8,
            '0' | 'a' | 'b' | 't' | '\t' | 'n' | 'v' | 'f' | 'r' | 'e' | ' ' | '"' | '\''
            | '\\' | 'N' | '_' | 'L' | 'P' | '\n' | '\r' => continue,
            _ => return Err((i, "found unknown escape character".into())),
        };
        let hex: String = chars.by_ref().take(digits).map(|(_, c)| c).collect();
        let code = u32::from_str_radix(&hex, 16).unwrap_or(u32::MAX);
        if (0xD800..=0xDFFF).contains(&code) || code > 0x10FFFF {
            return Err((i, "found invalid Unicode character escape code".into()));
        }
    }
    Ok(())
}

/// In a block scalar, yaml.v2 refuses a tab within the indentation: on its first content line (whose spaces
/// set the indentation), or short of the indentation on a later line. The offset of the first such tab.
fn go_block_indentation(lines: &str) -> Result<(), usize> {
    let mut indent: Option<usize> = None;
    let mut offset = 0;
    for line in lines.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let spaces = line.bytes().take_while(|&b| b == b' ').count();
        let after = line.as_bytes().get(spaces);
        if after == Some(&b'\t') && indent.is_none_or(|i| spaces < i) {
            return Err(start + spaces);
        }
        if indent.is_none() && !matches!(after, None | Some(b'\n' | b'\r')) {
            indent = Some(spaces);
        }
    }
    Ok(())
}

/// yaml.v2 refuses a tab at the start of a line (after any spaces) in block context, and a tab after a block
/// sequence's `-`: outside quoted and block scalars and flow collections, such a tab is an error.
fn go_tabs_at_line_starts(src: &str, exempt: &mut [std::ops::Range<usize>]) -> Result<(), Error> {
    if !src.as_bytes().contains(&b'\t') {
        return Ok(());
    }
    exempt.sort_by_key(|r| r.start);
    let mut union: Vec<std::ops::Range<usize>> = Vec::new();
    for r in exempt.iter() {
        match union.last_mut() {
            Some(last) if r.start <= last.end => last.end = last.end.max(r.end),
            _ => union.push(r.clone()),
        }
    }
    let inside = |at: usize| {
        let i = union.partition_point(|r| r.start <= at);
        i > 0 && union[i - 1].contains(&at)
    };
    let mut offset = 0;
    for line in src.split_inclusive('\n') {
        let start = offset;
        offset += line.len();
        let lead = line.bytes().take_while(|&b| b == b' ').count();
        let dash = match line.as_bytes().get(lead) {
            Some(b'-') if matches!(line.as_bytes().get(lead + 1), Some(b'\t')) => lead + 1,
            Some(b'\t') => lead,
            _ => continue,
        };
        let at = start + dash;
        let comment_or_document =
            line[lead..].starts_with("---") || line[lead..].starts_with("...");
        if !inside(at) && !comment_or_document {
            return Err(Error {
                message:
                    "found character that cannot start any token (a tab where Helm's YAML reader \
                          expects indentation)"
                        .into(),
                ..error_at(src, at)
            });
        }
    }
    Ok(())
}

/// yaml.v2 refuses an implicit key of a flow mapping whose `:` is on a later line.
fn go_flow_key_on_one_line(src: &str, key: &Node) -> Result<(), Error> {
    let before = src[..key.span.start.byte.min(src.len())].trim_end();
    if before.ends_with('?') {
        return Ok(());
    }
    let after = &src[key.span.end.byte.min(src.len())..];
    let gap = after.len() - after.trim_start().len();
    if after[..gap].contains('\n') && after[gap..].starts_with(':') {
        return Err(node_error(
            key,
            "did not find expected ',' or '}' (a flow mapping key must end on the line of its ':')"
                .into(),
        ));
    }
    Ok(())
}

/// Sets an entry, replacing the one of the same name.
fn put(
    entries: &mut Vec<(Node, Node)>,
    slots: &mut HashMap<String, Slot>,
    name: String,
    key: Node,
    value: Node,
) {
    match slots.entry(name) {
        Entry::Occupied(occupied) => entries[occupied.get().index] = (key, value),
        Entry::Vacant(vacant) => {
            vacant.insert(Slot {
                index: entries.len(),
                written: None,
            });
            entries.push((key, value));
        }
    }
}

/// Where a mapping key's entry is, and where the key was last written in the mapping itself (None while it
/// was only merged in with `<<`).
struct Slot {
    index: usize,
    written: Option<Span>,
}

/// Mappings with more entries than this find their keys through a hash map.
const SMALL_MAPPING: usize = 16;

/// The slots of a mapping's entries that were all written in it (none merged).
fn written_slots(entries: &[(Node, Node)]) -> HashMap<String, Slot> {
    let slots = entries.iter().enumerate().map(|(index, (key, _))| {
        let slot = Slot {
            index,
            written: Some(key.span),
        };
        (key.key_text().unwrap_or_default(), slot)
    });
    slots.collect()
}

/// True when two scalar keys have the same name (the text Helm names a key by).
fn same_name(a: &Node, b: &Node) -> bool {
    match (&a.value, &b.value) {
        (Value::Str(a), Value::Str(b)) => a == b,
        _ => a.key_text() == b.key_text(),
    }
}

/// A merge key as Go's yaml.v2 sees one: a plain `<<`, or one tagged `!!merge`.
fn is_merge_key(event: &Event) -> bool {
    match event {
        Event::Scalar(text, style, _, tag) if text == "<<" => match tag.as_deref() {
            Some(tag) => yaml_org_name(tag).as_deref() == Some("merge"),
            None => *style == ScalarStyle::Plain,
        },
        _ => false,
    }
}

/// The entries a `<<` merge sets, in the order Go's decoder sets them (a list of mappings from its last item).
fn merge_sources(source: Node) -> Result<Vec<(Node, Node)>, Error> {
    let wrong = |node: &Node| {
        node_error(
            node,
            "map merge requires map or sequence of maps as the value".into(),
        )
    };
    let maps = match source.value {
        Value::Map(_) => vec![source],
        Value::Seq(items) => items.into_iter().rev().collect(),
        _ => return Err(wrong(&source)),
    };
    let mut out = Vec::new();
    for map in maps {
        match map.value {
            Value::Map(pairs) => out.extend(pairs),
            _ => return Err(wrong(&map)),
        }
    }
    Ok(out)
}

/// The name of a tag in the `tag:yaml.org,2002:` namespace (`!!int` is `int`), however it was spelled.
fn yaml_org_name(tag: &Tag) -> Option<Cow<'_, str>> {
    tag.suffix_in_namespace("tag:yaml.org,2002:")
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
    text: Cow<'_, str>,
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
        Some(tag) => tagged(&text, tag).map_err(|message| at(span, message))?,
        None if style == Style::Plain => resolve(text),
        None => Value::Str(text.into_owned()),
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

/// An explicitly tagged scalar, as Go's yaml.v2 decodes it: `!!str` and unknown or local tags (`!foo`, `!`)
/// give the text; `!!binary` gives the decoded bytes; a core tag must fit what the text resolves to (`!!int
/// "0o17"` is 15, `!!null 5` is an error), except that an integer may be tagged `!!float`.
fn tagged(text: &str, tag: &Tag) -> Result<Value, String> {
    let Some(name) = yaml_org_name(tag) else {
        return Ok(Value::Str(text.to_string()));
    };
    let value = match name.as_ref() {
        "binary" => {
            let bytes = base64_decode(text)
                .ok_or_else(|| "!!binary value contains invalid base64 data".to_string())?;
            return Ok(Value::Str(String::from_utf8_lossy(&bytes).into_owned()));
        }
        "timestamp" if is_timestamp(text) => return Ok(Value::Str(text.to_string())),
        "bool" | "int" | "float" | "null" | "timestamp" => resolve_plain(text),
        _ => return Ok(Value::Str(text.to_string())),
    };
    let value = match (name.as_ref(), value) {
        ("bool", v @ Value::Bool(_)) => v,
        ("int", v @ (Value::Int(_) | Value::Uint(_))) => v,
        ("float", v @ Value::Float(_)) => v,
        ("float", Value::Int(i)) => Value::Float(i as f64),
        ("null", v @ Value::Null) => v,
        (_, v) => {
            return Err(format!(
                "cannot decode {} `{text}` as a !!{name}",
                kind_tag(&v)
            ))
        }
    };
    Ok(value)
}

fn kind_tag(value: &Value) -> &'static str {
    match value {
        Value::Null => "!!null",
        Value::Bool(_) => "!!bool",
        Value::Int(_) | Value::Uint(_) => "!!int",
        Value::Float(_) => "!!float",
        _ => "!!str",
    }
}

/// Go's `base64.StdEncoding.DecodeString`, which skips line breaks: padded, standard alphabet.
fn base64_decode(text: &str) -> Option<Vec<u8>> {
    let sextets: Vec<u8> = text
        .bytes()
        .filter(|b| !matches!(b, b'\r' | b'\n'))
        .collect();
    if !sextets.len().is_multiple_of(4) {
        return None;
    }
    let mut out = Vec::with_capacity(sextets.len() / 4 * 3);
    for (n, quad) in sextets.chunks(4).enumerate() {
        let last = n + 1 == sextets.len() / 4;
        let pad = quad.iter().rev().take_while(|&&b| b == b'=').count();
        if pad > 2 || (pad > 0 && !last) {
            return None;
        }
        let mut bits = 0u32;
        for &b in &quad[..4 - pad] {
            let v = match b {
                b'A'..=b'Z' => b - b'A',
                b'a'..=b'z' => b - b'a' + 26,
                b'0'..=b'9' => b - b'0' + 52,
                b'+' => 62,
                b'/' => 63,
                _ => return None,
            };
            bits = bits << 6 | u32::from(v);
        }
        bits <<= 6 * pad as u32;
        let bytes = bits.to_be_bytes();
        out.extend_from_slice(&bytes[1..4 - pad]);
    }
    Some(out)
}

/// The start of a YAML timestamp as Go's yaml.v2 accepts one: a date `YYYY-M-D`, maybe followed by a time.
fn is_timestamp(text: &str) -> bool {
    let date = text.split(['T', 't', ' ']).next().unwrap_or_default();
    let parts: Vec<&str> = date.split('-').collect();
    let number = |s: &str, max_len: usize| {
        !s.is_empty() && s.len() <= max_len && s.bytes().all(|b| b.is_ascii_digit())
    };
    let [year, month, day] = parts.as_slice() else {
        return false;
    };
    year.len() == 4
        && number(year, 4)
        && number(month, 2)
        && number(day, 2)
        && (1..=12).contains(&month.parse::<u8>().unwrap_or(0))
        && (1..=31).contains(&day.parse::<u8>().unwrap_or(0))
}

/// Resolution of a plain scalar, step by step as Go's yaml.v2 `resolve` does it: the exact words of the
/// YAML 1.1 tables (null, booleans, `.inf`, `.nan`), then, for text starting with a digit or a sign, an integer
/// read by `strconv.ParseInt(text without '_', 0, 64)` (so `0755`, `0o755`, `0x1F`, `0b101`), an unsigned
/// one above `i64::MAX`, or a float of the form `[-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?`; for text
/// starting with `.`, a float such as `.5`. A float out of range stays text; everything else is text.
pub fn resolve_plain(text: &str) -> Value {
    resolve(Cow::Borrowed(text))
}

/// `resolve_plain` of a scalar the parser may have copied already (not copied again when it stays text).
fn resolve(text: Cow<'_, str>) -> Value {
    match text.as_ref() {
        "" | "~" | "null" | "Null" | "NULL" => return Value::Null,
        ".inf" | ".Inf" | ".INF" | "+.inf" | "+.Inf" | "+.INF" => {
            return Value::Float(f64::INFINITY)
        }
        "-.inf" | "-.Inf" | "-.INF" => return Value::Float(f64::NEG_INFINITY),
        ".nan" | ".NaN" | ".NAN" => return Value::Float(f64::NAN),
        _ => {}
    }
    if let Some(b) = resolve_bool(&text) {
        return Value::Bool(b);
    }
    let number = match text.as_bytes()[0] {
        b'.' => go_float(&text),
        b'0'..=b'9' | b'+' | b'-' if text.contains('_') => {
            let plain = text.replace('_', "");
            go_int(&plain).or_else(|| go_float(&plain))
        }
        b'0'..=b'9' | b'+' | b'-' => go_int(&text).or_else(|| go_float(&text)),
        _ => None,
    };
    number.unwrap_or_else(|| Value::Str(text.into_owned()))
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

/// Go's `strconv.ParseInt(text, 0, 64)`, then `ParseUint(text, 0, 64)` for what is too large (unsigned only).
fn go_int(text: &str) -> Option<Value> {
    let (negative, signed, body) = match text.as_bytes().first()? {
        b'-' => (true, true, &text[1..]),
        b'+' => (false, true, &text[1..]),
        _ => (false, false, text),
    };
    let prefixed = |p: &[&str]| p.iter().find_map(|p| body.strip_prefix(p));
    let (radix, digits) = if let Some(d) = prefixed(&["0x", "0X"]) {
        (16, d)
    } else if let Some(d) = prefixed(&["0o", "0O"]) {
        (8, d)
    } else if let Some(d) = prefixed(&["0b", "0B"]) {
        (2, d)
    } else if body.len() > 1 && body.starts_with('0') {
        (8, &body[1..])
    } else {
        (10, body)
    };
    if digits.is_empty() || !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    let magnitude = u64::from_str_radix(digits, radix).ok()?;
    match (negative, signed) {
        (true, _) if magnitude <= i64::MAX as u64 + 1 => {
            Some(Value::Int((-i128::from(magnitude)) as i64))
        }
        (false, _) if magnitude <= i64::MAX as u64 => Some(Value::Int(magnitude as i64)),
        (false, false) => Some(Value::Uint(magnitude)),
        _ => None,
    }
}

/// A float of yaml.v2's form, parsed as Go's `strconv.ParseFloat` does (out of range is not a float).
fn go_float(text: &str) -> Option<Value> {
    let b = text.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let whole = digits(&mut i);
    if b.get(i) == Some(&b'.') {
        i += 1;
        if digits(&mut i) == 0 && whole == 0 {
            return None;
        }
    } else if whole == 0 {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        i += usize::from(matches!(b.get(i), Some(b'+' | b'-')));
        if digits(&mut i) == 0 {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    let f: f64 = text.parse().ok()?;
    f.is_finite().then_some(Value::Float(f))
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
        // Go's resolver turns only a signed integer into a !!float.
        let e = parse("k: !!float 18446744073709551615\n").unwrap_err();
        assert_eq!(
            e.message,
            "cannot decode !!int `18446744073709551615` as a !!float"
        );
        assert_eq!(one("k: !!float 12\n").to_json()["k"], json!(12.0));
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
    fn small_and_big_mappings_find_duplicates_alike() {
        let lenient = Limits {
            allow_duplicate_keys: true,
            ..Limits::default()
        };
        for size in [3, SMALL_MAPPING + 4] {
            let mut src: String = (0..size).map(|i| format!("k{i}: {i}\n")).collect();
            src.push_str("k1: again\n");
            let e = parse(&src).unwrap_err();
            assert_eq!((e.line, e.col), (size + 1, 1), "{size} keys");
            assert_eq!(e.message, "duplicate key \"k1\" (first defined on line 2)");
            src.push_str("k1: last\n");
            let loaded = load(&src, lenient).unwrap();
            let map = loaded.docs[0].to_json();
            assert_eq!(map["k1"], json!("last"));
            let keys: Vec<_> = map.as_object().unwrap().keys().take(2).collect();
            assert_eq!(keys, ["k0", "k1"], "the entry keeps its place");
            let found: Vec<_> = loaded
                .duplicates
                .iter()
                .map(|d| (d.name.as_str(), d.first.start.line, d.key.start.line))
                .collect();
            assert_eq!(found, [("k1", 2, size + 1), ("k1", size + 1, size + 2)]);
        }
        // Keys are named as Helm names them: `1` and "1" are one key.
        let e = parse("1: a\n\"1\": b\n").unwrap_err();
        assert_eq!(e.message, "duplicate key \"1\" (first defined on line 1)");
        // A merged key does not count as written: the first written one does.
        let e = parse("b: &b {x: 1}\nm:\n  x: 0\n  <<: *b\n  x: 2\n").unwrap_err();
        assert_eq!(e.message, "duplicate key \"x\" (first defined on line 3)");
        let j = one("b: &b {x: 1}\nm:\n  <<: *b\n  x: 2\n").to_json();
        assert_eq!(j["m"], json!({"x": 2}));
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
        // Debug builds spend kilobytes of stack per level: read on a stack as roomy as the binary's.
        crate::stack::with_room(256 << 20, refuses_deep_nesting).unwrap();
    }

    fn refuses_deep_nesting() {
        let src = "[".repeat(10_000) + &"]".repeat(10_000);
        let e = parse(&src).unwrap_err();
        assert_eq!(e.message, "nesting deeper than 256 levels");
        let block: String = (0..400).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
        assert!(parse(&block).is_err());
        let helm = Limits {
            max_depth: HELM_MAX_DEPTH,
            ..Limits::default()
        };
        let just = format!("v: {}{}", "[".repeat(9_999), "]".repeat(9_999));
        assert!(parse_with(&just, helm).is_ok());
        let over = format!("v: {}{}", "[".repeat(10_000), "]".repeat(10_000));
        let e = parse_with(&over, helm).unwrap_err();
        assert_eq!(e.message, "nesting deeper than 10000 levels");
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
