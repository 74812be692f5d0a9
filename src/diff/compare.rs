//! Matching resources across the two sides and finding what changed in each, path by path.

use super::manifest::{Key, Pair, Resource};
use super::mask;
use super::path::{pair_items, Pattern, Step};
use serde_json::Value as Json;
use std::collections::HashMap;

/// What happened to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Changed,
    Added,
    Removed,
}

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Status::Changed => "changed",
            Status::Added => "added",
            Status::Removed => "removed",
        }
    }
}

/// One changed, added or removed resource, with secrets already hidden (unless asked to show them).
#[derive(Debug)]
pub struct Entry {
    pub status: Status,
    pub old: Option<Resource>,
    pub new: Option<Resource>,
    /// For changed resources: every path whose value differs (compared before hiding secrets).
    pub paths: Vec<PathChange>,
}

/// One path of a changed resource and what happened there.
#[derive(Debug, Clone, PartialEq)]
pub struct PathChange {
    pub path: Vec<Step>,
    pub status: Status,
}

impl Entry {
    /// The side that names the resource: the new one, unless it was removed.
    pub fn resource(&self) -> &Resource {
        self.new
            .as_ref()
            .or(self.old.as_ref())
            .expect("an entry has a side")
    }
}

/// The outcome of comparing two manifests.
#[derive(Debug)]
pub struct Comparison {
    pub entries: Vec<Entry>,
    pub unchanged: usize,
}

impl Comparison {
    pub fn count(&self, status: Status) -> usize {
        self.entries.iter().filter(|e| e.status == status).count()
    }

    pub fn has_changes(&self) -> bool {
        !self.entries.is_empty()
    }
}

/// Matches resources by key, drops ignored paths, finds the changed paths, then hides secrets.
/// Changed resources come in the new manifest's order, then added ones, then removed ones (old order).
pub fn compare(pair: Pair, ignore: &[Pattern], show_secrets: bool) -> Comparison {
    let mut unchanged = pair.identical;
    let mut old_by_key: HashMap<Key, Resource> = HashMap::new();
    let old_order: Vec<Key> = pair.old.iter().map(|r| r.key.clone()).collect();
    for r in pair.old {
        old_by_key.insert(r.key.clone(), r);
    }
    let (mut changed, mut added) = (Vec::new(), Vec::new());
    for mut new in pair.new {
        strip(&mut new.body, ignore);
        let Some(mut old) = old_by_key.remove(&new.key) else {
            added.push(entry(
                Status::Added,
                None,
                Some(new),
                Vec::new(),
                show_secrets,
            ));
            continue;
        };
        strip(&mut old.body, ignore);
        if old.body == new.body {
            unchanged += 1;
            continue;
        }
        let mut paths = Vec::new();
        differences(&old.body, &new.body, &mut Vec::new(), &mut paths);
        changed.push(entry(
            Status::Changed,
            Some(old),
            Some(new),
            paths,
            show_secrets,
        ));
    }
    let removed = old_order
        .iter()
        .filter_map(|k| old_by_key.remove(k))
        .map(|mut old| {
            strip(&mut old.body, ignore);
            entry(Status::Removed, Some(old), None, Vec::new(), show_secrets)
        });
    let mut entries = changed;
    entries.extend(added);
    entries.extend(removed);
    Comparison { entries, unchanged }
}

fn strip(body: &mut Json, ignore: &[Pattern]) {
    for pattern in ignore {
        pattern.remove_from(body);
    }
}

fn entry(
    status: Status,
    mut old: Option<Resource>,
    mut new: Option<Resource>,
    paths: Vec<PathChange>,
    show_secrets: bool,
) -> Entry {
    if !show_secrets {
        let key = &old.as_ref().or(new.as_ref()).expect("a side").key;
        let is_secret = key.group.is_empty() && key.kind == "Secret";
        mask::hide_resource(
            old.as_mut().map(|r| &mut r.body),
            new.as_mut().map(|r| &mut r.body),
            is_secret,
        );
    }
    if let (Some(o), Some(n)) = (old.as_mut(), new.as_ref()) {
        super::canon::order_like(&mut o.body, &n.body);
    }
    Entry {
        status,
        old,
        new,
        paths,
    }
}

