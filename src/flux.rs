//! `opsta-lint lock flux`: the lock where Flux runs. Flux's helm-controller cannot run a post-renderer binary; its
//! `spec.postRenderers` accept only kustomize `images` and `patches`. This writes those so that kustomize gives
//! every image exactly what `opsta-lint postrender` would, and checks (`--check`) that a HelmRelease's
//! postRenderers pin every image of a render.
//!
//! One mechanism: the post-renderer decides (lock, mirrors, product checks); the difference between the render and
//! the pinned render, value by value, is what the postRenderers must do. A changed value kustomize's image
//! transformer reaches (`image` of a `containers` or `initContainers` item, at any depth) goes to `images` when one
//! entry gives every use of that name its pinned value; every other change is a JSON 6902 patch on its one
//! object, a `test` of the value as rendered then a `replace`, so a chart that moves the value makes the patch fail
//! instead of missing it. Whether the `images` entries do what they should is found by applying them as kustomize
//! does (`kustomize_image`) to every string they can reach; an entry that would give anything else becomes patches.

use crate::findings::Severity;
use crate::findings::{self, Finding};
use crate::image::ImageRef;
use crate::images_in::{self, Location, Pin};
use crate::lockfile::Lock;
use crate::mirror::Mirror;
use crate::pinning::{rules, Outcome, Pinning};
use crate::product::Product;
use crate::source::Source;
use anyhow::{bail, Result};
use serde_json::Value as Json;

/// The end of `--help`: one example and the exit codes.
pub const HELP_FOOTER: &str = "\
Example:
  opsta-lint lock flux --from-manifest testdata/gitops/cnpg.yaml --lock testdata/locks/cnpg.yaml

Exit codes:
  0  postRenderers written (--check: every image is pinned by them)
  1  findings: an image not locked or not expressible (--check: not pinned); nothing on stdout
  2  could not run: bad arguments, unreadable or malformed input";

/// Arguments of `opsta-lint lock flux`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The rendered release (`helm template ...` output, or `-` for stdin) the postRenderers are for.
    #[arg(long, value_name = "FILE")]
    pub from_manifest: String,
    /// The image lock to pin to (ReleaseLock or imgpkg ImagesLock). With --check: also require the lock's digests.
    #[arg(long, value_name = "FILE", required_unless_present = "check")]
    pub lock: Option<String>,
    /// Instead of writing postRenderers: fail when an image of the render is not pinned by the postRenderers of
    /// this HelmRelease (or of a file holding `postRenderers:` as `lock flux` writes it).
    #[arg(long, value_name = "HELMRELEASE")]
    pub check: Option<String>,
    /// Move images under a mirror as `postrender --mirror` does: FROM a registry or repository prefix, TO its copy.
    #[arg(long, value_name = "FROM=TO", value_parser = Mirror::parse)]
    pub mirror: Vec<Mirror>,
    /// The chart version for the product checks (default: the `helm.sh/chart` labels of the render).
    #[arg(long, value_name = "SEMVER")]
    pub chart_version: Option<String>,
    /// The product whose checks apply (default: the lock's `product`, else the render's chart).
    #[arg(long, value_name = "NAME")]
    pub product: Option<String>,
    /// Also look for images at PATH in resources of KIND (`Runner:spec.runner.image`); repeatable.
    #[arg(long, value_name = "KIND:PATH", value_parser = Location::parse)]
    pub image_field: Vec<Location>,
}

/// One object of the render, as kustomize sees it (a `List`'s items are objects of their own).
struct Object {
    target: Option<Target>,
    json: Json,
}

/// What a kustomize patch `target` selects: the object's group, version, kind, name and namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Target {
    group: String,
    version: String,
    kind: String,
    name: String,
    namespace: Option<String>,
}

impl std::fmt::Display for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = crate::printable::shown;
        match &self.namespace {
            Some(ns) => write!(
                f,
                "{} {}/{}",
                shown(&self.kind),
                shown(ns),
                shown(&self.name)
            ),
            None => write!(f, "{} {}", shown(&self.kind), shown(&self.name)),
        }
    }
}

/// One value the pinning changes: in which object, where (a JSON pointer), from what to what.
#[derive(Debug, Clone)]
struct Change {
    object: usize,
    pointer: String,
    old: String,
    new: String,
}

/// A kustomize `images` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct ImageEntry {
    name: String,
    new_name: Option<String>,
    new_tag: Option<String>,
    digest: Option<String>,
}

/// One JSON 6902 operation of a patch.
#[derive(Debug, Clone, PartialEq)]
struct Op {
    op: String,
    path: String,
    value: Option<Json>,
}

