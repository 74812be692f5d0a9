//! Reading values the way Helm does: each file read as Helm reads it (helm_read.rs: its documents merged in
//! order), several files merge in order (later files win, maps merge deeply, `null` deletes a key), then `--set`
//! pairs apply last. Every key path remembers where it was set, so a finding can point at the right file, line
//! and column.

use super::helm_read::{self, Helm, HelmInUse};
use crate::paths::{Path, Seg};
use crate::source::Source;
use crate::yaml::{Node, Value};
use anyhow::{anyhow, bail, Result};
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;
use std::ops::Bound;

/// The largest values file read. Helm stores a release's values in one Kubernetes Secret (1 MiB); a values file
/// many times that size is a mistake, and refusing it keeps memory bounded.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Where a key was set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A key in a values file: `source` indexes `Values::sources`; the span is the key's.
    File {
        source: usize,
        line: usize,
        col: usize,
        /// Length of the key in characters (the width of the `^^^` marker).
        len: usize,
    },
    /// A `--set` pair: `arg` indexes `Values::sets`; `key` is the dotted key as written.
    Set { arg: usize, key: String },
}

/// Merged values and where each key path came from.
#[derive(Debug, Clone, Default)]
pub struct Values {
    pub json: Json,
    /// Keyed by JSON pointer.
    origins: BTreeMap<String, Origin>,
    pub sources: Vec<Source>,
    /// The `--set` arguments as given (they may hold secrets: show them through `Values::set_text`).
    pub sets: Vec<String>,
    /// Keys whose last word was `null` (deleted from `json`; Helm keeps them when the chart has no default).
    nulls: BTreeMap<String, Path>,
    /// Keys written twice in one mapping (the later one wins, as in Helm).
    pub duplicates: Vec<DuplicateKey>,
}

/// A key written again in the same mapping of a values file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DuplicateKey {
    /// Where the winning (later) key stands.
    pub origin: Origin,
    pub name: String,
    /// The line of the key it replaced.
    pub first_line: usize,
}

impl Values {
    /// Reads and merges values files as Helm 4 does, then applies `--set` arguments.
    pub fn read(files: &[String], sets: &[String]) -> Result<Values> {
        Values::read_with(files, sets, &HelmInUse::default())
    }

    /// Reads and merges values files as the Helm in use does, then applies `--set` arguments.
    pub fn read_with(files: &[String], sets: &[String], helm: &HelmInUse) -> Result<Values> {
        let mut values = Values {
            json: Json::Object(Map::new()),
            ..Values::default()
        };
        for file in files {
            values.add_file_with(read_values_source(file, helm)?, helm)?;
        }
        for arg in sets {
            values.add_set(arg)?;
        }
        Ok(values)
    }

    /// The values of one source (e.g. a deployed release's values).
    pub fn from_source(source: Source) -> Result<Values> {
        let mut values = Values::read(&[], &[])?;
        values.add_file(source)?;
        Ok(values)
    }

    /// Merges one more values source over the current values, read as Helm 4 reads it.
    pub fn add_file(&mut self, source: Source) -> Result<()> {
        self.add_file_with(source, &HelmInUse::default())
    }

    /// Merges one more values source over the current values, read as the Helm in use reads it: its documents
    /// merge in order, as files do.
    pub fn add_file_with(&mut self, source: Source, helm: &HelmInUse) -> Result<()> {
        let major = match helm_read::differs(&source.text) {
            true => helm.major()?,
            false => Helm::V4,
        };
        let read = helm_read::read(&source.text, major)
            .map_err(|e| anyhow!("{}:{}:{}: {}", source.name, e.line, e.col, e.message))?;
        let index = self.sources.len();
        let mut merger = Merger {
            origins: &mut self.origins,
            nulls: &mut self.nulls,
            source: index,
        };
        for doc in &read.docs {
            merger.merge_map(&mut self.json, doc, &Path::root());
        }
        for d in read.duplicates {
            self.duplicates.push(DuplicateKey {
                origin: Origin::File {
                    source: index,
                    line: d.key.start.line,
                    col: d.key.start.col,
                    len: key_width(&d.key),
                },
                name: d.name,
                first_line: d.first.start.line,
            });
        }
        self.sources.push(source);
        Ok(())
    }

