//! Image locks: which digest each image of a release was tested with.
//!
//! Two formats are read: opsta-lint's own `ReleaseLock` and carvel imgpkg's `ImagesLock`, which vendors
//! already publish. Every problem in a lock (malformed YAML, a bad digest, one image locked to two digests) is an
//! error naming the lock's file, line and column: a post-renderer must not guess which digest was tested.

use crate::image::{check_digest, ImageRef};
use crate::images_in::Location;
use crate::printable::shown;
use crate::source::Source;
use crate::yaml::{Node, Value};
use anyhow::{bail, Result};
use std::collections::HashMap;

pub const NATIVE_API_VERSION: &str = "opsta-lint/v1";
pub const NATIVE_KIND: &str = "ReleaseLock";
pub const IMGPKG_API_VERSION: &str = "imgpkg.carvel.dev/v1alpha1";
pub const IMGPKG_KIND: &str = "ImagesLock";
/// The annotation kbld and imgpkg use to remember the reference an image was resolved from.
const KBLD_ID: &str = "kbld.carvel.dev/id";

/// A lock: digests by normalized `name:tag`, and every digest locked for each name.
#[derive(Debug, Default)]
pub struct Lock {
    pub name: String,
    pub product: Option<String>,
    pub version: Option<String>,
    /// More places holding images (`fields: [{kind: Runner, path: spec.runner.image}]`).
    pub fields: Vec<Location>,
    by_tag: HashMap<String, Locked>,
    by_name: HashMap<String, Vec<String>>,
    /// Every entry, in the lock's order (what the registry commands check).
    pub entries: Vec<Entry>,
}

/// One locked image: the reference it is known by (with its tag when the lock names one), its digest, and for a
/// multi-platform image (an index) the digest of each platform's manifest.
#[derive(Debug, Clone)]
pub struct Entry {
    pub image: ImageRef,
    pub digest: String,
    pub platforms: Vec<Platform>,
    /// The line of the entry's `image` in the lock.
    pub line: usize,
}

/// One platform of a multi-platform image: `linux/arm64` (with its variant, `linux/arm/v7`) and its manifest digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Platform {
    pub platform: String,
    pub digest: String,
}

#[derive(Debug, Clone)]
struct Locked {
    digest: String,
    line: usize,
}

/// What the lock says about one image reference.
#[derive(Debug, PartialEq, Eq)]
pub enum Verdict {
    /// The digest to pin to.
    Pinned(String),
    /// The reference carries a digest the lock does not hold for it; `locked` lists the lock's digests.
    Mismatch { locked: Vec<String> },
    /// The lock knows nothing about this reference.
    Unlocked,
}

impl Lock {
    /// Reads and checks a lock file.
    pub fn read(path: &str) -> Result<Lock> {
        Lock::parse(&Source::read(path)?)
    }

    /// Checks a lock's text; errors are `file:line:col: message`.
    pub fn parse(source: &Source) -> Result<Lock> {
        let docs = source.yaml()?;
        let [doc] = docs.as_slice() else {
            bail!(
                "{}: a lock holds exactly one YAML document, found {}",
                source.name,
                docs.len()
            );
        };
        let mut lock = Lock {
            name: source.name.clone(),
            ..Lock::default()
        };
        let at = |node: &Node| {
            format!(
                "{}:{}:{}",
                source.name, node.span.start.line, node.span.start.col
            )
        };
        let field = |key: &str| -> Result<Option<&str>> {
            match doc.get(key) {
                None => Ok(None),
                Some(node) => match node.as_str() {
                    Some(s) => Ok(Some(s)),
                    None => bail!("{}: `{key}` must be a string", at(node)),
                },
            }
        };
        if !matches!(doc.value, Value::Map(_)) {
            bail!(
                "{}: a lock must be a mapping with apiVersion, kind and images",
                at(doc)
            );
        }
        match (field("apiVersion")?, field("kind")?) {
            (Some(NATIVE_API_VERSION), Some(NATIVE_KIND)) => {
                lock.product = field("product")?.map(str::to_string);
                lock.version = field("version")?.map(str::to_string);
                lock.read_native(doc, &at)?;
            }
            (Some(IMGPKG_API_VERSION), Some(IMGPKG_KIND)) => lock.read_imgpkg(doc, &at)?,
            (api, kind) => bail!(
                "{}: not a lock: expected apiVersion {NATIVE_API_VERSION} kind {NATIVE_KIND}, or apiVersion \
                 {IMGPKG_API_VERSION} kind {IMGPKG_KIND}; found apiVersion {} kind {}",
                at(doc),
                api.unwrap_or("(none)"),
                kind.unwrap_or("(none)")
            ),
        }
        Ok(lock)
    }

