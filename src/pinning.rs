//! Pinning a render to its lock: the mechanism under `opsta-lint postrender`, `lock flux` and `lock init`.
//! Every image reference of a render is decided against the lock (pinned, mirrored, or a finding saying why
//! not) and the product checks run on the images; the result is the edits to make and the findings. The
//! post-renderer writes the edited render; `lock flux` turns the edits into Flux postRenderers.

use crate::findings::{Finding, Location, Severity};
use crate::image::ImageRef;
use crate::image_policy;
use crate::images_in::{self, Doubt, Pin, Site, Unsure};
use crate::lockfile::{Lock, Verdict};
use crate::mirror::{mirrored, unmirrored, Mirror};
use crate::product::Product;
use crate::yaml::{self, Style};
use anyhow::Result;
use std::collections::BTreeMap;

/// Helm 4's annotation naming the template a document of a render came from.
pub const HELM4_FILENAME_ANNOTATION: &str = "postrenderer.helm.sh/postrender-filename";

/// Rule codes of the post-renderer (documented in docs/postrender.md).
pub mod rules {
    use crate::findings::Code;

    pub const UNLOCKED: Code = Code::PR001;
    pub const DIGEST_MISMATCH: Code = Code::PR002;
    pub const INVALID_REFERENCE: Code = Code::PR003;
    pub const NOT_MIRRORED: Code = Code::PR004;
    pub const PINNED_COMPONENT_VERSION: Code = Code::PR005;
    pub const PRODUCT_VERSION: Code = Code::PR006;
    pub const HELM3_HOOKS: Code = Code::PR007;
    pub const UNSURE_VALUE: Code = Code::PR008;
    pub const UNRECOGNISED_KEY: Code = Code::PR009;
    pub const NOT_PINNED_IN_PLACE: Code = Code::PR010;
    pub const FLUX_EMBEDDED_TEXT: Code = Code::PR020;
    pub const FLUX_NO_TARGET: Code = Code::PR021;
    pub const FLUX_NOT_PINNED: Code = Code::PR022;
    pub const FLUX_UNEVALUABLE: Code = Code::PR023;
    pub const FLUX_PATCH_FAILS: Code = Code::PR024;

    /// The codes `--strict` makes errors.
    pub const UNSURE: [Code; 2] = [UNSURE_VALUE, UNRECOGNISED_KEY];
}

/// The outcome of pinning one render.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Replacement text by byte range of the input, in input order.
    pub edits: BTreeMap<usize, (usize, String)>,
    pub findings: Vec<Finding>,
    /// Image references found (aliases counted once).
    pub references: usize,
}

impl Outcome {
    pub fn failed(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// The input with every edit spliced in, as pieces to write in order.
    pub fn pieces<'a>(&'a self, input: &'a str) -> Vec<&'a str> {
        let mut pieces = Vec::with_capacity(self.edits.len() * 2 + 1);
        let mut at = 0;
        for (&start, (end, text)) in &self.edits {
            pieces.push(&input[at..start]);
            pieces.push(text.as_str());
            at = *end;
        }
        pieces.push(&input[at..]);
        pieces
    }
}

/// What the pinning needs besides the input.
pub struct Pinning<'a> {
    pub lock: &'a Lock,
    pub mirrors: &'a [Mirror],
    pub allow_unlocked: bool,
    pub input_name: &'a str,
    /// The product data; `product` names one of them (else the lock's or the render's labels decide).
    pub products: &'a [Product],
    pub product: Option<&'a str>,
    pub chart_version: Option<&'a str>,
}