    /// Applies one `--set` argument (`a.b=c,d[0]=e`).
    pub fn add_set(&mut self, arg: &str) -> Result<()> {
        let index = self.sets.len();
        let pairs = parse_set(arg)
            .map_err(|e| anyhow!("invalid --set argument \"{}\" ({e})", mask_set(arg)))?;
        for (key, path, value) in pairs {
            set_path(&mut self.json, &path.0, value.clone());
            let pointer = path.pointer();
            remove_under(&mut self.origins, &pointer, true);
            remove_under(&mut self.nulls, &pointer, true);
            for p in prefixes(&path) {
                self.nulls.remove(&p.pointer());
            }
            if value.is_null() && path.last_key().is_some() {
                self.nulls.insert(pointer.clone(), path.clone());
            }
            let origin = Origin::Set { arg: index, key };
            for p in prefixes(&path) {
                self.origins
                    .entry(p.pointer())
                    .or_insert_with(|| origin.clone());
            }
            self.origins.insert(pointer, origin);
        }
        self.sets.push(arg.to_string());
        Ok(())
    }

    /// Where exactly this path was set, if it was.
    pub fn origin(&self, path: &Path) -> Option<&Origin> {
        self.origins.get(&path.pointer())
    }

    /// Where this path, or its nearest present ancestor, was set (for keys that are missing).
    pub fn locate(&self, path: &Path) -> Option<&Origin> {
        let mut here = Some(path.clone());
        while let Some(p) = here {
            if let Some(origin) = self.origin(&p) {
                return Some(origin);
            }
            here = p.parent();
        }
        None
    }

    /// The value at a path, when present and not null.
    pub fn get(&self, path: &Path) -> Option<&Json> {
        path.lookup(&self.json).filter(|v| !v.is_null())
    }

    /// The values as Helm hands them to schema validation: `null` keys kept (as Helm's merge keeps them), and,
    /// when the chart's default values are known, coalesced over them the way Helm does (a `null` deletes a
    /// key the defaults have; maps merge; the user's values win).
    pub fn for_validation(&self, defaults: Option<&Json>) -> Json {
        let mut user = self.json.clone();
        for path in self.nulls.values() {
            if let Some((Seg::Key(last), parent)) = path.0.split_last() {
                if let Some(Json::Object(map)) = lookup_mut(&mut user, parent) {
                    map.entry(last.clone()).or_insert(Json::Null);
                }
            }
        }
        match defaults {
            Some(defaults) => coalesce(user, defaults),
            None => user,
        }
    }

    /// Every leaf path set (scalars, lists and empty maps), in pointer order.
    pub fn leaf_paths(&self) -> Vec<Path> {
        let mut out = Vec::new();
        leaves(&self.json, Path::root(), &mut out);
        out
    }

    /// A `--set` argument as it may be shown: secret values masked.
    pub fn set_text(&self, arg: usize) -> String {
        self.sets.get(arg).map(|a| mask_set(a)).unwrap_or_default()
    }

    /// The name of the file an origin points into, or `--set`.
    pub fn origin_name(&self, origin: &Origin) -> &str {
        match origin {
            Origin::File { source, .. } => &self.sources[*source].name,
            Origin::Set { .. } => "--set",
        }
    }
}

fn leaves(value: &Json, here: Path, out: &mut Vec<Path>) {
    match value {
        Json::Object(map) if !map.is_empty() => {
            for (k, v) in map {
                leaves(v, here.key(k), out);
            }
        }
        _ if here.0.is_empty() => {}
        _ => out.push(here),
    }
}

