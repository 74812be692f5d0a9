//! The registry jobs' command side: what each reads, the summary it prints and its exit code.

use super::{Format, MirrorCheckArgs, ResolveArgs, VerifyArgs};
use crate::image::ImageRef;
use crate::lockfile::{Lock, NATIVE_API_VERSION, NATIVE_KIND};
use crate::oci::{self, Finding, Resolved};
use crate::source::Source;
use anyhow::{anyhow, bail, Result};

pub fn resolve(args: &ResolveArgs) -> Result<u8> {
    let source = Source::read(&args.from_manifest)?;
    let scan = crate::images_in::scan(&source.text, &[])
        .map_err(|e| anyhow!("{}:{}:{}: {}", source.name, e.line, e.col, e.message))?;
    let images = images_of(&source, &scan)?;
    let resolved = match oci::resolve(&images, &args.platform, &args.registry.options())? {
        Ok(resolved) => resolved,
        Err(findings) => {
            let summary = format!(
                "opsta-lint lock resolve: {} finding(s); no lock was written",
                findings.len()
            );
            eprint!("{}", super::render(&findings, &summary, Format::Human));
            return Ok(crate::exit::FINDINGS);
        }
    };
    let chart = scan
        .charts
        .first()
        .and_then(|c| crate::images_in::split_chart_label(c));
    let product = args.product.as_deref().or(chart.map(|c| c.0));
    let version = args.chart_version.as_deref().or(chart.map(|c| c.1));
    let text = lock_text(product, version, &resolved);
    // What is printed reads back as a lock: a render's image can never yield one opsta-lint refuses.
    Lock::parse(&Source::new("the resolved lock", text.as_str()))?;
    print!("{text}");
    eprintln!(
        "opsta-lint lock resolve: {} image(s) of {} resolved to their digests",
        resolved.len(),
        source.name
    );
    Ok(crate::exit::OK)
}

/// Each image of the render once: by name and tag, or by name and digest when no tag is written; an image
/// written with a digest keeps that digest. Sorted by normalized name, so the lock does not depend on the order
/// of the render.
fn images_of(source: &Source, scan: &crate::images_in::Scan) -> Result<Vec<ImageRef>> {
    let mut images: Vec<(String, ImageRef)> = Vec::new();
    for site in &scan.sites {
        let image = match ImageRef::parse(&site.text) {
            Ok(image) => image,
            Err(_) if !site.required => continue,
            Err(e) => bail!("{}:{}:{}: {e}", source.name, site.line, site.col),
        };
        let key = match (&image.tag, &image.digest) {
            (None, Some(digest)) => format!("{}@{digest}", image.name()),
            _ => image.name_and_tag(),
        };
        match images.iter_mut().find(|(k, _)| *k == key) {
            None => images.push((key, image)),
            Some((_, seen)) => match (&seen.digest, &image.digest) {
                (Some(a), Some(b)) if a != b => bail!(
                    "{}:{}:{}: the render pins {key} to two digests ({a} and {b})",
                    source.name,
                    site.line,
                    site.col
                ),
                (None, Some(_)) => *seen = image,
                _ => {}
            },
        }
    }
    images.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(images.into_iter().map(|(_, image)| image).collect())
}

/// The lock `lock resolve` prints.
fn lock_text(product: Option<&str>, version: Option<&str>, resolved: &[Resolved]) -> String {
    let yaml = crate::yaml::write::scalar_text;
    let mut out = format!("apiVersion: {NATIVE_API_VERSION}\nkind: {NATIVE_KIND}\n");
    if let Some(product) = product {
        out.push_str(&format!("product: {}\n", yaml(product)));
    }
    if let Some(version) = version {
        out.push_str(&format!("version: {}\n", yaml(version)));
    }
    out.push_str(if resolved.is_empty() {
        "images: []\n"
    } else {
        "images:\n"
    });
    for r in resolved {
        let image = if r.image.tag.is_some() || r.image.digest.is_none() {
            r.image.without_digest()
        } else {
            r.image.clone()
        };
        out.push_str(&format!(
            "  - image: {}\n    digest: {}\n",
            yaml(&image.raw),
            r.digest
        ));
        if !r.platforms.is_empty() {
            out.push_str("    platforms:\n");
            for p in &r.platforms {
                out.push_str(&format!(
                    "      - platform: {}\n        digest: {}\n",
                    yaml(&p.platform),
                    p.digest
                ));
            }
        }
    }
    out
}

