//! Paths inside an object: how changes are named (`spec.template.spec.containers[0].image`) and how
//! `--ignore` patterns pick what to leave out of the comparison.
//!
//! A pattern is a dotted path. `\.` is a dot inside a key (`metadata.labels.helm\.sh/chart`); an unescaped dot
//! may also sit inside a key, since a key matches as many dotted parts as it spells, so
//! `metadata.labels.helm.sh/chart` works too. `[0]` or `0` picks a list item, `*` any one key or item.
//! A pattern that goes on past a text value holding a YAML or JSON mapping (a config file in a ConfigMap) goes
//! on inside it: `data.config\.yaml.host.join_token`. Such a text is then compared and shown as the canonical
//! YAML of what it holds, without the ignored parts (its comments and layout are dropped, on both sides alike).

use crate::printable;
use serde_json::Value as Json;
use std::borrow::Cow;

/// One step down into an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Index(usize),
    /// The item of a named list whose `name` is this.
    Name(String),
}

/// A path as people read and write it: keys joined by dots (with `.`, `[` and `\` escaped), items as `[N]`,
/// named items as `[name=N]`. A key or name that is empty, has surrounding spaces or holds a control character
/// is shown double-quoted with `\u` escapes instead (`printable::shown`): it cannot forge a line or drive a
/// terminal, though it cannot be written back as a pattern either.
pub fn show(path: &[Step]) -> String {
    let mut out = String::new();
    for step in path {
        match step {
            Step::Key(key) => {
                if !out.is_empty() {
                    out.push('.');
                }
                escape_into(&mut out, key, &['.', '[', '\\']);
            }
            Step::Index(i) => out.push_str(&format!("[{i}]")),
            Step::Name(name) => {
                out.push_str("[name=");
                escape_into(&mut out, name, &[']', '\\']);
                out.push(']');
            }
        }
    }
    out
}

/// Writes `text` with a `\` before each of `special`, or as `printable::shown` quotes it when it is odd.
fn escape_into(out: &mut String, text: &str, special: &[char]) {
    if let Cow::Owned(quoted) = printable::shown(text) {
        out.push_str(&quoted);
        return;
    }
    for c in text.chars() {
        if special.contains(&c) {
            out.push('\\');
        }
        out.push(c);
    }
}

/// The names of a named list's items (every item a mapping with a string `name`, no name twice), in order.
pub fn item_names(items: &[Json]) -> Option<Vec<&str>> {
    let mut names = Vec::with_capacity(items.len());
    let mut seen = std::collections::HashSet::new();
    for item in items {
        let name = item.get("name")?.as_str()?;
        if !seen.insert(name) {
            return None;
        }
        names.push(name);
    }
    Some(names)
}

/// The items of two lists paired as they are compared: by name when both lists are named (the new side's
/// order, then items only the old side has), else by position. Each pair comes with the step naming it.
pub fn pair_items(old: &[Json], new: &[Json]) -> Vec<(Option<usize>, Option<usize>, Step)> {
    let (Some(a), Some(b)) = (item_names(old), item_names(new)) else {
        return (0..old.len().max(new.len()))
            .map(|i| {
                (
                    (i < old.len()).then_some(i),
                    (i < new.len()).then_some(i),
                    Step::Index(i),
                )
            })
            .collect();
    };
    let in_old: std::collections::HashMap<&str, usize> =
        a.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let in_new: std::collections::HashSet<&str> = b.iter().copied().collect();
    let mut pairs: Vec<_> = b
        .iter()
        .enumerate()
        .map(|(j, n)| (in_old.get(n).copied(), Some(j), Step::Name(n.to_string())))
        .collect();
    pairs.extend(
        a.iter()
            .enumerate()
            .filter(|(_, n)| !in_new.contains(*n))
            .map(|(i, n)| (Some(i), None, Step::Name(n.to_string()))),
    );
    pairs
}

/// A parsed `--ignore` pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pattern {
    parts: Vec<Part>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Part {
    Text(String),
    Any,
    /// `[name=x]`: the item of a named list called x.
    Named(String),
}

impl std::str::FromStr for Pattern {
    type Err = String;

