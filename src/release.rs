//! A Helm release as Helm stores it: `data.release` of the release Secret or ConfigMap is
//! base64(gzip(JSON)) (old releases lack the gzip). Helm 3 and Helm 4 write the same fields; unknown ones are ignored.

use anyhow::{bail, Context, Result};
use base64::Engine;
use serde::Deserialize;
use std::io::Read;

/// The largest release JSON accepted after decompression (a release with big CRDs is a few MB).
const MAX_RELEASE_BYTES: u64 = 256 * 1024 * 1024;

/// What opsta-lint uses of a stored release.
#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    pub name: String,
    pub namespace: String,
    /// Helm's `version`: the revision number.
    pub revision: u64,
    /// deployed, superseded, failed, pending-upgrade, ...
    pub status: String,
    pub chart_name: String,
    pub chart_version: String,
    pub app_version: String,
    /// The user-supplied values only (`helm get values`); Null when none were given.
    pub config: serde_json::Value,
    /// The rendered (post-rendered) non-hook manifests.
    pub manifest: String,
    /// (resource name, manifest) of each hook.
    pub hooks: Vec<(String, String)>,
}

#[derive(Deserialize)]
struct Stored {
    name: String,
    #[serde(default)]
    namespace: String,
    version: u64,
    info: Info,
    chart: Chart,
    #[serde(default)]
    config: serde_json::Value,
    #[serde(default)]
    manifest: String,
    #[serde(default)]
    hooks: Option<Vec<Hook>>,
}

#[derive(Deserialize)]
struct Info {
    #[serde(default)]
    status: String,
}

#[derive(Deserialize)]
struct Chart {
    metadata: ChartMetadata,
}

#[derive(Deserialize)]
struct ChartMetadata {
    name: String,
    #[serde(default)]
    version: String,
    #[serde(default, rename = "appVersion")]
    app_version: String,
}

#[derive(Deserialize)]
struct Hook {
    #[serde(default)]
    name: String,
    #[serde(default)]
    manifest: String,
}

/// Decodes `data.release` as stored (after the Kubernetes API's own base64 of Secret data has been undone):
/// base64, then gzip when the bytes start with the gzip magic, then JSON.
pub fn decode(payload: &[u8]) -> Result<Release> {
    let compact: Vec<u8> = payload
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&compact)
        .context("the release payload is not Helm's format: it is not base64")?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        from_json(&gunzip(&bytes)?)
    } else {
        from_json(&bytes)
    }
}

fn gunzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(MAX_RELEASE_BYTES + 1)
        .read_to_end(&mut json)
        .context("the release payload is not Helm's format: its gzip data is corrupt")?;
    if json.len() as u64 > MAX_RELEASE_BYTES {
        bail!(
            "the release payload is not Helm's format: it inflates past {} MiB",
            MAX_RELEASE_BYTES >> 20
        );
    }
    Ok(json)
}

/// Reads a release from its JSON (as `helm install --dry-run -o json` prints it, or as stored after decoding).
pub fn from_json(json: &[u8]) -> Result<Release> {
    let stored: Stored = serde_json::from_slice(json).context(
        "the release payload is not Helm's format: its JSON lacks a Helm release's fields",
    )?;
    Ok(Release {
        name: stored.name,
        namespace: stored.namespace,
        revision: stored.version,
        status: stored.info.status,
        chart_name: stored.chart.metadata.name,
        chart_version: stored.chart.metadata.version,
        app_version: stored.chart.metadata.app_version,
        config: stored.config,
        manifest: stored.manifest,
        hooks: stored
            .hooks
            .unwrap_or_default()
            .into_iter()
            .map(|h| (h.name, h.manifest))
            .collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn dapr_json() -> Option<Vec<u8>> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/corpus/real-charts/dapr.release.json"
        );
        match std::fs::read(path) {
            Ok(bytes) => Some(bytes),
            Err(_) if std::env::var_os("CI").is_none() => {
                eprintln!("SKIPPED: ../shared not found");
                None
            }
            Err(err) => panic!("{path}: {err}"),
        }
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn base64(bytes: &[u8]) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .encode(bytes)
            .into_bytes()
    }

    #[test]
    fn decodes_a_real_release_gzipped_or_not() {
        let Some(json) = dapr_json() else { return };
        let gzipped = decode(&base64(&gzip(&json))).unwrap();
        let plain = decode(&base64(&json)).unwrap();
        assert_eq!(gzipped, plain);
        assert_eq!(gzipped.name, "dapr");
        assert_eq!(gzipped.namespace, "dapr-system");
        assert_eq!(gzipped.revision, 1);
        assert_eq!(gzipped.status, "pending-install");
        assert_eq!(
            (gzipped.chart_name.as_str(), gzipped.chart_version.as_str()),
            ("dapr", "0.0.0")
        );
        assert_eq!(gzipped.app_version, "0.0.0");
        assert_eq!(
            gzipped.config,
            serde_json::json!({"global": {"tag": "1.17.3"}})
        );
        assert!(gzipped.manifest.contains("kind: Deployment"));
        assert!(gzipped.hooks.is_empty());
    }

    #[test]
    fn absent_values_and_hooks_read_as_empty() {
        let json = br#"{"name":"r","version":3,"info":{"status":"deployed"},"chart":{"metadata":{"name":"c"}},
            "hooks":[{"name":"migrate","path":"c/templates/job.yaml","manifest":"kind: Job","events":["pre-upgrade"]}],"future":1}"#;
        let release = decode(&base64(&gzip(json))).unwrap();
        assert_eq!(release.config, serde_json::Value::Null);
        assert_eq!(release.hooks, [("migrate".into(), "kind: Job".into())]);
        assert_eq!((release.revision, release.status.as_str()), (3, "deployed"));
    }

    #[test]
    fn payloads_that_are_not_helms_say_so() {
        let cases: [(&[u8], &str); 4] = [
            (b"%%% not base64", "not base64"),
            (
                &base64(&[0x1f, 0x8b, 8, 0, 1, 2, 3]),
                "gzip data is corrupt",
            ),
            (
                &base64(b"{\"kind\": \"ConfigMap\"}"),
                "lacks a Helm release's fields",
            ),
            (&base64(&gzip(b"[1, 2")), "lacks a Helm release's fields"),
        ];
        for (payload, expected) in cases {
            let error = format!("{:#}", decode(payload).unwrap_err());
            assert!(
                error.contains("not Helm's format") && error.contains(expected),
                "{error}"
            );
        }
    }
}
