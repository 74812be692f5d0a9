//! Turning two manifest streams into the resources that need comparing.
//!
//! Documents are first cut apart as text (a `---` line at column 0 always starts a YAML document, even inside a
//! scalar), and a document whose bytes appear unchanged on the other side is set aside without parsing: a render
//! of a chart upgrade is mostly such documents. Only the rest is parsed and named.

use crate::source::Source;
use crate::yaml::{self, Node, Value};
use anyhow::{bail, Result};
use std::collections::HashMap;

/// What matches a resource across the two sides: API group (not version), kind, namespace and name.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    pub group: String,
    pub kind: String,
    pub namespace: String,
    pub name: String,
}

/// One Kubernetes object of a manifest.
#[derive(Debug, Clone)]
pub struct Resource {
    pub key: Key,
    pub api_version: String,
    /// Line of the file where the object starts.
    pub line: usize,
    pub body: serde_json::Value,
}

impl Resource {
    /// How the resource is named to people: `Kind namespace/name` (no namespace part when it has none).
    pub fn title(&self) -> String {
        let k = &self.key;
        if k.namespace.is_empty() {
            format!("{} {}", k.kind, k.name)
        } else {
            format!("{} {}/{}", k.kind, k.namespace, k.name)
        }
    }
}

/// The two sides, reduced to the resources whose text differs, plus how many documents were identical.
#[derive(Debug)]
pub struct Pair {
    pub old: Vec<Resource>,
    pub new: Vec<Resource>,
    pub identical: usize,
}

/// Reads both manifests, setting aside documents whose text is the same on both sides.
pub fn load(old: &Source, new: &Source) -> Result<Pair> {
    let old_docs = documents(&old.text);
    let new_docs = documents(&new.text);
    let mut unmatched: HashMap<&str, Vec<usize>> = HashMap::new();
    for (i, doc) in old_docs.iter().enumerate().rev() {
        unmatched.entry(doc.text).or_default().push(i);
    }
    let mut old_same = vec![false; old_docs.len()];
    let mut new_same = vec![false; new_docs.len()];
    let mut identical = 0;
    for (j, doc) in new_docs.iter().enumerate() {
        if let Some(i) = unmatched.get_mut(doc.text).and_then(Vec::pop) {
            old_same[i] = true;
            new_same[j] = true;
            identical += usize::from(doc.has_content());
        }
    }
    // The two sides parse at the same time, one on another thread.
    let (old_resources, new_resources) = std::thread::scope(|scope| {
        let other = scope.spawn(|| resources(old, &old_docs, &old_same));
        let new_resources = resources(new, &new_docs, &new_same);
        (other.join(), new_resources)
    });
    let old_resources = old_resources.unwrap_or_else(|panic| std::panic::resume_unwind(panic))?;
    Ok(Pair {
        old: old_resources,
        new: new_resources?,
        identical,
    })
}

/// One document's text and the line it starts on.
struct Doc<'a> {
    text: &'a str,
    line: usize,
}

impl Doc<'_> {
    /// False for documents made only of markers, comments and blank lines (Helm leaves those for empty templates).
    fn has_content(&self) -> bool {
        self.text.lines().any(|l| {
            let t = l.trim();
            !(t.is_empty() || t.starts_with('#') || is_marker(l) || t == "...")
        })
    }
}

fn is_marker(line: &str) -> bool {
    line.strip_prefix("---")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with([' ', '\t', '\r', '\n']))
}

/// Cuts a stream into documents at `---` lines; each piece keeps its marker line.
fn documents(text: &str) -> Vec<Doc<'_>> {
    let mut docs = Vec::new();
    let (mut start, mut start_line, mut line) = (0, 1, 1);
    let mut at = 0;
    for piece in text.split_inclusive('\n') {
        if is_marker(piece) && at > start {
            docs.push(Doc {
                text: &text[start..at],
                line: start_line,
            });
            start = at;
            start_line = line;
        }
        at += piece.len();
        line += 1;
    }
    if at > start {
        docs.push(Doc {
            text: &text[start..],
            line: start_line,
        });
    }
    docs
}

/// Parses the documents not set aside and names their objects. When a piece does not parse on its own, the
/// whole stream is parsed instead, so an error is reported exactly as the YAML reader sees the file.
fn resources(source: &Source, docs: &[Doc], skip: &[bool]) -> Result<Vec<Resource>> {
    let mut nodes = Vec::new();
    for (doc, _) in docs.iter().zip(skip).filter(|(_, s)| !**s) {
        match yaml::parse(doc.text) {
            Ok(parsed) => nodes.extend(parsed.into_iter().map(|n| (n, doc.line - 1))),
            Err(_) => {
                let whole = source.yaml()?;
                return name_all(source, whole.into_iter().map(|n| (n, 0)).collect());
            }
        }
    }
    name_all(source, nodes)
}