    fn from_str(text: &str) -> Result<Pattern, String> {
        let mut parts = Vec::new();
        let mut current = String::new();
        let mut escaped = false;
        let mut chars = text.chars();
        let finish = |current: &mut String, parts: &mut Vec<Part>, literal: bool| {
            let part = std::mem::take(current);
            if part == "*" && !literal {
                parts.push(Part::Any);
            } else if !part.is_empty() {
                parts.push(Part::Text(part));
            }
        };
        let mut literal = false;
        while let Some(c) = chars.next() {
            match c {
                _ if escaped => {
                    current.push(c);
                    escaped = false;
                    literal = true;
                }
                '\\' => escaped = true,
                '.' => {
                    finish(&mut current, &mut parts, literal);
                    literal = false;
                }
                '[' => {
                    finish(&mut current, &mut parts, literal);
                    let inside = bracketed(&mut chars)
                        .ok_or_else(|| format!("\"{text}\" has a [ without its ]"))?;
                    match inside.strip_prefix("name=") {
                        Some(name) => parts.push(Part::Named(name.to_string())),
                        None => {
                            current = inside;
                            finish(&mut current, &mut parts, false);
                        }
                    }
                    literal = false;
                }
                _ => current.push(c),
            }
        }
        if escaped {
            return Err(format!("\"{text}\" ends with a lone backslash"));
        }
        finish(&mut current, &mut parts, literal);
        if parts.is_empty() {
            return Err("an empty path ignores nothing".into());
        }
        Ok(Pattern { parts })
    }
}

/// What stands between `[` and the next unescaped `]` (`\` escapes), or None when there is no `]`.
fn bracketed(chars: &mut std::str::Chars) -> Option<String> {
    let mut inside = String::new();
    while let Some(c) = chars.next() {
        match c {
            '\\' => inside.push(chars.next()?),
            ']' => return Some(inside),
            c => inside.push(c),
        }
    }
    None
}

impl Pattern {
    /// Removes every place the pattern names from the value.
    pub fn remove_from(&self, value: &mut Json) {
        remove_at(value, &self.parts);
    }
}

fn remove_at(value: &mut Json, parts: &[Part]) {
    match value {
        Json::Object(map) => {
            let keys: Vec<String> = map.keys().cloned().collect();
            for key in keys {
                for used in 1..=parts.len() {
                    if !key_matches(&key, &parts[..used]) {
                        continue;
                    }
                    if used == parts.len() {
                        map.shift_remove(&key);
                        break;
                    }
                    if let Some(child) = map.get_mut(&key) {
                        remove_at(child, &parts[used..]);
                    }
                }
            }
        }
        Json::Array(items) => {
            for i in (0..items.len()).rev() {
                if !item_matches(i, &items[i], &parts[0]) {
                    continue;
                }
                if parts.len() == 1 {
                    items.remove(i);
                } else {
                    remove_at(&mut items[i], &parts[1..]);
                }
            }
        }
        Json::String(text) => {
            if let Some(mut inside) = super::compare::embedded(text) {
                remove_at(&mut inside, parts);
                *text = crate::yaml::write::render(&inside);
            }
        }
        _ => {}
    }
}

/// A key matches one `*`, or the parts it spells when they are joined with dots.
fn key_matches(key: &str, parts: &[Part]) -> bool {
    if let [Part::Any] = parts {
        return true;
    }
    let mut rest = key;
    for (i, part) in parts.iter().enumerate() {
        let Part::Text(text) = part else { return false };
        if i > 0 {
            let Some(after) = rest.strip_prefix('.') else {
                return false;
            };
            rest = after;
        }
        let Some(after) = rest.strip_prefix(text.as_str()) else {
            return false;
        };
        rest = after;
    }
    rest.is_empty()
}

