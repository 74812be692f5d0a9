//! The values surface of each known chart release (`schema/<product>/surface.json`, derived from the vendor's
//! files by scripts/derive-surface.py; docs/versions.md): which keys each release reads and the defaults of its
//! pinned-component paths. Product data, read by lint (src/lint/surface.rs) and by `versions --keys`.
//!
//! Between two known releases the target is assumed to read the keys of both: the corpus dates each change only
//! to an interval, and a false error on a key the release really reads costs more than a missed one.

pub mod table;

use anyhow::{Context as _, Result};
use semver::Version;
use table::Parts;

/// One product's surface as data: a surface.json read by build.rs and embedded in the program
/// (`src/surface/table.rs` reads it, and checks it), so a run parses nothing but the release versions.
#[derive(Debug)]
pub struct Table {
    /// The known releases, oldest first.
    pub releases: &'static [&'static str],
    /// Every key path followed by its marks, one per release: `+` set in the defaults, `o` optional (commented
    /// out or only documented), `-` absent. Sorted by key, each key once, all in one text: a table of string
    /// slices would cost the loader a relocation per slice on every run (docs/performance.md).
    pub keys: &'static str,
    /// Where each key's entry (key and marks) ends in `keys`.
    pub ends: &'static [u32],
    /// The defaults of the pinned-component paths at each release (None: absent), sorted by key.
    pub defaults: &'static [(&'static str, &'static [Option<&'static str>])],
}

/// One product's surface data.
#[derive(Debug)]
pub struct Surface {
    /// The known releases, oldest first.
    pub releases: Vec<Version>,
    keys: &'static str,
    ends: &'static [u32],
    defaults: &'static [(&'static str, &'static [Option<&'static str>])],
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
    /// A surface embedded at build time (already checked there).
    pub fn from_table(name: &str, table: &'static Table) -> Result<Surface> {
        let releases = table
            .releases
            .iter()
            .map(|r| Version::parse(r))
            .collect::<Result<_, _>>()
            .with_context(|| format!("schema/{name} does not follow the surface format"))?;
        Ok(Surface {
            releases,
            keys: table.keys,
            ends: table.ends,
            defaults: table.defaults,
        })
    }

    /// A surface read from a data folder's text at run time. Its data is kept until the program ends, as the
    /// embedded data is.
    pub fn parse(name: &str, text: &str) -> Result<Surface> {
        let parts = table::parts(text).map_err(|e| {
            anyhow::anyhow!("{e}")
                .context(format!("schema/{name} does not follow the surface format"))
        })?;
        table::check_marks(&parts).map_err(|e| anyhow::anyhow!("schema/{name}: {e}"))?;
        Surface::from_table(name, leak(parts))
    }

    /// Every key of the surface, in order.
    pub fn key_names(&self) -> impl Iterator<Item = &'static str> + '_ {
        self.entries().map(|(k, _)| k)
    }

    /// Entry `i`: a key and its marks.
    fn entry(&self, i: usize) -> (&'static str, &'static [u8]) {
        let start = i.checked_sub(1).map_or(0, |p| self.ends[p] as usize);
        let entry = &self.keys[start..self.ends[i] as usize];
        let (key, marks) = entry.split_at(entry.len() - self.releases.len());
        (key, marks.as_bytes())
    }

    /// Every key and its marks, in order.
    fn entries(&self) -> impl Iterator<Item = (&'static str, &'static [u8])> + '_ {
        (0..self.ends.len()).map(|i| self.entry(i))
    }

    /// The index of the key `order` finds equal, or where it would be (`order` compares a key with the one
    /// sought).
    fn position(&self, order: impl Fn(&str) -> std::cmp::Ordering) -> Result<usize, usize> {
        let (mut low, mut high) = (0, self.ends.len());
        while low < high {
            let middle = low + (high - low) / 2;
            match order(self.entry(middle).0) {
                std::cmp::Ordering::Less => low = middle + 1,
                std::cmp::Ordering::Equal => return Ok(middle),
                std::cmp::Ordering::Greater => high = middle,
            }
        }
        Err(low)
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

    fn marks(&self, key: &str) -> Option<&'static [u8]> {
        self.position(|k| k.cmp(key)).ok().map(|i| self.entry(i).1)
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
    pub fn has_children(&self, window: &[usize], key: &str) -> bool {
        let prefix = || key.bytes().chain(*b".");
        let from = self
            .position(|k| k.bytes().cmp(prefix()))
            .unwrap_or_else(|at| at);
        (from..self.ends.len())
            .map(|i| self.entry(i))
            .take_while(|(k, _)| {
                k.len() > key.len() && k.bytes().zip(prefix()).all(|(a, b)| a == b)
            })
            .any(|(_, marks)| window.iter().any(|&i| marks[i] != b'-'))
    }

    /// The defaults of `key` at the window's releases, leaving out a default that is its own release's version
    /// (such a default follows the chart version, which the rules accept anyway).
    pub fn defaults_at(&self, window: &[usize], key: &str) -> Vec<&str> {
        let Ok(at) = self.defaults.binary_search_by(|(k, _)| (*k).cmp(key)) else {
            return Vec::new();
        };
        let column = self.defaults[at].1;
        window
            .iter()
            .filter_map(|&i| column.get(i).copied().flatten().map(|d| (i, d)))
            .filter(|(i, d)| d.trim_start_matches('v') != self.releases[*i].to_string())
            .map(|(_, d)| d)
            .collect()
    }

    /// The keys release `index` adds and removes against the known release before it.
    pub fn delta(&self, index: usize) -> (Vec<&str>, Vec<&str>) {
        let reads = |m: &[u8], i: usize| m[i] != b'-';
        let (mut added, mut removed) = (Vec::new(), Vec::new());
        for (key, marks) in self.entries() {
            let now = reads(marks, index);
            let before = index > 0 && reads(marks, index - 1);
            // A key under a map that appears or leaves with it is not listed on its own.
            let parent = key.rsplit_once('.').map(|(p, _)| p);
            let parent_moves = parent.is_some_and(|p| {
                self.marks(p)
                    .is_some_and(|m| reads(m, index) != (index > 0 && reads(m, index - 1)))
            });
            match (before, now) {
                (false, true) if !parent_moves => added.push(key),
                (true, false) if !parent_moves => removed.push(key),
                _ => {}
            }
        }
        (added, removed)
    }
}

/// Owned parts as a table that lives until the program ends.
fn leak(parts: Parts) -> &'static Table {
    let text = |s: String| -> &'static str { Box::leak(s.into_boxed_str()) };
    let releases = parts.releases.into_iter().map(text).collect::<Vec<_>>();
    let (keys, ends) = table::joined(&parts.keys);
    let defaults = parts
        .defaults
        .into_iter()
        .map(|(k, column)| {
            let column: Vec<Option<&'static str>> =
                column.into_iter().map(|d| d.map(text)).collect();
            (text(k), &*Box::leak(column.into_boxed_slice()))
        })
        .collect::<Vec<_>>();
    Box::leak(Box::new(Table {
        releases: Box::leak(releases.into_boxed_slice()),
        keys: text(keys),
        ends: Box::leak(ends.into_boxed_slice()),
        defaults: Box::leak(defaults.into_boxed_slice()),
    }))
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
