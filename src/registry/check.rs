//! The three registry jobs. Each builds the list of questions first, asks them with bounded concurrency (answers
//! come back in the order asked, so output is stable), then reports.

use super::client::Client;
use super::{rules, Finding, Format, MirrorCheckArgs, Options, ResolveArgs, VerifyArgs};
use crate::image::ImageRef;
use crate::lockfile::{Entry, Lock, Platform, NATIVE_API_VERSION, NATIVE_KIND};
use crate::mirror::{mirrored, Mirror};
use crate::source::Source;
use anyhow::{anyhow, bail, Result};
use futures_util::{stream, StreamExt};
use serde_json::Value as Json;
use std::future::Future;

const INDEX_TYPES: [&str; 2] = [
    "application/vnd.oci.image.index.v1+json",
    "application/vnd.docker.distribution.manifest.list.v2+json",
];

/// Runs `jobs` on a single-threaded runtime, at most `concurrency` at once, answers in the order of `jobs`.
fn ask_all<T, F: Future<Output = Result<T>>>(
    concurrency: usize,
    jobs: impl IntoIterator<Item = F>,
) -> Result<Vec<T>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| anyhow!("cannot start the network runtime: {e}"))?;
    let answers: Vec<Result<T>> = runtime.block_on(
        stream::iter(jobs)
            .buffered(concurrency.max(1))
            .collect::<Vec<_>>(),
    );
    answers.into_iter().collect()
}

// ---- lock resolve ----

/// What the registry said about one image of the render.
struct Resolved {
    image: ImageRef,
    digest: String,
    platforms: Vec<Platform>,
}