fn lookup_mut<'a>(value: &'a mut Json, segs: &[Seg]) -> Option<&'a mut Json> {
    segs.iter().try_fold(value, |v, seg| match (v, seg) {
        (Json::Object(map), Seg::Key(k)) => map.get_mut(k),
        (Json::Array(items), Seg::Index(i)) => items.get_mut(*i),
        _ => None,
    })
}

/// Helm's coalesce of user values over chart defaults: a user `null` deletes a key the defaults have, maps
/// merge deeply, anything else the user wrote wins, and defaults fill what the user left out.
pub fn coalesce(user: Json, defaults: &Json) -> Json {
    let (Json::Object(mut user), Json::Object(defaults)) = (user, defaults) else {
        return Json::Null;
    };
    for (key, default) in defaults {
        match user.remove(key) {
            Some(Json::Null) => {}
            Some(Json::Object(mine)) if default.is_object() => {
                user.insert(key.clone(), coalesce(Json::Object(mine), default));
            }
            Some(mine) => {
                user.insert(key.clone(), mine);
            }
            None => {
                user.insert(key.clone(), default.clone());
            }
        }
    }
    Json::Object(user)
}

fn prefixes(path: &Path) -> Vec<Path> {
    (1..path.0.len())
        .map(|n| Path(path.0[..n].to_vec()))
        .collect()
}

/// Reads one values file with a size limit checked before reading.
pub fn read_source(file: &str) -> Result<Source> {
    check_size(file)?;
    Source::read(file)
}

fn check_size(file: &str) -> Result<()> {
    if file != "-" {
        if let Ok(meta) = std::fs::metadata(file) {
            if meta.is_file() && meta.len() > MAX_FILE_BYTES {
                let mb = meta.len() as f64 / 1_048_576.0;
                bail!(
                    "{file}: is {mb:.1} MiB; values files larger than {} MiB are refused (Helm keeps a release's values in a 1 MiB Secret)",
                    MAX_FILE_BYTES / 1_048_576
                );
            }
        }
    }
    Ok(())
}

/// Reads one values file as Helm's YAML reader takes its bytes: UTF-8, or UTF-16 with a byte order mark
/// (big-endian for both Helms; little-endian only for Helm 3, as Helm 4's line reader cuts its last character).
fn read_values_source(file: &str, helm: &HelmInUse) -> Result<Source> {
    check_size(file)?;
    let (name, bytes) = crate::source::read_bytes(file)?;
    if !bytes.starts_with(&[0xFE, 0xFF]) && !bytes.starts_with(&[0xFF, 0xFE]) {
        return Source::from_bytes(&name, bytes);
    }
    let big_endian = bytes.starts_with(&[0xFE, 0xFF]);
    if !big_endian && helm.major()? == Helm::V4 {
        bail!("{name}: is UTF-16 little-endian text, which Helm 4 cannot read (its line reader cuts the last character); save it as UTF-8");
    }
    let units: Vec<u16> = bytes[2..]
        .chunks(2)
        .map(|c| match (big_endian, c) {
            (true, [a, b]) => u16::from_be_bytes([*a, *b]),
            (false, [a, b]) => u16::from_le_bytes([*a, *b]),
            (_, [a]) => u16::from(*a),
            _ => 0,
        })
        .collect();
    let text =
        String::from_utf16(&units).map_err(|_| anyhow!("{name}: is not valid UTF-16 text"))?;
    Source::from_bytes(&name, text.into_bytes())
}

/// The width of a key's `^^^` marker: its length on one line, else 1.
fn key_width(span: &crate::yaml::Span) -> usize {
    let len = span.end.col.saturating_sub(span.start.col);
    match span.end.line == span.start.line {
        true => len.max(1),
        false => 1,
    }
}