impl Pinning<'_> {
    /// Decides every image of a render: the edits to make and the findings.
    pub fn pin(&self, input: &str) -> Result<Outcome> {
        let named = self.product.or(self.lock.product.as_deref());
        let mut locations = self.locations(named)?;
        locations.extend(self.lock.fields.iter().cloned());
        let scan = images_in::scan(input, &locations).map_err(|e| {
            anyhow::anyhow!("{}:{}:{}: {}", self.input_name, e.line, e.col, e.message)
        })?;
        let mut outcome = Outcome::default();
        let unsure = scan.unsure.iter().map(|u| unsure(self.input_name, u));
        outcome.findings.extend(unsure);
        let mut images = Vec::new();
        let mut seen = std::collections::HashSet::new();
        let in_place: std::collections::HashSet<usize> = scan
            .sites
            .iter()
            .filter(|s| !s.aliased)
            .map(|s| s.range.start)
            .collect();
        for site in &scan.sites {
            if let Ok(image) = ImageRef::parse(&site.text) {
                images.push((site, self.unmirrored(&image)));
            }
            // An aliased image is one scalar: counted and rewritten once, but judged for every container using it.
            let first = seen.insert(site.range.start);
            if site.aliased && !in_place.contains(&site.range.start) {
                outcome.findings.push(self.alias_of_a_non_image(site));
                continue;
            }
            outcome.references += usize::from(first);
            match self.decide(site, &mut outcome.findings) {
                Some(text) if text != site.text => {
                    let quoted = quoted(&text, site.style);
                    outcome
                        .edits
                        .insert(site.range.start, (site.range.end, quoted));
                }
                _ => {}
            }
        }
        if is_helm3_render(input) {
            outcome.findings.push(helm3_hooks());
        }
        let lock_version = self.lock.version.as_deref();
        let release = image_policy::release(
            self.products,
            named,
            self.chart_version,
            &scan.charts,
            lock_version,
        )?;
        if let Some(release) = release {
            let found = image_policy::check(&release, &images, lock_version, self.input_name)?;
            outcome.findings.extend(found);
        }
        Ok(outcome)
    }

    /// Image locations the product data declares: the named product's, else every product's.
    fn locations(&self, named: Option<&str>) -> Result<Vec<images_in::Location>> {
        let products = self
            .products
            .iter()
            .filter(|p| named.is_none_or(|n| n == p.name));
        let paths = products.flat_map(|p| p.image_locations.manifest.iter());
        paths
            .map(|path| {
                images_in::Location::parse(path).map_err(|e| anyhow::anyhow!("product data: {e}"))
            })
            .collect()
    }

    /// The new text of one reference, or `None` when it stays as it is or cannot be pinned (then a finding says
    /// why).
    fn decide(&self, site: &Site, findings: &mut Vec<Finding>) -> Option<String> {
        match self.pinned(site) {
            Ok((image, warning)) => {
                findings.extend(warning);
                match &site.pin {
                    Pin::InPlace => Some(image.raw),
                    Pin::Digest { current } => image.digest.filter(|d| d != current),
                    Pin::No(why) => {
                        if image.digest.is_some() {
                            findings.push(self.not_in_place(site, &image, why));
                        }
                        None
                    }
                }
            }
            Err(finding) => {
                findings.push(finding);
                None
            }
        }
    }

    fn not_in_place(&self, site: &Site, image: &ImageRef, why: &str) -> Finding {
        Finding {
            code: rules::NOT_PINNED_IN_PLACE,
            severity: Severity::Warning,
            path: None,
            location: Location::at(self.input_name, site.line, site.col),
            message: format!(
                "{}, {}: image \"{}\" is in the lock but not pinned in place: {why}; it runs by tag, and \
                 `opsta-lint verify` checks that it runs {} after the upgrade",
                site.resource,
                site.place,
                site.text,
                image.digest.as_deref().unwrap_or_default()
            ),
        }
    }

    /// The pinned (and mirrored) reference and a warning to give, or the finding that stops the run.
    #[allow(clippy::result_large_err)] // one finding per image site, never on a hot path
    fn pinned(&self, site: &Site) -> Result<(ImageRef, Option<Finding>), Finding> {
        let finding = |code, severity, message: String| Finding {
            code,
            severity,
            path: None,
            location: Location::at(self.input_name, site.line, site.col),
            message: format!("{}, {}: {message}", site.resource, site.place),
        };
        if matches!(site.style, Style::Literal | Style::Folded) {
            let message =
                "an image written as a block scalar cannot be pinned; write it on one line".into();
            return Err(finding(rules::INVALID_REFERENCE, Severity::Error, message));
        }
        let image = ImageRef::parse(&site.text).map_err(|e| {
            let message = format!("\"{}\" is not a valid image reference: {e}", site.text);
            finding(rules::INVALID_REFERENCE, Severity::Error, message)
        })?;
        let original = self.unmirrored(&image);
        let mut warning = None;
        let pinned = match self.lock.verdict(&original) {
            Verdict::Pinned(digest) => original.pinned(&digest),
            Verdict::Mismatch { locked } => {
                let message = format!(
                    "image \"{image}\" carries a digest the lock {} does not hold for it (locked: {})",
                    self.lock.name,
                    locked.join(", ")
                );
                return Err(finding(rules::DIGEST_MISMATCH, Severity::Error, message));
            }
            Verdict::Unlocked if self.allow_unlocked => {
                let message = format!(
                    "image \"{image}\" is not in the lock {}; let through unpinned (--allow-unlocked)",
                    self.lock.name
                );
                warning = Some(finding(rules::UNLOCKED, Severity::Warning, message));
                original
            }
            Verdict::Unlocked => {
                let normalized = image.name_and_tag();
                let also = match normalized == image.raw {
                    true => String::new(),
                    false => format!(" ({normalized})"),
                };
                let message = format!(
                    "image \"{image}\"{also} is not in the lock {}",
                    self.lock.name
                );
                return Err(finding(rules::UNLOCKED, Severity::Error, message));
            }
        };
        let mirrored = self
            .mirrored(&pinned)
            .map_err(|message| finding(rules::NOT_MIRRORED, Severity::Error, message))?;
        if site.pin != Pin::InPlace && mirrored.name() != image.name() {
            let message = format!(
                "image \"{image}\" would move under a mirror, but it is not written as one reference: point its \
                 registry key at the mirror ({})",
                mirrored.written_name
            );
            return Err(finding(rules::NOT_MIRRORED, Severity::Error, message));
        }
        Ok((mirrored, warning))
    }

    /// An image given by an alias whose anchored value is not itself an image (`name: &n nginx` ...
    /// `image: *n`): pinning the anchor would change that other value too, so the run stops instead.
    fn alias_of_a_non_image(&self, site: &Site) -> Finding {
        Finding {
            code: rules::INVALID_REFERENCE,
            severity: Severity::Error,
            path: None,
            location: Location::at(self.input_name, site.line, site.col),
            message: format!(
                "{}, {}: the image \"{}\" is an alias of a value anchored at line {} that is not an image; \
                 pinning it would change that value too: write the image itself here",
                site.resource, site.place, site.text, site.line
            ),
        }
    }

    /// The reference as the lock knows it: an image already under a mirror maps back to its origin.
    fn unmirrored(&self, image: &ImageRef) -> ImageRef {
        unmirrored(self.mirrors, image)
    }

    /// The reference under its mirror (the longest matching FROM wins), or why it cannot be pulled when mirrors
    /// are required.
    fn mirrored(&self, image: &ImageRef) -> Result<ImageRef, String> {
        mirrored(self.mirrors, image)
    }
}

