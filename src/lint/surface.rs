//! The values surface of each known chart release (`schema/<product>/surface.json`, derived from the vendor's
//! files by scripts/derive-surface.py; docs/versions.md): which keys the target chart version reads. The major's
//! schema stays the base; the surface refines it for one release:
//! - a key of the target release is never unknown (OL002 gives way);
//! - a key that only a later release reads is OL302, naming the first known release that has it;
//! - a value equal to the chart's own default at the target release is no pinned-component override (OL404).
//!
//! Between two known releases the target is assumed to read the keys of both: the corpus dates each change only
//! to an interval, and a false error on a key the release really reads costs more than a missed one.

use super::rules::{Context, Finding};
use crate::paths::Path;
use anyhow::{Context as _, Result};
use semver::Version;
use serde::Deserialize;
use serde_json::Value as Json;
use std::collections::BTreeMap;

/// One product's surface data. Its key strings are borrowed from the data text (parsing 700 keys into owned
/// strings cost a fifth of a lint run).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Surface {
    #[serde(default)]
    #[serde(rename = "comment")]
    _comment: serde::de::IgnoredAny,
    /// The known releases, oldest first.
    #[serde(deserialize_with = "versions")]
    pub releases: Vec<Version>,
    /// Every key path and one mark per release: `+` set in the defaults, `o` optional (commented out or only
    /// documented), `-` absent. Sorted by key, each key once (the last written wins, as in a map); a sorted list
    /// instead of a map, as building a map of 700 keys cost about a tenth of a lint run.
    #[serde(borrow, deserialize_with = "sorted_keys")]
    keys: Vec<(&'static str, &'static str)>,
    /// The defaults of the pinned-component paths at each release (null: absent).
    #[serde(default)]
    pub defaults: BTreeMap<String, Vec<Option<String>>>,
}

/// What the surface says about one key at the target.
#[derive(Debug, PartialEq, Eq)]
pub enum Known {
    /// The target reads it.
    Read,
    /// Only a later release reads it: the first known one.
    AddedIn(Version),
    /// The surface does not say (the schema decides).
    Unknown,
}

impl Surface {
    pub fn parse(name: &str, text: &'static str) -> Result<Surface> {
        let surface: Surface = serde_json::from_str(text)
            .with_context(|| format!("schema/{name} does not follow the surface format"))?;
        let count = surface.releases.len();
        let bad = surface
            .keys
            .iter()
            .find(|(_, m)| m.len() != count || !m.chars().all(|c| matches!(c, '+' | 'o' | '-')));
        if let Some((key, marks)) = bad {
            anyhow::bail!("schema/{name}: key {key} has marks \"{marks}\" for {count} releases");
        }
        Ok(surface)
    }

