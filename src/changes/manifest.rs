//! Turning two manifest streams into the resources that need comparing.
//!
//! Documents are first cut apart as text (a `---` line at column 0 always starts a YAML document, even inside a
//! scalar), and a document whose bytes appear unchanged on the other side is set aside without parsing: a render
//! of a chart upgrade is mostly such documents. Only the rest is parsed and named.

use super::splice;
use crate::source::Source;
use crate::yaml::{self, Node, Value};
use anyhow::{bail, Result};
use std::collections::HashMap;
use std::ops::Range;

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
    /// The object as parsed, for finding where a line of its canonical text came from.
    pub node: Node,
    /// Lines of the file before the text the node was parsed from (its spans count from there).
    pub offset: usize,
    /// For a big document read in part (`splice`): the file lines of the blocks read; empty when read whole.
    pub blocks: Vec<Range<usize>>,
}

impl Resource {
    /// The namespace and name as people write them: `namespace/name`, or the name alone.
    pub fn title_name(&self) -> String {
        use crate::printable::shown;
        match self.key.namespace.as_str() {
            "" => shown(&self.key.name).into_owned(),
            ns => format!("{}/{}", shown(ns), shown(&self.key.name)),
        }
    }

    /// How the resource is named to people: `Kind namespace/name` (no namespace part when it has none).
    pub fn title(&self) -> String {
        use crate::printable::shown;
        let k = &self.key;
        if k.namespace.is_empty() {
            format!("{} {}", shown(&k.kind), shown(&k.name))
        } else {
            format!(
                "{} {}/{}",
                shown(&k.kind),
                shown(&k.namespace),
                shown(&k.name)
            )
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

/// When to read only the changed blocks of a changed document (`splice`): both sides at least `above` bytes;
/// `context` is the diff's context lines, which the blocks must hold.
#[derive(Debug, Clone, Copy)]
pub struct Cutting {
    pub above: usize,
    pub context: usize,
}

/// When both sides have at least this many bytes of changed documents, they are parsed on two threads. Below it a
/// thread (its stack's and its heap's fresh pages) costs more than it saves: a small render is slower on two
/// threads, a full Catalyst render faster (docs/performance.md).
const PARALLEL_ABOVE: usize = 64 * 1024;

/// Reads both manifests, setting aside documents whose text is the same on both sides, and reading big
/// changed documents in part when `cutting` says so; both whole when a piece does not parse on its own.
pub fn load(old: &Source, new: &Source, cutting: Option<Cutting>) -> Result<Pair> {
    let old_docs = documents(&old.text);
    let new_docs = documents(&new.text);
    // Old documents by length: comparing the few of equal length costs less than hashing every text.
    let mut unmatched: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, doc) in old_docs.iter().enumerate() {
        unmatched.entry(doc.text.len()).or_default().push(i);
    }
    let mut old_same = vec![false; old_docs.len()];
    let mut new_same = vec![false; new_docs.len()];
    let mut identical = 0;
    for (j, doc) in new_docs.iter().enumerate() {
        let Some(candidates) = unmatched.get_mut(&doc.text.len()) else {
            continue;
        };
        if let Some(k) = candidates
            .iter()
            .position(|&i| old_docs[i].text == doc.text)
        {
            let i = candidates.remove(k);
            old_same[i] = true;
            new_same[j] = true;
            identical += usize::from(doc.has_content());
        }
    }
    let (mut old_cuts, mut new_cuts) = (vec![None; old_docs.len()], vec![None; new_docs.len()]);
    if let Some(cutting) = cutting {
        for (i, j) in big_pairs(&old_docs, &new_docs, (&old_same, &new_same), cutting.above) {
            if let Some(cut) = splice::cut(old_docs[i].text, new_docs[j].text, cutting.context) {
                old_cuts[i] = Some((cut.old, cut.old_blocks));
                new_cuts[j] = Some((cut.new, cut.new_blocks));
            }
        }
    }
    // Sides with much to parse are parsed at the same time, one on another thread; little is parsed sooner than
    // a thread starts.
    let changed = |docs: &[Doc], same: &[bool]| -> usize {
        docs.iter()
            .zip(same)
            .filter(|(_, s)| !**s)
            .map(|(d, _)| d.text.len())
            .sum()
    };
    let (old_resources, new_resources) =
        if changed(&old_docs, &old_same).min(changed(&new_docs, &new_same)) < PARALLEL_ABOVE {
            (
                resources(old, &old_docs, &old_same, &old_cuts),
                resources(new, &new_docs, &new_same, &new_cuts),
            )
        } else {
            std::thread::scope(|scope| {
                let other = scope.spawn(|| resources(old, &old_docs, &old_same, &old_cuts));
                let new_resources = resources(new, &new_docs, &new_same, &new_cuts);
                let old_resources = other
                    .join()
                    .unwrap_or_else(|p| std::panic::resume_unwind(p));
                (old_resources, new_resources)
            })
        };
    match (old_resources?, new_resources?) {
        (Some(old_resources), Some(new_resources)) => {
            once_each(old, &old_docs, &old_same, &old_resources)?;
            once_each(new, &new_docs, &new_same, &new_resources)?;
            Ok(Pair {
                old: old_resources,
                new: new_resources,
                identical,
            })
        }
        _ => whole_streams(old, new),
    }
}

/// Fails when an object set aside as identical to the other side appears twice on its own side, with another
/// set-aside document or with a parsed one (Helm renders such a stream without complaint; the cluster then gets
/// one of the two). Set-aside documents are named cheaply from their text; only those whose kind and name
/// another document shares, or whose name is not written plainly, are parsed.
fn once_each(source: &Source, docs: &[Doc], same: &[bool], parsed: &[Resource]) -> Result<()> {
    let names: Vec<Option<(&str, &str)>> = docs
        .iter()
        .zip(same)
        .map(|(d, s)| if *s { plain_name(d.text) } else { None })
        .collect();
    let mut count: HashMap<(&str, &str), usize> = HashMap::new();
    for name in names.iter().flatten() {
        *count.entry(*name).or_default() += 1;
    }
    for r in parsed {
        *count.entry((&r.key.kind, &r.key.name)).or_default() += 1;
    }
    let mut found: Vec<Resource> = Vec::new();
    for (i, doc) in docs.iter().enumerate() {
        let suspect = match names[i] {
            Some(name) => count.get(&name).is_some_and(|&n| n > 1),
            None => same[i] && doc.has_content(),
        };
        if !suspect {
            continue;
        }
        // A set-aside document that does not parse alone was not reported before and is not now.
        let Ok(nodes) = yaml::parse(doc.text) else {
            continue;
        };
        for node in nodes {
            found.extend(objects(source, node, doc.line - 1).unwrap_or_default());
        }
    }
    if found.is_empty() {
        return Ok(());
    }
    let mut all: Vec<(&Key, usize, String)> = parsed
        .iter()
        .chain(&found)
        .map(|r| (&r.key, r.line, r.title()))
        .collect();
    all.sort_by_key(|(_, line, _)| *line);
    let mut seen: HashMap<&Key, usize> = HashMap::new();
    for (key, line, title) in all {
        if let Some(first) = seen.insert(key, line) {
            bail!(
                "{}:{line}: {title} appears twice (first on line {first}); each object may appear once",
                source.name
            );
        }
    }
    Ok(())
}

/// The kind and name of a document written plainly (`kind: X` at the top, `  name: y` under `metadata:`),
/// without quotes or comments; None otherwise (and for lists of objects).
fn plain_name(text: &str) -> Option<(&str, &str)> {
    let mut kind = None;
    let mut name = None;
    let mut in_metadata = false;
    for line in text.lines() {
        if !line.starts_with([' ', '#']) && !line.is_empty() {
            if kind.is_some() && name.is_some() {
                break;
            }
            in_metadata = line == "metadata:";
            if let Some(k) = line.strip_prefix("kind: ") {
                kind = Some(k);
            }
        } else if in_metadata {
            if let Some(n) = line.strip_prefix("  name: ") {
                name = Some(n);
            }
        }
    }
    let plain = |v: &str| {
        !v.is_empty()
            && v.trim() == v
            && !v.contains(['#', '"', '\'', '&', '*', '!', '{', '[', '|', '>'])
    };
    match (kind, name) {
        (Some(k), Some(n)) if plain(k) && plain(n) && !k.ends_with("List") => Some((k, n)),
        _ => None,
    }
}

/// Both streams read whole, nothing set aside and nothing cut: what `load` does when a piece of either side
/// does not parse on its own (a `%YAML` directive before its `---`, say). Both sides are then read alike, and
/// an error is reported exactly as the YAML reader sees the file.
fn whole_streams(old: &Source, new: &Source) -> Result<Pair> {
    let read = |source: &Source| -> Result<Vec<Resource>> {
        let nodes = source.yaml()?;
        name_all(
            source,
            nodes.into_iter().map(|n| (n, 0, Vec::new())).collect(),
        )
    };
    Ok(Pair {
        old: read(old)?,
        new: read(new)?,
        identical: 0,
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

/// Cuts a stream into documents at `---` lines; each piece keeps its marker line. Only the lines that start
/// with `---` are looked at (found by SIMD search, as are the line counts between them): a render is MBs.
fn documents(text: &str) -> Vec<Doc<'_>> {
    let bytes = text.as_bytes();
    let first = bytes.starts_with(b"---").then_some(0);
    let dashes = memchr::memmem::find_iter(bytes, b"\n---").map(|at| at + 1);
    let mut docs = Vec::new();
    let (mut start, mut start_line) = (0, 1);
    for at in first.into_iter().chain(dashes) {
        let end = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |n| at + n + 1);
        if at > start && is_marker(&text[at..end]) {
            docs.push(Doc {
                text: &text[start..at],
                line: start_line,
            });
            start_line += memchr::memchr_iter(b'\n', &bytes[start..at]).count();
            start = at;
        }
    }
    if text.len() > start {
        docs.push(Doc {
            text: &text[start..],
            line: start_line,
        });
    }
    docs
}

/// Big changed documents with the same identity on both sides (the pairs worth reading in part).
fn big_pairs(
    old: &[Doc],
    new: &[Doc],
    same: (&[bool], &[bool]),
    above: usize,
) -> Vec<(usize, usize)> {
    let by_identity = |docs: &[Doc], same: &[bool]| {
        let mut found: HashMap<String, Vec<usize>> = HashMap::new();
        for (i, doc) in docs.iter().enumerate() {
            if !same[i] && doc.text.len() >= above {
                if let Some(id) = identity(doc.text) {
                    found.entry(id).or_default().push(i);
                }
            }
        }
        found
    };
    let (old_ids, new_ids) = (by_identity(old, same.0), by_identity(new, same.1));
    let mut pairs: Vec<(usize, usize)> = new_ids
        .iter()
        .filter_map(
            |(id, js)| match (old_ids.get(id).map(Vec::as_slice), js.as_slice()) {
                (Some([i]), [j]) => Some((*i, *j)),
                _ => None,
            },
        )
        .collect();
    pairs.sort_unstable();
    pairs
}

/// The lines that name a document's object as written (`apiVersion:`, `kind:`, and `name:`/`namespace:`
/// under `metadata:`), or None when they are not written plainly, or it is a list of objects.
fn identity(text: &str) -> Option<String> {
    let mut found = Vec::new();
    let mut in_metadata = false;
    for line in text.lines() {
        if !line.starts_with([' ', '#']) && !line.is_empty() {
            let known = |key: &str| found.iter().any(|l: &&str| l.starts_with(key));
            if known("apiVersion: ") && known("kind: ") && known("  name: ") {
                // Written in the usual order: the rest cannot change the identity.
                break;
            }
            in_metadata = line == "metadata:";
            if line.starts_with("apiVersion: ") || line.starts_with("kind: ") {
                found.push(line);
            }
        } else if in_metadata && (line.starts_with("  name: ") || line.starts_with("  namespace: "))
        {
            found.push(line);
        }
    }
    let named = found.iter().any(|l| l.starts_with("  name: "));
    let list = found
        .iter()
        .any(|l| l.starts_with("kind: ") && l.ends_with("List"));
    (named && !list).then(|| found.join("\n"))
}

/// Parses the documents not set aside (the skeleton of those read in part) and names their objects; None when a
/// piece does not parse on its own (then `whole_streams`).
fn resources(
    source: &Source,
    docs: &[Doc],
    skip: &[bool],
    cuts: &[Option<Piece>],
) -> Result<Option<Vec<Resource>>> {
    let mut nodes = Vec::new();
    for ((doc, _), cut) in docs.iter().zip(skip).zip(cuts).filter(|((_, s), _)| !**s) {
        let offset = doc.line - 1;
        let part = cut.as_ref().and_then(|(text, blocks)| {
            let parsed = yaml::parse(text).ok()?;
            let lines = blocks
                .iter()
                .map(|b| offset + b.start + 1..offset + b.end + 1);
            Some((parsed, lines.collect::<Vec<_>>()))
        });
        let (parsed, blocks) = match part {
            Some(part) => part,
            None => match yaml::parse(doc.text) {
                Ok(parsed) => (parsed, Vec::new()),
                Err(_) => return Ok(None),
            },
        };
        nodes.extend(parsed.into_iter().map(|n| (n, offset, blocks.clone())));
    }
    name_all(source, nodes).map(Some)
}

/// A document read in part: its skeleton text and the line ranges of its blocks.
type Piece = (String, Vec<Range<usize>>);

fn name_all(
    source: &Source,
    nodes: Vec<(Node, usize, Vec<Range<usize>>)>,
) -> Result<Vec<Resource>> {
    let mut out: Vec<Resource> = Vec::new();
    let mut seen: HashMap<Key, usize> = HashMap::new();
    for (node, offset, blocks) in nodes {
        for mut resource in objects(source, node, offset)? {
            resource.blocks = blocks.clone();
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
fn objects(source: &Source, node: Node, offset: usize) -> Result<Vec<Resource>> {
    if node.value == Value::Null {
        return Ok(Vec::new());
    }
    let kind = text_field(&node, "kind");
    if kind.is_some_and(|k| k == "List" || k.ends_with("List")) {
        if let Some(Value::Seq(items)) = node.get("items").map(|n| &n.value) {
            let mut out = Vec::new();
            for item in items {
                out.push(object(source, item.clone(), offset)?);
            }
            return Ok(out);
        }
    }
    Ok(vec![object(source, node, offset)?])
}

fn object(source: &Source, node: Node, offset: usize) -> Result<Resource> {
    let line = node.span.start.line + offset;
    let col = node.span.start.col;
    let place = format!("{}:{line}:{col}", source.name);
    if !matches!(node.value, Value::Map(_)) {
        bail!("{place}: this document is not a Kubernetes object (a mapping with apiVersion, kind and metadata.name)");
    }
    let field = |name: &str| {
        text_field(&node, name).ok_or_else(|| {
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
        node,
        offset,
        blocks: Vec::new(),
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
        let pair = load(&old, &new, None).unwrap();
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
        let e = load(&ok, &bad, None).unwrap_err().to_string();
        assert!(e.starts_with("bad.yaml:"), "{e}");
        let nameless = src("n.yaml", "---\napiVersion: v1\nkind: ConfigMap\n");
        let e = load(&ok, &nameless, None).unwrap_err().to_string();
        assert_eq!(e, "n.yaml:2:1: this ConfigMap has no metadata.name");
        let twice = src("t.yaml", "kind: A\napiVersion: v1\nmetadata: {name: x}\n---\nkind: A\napiVersion: v2\nmetadata: {name: x}\n");
        let e = load(&ok, &twice, None).unwrap_err().to_string();
        assert!(
            e.starts_with("t.yaml:5: A x appears twice (first on line 1)"),
            "{e}"
        );
    }
}
