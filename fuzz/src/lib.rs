//! The invariants the fuzz targets check, one function per target. Each takes the raw input bytes and panics
//! when opsta-lint breaks a promise on them. The same functions run the saved crash inputs in the normal test
//! suite (`tests/it/fuzz_regressions.rs` includes this file), so every past crash stays fixed on stable Rust.

/// Declares a fuzz target that runs `$check` on each input, the same way whatever ran before it.
///
/// libFuzzer counts an edge it has not seen as progress, so an input must take the same path every time it
/// runs. Two things in std and regex made the path depend on the process and on the inputs before: std seeds
/// each thread's `HashMap` keys from `getrandom` and steps them for every map the thread makes, so a
/// hash-table probe took other branches in each run (replaying one corpus three times gave edge counts 2-4
/// apart); and a `Regex` keeps the states its lazy DFA built for earlier searches. So the target answers
/// `getrandom` with fixed bytes (std looks the function up by name, to allow this), runs each input on a
/// fresh thread (whose keys start again from those bytes), and `postrender` gives each input its own copy of
/// the product data (a cloned `Regex` starts with empty caches). `init` reads the fixed data once, before
/// libFuzzer counts. Only the fuzz binaries get this: `tests/it/fuzz_regressions.rs` never expands the macro.
#[macro_export]
macro_rules! target {
    ($check:path) => {
        /// Fixed bytes for std's hash keys: see `opsta_lint_fuzz::target!`.
        #[no_mangle]
        pub extern "C" fn getrandom(buf: *mut u8, len: usize, _flags: u32) -> isize {
            // SAFETY: the caller hands over `len` writable bytes at `buf` (getrandom(2)).
            unsafe { ::std::ptr::write_bytes(buf, 0x5a, len) };
            len as isize
        }
        libfuzzer_sys::fuzz_target!(init: $crate::init(), |data: &[u8]| $crate::alone(data, $check));
    };
}

/// Reads the targets' fixed data (the lock, the bundled products) before the first input.
pub fn init() {
    fuzz_lock();
    bundled_products();
}

/// Runs `check` on a thread of its own (with the 8 MiB stack of a main thread), so its hash keys are the
/// same for every input; a panic in it is the input's panic.
pub fn alone(data: &[u8], check: fn(&[u8])) {
    std::thread::scope(|scope| {
        let thread = std::thread::Builder::new()
            .stack_size(8 << 20)
            .spawn_scoped(scope, || check(data))
            .expect("a thread for the input");
        if let Err(panic) = thread.join() {
            std::panic::resume_unwind(panic);
        }
    });
}

use opsta_lint::images_in::Location;
use opsta_lint::yaml::{self, Limits, Node, Style, Value};

/// The values reader: never panics; spans are real positions of the source; a plain one-line scalar's span is
/// its own text; quoted spans include their quotes; the JSON it yields reads back to the same JSON; being
/// lenient about duplicate keys only ever accepts more.
pub fn yaml(data: &[u8]) {
    let Ok(src) = std::str::from_utf8(data) else {
        return;
    };
    let strict = yaml::parse(src);
    let lenient = yaml::parse_with(
        src,
        Limits {
            allow_duplicate_keys: true,
            ..Limits::default()
        },
    );
    let docs = match strict {
        Ok(docs) => docs,
        Err(e) => {
            assert!(e.line >= 1 || e.message.contains("end of YAML"), "{e:?}");
            return;
        }
    };
    let lenient = lenient.expect("lenient parsing refused what strict parsing accepted");
    // Compared as text: NaN is never equal to itself.
    assert_eq!(
        format!("{docs:?}"),
        format!("{lenient:?}"),
        "duplicate-key leniency changed a stream without duplicates"
    );
    for doc in &docs {
        doc.walk(&mut |node| check_span(src, node));
        let json = doc.to_json();
        if has_long_key(&json) {
            // JSON is YAML except that YAML reads an implicit key (`"key": v`) only up to 1,024 characters.
            continue;
        }
        let text = yaml_safe(&serde_json::to_string(&json).unwrap());
        let again = yaml::parse(&text)
            .unwrap_or_else(|e| panic!("its own JSON {text:?} does not parse: {e}"));
        assert_eq!(again.len(), 1, "{text}");
        assert_eq!(
            again[0].to_json(),
            json,
            "JSON {text} reads back differently"
        );
    }
}

/// True when some mapping key, written as JSON, is longer than YAML's 1,024-character limit for implicit keys.
fn has_long_key(json: &serde_json::Value) -> bool {
    match json {
        serde_json::Value::Object(map) => map.iter().any(|(k, v)| {
            serde_json::to_string(k).unwrap().chars().count() > 1000 || has_long_key(v)
        }),
        serde_json::Value::Array(items) => items.iter().any(has_long_key),
        _ => false,
    }
}

/// JSON text with the characters YAML (and Helm's reader) refuse to see raw, DEL and the C1 controls, written as
/// `\uXXXX` escapes: serde_json writes them raw, and they can only stand inside strings.
fn yaml_safe(json: &str) -> String {
    json.chars()
        .map(|c| match c {
            '\u{7f}'..='\u{9f}' => format!("\\u{:04x}", u32::from(c)),
            c => c.to_string(),
        })
        .collect()
}

fn check_span(src: &str, node: &Node) {
    let range = node.span.bytes();
    assert!(
        range.start <= range.end && range.end <= src.len(),
        "span {range:?} outside the source"
    );
    assert!(
        src.is_char_boundary(range.start) && src.is_char_boundary(range.end),
        "span {range:?} splits a character"
    );
    let (line, col) = line_col(&src[..range.start]);
    assert_eq!(
        (node.span.start.line, node.span.start.col),
        (line, col),
        "start of {range:?}"
    );
    if node.aliased {
        return;
    }
    let text = &src[range];
    match (&node.style, &node.value) {
        (Style::Plain, Value::Str(s)) if !text.contains(['\n', '\r']) => assert_eq!(text, s),
        (Style::SingleQuoted, _) => assert!(
            text.len() >= 2 && text.starts_with('\'') && text.ends_with('\''),
            "{text:?}"
        ),
        (Style::DoubleQuoted, _) => assert!(
            text.len() >= 2 && text.starts_with('"') && text.ends_with('"'),
            "{text:?}"
        ),
        _ => {}
    }
}

