//! Finding the image references of rendered manifests, structurally (the rule in docs/images.md).
//!
//! An image is:
//! - the `image` of a container, init container or ephemeral container (any list under a `containers`,
//!   `initContainers` or `ephemeralContainers` key, at any depth of any kind), or a scalar at a known field (the
//!   kinds and paths of `schema/images.yaml`, a product's declared paths, `--image-field`, the lock's `fields`):
//!   every value there is an image exactly as the runtime reads it;
//! - elsewhere, a string under a key that names an image (`image`, `imageName`, `*Image`, `*_IMAGE`,
//!   `*IMAGE_NAME`, an `env` entry so named) when it is reference-shaped; other values there are reported as
//!   unsure (`Doubt::NotAReference`), never read as docker.io images;
//! - a composite: an image written in several keys of one mapping (`schema/images.yaml` `composites`), checked as
//!   the one reference they compose;
//! - the same inside a YAML document held in a ConfigMap's `data` (`config.yaml: |`), pinned in place when the
//!   string is a literal block.
//!
//! In a kind known to run containers, a reference-shaped value under any other key is reported as unsure
//! (`Doubt::UnrecognisedKey`). Never: anything inside a CustomResourceDefinition (its schemas name `image`
//! properties), comments, other block scalars.
//!
//! Speed: a render is split into documents at `---` lines (YAML forbids that marker inside any scalar, so the
//! split is exact), and only documents that may hold an image are parsed. A document passes unparsed when its
//! bytes hold none of the needles (`image`, `Image`, `IMAGE`, declared keys: every image-like key holds one), or
//! when it is plainly a CustomResourceDefinition: a block mapping at column 0 whose only column-0 `kind:` line
//! says so.

use crate::image::ImageRef;
use crate::image_fields::{
    image_like, reference_shaped, strongly_reference_shaped, Composite, Known,
};
use crate::printable::{double_quoted, shown};
use crate::yaml::{self, Node, Span, Style, Value};
use memchr::memmem;
use std::collections::BTreeSet;
use std::ops::Range;

const CONTAINER_LISTS: [(&str, &str); 3] = [
    ("containers", "container"),
    ("initContainers", "init container"),
    ("ephemeralContainers", "ephemeral container"),
];

/// The Kubernetes object an image belongs to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resource {
    pub kind: String,
    pub namespace: Option<String>,
    pub name: String,
}

impl std::fmt::Display for Resource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let kind = if self.kind.is_empty() {
            "(no kind)".into()
        } else {
            shown(&self.kind)
        };
        match &self.namespace {
            Some(ns) => write!(f, "{kind} {}/{}", shown(ns), shown(&self.name)),
            None => write!(f, "{kind} {}", shown(&self.name)),
        }
    }
}

/// One image reference in the source: where it is, how it is written, and whose it is.
#[derive(Debug, Clone)]
pub struct Site {
    /// Byte range of the scalar in the whole input (quotes included for quoted scalars).
    pub range: Range<usize>,
    pub line: usize,
    pub col: usize,
    pub style: Style,
    /// The scalar's value (unquoted).
    pub text: String,
    pub resource: Resource,
    /// Where in the resource, for people: `container "web"`, `env SIDECAR_IMAGE of container "injector"`.
    pub place: String,
    /// True for places that hold an image by definition (containers, declared paths); false for env values,
    /// which count only when they parse as a reference.
    pub required: bool,
    /// True when the place holds an alias (`image: *ref`): `range` is then the anchored scalar's, elsewhere.
    pub aliased: bool,
    pub pin: Pin,
}

/// How a found image is pinned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Pin {
    /// The scalar at `range` becomes the pinned reference.
    InPlace,
    /// An image written in several keys: the scalar at `range` is its digest key's value (`current`, as
    /// written), which becomes the digest.
    Digest { current: String },
    /// It cannot be pinned in place, for the reason given: the lock still decides whether it may run, and
    /// `opsta-lint verify` checks the digest it runs after the upgrade.
    No(String),
}

/// A value the scan is unsure about: it may be an image, and is reported instead of guessed.
#[derive(Debug, Clone)]
pub struct Unsure {
    pub doubt: Doubt,
    pub line: usize,
    pub col: usize,
    pub resource: Resource,
    pub place: String,
    pub text: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Doubt {
    /// Under a key that names an image, but not reference-shaped (`catalyst-all`, `nats:2.10`).
    NotAReference,
    /// Reference-shaped, under a key that names no image, in a kind known to run containers.
    UnrecognisedKey,
}

/// A declared location: a dotted path from a document's root (`spec.runtime.image`); `[]` steps into every
/// list item (`spec.sidecars[].image`). `kind`, when set, limits it to documents of that kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub kind: Option<String>,
    pub path: Vec<Step>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Key(String),
    Each,
}

impl Location {
    /// Reads `[Kind:]a.b[].c`.
    pub fn parse(text: &str) -> Result<Location, String> {
        let (kind, path) = match text.split_once(':') {
            Some((kind, path)) => (Some(kind.trim().to_string()), path.trim()),
            None => (None, text.trim()),
        };
        let mut steps = Vec::new();
        for part in path.split('.') {
            let (key, each) = match part.strip_suffix("[]") {
                Some(key) => (key, true),
                None => (part, false),
            };
            if key.is_empty() {
                return Err(format!("image location \"{text}\" has an empty step"));
            }
            steps.push(Step::Key(key.to_string()));
            if each {
                steps.push(Step::Each);
            }
        }
        Ok(Location { kind, path: steps })
    }

