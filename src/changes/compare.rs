//! Matching resources across the two sides and finding what changed in each, path by path.

use super::manifest::{Key, Pair, Resource};
use super::mask;
use super::path::{item_names, pair_items, Step};
use super::Options;
use crate::yaml::Node;
use serde_json::Value as Json;
use std::collections::HashMap;

/// What happened to one resource.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Changed,
    Added,
    Removed,
    /// A removed resource Helm leaves in the cluster (`helm.sh/resource-policy: keep`): not a change.
    Kept,
    /// A path only: an item of a list whose order Kubernetes gives meaning to, at another place.
    Moved,
}

impl Status {
    pub fn word(self) -> &'static str {
        match self {
            Status::Changed => "changed",
            Status::Added => "added",
            Status::Removed => "removed",
            Status::Kept => "kept",
            Status::Moved => "moved",
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
    /// For a resource paired by `--find-renames`: the old side's name (`namespace/name`).
    pub renamed_from: Option<String>,
}

/// One path of a changed resource and what happened there.
#[derive(Debug, Clone, PartialEq)]
pub struct PathChange {
    pub path: Vec<Step>,
    pub status: Status,
    /// For a moved item: its position in the old list and in the new one.
    pub moved: Option<(usize, usize)>,
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
        self.entries.iter().any(|e| e.status != Status::Kept)
    }
}

/// Matches resources by key, settles what Helm does on its own (`settle`), drops ignored paths, finds the
/// changed paths, then hides secrets. Changed resources come in the new manifest's order (then those paired by
/// `--find-renames`), then added ones, then removed and kept ones (old order).
pub fn compare(pair: Pair, opts: &Options) -> Comparison {
    let mut unchanged = pair.identical;
    let mut parsed = Parsed::default();
    let settled = |mut r: Resource| {
        settle(&mut r, opts);
        r
    };
    let old: Vec<Resource> = pair.old.into_iter().map(settled).collect();
    let old_order: Vec<Key> = old.iter().map(|r| r.key.clone()).collect();
    let mut old_by_key: HashMap<Key, Resource> =
        old.into_iter().map(|r| (r.key.clone(), r)).collect();
    let (mut changed, mut added) = (Vec::new(), Vec::new());
    for new in pair.new.into_iter().map(settled) {
        let Some(old) = old_by_key.remove(&new.key) else {
            added.push(new);
            continue;
        };
        let paths = changes(&old, &new, &mut parsed);
        if paths.is_empty() {
            unchanged += 1;
            continue;
        }
        changed.push(entry(
            Status::Changed,
            Some(old),
            Some(new),
            paths,
            opts.show_secrets,
            &mut parsed,
        ));
    }
    let mut removed: Vec<Resource> = old_order
        .iter()
        .filter_map(|k| old_by_key.remove(k))
        .collect();
    if let Some(fraction) = opts.find_renames {
        for (old, new) in renames(&mut removed, &mut added, fraction) {
            let from = old.title_name();
            let paths = changes(&old, &new, &mut parsed);
            let mut e = entry(
                Status::Changed,
                Some(old),
                Some(new),
                paths,
                opts.show_secrets,
                &mut parsed,
            );
            e.renamed_from = Some(from);
            changed.push(e);
        }
    }
    let mut entries = changed;
    entries.extend(added.into_iter().map(|new| {
        entry(
            Status::Added,
            None,
            Some(new),
            Vec::new(),
            opts.show_secrets,
            &mut parsed,
        )
    }));
    entries.extend(removed.into_iter().map(|old| {
        let status = if kept_by_helm(&old.body) {
            Status::Kept
        } else {
            Status::Removed
        };
        entry(
            status,
            Some(old),
            None,
            Vec::new(),
            opts.show_secrets,
            &mut parsed,
        )
    }));
    Comparison { entries, unchanged }
}