    fn read_native(&mut self, doc: &Node, at: &dyn Fn(&Node) -> String) -> Result<()> {
        check_keys(
            doc,
            &[
                "apiVersion",
                "kind",
                "product",
                "version",
                "fields",
                "images",
            ],
            at,
        )?;
        self.fields = fields(doc, at)?;
        for entry in images(doc, at)? {
            check_keys(entry, &["image", "digest", "platforms"], at)?;
            let (image_node, image) = image_of(entry, at)?;
            let digest = match (entry.get("digest"), &image.digest) {
                (Some(node), written) => {
                    let digest = string(node, "digest", at)?;
                    if digest.is_empty() {
                        bail!(
                            "{}: the digest of {} is empty: fill in the digest the release was tested with \
                             (sha256: and 64 hex digits); `lock --from-manifest` writes skeletons with empty digests",
                            at(node),
                            shown(&image.raw)
                        );
                    }
                    check_digest(digest).map_err(|e| anyhow::anyhow!("{}: {e}", at(node)))?;
                    if written.as_deref().is_some_and(|w| w != digest) {
                        bail!("{}: the image's own digest differs from `digest`", at(node));
                    }
                    digest.to_string()
                }
                (None, Some(written)) => written.clone(),
                (None, None) => bail!(
                    "{}: `digest` is missing (sha256: and 64 hex digits)",
                    at(entry)
                ),
            };
            self.add(&image, &digest, image_node, at)?;
            let platforms = platforms(entry, at)?;
            self.entries.push(Entry {
                image,
                digest,
                platforms,
                line: image_node.span.start.line,
            });
        }
        Ok(())
    }

    fn read_imgpkg(&mut self, doc: &Node, at: &dyn Fn(&Node) -> String) -> Result<()> {
        for entry in images(doc, at)? {
            let (image_node, image) = image_of(entry, at)?;
            let Some(digest) = image.digest.clone() else {
                bail!(
                    "{}: an ImagesLock image must carry its digest (name@sha256:...)",
                    at(image_node)
                );
            };
            self.add(&image, &digest, image_node, at)?;
            let origin = entry.get("annotations").and_then(|a| a.get(KBLD_ID));
            let mut known_as = image.clone();
            if let Some(node) = origin {
                let id = ImageRef::parse(string(node, KBLD_ID, at)?)
                    .map_err(|e| anyhow::anyhow!("{}: {KBLD_ID}: {e}", at(node)))?;
                self.add(&id, &digest, node, at)?;
                known_as = id;
            }
            self.entries.push(Entry {
                image: known_as,
                digest,
                platforms: Vec::new(),
                line: image_node.span.start.line,
            });
        }
        Ok(())
    }

    /// Records one locked image; a second, different digest for the same image is an error.
    fn add(
        &mut self,
        image: &ImageRef,
        digest: &str,
        node: &Node,
        at: &dyn Fn(&Node) -> String,
    ) -> Result<()> {
        let line = node.span.start.line;
        let names = self.by_name.entry(image.name()).or_default();
        if !names.iter().any(|d| d == digest) {
            names.push(digest.to_string());
        }
        let has_tag = image.tag.is_some() || image.digest.is_none();
        if !has_tag {
            return Ok(());
        }
        let key = image.name_and_tag();
        match self.by_tag.get(&key) {
            Some(first) if first.digest != digest => bail!(
                "{}: {key} is locked twice with different digests (line {} says {}, this entry says {digest})",
                at(node),
                first.line,
                first.digest
            ),
            Some(_) => Ok(()),
            None => {
                let digest = digest.to_string();
                self.by_tag.insert(key, Locked { digest, line });
                Ok(())
            }
        }
    }

