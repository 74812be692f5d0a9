//! The order of keys and named items in the old side of a diff: the new side's, so that the canonical texts of
//! the two sides line up and a line-by-line diff shows only real changes.

use super::path::{item_names, pair_items};
use serde_json::{Map, Value as Json};
use std::collections::{HashMap, HashSet};

/// Re-orders the keys of every mapping in `value` to follow the mapping at the same place in `guide`.
pub fn order_like(value: &mut Json, guide: &Json) {
    match (value, guide) {
        (Json::Object(map), Json::Object(guide)) => {
            if !map.keys().eq(guide.keys()) {
                *map = reordered(std::mem::take(map), guide);
            }
            for (key, child) in map.iter_mut() {
                if let Some(g) = guide.get(key) {
                    order_like(child, g);
                }
            }
        }
        (Json::Array(items), Json::Array(guide)) => {
            let named = item_names(items).zip(item_names(guide));
            let order = named.map(|(own, guide)| follow(&own, &guide));
            if let Some(order) = order.filter(|o| !o.iter().copied().eq(0..o.len())) {
                let mut taken: Vec<Option<Json>> =
                    std::mem::take(items).into_iter().map(Some).collect();
                *items = order.iter().filter_map(|&i| taken[i].take()).collect();
            }
            for (i, j, _) in pair_items(items, guide) {
                if let (Some(i), Some(j)) = (i, j) {
                    order_like(&mut items[i], &guide[j]);
                }
            }
        }
        _ => {}
    }
}

fn reordered(map: Map<String, Json>, guide: &Map<String, Json>) -> Map<String, Json> {
    let own: Vec<&str> = map.keys().map(String::as_str).collect();
    let guide: Vec<&str> = guide.keys().map(String::as_str).collect();
    let order = follow(&own, &guide);
    let mut entries: Vec<Option<(String, Json)>> = map.into_iter().map(Some).collect();
    order.iter().filter_map(|&i| entries[i].take()).collect()
}

/// The positions of `own`'s names in the order of `guide`; names `guide` lacks stay after the name they
/// followed (at the front when first).
fn follow(own: &[&str], guide: &[&str]) -> Vec<usize> {
    let at: HashMap<&str, usize> = own.iter().enumerate().map(|(i, n)| (*n, i)).collect();
    let mut order: Vec<usize> = guide.iter().filter_map(|n| at.get(n).copied()).collect();
    let in_guide: HashSet<&str> = guide.iter().copied().collect();
    for (i, name) in own.iter().enumerate() {
        if in_guide.contains(name) {
            continue;
        }
        let place = match i {
            0 => 0,
            _ => order
                .iter()
                .position(|&k| k == i - 1)
                .map_or(order.len(), |p| p + 1),
        };
        order.insert(place, i);
    }
    order
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::yaml::write::render;
    use serde_json::json;

    #[test]
    fn old_keys_follow_the_new_order() {
        let mut old = json!({"b": 1, "gone": 2, "a": {"q": 1, "p": 2}});
        let new = json!({"a": {"p": 2, "q": 1}, "b": 1});
        order_like(&mut old, &new);
        assert_eq!(render(&old), "a:\n  p: 2\n  q: 1\nb: 1\ngone: 2\n");
        // Items of a named list follow the new order too.
        let mut old =
            json!({"c": [{"name": "b", "x": {"q": 1, "p": 2}}, {"name": "gone"}, {"name": "a"}]});
        let new =
            json!({"c": [{"name": "a"}, {"name": "new"}, {"name": "b", "x": {"p": 2, "q": 1}}]});
        order_like(&mut old, &new);
        assert_eq!(
            old,
            json!({"c": [{"name": "a"}, {"name": "b", "x": {"p": 2, "q": 1}}, {"name": "gone"}]})
        );
        assert_eq!(
            serde_json::to_string(&old["c"][1]["x"]).unwrap(),
            r#"{"p":2,"q":1}"#
        );
        // A key YAML 1.1 reads as a boolean is quoted too.
        assert_eq!(render(&json!({"y": 1})), "\"y\": 1\n");
    }
}