    /// The location as written: `Kind:a.b[].c`.
    pub fn text(&self) -> String {
        let mut text = String::new();
        for step in &self.path {
            match step {
                Step::Key(key) => {
                    if !text.is_empty() {
                        text.push('.');
                    }
                    text.push_str(key);
                }
                Step::Each => text.push_str("[]"),
            }
        }
        match &self.kind {
            Some(kind) => format!("{kind}:{text}"),
            None => text,
        }
    }

    /// The last key of the path: a needle for the byte search.
    fn last_key(&self) -> Option<&str> {
        self.path.iter().rev().find_map(|s| match s {
            Step::Key(k) => Some(k.as_str()),
            Step::Each => None,
        })
    }
}

/// What a scan found.
#[derive(Debug, Default)]
pub struct Scan {
    pub sites: Vec<Site>,
    /// Values that may be images, reported instead of guessed.
    pub unsure: Vec<Unsure>,
    /// Values of `helm.sh/chart` labels seen on objects that hold images (`catalyst-1.90.0`).
    pub charts: Vec<String>,
    /// Documents parsed (the rest passed on the byte search).
    pub parsed: usize,
    pub documents: usize,
}

/// Finds every image reference of a render. Errors are YAML errors with their line in `text`.
pub fn scan(text: &str, extra: &[Location]) -> Result<Scan, yaml::Error> {
    let mut needles = vec![
        "image".to_string(),
        "Image".to_string(),
        "IMAGE".to_string(),
    ];
    needles.extend(
        extra
            .iter()
            .filter_map(|l| l.last_key())
            .map(str::to_string),
    );
    let known = Known::get().map_err(|e| yaml::Error {
        message: format!("{e:#}"),
        line: 1,
        col: 1,
    })?;
    let finders: Vec<memmem::Finder> = needles
        .iter()
        .map(|n| memmem::Finder::new(n.as_bytes()))
        .collect();
    let mut scan = Scan::default();
    let mut line = 1;
    for chunk in split_documents(text) {
        let body = &text[chunk.clone()];
        scan.documents += 1;
        if may_hold_images(body, &finders) {
            scan.parsed += 1;
            let docs = yaml::parse(body).map_err(|e| shift_error(e, line))?;
            let shift = Shift {
                byte: chunk.start,
                line: line - 1,
            };
            for doc in &docs {
                visit_document(doc, text, (known, extra), shift, &mut scan);
            }
        }
        line += memchr::memchr_iter(b'\n', body.as_bytes()).count();
    }
    Ok(scan)
}

/// Byte ranges of the documents: each starts at a `---` line (the first at 0).
pub fn split_documents(text: &str) -> Vec<Range<usize>> {
    let bytes = text.as_bytes();
    let mut starts = vec![0];
    for at in memmem::find_iter(bytes, b"---") {
        let line_start = at == 0 || bytes[at - 1] == b'\n';
        let ends = matches!(bytes.get(at + 3), None | Some(b' ' | b'\t' | b'\r' | b'\n'));
        if line_start && ends && at != 0 {
            starts.push(at);
        }
    }
    let ends = starts.iter().skip(1).copied().chain([text.len()]);
    starts
        .iter()
        .copied()
        .zip(ends)
        .map(|(s, e)| s..e)
        .collect()
}

fn may_hold_images(body: &str, finders: &[memmem::Finder]) -> bool {
    let bytes = body.as_bytes();
    let named = finders.iter().any(|f| f.find(bytes).is_some()) || has_letter_escape(bytes);
    named && !plainly_a_crd(body)
}

/// True when a double-quoted scalar may spell a key in escapes the byte search cannot see: `"\x69mage"`,
/// `"\u0069mage"`, or a line break escaped inside a word.
fn has_letter_escape(bytes: &[u8]) -> bool {
    memchr::memchr_iter(b'\\', bytes)
        .any(|at| matches!(bytes.get(at + 1), Some(b'x' | b'u' | b'U' | b'\n' | b'\r')))
}

/// True for a document whose root is a block mapping at column 0 with exactly one column-0 `kind:` line,
/// that line says CustomResourceDefinition, and the line after it starts at column 0 (an indented one would
/// continue the value). In such a document every column-0 line is a root key, a comment or a marker, so that line
/// is the object's kind, unless a quoted scalar or a flow collection opened above it runs on across lines and
/// holds it (`note: "` ... `kind: CustomResourceDefinition` ... `"`): so no line above the kind but a comment may
/// hold a quote or a bracket. A column-0 line that is not a plain `key:` (a quoted key, `kind :`, `? kind`) could name
/// the kind a second way, so the document is parsed instead.
fn plainly_a_crd(text: &str) -> bool {
    let mut first_content = true;
    let mut read = 0;
    // Every line up to the kind, found with SIMD byte search (the kind is near the top).
    for line in crate::lines::lines(text) {
        read += line.len();
        let line = without_break(line.as_bytes());
        if may_open_a_span(line) {
            return false;
        }
        if first_content {
            if line.is_empty()
                || line.starts_with(b"#")
                || line.starts_with(b"---") && line[3..].trim_ascii().is_empty()
            {
                continue;
            }
            if !line[0].is_ascii_alphabetic() {
                return false;
            }
            first_content = false;
        }
        if line
            .first()
            .is_some_and(|b| !b.is_ascii_whitespace() && *b != b'#')
            && !plain_key(line)
        {
            return false;
        }
        if let Some(rest) = line.strip_prefix(b"kind:") {
            let value = rest.split(|&b| b == b'#').next().unwrap_or_default();
            return value.trim_ascii() == b"CustomResourceDefinition"
                && only_root_keys(&text[read..]);
        }
    }
    false
}