/// A value the scan is unsure about, as a warning (`--strict` makes it an error).
pub fn unsure(input_name: &str, unsure: &Unsure) -> Finding {
    let text = crate::printable::shown(&unsure.text);
    let message = match unsure.doubt {
        Doubt::NotAReference => format!(
            "\"{text}\" is under a key that names an image but is not reference-shaped (a registry host, or a / \
             and a tag or digest), so it is not read as an image: declare the field (--image-field KIND:PATH, \
             or the lock's fields) if it is one, or write the full reference"
        ),
        Doubt::UnrecognisedKey => format!(
            "\"{text}\" reads as an image reference under a key that names no image, in a kind that runs \
             containers: declare the field (--image-field KIND:PATH, or the lock's fields) if it is pulled"
        ),
    };
    let code = match unsure.doubt {
        Doubt::NotAReference => rules::UNSURE_VALUE,
        Doubt::UnrecognisedKey => rules::UNRECOGNISED_KEY,
    };
    Finding {
        code,
        severity: Severity::Warning,
        path: None,
        location: Location::at(input_name, unsure.line, unsure.col),
        message: format!("{}, {}: {message}", unsure.resource, unsure.place),
    }
}

/// `--strict`: the values that may be images (PR008, PR009) become errors.
pub fn strict(findings: &mut [Finding]) {
    for finding in findings {
        if rules::UNSURE.contains(&finding.code) {
            finding.severity = Severity::Error;
        }
    }
}