/// 1-based line and column (in characters) of the end of `before`; CRLF, CR and LF each end a line, and
/// byte-order marks at the start of a line take no column (the parser skips them there).
pub fn line_col(before: &str) -> (usize, usize) {
    let mut line = 1;
    let mut col = 1;
    let mut chars = before.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\r' if chars.peek() == Some(&'\n') => {}
            '\u{feff}' if col == 1 => {}
            '\r' | '\n' => {
                line += 1;
                col = 1;
            }
            _ => col += 1,
        }
    }
    (line, col)
}

const DIGEST_A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const DIGEST_B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

/// The lock the rewriter targets pin against: images the seed corpus uses.
pub fn fuzz_lock() -> &'static opsta_lint::lockfile::Lock {
    static LOCK: std::sync::OnceLock<opsta_lint::lockfile::Lock> = std::sync::OnceLock::new();
    LOCK.get_or_init(read_fuzz_lock)
}

fn read_fuzz_lock() -> opsta_lint::lockfile::Lock {
    opsta_lint::lockfile::Lock::parse(&opsta_lint::source::Source::new(
        "lock.yaml",
        fuzz_lock_text(),
    ))
    .unwrap()
}

fn fuzz_lock_text() -> String {
    let images = [
        ("nginx", DIGEST_A),
        ("nginx:1.27", DIGEST_B),
        ("quay.io/argoproj/argocd:v3.4.4", DIGEST_A),
        ("ghcr.io/dapr/daprd:1.17.3", DIGEST_B),
        ("ghcr.io/dapr/operator:1.17.3", DIGEST_A),
        ("alpine:3.17", DIGEST_B),
        (
            "us-central1-docker.pkg.dev/prj-common-p-shared-79896/reg-p-common-docker-public/catalyst-all:1.90.0",
            DIGEST_A,
        ),
    ];
    let entries: String = images
        .iter()
        .map(|(image, digest)| format!("  - image: \"{image}\"\n    digest: {digest}\n"))
        .collect();
    format!("apiVersion: opsta-lint/v1\nkind: ReleaseLock\nimages:\n{entries}")
}

/// The options of a post-renderer run that a render does not carry, read from the input's first lines (comments,
/// so the rest is the same render) for the fuzzer to choose: `#image-field KIND:PATH` as `--image-field`,
/// `#lock-field KIND:PATH` as an entry of the lock's `fields:` (`PATH` alone: no `kind`), `#strict` as `--strict`.
#[derive(Default)]
pub struct Options {
    pub image_fields: Vec<Location>,
    pub lock_fields: Vec<String>,
    pub strict: bool,
}

impl Options {
    pub fn read(input: &str) -> Options {
        let mut options = Options::default();
        for line in input.lines().take_while(|l| l.starts_with('#')) {
            if let Some(field) = line.strip_prefix("#image-field ") {
                // A flag clap refuses never reaches the post-renderer.
                if let Ok(location) = Location::parse(field) {
                    options.image_fields.push(location);
                }
            } else if let Some(field) = line.strip_prefix("#lock-field ") {
                options.lock_fields.push(field.to_string());
            } else if line == "#strict" {
                options.strict = true;
            }
        }
        options
    }

    /// True when the run adds no field: the fuzz lock is the lock.
    fn plain(&self) -> bool {
        self.lock_fields.is_empty() && self.image_fields.is_empty()
    }

    /// The lock `postrender` would use: the fuzz lock with the lock fields written into its text, then the
    /// `--image-field` locations added (as `postrender::run` adds them). None when the lock refuses its fields.
    fn lock(&self) -> Option<opsta_lint::lockfile::Lock> {
        let mut text = fuzz_lock_text();
        let quoted = |s: &str| serde_json::to_string(s).unwrap();
        for (i, field) in self.lock_fields.iter().enumerate() {
            if i == 0 {
                text.push_str("fields:\n");
            }
            match field.split_once(':') {
                Some((kind, path)) => text.push_str(&format!(
                    "  - kind: {}\n    path: {}\n",
                    quoted(kind),
                    quoted(path)
                )),
                None => text.push_str(&format!("  - path: {}\n", quoted(field))),
            }
        }
        let source = opsta_lint::source::Source::new("lock.yaml", text);
        let mut lock = opsta_lint::lockfile::Lock::parse(&source).ok()?;
        lock.fields.extend(self.image_fields.iter().cloned());
        Some(lock)
    }
}

/// The manifest rewriter (the post-renderer's core, on bytes): never panics; edits are disjoint, in order and
/// on character boundaries; the output equals the input outside the edits; each edit is a pinned image; the
/// output reads back as the same documents except those images; a second run changes nothing; every container
/// image of a non-CRD document is seen; every finding that points into the input points at one of its lines.
/// Half the inputs are pinned with the bundled product data, as `opsta-lint postrender` pins, so a render
/// labelled with a product's chart (`helm.sh/chart: catalyst-1.90.0`) meets the product checks too.
pub fn postrender(data: &[u8]) {
    let Ok(input) = std::str::from_utf8(data) else {
        return;
    };
    let mirrors: Vec<opsta_lint::mirror::Mirror> = if data.len().is_multiple_of(3) {
        vec![opsta_lint::mirror::Mirror::parse("docker.io=registry.corp/hub").unwrap()]
    } else {
        Vec::new()
    };
    // A copy per input: a cloned `Regex` starts with empty caches (see `target!`).
    let products = if data.len().is_multiple_of(2) {
        bundled_products().to_vec()
    } else {
        Vec::new()
    };
    let options = Options::read(input);
    check_run(input, &mirrors, &products, &options);
    check_lock_skeleton(input, &options.image_fields);
}