/// True when `rest`, the lines after the kind of a block mapping at column 0, starts at column 0 (an indented or
/// empty line right after `kind: CustomResourceDefinition` would continue its value: `  x` makes the kind
/// `CustomResourceDefinition x`), and every line of it at column 0 is a comment or a plain key other than `kind`.
/// A CRD runs to thousands of lines: only the ones at column 0 are looked at.
fn only_root_keys(rest: &str) -> bool {
    if rest.as_bytes().first().is_some_and(u8::is_ascii_whitespace) {
        return false;
    }
    let bytes = rest.as_bytes();
    crate::lines::flush_left_lines(rest).all(|at| {
        let end = memchr::memchr(b'\n', &bytes[at..]).map_or(bytes.len(), |i| at + i + 1);
        let line = without_break(&bytes[at..end]);
        line.starts_with(b"#") || plain_key(line) && !line.starts_with(b"kind:")
    })
}

/// A line without its `\n` or `\r\n`.
fn without_break(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

/// True for a line, not a comment, that may open a quoted scalar or a flow collection, either of which can run
/// on to later lines, even ones at column 0.
fn may_open_a_span(line: &[u8]) -> bool {
    let line = line.trim_ascii_start();
    !line.starts_with(b"#") && line.iter().any(|b| matches!(b, b'"' | b'\'' | b'{' | b'['))
}

/// A line that starts with a plain key and its colon: `apiVersion: v1`, `spec:`.
fn plain_key(line: &[u8]) -> bool {
    let key_len = line
        .iter()
        .take_while(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
        .count();
    key_len > 0
        && line[0].is_ascii_alphabetic()
        && line.get(key_len) == Some(&b':')
        && matches!(line.get(key_len + 1), None | Some(b' ' | b'\t'))
}

#[derive(Clone, Copy)]
struct Shift {
    byte: usize,
    line: usize,
}

fn shift_error(mut e: yaml::Error, first_line: usize) -> yaml::Error {
    e.line += first_line - 1;
    e
}

fn visit_document(
    doc: &Node,
    text: &str,
    (known, extra): (&Known, &[Location]),
    shift: Shift,
    scan: &mut Scan,
) {
    let kind = kind_of(doc);
    if kind == Some("CustomResourceDefinition") {
        return;
    }
    let mut fields = BTreeSet::new();
    let declared = known.fields.iter().chain(extra);
    for location in declared {
        if location.kind.as_deref().is_none_or(|k| Some(k) == kind) {
            known_fields(doc, &location.path, &mut fields);
        }
    }
    let resource = resource_of(doc).unwrap_or_default();
    let before = scan.sites.len();
    let mut walk = Walk {
        text,
        composites: &known.composites,
        runs_containers: kind.is_some_and(|k| {
            known.runs_containers(k) || extra.iter().any(|l| l.kind.as_deref() == Some(k))
        }),
        resource,
        fields,
        judged: BTreeSet::new(),
        path: Vec::new(),
        map: Mapper::Shift(shift),
        scan,
    };
    walk.visit(doc, None);
    if kind == Some("ConfigMap") {
        walk.embedded_documents(doc);
    }
    if scan.sites.len() > before {
        chart_labels(doc, &mut scan.charts);
    }
}

fn kind_of(node: &Node) -> Option<&str> {
    node.get("kind").and_then(Node::as_str)
}

/// The object a mapping describes, when it has `kind` and `metadata.name`.
fn resource_of(node: &Node) -> Option<Resource> {
    let kind = kind_of(node)?.to_string();
    let metadata = node.get("metadata")?;
    let text = |key: &str| metadata.get(key).and_then(|n| n.key_text());
    Some(Resource {
        kind,
        namespace: text("namespace"),
        name: text("name").unwrap_or_default(),
    })
}

/// The nodes at a known field's path below `node`, by where they start.
fn known_fields(node: &Node, path: &[Step], found: &mut BTreeSet<usize>) {
    let Some((step, rest)) = path.split_first() else {
        found.insert(node.span.start.byte);
        return;
    };
    match (step, &node.value) {
        (Step::Key(key), Value::Map(_)) => {
            if let Some(child) = node.get(key) {
                known_fields(child, rest, found);
            }
        }
        (Step::Each, Value::Seq(items)) => items
            .iter()
            .for_each(|item| known_fields(item, rest, found)),
        _ => {}
    }
}

/// One step of the path from a resource's root to the node being looked at, for people (`spec.steps[2].image`).
#[derive(Clone, Copy)]
enum PathStep<'n> {
    Key(&'n str),
    Index(usize),
}

/// Where the nodes being walked sit in the input: in a document of it, or in a YAML document held in a string of
/// it (a ConfigMap's `config.yaml: |`).
enum Mapper {
    Shift(Shift),
    Embedded(Embedded),
}

/// A YAML document inside a literal block scalar: for each of its lines, where the line starts in the document's
/// text and in the input, and the input's line number. `None` when the string is written in a style whose lines
/// are not the text's (folded, quoted, an explicit indentation): its images cannot be pinned in place.
struct Embedded {
    lines: Option<Vec<(usize, usize, usize)>>,
    content: String,
    /// Where the string itself is (for findings when `lines` is None).
    at: (Range<usize>, usize, usize),
}

impl Mapper {
    /// The input's byte range, line and column of a node, and whether it can be rewritten there.
    fn locate(&self, text: &str, span: &Span) -> (Range<usize>, usize, usize, bool) {
        match self {
            Mapper::Shift(shift) => (
                span.start.byte + shift.byte..span.end.byte + shift.byte,
                span.start.line + shift.line,
                span.start.col,
                true,
            ),
            Mapper::Embedded(embedded) => embedded
                .locate(text, span)
                .map(|(range, line, col)| (range, line, col, true))
                .unwrap_or_else(|| {
                    let (range, line, col) = embedded.at.clone();
                    (range, line, col, false)
                }),
        }
    }
}

impl Embedded {
    /// Lines up a literal block scalar's content with the input lines holding it.
    fn new(node: &Node, text: &str, shift: Shift, content: &str) -> Embedded {
        let start = node.span.start.byte + shift.byte;
        let end = node.span.end.byte + shift.byte;
        let at = (
            start..end,
            node.span.start.line + shift.line,
            node.span.start.col,
        );
        let lines = (node.style == Style::Literal)
            .then(|| literal_lines(text, start..end, node.span.start.line + shift.line, content))
            .flatten();
        Embedded {
            lines,
            content: content.to_string(),
            at,
        }
    }

    fn locate(&self, text: &str, span: &Span) -> Option<(Range<usize>, usize, usize)> {
        let lines = self.lines.as_ref()?;
        if span.start.line != span.end.line {
            return None;
        }
        let &(inner_start, outer_start, line) = lines.get(span.start.line.checked_sub(1)?)?;
        let from = outer_start + span.start.byte.checked_sub(inner_start)?;
        let range = from..from + (span.end.byte - span.start.byte);
        let same = text.get(range.clone())? == self.content.get(span.start.byte..span.end.byte)?;
        let col =
            span.start.col + (outer_start - text[..outer_start].rfind('\n').map_or(0, |i| i + 1));
        same.then_some((range, line, col))
    }
}

/// For each line of a literal block's content: (start in the content, start in the input, input line). `range`
/// is the content's (from the first character of its first line of text); its indentation is that line's, and the
/// header (`|`, `|-`, `|+`) ends the line before or the blank lines before. None for a header with an explicit
/// indentation.
fn literal_lines(
    text: &str,
    range: Range<usize>,
    first_line: usize,
    content: &str,
) -> Option<Vec<(usize, usize, usize)>> {
    let line_start = text[..range.start].rfind('\n')? + 1;
    let indent = range.start - line_start;
    if !text[line_start..range.start].bytes().all(|b| b == b' ') {
        return None;
    }
    let header = &text[..line_start - 1];
    let header = &header[header.rfind('|')?..];
    if header.bytes().any(|b| b.is_ascii_digit()) {
        return None;
    }
    let body = text.get(line_start..range.end)?;
    // Blank lines before the first line of text are in the content but before `range`; no value starts on them.
    let blank = content.len() - content.trim_start_matches('\n').len();
    let mut lines: Vec<_> = (0..blank)
        .map(|n| (n, line_start, first_line + n - blank))
        .collect();
    let mut outer = line_start;
    let mut inner = blank;
    let inner_lines = content[blank..].split_inclusive('\n');
    for (n, (line, inner_line)) in body.split_inclusive('\n').zip(inner_lines).enumerate() {
        let spaces = line.len() - line.trim_start_matches(' ').len();
        lines.push((inner, outer + spaces.min(indent), first_line + n));
        outer += line.len();
        inner += inner_line.len();
    }
    Some(lines)
}

/// The walk of one document: finds images by the rule of docs/images.md, and the values it is unsure about.
struct Walk<'n, 's> {
    text: &'s str,
    composites: &'s [Composite],
    runs_containers: bool,
    resource: Resource,
    /// Known image fields of this document, by where their node starts. (Both sets are small and looked up for
    /// most values of a document: an ordered set finds an offset without hashing it.)
    fields: BTreeSet<usize>,
    /// Nodes already judged (an image, an unsure value, or part of a composite), by where they start.
    judged: BTreeSet<usize>,
    path: Vec<PathStep<'n>>,
    map: Mapper,
    scan: &'s mut Scan,
}

impl<'n> Walk<'n, '_> {
    fn visit(&mut self, node: &'n Node, under: Option<&str>) {
        match &node.value {
            Value::Map(entries) => {
                // A List's items (and any embedded object) are resources of their own.
                let inner = resource_of(node).map(|r| std::mem::replace(&mut self.resource, r));
                self.composite(node, under);
                for (key, value) in entries {
                    let key = key.as_str();
                    self.path.push(PathStep::Key(key.unwrap_or("?")));
                    let list = CONTAINER_LISTS.iter().find(|(k, _)| key == Some(*k));
                    match (list, &value.value) {
                        (Some((_, what)), Value::Seq(items)) => {
                            for (i, item) in items.iter().enumerate() {
                                self.path.push(PathStep::Index(i));
                                self.container(item, what);
                                // A container may itself hold container lists (a custom resource's sidecar spec).
                                self.visit(item, None);
                                self.path.pop();
                            }
                        }
                        _ => self.value(value, key),
                    }
                    self.path.pop();
                }
                if let Some(outer) = inner {
                    self.resource = outer;
                }
            }
            Value::Seq(items) => {
                for (i, item) in items.iter().enumerate() {
                    self.path.push(PathStep::Index(i));
                    self.value(item, None);
                    self.path.pop();
                }
            }
            _ => {}
        }
    }

    /// A value under `key` (None for a list item).
    fn value(&mut self, node: &'n Node, key: Option<&str>) {
        let at = node.span.start.byte;
        let known = !self.fields.is_empty() && self.fields.contains(&at);
        if known && !matches!(node.value, Value::Map(_) | Value::Seq(_)) {
            if self.judged.insert(at) {
                self.site(node, self.place(), true);
            }
            return;
        }
        match &node.value {
            Value::Str(text) if !self.judged.contains(&at) => {
                if key.is_some_and(image_like) {
                    let place = self.place();
                    self.loose(node, text, place);
                } else if self.runs_containers && strongly_reference_shaped(text) {
                    self.judged.insert(at);
                    self.unsure(node, Doubt::UnrecognisedKey, self.place(), text);
                }
            }
            Value::Seq(items) if key == Some("env") => {
                for var in items {
                    self.env_var(var, None);
                }
                self.visit(node, key);
            }
            Value::Map(_) | Value::Seq(_) => self.visit(node, key),
            _ => {}
        }
    }

    fn container(&mut self, item: &'n Node, what: &str) {
        let name = item
            .get("name")
            .and_then(Node::key_text)
            .unwrap_or_default();
        let of = format!("{what} {}", double_quoted(&name));
        if let Some(image) = item.get("image") {
            self.judged.insert(image.span.start.byte);
            self.site(image, of.clone(), true);
        }
        if let Some(Value::Seq(vars)) = item.get("env").map(|e| &e.value) {
            for var in vars {
                self.env_var(var, Some(&of));
            }
        }
    }

    /// An `env` entry whose name names an image: its value is judged as under an image-like key, unless it is a
    /// known field (`--image-field Deployment:spec.template.spec.containers[].env[].value`), where any value is an
    /// image, as the walk finds it there.
    fn env_var(&mut self, var: &'n Node, of: Option<&str>) {
        let Some(name) = var.get("name").and_then(Node::as_str) else {
            return;
        };
        let Some(value) = var.get("value") else {
            return;
        };
        let at = value.span.start.byte;
        if !image_like(name) || self.judged.contains(&at) || self.fields.contains(&at) {
            return;
        }
        if let Value::Str(text) = &value.value {
            let place = match of {
                Some(of) => format!("env {} of {of}", shown(name)),
                None => format!("env {} in {}", shown(name), self.place()),
            };
            self.loose(value, text, place);
        }
    }

    /// A string under an image-like key outside known fields: an image when reference-shaped, unsure otherwise;
    /// an empty string is unset.
    fn loose(&mut self, node: &Node, text: &str, place: String) {
        self.judged.insert(node.span.start.byte);
        if text.is_empty() {
            return;
        }
        let block = matches!(node.style, Style::Literal | Style::Folded);
        if !block && reference_shaped(text) {
            self.site(node, place, false);
        } else {
            self.unsure(node, Doubt::NotAReference, place, text);
        }
    }

    /// An image written in several keys of `node` (docs/images.md, "Composite images").
    fn composite(&mut self, node: &'n Node, under: Option<&str>) {
        let object = under.is_some_and(image_like);
        for shape in self.composites {
            if !object && !image_like(&shape.repository) {
                continue;
            }
            let part = |key: &Option<String>| key.as_deref().and_then(|k| string_key(node, k));
            let Some(repository) = string_key(node, &shape.repository) else {
                continue;
            };
            let Some(name) = repository.as_str().filter(|s| !s.is_empty()) else {
                continue;
            };
            let (registry, tag, digest) =
                (part(&shape.registry), part(&shape.tag), part(&shape.digest));
            let text_of = |n: Option<&Node>| n.and_then(Node::key_text).filter(|s| !s.is_empty());
            if !object && registry.is_none() && tag.is_none() {
                continue;
            }
            let mut reference = match text_of(registry) {
                Some(registry) => format!("{}/{name}", registry.trim_end_matches('/')),
                None => name.to_string(),
            };
            if let Some(tag) = text_of(tag) {
                reference = format!("{reference}:{tag}");
            }
            if let Some(digest) = text_of(digest) {
                reference = format!("{reference}@{digest}");
            }
            for n in [Some(repository), registry, tag, digest]
                .into_iter()
                .flatten()
            {
                self.judged.insert(n.span.start.byte);
            }
            let keys = [
                &shape.registry,
                &Some(shape.repository.clone()),
                &shape.tag,
                &shape.digest,
            ]
            .iter()
            .filter_map(|k| k.as_deref().filter(|k| string_key(node, k).is_some()))
            .collect::<Vec<_>>()
            .join(", ");
            let place = format!("{} ({keys})", self.place());
            if ImageRef::parse(&reference).is_err() {
                self.unsure(repository, Doubt::NotAReference, place, &reference);
                return;
            }
            let (target, pin) = match digest.filter(|d| is_scalar(d)) {
                Some(d) => (
                    d,
                    Pin::Digest {
                        current: d.key_text().unwrap_or_default(),
                    },
                ),
                None => (
                    repository,
                    Pin::No(format!(
                        "it is written in separate keys ({keys}) with none for a digest"
                    )),
                ),
            };
            let (range, line, col, in_place) = self.map.locate(self.text, &target.span);
            let pin = match pin {
                Pin::Digest { .. } if !in_place => Pin::No(NOT_IN_PLACE.into()),
                pin => pin,
            };
            self.scan.sites.push(Site {
                range,
                line,
                col,
                style: target.style,
                text: reference,
                resource: self.resource.clone(),
                place,
                required: true,
                aliased: target.aliased,
                pin,
            });
            return;
        }
    }

    fn site(&mut self, node: &Node, place: String, required: bool) {
        let Some(text) = site_text(node, required) else {
            return;
        };
        let (range, line, col, in_place) = self.map.locate(self.text, &node.span);
        let pin = if in_place {
            Pin::InPlace
        } else {
            Pin::No(NOT_IN_PLACE.into())
        };
        self.scan.sites.push(Site {
            range,
            line,
            col,
            style: node.style,
            text,
            resource: self.resource.clone(),
            place,
            required,
            aliased: node.aliased,
            pin,
        });
    }

    fn unsure(&mut self, node: &Node, doubt: Doubt, place: String, text: &str) {
        let (_, line, col, _) = self.map.locate(self.text, &node.span);
        self.scan.unsure.push(Unsure {
            doubt,
            line,
            col,
            resource: self.resource.clone(),
            place,
            text: text.to_string(),
        });
    }

    /// The path walked so far, for people: `spec.steps[0].image`.
    fn place(&self) -> String {
        let mut text = String::new();
        for step in &self.path {
            match step {
                PathStep::Key(key) => {
                    if !text.is_empty() {
                        text.push('.');
                    }
                    text.push_str(&shown(key));
                }
                PathStep::Index(i) => text.push_str(&format!("[{i}]")),
            }
        }
        text
    }

    /// The YAML documents a ConfigMap holds in its `data` strings (`config.yaml: |`), walked like the rest.
    fn embedded_documents(&mut self, doc: &'n Node) {
        let Mapper::Shift(shift) = self.map else {
            return;
        };
        let Some(Value::Map(entries)) = doc.get("data").map(|d| &d.value) else {
            return;
        };
        for (key, value) in entries {
            let Value::Str(content) = &value.value else {
                continue;
            };
            let key = key.as_str().unwrap_or("?");
            let needle = ["image", "Image", "IMAGE"]
                .iter()
                .any(|n| content.contains(n));
            if !content.contains('\n') || !needle || !names_a_document(key) {
                continue;
            }
            let Ok(inner) = yaml::parse(content) else {
                continue;
            };
            let mut walk = Walk {
                text: self.text,
                composites: self.composites,
                runs_containers: false,
                resource: self.resource.clone(),
                fields: BTreeSet::new(),
                judged: BTreeSet::new(),
                path: vec![PathStep::Key("data"), PathStep::Key(key)],
                map: Mapper::Embedded(Embedded::new(value, self.text, shift, content)),
                scan: self.scan,
            };
            for node in inner.iter().filter(|n| matches!(n.value, Value::Map(_))) {
                walk.visit(node, None);
            }
        }
    }
}

/// The value under a plain string key of a mapping (without the copy `Node::get` makes of every key).
fn string_key<'n>(node: &'n Node, key: &str) -> Option<&'n Node> {
    match &node.value {
        Value::Map(entries) => entries
            .iter()
            .find(|(k, _)| k.as_str() == Some(key))
            .map(|(_, v)| v),
        _ => None,
    }
}