/// The paths where two sides of a resource differ (empty when only the order of named items differs, in lists
/// whose order means nothing).
fn changes(old: &Resource, new: &Resource, parsed: &mut Parsed) -> Vec<PathChange> {
    let mut paths = Vec::new();
    if old.body != new.body {
        let kind = Kind(&new.key.group, &new.key.kind);
        let mut at = Vec::new();
        differences(&old.body, &new.body, kind, &mut at, &mut paths, parsed);
    }
    paths
}

/// Annotations Helm writes for itself and removes before it stores a release: never a change.
/// (Helm 4 gives a post-renderer every resource with the template file it came from.)
const HELM_BOOKKEEPING: &[&str] = &["postrenderer.helm.sh/postrender-filename"];

/// What Helm and the API server do with a resource on their own, done before comparing: Helm's bookkeeping
/// annotations removed, `-n NS` given to a namespaced object that names none (Helm installs it there), a
/// Secret's `stringData` folded into `data` as base64 (the API server stores it so), `--ignore`d paths removed.
fn settle(r: &mut Resource, opts: &Options) {
    strip_bookkeeping(&mut r.body);
    if let Some(ns) = opts.namespace.as_deref().filter(|ns| !ns.is_empty()) {
        if r.key.namespace.is_empty() && !super::scope::cluster_scoped(&r.key.group, &r.key.kind) {
            r.key.namespace = ns.to_string();
            if let Some(meta) = r.body.get_mut("metadata").and_then(Json::as_object_mut) {
                meta.insert("namespace".into(), Json::String(ns.to_string()));
            }
        }
    }
    if r.key.group.is_empty() && r.key.kind == "Secret" {
        fold_string_data(&mut r.body);
    }
    for pattern in &opts.ignore {
        pattern.remove_from(&mut r.body);
    }
}

fn strip_bookkeeping(body: &mut Json) {
    let Some(meta) = body.get_mut("metadata").and_then(Json::as_object_mut) else {
        return;
    };
    let Some(notes) = meta.get_mut("annotations").and_then(Json::as_object_mut) else {
        return;
    };
    let before = notes.len();
    notes.retain(|k, _| !HELM_BOOKKEEPING.contains(&k.as_str()));
    if notes.is_empty() && before > 0 {
        meta.remove("annotations");
    }
}

/// `stringData` entries written into `data` as base64 (replacing a `data` entry of the same key, as the API
/// server does), and `stringData` removed.
fn fold_string_data(body: &mut Json) {
    use base64::Engine;
    let Some(object) = body.as_object_mut() else {
        return;
    };
    let Some(Json::Object(plain)) = object.get("stringData") else {
        return;
    };
    if plain.values().any(|v| !v.is_string()) {
        return;
    }
    let Some(Json::Object(plain)) = object.remove("stringData") else {
        return;
    };
    let data = object
        .entry("data")
        .or_insert_with(|| Json::Object(serde_json::Map::new()));
    if data.is_null() {
        *data = Json::Object(serde_json::Map::new());
    }
    let Some(data) = data.as_object_mut() else {
        return;
    };
    for (key, value) in plain {
        let text = value.as_str().unwrap_or_default();
        let encoded = base64::engine::general_purpose::STANDARD.encode(text);
        data.insert(key, Json::String(encoded));
    }
}

/// True when Helm leaves the resource in the cluster when the release drops it (`helm.sh/resource-policy:
/// keep`).
fn kept_by_helm(body: &Json) -> bool {
    body.pointer("/metadata/annotations/helm.sh~1resource-policy")
        .and_then(Json::as_str)
        .is_some_and(|p| p.trim() == "keep")
}