    /// Every key of the surface, in order.
    pub fn key_names(&self) -> impl Iterator<Item = &str> + '_ {
        self.keys.iter().map(|(k, _)| *k)
    }

    /// The releases whose keys the target reads: the target itself when known; both neighbours between two
    /// known releases of its major; the nearest known release of its major outside them; none for a major
    /// without a known release.
    pub fn window(&self, target: &Version) -> Vec<usize> {
        let major: Vec<usize> = (0..self.releases.len())
            .filter(|&i| self.releases[i].major == target.major)
            .collect();
        if let Some(&i) = major.iter().find(|&&i| self.releases[i] == *target) {
            return vec![i];
        }
        let below = major.iter().rev().find(|&&i| self.releases[i] < *target);
        let above = major.iter().find(|&&i| self.releases[i] > *target);
        below.into_iter().chain(above).copied().collect()
    }

    fn marks(&self, key: &str) -> Option<&[u8]> {
        self.keys
            .binary_search_by(|(k, _)| (*k).cmp(key))
            .ok()
            .map(|i| self.keys[i].1.as_bytes())
    }

    /// True when a release of the window reads `key`.
    pub fn reads(&self, window: &[usize], key: &str) -> bool {
        self.marks(key)
            .is_some_and(|m| window.iter().any(|&i| m[i] != b'-'))
    }

    /// Whether the target (its window) reads `key`, or which later release first does.
    pub fn known(&self, window: &[usize], key: &str) -> Known {
        let (Some(marks), Some(&last)) = (self.marks(key), window.iter().max()) else {
            return Known::Unknown;
        };
        if window.iter().any(|&i| marks[i] != b'-') {
            return Known::Read;
        }
        match (last + 1..marks.len()).find(|&i| marks[i] != b'-') {
            Some(i) => Known::AddedIn(self.releases[i].clone()),
            None => Known::Unknown,
        }
    }

    /// True when some key below `key` is read in the window (the map's keys are known there).
    fn has_children(&self, window: &[usize], key: &str) -> bool {
        let prefix = format!("{key}.");
        let from = self.keys.partition_point(|(k, _)| *k < prefix.as_str());
        self.keys[from..]
            .iter()
            .take_while(|(k, _)| k.starts_with(&prefix))
            .any(|(k, _)| self.reads(window, k))
    }

    /// The defaults of `key` at the window's releases, leaving out a default that is its own release's version
    /// (such a default follows the chart version, which the rules accept anyway).
    pub fn defaults_at(&self, window: &[usize], key: &str) -> Vec<&str> {
        let Some(column) = self.defaults.get(key) else {
            return Vec::new();
        };
        window
            .iter()
            .filter_map(|&i| column.get(i)?.as_deref().map(|d| (i, d)))
            .filter(|(i, d)| d.trim_start_matches('v') != self.releases[*i].to_string())
            .map(|(_, d)| d)
            .collect()
    }

    /// The keys release `index` adds and removes against the known release before it.
    pub fn delta(&self, index: usize) -> (Vec<&str>, Vec<&str>) {
        let reads = |m: &str, i: usize| m.as_bytes()[i] != b'-';
        let (mut added, mut removed) = (Vec::new(), Vec::new());
        for (key, marks) in &self.keys {
            let now = reads(marks, index);
            let before = index > 0 && reads(marks, index - 1);
            // A key under a map that appears or leaves with it is not listed on its own.
            let parent = key.rsplit_once('.').map(|(p, _)| p);
            let parent_moves = parent.is_some_and(|p| {
                self.marks(p).is_some_and(|m| {
                    let m = std::str::from_utf8(m).unwrap_or_default();
                    reads(m, index) != (index > 0 && reads(m, index - 1))
                })
            });
            match (before, now) {
                (false, true) if !parent_moves => added.push(*key),
                (true, false) if !parent_moves => removed.push(*key),
                _ => {}
            }
        }
        (added, removed)
    }
}

/// The `keys` object as a list sorted by key, keeping the last of a key written twice.
fn sorted_keys<'de: 'static, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Vec<(&'static str, &'static str)>, D::Error> {
    struct Pairs;
    impl<'de: 'static> serde::de::Visitor<'de> for Pairs {
        type Value = Vec<(&'static str, &'static str)>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a map of key paths to marks")
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> std::result::Result<Self::Value, A::Error> {
            let mut pairs = Vec::with_capacity(map.size_hint().unwrap_or(0));
            while let Some(pair) = map.next_entry::<&'de str, &'de str>()? {
                pairs.push(pair);
            }
            // Stable, and a single pass over the data's already sorted keys.
            pairs.sort_by(|a, b| a.0.cmp(b.0));
            let mut sorted: Vec<(&str, &str)> = Vec::with_capacity(pairs.len());
            for pair in pairs {
                match sorted.last_mut() {
                    Some(last) if last.0 == pair.0 => *last = pair,
                    _ => sorted.push(pair),
                }
            }
            Ok(sorted)
        }
    }
    d.deserialize_map(Pairs)
}

fn versions<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Vec<Version>, D::Error> {
    let texts = Vec::<String>::deserialize(d)?;
    texts
        .iter()
        .map(|t| Version::parse(t).map_err(serde::de::Error::custom))
        .collect()
}

/// The target chart version's window in the product's surface, when both are known.
fn target<'a>(ctx: &'a Context) -> Option<(&'a Surface, Vec<usize>)> {
    let surface = ctx.surface?;
    let window = surface.window(ctx.chart.as_ref()?);
    (!window.is_empty()).then_some((surface, window))
}

/// True when the target release reads the key at `path` (OL002 gives way there).
pub fn read_by_target(ctx: &Context, path: &Path) -> bool {
    let Some((surface, window)) = target(ctx) else {
        return false;
    };
    dotted(path).is_some_and(|key| surface.reads(&window, &key))
}