/// Collects the paths where two values differ: added and removed keys or items, changed scalars, values whose
/// type changed. Two texts that both hold a YAML or JSON mapping (a config file in a ConfigMap) are compared
/// inside, so the path goes on into the text: `data.config\.yaml.tunnel.enabled`.
fn differences(old: &Json, new: &Json, at: &mut Vec<Step>, out: &mut Vec<PathChange>) {
    match (old, new) {
        (Json::Object(a), Json::Object(b)) => {
            for (key, b_value) in b {
                at.push(Step::Key(key.clone()));
                match a.get(key) {
                    Some(a_value) => differences(a_value, b_value, at, out),
                    None => note(out, at, Status::Added),
                }
                at.pop();
            }
            for key in a.keys().filter(|k| !b.contains_key(*k)) {
                at.push(Step::Key(key.clone()));
                note(out, at, Status::Removed);
                at.pop();
            }
        }
        (Json::Array(a), Json::Array(b)) => {
            for (i, j, step) in pair_items(a, b) {
                at.push(step);
                match (i, j) {
                    (Some(i), Some(j)) => differences(&a[i], &b[j], at, out),
                    (None, _) => note(out, at, Status::Added),
                    (_, None) => note(out, at, Status::Removed),
                }
                at.pop();
            }
        }
        (a, b) if a == b => {}
        (Json::String(a), Json::String(b)) => {
            let before = out.len();
            if let (Some(x), Some(y)) = (embedded(a), embedded(b)) {
                differences(&x, &y, at, out);
            }
            if out.len() == before {
                note(out, at, Status::Changed);
            }
        }
        _ => note(out, at, Status::Changed),
    }
}

fn note(out: &mut Vec<PathChange>, at: &[Step], status: Status) {
    out.push(PathChange {
        path: at.to_vec(),
        status,
    });
}

/// The mapping a text holds, when it is a multi-line YAML document or a JSON object.
pub(super) fn embedded(text: &str) -> Option<Json> {
    let t = text.trim_start();
    if !text.contains('\n') && !t.starts_with('{') {
        return None;
    }
    let mut docs = crate::yaml::parse(text).ok()?;
    match docs.len() {
        1 => Some(docs.remove(0).to_json()).filter(Json::is_object),
        _ => None,
    }
}

/// The value at a path, if there is one; a key step into text looks inside the mapping the text holds.
pub fn lookup(value: &Json, path: &[Step]) -> Option<Json> {
    let Some((step, rest)) = path.split_first() else {
        return Some(value.clone());
    };
    let child = match (value, step) {
        (Json::String(text), Step::Key(_)) => return lookup(&embedded(text)?, path),
        (_, Step::Key(k)) => value.get(k)?,
        (_, Step::Index(i)) => value.get(i)?,
        (_, Step::Name(name)) => value
            .as_array()?
            .iter()
            .find(|item| item.get("name").and_then(Json::as_str) == Some(name))?,
    };
    lookup(child, rest)
}

#[cfg(test)]
mod tests {
    use super::super::path::show;
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_changed_added_and_removed_paths() {
        let old = json!({"a": {"b": 1, "gone": true}, "list": [1, 2, 3], "t": "x"});
        let new = json!({"a": {"b": 2, "new": null}, "list": [1, 5], "t": {"now": "map"}});
        let mut out = Vec::new();
        differences(&old, &new, &mut Vec::new(), &mut out);
        let shown: Vec<String> = out.iter().map(|p| show(&p.path)).collect();
        assert_eq!(shown, ["a.b", "a.new", "a.gone", "list[1]", "list[2]", "t"]);
        let statuses: Vec<&str> = out.iter().map(|p| p.status.word()).collect();
        assert_eq!(
            statuses,
            ["changed", "added", "removed", "changed", "removed", "changed"]
        );
        assert_eq!(lookup(&new, &out[0].path), Some(json!(2)));
        assert_eq!(lookup(&new, &out[2].path), None);
    }

    #[test]
    fn looks_inside_config_text() {
        let old = json!({"data": {"config.yaml": "# c\ntunnel:\n  enabled: false\nx: 1\n"}});
        let new = json!({"data": {"config.yaml": "tunnel: {enabled: true}\nx: 1\n"}});
        let mut out = Vec::new();
        differences(&old, &new, &mut Vec::new(), &mut out);
        assert_eq!(out.len(), 1);
        assert_eq!(show(&out[0].path), r"data.config\.yaml.tunnel.enabled");
        assert_eq!(lookup(&old, &out[0].path), Some(json!(false)));
        // Same meaning, different text: the text itself is the change.
        let comment = json!({"data": {"config.yaml": "x: 1\n"}});
        let mut out = Vec::new();
        differences(&old, &comment, &mut Vec::new(), &mut out);
        assert_eq!(show(&out[0].path), "data.config\\.yaml.tunnel");
    }

    #[test]
    fn named_items_match_by_name() {
        let old = json!({"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]});
        let new = json!({"env": [{"name": "NEW", "value": "0"}, {"name": "A", "value": "1"}, {"name": "B", "value": "3"}]});
        let mut out = Vec::new();
        differences(&old, &new, &mut Vec::new(), &mut out);
        let shown: Vec<String> = out
            .iter()
            .map(|p| format!("{} {}", show(&p.path), p.status.word()))
            .collect();
        assert_eq!(shown, ["env[name=NEW] added", "env[name=B].value changed"]);
        assert_eq!(lookup(&new, &out[1].path), Some(json!("3")));
    }
}