/// True for a ConfigMap key that may hold a YAML document: named like a YAML or JSON file, or with no extension
/// (`config`); not a script (`run.sh`) or another format.
fn names_a_document(key: &str) -> bool {
    match key.rsplit_once('.') {
        None => true,
        Some((_, ext)) => matches!(ext, "yaml" | "yml" | "json"),
    }
}

const NOT_IN_PLACE: &str = "it is written inside a string that is not a literal block (`|`), so it cannot be rewritten in place";

fn is_scalar(node: &Node) -> bool {
    !matches!(node.value, Value::Map(_) | Value::Seq(_))
        && !matches!(node.style, Style::Literal | Style::Folded)
}

/// The text of a scalar that holds an image. Block scalars are listed only where an image is required (so the
/// post-renderer can refuse them by name); non-scalars and optional places that are not strings give nothing.
fn site_text(node: &Node, required: bool) -> Option<String> {
    let text = match &node.value {
        Value::Str(s) => s.clone(),
        Value::Seq(_) | Value::Map(_) => return None,
        Value::Null => return None,
        _ if !required => return None,
        _ => node.key_text()?,
    };
    let block = matches!(node.style, Style::Literal | Style::Folded);
    if !required && (block || ImageRef::parse(&text).is_err()) {
        return None;
    }
    Some(text)
}