/// Origins are kept down to this depth; a finding deeper points at the nearest key above it. (A path per
/// level of a 10,000-level value would take memory quadratic in its depth.)
const ORIGIN_DEPTH: usize = 64;

/// Helm's `MergeMaps`, for values deeper than origins are kept: maps merge deeply, anything else replaces.
fn merge_json(dst: &mut Json, src: Json) {
    match (dst, src) {
        (Json::Object(mine), Json::Object(theirs)) => {
            for (k, v) in theirs {
                match mine.get_mut(&k) {
                    Some(slot) if slot.is_object() && v.is_object() => merge_json(slot, v),
                    _ => {
                        mine.insert(k, v);
                    }
                }
            }
        }
        (dst, src) => *dst = src,
    }
}

struct Merger<'a> {
    origins: &'a mut BTreeMap<String, Origin>,
    nulls: &'a mut BTreeMap<String, Path>,
    source: usize,
}

impl Merger<'_> {
    fn origin(&self, key: &Node) -> Origin {
        Origin::File {
            source: self.source,
            line: key.span.start.line,
            col: key.span.start.col,
            len: key_width(&key.span),
        }
    }

    /// Merges a mapping node into `dst` (made an object when it is not one).
    fn merge_map(&mut self, dst: &mut Json, node: &Node, here: &Path) {
        let Value::Map(entries) = &node.value else {
            return;
        };
        if here.0.len() >= ORIGIN_DEPTH {
            merge_json(dst, node.to_json());
            return;
        }
        if !dst.is_object() {
            *dst = Json::Object(Map::new());
        }
        let Json::Object(map) = dst else {
            unreachable!("made an object above")
        };
        for (key, value) in entries {
            let name = key.key_text().unwrap_or_default();
            let path = here.key(&name);
            let pointer = path.pointer();
            self.nulls.remove(&pointer);
            if !matches!(value.value, Value::Map(_)) {
                remove_under(self.nulls, &pointer, false);
            }
            if value.value == Value::Null {
                map.remove(&name);
                remove_under(self.origins, &pointer, false);
                self.origins.insert(pointer.clone(), self.origin(key));
                self.nulls.insert(pointer, path);
                continue;
            }
            self.origins.insert(pointer.clone(), self.origin(key));
            let slot = map.entry(name).or_insert(Json::Null);
            if matches!(value.value, Value::Map(_)) {
                if !slot.is_object() {
                    remove_under(self.origins, &pointer, false);
                }
                self.merge_map(slot, value, &path);
            } else {
                remove_under(self.origins, &pointer, false);
                *slot = value.to_json();
                self.record(value, &path);
            }
        }
    }

    /// Records the origins of everything inside a replaced value (list items and the maps inside them).
    fn record(&mut self, node: &Node, here: &Path) {
        if here.0.len() >= ORIGIN_DEPTH {
            return;
        }
        match &node.value {
            Value::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    let path = here.child(Seg::Index(i));
                    let origin = Origin::File {
                        source: self.source,
                        line: item.span.start.line,
                        col: item.span.start.col,
                        len: 1,
                    };
                    self.origins.insert(path.pointer(), origin);
                    self.record(item, &path);
                }
            }
            Value::Map(entries) => {
                for (key, value) in entries {
                    let path = here.key(&key.key_text().unwrap_or_default());
                    self.origins.insert(path.pointer(), self.origin(key));
                    self.record(value, &path);
                }
            }
            _ => {}
        }
    }
}

/// Forgets the entries below the path at `pointer` (and of the path itself when `itself`).
fn remove_under<T>(origins: &mut BTreeMap<String, T>, pointer: &str, itself: bool) {
    let below = format!("{pointer}/");
    let doomed: Vec<String> = origins
        .range::<str, _>((Bound::Included(pointer), Bound::Unbounded))
        .map(|(k, _)| k)
        .take_while(|k| **k == pointer || k.starts_with(&below) || k.as_str() < below.as_str())
        .filter(|k| (itself && **k == pointer) || k.starts_with(&below))
        .cloned()
        .collect();
    for key in doomed {
        origins.remove(&key);
    }
}

