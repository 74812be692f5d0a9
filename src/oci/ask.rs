//! The questions the registry checks ask. Each check builds its list of questions first and asks them with bounded
//! concurrency; answers come back in the order asked, so what the jobs print is stable.

use super::client::Client;
use super::{rules, Finding};
use crate::image::ImageRef;
use crate::lockfile::{Entry, Lock, Platform};
use crate::mirror::{mirrored, Mirror};
use crate::registry_args::Options;
use anyhow::{anyhow, Result};
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
pub struct Resolved {
    pub image: ImageRef,
    pub digest: String,
    pub platforms: Vec<Platform>,
}

/// Each image's digest (and an index's platforms), in the order given; or, when any image is missing or lacks a
/// wanted platform, the findings. Errors are could-not-run problems.
pub fn resolve(
    images: &[ImageRef],
    wanted: &[String],
    options: &Options,
) -> Result<std::result::Result<Vec<Resolved>, Vec<Finding>>> {
    let client = Client::new(options.clone())?;
    let jobs = images
        .iter()
        .map(|image| resolve_one(&client, image, wanted));
    let mut resolved = Vec::new();
    let mut findings = Vec::new();
    for answer in ask_all(options.concurrency, jobs)? {
        match answer {
            Ok(r) => resolved.push(r),
            Err(mut f) => findings.append(&mut f),
        }
    }
    Ok(if findings.is_empty() {
        Ok(resolved)
    } else {
        Err(findings)
    })
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

// ---- lock verify ----

/// A finding for each locked tag that no longer points at its locked digest (upstream, or in the mirrors).
pub fn verify_findings(lock: &Lock, mirrors: &[Mirror], options: &Options) -> Result<Vec<Finding>> {
    let client = Client::new(options.clone())?;
    ask_each_entry(&client, lock, options.concurrency, |client, entry| {
        verify_one(client, entry, mirrors)
    })
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

/// A finding for each locked digest (or platform of it) the mirrors do not hold: the mirror-check, also run as
/// the preflight check of an upgrade given mirrors.
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
}
