//! The lint rules the values surface (src/surface/) drives. The major's schema stays the base; the surface refines
//! it for one release:
//! - a key of the target release is never unknown (OL002 gives way);
//! - a key that only a later release reads is OL302, naming the first known release that has it;
//! - a value equal to the chart's own default at the target release is no pinned-component override (OL404).

use super::rules::{Context, Finding};
use crate::paths::Path;
use crate::surface::{Known, Surface};
use serde_json::Value as Json;

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
    let Json::Object(top) = &ctx.values.json else {
        return Vec::new();
    };
    let mut walk = Walk {
        ctx,
        surface,
        window,
        names: Vec::new(),
        key: String::new(),
        out: Vec::new(),
    };
    walk.map(top);
    walk.out
}

/// The walk of OL302 down the maps the target release reads: the names above and their dotted key are kept in
/// one list and one string, so that a key costs no allocation unless it is reported.
struct Walk<'a> {
    ctx: &'a Context<'a>,
    surface: &'a Surface,
    window: Vec<usize>,
    names: Vec<&'a str>,
    key: String,
    out: Vec<Finding>,
}

impl<'a> Walk<'a> {
    /// The keys of the map at `self.key` (the top level when empty). Recursion is as deep as the surface's keys.
    fn map(&mut self, map: &'a serde_json::Map<String, Json>) {
        for (name, child) in map {
            let above = self.key.len();
            if above > 0 {
                self.key.push('.');
            }
            self.key.push_str(name);
            match self.surface.known(&self.window, &self.key) {
                // Below a map whose keys the target release does not list (an empty map, or a map whose keys
                // are the user's: the data lists no keys below those), any key may be the user's.
                Known::Read => match child {
                    Json::Object(inner) if self.surface.has_children(&self.window, &self.key) => {
                        self.names.push(name);
                        self.map(inner);
                        self.names.pop();
                    }
                    _ => {}
                },
                Known::AddedIn(version) => self.report(name, &version),
                Known::Unknown => {}
            }
            self.key.truncate(above);
        }
    }

    fn report(&mut self, name: &str, version: &semver::Version) {
        let path = Path(
            self.names
                .iter()
                .chain([&name])
                .map(|n| crate::paths::Seg::Key(n.to_string()))
                .collect(),
        );
        let chart = self
            .ctx
            .chart
            .as_ref()
            .expect("target() needs a chart version");
        self.out.push(self.ctx.finding(
            super::rules::Code::OL302,
            &path,
            format!("{path} was added in chart {version}; chart {chart} ignores it"),
        ));
    }
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