fn bundled_products() -> &'static [opsta_lint::product::Product] {
    static PRODUCTS: std::sync::OnceLock<Vec<opsta_lint::product::Product>> =
        std::sync::OnceLock::new();
    PRODUCTS.get_or_init(|| opsta_lint::product::Product::all().expect("the bundled product data"))
}

/// `lock --from-manifest` (with `--image-field`s): whatever names and labels the render holds, the skeleton is YAML
/// with no control character but line breaks, only the lock's own keys, and one entry per `- image:` line it
/// writes; the `fields:` it lists read back, as a lock's, to the locations it was given.
fn check_lock_skeleton(input: &str, fields: &[Location]) {
    let Ok(scan) = opsta_lint::images_in::scan(input, fields) else {
        return;
    };
    let listed = opsta_lint::lock::fields_text(fields);
    let text = opsta_lint::lock::skeleton(&scan) + &listed;
    if !fields.is_empty() {
        let lock = format!("apiVersion: opsta-lint/v1\nkind: ReleaseLock\nimages: []\n{listed}");
        let read =
            opsta_lint::lockfile::Lock::parse(&opsta_lint::source::Source::new("lock.yaml", lock))
                .unwrap_or_else(|e| {
                    panic!("the skeleton's fields do not read back: {e:#}\n{listed}")
                });
        assert_eq!(
            read.fields, fields,
            "the skeleton's fields read back otherwise:\n{listed}"
        );
    }
    assert!(
        !text.contains(|c| opsta_lint::printable::escaped(c) && c != '\n'),
        "a control character in the skeleton:\n{text}"
    );
    let docs =
        yaml::parse(&text).unwrap_or_else(|e| panic!("the skeleton is not YAML: {e}\n{text}"));
    assert_eq!(docs.len(), 1, "{text}");
    let json = docs[0].to_json();
    let top = json.as_object().expect("the skeleton is not a mapping");
    assert!(
        top.keys().all(|k| [
            "apiVersion",
            "kind",
            "product",
            "version",
            "images",
            "fields"
        ]
        .contains(&k.as_str())),
        "the skeleton has a key of its own:\n{text}"
    );
    let images = top["images"].as_array().expect("no images list");
    assert_eq!(
        images.len(),
        text.matches("\n  - image: ").count(),
        "{text}"
    );
    for entry in images {
        let keys: Vec<&String> = entry
            .as_object()
            .expect("an entry that is no mapping")
            .keys()
            .collect();
        assert_eq!(keys, ["image", "digest"], "{text}");
    }
}

/// Pins `input` against the fuzz lock (unlocked images allowed) and checks the rewriter's invariants; returns
/// the outcome when pinning succeeded.
pub fn check_pinning(
    input: &str,
    mirrors: &[opsta_lint::mirror::Mirror],
    products: &[opsta_lint::product::Product],
) -> Option<opsta_lint::pinning::Outcome> {
    check_run(input, mirrors, products, &Options::default())
}

/// `check_pinning` with the options a run may add: fields from the flag and the lock, `--strict`.
fn check_run(
    input: &str,
    mirrors: &[opsta_lint::mirror::Mirror],
    products: &[opsta_lint::product::Product],
    options: &Options,
) -> Option<opsta_lint::pinning::Outcome> {
    let parsed;
    let lock = if options.plain() {
        fuzz_lock()
    } else {
        parsed = options.lock()?;
        &parsed
    };
    let fields = &lock.fields;
    let pinning = opsta_lint::pinning::Pinning {
        lock,
        mirrors,
        allow_unlocked: true,
        input_name: "in.yaml",
        products,
        product: None,
        chart_version: None,
    };
    let Ok(mut outcome) = pinning.pin(input) else {
        return None;
    };
    if options.strict {
        opsta_lint::pinning::strict(&mut outcome.findings);
    }
    check_unsure_findings(input, &outcome.findings, fields, options.strict, products);
    let lines = input.split_inclusive(['\n', '\r']).count().max(1);
    for finding in &outcome.findings {
        let opsta_lint::findings::Location::File {
            file, line, col, ..
        } = &finding.location
        else {
            continue;
        };
        assert_eq!(file, "in.yaml", "a finding names another file");
        let (line, col) = (*line, *col);
        let at = format!("{file}:{line}:{col}");
        assert!(
            (1..=lines).contains(&line) && col >= 1,
            "a finding at {at}, outside the input's {lines} lines"
        );
    }
    let output = outcome.pieces(input).concat();
    let mut at = 0;
    for (&start, (end, text)) in &outcome.edits {
        assert!(
            at <= start && start < *end && *end <= input.len(),
            "edit {start}..{end} overlaps or is out of range"
        );
        assert!(
            !text.contains(['\n', '\r']),
            "an edit spans lines: {text:?}"
        );
        at = *end;
    }
    if outcome.failed() {
        return None;
    }
    assert_eq!(
        output.is_empty(),
        input.is_empty(),
        "an empty output for a non-empty input"
    );
    check_same_documents(input, &output, &outcome.edits, mirrors);
    let again = pinning
        .pin(&output)
        .expect("the pinned output does not read back");
    assert!(
        again.edits.is_empty() && !again.failed(),
        "a second run changes the output again: {:?} {:?}",
        again.edits,
        again.findings
    );
    check_every_image_mirrored(&output, mirrors, fields);
    check_every_container_image_seen(input, fields);
    check_every_image_like_value_judged(input, fields);
    check_every_declared_field_seen(input, fields);
    Some(outcome)
}

/// The values the scan is unsure about are warnings (errors with `--strict`), one per value when no product adds
/// paths of its own; the findings print one line each, without a control character, whatever the input holds.
fn check_unsure_findings(
    input: &str,
    findings: &[opsta_lint::findings::Finding],
    fields: &[Location],
    strict: bool,
    products: &[opsta_lint::product::Product],
) {
    use opsta_lint::findings::Severity;
    let unsure: Vec<_> = findings
        .iter()
        .filter(|f| opsta_lint::pinning::rules::UNSURE.contains(&f.code))
        .collect();
    let severity = if strict {
        Severity::Error
    } else {
        Severity::Warning
    };
    for finding in &unsure {
        assert_eq!(finding.severity, severity, "{finding:?}");
    }
    let printed = opsta_lint::output::finding_lines(findings);
    assert_eq!(printed.lines().count(), findings.len(), "{printed}");
    assert!(
        !printed.contains(|c| opsta_lint::printable::escaped(c) && c != '\n'),
        "a control character in the findings printed:\n{printed}"
    );
    if products.is_empty() {
        let scan = opsta_lint::images_in::scan(input, fields)
            .expect("the scan failed where pinning succeeded");
        assert_eq!(
            unsure.len(),
            scan.unsure.len(),
            "one finding per unsure value"
        );
    }
}