fn item_matches(index: usize, item: &Json, part: &Part) -> bool {
    match part {
        Part::Any => true,
        Part::Text(text) => text.parse::<usize>() == Ok(index),
        Part::Named(name) => item.get("name").and_then(Json::as_str) == Some(name),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn strip(pattern: &str, mut value: Json) -> Json {
        pattern.parse::<Pattern>().unwrap().remove_from(&mut value);
        value
    }

    #[test]
    fn keys_with_dots_match_escaped_or_not() {
        let v = json!({"metadata": {"labels": {"helm.sh/chart": "c-1", "app": "a"}}});
        let want = json!({"metadata": {"labels": {"app": "a"}}});
        assert_eq!(strip(r"metadata.labels.helm\.sh/chart", v.clone()), want);
        assert_eq!(strip("metadata.labels.helm.sh/chart", v.clone()), want);
        assert_eq!(strip("metadata.labels.helm", v.clone()), v);
    }

    #[test]
    fn wildcards_and_list_items() {
        let v = json!({"spec": {"containers": [{"image": "a", "name": "x"}, {"image": "b", "name": "y"}]}});
        let want = json!({"spec": {"containers": [{"name": "x"}, {"name": "y"}]}});
        assert_eq!(strip("spec.containers[*].image", v.clone()), want);
        assert_eq!(strip("spec.containers.*.image", v.clone()), want);
        let one = strip("spec.containers[1]", v.clone());
        assert_eq!(one["spec"]["containers"].as_array().unwrap().len(), 1);
        assert_eq!(
            strip("*.containers.0.image", v)["spec"]["containers"][0],
            json!({"name": "x"})
        );
    }

    #[test]
    fn shows_paths_with_escapes_and_rejects_bad_patterns() {
        let p = [
            Step::Key("data".into()),
            Step::Key("config.yaml".into()),
            Step::Index(2),
        ];
        assert_eq!(show(&p), r"data.config\.yaml[2]");
        let odd = [
            Step::Key("a\n".into()),
            Step::Name("x]\u{7}".into()),
            Step::Name("".into()),
        ];
        assert_eq!(show(&odd), r#""a\n"[name="x]\u0007"][name=""]"#);
        assert!("a\\".parse::<Pattern>().is_err());
        assert!("a[name=x".parse::<Pattern>().is_err());
        assert!("".parse::<Pattern>().is_err());
        assert_eq!(
            r"\*.b".parse::<Pattern>().unwrap().parts[0],
            Part::Text("*".into())
        );
    }

    #[test]
    fn patterns_reach_into_embedded_config_text() {
        let v = json!({"data": {"config.yaml": "# agent\nhost:\n  join_token: jt-1\n  port: 443\n", "plain": "a: b"}});
        let ignored = strip(r"data.config\.yaml.host.join_token", v.clone());
        assert_eq!(
            ignored["data"]["config.yaml"],
            json!("host:\n  port: 443\n")
        );
        assert_eq!(
            strip("data.config.yaml.host.join_token", v.clone()),
            ignored
        );
        // One-line text is no config file: left as it is.
        assert_eq!(
            strip("data.plain.a", v.clone())["data"]["plain"],
            json!("a: b")
        );
    }

    #[test]
    fn named_items_by_name_in_paths_and_patterns() {
        let v = json!({"env": [{"name": "A", "value": "1"}, {"name": "odd]name", "value": "2"}]});
        let p = [
            Step::Key("env".into()),
            Step::Name("odd]name".into()),
            Step::Key("value".into()),
        ];
        assert_eq!(show(&p), r"env[name=odd\]name].value");
        let stripped = strip(&show(&p), v.clone());
        assert_eq!(stripped["env"][1], json!({"name": "odd]name"}));
        assert_eq!(
            strip("env[name=A]", v.clone())["env"]
                .as_array()
                .unwrap()
                .len(),
            1
        );
        assert_eq!(strip("env[name=B]", v.clone()), v);
    }

    #[test]
    fn named_lists_pair_by_name_others_by_position() {
        let old = [
            json!({"name": "a"}),
            json!({"name": "b"}),
            json!({"name": "gone"}),
        ];
        let new = [
            json!({"name": "new"}),
            json!({"name": "a"}),
            json!({"name": "b"}),
        ];
        let pairs: Vec<_> = pair_items(&old, &new)
            .into_iter()
            .map(|(a, b, s)| (a, b, show(&[s])))
            .collect();
        assert_eq!(
            pairs,
            [
                (None, Some(0), "[name=new]".to_string()),
                (Some(0), Some(1), "[name=a]".into()),
                (Some(1), Some(2), "[name=b]".into()),
                (Some(2), None, "[name=gone]".into()),
            ]
        );
        // Twice the same name, or an item without one: by position.
        let twice = [json!({"name": "a"}), json!({"name": "a"})];
        assert_eq!(
            pair_items(&twice, &new)[0],
            (Some(0), Some(0), Step::Index(0))
        );
        assert_eq!(
            pair_items(&[json!(1)], &[])[0],
            (Some(0), None, Step::Index(0))
        );
    }
}