/// A value equal to the chart's own default at the target release.
pub fn is_target_default(ctx: &Context, key: &str, value: Option<&Json>) -> bool {
    let (Some((surface, window)), Some(Json::String(value))) = (target(ctx), value) else {
        return false;
    };
    surface.defaults_at(&window, key).contains(&value.as_str())
}

/// OL302: keys that only a later release reads.
pub fn check(ctx: &Context) -> Vec<Finding> {
    let Some((surface, window)) = target(ctx) else {
        return Vec::new();
    };
    let chart = ctx.chart.as_ref().expect("target() needs a chart version");
    let mut out = Vec::new();
    let mut walk = vec![(Path::root(), String::new(), &ctx.values.json)];
    while let Some((path, key, value)) = walk.pop() {
        let Json::Object(map) = value else { continue };
        // Below a map whose keys the target release does not list (an empty map, or a map whose keys are
        // the user's: the data lists no keys below those), any key may be the user's.
        if !key.is_empty() && !surface.has_children(&window, &key) {
            continue;
        }
        for (name, child) in map {
            let child_key = match key.is_empty() {
                true => name.clone(),
                false => format!("{key}.{name}"),
            };
            let child_path = path.key(name);
            match surface.known(&window, &child_key) {
                Known::Read => walk.push((child_path, child_key, child)),
                Known::AddedIn(version) => out.push(ctx.finding(
                    super::rules::Code::OL302,
                    &child_path,
                    format!("{child_path} was added in chart {version}; chart {chart} ignores it"),
                )),
                Known::Unknown => {}
            }
        }
    }
    out
}

/// A path of map keys as a dotted key; none through a list item.
fn dotted(path: &Path) -> Option<String> {
    let keys: Option<Vec<&str>> = path
        .0
        .iter()
        .map(|s| match s {
            crate::paths::Seg::Key(k) => Some(k.as_str()),
            _ => None,
        })
        .collect();
    keys.map(|k| k.join("."))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn surface() -> Surface {
        let text = r#"{
            "releases": ["1.0.0", "1.2.0", "1.4.0", "2.0.0"],
            "keys": {"a": "++++", "a.old": "++--", "a.new": "--++", "a.labels": "++++", "b": "---+"},
            "defaults": {"a.tag": ["edge", "1.2.0", null, "2.0.0"]}
        }"#;
        Surface::parse("t/surface.json", text).unwrap()
    }

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    #[test]
    fn between_two_known_releases_both_are_read() {
        let s = surface();
        assert_eq!(s.window(&v("1.2.0")), vec![1]);
        assert_eq!(s.window(&v("1.3.0")), vec![1, 2]);
        assert_eq!(s.window(&v("0.9.0")), Vec::<usize>::new());
        assert_eq!(s.window(&v("1.9.0")), vec![2]);
        assert!(
            s.reads(&s.window(&v("1.3.0")), "a.old") && s.reads(&s.window(&v("1.3.0")), "a.new")
        );
        assert_eq!(s.known(&[1], "a.new"), Known::AddedIn(v("1.4.0")));
        assert_eq!(s.known(&[1], "b"), Known::AddedIn(v("2.0.0")));
        assert_eq!(s.known(&[2], "a.old"), Known::Unknown);
        assert_eq!(s.known(&[1], "zzz"), Known::Unknown);
    }

    #[test]
    fn defaults_that_follow_the_chart_version_are_left_to_the_rules() {
        let s = surface();
        assert_eq!(s.defaults_at(&[0], "a.tag"), vec!["edge"]);
        assert_eq!(s.defaults_at(&[0, 1], "a.tag"), vec!["edge"]);
        assert!(s.defaults_at(&[1, 2], "a.tag").is_empty());
    }

    #[test]
    fn deltas_list_a_moved_map_once() {
        let s = surface();
        assert_eq!(s.delta(2), (vec!["a.new"], vec!["a.old"]));
        assert_eq!(s.delta(3), (vec!["b"], vec![]));
    }

    #[test]
    fn marks_must_cover_every_release() {
        let bad = r#"{"releases": ["1.0.0"], "keys": {"a": "++"}}"#;
        let e = Surface::parse("t/surface.json", bad).unwrap_err();
        assert!(e.to_string().contains("key a has marks"), "{e}");
    }
}