/// An independent reading of the declared fields (`--image-field`, the lock's `fields:`): the string at each
/// path, in each non-CRD document of the field's kind (or any kind), is a site, or part of an image written in
/// several keys.
fn check_every_declared_field_seen(input: &str, fields: &[Location]) {
    use opsta_lint::images_in::Step;
    if fields.is_empty() {
        return;
    }
    let scan = opsta_lint::images_in::scan(input, fields)
        .expect("the scan failed where pinning succeeded");
    let sites: std::collections::HashSet<usize> =
        scan.sites.iter().map(|s| s.range.start).collect();
    fn at_path<'n>(node: &'n Node, path: &[Step], found: &mut Vec<&'n Node>) {
        match path.split_first() {
            None => found.push(node),
            Some((Step::Key(key), rest)) => {
                if let Value::Map(entries) = &node.value {
                    for (k, v) in entries {
                        if k.key_text().as_deref() == Some(key.as_str()) {
                            at_path(v, rest, found);
                        }
                    }
                }
            }
            Some((Step::Each, rest)) => {
                if let Value::Seq(items) = &node.value {
                    items.iter().for_each(|item| at_path(item, rest, found));
                }
            }
        }
    }
    for range in opsta_lint::images_in::split_documents(input) {
        let Ok(docs) = yaml::parse(&input[range.clone()]) else {
            continue;
        };
        for doc in &docs {
            let kind = doc.get("kind").and_then(Node::as_str);
            if kind == Some("CustomResourceDefinition") {
                continue;
            }
            let mut found = Vec::new();
            for field in fields
                .iter()
                .filter(|f| f.kind.is_none() || f.kind.as_deref() == kind)
            {
                at_path(doc, &field.path, &mut found);
            }
            for node in found {
                let Value::Str(text) = &node.value else {
                    continue;
                };
                let at = node.span.start.byte + range.start;
                let composed = scan.sites.iter().any(|s| s.text.contains(text.as_str()));
                assert!(
                    sites.contains(&at) || composed,
                    "the declared field's value {text:?} at line {} is no image",
                    node.span.start.line
                );
            }
        }
    }
}

/// With mirrors, a run that succeeds leaves no image outside them: every image the output holds, wherever it
/// sits, is already where the mirrors put it.
fn check_every_image_mirrored(
    output: &str,
    mirrors: &[opsta_lint::mirror::Mirror],
    fields: &[Location],
) {
    if mirrors.is_empty() {
        return;
    }
    let scan = opsta_lint::images_in::scan(output, fields).expect("the output no longer scans");
    for site in &scan.sites {
        let Ok(image) = opsta_lint::image::ImageRef::parse(&site.text) else {
            continue;
        };
        let moved = opsta_lint::mirror::mirrored(mirrors, &image).map(|m| m.name());
        assert_eq!(
            moved,
            Ok(image.name()),
            "{}, {}: \"{image}\" is left outside the mirrors",
            site.resource,
            site.place
        );
    }
}

type Edits = std::collections::BTreeMap<usize, (usize, String)>;

/// Parses both texts document by document and compares them: equal except at the edited scalars, each an image
/// rewritten as the lock and the mirrors say (`rewritten_image`).
fn check_same_documents(
    input: &str,
    output: &str,
    edits: &Edits,
    mirrors: &[opsta_lint::mirror::Mirror],
) {
    let before = opsta_lint::images_in::split_documents(input);
    let after = opsta_lint::images_in::split_documents(output);
    assert_eq!(before.len(), after.len(), "the number of documents changed");
    for (b, a) in before.into_iter().zip(after) {
        let Ok(old) = yaml::parse(&input[b.clone()]) else {
            // Documents without an image pass unparsed, broken or not: then they must pass unchanged.
            assert_eq!(
                &input[b.clone()],
                &output[a],
                "a document that does not parse was changed"
            );
            continue;
        };
        let new = yaml::parse(&output[a.clone()])
            .unwrap_or_else(|e| panic!("a pinned document no longer parses: {e}"));
        assert_eq!(old.len(), new.len());
        let edited = Edited {
            shift: b.start,
            edits,
            mirrors,
        };
        for (o, n) in old.iter().zip(&new) {
            if let Err(e) = edited.same_except(o, n) {
                panic!(
                    "document at byte {} changed beyond its images: {e}",
                    b.start
                );
            }
        }
    }
}

/// One document of the input and what was done to it: where it starts, the edits, the mirrors.
struct Edited<'a> {
    shift: usize,
    edits: &'a Edits,
    mirrors: &'a [opsta_lint::mirror::Mirror],
}

impl Edited<'_> {
    fn same_except(&self, old: &Node, new: &Node) -> Result<(), String> {
        let (start, end) = (
            old.span.start.byte + self.shift,
            old.span.end.byte + self.shift,
        );
        if let Some((edit_end, _)) = self.edits.get(&start) {
            if *edit_end != end {
                return Err(format!(
                    "an edit covers part of a scalar at {}",
                    old.span.start.byte
                ));
            }
            return rewritten_image(old, new, self.mirrors);
        }
        if let (Value::Str(a), Value::Str(b)) = (&old.value, &new.value) {
            let inside = self.edits.range(start + 1..end.max(start + 1)).count();
            if inside > 0 {
                // Images pinned inside a YAML document a ConfigMap holds: that document reads back the same
                // except for one scalar per edit, each rewritten as a container's image is.
                return same_embedded(a, b, inside, self.mirrors);
            }
        }
        match (&old.value, &new.value) {
            (Value::Seq(a), Value::Seq(b)) if a.len() == b.len() => a
                .iter()
                .zip(b)
                .try_for_each(|(x, y)| self.same_except(x, y)),
            (Value::Map(a), Value::Map(b)) if a.len() == b.len() => {
                a.iter().zip(b).try_for_each(|((ka, va), (kb, vb))| {
                    self.same_except(ka, kb)?;
                    self.same_except(va, vb)
                })
            }
            (a, b) if same_scalar(a, b) => Ok(()),
            (a, b) => Err(format!(
                "{a:?} became {b:?} at line {}",
                old.span.start.line
            )),
        }
    }
}