/// Pairs removed and added resources of the same API group and kind whose bodies (names aside) are at least
/// `fraction` alike (`similar`'s ratio of their canonical lines), the most alike pairs first; each resource is
/// paired once and taken out of its list. The pairs come in the old side's order.
fn renames(
    removed: &mut Vec<Resource>,
    added: &mut Vec<Resource>,
    fraction: f64,
) -> Vec<(Resource, Resource)> {
    let text = |r: &Resource| {
        let mut body = r.body.clone();
        if let Some(meta) = body.get_mut("metadata").and_then(Json::as_object_mut) {
            meta.remove("name");
        }
        crate::yaml::write::render(&body)
    };
    let added_texts: Vec<String> = added.iter().map(text).collect();
    let mut candidates = Vec::new();
    for (i, old) in removed.iter().enumerate() {
        let old_text = text(old);
        for (j, new) in added.iter().enumerate() {
            if new.key.group == old.key.group && new.key.kind == old.key.kind {
                let ratio = similar::TextDiff::from_lines(&old_text, &added_texts[j]).ratio();
                if f64::from(ratio) >= fraction {
                    candidates.push((ratio, i, j));
                }
            }
        }
    }
    // The most alike first; among equals, the first removed, then the first added.
    candidates.sort_by(|a, b| b.0.total_cmp(&a.0).then((a.1, a.2).cmp(&(b.1, b.2))));
    let (mut old_taken, mut new_taken) = (vec![false; removed.len()], vec![false; added.len()]);
    let mut pairs = Vec::new();
    for (_, i, j) in candidates {
        if !old_taken[i] && !new_taken[j] {
            old_taken[i] = true;
            new_taken[j] = true;
            pairs.push((i, j));
        }
    }
    pairs.sort_unstable();
    let (mut olds, mut news): (Vec<Option<Resource>>, Vec<Option<Resource>>) = (
        std::mem::take(removed).into_iter().map(Some).collect(),
        std::mem::take(added).into_iter().map(Some).collect(),
    );
    let found = pairs
        .iter()
        .filter_map(|&(i, j)| Some((olds[i].take()?, news[j].take()?)))
        .collect();
    *removed = olds.into_iter().flatten().collect();
    *added = news.into_iter().flatten().collect();
    found
}

fn entry(
    status: Status,
    mut old: Option<Resource>,
    mut new: Option<Resource>,
    paths: Vec<PathChange>,
    show_secrets: bool,
    parsed: &mut Parsed,
) -> Entry {
    if !show_secrets {
        let key = &old.as_ref().or(new.as_ref()).expect("a side").key;
        let is_secret = key.group.is_empty() && key.kind == "Secret";
        mask::hide_resource(
            old.as_mut().map(|r| &mut r.body),
            new.as_mut().map(|r| &mut r.body),
            is_secret,
            parsed,
        );
    }
    if let (Some(o), Some(n)) = (old.as_mut(), new.as_ref()) {
        super::order::order_like(&mut o.body, &n.body);
    }
    Entry {
        status,
        old,
        new,
        paths,
        renamed_from: None,
    }
}

/// The API group and kind of the resource being compared (some lists' order means something only in some
/// kinds).
#[derive(Clone, Copy)]
struct Kind<'a>(&'a str, &'a str);

/// True when Kubernetes gives the order of a named list meaning: init containers run one by one in order; an
/// env var's `$(NAME)` reference sees only the vars listed before it; a mutating admission webhook sees what
/// the ones before it changed.
fn order_matters(kind: Kind, at: &[Step], old: &[Json], new: &[Json]) -> bool {
    let Some(Step::Key(list)) = at.last() else {
        return false;
    };
    let refers = |items: &[Json]| {
        items.iter().any(|item| {
            item.get("value")
                .and_then(Json::as_str)
                .is_some_and(|v| v.contains("$("))
        })
    };
    match list.as_str() {
        "initContainers" => true,
        "env" => refers(old) || refers(new),
        "webhooks" => {
            at.len() == 1
                && kind.0 == "admissionregistration.k8s.io"
                && kind.1 == "MutatingWebhookConfiguration"
        }
        _ => false,
    }
}