/// New scalar text in the style the old one was written in: quotes kept, plain kept unless YAML would read
/// the new text as something else.
fn quoted(text: &str, style: Style) -> String {
    match style {
        Style::SingleQuoted => format!("'{}'", text.replace('\'', "''")),
        Style::Plain if plain_is_safe(text) => text.to_string(),
        _ => format!("\"{}\"", text.replace('\\', "\\\\").replace('"', "\\\"")),
    }
}

fn plain_is_safe(text: &str) -> bool {
    let starts_badly = text.starts_with(|c: char| "-?:,[]{}#&*!|>'\"%@` ".contains(c));
    let inner_trouble =
        text.contains(": ") || text.contains(" #") || text.contains([',', '[', ']', '{', '}']);
    !text.is_empty()
        && !starts_badly
        && !inner_trouble
        && !text.ends_with([' ', ':'])
        && matches!(yaml::resolve_plain(text), yaml::Value::Str(_))
}

/// Helm 3 marks each document with a `# Source:` comment and never adds Helm 4's filename annotation.
pub fn is_helm3_render(input: &str) -> bool {
    // SIMD search: `str::contains` reads a render of a few MB at a fraction of the speed.
    let has = |needle: &str| memchr::memmem::find(input.as_bytes(), needle.as_bytes()).is_some();
    let sourced = input.starts_with("# Source: ") || has("\n# Source: ");
    sourced && !has(HELM4_FILENAME_ANNOTATION)
}