/// A kustomize patch: a JSON 6902 patch and the object it targets.
#[derive(Debug, Clone)]
struct Patch {
    target: Target,
    ops: Vec<Op>,
}

/// What `lock flux` writes.
#[derive(Debug, Default)]
struct PostRenderers {
    images: Vec<ImageEntry>,
    patches: Vec<Patch>,
}

pub fn run(args: &Args) -> Result<u8> {
    crate::image_fields::Known::get()?;
    let source = Source::read(&args.from_manifest)?;
    match &args.check {
        Some(helmrelease) => check(args, &source, helmrelease),
        None => generate(args, &source),
    }
}

fn read_lock(args: &Args) -> Result<Option<Lock>> {
    let Some(path) = &args.lock else {
        return Ok(None);
    };
    let mut lock = Lock::read(path)?;
    lock.fields.extend(args.image_field.iter().cloned());
    Ok(Some(lock))
}

/// The post-renderer's decisions on a render.
fn pin(args: &Args, lock: &Lock, source: &Source) -> Result<Outcome> {
    let products = Product::all()?;
    if let Some(name) = &args.product {
        Product::load(name)?;
    }
    let pinning = Pinning {
        lock,
        mirrors: &args.mirror,
        allow_unlocked: false,
        input_name: &source.name,
        products: &products,
        product: args.product.as_deref(),
        chart_version: args.chart_version.as_deref(),
    };
    pinning.pin(&source.text)
}

fn generate(args: &Args, source: &Source) -> Result<u8> {
    let lock = read_lock(args)?.expect("clap requires --lock without --check");
    let outcome = pin(args, &lock, source)?;
    let mut text = None;
    let mut findings_extra = Vec::new();
    if !outcome.failed() {
        let pinned = outcome.pieces(&source.text).concat();
        let before = objects(source)?;
        let after = objects(&Source::new(&source.name, pinned))?;
        let (post_renderers, refused) = plan(&before, &after, &source.name)?;
        findings_extra = refused;
        text = Some(post_renderers.yaml(&source.name, &lock.name));
    }
    let mut findings = outcome.findings;
    findings.extend(findings_extra);
    let failed = report(
        &mut findings,
        "lock flux",
        "nothing was written to standard output",
    );
    match text {
        Some(text) if !failed => {
            print!("{text}");
            Ok(crate::exit::OK)
        }
        _ => Ok(crate::exit::FINDINGS),
    }
}

/// Prints the findings (errors first) on stderr, then a summary line; true when any is an error.
fn report(findings: &mut [Finding], command: &str, when_failed: &str) -> bool {
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    let errors = findings
        .iter()
        .filter(|f| f.severity == Severity::Error)
        .count();
    crate::output::print_findings(findings);
    if errors > 0 {
        eprintln!("opsta-lint {command}: {errors} error(s); {when_failed}");
    }
    errors > 0
}

/// The objects of a render, in order.
fn objects(source: &Source) -> Result<Vec<Object>> {
    let mut out = Vec::new();
    for doc in source.yaml()? {
        let json = doc.to_json();
        let list = json["kind"].as_str().is_some_and(|k| k.ends_with("List"));
        match json.get("items").and_then(Json::as_array) {
            Some(items) if list => out.extend(items.iter().map(|i| object(i.clone()))),
            _ if json.is_null() => {}
            _ => out.push(object(json)),
        }
    }
    Ok(out)
}

fn object(json: Json) -> Object {
    let text = |v: &Json| v.as_str().map(str::to_string);
    let api = json["apiVersion"].as_str().unwrap_or_default();
    let (group, version) = match api.rsplit_once('/') {
        Some((group, version)) => (group.to_string(), version.to_string()),
        None => (String::new(), api.to_string()),
    };
    let target = match (text(&json["kind"]), text(&json["metadata"]["name"])) {
        (Some(kind), Some(name)) if !kind.is_empty() && !name.is_empty() => Some(Target {
            group,
            version,
            kind,
            name,
            namespace: text(&json["metadata"]["namespace"]).filter(|n| !n.is_empty()),
        }),
        _ => None,
    };
    Object { target, json }
}

/// Every string that differs between two objects of the same shape, by JSON pointer.
fn changes(object: usize, before: &Json, after: &Json, pointer: &str, out: &mut Vec<Change>) {
    match (before, after) {
        (Json::Object(a), Json::Object(b)) => {
            for (key, value) in a {
                if let Some(other) = b.get(key) {
                    let pointer = format!("{pointer}/{}", escape(key));
                    changes(object, value, other, &pointer, out);
                }
            }
        }
        (Json::Array(a), Json::Array(b)) => {
            for (i, (x, y)) in a.iter().zip(b).enumerate() {
                changes(object, x, y, &format!("{pointer}/{i}"), out);
            }
        }
        (Json::String(old), Json::String(new)) if old != new => out.push(Change {
            object,
            pointer: pointer.to_string(),
            old: old.clone(),
            new: new.clone(),
        }),
        _ => {}
    }
}

