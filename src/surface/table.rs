//! A `surface.json` read into the table `src/surface/mod.rs` looks keys up in: releases as written, keys sorted
//! (each once, the last written winning, as in a map) with one mark per release, and the defaults sorted by key.
//!
//! build.rs compiles this file too: it reads every product's surface at build time and embeds the table as Rust
//! data, so a lint run parses none of it. A data folder (`OPSTA_LINT_DATA`) is read with the same code at run
//! time. Keep it free of `crate::` paths and of dependencies other than serde_json.

use serde_json::Value as Json;

/// The keys and their marks as one text, with the offset where each entry ends (the form of `Table::keys`).
pub fn joined(keys: &[(String, String)]) -> (String, Vec<u32>) {
    let mut text = String::new();
    let ends = keys
        .iter()
        .map(|(key, marks)| {
            text.push_str(key);
            text.push_str(marks);
            u32::try_from(text.len()).expect("a surface is smaller than 4 GiB")
        })
        .collect();
    (text, ends)
}

/// One surface as owned data.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parts {
    pub releases: Vec<String>,
    pub keys: Vec<(String, String)>,
    pub defaults: Vec<(String, Vec<Option<String>>)>,
}

/// Reads a surface's JSON text. An error says what does not follow the format (docs/versions.md).
pub fn parts(text: &str) -> Result<Parts, String> {
    let json: Json = serde_json::from_str(text).map_err(|e| e.to_string())?;
    let Json::Object(top) = json else {
        return Err("the surface is not a JSON object".into());
    };
    let mut parts = Parts::default();
    let mut has_keys = false;
    for (field, value) in top {
        match field.as_str() {
            "comment" => {}
            "releases" => parts.releases = strings(&value, "releases")?,
            "keys" => {
                has_keys = true;
                parts.keys = object(&value, "keys")?
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), string(v, "a key's marks")?)))
                    .collect::<Result<_, String>>()?;
            }
            "defaults" => {
                parts.defaults = object(&value, "defaults")?
                    .iter()
                    .map(|(k, v)| Ok((k.clone(), column(v)?)))
                    .collect::<Result<_, String>>()?;
            }
            other => {
                return Err(format!(
                    "unknown field `{other}`, expected one of `comment`, `releases`, `keys`, `defaults`"
                ))
            }
        }
    }
    if !has_keys {
        return Err("missing field `keys`".into());
    }
    // serde_json keeps the last of a key written twice; sorting makes the order the lookups need.
    parts.keys.sort_by(|a, b| a.0.cmp(&b.0));
    parts.defaults.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(parts)
}

/// Checks that every key has one mark (`+`, `o` or `-`) per release.
pub fn check_marks(parts: &Parts) -> Result<(), String> {
    let count = parts.releases.len();
    let bad = parts
        .keys
        .iter()
        .find(|(_, m)| m.len() != count || !m.chars().all(|c| matches!(c, '+' | 'o' | '-')));
    match bad {
        Some((key, marks)) => Err(format!(
            "key {key} has marks \"{marks}\" for {count} releases"
        )),
        None => Ok(()),
    }
}

fn object<'a>(value: &'a Json, what: &str) -> Result<&'a serde_json::Map<String, Json>, String> {
    value
        .as_object()
        .ok_or_else(|| format!("`{what}` is not an object"))
}

fn string(value: &Json, what: &str) -> Result<String, String> {
    value
        .as_str()
        .map(str::to_string)
        .ok_or_else(|| format!("{what} is not a string: {value}"))
}

fn strings(value: &Json, what: &str) -> Result<Vec<String>, String> {
    let items = value
        .as_array()
        .ok_or_else(|| format!("`{what}` is not a list"))?;
    items.iter().map(|v| string(v, "a release")).collect()
}

/// A default per release: a string, or null where the release has none.
fn column(value: &Json) -> Result<Vec<Option<String>>, String> {
    let items = value
        .as_array()
        .ok_or_else(|| format!("a key's defaults are not a list: {value}"))?;
    items
        .iter()
        .map(|v| match v {
            Json::Null => Ok(None),
            v => string(v, "a default").map(Some),
        })
        .collect()
}