/// The items of a named list found at another place: those outside the longest run of common items that
/// keeps its order (so that swapping two items moves one), as (name, old position, new position).
fn moves<'a>(old: &[&'a str], new: &[&'a str]) -> Vec<(&'a str, usize, usize)> {
    let at_old: HashMap<&str, usize> = old.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let common: Vec<(&str, usize, usize)> = new
        .iter()
        .enumerate()
        .filter_map(|(j, n)| at_old.get(n).map(|&i| (*n, i, j)))
        .collect();
    // Longest increasing run of old positions, in new order (lists are short: quadratic is fine).
    let mut length = vec![1usize; common.len()];
    let mut before = vec![None; common.len()];
    for b in 0..common.len() {
        for a in 0..b {
            if common[a].1 < common[b].1 && length[a] + 1 > length[b] {
                length[b] = length[a] + 1;
                before[b] = Some(a);
            }
        }
    }
    let mut keep = vec![false; common.len()];
    let mut at = (0..common.len()).max_by_key(|&i| (length[i], std::cmp::Reverse(i)));
    while let Some(i) = at {
        keep[i] = true;
        at = before[i];
    }
    common
        .into_iter()
        .zip(keep)
        .filter(|(_, kept)| !kept)
        .map(|(m, _)| m)
        .collect()
}