    /// What the lock says about `image` (a reference already normalized by parsing).
    pub fn verdict(&self, image: &ImageRef) -> Verdict {
        let tagged = image.tag.is_some() || image.digest.is_none();
        let locked_tag = tagged
            .then(|| self.by_tag.get(&image.name_and_tag()))
            .flatten();
        let for_name = self.by_name.get(&image.name());
        match (locked_tag, &image.digest) {
            (Some(l), None) => Verdict::Pinned(l.digest.clone()),
            (Some(l), Some(d)) if *d == l.digest => Verdict::Pinned(l.digest.clone()),
            (Some(l), Some(_)) => Verdict::Mismatch {
                locked: vec![l.digest.clone()],
            },
            (None, Some(d)) => match for_name {
                Some(digests) if digests.contains(d) => Verdict::Pinned(d.clone()),
                Some(digests) => Verdict::Mismatch {
                    locked: digests.clone(),
                },
                None => Verdict::Unlocked,
            },
            (None, None) => Verdict::Unlocked,
        }
    }

    /// How many distinct images (by name) the lock holds.
    pub fn len(&self) -> usize {
        self.by_name.len()
    }

    pub fn is_empty(&self) -> bool {
        self.by_name.is_empty()
    }
}

/// The optional `fields:` list: `{kind, path}` entries, `kind` optional.
fn fields(doc: &Node, at: &dyn Fn(&Node) -> String) -> Result<Vec<Location>> {
    let entries = match doc.get("fields").map(|n| (n, &n.value)) {
        None | Some((_, Value::Null)) => return Ok(Vec::new()),
        Some((_, Value::Seq(items))) => items,
        Some((node, _)) => bail!("{}: `fields` must be a list of {{kind, path}}", at(node)),
    };
    let mut fields = Vec::new();
    for entry in entries {
        if !matches!(entry.value, Value::Map(_)) {
            bail!(
                "{}: each entry of `fields` must be a mapping with `path`",
                at(entry)
            );
        }
        check_keys(entry, &["kind", "path"], at)?;
        let Some(path) = entry.get("path") else {
            bail!("{}: `path` is missing", at(entry));
        };
        let path_text = string(path, "path", at)?;
        let text = match entry.get("kind") {
            Some(kind) => format!("{}:{path_text}", string(kind, "kind", at)?),
            None => path_text.to_string(),
        };
        let location = Location::parse(&text).map_err(|e| anyhow::anyhow!("{}: {e}", at(path)))?;
        fields.push(location);
    }
    Ok(fields)
}

fn images<'a>(doc: &'a Node, at: &dyn Fn(&Node) -> String) -> Result<&'a [Node]> {
    match doc.get("images").map(|n| (n, &n.value)) {
        Some((_, Value::Seq(items))) => Ok(items),
        Some((_, Value::Null)) => Ok(&[]),
        Some((node, _)) => bail!("{}: `images` must be a list", at(node)),
        None => bail!("{}: `images` is missing", at(doc)),
    }
}

/// The optional `platforms` list of a native entry: `- {platform: os/arch[/variant], digest: sha256:...}`.
fn platforms(entry: &Node, at: &dyn Fn(&Node) -> String) -> Result<Vec<Platform>> {
    let items = match entry.get("platforms").map(|n| (n, &n.value)) {
        None | Some((_, Value::Null)) => return Ok(Vec::new()),
        Some((_, Value::Seq(items))) => items,
        Some((node, _)) => bail!("{}: `platforms` must be a list", at(node)),
    };
    let mut platforms: Vec<Platform> = Vec::new();
    for item in items {
        if !matches!(item.value, Value::Map(_)) {
            bail!(
                "{}: each entry of `platforms` must be a mapping with `platform` and `digest`",
                at(item)
            );
        }
        check_keys(item, &["platform", "digest"], at)?;
        let get = |key: &str| match item.get(key) {
            Some(node) => Ok((node, string(node, key, at)?)),
            None => bail!("{}: `{key}` is missing", at(item)),
        };
        let (platform_node, platform) = get("platform")?;
        check_platform(platform).map_err(|e| anyhow::anyhow!("{}: {e}", at(platform_node)))?;
        let (node, digest) = get("digest")?;
        check_digest(digest).map_err(|e| anyhow::anyhow!("{}: {e}", at(node)))?;
        if platforms.iter().any(|p| p.platform == platform) {
            bail!("{}: platform {platform} is listed twice", at(platform_node));
        }
        platforms.push(Platform {
            platform: platform.to_string(),
            digest: digest.to_string(),
        });
    }
    Ok(platforms)
}