pub fn resolve(args: &ResolveArgs) -> Result<u8> {
    let source = Source::read(&args.from_manifest)?;
    let scan = crate::images_in::scan(&source.text, &[])
        .map_err(|e| anyhow!("{}:{}:{}: {}", source.name, e.line, e.col, e.message))?;
    let images = images_of(&source, &scan)?;
    let options = args.registry.options();
    let client = Client::new(options.clone())?;
    let jobs = images
        .iter()
        .map(|image| resolve_one(&client, image, &args.platform));
    let answers = ask_all(options.concurrency, jobs)?;
    let mut resolved = Vec::new();
    let mut findings = Vec::new();
    for answer in answers {
        match answer {
            Ok(r) => resolved.push(r),
            Err(mut f) => findings.append(&mut f),
        }
    }
    if !findings.is_empty() {
        let summary = format!(
            "opsta-lint lock resolve: {} finding(s); no lock was written",
            findings.len()
        );
        eprint!("{}", super::render(&findings, &summary, Format::Human));
        return Ok(crate::exit::FINDINGS);
    }
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

async fn resolve_one(
    client: &Client,
    image: &ImageRef,
    wanted: &[String],
) -> Result<Result<Resolved, Vec<Finding>>> {
    let reference = image
        .digest
        .clone()
        .unwrap_or_else(|| image.tag_or_latest().to_string());
    let Some(manifest) = client.manifest(image, &reference).await? else {
        return Ok(Err(vec![not_found(image, &reference)]));
    };
    let json = manifest_json(image, &manifest.body)?;
    let index = is_index(&manifest.media_type, &json);
    let platforms = platforms_of(&manifest.media_type, &json);
    let mut findings = Vec::new();
    for platform in wanted {
        let has: Vec<String> = if index {
            platforms.iter().map(|p| p.platform.clone()).collect()
        } else {
            single_platform(client, image, &json)
                .await?
                .into_iter()
                .collect()
        };
        if !has.contains(platform) {
            let has = if has.is_empty() {
                "no platform it names".to_string()
            } else {
                has.join(", ")
            };
            findings.push(Finding::new(
                rules::PLATFORM_MISSING,
                &image.raw,
                format!(
                    "image {} does not provide platform {platform} (it has: {has})",
                    image.raw
                ),
            ));
        }
    }
    if !findings.is_empty() {
        return Ok(Err(findings));
    }
    Ok(Ok(Resolved {
        image: image.clone(),
        digest: manifest.digest,
        platforms,
    }))
}

fn not_found(image: &ImageRef, reference: &str) -> Finding {
    let what = if reference.starts_with("sha256:") {
        format!("{}@{reference}", image.name())
    } else {
        format!("{}:{reference}", image.name())
    };
    Finding::new(
        rules::IMAGE_NOT_FOUND,
        &image.raw,
        format!(
            "registry {} does not have {what} (manifest unknown): a typo, an image not pushed yet, or a tag deleted",
            image.registry
        ),
    )
}

fn manifest_json(image: &ImageRef, body: &[u8]) -> Result<Json> {
    serde_json::from_slice(body).map_err(|_| {
        anyhow!(
            "registry {} sent a manifest for {} that is not JSON",
            image.registry,
            image.name()
        )
    })
}

fn is_index(media_type: &str, json: &Json) -> bool {
    let declared = json
        .get("mediaType")
        .and_then(Json::as_str)
        .unwrap_or(media_type);
    INDEX_TYPES.contains(&declared) || json.get("manifests").is_some_and(Json::is_array)
}

/// The platforms an index lists (none for a manifest of one platform).
fn platforms_of(media_type: &str, json: &Json) -> Vec<Platform> {
    if is_index(media_type, json) {
        index_platforms(json)
    } else {
        Vec::new()
    }
}

/// The platforms an index lists, with their manifest digests, in the index's order. Entries without a real
/// platform (`unknown/unknown`: build attestations) are left out.
fn index_platforms(json: &Json) -> Vec<Platform> {
    let mut platforms: Vec<Platform> = Vec::new();
    for entry in json
        .get("manifests")
        .and_then(Json::as_array)
        .into_iter()
        .flatten()
    {
        let (Some(digest), Some(platform)) = (
            entry.get("digest").and_then(Json::as_str),
            entry.get("platform").and_then(platform_text),
        ) else {
            continue;
        };
        let valid = crate::image::check_digest(digest).is_ok()
            && crate::lockfile::check_platform(&platform).is_ok();
        if valid && !platforms.iter().any(|p| p.platform == platform) {
            platforms.push(Platform {
                platform,
                digest: digest.to_string(),
            });
        }
    }
    platforms
}

/// `os/architecture[/variant]` of an index entry's `platform` or of an image config.
fn platform_text(json: &Json) -> Option<String> {
    let field = |k: &str| json.get(k).and_then(Json::as_str).filter(|s| !s.is_empty());
    let (os, arch) = (field("os")?, field("architecture")?);
    if os == "unknown" || arch == "unknown" {
        return None;
    }
    Some(match field("variant") {
        Some(variant) => format!("{os}/{arch}/{variant}"),
        None => format!("{os}/{arch}"),
    })
}

/// The platform of a single-platform image, from its config blob.
async fn single_platform(
    client: &Client,
    image: &ImageRef,
    manifest: &Json,
) -> Result<Option<String>> {
    let Some(config) = manifest
        .get("config")
        .and_then(|c| c.get("digest"))
        .and_then(Json::as_str)
    else {
        return Ok(None);
    };
    let Some(blob) = client.blob(image, config).await? else {
        return Ok(None);
    };
    let json: Json = serde_json::from_slice(&blob).unwrap_or_default();
    Ok(platform_text(&json))
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

// ---- lock verify ----

pub fn verify(args: &VerifyArgs) -> Result<u8> {
    let lock = Lock::read(&args.lock)?;
    let options = args.registry.options();
    let client = Client::new(options.clone())?;
    let findings = ask_each_entry(&client, &lock, options.concurrency, |client, entry| {
        verify_one(client, entry, &args.mirror)
    })?;
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

/// Asks `ask` about every entry of the lock, at most `concurrency` at once, and keeps the findings in lock order.
fn ask_each_entry<'a, F, Fut>(
    client: &'a Client,
    lock: &'a Lock,
    concurrency: usize,
    ask: F,
) -> Result<Vec<Finding>>
where
    F: Fn(&'a Client, &'a Entry) -> Fut,
    Fut: Future<Output = Result<Option<Finding>>>,
{
    let jobs = lock.entries.iter().map(|entry| ask(client, entry));
    Ok(ask_all(concurrency, jobs)?.into_iter().flatten().collect())
}

/// Where a locked image lives under the mirrors, or the finding that no mirror covers it.
fn mirror_target(entry: &Entry, mirrors: &[Mirror]) -> std::result::Result<ImageRef, Finding> {
    mirrored(mirrors, &entry.image)
        .map_err(|why| Finding::new(rules::NOT_MIRRORED, &entry.image.raw, why))
}

async fn verify_one(client: &Client, entry: &Entry, mirrors: &[Mirror]) -> Result<Option<Finding>> {
    let target = match mirror_target(entry, mirrors) {
        Ok(target) => target,
        Err(finding) => return Ok(Some(finding)),
    };
    let tagged = entry.image.tag.is_some() || entry.image.digest.is_none();
    let reference = if tagged {
        target.tag_or_latest().to_string()
    } else {
        entry.digest.clone()
    };
    let Some(now) = client.digest(&target, &reference).await? else {
        return Ok(Some(not_found(&target, &reference)));
    };
    if now == entry.digest {
        return Ok(None);
    }
    Ok(Some(Finding::new(
        rules::TAG_MOVED,
        &entry.image.raw,
        format!(
            "tag {}:{reference} now points at {now}, not at the locked {} (lock line {}): the image was retagged",
            target.name(),
            entry.digest,
            entry.line
        ),
    )))
}

// ---- mirror-check ----

pub fn mirror_check(args: &MirrorCheckArgs) -> Result<u8> {
    let lock = Lock::read(&args.lock)?;
    let findings = mirror_findings(&lock, &args.mirror, &args.registry.options())?;
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

pub fn mirror_findings(lock: &Lock, mirrors: &[Mirror], options: &Options) -> Result<Vec<Finding>> {
    let client = Client::new(options.clone())?;
    ask_each_entry(&client, lock, options.concurrency, |client, entry| {
        mirror_one(client, entry, mirrors)
    })
}

/// The locked digest in the mirror, and for an index each platform's manifest (those the lock lists, else every
/// platform of the index).
async fn mirror_one(client: &Client, entry: &Entry, mirrors: &[Mirror]) -> Result<Option<Finding>> {
    let target = match mirror_target(entry, mirrors) {
        Ok(target) => target,
        Err(finding) => return Ok(Some(finding)),
    };
    let missing = match client.manifest(&target, &entry.digest).await? {
        None => format!("{}@{} is not in the mirror", target.name(), entry.digest),
        Some(manifest) => {
            let json = manifest_json(&target, &manifest.body)?;
            let platforms = if entry.platforms.is_empty() {
                platforms_of(&manifest.media_type, &json)
            } else {
                entry.platforms.clone()
            };
            let mut absent = Vec::new();
            for p in &platforms {
                if client.digest(&target, &p.digest).await?.is_none() {
                    absent.push(format!("{} ({})", p.platform, p.digest));
                }
            }
            if absent.is_empty() {
                return Ok(None);
            }
            format!(
                "the mirror holds the index {}@{} but not the manifest of platform {}",
                target.name(),
                entry.digest,
                absent.join(", ")
            )
        }
    };
    let mut finding = Finding::new(
        rules::MIRROR_MISSING,
        &entry.image.raw,
        format!(
            "{missing} (locked for {}, lock line {})",
            entry.image.raw, entry.line
        ),
    );
    finding.fix = Some(copy_line(client, entry, &target));
    Ok(Some(finding))
}

/// The `skopeo copy` line that puts the locked digest (every platform) into the mirror under the locked tag.
fn copy_line(client: &Client, entry: &Entry, target: &ImageRef) -> String {
    let mut line = String::from("skopeo copy --all --preserve-digests");
    if client.is_insecure(&entry.image.registry) {
        line.push_str(" --src-tls-verify=false");
    }
    if client.is_insecure(&target.registry) {
        line.push_str(" --dest-tls-verify=false");
    }
    let destination = match &target.tag {
        Some(tag) => format!("{}:{tag}", target.name()),
        None if entry.image.digest.is_none() => format!("{}:latest", target.name()),
        None => format!("{}@{}", target.name(), entry.digest),
    };
    line.push_str(&format!(
        " docker://{}@{} docker://{destination}",
        entry.image.name(),
        entry.digest
    ));
    line
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

    const A: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
    const B: &str = "sha256:bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

    #[test]
    fn reads_the_platforms_of_an_index_and_skips_attestations() {
        let index: Json = serde_json::json!({
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": [
                {"digest": A, "platform": {"os": "linux", "architecture": "amd64"}},
                {"digest": B, "platform": {"os": "linux", "architecture": "arm", "variant": "v7"}},
                {"digest": A, "platform": {"os": "unknown", "architecture": "unknown"}}
            ]
        });
        assert!(is_index("", &index));
        let platforms: Vec<(String, String)> = index_platforms(&index)
            .into_iter()
            .map(|p| (p.platform, p.digest))
            .collect();
        assert_eq!(
            platforms,
            [
                ("linux/amd64".into(), A.into()),
                ("linux/arm/v7".into(), B.into())
            ]
        );
        assert!(!is_index(
            "application/vnd.oci.image.manifest.v1+json",
            &serde_json::json!({"config": {}})
        ));
    }

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