// ---- --set, Helm's basic form ----

/// Parses `a.b=c,d[1]=e,f={x,y}` into (key as written, path, value) triples, with Helm's type inference.
fn parse_set(arg: &str) -> Result<Vec<(String, Path, Json)>, String> {
    let mut pairs = Vec::new();
    for pair in split_unescaped(arg, ',', true) {
        if pair.is_empty() {
            continue;
        }
        let Some(eq) = find_unescaped(&pair, '=') else {
            return Err(format!(
                "\"{}\" has no value (expected key=value)",
                before_eq(&pair)
            ));
        };
        let (key, raw) = (&pair[..eq], &pair[eq + 1..]);
        let path = parse_set_key(key)?;
        let value = match raw.strip_prefix('{').and_then(|r| r.strip_suffix('}')) {
            Some(items) => Json::Array(
                split_unescaped(items, ',', false)
                    .iter()
                    .map(|i| typed(&unescape(i)))
                    .collect(),
            ),
            None => typed(&unescape(raw)),
        };
        pairs.push((key.to_string(), path, value));
    }
    Ok(pairs)
}

fn before_eq(pair: &str) -> String {
    pair.chars().take(60).collect()
}

fn parse_set_key(key: &str) -> Result<Path, String> {
    let mut segs = Vec::new();
    for part in split_unescaped(key, '.', false) {
        let mut rest = part.as_str();
        let name_end = rest.find('[').unwrap_or(rest.len());
        let name = unescape(&rest[..name_end]);
        if name.is_empty() {
            return Err(format!("key \"{key}\" has an empty part"));
        }
        segs.push(Seg::Key(name));
        rest = &rest[name_end..];
        while let Some(inner) = rest.strip_prefix('[') {
            let close = inner
                .find(']')
                .ok_or_else(|| format!("key \"{key}\" has an unclosed ["))?;
            let index = inner[..close].parse::<usize>().map_err(|_| {
                format!("key \"{key}\": \"{}\" is not a list index", &inner[..close])
            })?;
            if index > 65_536 {
                return Err(format!("key \"{key}\": list index {index} is too large"));
            }
            segs.push(Seg::Index(index));
            rest = &inner[close + 1..];
        }
        if !rest.is_empty() {
            return Err(format!("key \"{key}\" has text after ]"));
        }
    }
    Ok(Path(segs))
}

/// Helm's typedVal: true/false/null (any case), integers not starting with 0 (and 0 itself); the rest are strings.
fn typed(text: &str) -> Json {
    match text.to_ascii_lowercase().as_str() {
        "true" => return Json::Bool(true),
        "false" => return Json::Bool(false),
        "null" => return Json::Null,
        "0" => return Json::from(0),
        _ => {}
    }
    if !text.starts_with('0') {
        if let Ok(n) = text.parse::<i64>() {
            return Json::from(n);
        }
    }
    Json::String(text.to_string())
}

/// Splits on `sep` not preceded by a backslash (and, when `braces`, not inside `{...}`); escapes are kept.
fn split_unescaped(text: &str, sep: char, braces: bool) -> Vec<String> {
    let mut parts = vec![String::new()];
    let mut depth = 0usize;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        let current = parts.last_mut().expect("never empty");
        match c {
            '\\' => {
                current.push(c);
                if let Some(next) = chars.next() {
                    current.push(next);
                }
            }
            '{' if braces => {
                depth += 1;
                current.push(c);
            }
            '}' if braces => {
                depth = depth.saturating_sub(1);
                current.push(c);
            }
            c if c == sep && depth == 0 => parts.push(String::new()),
            c => current.push(c),
        }
    }
    parts
}

fn find_unescaped(text: &str, wanted: char) -> Option<usize> {
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            c if c == wanted => return Some(i),
            _ => {}
        }
    }
    None
}

