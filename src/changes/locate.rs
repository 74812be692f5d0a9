//! Where a line of canonical text sits: its path in the object, read back from the text's indentation (the
//! canonical writer's own layout), and the line of the input file it came from, found through the parsed node.
//! Hunk headers use both: `@@ -1106,7 +1106,7 @@ spec.versions[name=v1alpha1].schema` points into the files.

use super::path::Step;
use crate::yaml::{Node, Value};

/// One step of a line's path and the canonical line that opened it.
pub type Located = Vec<(Step, usize)>;

/// The path of each wanted line of a canonical text (the steps of the lines above it that enclose it, then
/// its own key or item). A list item with a `name:` entry is named `[name=x]`, others go by position.
pub fn paths(text: &str, wanted: &[usize]) -> Vec<Located> {
    let mut order: Vec<usize> = (0..wanted.len()).collect();
    order.sort_by_key(|&i| wanted[i]);
    let mut out = vec![Vec::new(); wanted.len()];
    let mut next = order.into_iter().peekable();
    let mut names = std::collections::HashMap::new();
    let mut stack = Vec::new();
    for (i, line) in text.split('\n').enumerate() {
        if let Some((item, name)) = enter(&mut stack, line, i) {
            names.insert(item, name);
        }
        while let Some(&w) = next.peek().filter(|&&w| wanted[w] == i) {
            out[w] = stack.iter().map(|(_, s, l, _)| (s.clone(), *l)).collect();
            next.next();
        }
    }
    // An item's `name:` entry may come after the item's first line: items are named once all are read.
    for (step, line) in out.iter_mut().flatten() {
        if let (Step::Index(_), Some(name)) = (&step, names.get(line)) {
            *step = Step::Name(name.clone());
        }
    }
    out
}

/// (indent, step, line, item count when the step is a list item)
type Open = (usize, Step, usize, usize);

/// Updates the stack of enclosing steps with one line (items by position; `paths` names them). Returns the
/// item line and name when this line is an item's `name:` entry.
fn enter(stack: &mut Vec<Open>, line: &str, index: usize) -> Option<(usize, String)> {
    let indent = crate::lines::indent(line);
    let body = &line[indent..];
    if body.is_empty() {
        return None;
    }
    let item = body == "-" || body.starts_with("- ");
    let is_item = |s: &Step| matches!(s, Step::Index(_));
    while stack
        .last()
        .is_some_and(|(at, s, _, _)| *at > indent || (*at == indent && !(item && is_item(s))))
    {
        stack.pop();
    }
    let mut rest = body;
    let mut at = indent;
    if item {
        let count = match stack.last() {
            Some((i, s, _, n)) if *i == indent && is_item(s) => n + 1,
            _ => 0,
        };
        if count > 0 {
            stack.pop();
        }
        rest = body.get(2..).unwrap_or("");
        stack.push((indent, Step::Index(count), index, count));
        at = indent + 2;
    }
    let (key, value) = key_and_value(rest)?;
    let owner = match stack.last() {
        Some((i, s, line, _))
            if *i + 2 == at && is_item(s) && key == "name" && !value.is_empty() =>
        {
            Some((*line, unquote(value)))
        }
        _ => None,
    };
    stack.push((at, Step::Key(unquote(key)), index, 0));
    owner
}

/// The key and the value text of a `key: value` or `key:` line of canonical text.
fn key_and_value(body: &str) -> Option<(&str, &str)> {
    if let Some(quoted) = body.strip_prefix('"') {
        let mut escaped = false;
        for (i, c) in quoted.char_indices() {
            match c {
                _ if escaped => escaped = false,
                '\\' => escaped = true,
                '"' => {
                    let after = &quoted[i + 1..];
                    let value = after.strip_prefix(':')?;
                    return Some((&body[..i + 2], value.trim_start()));
                }
                _ => {}
            }
        }
        return None;
    }
    match body.split_once(": ") {
        Some((key, value)) => Some((key, value)),
        None => body.strip_suffix(':').map(|key| (key, "")),
    }
}

/// A canonical scalar as the text it stands for (double quotes and their escapes removed).
fn unquote(text: &str) -> String {
    let Some(inner) = text.strip_prefix('"').and_then(|t| t.strip_suffix('"')) else {
        return text.to_string();
    };
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        match (c, c == '\\') {
            (_, true) => match chars.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some(other) => out.push(other),
                None => {}
            },
            (c, false) => out.push(c),
        }
    }
    out
}