/// A platform as written in locks and `--platform`: `os/arch` or `os/arch/variant`, lower-case words.
pub fn check_platform(text: &str) -> Result<(), String> {
    let parts: Vec<&str> = text.split('/').collect();
    let word = |p: &&str| {
        !p.is_empty()
            && p.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'.')
    };
    if (2..=3).contains(&parts.len()) && parts.iter().all(word) {
        Ok(())
    } else {
        Err(format!(
            "platform \"{}\" must be os/arch or os/arch/variant (linux/amd64, linux/arm/v7)",
            crate::printable::shown(text)
        ))
    }
}

fn image_of<'a>(entry: &'a Node, at: &dyn Fn(&Node) -> String) -> Result<(&'a Node, ImageRef)> {
    if !matches!(entry.value, Value::Map(_)) {
        bail!(
            "{}: each entry of `images` must be a mapping with `image`",
            at(entry)
        );
    }
    let Some(node) = entry.get("image") else {
        bail!("{}: `image` is missing", at(entry));
    };
    let image = ImageRef::parse(string(node, "image", at)?)
        .map_err(|e| anyhow::anyhow!("{}: {e}", at(node)))?;
    Ok((node, image))
}

fn string<'a>(node: &'a Node, key: &str, at: &dyn Fn(&Node) -> String) -> Result<&'a str> {
    node.as_str()
        .ok_or_else(|| anyhow::anyhow!("{}: `{key}` must be a string", at(node)))
}

fn check_keys(map: &Node, known: &[&str], at: &dyn Fn(&Node) -> String) -> Result<()> {
    if let Value::Map(entries) = &map.value {
        for (key, _) in entries {
            let name = key.key_text().unwrap_or_default();
            if !known.contains(&name.as_str()) {
                bail!(
                    "{}: unknown key `{name}` (expected one of: {})",
                    at(key),
                    known.join(", ")
                );
            }
        }
    }
    Ok(())
}

/// `opsta-lint lock`: a subcommand, or `--from-manifest FILE` alone (the same as `lock init`).
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct LockCommand {
    #[command(subcommand)]
    pub command: Option<LockSubcommand>,
    #[command(flatten)]
    pub init: Option<Args>,
}

#[derive(Debug, clap::Subcommand)]
pub enum LockSubcommand {
    /// Write a lock skeleton listing every image a rendered release uses (digests left to fill in).
    Init(Args),
    /// Write the lock from the registries: every image of a render resolved to its digest.
    Resolve(crate::registry::ResolveArgs),
    /// Check that every locked tag still points at its locked digest (upstream, or in a mirror).
    Verify(crate::registry::VerifyArgs),
    /// Print the `postRenderers` of a Flux HelmRelease that pin every image of a render (kustomize images and
    /// patches), or check (`--check`) that a HelmRelease's postRenderers pin every image.
    #[command(after_help = crate::flux::HELP_FOOTER)]
    Flux(crate::flux::Args),
}

/// Runs `opsta-lint lock ...`.
pub fn run_command(command: &LockCommand) -> Result<u8> {
    match (&command.command, &command.init) {
        (Some(LockSubcommand::Init(args)), _) | (None, Some(args)) => run(args),
        (Some(LockSubcommand::Resolve(args)), _) => crate::registry::run_resolve(args),
        (Some(LockSubcommand::Verify(args)), _) => crate::registry::run_verify(args),
        (Some(LockSubcommand::Flux(args)), _) => crate::flux::run(args),
        (None, None) => {
            bail!("lock needs a subcommand (init, resolve, verify, flux) or --from-manifest FILE")
        }
    }
}