fn same_scalar(a: &Value, b: &Value) -> bool {
    !matches!(a, Value::Seq(_) | Value::Map(_)) && format!("{a:?}") == format!("{b:?}")
}

/// A YAML document held in a string, before (`a`) and after pinning (`b`): both parse, and they are the same
/// documents except for `edits` scalars, each an image rewritten as the lock and the mirrors say.
fn same_embedded(
    a: &str,
    b: &str,
    edits: usize,
    mirrors: &[opsta_lint::mirror::Mirror],
) -> Result<(), String> {
    let old = yaml::parse(a).map_err(|e| format!("a document with images in a string: {e}"))?;
    let new = yaml::parse(b).map_err(|e| format!("{a:?} became {b:?}, which is not YAML: {e}"))?;
    if old.len() != new.len() {
        return Err(format!("{a:?} became {b:?}, another number of documents"));
    }
    let mut changed = std::collections::BTreeSet::new();
    for (o, n) in old.iter().zip(&new) {
        same_but_images(o, n, mirrors, &mut changed)
            .map_err(|e| format!("{a:?} became {b:?}: {e}"))?;
    }
    match changed.len() == edits {
        true => Ok(()),
        false => Err(format!(
            "{a:?} became {b:?}: {} values changed by {edits} edits",
            changed.len()
        )),
    }
}

/// Compares two trees: equal but for scalars rewritten as images (`changed` collects where each starts: an alias
/// reads as a copy of its anchored scalar, which one edit rewrote).
fn same_but_images(
    old: &Node,
    new: &Node,
    mirrors: &[opsta_lint::mirror::Mirror],
    changed: &mut std::collections::BTreeSet<usize>,
) -> Result<(), String> {
    match (&old.value, &new.value) {
        (Value::Seq(a), Value::Seq(b)) if a.len() == b.len() => a
            .iter()
            .zip(b)
            .try_for_each(|(x, y)| same_but_images(x, y, mirrors, changed)),
        (Value::Map(a), Value::Map(b)) if a.len() == b.len() => {
            a.iter().zip(b).try_for_each(|((ka, va), (kb, vb))| {
                same_but_images(ka, kb, mirrors, changed)?;
                same_but_images(va, vb, mirrors, changed)
            })
        }
        (a, b) if same_scalar(a, b) => Ok(()),
        (Value::Seq(_) | Value::Map(_), _) => {
            Err(format!("{:?} became {:?}", old.value, new.value))
        }
        _ => {
            changed.insert(old.span.start.byte);
            rewritten_image(old, new, mirrors)
        }
    }
}

/// A scalar the post-renderer rewrote: an image that reads back with its tag, pinned to the lock's digest (or
/// with the digest it had, when the lock lacks it), under the mirror the mirrors give it; or the digest key of
/// an image written in several keys, which was empty or a digest.
fn rewritten_image(
    old: &Node,
    new: &Node,
    mirrors: &[opsta_lint::mirror::Mirror],
) -> Result<(), String> {
    use opsta_lint::image::ImageRef;
    use opsta_lint::lockfile::Verdict;
    let (Some(before), Value::Str(after)) = (old.key_text(), &new.value) else {
        return Err(format!("a pinned image reads back as {:?}", new.value));
    };
    if after.starts_with("sha256:") {
        opsta_lint::image::check_digest(after).map_err(|e| format!("{after}: {e}"))?;
        if !(before.is_empty() || before.starts_with("sha256:")) {
            return Err(format!("{before:?} was replaced by a digest"));
        }
        return Ok(());
    }
    let before = ImageRef::parse(&before).map_err(|e| format!("{before} was rewritten: {e}"))?;
    let after = ImageRef::parse(after).map_err(|e| format!("{after}: {e}"))?;
    if after.tag != before.tag {
        return Err(format!("{before} lost its tag as {after}"));
    }
    let origin = opsta_lint::mirror::unmirrored(mirrors, &before);
    let digest = match fuzz_lock().verdict(&origin) {
        Verdict::Pinned(digest) => Some(digest),
        _ => before.digest.clone(),
    };
    if after.digest != digest {
        return Err(format!("{before} became {after}, not pinned to {digest:?}"));
    }
    let name = opsta_lint::mirror::mirrored(mirrors, &origin).map(|m| m.name());
    if name.as_ref() != Ok(&after.name()) {
        return Err(format!("{before} became {after}, not named {name:?}"));
    }
    Ok(())
}

