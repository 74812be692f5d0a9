//! The data of where images sit outside pod specs (`schema/images.yaml`): known image fields of well-known
//! custom resources and composite image shapes; and the rule that names a key as holding an image.

use crate::images_in::Location;
use anyhow::{anyhow, Result};
use serde::Deserialize;
use std::sync::OnceLock;

/// The data file, relative to the product data folder.
pub const FILE: &str = "images.yaml";

/// Kinds that run containers by definition (their pod specs are found as container lists).
const WORKLOAD_KINDS: [&str; 8] = [
    "Pod",
    "Deployment",
    "StatefulSet",
    "DaemonSet",
    "ReplicaSet",
    "ReplicationController",
    "Job",
    "CronJob",
];

/// The known image fields and composite shapes.
#[derive(Debug, Default)]
pub struct Known {
    pub fields: Vec<Location>,
    pub composites: Vec<Composite>,
}

/// An image written in several keys of one mapping.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Composite {
    #[serde(default)]
    pub registry: Option<String>,
    pub repository: String,
    #[serde(default)]
    pub tag: Option<String>,
    #[serde(default)]
    pub digest: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Data {
    #[serde(default)]
    fields: Vec<KindFields>,
    #[serde(default)]
    composites: Vec<Composite>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct KindFields {
    kind: String,
    paths: Vec<String>,
}

impl Known {
    /// The data, read once per process (embedded, or from `OPSTA_LINT_DATA`).
    pub fn get() -> Result<&'static Known> {
        static KNOWN: OnceLock<std::result::Result<Known, String>> = OnceLock::new();
        KNOWN
            .get_or_init(|| Known::read().map_err(|e| format!("{e:#}")))
            .as_ref()
            .map_err(|e| anyhow!("{e}"))
    }

    fn read() -> Result<Known> {
        let text = crate::product::data_file(FILE)?;
        Known::parse(&text).map_err(|e| anyhow!("schema/{FILE}: {e}"))
    }

    /// Reads the data file's text.
    pub fn parse(text: &str) -> Result<Known, String> {
        let docs =
            crate::yaml::parse(text).map_err(|e| format!("{}:{}: {}", e.line, e.col, e.message))?;
        let json = docs.first().map(|d| d.to_json()).unwrap_or_default();
        let data: Data = serde_json::from_value(json).map_err(|e| e.to_string())?;
        let mut fields = Vec::new();
        for entry in data.fields {
            for path in entry.paths {
                fields.push(Location::parse(&format!("{}:{path}", entry.kind))?);
            }
        }
        Ok(Known {
            fields,
            composites: data.composites,
        })
    }

    /// True for a kind known to run containers: a workload, or a kind with a known image field.
    pub fn runs_containers(&self, kind: &str) -> bool {
        WORKLOAD_KINDS.contains(&kind)
            || self.fields.iter().any(|f| f.kind.as_deref() == Some(kind))
    }
}

/// True for a key that names an image: `image`, `imageName`, `sidecarImage`, `SIDECAR_IMAGE`, `IMAGE_NAME`,
/// `image_name`. Not: `imagePullPolicy`, `image_tag`, `imageRepository`. Every such key holds `image`, `Image` or
/// `IMAGE`, the needles of the scan's byte search.
pub fn image_like(key: &str) -> bool {
    let base = ["Name", "_name", "_NAME", "-name", "name", "NAME"]
        .iter()
        .find_map(|s| key.strip_suffix(s))
        .unwrap_or(key);
    ["image", "Image", "IMAGE"]
        .iter()
        .any(|s| base.ends_with(s))
}

/// True for a value that reads as an image reference without a key to say so: it parses, and it has a `/` and a
/// tag or digest, or an explicit registry host (`ghcr.io/x`, `localhost:5000/x`). `nginx`, `nats:2.10` and
/// `catalyst-all` are not: alone, they could be anything.
pub fn reference_shaped(text: &str) -> bool {
    let Some((first, _)) = text.split_once('/') else {
        return false;
    };
    let Ok(image) = crate::image::ImageRef::parse(text) else {
        return false;
    };
    let host = first.contains(['.', ':']) || first == "localhost";
    host || image.tag.is_some() || image.digest.is_some()
}

/// True for a value that reads as an image reference under any key: it parses, with a `/` and a tag or digest.
/// Cheap bytes first: most strings of a render have no `/` or no `:`.
pub fn strongly_reference_shaped(text: &str) -> bool {
    let bytes = text.as_bytes();
    let plausible = memchr::memchr(b'/', bytes).is_some()
        && memchr::memchr2(b':', b'@', bytes).is_some()
        && !bytes.contains(&b' ')
        && !text.starts_with('/');
    plausible
        && crate::image::ImageRef::parse(text).is_ok_and(|i| i.tag.is_some() || i.digest.is_some())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_like_keys() {
        for key in [
            "image",
            "imageName",
            "natsImage",
            "SIDECAR_IMAGE",
            "OPERATOR_IMAGE_NAME",
            "image_name",
            "guest_image",
            "IMAGE",
        ] {
            assert!(image_like(key), "{key}");
        }
        for key in [
            "imagePullPolicy",
            "image_tag",
            "image_registry",
            "imageRepository",
            "DEFAULT_IMAGE_TAG",
            "images",
            "name",
            "imagePullSecrets",
        ] {
            assert!(!image_like(key), "{key}");
        }
    }

    #[test]
    fn reference_shapes() {
        for text in [
            "ghcr.io/cloudnative-pg/postgresql:16",
            "natsio/prometheus-nats-exporter:0.14.0",
            "ghcr.io/x",
            "localhost:5000/app",
        ] {
            assert!(reference_shaped(text), "{text}");
        }
        for text in ["nginx", "nats:2.10.10", "catalyst-all", "", "Always", "a/b"] {
            assert!(!reference_shaped(text), "{text}");
        }
        assert!(strongly_reference_shaped("ghcr.io/x/y:1"));
        for text in [
            "kubernetes.io/hostname",
            "/var/run:x",
            "a b/c:1",
            "ghcr.io/x",
        ] {
            assert!(!strongly_reference_shaped(text), "{text}");
        }
    }

    #[test]
    fn the_bundled_data_reads() {
        let known = Known::get().unwrap();
        assert!(known.runs_containers("Cluster") && known.runs_containers("Deployment"));
        assert!(!known.runs_containers("ConfigMap"));
        assert!(known.composites.len() >= 3);
        assert!(Known::parse("fields: [{kind: X}]\n").is_err());
    }
}