/// Arguments of `opsta-lint lock init` (and of `lock --from-manifest`).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A rendered release (`helm template ...` output, or `-` for stdin): list every image it uses as a lock
    /// skeleton on stdout. Digests already in the render are filled in; the rest are left empty to fill.
    #[arg(long, value_name = "FILE")]
    pub from_manifest: String,
    /// Also look for images at PATH in resources of KIND (`Runner:spec.runner.image`; `[]` steps into each
    /// list item); repeatable. The skeleton lists them under `fields:` for `postrender` to use.
    #[arg(long, value_name = "KIND:PATH", value_parser = Location::parse)]
    pub image_field: Vec<Location>,
    /// Make values that may be images (PR008, PR009) errors: then nothing is written and the exit code is 1.
    #[arg(long)]
    pub strict: bool,
}

pub fn run(args: &Args) -> Result<u8> {
    let source = Source::read(&args.from_manifest)?;
    crate::image_fields::Known::get()?;
    let scan = crate::images_in::scan(&source.text, &args.image_field)
        .map_err(|e| anyhow::anyhow!("{}:{}:{}: {}", source.name, e.line, e.col, e.message))?;
    let mut findings: Vec<_> = scan
        .unsure
        .iter()
        .map(|u| crate::postrender::unsure(&source.name, u))
        .collect();
    if args.strict {
        crate::postrender::strict(&mut findings);
    }
    for finding in &findings {
        let line = crate::secrets::mask_text(&finding.to_string());
        eprintln!("{}", crate::printable::one_line(&line));
    }
    let errors = findings
        .iter()
        .any(|f| f.severity == crate::lint::rules::Severity::Error);
    if errors {
        eprintln!("opsta-lint lock: values that may be images (--strict); nothing was written");
        return Ok(crate::exit::FINDINGS);
    }
    print!("{}{}", skeleton(&scan), fields_text(&args.image_field));
    Ok(crate::exit::OK)
}

/// The `fields:` list of a lock for these locations (nothing when there are none).
pub fn fields_text(fields: &[Location]) -> String {
    let yaml = crate::diff::canon::scalar_text;
    let mut out = String::new();
    for location in fields {
        if out.is_empty() {
            out.push_str("fields:\n");
        }
        let text = location.text();
        let (kind, path) = match &location.kind {
            Some(kind) => (Some(kind), text[kind.len() + 1..].to_string()),
            None => (None, text),
        };
        match kind {
            Some(kind) => out.push_str(&format!(
                "  - kind: {}\n    path: {}\n",
                yaml(kind),
                yaml(&path)
            )),
            None => out.push_str(&format!("  - path: {}\n", yaml(&path))),
        }
    }
    out
}

/// A ReleaseLock listing each image of a render once (by name and tag, as first written), with where it is used.
pub fn skeleton(scan: &crate::images_in::Scan) -> String {
    let mut images: Vec<(ImageRef, Vec<String>)> = Vec::new();
    for site in &scan.sites {
        let Ok(image) = ImageRef::parse(&site.text) else {
            continue;
        };
        let used_by = format!("{}, {}", site.resource, site.place);
        match images.iter_mut().find(|(i, _)| same_image(i, &image)) {
            Some((_, uses)) => uses.push(used_by),
            None => images.push((image, vec![used_by])),
        }
    }
    let mut out = format!("apiVersion: {NATIVE_API_VERSION}\nkind: {NATIVE_KIND}\n");
    let chart = scan
        .charts
        .first()
        .and_then(|c| crate::images_in::split_chart_label(c));
    // Every value as YAML reads it back: quoted when it would read otherwise (`[::1]:5000/app` starts a flow
    // sequence, `1.5` is a number).
    let yaml = crate::diff::canon::scalar_text;
    if let Some((product, version)) = chart {
        let shown = crate::printable::shown;
        out.push_str(&format!(
            "# from the render of chart {} {}\nproduct: {}\nversion: {}\n",
            shown(product),
            shown(version),
            yaml(product),
            yaml(version)
        ));
    }
    out.push_str(if images.is_empty() {
        "images: []\n"
    } else {
        "images:\n"
    });
    for (image, uses) in images {
        for used_by in uses.iter().take(3) {
            out.push_str(&format!("  # {used_by}\n"));
        }
        if uses.len() > 3 {
            out.push_str(&format!("  # ... and {} more\n", uses.len() - 3));
        }
        let unpinned = image.without_digest();
        let digest = image.digest.as_deref().unwrap_or("");
        out.push_str(&format!(
            "  - image: {}\n    digest: \"{digest}\"\n",
            yaml(&unpinned.to_string())
        ));
    }
    out
}