fn helm3_hooks() -> Finding {
    Finding {
        code: rules::HELM3_HOOKS,
        severity: Severity::Warning,
        path: None,
        location: Location::command_line(),
        message: "this looks like Helm 3 output, and Helm 3 never post-renders hooks: hook images (jobs annotated \
                  helm.sh/hook) are not pinned; pin them through the chart's values (an image digest or a tag@digest \
                  in the image value), or use Helm 4, which post-renders hooks too"
            .into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::Source;

    const A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    fn lock() -> Lock {
        let text = format!(
            "apiVersion: opsta-lint/v1\nkind: ReleaseLock\nimages:\n- {{image: nginx, digest: {A}}}\n- {{image: 'ghcr.io/dapr/daprd:1.17.3', digest: {B}}}\n"
        );
        Lock::parse(&Source::new("lock.yaml", text)).unwrap()
    }

    fn pod(images: &[&str]) -> String {
        let containers: String = images
            .iter()
            .enumerate()
            .map(|(i, image)| format!("  - name: c{i}\n    image: {image}\n"))
            .collect();
        format!("apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n  namespace: ns\nspec:\n  containers:\n{containers}")
    }

    fn run_on(input: &str, mirrors: &[&str], allow: bool) -> (String, Outcome) {
        let lock = lock();
        let mirrors: Vec<Mirror> = mirrors.iter().map(|m| Mirror::parse(m).unwrap()).collect();
        let pinning = Pinning {
            lock: &lock,
            mirrors: &mirrors,
            allow_unlocked: allow,
            input_name: "in.yaml",
            products: &[],
            product: None,
            chart_version: None,
        };
        let outcome = pinning.pin(input).unwrap();
        (outcome.pieces(input).concat(), outcome)
    }

    #[test]
    fn pins_in_the_style_written_and_changes_nothing_else() {
        let input = pod(&[
            "nginx # the web",
            "'nginx'",
            "\"ghcr.io/dapr/daprd:1.17.3\"",
            "&img nginx:latest",
            "*img",
        ])
        .replace('\n', "\r\n");
        let (out, outcome) = run_on(&input, &[], false);
        assert!(!outcome.failed(), "{:?}", outcome.findings);
        let expected = pod(&[
            &format!("nginx@{A} # the web"),
            &format!("'nginx@{A}'"),
            &format!("\"ghcr.io/dapr/daprd:1.17.3@{B}\""),
            &format!("&img nginx:latest@{A}"),
            "*img",
        ])
        .replace('\n', "\r\n");
        assert_eq!(out, expected);
        let (again, _) = run_on(&out, &[], false);
        assert_eq!(again, out, "a second run changes nothing");
    }

    #[test]
    fn fails_closed_naming_image_resource_and_container() {
        let (_, outcome) = run_on(&pod(&["nginx", "redis:7"]), &[], false);
        assert!(outcome.failed());
        let text = outcome.findings[0].to_string();
        assert_eq!(
            text,
            "in.yaml:11:12: error[PR001]: Pod ns/p, container \"c1\": image \"redis:7\" (docker.io/library/redis:7) is not in the lock lock.yaml"
        );
        let (_, outcome) = run_on(&pod(&["&r redis:7", "*r"]), &[], false);
        let places: Vec<_> = outcome
            .findings
            .iter()
            .map(|f| f.message.contains("container \"c1\""))
            .collect();
        assert_eq!(
            places,
            [false, true],
            "an aliased unlocked image is reported for each container"
        );
        let (_, outcome) = run_on(&pod(&[&format!("nginx@{B}")]), &[], false);
        assert_eq!(outcome.findings[0].code, rules::DIGEST_MISMATCH);
        let (out, outcome) = run_on(&pod(&["redis:7"]), &[], true);
        assert!(!outcome.failed());
        assert_eq!(out, pod(&["redis:7"]));
        let (_, outcome) = run_on(&pod(&["Bad/Name"]), &[], true);
        assert_eq!(outcome.findings[0].code, rules::INVALID_REFERENCE);
    }

    #[test]
    fn mirrors_after_pinning_and_requires_every_image_mirrored() {
        let input = pod(&["nginx:latest", "ghcr.io/dapr/daprd:1.17.3"]);
        let mirrors = [
            "docker.io=registry.corp/hub",
            "ghcr.io/dapr=registry.corp/dapr/",
        ];
        let (out, outcome) = run_on(&input, &mirrors, false);
        assert!(!outcome.failed(), "{:?}", outcome.findings);
        let expected = pod(&[
            &format!("registry.corp/hub/library/nginx:latest@{A}"),
            &format!("registry.corp/dapr/daprd:1.17.3@{B}"),
        ]);
        assert_eq!(out, expected);
        assert_eq!(
            run_on(&out, &mirrors, false).0,
            out,
            "idempotent under mirrors"
        );
        let (_, outcome) = run_on(&input, &["docker.io=registry.corp/hub"], false);
        let text = outcome.findings[0].to_string();
        assert!(
            text.contains("PR004")
                && text.contains("ghcr.io/dapr/daprd:1.17.3")
                && text.contains("container \"c1\""),
            "{text}"
        );
        assert!(Mirror::parse("nothing").is_err());
        assert!(Mirror::parse("bitnami=corp").is_err());
    }

    #[test]
    fn quotes_only_when_plain_text_would_change_meaning() {
        assert_eq!(quoted("a:1@sha256:x", Style::Plain), "a:1@sha256:x");
        assert_eq!(quoted("[::1]:5000/a", Style::Plain), "\"[::1]:5000/a\"");
        assert_eq!(quoted("x", Style::DoubleQuoted), "\"x\"");
        assert!(!plain_is_safe("true") && !plain_is_safe("1234"));
    }

    #[test]
    fn recognizes_helm3_output() {
        assert!(is_helm3_render(
            "---\n# Source: c/templates/a.yaml\nkind: Pod\n"
        ));
        assert!(!is_helm3_render(&format!("---\n# Source: c/templates/a.yaml\nmetadata:\n  annotations:\n    {HELM4_FILENAME_ANNOTATION}: a.yaml\n")));
        assert!(!is_helm3_render("kind: Pod\n"));
    }

    #[test]
    fn refuses_an_image_aliased_from_a_value_that_is_not_an_image() {
        let input = "kind: Pod\nmetadata:\n  name: &n nginx\n  namespace: ns\nspec:\n  containers:\n  - name: c0\n    image: *n\n";
        let (out, outcome) = run_on(input, &[], false);
        assert!(outcome.failed(), "{out}");
        assert!(
            outcome.edits.is_empty(),
            "metadata.name is never rewritten: {out}"
        );
        let text = outcome.findings[0].to_string();
        assert!(
            text.contains("PR003") && text.contains("alias of a value anchored at line 3"),
            "{text}"
        );
    }
}
