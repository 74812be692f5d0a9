//! The part of a values schema that one values document reaches.
//!
//! A `properties` entry whose key the document does not set validates nothing and marks nothing as evaluated
//! (JSON Schema 2020-12, section 10.3.2.1), so a schema without those entries gives the same verdict and the same
//! errors for that document, and every error's schema path still points at the same keyword of the whole schema.
//! The bundled schemas describe a few hundred keys, of which a values file sets a few dozen: compiling only those
//! takes a tenth of the time and memory of compiling the whole schema, which was most of a lint run.
//!
//! This is safe only when nothing refers into a dropped entry: every `$ref` must point into `$defs` (or
//! `definitions`), which are kept whole, and no subschema may name itself (`$id`, `$anchor`, dynamic anchors).
//! [`reach`] returns `None` for any other schema; the caller then compiles the whole one.

use serde::de::{
    DeserializeSeed, Deserializer, Error as _, IgnoredAny, MapAccess, SeqAccess, Visitor,
};
use serde_json::{Map, Value as Json};
use std::fmt;

/// The schema (JSON text) cut down to what `instance` reaches, or `None` when the schema cannot be cut safely
/// (or is not a schema at all: compiling the whole of it then says why). One pass over the text: the entries
/// left out are skipped without being built.
pub fn reach(text: &str, instance: &Json) -> Option<Json> {
    if !self_contained(text) {
        return None;
    }
    let mut reader = serde_json::Deserializer::from_str(text);
    let cut = Cut(instance).deserialize(&mut reader).ok()?;
    reader.end().ok()?;
    Some(cut)
}

/// True when every `$ref` points into `$defs` or `definitions` and nothing declares an id or an anchor. Reads
/// the text as text, in one pass over the `"$` in it: a false alarm (say, a `$ref` inside a description) only
/// costs the whole compile.
fn self_contained(text: &str) -> bool {
    if memchr::memmem::find(text.as_bytes(), b"\\u0024").is_some() {
        return false;
    }
    memchr::memmem::find_iter(text.as_bytes(), b"\"$").all(|at| {
        let word = &text[at..];
        if let Some(rest) = word.strip_prefix("\"$ref\"") {
            let target = rest.trim_start().strip_prefix(':').map(str::trim_start);
            return target
                .is_some_and(|t| t.starts_with("\"#/$defs/") || t.starts_with("\"#/definitions/"));
        }
        !["\"$id\"", "\"$anchor\"", "\"$dynamic", "\"$recursive"]
            .iter()
            .any(|naming| word.starts_with(naming))
    })
}

/// One schema applied to an instance: `properties` keeps the keys the instance has, the applicators that
/// apply to the same instance are cut the same way, the annotations that never fail a value (descriptions,
/// examples, defaults) are left out, and every other keyword is kept whole.
struct Cut<'a>(&'a Json);

/// A `properties` object applied to an instance.
struct Properties<'a>(&'a Json);

/// A list of schemas (`allOf`, `anyOf`, `oneOf`) each applied to the same instance.
struct Each<'a>(&'a Json);

impl<'de> DeserializeSeed<'de> for Cut<'_> {
    type Value = Json;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        d.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Cut<'_> {
    type Value = Json;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a schema (an object or a boolean)")
    }
    fn visit_bool<E: serde::de::Error>(self, yes: bool) -> Result<Json, E> {
        Ok(Json::Bool(yes))
    }
    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Json, M::Error> {
        let mut out = Map::new();
        while let Some(keyword) = map.next_key::<String>()? {
            let value = match keyword.as_str() {
                "properties" => map.next_value_seed(Properties(self.0))?,
                "allOf" | "anyOf" | "oneOf" => map.next_value_seed(Each(self.0))?,
                "not" | "if" | "then" | "else" => map.next_value_seed(Cut(self.0))?,
                "title" | "description" | "examples" | "default" | "$comment" | "deprecated" => {
                    map.next_value::<IgnoredAny>()?;
                    continue;
                }
                _ => map.next_value::<Json>()?,
            };
            out.insert(keyword, value);
        }
        Ok(Json::Object(out))
    }
}