/// An independent reading of the wider rule (docs/images.md): every non-empty string under a key that names an
/// image (ends in `image`, `Image` or `IMAGE`, once a trailing `Name`, `_name`, `_NAME`, `-name`, `name` or `NAME`
/// is taken off), outside CustomResourceDefinitions, is a site, an unsure value reported at its line and column,
/// or part of an image written in several keys.
fn check_every_image_like_value_judged(input: &str, fields: &[Location]) {
    let Ok(scan) = opsta_lint::images_in::scan(input, fields) else {
        panic!("the scan failed where pinning succeeded");
    };
    let sites: std::collections::HashSet<usize> =
        scan.sites.iter().map(|s| s.range.start).collect();
    let unsure: std::collections::HashSet<(usize, usize)> =
        scan.unsure.iter().map(|u| (u.line, u.col)).collect();
    let image_like = |key: &str| {
        let base = ["Name", "_name", "_NAME", "-name", "name", "NAME"]
            .iter()
            .fold(key, |k, suffix| {
                if k == key {
                    k.strip_suffix(suffix).unwrap_or(k)
                } else {
                    k
                }
            });
        ["image", "Image", "IMAGE"]
            .iter()
            .any(|s| base.ends_with(s))
    };
    for range in opsta_lint::images_in::split_documents(input) {
        let Ok(docs) = yaml::parse(&input[range.clone()]) else {
            continue;
        };
        let lines_before = input[..range.start].matches('\n').count();
        for doc in docs
            .iter()
            .filter(|d| d.get("kind").and_then(Node::as_str) != Some("CustomResourceDefinition"))
        {
            doc.walk(&mut |node| {
                let Value::Map(entries) = &node.value else {
                    return;
                };
                for (key, value) in entries {
                    let (Some(key), Value::Str(text)) = (key.as_str(), &value.value) else {
                        continue;
                    };
                    if !image_like(key) || text.is_empty() || value.aliased {
                        continue;
                    }
                    let at = value.span.start.byte + range.start;
                    let place = (value.span.start.line + lines_before, value.span.start.col);
                    let composed = scan.sites.iter().any(|s| s.text.contains(text.as_str()));
                    assert!(
                        sites.contains(&at) || unsure.contains(&place) || composed,
                        "{key}: {text:?} at line {} was neither an image nor reported",
                        place.0
                    );
                }
            });
        }
    }
}

/// An independent, whole-document reading of the simplest rule: the `image` of every item of a `containers`,
/// `initContainers` or `ephemeralContainers` list, in any document that is not a CustomResourceDefinition, is
/// a site of the scan.
fn check_every_container_image_seen(input: &str, fields: &[Location]) {
    let Ok(scan) = opsta_lint::images_in::scan(input, fields) else {
        panic!("the scan failed where pinning succeeded");
    };
    let sites: std::collections::HashSet<usize> =
        scan.sites.iter().map(|s| s.range.start).collect();
    for range in opsta_lint::images_in::split_documents(input) {
        let Ok(docs) = yaml::parse(&input[range.clone()]) else {
            continue;
        };
        for doc in docs
            .iter()
            .filter(|d| d.get("kind").and_then(Node::as_str) != Some("CustomResourceDefinition"))
        {
            doc.walk(&mut |node| {
                let Value::Map(entries) = &node.value else {
                    return;
                };
                for (key, list) in entries {
                    let is_list = matches!(
                        key.as_str(),
                        Some("containers" | "initContainers" | "ephemeralContainers")
                    );
                    let (true, Value::Seq(items)) = (is_list, &list.value) else {
                        continue;
                    };
                    for image in items.iter().filter_map(|c| c.get("image")) {
                        if matches!(image.value, Value::Str(_)) {
                            let at = image.span.start.byte + range.start;
                            assert!(
                                sites.contains(&at),
                                "the image at byte {at} (line {}) was not seen",
                                image.span.start.line
                            );
                        }
                    }
                }
            });
        }
    }
}

/// Image references: never panics; what parses keeps its text; the normalized forms parse back to themselves;
/// pinning, renaming and dropping the digest keep the other parts.
pub fn image(data: &[u8]) {
    use opsta_lint::image::ImageRef;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let Ok(image) = ImageRef::parse(text) else {
        return;
    };
    assert_eq!(image.raw, text);
    assert_eq!(image.to_string(), text);
    let name = ImageRef::parse(&image.name()).expect("the normalized name does not parse");
    assert_eq!(name.name(), image.name(), "normalizing is not idempotent");
    let canonical = ImageRef::parse(&image.name_and_tag()).expect("name:tag does not parse");
    assert_eq!(canonical.name_and_tag(), image.name_and_tag());
    let pinned =
        ImageRef::parse(&image.pinned(DIGEST_A).raw).expect("the pinned reference does not parse");
    assert_eq!(
        (pinned.name(), pinned.tag.clone(), pinned.digest.as_deref()),
        (image.name(), image.tag.clone(), Some(DIGEST_A))
    );
    let bare = ImageRef::parse(&image.without_digest().raw)
        .expect("the reference without digest does not parse");
    assert_eq!(
        (bare.name(), bare.tag.clone(), bare.digest.clone()),
        (image.name(), image.tag.clone(), None)
    );
    if let Ok(moved) = image.renamed("registry.corp/hub/app") {
        let again = ImageRef::parse(&moved.raw).expect("a renamed reference does not parse");
        assert_eq!(
            (again.name(), again.tag, again.digest),
            (
                "registry.corp/hub/app".to_string(),
                image.tag.clone(),
                image.digest.clone()
            )
        );
    }
}

/// The lock reader: never panics; an error names the lock file; every image a lock accepts is pinned by it to
/// the digest written for it.
pub fn lock(data: &[u8]) {
    use opsta_lint::image::ImageRef;
    use opsta_lint::lockfile::{Lock, Verdict};
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let source = opsta_lint::source::Source::new("lock.yaml", text);
    let lock = match Lock::parse(&source) {
        Ok(lock) => lock,
        Err(e) => {
            assert!(
                format!("{e:#}").starts_with("lock.yaml:"),
                "an error that does not name the lock: {e:#}"
            );
            return;
        }
    };
    let doc = &yaml::parse(text).unwrap()[0];
    let Some(Value::Seq(entries)) = doc.get("images").map(|n| &n.value) else {
        return;
    };
    for entry in entries {
        let image = ImageRef::parse(entry.get("image").and_then(Node::as_str).unwrap()).unwrap();
        let digest = entry
            .get("digest")
            .and_then(Node::as_str)
            .map(str::to_string)
            .or(image.digest.clone())
            .unwrap();
        opsta_lint::image::check_digest(&digest).expect("the lock accepted a bad digest");
        assert_eq!(
            lock.verdict(&image),
            Verdict::Pinned(digest.clone()),
            "{}",
            image.raw
        );
        if image.tag.is_some() || image.digest.is_none() {
            // A tagged entry also pins the bare tag; a digest-only entry pins only that digest.
            assert_eq!(
                lock.verdict(&image.without_digest()),
                Verdict::Pinned(digest),
                "{}",
                image.raw
            );
        }
    }
}