/// Collects the paths where two values differ: added and removed keys or items, changed scalars, values whose
/// type changed. Two texts that both hold a YAML or JSON mapping (a config file in a ConfigMap) are compared
/// inside, so the path goes on into the text: `data.config\.yaml.tunnel.enabled`.
fn differences(
    old: &Json,
    new: &Json,
    kind: Kind,
    at: &mut Vec<Step>,
    out: &mut Vec<PathChange>,
    parsed: &mut Parsed,
) {
    match (old, new) {
        (Json::Object(a), Json::Object(b)) => {
            for (key, b_value) in b {
                at.push(Step::Key(key.clone()));
                match a.get(key) {
                    Some(a_value) => differences(a_value, b_value, kind, at, out, parsed),
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
            if order_matters(kind, at, a, b) {
                if let (Some(x), Some(y)) = (item_names(a), item_names(b)) {
                    for (name, from, to) in moves(&x, &y) {
                        at.push(Step::Name(name.to_string()));
                        out.push(PathChange {
                            path: at.clone(),
                            status: Status::Moved,
                            moved: Some((from, to)),
                        });
                        at.pop();
                    }
                }
            }
            for (i, j, step) in pair_items(a, b) {
                at.push(step);
                match (i, j) {
                    (Some(i), Some(j)) => differences(&a[i], &b[j], kind, at, out, parsed),
                    (None, _) => note(out, at, Status::Added),
                    (_, None) => note(out, at, Status::Removed),
                }
                at.pop();
            }
        }
        (a, b) if a == b => {}
        (Json::String(a), Json::String(b)) => {
            let before = out.len();
            if let (Some(x), Some(y)) = (embedded_in(a, parsed), embedded_in(b, parsed)) {
                differences(&x, &y, kind, at, out, parsed);
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
        moved: None,
    });
}

/// The mapping a text holds, when it is a multi-line YAML document or a JSON object.
pub(super) fn embedded(text: &str) -> Option<Json> {
    embedded_in(text, &mut Parsed::default())
}

/// `embedded`, parsing each text once (`Parsed`).
fn embedded_in(text: &str, parsed: &mut Parsed) -> Option<Json> {
    let t = text.trim_start();
    if !text.contains('\n') && !t.starts_with('{') {
        return None;
    }
    match parsed.documents(text)? {
        [doc] => Some(doc.to_json()).filter(Json::is_object),
        _ => None,
    }
}

/// Texts parsed as YAML, by their text, for one comparison: a changed config text is looked inside to find what
/// changed, then for secrets to hide, and is parsed once for both.
#[derive(Default)]
pub struct Parsed(HashMap<String, Option<Vec<Node>>>);

impl Parsed {
    /// The documents of a text, or None when it does not parse.
    pub(super) fn documents(&mut self, text: &str) -> Option<&[Node]> {
        if !self.0.contains_key(text) {
            self.0
                .insert(text.to_string(), crate::yaml::parse(text).ok());
        }
        self.0[text].as_deref()
    }
}

/// The value at a path, if there is one; a key step into text looks inside the mapping the text holds (parsed
/// once for every lookup given the same `parsed`).
pub fn lookup(value: &Json, path: &[Step], parsed: &mut Parsed) -> Option<Json> {
    let Some((step, rest)) = path.split_first() else {
        return Some(value.clone());
    };
    let child = match (value, step) {
        (Json::String(text), Step::Key(_)) => {
            return lookup(&embedded_in(text, parsed)?, path, parsed)
        }
        (_, Step::Key(k)) => value.get(k)?,
        (_, Step::Index(i)) => value.get(i)?,
        (_, Step::Name(name)) => value
            .as_array()?
            .iter()
            .find(|item| item.get("name").and_then(Json::as_str) == Some(name))?,
    };
    lookup(child, rest, parsed)
}

#[cfg(test)]
mod tests {
    use super::super::path::show;
    use super::*;
    use serde_json::json;

    const ANY: Kind = Kind("", "ConfigMap");

    /// The paths that differ between `old` and `new`, from the top.
    fn changed_paths(old: &Json, new: &Json, kind: Kind) -> Vec<PathChange> {
        let mut out = Vec::new();
        differences(
            old,
            new,
            kind,
            &mut Vec::new(),
            &mut out,
            &mut Parsed::default(),
        );
        out
    }

    #[test]
    fn finds_changed_added_and_removed_paths() {
        let old = json!({"a": {"b": 1, "gone": true}, "list": [1, 2, 3], "t": "x"});
        let new = json!({"a": {"b": 2, "new": null}, "list": [1, 5], "t": {"now": "map"}});
        let out = changed_paths(&old, &new, ANY);
        let shown: Vec<String> = out.iter().map(|p| show(&p.path)).collect();
        assert_eq!(shown, ["a.b", "a.new", "a.gone", "list[1]", "list[2]", "t"]);
        let statuses: Vec<&str> = out.iter().map(|p| p.status.word()).collect();
        assert_eq!(
            statuses,
            ["changed", "added", "removed", "changed", "removed", "changed"]
        );
        assert_eq!(
            lookup(&new, &out[0].path, &mut Parsed::default()),
            Some(json!(2))
        );
        assert_eq!(lookup(&new, &out[2].path, &mut Parsed::default()), None);
    }

    #[test]
    fn looks_inside_config_text() {
        let old = json!({"data": {"config.yaml": "# c\ntunnel:\n  enabled: false\nx: 1\n"}});
        let new = json!({"data": {"config.yaml": "tunnel: {enabled: true}\nx: 1\n"}});
        let out = changed_paths(&old, &new, ANY);
        assert_eq!(out.len(), 1);
        assert_eq!(show(&out[0].path), r"data.config\.yaml.tunnel.enabled");
        assert_eq!(
            lookup(&old, &out[0].path, &mut Parsed::default()),
            Some(json!(false))
        );
        // Same meaning, different text: the text itself is the change.
        let comment = json!({"data": {"config.yaml": "x: 1\n"}});
        let out = changed_paths(&old, &comment, ANY);
        assert_eq!(show(&out[0].path), "data.config\\.yaml.tunnel");
    }

    #[test]
    fn named_items_match_by_name() {
        let old = json!({"env": [{"name": "A", "value": "1"}, {"name": "B", "value": "2"}]});
        let new = json!({"env": [{"name": "NEW", "value": "0"}, {"name": "A", "value": "1"}, {"name": "B", "value": "3"}]});
        let out = changed_paths(&old, &new, ANY);
        let shown: Vec<String> = out
            .iter()
            .map(|p| format!("{} {}", show(&p.path), p.status.word()))
            .collect();
        assert_eq!(shown, ["env[name=NEW] added", "env[name=B].value changed"]);
        assert_eq!(
            lookup(&new, &out[1].path, &mut Parsed::default()),
            Some(json!("3"))
        );
    }
}
