//! Paths into values: concrete paths (`agent.config.host`, `items[0].name`) and the patterns product data
//! writes (`*.image` for any key, `containers[].image` for any list item).

use serde_json::Value as Json;
use std::fmt;

/// One step of a concrete path.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Seg {
    Key(String),
    Index(usize),
}

/// A concrete path into a values tree.
#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Path(pub Vec<Seg>);

impl Path {
    pub fn root() -> Path {
        Path(Vec::new())
    }

    pub fn child(&self, seg: Seg) -> Path {
        let mut segs = self.0.clone();
        segs.push(seg);
        Path(segs)
    }

    pub fn key(&self, key: &str) -> Path {
        self.child(Seg::Key(key.to_string()))
    }

    pub fn parent(&self) -> Option<Path> {
        let (_, rest) = self.0.split_last()?;
        Some(Path(rest.to_vec()))
    }

    /// True when `self` is `other` or lies below it.
    pub fn starts_with(&self, other: &Path) -> bool {
        self.0.starts_with(&other.0)
    }

    /// The RFC 6901 JSON pointer (`/a/b~1c/0`).
    pub fn pointer(&self) -> String {
        let mut out = String::new();
        for seg in &self.0 {
            out.push('/');
            match seg {
                Seg::Key(k) => {
                    for c in k.chars() {
                        match c {
                            '~' => out.push_str("~0"),
                            '/' => out.push_str("~1"),
                            c => out.push(c),
                        }
                    }
                }
                Seg::Index(i) => out.push_str(&i.to_string()),
            }
        }
        out
    }

    /// The path from a JSON pointer, reading numeric steps as indexes where the values hold a list.
    pub fn from_pointer(pointer: &str, values: &Json) -> Path {
        let mut segs = Vec::new();
        let mut at = Some(values);
        for raw in pointer.split('/').skip(1) {
            let key = raw.replace("~1", "/").replace("~0", "~");
            let seg = match (at, key.parse::<usize>()) {
                (Some(Json::Array(_)), Ok(i)) => Seg::Index(i),
                _ => Seg::Key(key),
            };
            at = at.and_then(|v| step(v, &seg));
            segs.push(seg);
        }
        Path(segs)
    }

    /// The value at this path.
    pub fn lookup<'a>(&self, values: &'a Json) -> Option<&'a Json> {
        self.0.iter().try_fold(values, step)
    }

    /// The last key of the path, if it ends in a key.
    pub fn last_key(&self) -> Option<&str> {
        match self.0.last() {
            Some(Seg::Key(k)) => Some(k),
            _ => None,
        }
    }
}

fn step<'a>(value: &'a Json, seg: &Seg) -> Option<&'a Json> {
    match (value, seg) {
        (Json::Object(map), Seg::Key(k)) => map.get(k),
        (Json::Array(items), Seg::Index(i)) => items.get(*i),
        _ => None,
    }
}

impl fmt::Display for Path {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use crate::printable::shown;
        if self.0.is_empty() {
            return f.write_str("(top level)");
        }
        for (i, seg) in self.0.iter().enumerate() {
            match seg {
                Seg::Key(k) if i == 0 => write!(f, "{}", shown(k))?,
                Seg::Key(k) => write!(f, ".{}", shown(k))?,
                Seg::Index(n) => write!(f, "[{n}]")?,
            }
        }
        Ok(())
    }
}

/// One step of a pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Step<'p> {
    Key(&'p str),
    AnyKey,
    AnyIndex,
}

fn pattern_steps(pattern: &str) -> impl Iterator<Item = Step<'_>> {
    pattern.split('.').flat_map(|part| {
        let (name, items) = match part.find("[]") {
            Some(at) => (&part[..at], part[at..].matches("[]").count()),
            None => (part, 0),
        };
        let first = match name {
            "" => None,
            "*" => Some(Step::AnyKey),
            _ => Some(Step::Key(name)),
        };
        first
            .into_iter()
            .chain(std::iter::repeat_n(Step::AnyIndex, items))
    })
}