pub fn verify(args: &VerifyArgs) -> Result<u8> {
    let lock = Lock::read(&args.lock)?;
    let findings = oci::verify_findings(&lock, &args.mirror, &args.registry.options())?;
    let place = if args.mirror.is_empty() {
        "upstream"
    } else {
        "in the mirror"
    };
    let summary = if findings.is_empty() {
        format!(
            "opsta-lint lock verify: every tag of {} ({} image(s)) still points {place} at its locked digest",
            lock.name,
            lock.entries.len()
        )
    } else {
        format!(
            "opsta-lint lock verify: {} finding(s) for {} ({} image(s) checked {place})",
            findings.len(),
            lock.name,
            lock.entries.len()
        )
    };
    Ok(report(&findings, &summary, args.output))
}

pub fn mirror_check(args: &MirrorCheckArgs) -> Result<u8> {
    let lock = Lock::read(&args.lock)?;
    let findings = oci::mirror_findings(&lock, &args.mirror, &args.registry.options())?;
    let summary = if findings.is_empty() {
        format!(
            "opsta-lint mirror-check: the mirror holds every locked digest of {} ({} image(s))",
            lock.name,
            lock.entries.len()
        )
    } else {
        format!(
            "opsta-lint mirror-check: {} of {} locked image(s) of {} are not fully in the mirror",
            findings.len(),
            lock.entries.len(),
            lock.name
        )
    };
    Ok(report(&findings, &summary, args.output))
}

/// Prints the findings and the summary on stdout in `format`; the exit code they make.
fn report(findings: &[Finding], summary: &str, format: Format) -> u8 {
    print!("{}", super::render(findings, summary, format));
    if findings.is_empty() {
        crate::exit::OK
    } else {
        crate::exit::FINDINGS
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lockfile::Platform;

    const A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn the_resolved_lock_is_sorted_reads_back_and_keeps_digest_only_references() {
        let scan_text = format!(
            "kind: Pod\nspec:\n  containers:\n  - image: redis:7\n  - image: nginx\n  - image: ghcr.io/a/b@{A}\n  - image: nginx:latest@{B}\n"
        );
        let source = Source::new("r.yaml", scan_text.as_str());
        let scan = crate::images_in::scan(&scan_text, &[]).unwrap();
        let images = images_of(&source, &scan).unwrap();
        let raws: Vec<&str> = images.iter().map(|i| i.raw.as_str()).collect();
        let pinned_nginx = format!("nginx:latest@{B}");
        let digest_only = format!("ghcr.io/a/b@{A}");
        assert_eq!(
            raws,
            [pinned_nginx.as_str(), "redis:7", digest_only.as_str()]
        );
        let resolved: Vec<Resolved> = images
            .into_iter()
            .map(|image| Resolved {
                digest: image.digest.clone().unwrap_or(A.into()),
                platforms: vec![Platform {
                    platform: "linux/amd64".into(),
                    digest: B.into(),
                }],
                image,
            })
            .collect();
        let text = lock_text(Some("catalyst"), Some("1.90.0"), &resolved);
        let lock = Lock::parse(&Source::new("l", text.as_str())).unwrap();
        assert_eq!(lock.entries.len(), 3);
        assert_eq!(lock.entries[0].image.raw, "nginx:latest");
        assert_eq!(lock.entries[0].digest, B);
        assert_eq!(lock.entries[2].image.raw, digest_only);
        assert_eq!(lock.entries[1].platforms[0].platform, "linux/amd64");
        assert_eq!(lock.version.as_deref(), Some("1.90.0"));
    }

    #[test]
    fn a_render_pinning_one_tag_to_two_digests_is_refused() {
        let text = format!(
            "kind: Pod\nspec:\n  containers:\n  - image: nginx:1@{A}\n  - image: nginx:1@{B}\n"
        );
        let scan = crate::images_in::scan(&text, &[]).unwrap();
        let err = images_of(&Source::new("r.yaml", text.as_str()), &scan).unwrap_err();
        assert!(err.to_string().starts_with("r.yaml:5:"), "{err}");
    }
}