/// A key as a JSON pointer step (RFC 6901).
fn escape(key: &str) -> String {
    key.replace('~', "~0").replace('/', "~1")
}

/// Whether kustomize's image transformer reaches the value at `pointer`: the `image` of an item of a
/// `containers` or `initContainers` list, at any depth.
fn reachable(pointer: &str) -> bool {
    let steps: Vec<&str> = pointer.rsplit('/').take(3).collect();
    matches!(steps.as_slice(), ["image", index, list]
        if index.bytes().all(|b| b.is_ascii_digit()) && matches!(*list, "containers" | "initContainers"))
}

/// Every string kustomize's image transformer reaches, by object and pointer.
fn reachable_strings(json: &Json, pointer: &str, out: &mut Vec<String>) {
    match json {
        Json::Object(map) => {
            for (key, value) in map {
                reachable_strings(value, &format!("{pointer}/{}", escape(key)), out);
            }
        }
        Json::Array(items) => {
            for (i, item) in items.iter().enumerate() {
                reachable_strings(item, &format!("{pointer}/{i}"), out);
            }
        }
        Json::String(_) if reachable(pointer) => out.push(pointer.to_string()),
        _ => {}
    }
}

/// An image value as kustomize splits it: name, tag, digest (`name:tag@digest`).
fn kustomize_split(value: &str) -> (&str, &str, &str) {
    let (rest, digest) = value.split_once('@').unwrap_or((value, ""));
    let slash = rest.rfind('/').map_or(0, |i| i + 1);
    match rest[slash..].rfind(':') {
        Some(colon) => (&rest[..slash + colon], &rest[slash + colon + 1..], digest),
        None => (rest, "", digest),
    }
}

/// What one kustomize `images` entry makes of a value it reaches: the new value, or None when its name does not
/// match (kustomize v5: the tag or digest given replaces both the old tag and digest; newName the name).
fn kustomize_image(entry: &ImageEntry, value: &str) -> Option<String> {
    let rest = value.strip_prefix(entry.name.as_str())?;
    if !(rest.is_empty() || rest.starts_with([':', '@'])) {
        return None;
    }
    let (_, mut tag, mut digest) = kustomize_split(value);
    let name = entry.new_name.as_deref().unwrap_or(&entry.name);
    match (&entry.new_tag, &entry.digest) {
        (None, None) => {}
        (Some(t), Some(d)) => (tag, digest) = (t, d),
        (Some(t), None) => (tag, digest) = (t, ""),
        (None, Some(d)) => (tag, digest) = ("", d),
    }
    let mut out = name.to_string();
    if !tag.is_empty() {
        out = format!("{out}:{tag}");
    }
    if !digest.is_empty() {
        out = format!("{out}@{digest}");
    }
    Some(out)
}

/// The `images` entry that turns `old` into `new`.
fn entry_for(old: &str, new: &str) -> ImageEntry {
    let (name, _, _) = kustomize_split(old);
    let (new_name, new_tag, digest) = kustomize_split(new);
    let some = |s: &str| (!s.is_empty()).then(|| s.to_string());
    ImageEntry {
        name: name.to_string(),
        new_name: (new_name != name).then(|| new_name.to_string()),
        new_tag: some(new_tag),
        digest: some(digest),
    }
}

/// The value at `pointer` (RFC 6901).
fn at_pointer<'a>(json: &'a Json, pointer: &str) -> Option<&'a Json> {
    json.pointer(pointer)
}