fn unescape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            '\\' => out.extend(chars.next()),
            c => out.push(c),
        }
    }
    out
}

/// Sets a value at a path, creating maps and padding lists as Helm does; `null` deletes the key.
fn set_path(dst: &mut Json, segs: &[Seg], value: Json) {
    let Some((first, rest)) = segs.split_first() else {
        *dst = value;
        return;
    };
    match first {
        Seg::Key(k) => {
            if !dst.is_object() {
                *dst = Json::Object(Map::new());
            }
            let Json::Object(map) = dst else {
                unreachable!("made an object above")
            };
            if rest.is_empty() && value.is_null() {
                map.remove(k);
                return;
            }
            set_path(map.entry(k.clone()).or_insert(Json::Null), rest, value);
        }
        Seg::Index(i) => {
            if !dst.is_array() {
                *dst = Json::Array(Vec::new());
            }
            let Json::Array(items) = dst else {
                unreachable!("made a list above")
            };
            if items.len() <= *i {
                items.resize(i + 1, Json::Null);
            }
            set_path(&mut items[*i], rest, value);
        }
    }
}

/// A `--set` argument with the values of secret keys masked, and secrets shown by their look (a URL's password).
fn mask_set(arg: &str) -> String {
    split_unescaped(arg, ',', true)
        .iter()
        .map(|pair| match find_unescaped(pair, '=') {
            Some(eq) => {
                let key = &pair[..eq];
                let last = key.rsplit('.').next().unwrap_or(key);
                let last = last.split('[').next().unwrap_or(last);
                if crate::secrets::is_secret_key(last) {
                    format!("{key}={}", crate::secrets::MASK)
                } else {
                    crate::secrets::mask_text(pair)
                }
            }
            None => pair.clone(),
        })
        .collect::<Vec<_>>()
        .join(",")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn values(files: &[(&str, &str)], sets: &[&str]) -> Values {
        let mut v = Values {
            json: json!({}),
            ..Values::default()
        };
        for (name, text) in files {
            v.add_file(Source::new(*name, *text)).unwrap();
        }
        for s in sets {
            v.add_set(s).unwrap();
        }
        v
    }

    fn at(v: &Values, dotted: &str) -> (String, usize, usize) {
        let path = Path(dotted.split('.').map(|k| Seg::Key(k.into())).collect());
        match v.origin(&path).expect("has an origin") {
            Origin::File {
                source, line, col, ..
            } => (v.sources[*source].name.clone(), *line, *col),
            Origin::Set { key, .. } => ("--set".into(), 0, key.len()),
        }
    }

    #[test]
    fn later_files_win_maps_merge_and_null_deletes() {
        let v = values(
            &[
                (
                    "a.yaml",
                    "x:\n  keep: 1\n  over: 1\n  gone: 1\nlist: [1, 2]\n",
                ),
                ("b.yaml", "x:\n  over: 2\n  gone: null\nlist: [3]\n"),
            ],
            &[],
        );
        assert_eq!(v.json, json!({"x": {"keep": 1, "over": 2}, "list": [3]}));
        assert_eq!(at(&v, "x.keep"), ("a.yaml".into(), 2, 3));
        assert_eq!(at(&v, "x.over"), ("b.yaml".into(), 2, 3));
        assert_eq!(at(&v, "x.gone"), ("b.yaml".into(), 3, 3));
    }

    #[test]
    fn nulls_are_kept_for_validation_and_coalesced_over_defaults() {
        let v = values(
            &[
                ("a.yaml", "a: null\nb: {c: null, d: 1}\ne: null\n"),
                ("b.yaml", "e: {f: 1}\n"),
            ],
            &["g=null"],
        );
        assert_eq!(v.json, json!({"b": {"d": 1}, "e": {"f": 1}}));
        assert_eq!(
            v.for_validation(None),
            json!({"a": null, "b": {"c": null, "d": 1}, "e": {"f": 1}, "g": null})
        );
        let defaults = json!({"a": "x", "b": {"c": 2, "z": 3}, "h": [1]});
        assert_eq!(
            v.for_validation(Some(&defaults)),
            json!({"b": {"d": 1, "z": 3}, "e": {"f": 1}, "g": null, "h": [1]})
        );
        assert_eq!(at(&v, "a").0, "a.yaml");
    }

    #[test]
    fn a_scalar_replacing_a_map_forgets_the_old_origins() {
        let v = values(&[("a.yaml", "x:\n  y: 1\n"), ("b.yaml", "x: 5\n")], &[]);
        assert_eq!(v.json, json!({"x": 5}));
        assert!(v.origin(&Path::root().key("x").key("y")).is_none());
        assert_eq!(at(&v, "x").0, "b.yaml");
    }

    #[test]
    fn set_follows_helm_basic_form_and_types() {
        let v = values(
            &[("a.yaml", "a:\n  b: 1\n")],
            &[
                "a.b=true,c=007,d=12,e=null,f=",
                "list[1]=x,g={1,two},h\\.i=j,k=NULL",
            ],
        );
        assert_eq!(
            v.json,
            json!({"a": {"b": true}, "c": "007", "d": 12, "f": "", "list": [null, "x"], "g": [1, "two"], "h.i": "j"})
        );
        assert_eq!(at(&v, "a.b").0, "--set");
        assert_eq!(at(&v, "a").0, "a.yaml");
        let mut bad = Values::default();
        let e = bad.add_set("join_token").unwrap_err().to_string();
        assert!(e.contains("has no value"), "{e}");
        let e = bad.add_set("a[x]=1").unwrap_err().to_string();
        assert!(e.contains("not a list index"), "{e}");
    }

    #[test]
    fn set_arguments_are_shown_masked() {
        let v = values(&[], &["join_token=jt-SECRET,a=b"]);
        assert_eq!(v.set_text(0), "join_token=<redacted>,a=b");
        let e = Values::default()
            .add_set("join_token=jt-SECRET,x[=1")
            .unwrap_err()
            .to_string();
        assert!(!e.contains("jt-SECRET"), "{e}");
    }

    #[test]
    fn the_top_level_must_be_one_mapping() {
        for (text, wanted) in [
            ("- a\n- b\n", "f.yaml:1:1: the top level is a list"),
            ("just text\n", "the top level is a string"),
            ("a: 1\n---\n- b\n", "f.yaml:3:1: the top level is a list"),
        ] {
            let e = Values::default()
                .add_file(Source::new("f.yaml", text))
                .unwrap_err()
                .to_string();
            assert!(e.contains(wanted), "{text:?}: {e}");
        }
    }

    #[test]
    fn empty_files_are_no_values_and_documents_merge_in_order() {
        for text in ["", "# only a comment\n", "~\n", "---\n", "null\n"] {
            let v = values(&[("f.yaml", text)], &[]);
            assert_eq!(v.json, json!({}), "{text:?}");
        }
        let v = values(
            &[("f.yaml", "a: {x: 1, z: 2}\n---\na: {z: 3}\nb: 1\nb: 2\n")],
            &[],
        );
        assert_eq!(v.json, json!({"a": {"x": 1, "z": 3}, "b": 2}));
        assert_eq!(at(&v, "a.z"), ("f.yaml".into(), 3, 5));
        assert_eq!(at(&v, "a.x"), ("f.yaml".into(), 1, 5));
        assert_eq!(v.duplicates.len(), 1);
        assert_eq!(v.duplicates[0].name, "b");
        assert_eq!(v.duplicates[0].first_line, 4);
        assert!(matches!(
            v.duplicates[0].origin,
            Origin::File {
                line: 5,
                col: 1,
                ..
            }
        ));
    }
}