/// `catalyst-1.90.0` → (`catalyst`, `1.90.0`): the version starts after the first `-` followed by a digit.
pub fn split_chart_label(label: &str) -> Option<(&str, &str)> {
    let at = label
        .match_indices('-')
        .find(|(i, _)| label[i + 1..].starts_with(|c: char| c.is_ascii_digit()))?
        .0;
    Some((&label[..at], &label[at + 1..]))
}

fn chart_labels(doc: &Node, charts: &mut Vec<String>) {
    let mut found = |labels: Option<&Node>| {
        if let Some(chart) = labels
            .and_then(|l| l.get("helm.sh/chart"))
            .and_then(Node::key_text)
        {
            if !charts.contains(&chart) {
                charts.push(chart);
            }
        }
    };
    found(doc.get("metadata").and_then(|m| m.get("labels")));
    let template = doc.get("spec").and_then(|s| s.get("template"));
    found(
        template
            .and_then(|t| t.get("metadata"))
            .and_then(|m| m.get("labels")),
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(src: &str) -> Vec<(String, String)> {
        let scan = scan(src, &[]).unwrap();
        scan.sites
            .iter()
            .map(|s| {
                assert_eq!(
                    crate::yaml::parse(&src[s.range.clone()]).unwrap()[0].as_str(),
                    Some(s.text.as_str()),
                    "the range holds the scalar"
                );
                (s.text.clone(), format!("{} / {}", s.resource, s.place))
            })
            .collect()
    }

    #[test]
    fn finds_containers_at_any_depth_and_env_images() {
        let src = "\
# Source: x/templates/cron.yaml
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly, namespace: ops}
spec:
  jobTemplate:
    spec:
      template:
        spec:
          initContainers:
          - name: init
            image: 'busybox:1.36'
          containers:
          - name: main
            image: \"ghcr.io/x/main:1\"
            env:
            - name: SIDECAR_IMAGE
              value: ghcr.io/dapr/daprd:1.17.3
            - name: OPERATOR_IMAGE_NAME
              value: ghcr.io/cnpg/pg:1
            - name: SIDECAR_IMAGE_PULL_POLICY
              value: IfNotPresent
            - name: DEFAULT_IMAGE_TAG
              value: ghcr.io/x/y:1
            - name: EMPTY_IMAGE
              value: \"\"
            - name: POLICY_IMAGE
              value: Always
---
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata:
  name: r
spec:
  template:
    spec:
      ephemeralContainers: [{name: dbg, image: alpine}]
";
        let found = texts(src);
        assert_eq!(
            found,
            [
                (
                    "busybox:1.36".into(),
                    "CronJob ops/nightly / init container \"init\"".into()
                ),
                (
                    "ghcr.io/x/main:1".into(),
                    "CronJob ops/nightly / container \"main\"".into()
                ),
                (
                    "ghcr.io/dapr/daprd:1.17.3".into(),
                    "CronJob ops/nightly / env SIDECAR_IMAGE of container \"main\"".into()
                ),
                (
                    "ghcr.io/cnpg/pg:1".into(),
                    "CronJob ops/nightly / env OPERATOR_IMAGE_NAME of container \"main\"".into()
                ),
                (
                    "alpine".into(),
                    "Rollout r / ephemeral container \"dbg\"".into()
                ),
            ]
        );
    }

    #[test]
    fn container_lists_inside_a_container_are_found() {
        let src = "kind: Runner\nmetadata: {name: r}\nspec:\n  containers:\n  - name: outer\n    image: a:1\n    spec:\n      initContainers:\n      - {name: inner, image: b:2}\n";
        assert_eq!(
            texts(src),
            [
                (
                    "a:1".to_string(),
                    "Runner r / container \"outer\"".to_string()
                ),
                (
                    "b:2".to_string(),
                    "Runner r / init container \"inner\"".to_string()
                )
            ]
        );
    }

    #[test]
    fn skips_crd_schemas_block_scalars_and_comments() {
        let src = "\
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: x}
spec:
  versions:
  - schema:
      openAPIV3Schema:
        properties:
          containers:
          - image: not-an-image
---
apiVersion: \"apiextensions.k8s.io/v1\"
kind: \"CustomResourceDefinition\"
metadata: {name: quoted}
spec: {containers: [{image: parsed-but-skipped}]}
---
apiVersion: v1
kind: Secret
metadata: {name: scripts}
stringData:
  run.sh: |
    containers:
    - image: inside-a-block
  # containers: [{image: in-a-comment}]
";
        assert!(texts(src).is_empty());
        let scan = scan(src, &[]).unwrap();
        assert_eq!((scan.documents, scan.parsed), (3, 2));
    }

    #[test]
    fn a_crd_hidden_in_a_string_is_still_parsed() {
        let src = "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: c, image: nginx}]\n";
        assert!(!plainly_a_crd(src));
        let json = "{\"kind\": \"Pod\", \"x\": \"\nkind: CustomResourceDefinition\"}";
        assert!(!plainly_a_crd(json));
        let crd = "---\n# Source: c/crds/x.yaml\napiVersion: v1\nkind: CustomResourceDefinition # yes\r\nspec: {}\n";
        assert!(plainly_a_crd(crd));
    }

    #[test]
    fn ranges_and_lines_count_from_the_whole_input() {
        let src = "a: 1\n---\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - {name: c, image: \"nginx\"}\n";
        let scan = scan(src, &[]).unwrap();
        let site = &scan.sites[0];
        assert_eq!(&src[site.range.clone()], "\"nginx\"");
        assert_eq!((site.line, site.col), (7, 22));
        let e = super::scan("a: 1\n---\nb: [\nimage: x\n", &[]).unwrap_err();
        assert!(e.line >= 3, "{e}");
    }

    #[test]
    fn declared_locations_and_chart_labels() {
        let src = "kind: Runtime\nmetadata:\n  name: r\n  labels: {helm.sh/chart: catalyst-1.90.0}\nspec:\n  sidecars:\n  - ref: ghcr.io/a:1\n  - ref: ghcr.io/b:2\n";
        let locations = [Location::parse("Runtime: spec.sidecars[].ref").unwrap()];
        let scan = scan(src, &locations).unwrap();
        let found: Vec<_> = scan.sites.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(found, ["ghcr.io/a:1", "ghcr.io/b:2"]);
        assert_eq!(scan.charts, ["catalyst-1.90.0"]);
        assert_eq!(
            split_chart_label("ingress-nginx-4.12.1-rc.1"),
            Some(("ingress-nginx", "4.12.1-rc.1"))
        );
        assert_eq!(split_chart_label("nochart"), None);
        let other_kind = [Location::parse("Other:spec.sidecars[].ref").unwrap()];
        assert!(super::scan(src, &other_kind).unwrap().sites.is_empty());
    }

    #[test]
    fn a_declared_field_wins_over_the_env_rule() {
        let src = "kind: Deployment\nmetadata: {name: d}\nspec:\n  template:\n    spec:\n      containers:\n      - name: c\n        image: nginx\n        env:\n        - {name: WORKER_IMAGE, value: alpine}\n";
        assert_eq!(
            scan(src, &[]).unwrap().unsure.len(),
            1,
            "without the field, a bare word is unsure"
        );
        let field =
            [Location::parse("Deployment:spec.template.spec.containers[].env[].value").unwrap()];
        let scan = scan(src, &field).unwrap();
        let found: Vec<_> = scan.sites.iter().map(|s| s.text.as_str()).collect();
        assert_eq!(found, ["nginx", "alpine"]);
        assert!(scan.unsure.is_empty(), "{:?}", scan.unsure);
    }

    #[test]
    fn splits_documents_only_at_marker_lines() {
        let src = "a: ---\n---\nb: 1\n--- # c\nc: 1\n----\n---";
        let parts: Vec<_> = split_documents(src).into_iter().map(|r| &src[r]).collect();
        assert_eq!(
            parts,
            ["a: ---\n", "---\nb: 1\n", "--- # c\nc: 1\n----\n", "---"]
        );
    }

    #[test]
    fn keys_spelled_in_escapes_or_a_second_kind_are_still_parsed() {
        let escaped = "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    \"\\x69mage\": evil:1\n";
        let sites = scan(escaped, &[]).unwrap().sites;
        assert_eq!(sites.len(), 1, "an image key written as \\x69mage is found");
        let joined = "kind: Pod\nmetadata: {name: p}\nspec:\n  containers:\n  - name: c\n    ? \"ima\\\n      ge\"\n    : evil:1\n";
        assert_eq!(
            scan(joined, &[]).unwrap().sites.len(),
            1,
            "an escaped line break inside a key"
        );
        let crd = "kind: CustomResourceDefinition\nspec:\n  containers: [{image: x}]\n";
        assert!(plainly_a_crd(crd));
        for second_kind in ["\"kind\": Pod\n", "kind : Pod\n", "? kind\n: Pod\n"] {
            let doc = format!("{crd}{second_kind}");
            assert!(!plainly_a_crd(&doc), "{doc}");
            assert!(
                scan(&doc, &[]).is_err(),
                "two kinds are a duplicate key: {doc}"
            );
        }
    }

    #[test]
    fn a_kind_continued_on_the_next_line_is_not_a_crd() {
        for continued in ["  - image:x\r\n", "\n  x\n"] {
            let doc = format!("kind: CustomResourceDefinition\r\n{continued}spec:\n  containers:\n  - image: nginx\n");
            assert!(!plainly_a_crd(&doc), "{doc}");
            assert_eq!(scan(&doc, &[]).unwrap().sites.len(), 1, "{doc}");
        }
    }

    #[test]
    fn a_kind_inside_a_quoted_scalar_is_not_a_crd() {
        for quote in ["\"", "'"] {
            let doc = format!(
                "spec:\n  containers:\n  - {{name: c, image: nginx, note: {quote}\nkind: CustomResourceDefinition\nmetadata:\n  x{quote}}}\n"
            );
            assert!(!plainly_a_crd(&doc), "{doc}");
            assert_eq!(scan(&doc, &[]).unwrap().sites.len(), 1, "{doc}");
        }
    }

    #[test]
    fn images_in_configmap_documents_composites_and_unsure_values() {
        let src = "\
kind: ConfigMap
metadata: {name: agent}
data:
  SIDECAR_IMAGE: \"ghcr.io/x/sidecar:v1\"
  config.yaml: |
    sidecar:
      image_registry: reg.example/pub
      image_name: 'agent'
      image_tag: 1.90.0
    sentry:
      image: {registry: reg.example/pub, name: agent, tag: 1.90.0}
    pinned:
      image: {repository: ghcr.io/x/db, tag: '16', digest: \"\"}
    exporterImage: natsio/exporter:0.14.0
    natsImage: nats:2.10
    lonely:
      image_name: catalyst-all
  folded: >
    otherImage: ghcr.io/x/folded:1
    more: x
---
kind: Cluster
metadata: {name: pg}
spec:
  imageName: postgres
  note: ghcr.io/x/hidden:2
  env: [{name: HELPER_IMAGE, value: ghcr.io/x/helper:3}]
";
        let scan = scan(src, &[]).unwrap();
        let sites: Vec<_> = scan
            .sites
            .iter()
            .map(|s| {
                (
                    s.text.as_str(),
                    s.place.as_str(),
                    &src[s.range.clone()],
                    s.pin.clone(),
                )
            })
            .collect();
        let no = |keys: &str| {
            Pin::No(format!(
                "it is written in separate keys ({keys}) with none for a digest"
            ))
        };
        assert_eq!(
            sites,
            [
                (
                    "ghcr.io/x/sidecar:v1",
                    "data.SIDECAR_IMAGE",
                    "\"ghcr.io/x/sidecar:v1\"",
                    Pin::InPlace
                ),
                (
                    "reg.example/pub/agent:1.90.0",
                    "data.config.yaml.sidecar (image_registry, image_name, image_tag)",
                    "'agent'",
                    no("image_registry, image_name, image_tag")
                ),
                (
                    "reg.example/pub/agent:1.90.0",
                    "data.config.yaml.sentry.image (registry, name, tag)",
                    "agent",
                    no("registry, name, tag")
                ),
                (
                    "ghcr.io/x/db:16",
                    "data.config.yaml.pinned.image (repository, tag, digest)",
                    "\"\"",
                    Pin::Digest {
                        current: String::new()
                    }
                ),
                (
                    "natsio/exporter:0.14.0",
                    "data.config.yaml.exporterImage",
                    "natsio/exporter:0.14.0",
                    Pin::InPlace
                ),
                ("postgres", "spec.imageName", "postgres", Pin::InPlace),
                (
                    "ghcr.io/x/helper:3",
                    "env HELPER_IMAGE in spec.env",
                    "ghcr.io/x/helper:3",
                    Pin::InPlace
                ),
            ]
        );
        let line_of = |text: &str| src[..src.find(text).unwrap()].matches('\n').count() + 1;
        assert_eq!(
            scan.sites[4].line,
            line_of("natsio/exporter"),
            "lines count in the input"
        );
        let unsure: Vec<_> = scan
            .unsure
            .iter()
            .map(|u| (u.doubt, u.text.as_str(), u.line))
            .collect();
        assert_eq!(
            unsure,
            [
                (Doubt::NotAReference, "nats:2.10", line_of("nats:2.10")),
                (
                    Doubt::NotAReference,
                    "catalyst-all",
                    line_of("catalyst-all")
                ),
                (
                    Doubt::UnrecognisedKey,
                    "ghcr.io/x/hidden:2",
                    line_of("ghcr.io/x/hidden")
                ),
            ]
        );
        let folded: Vec<_> = scan
            .sites
            .iter()
            .filter(|s| s.text.contains("folded"))
            .collect();
        assert!(
            folded.is_empty(),
            "a folded string's text is not a document: {folded:?}"
        );
    }
}