/// Decides the postRenderers that turn `before` into `after`, and the changes they cannot express.
fn plan(before: &[Object], after: &[Object], input: &str) -> Result<(PostRenderers, Vec<Finding>)> {
    if before.len() != after.len() {
        bail!("{input}: the pinned render has another number of objects (a bug: please report it)");
    }
    let mut all = Vec::new();
    for (i, (a, b)) in before.iter().zip(after).enumerate() {
        changes(i, &a.json, &b.json, "", &mut all);
    }
    let mut findings = Vec::new();
    let mut expressible = Vec::new();
    for change in all {
        match refusal(before, &change, input) {
            Some(finding) => findings.push(finding),
            None => expressible.push(change),
        }
    }
    let mut names: Vec<String> = Vec::new();
    for change in expressible.iter().filter(|c| reachable(&c.pointer)) {
        let name = kustomize_split(&change.old).0.to_string();
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let mut images: Vec<ImageEntry> = Vec::new();
    for name in names {
        let group: Vec<&Change> = expressible
            .iter()
            .filter(|c| reachable(&c.pointer) && kustomize_split(&c.old).0 == name)
            .collect();
        let entry = entry_for(&group[0].old, &group[0].new);
        if group.iter().all(|c| entry_for(&c.old, &c.new) == entry) {
            images.push(entry);
        }
    }
    // Apply the entries as kustomize would; an entry that gives any reached value another value than the pinned
    // render's is dropped (its changes become patches), until every reached value comes out right.
    loop {
        let patched = |c: &Change| !images.iter().any(|e| kustomize_image(e, &c.old).is_some());
        let patched: Vec<&Change> = expressible.iter().filter(|c| patched(c)).collect();
        let wrong = wrong_entries(before, after, &patched, &images);
        if wrong.is_empty() {
            break;
        }
        images.retain(|e| !wrong.contains(e));
    }
    let in_images = |c: &Change| {
        reachable(&c.pointer) && images.iter().any(|e| kustomize_image(e, &c.old).is_some())
    };
    let mut patches: Vec<Patch> = Vec::new();
    for change in expressible.iter().filter(|c| !in_images(c)) {
        let target = before[change.object]
            .target
            .clone()
            .expect("refused without a target");
        let ops = [
            op("test", &change.pointer, &change.old),
            op("replace", &change.pointer, &change.new),
        ];
        match patches.iter_mut().find(|p| p.target == target) {
            Some(patch) => patch.ops.extend(ops),
            None => patches.push(Patch {
                target,
                ops: ops.to_vec(),
            }),
        }
    }
    Ok((PostRenderers { images, patches }, findings))
}

fn op(name: &str, path: &str, value: &str) -> Op {
    Op {
        op: name.into(),
        path: path.into(),
        value: Some(Json::String(value.into())),
    }
}

/// The entries that, applied after the patches to every value kustomize reaches, give one another value than
/// the pinned render holds.
fn wrong_entries(
    before: &[Object],
    after: &[Object],
    patched: &[&Change],
    images: &[ImageEntry],
) -> Vec<ImageEntry> {
    let mut wrong = Vec::new();
    for (i, object) in before.iter().enumerate() {
        let mut pointers = Vec::new();
        reachable_strings(&object.json, "", &mut pointers);
        for pointer in pointers {
            let patch = patched
                .iter()
                .find(|c| c.object == i && c.pointer == pointer);
            let Some(Json::String(rendered)) = at_pointer(&object.json, &pointer) else {
                continue;
            };
            let mut value = patch.map_or(rendered.clone(), |c| c.new.clone());
            let mut used = Vec::new();
            for entry in images {
                if let Some(new) = kustomize_image(entry, &value) {
                    used.push(entry.clone());
                    value = new;
                }
            }
            let expected = at_pointer(&after[i].json, &pointer).and_then(Json::as_str);
            if expected != Some(value.as_str()) {
                for entry in used {
                    if !wrong.contains(&entry) {
                        wrong.push(entry);
                    }
                }
            }
        }
    }
    wrong
}

/// Why a change cannot be a precise patch, if it cannot (a finding on the render `input`).
fn refusal(objects: &[Object], change: &Change, input: &str) -> Option<Finding> {
    let object = &objects[change.object];
    let finding = |code, message: String| {
        Some(Finding {
            code,
            severity: Severity::Error,
            location: findings::Location::file(input),
            path: None,
            message,
        })
    };
    let Some(target) = &object.target else {
        return finding(
            rules::FLUX_NO_TARGET,
            format!(
                "the value at {} of an object without kind or metadata.name changes when pinned; a kustomize \
                 patch cannot target it: give the object a kind and a name",
                change.pointer
            ),
        );
    };
    let twins = objects
        .iter()
        .filter(|o| o.target.as_ref() == Some(target))
        .count();
    if twins > 1 {
        return finding(
            rules::FLUX_NO_TARGET,
            format!(
                "{target} is in the render {twins} times; a kustomize patch cannot target one of them (kustomize \
                 refuses the render too)"
            ),
        );
    }
    let embedded = change.old.contains('\n') || ImageRef::parse(&change.old).is_err();
    if embedded {
        return finding(
            rules::FLUX_EMBEDDED_TEXT,
            format!(
                "{target}, {}: an image inside a text value is pinned by rewriting the whole value; a patch \
                 would put all of it in git (join tokens and keys included): pin it through the chart's values \
                 (a tag@digest in the image value) instead",
                change.pointer
            ),
        );
    }
    None
}

impl PostRenderers {
    /// The `postRenderers:` block, as YAML to put under the HelmRelease's `spec`.
    fn yaml(&self, input: &str, lock: &str) -> String {
        let y = crate::yaml::write::scalar_text;
        let shown = crate::printable::shown;
        let mut out = format!(
            "# opsta-lint lock flux: every image of {} pinned to {}; put under the HelmRelease's spec\n\
             postRenderers:\n  - kustomize:\n",
            shown(input),
            shown(lock)
        );
        if self.images.is_empty() && self.patches.is_empty() {
            out.push_str("      images: []\n");
        }
        if !self.images.is_empty() {
            out.push_str("      images:\n");
        }
        for entry in &self.images {
            out.push_str(&format!("        - name: {}\n", y(&entry.name)));
            let fields = [
                ("newName", &entry.new_name),
                ("newTag", &entry.new_tag),
                ("digest", &entry.digest),
            ];
            for (key, value) in fields {
                if let Some(value) = value {
                    out.push_str(&format!("          {key}: {}\n", double_quoted(value)));
                }
            }
        }
        if !self.patches.is_empty() {
            out.push_str("      patches:\n");
        }
        for patch in &self.patches {
            let t = &patch.target;
            out.push_str("        - target:\n");
            if !t.group.is_empty() {
                out.push_str(&format!("            group: {}\n", y(&t.group)));
            }
            out.push_str(&format!("            version: {}\n", y(&t.version)));
            out.push_str(&format!("            kind: {}\n", y(&t.kind)));
            out.push_str(&format!("            name: {}\n", y(&t.name)));
            if let Some(ns) = &t.namespace {
                out.push_str(&format!("            namespace: {}\n", y(ns)));
            }
            out.push_str("          patch: |\n");
            for op in &patch.ops {
                out.push_str(&format!("            - op: {}\n", op.op));
                out.push_str(&format!("              path: {}\n", y(&op.path)));
                if let Some(Json::String(value)) = &op.value {
                    out.push_str(&format!("              value: {}\n", double_quoted(value)));
                }
            }
        }
        out
    }
}

/// A string as a YAML double-quoted scalar (a tag such as `1.27` stays a string).
fn double_quoted(text: &str) -> String {
    serde_json::to_string(text).expect("a string serializes")
}

// ---- --check ----

/// The postRenderers of a HelmRelease (or of a file holding `postRenderers:`), as the check can evaluate them.
fn read_post_renderers(source: &Source) -> Result<(PostRenderers, Vec<Finding>)> {
    let docs = source.yaml()?;
    let json: Vec<Json> = docs.iter().map(|d| d.to_json()).collect();
    let list = json.iter().find_map(|doc| {
        doc.pointer("/spec/postRenderers")
            .or_else(|| doc.get("postRenderers"))
    });
    let Some(list) = list else {
        bail!(
            "{}: no spec.postRenderers (nor postRenderers) found: give the HelmRelease, or the file `opsta-lint \
             lock flux` wrote",
            source.name
        );
    };
    let Some(list) = list.as_array() else {
        bail!("{}: postRenderers must be a list", source.name);
    };
    let mut found = PostRenderers::default();
    let mut findings = Vec::new();
    let unevaluable = |what: String| {
        Finding {
        code: rules::FLUX_UNEVALUABLE,
        severity: Severity::Error,
        location: findings::Location::file(&source.name),
        path: None,
        message: format!(
            "{what}: the check cannot tell what it does to the images, so it cannot say every image is pinned; \
             write it as `lock flux` does (images, or JSON 6902 patches with a kind and name target)"
        ),
    }
    };
    for (i, renderer) in list.iter().enumerate() {
        let Some(kustomize) = renderer.get("kustomize") else {
            continue;
        };
        for key in ["patchesStrategicMerge", "patchesJson6902"] {
            if kustomize.get(key).is_some() {
                findings.push(unevaluable(format!("postRenderers[{i}].kustomize.{key}")));
            }
        }
        for entry in kustomize["images"].as_array().into_iter().flatten() {
            let text = |key: &str| entry[key].as_str().map(str::to_string);
            let Some(name) = text("name") else {
                bail!("{}: an images entry has no name", source.name);
            };
            found.images.push(ImageEntry {
                name,
                new_name: text("newName"),
                new_tag: text("newTag").or_else(|| entry["newTag"].as_f64().map(|f| f.to_string())),
                digest: text("digest"),
            });
        }
        for (j, patch) in kustomize["patches"]
            .as_array()
            .into_iter()
            .flatten()
            .enumerate()
        {
            let what = format!("postRenderers[{i}].kustomize.patches[{j}]");
            match read_patch(patch) {
                Ok(patch) => found.patches.push(patch),
                Err(why) => findings.push(unevaluable(format!("{what} ({why})"))),
            }
        }
    }
    Ok((found, findings))
}

/// A patch the check can evaluate: a JSON 6902 patch with a target naming a kind and a name.
fn read_patch(patch: &Json) -> Result<Patch, String> {
    let target = &patch["target"];
    let text = |key: &str| target[key].as_str().map(str::to_string);
    for key in ["labelSelector", "annotationSelector"] {
        if target.get(key).is_some() {
            return Err(format!("a target by {key}"));
        }
    }
    let (Some(kind), Some(name)) = (text("kind"), text("name")) else {
        return Err("a target without kind and name".into());
    };
    let target = Target {
        group: text("group").unwrap_or_default(),
        version: text("version").unwrap_or_default(),
        kind,
        name,
        namespace: text("namespace"),
    };
    let body = patch["patch"].as_str().ok_or("no patch text")?;
    let docs =
        crate::yaml::parse(body).map_err(|e| format!("the patch is not YAML: {}", e.message))?;
    let ops = match docs.first().map(|d| d.to_json()) {
        Some(Json::Array(ops)) => ops,
        _ => return Err("a strategic-merge patch".into()),
    };
    let ops = ops
        .iter()
        .map(|o| {
            let name = o["op"].as_str().unwrap_or_default();
            if !["test", "replace", "add", "remove"].contains(&name) {
                return Err(format!(
                    "JSON 6902 op \"{}\"",
                    crate::printable::shown(name)
                ));
            }
            Ok(Op {
                op: name.into(),
                path: o["path"].as_str().ok_or("an op without path")?.into(),
                value: o.get("value").cloned(),
            })
        })
        .collect::<Result<Vec<_>, String>>()?;
    Ok(Patch { target, ops })
}

/// Whether a patch target selects an object (kustomize reads each field as an anchored regular expression).
fn selects(selector: &Target, object: &Target) -> bool {
    let matches = |pattern: &str, value: &str| {
        pattern.is_empty()
            || regex::Regex::new(&format!("^(?:{pattern})$"))
                .map_or(pattern == value, |re| re.is_match(value))
    };
    matches(&selector.group, &object.group)
        && matches(&selector.version, &object.version)
        && matches(&selector.kind, &object.kind)
        && matches(&selector.name, &object.name)
        && selector
            .namespace
            .as_deref()
            .is_none_or(|ns| matches(ns, object.namespace.as_deref().unwrap_or_default()))
}

/// Applies one JSON 6902 operation; Err says why it fails.
fn apply_op(json: &mut Json, op: &Op) -> Result<(), String> {
    let (parent, last) = match op.path.rsplit_once('/') {
        Some(split) => split,
        None => return Err(format!("path \"{}\" is not a JSON pointer", op.path)),
    };
    let key = last.replace("~1", "/").replace("~0", "~");
    let missing = || format!("{} does not exist", op.path);
    match op.op.as_str() {
        "test" => match json.pointer(&op.path) {
            Some(value) if Some(value) == op.value.as_ref() => Ok(()),
            Some(value) => Err(format!(
                "{} is {value}, not {}",
                op.path,
                op.value.clone().unwrap_or_default()
            )),
            None => Err(missing()),
        },
        "replace" => {
            let slot = json.pointer_mut(&op.path).ok_or_else(missing)?;
            *slot = op.value.clone().unwrap_or_default();
            Ok(())
        }
        "add" => match json.pointer_mut(parent).ok_or_else(missing)? {
            Json::Object(map) => {
                map.insert(key, op.value.clone().unwrap_or_default());
                Ok(())
            }
            Json::Array(items) => {
                let at = if key == "-" {
                    items.len()
                } else {
                    key.parse().map_err(|_| missing())?
                };
                if at > items.len() {
                    return Err(missing());
                }
                items.insert(at, op.value.clone().unwrap_or_default());
                Ok(())
            }
            _ => Err(missing()),
        },
        _ => match json.pointer_mut(parent).ok_or_else(missing)? {
            Json::Object(map) => map.shift_remove(&key).map(|_| ()).ok_or_else(missing),
            Json::Array(items) => match key.parse::<usize>() {
                Ok(at) if at < items.len() => {
                    items.remove(at);
                    Ok(())
                }
                _ => Err(missing()),
            },
            _ => Err(missing()),
        },
    }
}

/// The objects after the postRenderers of the HelmRelease file `release`, as kustomize builds them: patches first,
/// then images. A patch that fails is a finding on `release`.
fn apply(objects: &mut [Object], post: &PostRenderers, release: &str) -> Vec<Finding> {
    let mut findings = Vec::new();
    for patch in &post.patches {
        for object in objects.iter_mut() {
            let Some(target) = &object.target else {
                continue;
            };
            if !selects(&patch.target, target) {
                continue;
            }
            let target = target.clone();
            for op in &patch.ops {
                if let Err(why) = apply_op(&mut object.json, op) {
                    findings.push(Finding {
                        code: rules::FLUX_PATCH_FAILS,
                        severity: Severity::Error,
                        location: findings::Location::file(release),
                        path: None,
                        message: format!(
                            "{target}: the patch's {} op fails on this render ({why}): the chart moved or changed \
                             the value, and helm-controller will refuse the release; run `opsta-lint lock flux` \
                             again on this render",
                            op.op
                        ),
                    });
                    break;
                }
            }
        }
    }
    for object in objects.iter_mut() {
        let mut pointers = Vec::new();
        reachable_strings(&object.json, "", &mut pointers);
        for pointer in pointers {
            let Some(Json::String(value)) = object.json.pointer_mut(&pointer) else {
                continue;
            };
            for entry in &post.images {
                if let Some(new) = kustomize_image(entry, value) {
                    *value = new;
                }
            }
        }
    }
    findings
}

fn check(args: &Args, source: &Source, helmrelease: &str) -> Result<u8> {
    let lock = read_lock(args)?;
    let release = Source::read(helmrelease)?;
    let (post, mut findings) = read_post_renderers(&release)?;
    let mut objects = objects(source)?;
    findings.extend(apply(&mut objects, &post, &release.name));
    let result = Source::new(
        format!(
            "{} after the postRenderers of {}",
            source.name, release.name
        ),
        objects
            .iter()
            .map(|o| serde_json::to_string_pretty(&o.json).expect("JSON serializes") + "\n")
            .collect::<Vec<_>>()
            .join("---\n"),
    );
    findings.extend(unpinned(args, lock.as_ref(), &result, &release.name)?);
    let failed = report(
        &mut findings,
        "lock flux --check",
        "the HelmRelease does not pin the render",
    );
    if failed {
        return Ok(crate::exit::FINDINGS);
    }
    eprintln!(
        "opsta-lint lock flux --check: every image of {} is pinned by the postRenderers of {}",
        source.name, release.name
    );
    Ok(crate::exit::OK)
}

/// The images of the render after the postRenderers that are not pinned: without a lock, every image that kustomize
/// leaves without a digest; with one, every image the post-renderer would still change, and its findings.
fn unpinned(
    args: &Args,
    lock: Option<&Lock>,
    result: &Source,
    release: &str,
) -> Result<Vec<Finding>> {
    let mut fields = args.image_field.clone();
    fields.extend(lock.iter().flat_map(|l| l.fields.iter().cloned()));
    let scan = images_in::scan(&result.text, &fields)
        .map_err(|e| anyhow::anyhow!("{}: {}", result.name, e.message))?;
    let not_pinned = |site: &images_in::Site, why: String| Finding {
        code: rules::FLUX_NOT_PINNED,
        severity: Severity::Error,
        location: findings::Location::file(release),
        path: None,
        message: format!(
            "{}, {}: image \"{}\" is not pinned by the postRenderers of {release}: {why}",
            site.resource,
            site.place,
            crate::printable::shown(&site.text)
        ),
    };
    let mut findings = Vec::new();
    let Some(lock) = lock else {
        for site in &scan.sites {
            let digest = ImageRef::parse(&site.text).ok().and_then(|i| i.digest);
            if site.pin == Pin::InPlace && digest.is_none() {
                findings.push(not_pinned(site, "it runs by tag".into()));
            }
        }
        return Ok(findings);
    };
    let outcome = pin(args, lock, result)?;
    for finding in &outcome.findings {
        if finding.severity == Severity::Error {
            let mut finding = finding.clone();
            finding.location = findings::Location::file(release);
            findings.push(finding);
        }
    }
    for (start, (_, text)) in &outcome.edits {
        let Some(site) = scan.sites.iter().find(|s| s.range.start == *start) else {
            continue;
        };
        let why = format!("the lock {} pins it as {text}", lock.name);
        findings.push(not_pinned(site, why));
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(
        name: &str,
        new_name: Option<&str>,
        tag: Option<&str>,
        digest: Option<&str>,
    ) -> ImageEntry {
        ImageEntry {
            name: name.into(),
            new_name: new_name.map(Into::into),
            new_tag: tag.map(Into::into),
            digest: digest.map(Into::into),
        }
    }

    #[test]
    fn splits_and_rewrites_images_as_kustomize_does() {
        assert_eq!(kustomize_split("nginx"), ("nginx", "", ""));
        assert_eq!(
            kustomize_split("localhost:5000/a/b:1@sha256:x"),
            ("localhost:5000/a/b", "1", "sha256:x")
        );
        let pin = entry("nginx", None, Some("1.27"), Some("sha256:a"));
        assert_eq!(
            kustomize_image(&pin, "nginx").as_deref(),
            Some("nginx:1.27@sha256:a")
        );
        assert_eq!(
            kustomize_image(&pin, "nginx:1.28@sha256:b").as_deref(),
            Some("nginx:1.27@sha256:a")
        );
        assert_eq!(kustomize_image(&pin, "nginxx:1.27"), None);
        assert_eq!(kustomize_image(&pin, "docker.io/library/nginx:1.27"), None);
        let digest_only = entry("nginx", Some("reg.corp/nginx"), None, Some("sha256:a"));
        assert_eq!(
            kustomize_image(&digest_only, "nginx:1").as_deref(),
            Some("reg.corp/nginx@sha256:a")
        );
        assert_eq!(
            entry_for("nginx:1.27", "reg.corp/nginx:1.27@sha256:a"),
            entry(
                "nginx",
                Some("reg.corp/nginx"),
                Some("1.27"),
                Some("sha256:a")
            )
        );
    }

    #[test]
    fn reaches_what_the_image_transformer_reaches() {
        assert!(reachable("/spec/template/spec/containers/0/image"));
        assert!(reachable("/spec/initContainers/3/image"));
        assert!(reachable("/spec/x/containers/0/image"));
        assert!(!reachable("/spec/ephemeralContainers/0/image"));
        assert!(!reachable("/spec/containers/0/env/0/value"));
        assert!(!reachable("/spec/imageName"));
        assert!(!reachable("/spec/containers/image"));
    }

    #[test]
    fn applies_json_patch_ops_and_says_why_one_fails() {
        let mut json = serde_json::json!({"spec": {"a/b": ["x", "y"]}});
        let op = |name: &str, path: &str, value: Option<Json>| Op {
            op: name.into(),
            path: path.into(),
            value,
        };
        assert!(apply_op(&mut json, &op("test", "/spec/a~1b/1", Some("y".into()))).is_ok());
        let failed =
            apply_op(&mut json, &op("test", "/spec/a~1b/1", Some("z".into()))).unwrap_err();
        assert!(failed.contains("is \"y\", not \"z\""), "{failed}");
        apply_op(&mut json, &op("replace", "/spec/a~1b/0", Some("w".into()))).unwrap();
        apply_op(&mut json, &op("add", "/spec/a~1b/-", Some("v".into()))).unwrap();
        apply_op(&mut json, &op("remove", "/spec/a~1b/1", None)).unwrap();
        assert_eq!(json, serde_json::json!({"spec": {"a/b": ["w", "v"]}}));
        assert!(apply_op(&mut json, &op("replace", "/spec/none", Some("x".into()))).is_err());
    }

    #[test]
    fn an_entry_that_would_change_another_value_becomes_patches() {
        // nginx:1.27 in a container and nginx:1.28 in another: one `images` entry cannot give both their pins.
        let render = "kind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - {name: a, image: \"nginx:1.27\"}\n  - {name: b, image: \"nginx:1.28\"}\n";
        let pinned = render
            .replace("nginx:1.27", "nginx:1.27@sha256:a")
            .replace("nginx:1.28", "nginx:1.28@sha256:b");
        let before = objects(&Source::new("r", render)).unwrap();
        let after = objects(&Source::new("r", pinned.clone())).unwrap();
        let (post, refused) = plan(&before, &after, "r").unwrap();
        assert!(refused.is_empty() && post.images.is_empty(), "{post:?}");
        assert_eq!(post.patches.len(), 1);
        assert_eq!(post.patches[0].ops.len(), 4);
        // nginx:1.28 already pinned in the render, so unchanged: the entry for nginx:1.27 would still rewrite it.
        let pinned_once = render.replace("nginx:1.28", "nginx:1.28@sha256:b");
        let before = objects(&Source::new("r", pinned_once.clone())).unwrap();
        let after = objects(&Source::new("r", pinned)).unwrap();
        let (post, _) = plan(&before, &after, "r").unwrap();
        assert!(post.images.is_empty(), "{post:?}");
        assert_eq!(post.patches[0].ops.len(), 2, "{post:?}");
        assert_eq!(post.patches[0].ops[0].path, "/spec/containers/0/image");
    }
}
