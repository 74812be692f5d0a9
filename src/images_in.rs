//! Finding the image references of rendered manifests, structurally.
//!
//! An image reference is the `image` of a container, init container or ephemeral container (any list under a
//! `containers`, `initContainers` or `ephemeralContainers` key, at any depth of any kind, so custom resources
//! embedding a pod template count), an `env` value of such a container whose name ends in `IMAGE` or
//! `IMAGE_NAME` and that parses as a reference, or a scalar at a path a product file declares. Never: anything
//! inside a CustomResourceDefinition (its schemas name `image` properties), text inside block scalars, comments.
//!
//! Speed: a render is split into documents at `---` lines (YAML forbids that marker inside any scalar, so the
//! split is exact), and only documents that may hold an image are parsed. A document passes unparsed when its
//! bytes hold none of the needles (`image`, `IMAGE`, declared keys), or when it is plainly a
//! CustomResourceDefinition: a block mapping at column 0 whose only column-0 `kind:` line says so.

use crate::image::ImageRef;
use crate::printable::{double_quoted, shown};
use crate::yaml::{self, Node, Span, Style, Value};
use memchr::memmem;
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
    /// Values of `helm.sh/chart` labels seen on objects that hold images (`catalyst-1.90.0`).
    pub charts: Vec<String>,
    /// Documents parsed (the rest passed on the byte search).
    pub parsed: usize,
    pub documents: usize,
}

/// Finds every image reference of a render. Errors are YAML errors with their line in `text`.
pub fn scan(text: &str, extra: &[Location]) -> Result<Scan, yaml::Error> {
    let mut needles = vec!["image".to_string(), "IMAGE".to_string()];
    needles.extend(
        extra
            .iter()
            .filter_map(|l| l.last_key())
            .map(str::to_string),
    );
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
                visit_document(doc, extra, &shift, &mut scan);
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
    let mut kind_lines = 0;
    let mut crd = false;
    let mut first_content = true;
    let mut after_kind = false;
    // Found with SIMD byte search: a CRD runs to thousands of lines, and every render has some.
    for line in crate::lines::lines(text) {
        let line = line.as_bytes();
        let line = line.strip_suffix(b"\n").unwrap_or(line);
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if kind_lines == 0 && may_open_a_span(line) {
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
        // An indented or empty line right after the kind may continue its value (`kind: CustomResourceDefinition`
        // then `  x` is the kind `CustomResourceDefinition x`).
        if after_kind && line.first().is_none_or(|b| b.is_ascii_whitespace()) {
            return false;
        }
        after_kind = line.starts_with(b"kind:");
        if let Some(rest) = line.strip_prefix(b"kind:") {
            kind_lines += 1;
            let value = rest
                .split(|&b| b == b'#')
                .next()
                .unwrap_or_default()
                .trim_ascii();
            crd = value == b"CustomResourceDefinition";
        }
    }
    kind_lines == 1 && crd
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

struct Shift {
    byte: usize,
    line: usize,
}

fn shift_error(mut e: yaml::Error, first_line: usize) -> yaml::Error {
    e.line += first_line - 1;
    e
}

fn visit_document(doc: &Node, extra: &[Location], shift: &Shift, scan: &mut Scan) {
    if kind_of(doc) == Some("CustomResourceDefinition") {
        return;
    }
    let resource = resource_of(doc).unwrap_or_default();
    let before = scan.sites.len();
    visit(doc, &resource, shift, scan);
    for location in extra {
        if location
            .kind
            .as_deref()
            .is_none_or(|k| Some(k) == kind_of(doc))
        {
            declared(doc, &location.path, &resource, shift, &mut scan.sites);
        }
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

fn visit(node: &Node, resource: &Resource, shift: &Shift, scan: &mut Scan) {
    match &node.value {
        Value::Map(entries) => {
            // A List's items (and any embedded object) are resources of their own.
            let inner = resource_of(node);
            let resource = inner.as_ref().unwrap_or(resource);
            for (key, value) in entries {
                let list = CONTAINER_LISTS
                    .iter()
                    .find(|(k, _)| key.as_str() == Some(*k));
                match (list, &value.value) {
                    (Some((_, what)), Value::Seq(items)) => {
                        for item in items {
                            container(item, what, resource, shift, scan);
                            // A container may itself hold container lists (a custom resource's sidecar spec).
                            visit(item, resource, shift, scan);
                        }
                    }
                    _ => visit(value, resource, shift, scan),
                }
            }
        }
        Value::Seq(items) => items.iter().for_each(|n| visit(n, resource, shift, scan)),
        _ => {}
    }
}

fn container(item: &Node, what: &str, resource: &Resource, shift: &Shift, scan: &mut Scan) {
    let name = item
        .get("name")
        .and_then(Node::key_text)
        .unwrap_or_default();
    if let Some(image) = item.get("image") {
        let place = format!("{what} {}", double_quoted(&name));
        scan.sites.extend(site(image, resource, place, true, shift));
    }
    let Some(Value::Seq(vars)) = item.get("env").map(|e| &e.value) else {
        return;
    };
    for var in vars {
        let Some(var_name) = var.get("name").and_then(Node::as_str) else {
            continue;
        };
        if !(var_name.ends_with("IMAGE") || var_name.ends_with("IMAGE_NAME")) {
            continue;
        }
        if let Some(value) = var.get("value") {
            let place = format!("env {} of {what} {}", shown(var_name), double_quoted(&name));
            scan.sites
                .extend(site(value, resource, place, false, shift));
        }
    }
}

/// Scalars at a declared path below `node`.
fn declared(node: &Node, path: &[Step], resource: &Resource, shift: &Shift, sites: &mut Vec<Site>) {
    let Some((step, rest)) = path.split_first() else {
        let place = "declared image location".to_string();
        sites.extend(site(node, resource, place, true, shift));
        return;
    };
    match (step, &node.value) {
        (Step::Key(key), Value::Map(_)) => {
            if let Some(child) = node.get(key) {
                declared(child, rest, resource, shift, sites);
            }
        }
        (Step::Each, Value::Seq(items)) => items
            .iter()
            .for_each(|item| declared(item, rest, resource, shift, sites)),
        _ => {}
    }
}

/// A site for a scalar node. Block scalars are listed only where an image is required (so the post-renderer
/// can refuse them by name); non-scalars and optional places that are not strings give nothing.
fn site(
    node: &Node,
    resource: &Resource,
    place: String,
    required: bool,
    shift: &Shift,
) -> Option<Site> {
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
    Some(Site {
        range: shifted(&node.span, shift),
        line: node.span.start.line + shift.line,
        col: node.span.start.col,
        style: node.style,
        text,
        resource: resource.clone(),
        place,
        required,
        aliased: node.aliased,
    })
}

fn shifted(span: &Span, shift: &Shift) -> Range<usize> {
    span.start.byte + shift.byte..span.end.byte + shift.byte
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
kind: ConfigMap
metadata: {name: scripts}
data:
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
}