fn same_image(a: &ImageRef, b: &ImageRef) -> bool {
    let key = |i: &ImageRef| match (&i.tag, &i.digest) {
        (None, Some(digest)) => format!("{}@{digest}", i.name()),
        _ => i.name_and_tag(),
    };
    key(a) == key(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    const A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn hostile_names_in_a_render_cannot_add_lines_to_the_lock_skeleton() {
        let render = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: "x\nimages: []\n#"
  labels:
    helm.sh/chart: "evil: a #-1.0\nx: y"
spec:
  template:
    spec:
      containers:
        - name: "c\u001b[2J"
          image: nginx:1.25
"#;
        let text = skeleton(&crate::images_in::scan(render, &[]).unwrap());
        assert!(!text.contains('\u{1b}'), "{text}");
        let json = crate::yaml::parse(&text).unwrap()[0].to_json();
        let expected = serde_json::json!({
            "apiVersion": "opsta-lint/v1", "kind": "ReleaseLock", "product": "evil: a #",
            "version": "1.0\nx: y", "images": [{"image": "nginx:1.25", "digest": ""}]
        });
        assert_eq!(json, expected, "{text}");
    }

    #[test]
    fn the_skeleton_quotes_an_image_yaml_would_read_otherwise() {
        let render = "kind: Pod\nspec:\n  containers:\n    - image: \"[::1]:5000/app:1\"\n    - image: \"1.5\"\n";
        let text = skeleton(&crate::images_in::scan(render, &[]).unwrap());
        let json = crate::yaml::parse(&text).unwrap()[0].to_json();
        let images: Vec<&str> = json["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| entry["image"].as_str().unwrap())
            .collect();
        assert_eq!(images, ["[::1]:5000/app:1", "1.5"], "{text}");
    }

    fn lock(text: &str) -> Result<Lock> {
        Lock::parse(&Source::new("lock.yaml", text))
    }

    fn native(entries: &str) -> String {
        format!("apiVersion: opsta-lint/v1\nkind: ReleaseLock\nproduct: catalyst\nversion: 1.90.0\nimages:\n{entries}")
    }

    fn verdict(lock: &Lock, image: &str) -> Verdict {
        lock.verdict(&ImageRef::parse(image).unwrap())
    }

    #[test]
    fn reads_the_native_lock_and_matches_normalized_names() {
        let l = lock(&native(&format!("  - image: nginx:1.27\n    digest: {A}\n  - image: ghcr.io/dapr/daprd:1.17.3\n    digest: {B}\n"))).unwrap();
        assert_eq!(
            (l.product.as_deref(), l.version.as_deref()),
            (Some("catalyst"), Some("1.90.0"))
        );
        assert_eq!(
            verdict(&l, "docker.io/library/nginx:1.27"),
            Verdict::Pinned(A.into())
        );
        assert_eq!(
            verdict(&l, &format!("nginx:1.27@{A}")),
            Verdict::Pinned(A.into())
        );
        assert_eq!(
            verdict(&l, &format!("ghcr.io/dapr/daprd@{B}")),
            Verdict::Pinned(B.into())
        );
        assert_eq!(
            verdict(&l, &format!("nginx:1.27@{B}")),
            Verdict::Mismatch {
                locked: vec![A.into()]
            }
        );
        assert_eq!(verdict(&l, "nginx"), Verdict::Unlocked);
        assert_eq!(verdict(&l, "nginx:1.28"), Verdict::Unlocked);
    }

    #[test]
    fn reads_per_platform_digests_and_refuses_bad_ones_with_their_location() {
        let entry = format!("  - image: nginx:1.27\n    digest: {A}\n    platforms:\n      - platform: linux/arm/v7\n        digest: {B}\n");
        let l = lock(&native(&entry)).unwrap();
        assert_eq!(l.entries.len(), 1);
        assert_eq!(l.entries[0].image.raw, "nginx:1.27");
        assert_eq!(
            l.entries[0].platforms,
            [Platform {
                platform: "linux/arm/v7".into(),
                digest: B.into()
            }]
        );
        let twice = format!("{entry}      - platform: linux/arm/v7\n        digest: {A}\n");
        let err = lock(&native(&twice)).unwrap_err().to_string();
        assert!(
            err.starts_with("lock.yaml:11:19: platform linux/arm/v7 is listed twice"),
            "{err}"
        );
        let bad = entry.replace("linux/arm/v7", "Linux");
        let err = lock(&native(&bad)).unwrap_err().to_string();
        assert!(
            err.starts_with("lock.yaml:9:19: platform \"Linux\" must be os/arch"),
            "{err}"
        );
        let typo = entry.replace("        digest: ", "        digets: ");
        assert!(lock(&native(&typo))
            .unwrap_err()
            .to_string()
            .contains("unknown key `digets`"));
    }

    #[test]
    fn reads_imgpkg_images_locks_with_their_origins() {
        let text = format!(
            "apiVersion: imgpkg.carvel.dev/v1alpha1\nkind: ImagesLock\nimages:\n- image: registry.corp/mirror/nginx@{A}\n  annotations:\n    kbld.carvel.dev/id: nginx:1.27\n"
        );
        let l = lock(&text).unwrap();
        assert_eq!(verdict(&l, "nginx:1.27"), Verdict::Pinned(A.into()));
        assert_eq!(
            verdict(&l, &format!("registry.corp/mirror/nginx@{A}")),
            Verdict::Pinned(A.into())
        );
        let bare = "apiVersion: imgpkg.carvel.dev/v1alpha1\nkind: ImagesLock\nimages:\n- image: nginx:1.27\n";
        assert!(lock(bare)
            .unwrap_err()
            .to_string()
            .starts_with("lock.yaml:4:10: an ImagesLock image must carry its digest"));
    }

    #[test]
    fn refuses_bad_locks_with_their_location() {
        let bad_digest = lock(&native("  - image: nginx:1\n    digest: sha256:abc\n")).unwrap_err();
        assert!(
            bad_digest
                .to_string()
                .starts_with("lock.yaml:7:13: digest \"sha256:abc\""),
            "{bad_digest}"
        );
        let twice = lock(&native(&format!(
            "  - image: nginx:1\n    digest: {A}\n  - image: docker.io/library/nginx:1\n    digest: {B}\n"
        )))
        .unwrap_err();
        assert!(
            twice
                .to_string()
                .starts_with("lock.yaml:8:12: docker.io/library/nginx:1 is locked twice"),
            "{twice}"
        );
        let same = native(&format!(
            "  - image: nginx:1\n    digest: {A}\n  - image: nginx:1\n    digest: {A}\n"
        ));
        assert!(lock(&same).is_ok());
        let typo = lock(&native(&format!("  - image: nginx:1\n    digets: {A}\n"))).unwrap_err();
        assert!(typo.to_string().contains("unknown key `digets`"), "{typo}");
        let missing = lock(&native("  - image: nginx:1\n")).unwrap_err();
        assert!(
            missing.to_string().contains("`digest` is missing"),
            "{missing}"
        );
        let other = lock("apiVersion: v1\nkind: ConfigMap\n").unwrap_err();
        assert!(
            other.to_string().starts_with("lock.yaml:1:1: not a lock"),
            "{other}"
        );
        let broken = lock("images: [\n").unwrap_err();
        assert!(broken.to_string().starts_with("lock.yaml:"), "{broken}");
        let bad_image = lock(&native(&format!("  - image: Nginx\n    digest: {A}\n"))).unwrap_err();
        assert!(
            bad_image
                .to_string()
                .starts_with("lock.yaml:6:12: repository"),
            "{bad_image}"
        );
    }
}