fn name_all(source: &Source, nodes: Vec<(Node, usize)>) -> Result<Vec<Resource>> {
    let mut out: Vec<Resource> = Vec::new();
    let mut seen: HashMap<Key, usize> = HashMap::new();
    for (node, offset) in nodes {
        for resource in objects(source, &node, offset)? {
            if let Some(first) = seen.insert(resource.key.clone(), resource.line) {
                bail!(
                    "{}:{}: {} appears twice (first on line {first}); each object may appear once",
                    source.name,
                    resource.line,
                    resource.title()
                );
            }
            out.push(resource);
        }
    }
    Ok(out)
}

/// The objects of one document: none for an empty document, the items of a `List`, or the document itself.
fn objects(source: &Source, node: &Node, offset: usize) -> Result<Vec<Resource>> {
    if node.value == Value::Null {
        return Ok(Vec::new());
    }
    let kind = text_field(node, "kind");
    if kind.is_some_and(|k| k == "List" || k.ends_with("List")) {
        if let Some(Value::Seq(items)) = node.get("items").map(|n| &n.value) {
            let mut out = Vec::new();
            for item in items {
                out.push(object(source, item, offset)?);
            }
            return Ok(out);
        }
    }
    Ok(vec![object(source, node, offset)?])
}

fn object(source: &Source, node: &Node, offset: usize) -> Result<Resource> {
    let line = node.span.start.line + offset;
    let col = node.span.start.col;
    let place = format!("{}:{line}:{col}", source.name);
    if !matches!(node.value, Value::Map(_)) {
        bail!("{place}: this document is not a Kubernetes object (a mapping with apiVersion, kind and metadata.name)");
    }
    let field = |name: &str| {
        text_field(node, name).ok_or_else(|| {
            anyhow::anyhow!("{place}: this object has no {name}; every Kubernetes object needs one")
        })
    };
    let api_version = field("apiVersion")?.to_string();
    let kind = field("kind")?.to_string();
    let meta = node.get("metadata");
    let name = meta
        .and_then(|m| text_field(m, "name"))
        .map(str::to_string)
        .or_else(|| {
            meta.and_then(|m| text_field(m, "generateName"))
                .map(|g| format!("{g}*"))
        })
        .ok_or_else(|| anyhow::anyhow!("{place}: this {kind} has no metadata.name"))?;
    let namespace = meta
        .and_then(|m| text_field(m, "namespace"))
        .unwrap_or_default()
        .to_string();
    let group = api_version
        .rsplit_once('/')
        .map_or("", |(g, _)| g)
        .to_string();
    Ok(Resource {
        key: Key {
            group,
            kind,
            namespace,
            name,
        },
        api_version,
        line,
        body: node.to_json(),
    })
}

fn text_field<'a>(node: &'a Node, key: &str) -> Option<&'a str> {
    node.get(key).and_then(Node::as_str)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(name: &str, text: &str) -> Source {
        Source::new(name, text)
    }

    #[test]
    fn cuts_documents_at_markers_only() {
        let docs = documents("a: 1\n---\nb: |\n  ---x\n--- # c\nc: 3\n---\n");
        let texts: Vec<_> = docs.iter().map(|d| d.text).collect();
        assert_eq!(
            texts,
            ["a: 1\n", "---\nb: |\n  ---x\n", "--- # c\nc: 3\n", "---\n"]
        );
        assert_eq!(
            docs.iter().map(|d| d.line).collect::<Vec<_>>(),
            [1, 2, 5, 7]
        );
        assert!(!docs[3].has_content());
    }

    #[test]
    fn sets_aside_identical_documents_and_names_the_rest() {
        let same = "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: same\n";
        let old = src("old", &format!("{same}---\napiVersion: apps/v1beta1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: prod\n"));
        let new = src("new", &format!("{same}---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {{name: web, namespace: prod}}\n"));
        let pair = load(&old, &new).unwrap();
        assert_eq!(pair.identical, 1);
        assert_eq!((pair.old.len(), pair.new.len()), (1, 1));
        assert_eq!(
            pair.old[0].key, pair.new[0].key,
            "the group matches, not the version"
        );
        assert_eq!(pair.new[0].title(), "Deployment prod/web");
        assert_eq!(pair.new[0].line, 7);
    }

    #[test]
    fn locates_malformed_and_incomplete_documents() {
        let ok = src("ok", "");
        let bad = src(
            "bad.yaml",
            "---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: [x\n",
        );
        let e = load(&ok, &bad).unwrap_err().to_string();
        assert!(e.starts_with("bad.yaml:"), "{e}");
        let nameless = src("n.yaml", "---\napiVersion: v1\nkind: ConfigMap\n");
        let e = load(&ok, &nameless).unwrap_err().to_string();
        assert_eq!(e, "n.yaml:2:1: this ConfigMap has no metadata.name");
        let twice = src("t.yaml", "kind: A\napiVersion: v1\nmetadata: {name: x}\n---\nkind: A\napiVersion: v2\nmetadata: {name: x}\n");
        let e = load(&ok, &twice).unwrap_err().to_string();
        assert!(
            e.starts_with("t.yaml:5: A x appears twice (first on line 1)"),
            "{e}"
        );
    }
}