impl<'de> DeserializeSeed<'de> for Properties<'_> {
    type Value = Json;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for Properties<'_> {
    type Value = Json;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object of schemas")
    }
    fn visit_map<M: MapAccess<'de>>(self, mut map: M) -> Result<Json, M::Error> {
        let mut out = Map::new();
        while let Some(key) = map.next_key::<String>()? {
            match self.0.get(&key) {
                Some(child) => {
                    let cut = map.next_value_seed(Cut(child))?;
                    out.insert(key, cut);
                }
                None => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(Json::Object(out))
    }
}

impl<'de> DeserializeSeed<'de> for Each<'_> {
    type Value = Json;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Json, D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de> Visitor<'de> for Each<'_> {
    type Value = Json;
    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a list of schemas")
    }
    fn visit_seq<S: SeqAccess<'de>>(self, mut seq: S) -> Result<Json, S::Error> {
        let mut out = Vec::new();
        while let Some(cut) = seq.next_element_seed(Cut(self.0))? {
            out.push(cut);
        }
        if out.is_empty() {
            return Err(S::Error::custom("an empty list of schemas"));
        }
        Ok(Json::Array(out))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn cut(schema: Json, instance: Json) -> Option<Json> {
        reach(&schema.to_string(), &instance)
    }

    #[test]
    fn keeps_only_the_properties_the_values_set() {
        let schema = json!({
            "type": "object",
            "description": "left out",
            "additionalProperties": false,
            "required": ["a"],
            "properties": {
                "a": {"type": "object", "default": {}, "properties": {"x": {"type": "string"}, "y": {"type": "integer"}}},
                "b": {"$ref": "#/$defs/b"}
            },
            "allOf": [{"if": {"properties": {"a": {"required": ["x"]}, "b": true}}, "then": {"properties": {"c": false}}}],
            "$defs": {"b": {"properties": {"deep": {"type": "string"}}}}
        });
        let got = cut(schema, json!({"a": {"x": "1"}})).unwrap();
        assert_eq!(
            got,
            json!({
                "type": "object",
                "additionalProperties": false,
                "required": ["a"],
                "properties": {"a": {"type": "object", "properties": {"x": {"type": "string"}}}},
                "allOf": [{"if": {"properties": {"a": {"required": ["x"]}}}, "then": {"properties": {}}}],
                "$defs": {"b": {"properties": {"deep": {"type": "string"}}}}
            })
        );
    }

    #[test]
    fn a_value_that_is_not_a_map_reaches_no_property() {
        let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}});
        assert_eq!(
            cut(schema, json!([1])).unwrap(),
            json!({"type": "object", "properties": {}})
        );
        assert_eq!(cut(json!(true), json!({"a": 1})).unwrap(), json!(true));
        // Not a schema: left to the whole compile, which says why.
        assert_eq!(cut(json!({"properties": 3}), json!({})), None);
        assert_eq!(cut(json!({"allOf": []}), json!({})), None);
        assert_eq!(reach("{} {}", &json!({})), None);
    }

    #[test]
    fn a_schema_that_refers_into_its_properties_is_not_cut() {
        let into_properties =
            json!({"properties": {"a": {"type": "string"}, "b": {"$ref": "#/properties/a"}}});
        assert_eq!(cut(into_properties, json!({"b": "x"})), None);
        let anchored = json!({"properties": {"a": {"$anchor": "a"}}, "$ref": "#a"});
        assert_eq!(cut(anchored, json!({})), None);
        let escaped = r#"{"properties": {"a": {"\u0024id": "urn:a"}}}"#;
        assert_eq!(reach(escaped, &json!({})), None);
        let defs = json!({"properties": {"a": {"$ref" : "#/$defs/a"}}, "$defs": {"a": {}}});
        assert!(cut(defs, json!({})).is_some());
    }
}
