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