/// The release payload decoder: never panics; the same JSON decodes the same whether given raw, as base64, or
/// as base64 of gzip; whatever the name or status holds, the header keeps its five lines and shows no control
/// character; the printed values read back as the masked values, and no secret value is printed.
pub fn release(data: &[u8]) {
    use opsta_lint::helm_release::{decode, from_json};
    use std::io::Write;
    let _ = decode(data);
    let Ok(release) = from_json(data) else {
        return;
    };
    let b64 = |bytes: &[u8]| {
        use base64::Engine;
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(data).unwrap();
    let zipped = gz.finish().unwrap();
    if !data.starts_with(&[0x1f, 0x8b]) {
        assert_eq!(
            decode(b64(data).as_bytes()).ok(),
            Some(release.clone()),
            "base64 JSON decodes differently"
        );
    }
    assert_eq!(
        decode(b64(&zipped).as_bytes()).ok(),
        Some(release.clone()),
        "base64 gzip JSON decodes differently"
    );
    let shown = release.show();
    let masked = opsta_lint::secrets::mask_json(&release.config);
    // Five header lines, each field on its own line, whatever the release's name or status holds; then the values.
    let head: Vec<&str> = shown.lines().take(5).collect();
    assert!(
        head.len() == 5
            && head
                .iter()
                .all(|line| !line.contains(opsta_lint::printable::escaped)),
        "a field broke the header's lines:\n{shown}"
    );
    let after_head = &shown[head.iter().map(|line| line.len() + 1).sum::<usize>()..];
    assert!(
        after_head.starts_with("values "),
        "a field forged a line:\n{shown}"
    );
    if let Some(values) = after_head.strip_prefix("values (user-supplied, secrets masked):\n") {
        let docs = yaml::parse(values)
            .unwrap_or_else(|e| panic!("printed values are not YAML: {e}\n{values}"));
        assert_eq!(docs.len(), 1, "{values}");
        assert_eq!(
            docs[0].to_json(),
            masked,
            "printed values read back differently:\n{values}"
        );
    }
    // No secret is printed: changing every string under a secret-looking key changes nothing in the output.
    let summary = serde_json::to_string(&release.summary()).unwrap();
    let mut other = release.clone();
    other.config = with_secrets_changed(&release.config);
    assert_eq!(
        other.show(),
        shown,
        "a secret changes what `release` prints"
    );
    assert_eq!(
        serde_json::to_string(&other.summary()).unwrap(),
        summary,
        "a secret changes the JSON summary"
    );
}

/// `value` with every string under a secret-looking key changed.
fn with_secrets_changed(value: &serde_json::Value) -> serde_json::Value {
    use serde_json::Value;
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .map(|(k, v)| match v {
                    Value::String(s) if opsta_lint::secrets::is_secret_key(k) => {
                        (k.clone(), Value::String(format!("{s}-changed")))
                    }
                    other => (k.clone(), with_secrets_changed(other)),
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(with_secrets_changed).collect()),
        other => other.clone(),
    }
}

const TOKEN_OLD: &str = "jt-FUZZ-SECRET-0001";
const TOKEN_NEW: &str = "jt-FUZZ-SECRET-0002";

/// The diff: never panics; a manifest compared with itself shows no change; OLD→NEW changes exactly when
/// NEW→OLD does; JSON output is JSON; no control character but line breaks and tabs reaches the report; with
/// colors it is the same text once the colors are taken out; documents read in part (as `show` reads big ones)
/// show exactly what they show read whole; `--ignore` only ever hides changes; a join token and Secret data
/// added on both sides never show. The input is OLD, `\n===\n`, NEW, and optionally `\n===\n` and an
/// `--ignore` pattern.
pub fn diff(data: &[u8]) {
    use opsta_lint::changes::{show, Format, Options, Pattern};
    use opsta_lint::source::Source;
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if text.contains("FUZZ-SECRET") {
        return;
    }
    let (old, new) = text.split_once("\n===\n").unwrap_or((text, ""));
    let (new, ignore) = match new.split_once("\n===\n") {
        Some((new, pattern)) => (
            new,
            pattern.lines().next().unwrap_or("").parse::<Pattern>().ok(),
        ),
        None => (new, None),
    };
    let (old, new) = (Source::new("old.yaml", old), Source::new("new.yaml", new));
    for format in [Format::Text, Format::Json] {
        let opts = Options {
            format,
            full: true,
            ignore: ignore.clone().into_iter().collect(),
            ..Options::default()
        };
        let (forward, backward) = match (show(&old, &new, &opts), show(&new, &old, &opts)) {
            (Ok(forward), Ok(backward)) => (forward, backward),
            (forward, backward) => {
                for e in [forward.err(), backward.err()].into_iter().flatten() {
                    let e = format!("{e:#}");
                    assert!(
                        e.starts_with("old.yaml:") || e.starts_with("new.yaml:"),
                        "an error that names no file: {e}"
                    );
                }
                return;
            }
        };
        // A resource Helm keeps (`helm.sh/resource-policy: keep`) is no change when removed, but is when added.
        let keeps = old.text.contains("resource-policy") || new.text.contains("resource-policy");
        assert!(
            keeps || forward.changed == backward.changed,
            "OLD->NEW and NEW->OLD disagree on a change"
        );
        let same = show(&old, &old, &opts).unwrap();
        assert!(
            !same.changed,
            "a manifest differs from itself:\n{}",
            same.text
        );
        check_report(&forward.text, format);
        if format == Format::Text {
            let colored = show(
                &old,
                &new,
                &Options {
                    color: true,
                    ..opts.clone()
                },
            )
            .expect("colors made an error");
            assert_eq!(
                without_colors(&colored.text),
                forward.text,
                "colors changed the text"
            );
        }
        check_reading_in_part(&old, &new, &opts, &forward);
        if !opts.ignore.is_empty() {
            let bare = Options {
                ignore: Vec::new(),
                ..opts.clone()
            };
            let seen = show(&old, &new, &bare).expect("--ignore hid an error");
            assert!(seen.changed || !forward.changed, "--ignore made a change");
        }
        check_secrets_hidden(&old.text, &new.text, &opts);
    }
}

/// A report is JSON when asked for, and holds no control character but line breaks and tabs.
fn check_report(text: &str, format: opsta_lint::changes::Format) {
    if format == opsta_lint::changes::Format::Json {
        serde_json::from_str::<serde_json::Value>(text).expect("-o json is not JSON");
    }
    assert!(
        !text.contains(|c| opsta_lint::printable::escaped(c) && !matches!(c, '\n' | '\t')),
        "a control character reached the report:\n{text}"
    );
}

/// `shown` (what `diff` printed) is the report of the documents read whole, and reading every changed document
/// in part, however small, gives that report too wherever it can be done.
fn check_reading_in_part(
    old: &opsta_lint::source::Source,
    new: &opsta_lint::source::Source,
    opts: &opsta_lint::changes::Options,
    shown: &opsta_lint::changes::Shown,
) {
    use opsta_lint::changes::{show_in_part, show_whole};
    let whole = show_whole(old, new, opts)
        .unwrap_or_else(|e| panic!("shown in part, but read whole: {e:#}"));
    assert_eq!(shown.text, whole.text, "show differs from reading whole");
    let part = show_in_part(old, new, opts)
        .unwrap_or_else(|e| panic!("shown whole, but read in part: {e:#}"));
    if let Some(part) = part {
        assert_eq!(
            part.text, whole.text,
            "reading in part shows something else"
        );
        assert_eq!(part.changed, whole.changed);
    }
}

/// A join token and Secret data changed between the two sides are seen as a change and never shown.
fn check_secrets_hidden(old: &str, new: &str, opts: &opsta_lint::changes::Options) {
    use opsta_lint::source::Source;
    let secrets = |token: &str| {
        format!(
            "\n---\napiVersion: v1\nkind: Secret\nmetadata:\n  name: fuzz-s\nstringData:\n  key: {token}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: fuzz-c\ndata:\n  config.yaml: |\n    host:\n      join_token: {token}\n"
        )
    };
    let with_old = Source::new("old.yaml", format!("{old}{}", secrets(TOKEN_OLD)));
    let with_new = Source::new("new.yaml", format!("{new}{}", secrets(TOKEN_NEW)));
    for (a, b) in [(&with_old, &with_new), (&with_new, &with_old)] {
        let Ok(shown) = opsta_lint::changes::show(a, b, opts) else {
            continue;
        };
        assert!(shown.changed, "the token change was not seen");
        assert!(
            !shown.text.contains(TOKEN_OLD) && !shown.text.contains(TOKEN_NEW),
            "a secret is shown:\n{}",
            shown.text
        );
    }
}

/// The text with its SGR sequences (`ESC [ digits and ; m`, the only escapes the report writes) taken out.
fn without_colors(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find("\x1b[") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let end = after
            .find(|c: char| !c.is_ascii_digit() && c != ';')
            .expect("an escape sequence cut short");
        assert_eq!(&after[end..end + 1], "m", "an escape that is no color");
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

const MASK_SECRET: &str = "FUZZMASKSECRET42";

/// The ways a secret is written in free text; `{}` is the secret.
const SECRET_LINES: &[&str] = &[
    "join_token: {}",
    "  password: \"{}\"",
    "\"apiKey\": \"{}\",",
    "export API_TOKEN={}",
    "--db-password={}",
    "- name: DB_PASSWORD\n  value: '{}'",
    "client_secret: |-\n  {}\n\n  {}",
    "  token: >\n    {}",
    "  url: postgres://app:{}@db:5432/x",
    "<config><password>{}</password></config>",
    "exec /app --api-token {} -v",
    "- --password\n- \"{}\"",
    "-----BEGIN RSA PRIVATE KEY-----\n{}\n{}\n-----END RSA PRIVATE KEY-----",
    "cfg: {\"auths\":{\"r\":{\"auth\":\"{}\",\"email\":\"e\"}}}",
    "DB_PASS={}",
    "password = {}",
];

/// Free-text masking (`secrets::mask_text`, used on errors, findings and config text that does not parse):
/// never panics; keeps every line, its indentation and its ending; leaves text with no secret-looking key as it
/// is; hiding twice changes nothing; a secret written in any known form, put between any two lines of the
/// input, never shows.
pub fn mask(data: &[u8]) {
    use opsta_lint::secrets::{mask_text, may_hold_secret};
    let Some((&choice, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    if text.contains(MASK_SECRET) {
        return;
    }
    let masked = mask_text(text);
    assert_eq!(
        masked.matches('\n').count(),
        text.matches('\n').count(),
        "lines added or lost"
    );
    for (a, b) in text.split_inclusive('\n').zip(masked.split_inclusive('\n')) {
        let indent = |l: &str| l.len() - l.trim_start_matches(' ').len();
        assert_eq!(indent(a), indent(b), "indentation changed: {a:?} -> {b:?}");
        assert_eq!(
            a.ends_with('\r'),
            b.ends_with('\r'),
            "line ending changed: {a:?} -> {b:?}"
        );
    }
    if !may_hold_secret(text) {
        assert_eq!(masked, text, "text with no secret-looking key was changed");
    }
    assert_eq!(mask_text(&masked), masked, "masking twice changes the text");
    let lines: Vec<&str> = text.split_inclusive('\n').collect();
    let at = usize::from(choice >> 4) % (lines.len() + 1);
    let form = SECRET_LINES[usize::from(choice & 15)].replace("{}", MASK_SECRET);
    let mut injected = lines[..at].concat();
    if !injected.is_empty() && !injected.ends_with('\n') {
        injected.push('\n');
    }
    injected.push_str(&form);
    injected.push('\n');
    injected.push_str(&lines[at..].concat());
    let shown = mask_text(&injected);
    assert!(
        !shown.contains(MASK_SECRET),
        "a secret shows:\n{injected}\n->\n{shown}"
    );
}