/// Every concrete path present in `values` that matches `pattern`.
pub fn find(values: &Json, pattern: &str) -> Vec<Path> {
    let steps: Vec<Step> = pattern_steps(pattern).collect();
    let mut found = Vec::new();
    walk(values, &steps, &mut Vec::new(), &mut found);
    found
}

/// One step of the path a walk is at, borrowed from the values.
#[derive(Clone, Copy)]
enum At<'v> {
    Key(&'v str),
    Index(usize),
}

/// Matches `steps` below `value`, at `here`; a path is only built for a match.
fn walk<'v>(value: &'v Json, steps: &[Step], here: &mut Vec<At<'v>>, found: &mut Vec<Path>) {
    let Some((first, rest)) = steps.split_first() else {
        let segs = here.iter().map(|at| match *at {
            At::Key(k) => Seg::Key(k.to_string()),
            At::Index(i) => Seg::Index(i),
        });
        found.push(Path(segs.collect()));
        return;
    };
    let mut visit = |at: At<'v>, v: &'v Json| {
        here.push(at);
        walk(v, rest, here, found);
        here.pop();
    };
    match (first, value) {
        (Step::Key(k), Json::Object(map)) => {
            if let Some((k, v)) = map.get_key_value(*k) {
                visit(At::Key(k), v);
            }
        }
        (Step::AnyKey, Json::Object(map)) => {
            for (k, v) in map {
                visit(At::Key(k), v);
            }
        }
        (Step::AnyIndex, Json::Array(items)) => {
            for (i, v) in items.iter().enumerate() {
                visit(At::Index(i), v);
            }
        }
        _ => {}
    }
}

/// `to` with its wildcards filled from the concrete path that matched `from` (same order of wildcards).
pub fn substitute(from: &str, to: &str, matched: &Path) -> String {
    let captures: Vec<String> = pattern_steps(from)
        .zip(&matched.0)
        .filter_map(|(step, seg)| match (step, seg) {
            (Step::AnyKey, Seg::Key(k)) => Some(k.clone()),
            (Step::AnyIndex, Seg::Index(i)) => Some(format!("[{i}]")),
            _ => None,
        })
        .collect();
    let mut captures = captures.into_iter();
    let mut out = String::new();
    for (i, part) in to.split('.').enumerate() {
        if i > 0 {
            out.push('.');
        }
        let name = part.trim_end_matches("[]");
        if name == "*" {
            out.push_str(&captures.next().unwrap_or_else(|| "*".into()));
        } else {
            out.push_str(name);
        }
        for _ in 0..part[name.len()..].matches("[]").count() {
            out.push_str(&captures.next().unwrap_or_else(|| "[]".into()));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn patterns_match_keys_wildcards_and_list_items() {
        let v = json!({"a": {"image": {"name": "x"}}, "b": {"image": "y"}, "c": [{"image": 1}, {"k": 2}]});
        let shown: Vec<String> = find(&v, "*.image")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(shown, ["a.image", "b.image"]);
        let shown: Vec<String> = find(&v, "c[].image")
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(shown, ["c[0].image"]);
        assert!(find(&v, "a.image.tag").is_empty());
        let matched = &find(&v, "*.image.name")[0];
        assert_eq!(
            substitute("*.image.name", "*.image.repository", matched),
            "a.image.repository"
        );
    }

    #[test]
    fn odd_keys_are_shown_quoted() {
        let path = Path::root().key("a").key("").key("b\u{1b}[2J").key(" c");
        assert_eq!(path.to_string(), r#"a.""."b\u001b[2J"." c""#);
    }

    #[test]
    fn pointers_round_trip() {
        let v = json!({"a/b": [{"~": 1}]});
        let p = Path::root().key("a/b").child(Seg::Index(0)).key("~");
        assert_eq!(p.pointer(), "/a~1b/0/~0");
        assert_eq!(Path::from_pointer(&p.pointer(), &v), p);
        assert_eq!(p.lookup(&v), Some(&json!(1)));
        assert_eq!(p.to_string(), "a/b[0].~");
    }
}