/// The file line of canonical line `line`, whose path is `path`: the line of the deepest node the path
/// reaches in `node` (a key's own line, an item's first line), plus how far below that node's canonical line
/// it sits (lines of embedded config text follow their key). `offset` is the lines before the node's document.
pub fn file_line(node: &Node, offset: usize, path: &Located, line: usize) -> usize {
    let mut here = node;
    let mut found = (node.span.start.line, 0);
    for (depth, (step, opened)) in path.iter().enumerate() {
        let mut next = child(here, step);
        if next.is_none() && folded(path, depth) {
            // A Secret's `stringData` is compared folded into `data`: its entries are found where written.
            let written = node.get("stringData");
            next = match (depth, written) {
                (0, Some(n)) => Some((key_line(node, "stringData").unwrap_or(found.0), n)),
                (_, Some(n)) => child(n, step),
                _ => None,
            };
        }
        let Some((at, value)) = next else { break };
        found = (at, *opened);
        here = value;
    }
    offset + found.0 + line.saturating_sub(found.1)
}

/// True at the `data` step of a path, or the step right under it, where a Secret's folded `stringData` may be.
fn folded(path: &Located, depth: usize) -> bool {
    matches!(path.first(), Some((Step::Key(k), _)) if k == "data") && depth <= 1
}

fn key_line(node: &Node, key: &str) -> Option<usize> {
    match &node.value {
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(k, _)| k.span.start.line),
        _ => None,
    }
}

/// The line where a step's child is written and the child itself.
fn child<'a>(here: &'a Node, step: &Step) -> Option<(usize, &'a Node)> {
    match (&here.value, step) {
        (Value::Map(entries), Step::Key(k)) => entries
            .iter()
            .find(|(key, _)| match &key.value {
                Value::Str(text) => text == k,
                _ => key.key_text().as_deref() == Some(k.as_str()),
            })
            .map(|(key, value)| (key.span.start.line, value)),
        (Value::Seq(items), Step::Index(i)) => items.get(*i).map(|n| (n.span.start.line, n)),
        (Value::Seq(items), Step::Name(name)) => items
            .iter()
            .find(|n| n.get("name").and_then(Node::as_str) == Some(name.as_str()))
            .map(|n| (n.span.start.line, n)),
        _ => None,
    }
}

/// What a hunk header names after its `@@`: the steps enclosing `line` (those opened above it).
pub fn enclosing(path: &Located, line: usize) -> Vec<Step> {
    path.iter()
        .filter(|(_, opened)| *opened < line)
        .map(|(s, _)| s.clone())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::super::path::show;
    use super::*;

    const CANON: &str = "metadata:\n  name: x\nspec:\n  containers:\n    - name: a\n      image: one\n    - image: two\n      ports:\n        - 80\n  \"y\": 1\ndata:\n  config.yaml: |\n    host:\n      port: 1\n";

    #[test]
    fn reads_paths_back_from_canonical_text() {
        let found = paths(CANON, &[5, 6, 8, 9, 13, 0]);
        let shown: Vec<String> = found
            .iter()
            .map(|p| show(&p.iter().map(|(s, _)| s.clone()).collect::<Vec<_>>()))
            .collect();
        assert_eq!(
            shown,
            [
                "spec.containers[name=a].image",
                "spec.containers[1].image",
                "spec.containers[1].ports[0]",
                "spec.y",
                r"data.config\.yaml.host.port",
                "metadata",
            ]
        );
        assert_eq!(show(&enclosing(&found[0], 5)), "spec.containers[name=a]");
    }

    #[test]
    fn finds_the_file_line_through_the_node() {
        let source = "spec:\n  containers:\n  - name: a\n    image: one\n  - image: two\n    ports: [80]\n  \"y\": 1\nmetadata: {name: x}\ndata:\n  config.yaml: |\n    host:\n      port: 1\n";
        let node = &crate::yaml::parse(source).unwrap()[0];
        let found = paths(CANON, &[5, 6, 8, 9, 13, 1]);
        let lines: Vec<usize> = (0..found.len())
            .map(|i| file_line(node, 100, &found[i], [5, 6, 8, 9, 13, 1][i]))
            .collect();
        assert_eq!(lines, [104, 105, 106, 107, 112, 108]);
    }
}
