//! Product knowledge, read from data: `schema/<product>/product.yaml` and one JSON Schema per chart major
//! (format: docs/products.md). The files are embedded at build time (build.rs); `OPSTA_LINT_DATA=DIR` reads a
//! data folder of the same layout from disk instead. No product is named in code.

use anyhow::{anyhow, bail, Context, Result};
use semver::{Version, VersionReq};
use serde::Deserialize;
use serde_json::Value as Json;
use std::borrow::Cow;
use std::path::PathBuf;

mod embedded {
    include!(concat!(env!("OUT_DIR"), "/schema_files.rs"));
}

/// The environment variable naming a data folder to read instead of the embedded data.
pub const DATA_ENV: &str = "OPSTA_LINT_DATA";

/// One product: what the lint rules, the post-renderer and the release reader know about its chart.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Product {
    pub api_version: String,
    pub kind: String,
    pub name: String,
    pub title: String,
    pub chart: String,
    #[serde(default)]
    pub namespace: Option<String>,
    /// Values paths that mark values as this product's (any present).
    #[serde(default)]
    pub fingerprint: Vec<String>,
    pub majors: Vec<Major>,
    #[serde(default)]
    pub policy: Policy,
    #[serde(default)]
    pub required_secrets: Vec<RequiredSecret>,
    #[serde(default)]
    pub sticky: Vec<Sticky>,
    #[serde(default)]
    pub renames: Vec<Rename>,
    #[serde(default)]
    pub default_changes: Vec<DefaultChange>,
    #[serde(default)]
    pub pinned_components: Vec<PinnedComponent>,
    #[serde(default)]
    pub product_version_tag: Option<ProductVersionTag>,
    #[serde(default)]
    pub inline_secrets: Option<InlineSecrets>,
    #[serde(default)]
    pub image_locations: ImageLocations,
    /// File name of the values surface of each known release, beside product.yaml (src/surface/).
    #[serde(default)]
    pub surface: Option<String>,
    /// Namespaces (`*` matches any run of characters) whose pods belong to the product's installation besides the
    /// release namespace, e.g. where it runs workloads it installs at runtime; `verify` checks their pods too.
    #[serde(default)]
    pub region_namespaces: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Major {
    pub major: u64,
    /// File name of the values schema, beside product.yaml.
    pub schema: String,
    #[serde(deserialize_with = "version")]
    pub latest: Version,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    #[default]
    Error,
    Warn,
    Allow,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Policy {
    #[serde(default)]
    pub cross_major: Level,
    #[serde(default = "warn")]
    pub downgrade: Level,
}

fn warn() -> Level {
    Level::Warn
}

/// A secret the chart needs on every install and upgrade (Catalyst's join token).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct RequiredSecret {
    pub path: String,
    #[serde(default)]
    pub unless_set: Option<String>,
    /// Chart majors the entry applies to (absent: all).
    #[serde(default)]
    pub majors: Option<Vec<u64>>,
    /// Chart versions the entry applies to, as a semver requirement (absent: all).
    #[serde(default, deserialize_with = "requirement")]
    pub versions: Option<VersionReq>,
    #[serde(default)]
    pub placeholders: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Sticky {
    pub path: String,
    pub flag: String,
    pub why: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct Rename {
    pub from: String,
    /// The new path; absent when the key was removed.
    #[serde(default)]
    pub to: Option<String>,
    /// The first chart version without the old key.
    #[serde(deserialize_with = "version")]
    pub version: Version,
    #[serde(default)]
    pub note: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct DefaultChange {
    #[serde(deserialize_with = "version")]
    pub version: Version,
    /// The user "decided explicitly" when any of these is set.
    pub paths: Vec<String>,
    pub message: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PinnedComponent {
    pub name: String,
    #[serde(default)]
    pub forbidden_paths: Vec<String>,
    #[serde(default)]
    pub image_pattern: Option<String>,
    #[serde(default)]
    pub versions: Vec<PinnedVersion>,
}

/// Chart versions `from` ..= `to` pin `version`. `to` may end in `.x` (any patch).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct PinnedVersion {
    #[serde(deserialize_with = "version")]
    pub from: Version,
    pub to: String,
    pub version: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct ProductVersionTag {
    pub path: String,
    #[serde(default)]
    pub mutable: Vec<String>,
    /// Written before the product version in the expected tag (e.g. `v`).
    #[serde(default)]
    pub tag_prefix: String,
    /// Regex on a normalized image name (`ghcr.io/x/y`) that picks the product's own images in a render; the
    /// post-renderer checks that each carries `tagPrefix` + the product version.
    #[serde(default)]
    pub image_pattern: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct InlineSecrets {
    pub paths: Vec<String>,
    pub secrets_file_hint: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ImageLocations {
    #[serde(default)]
    pub values: Vec<String>,
    #[serde(default)]
    pub manifest: Vec<String>,
}

impl Product {
    /// The product called `name` (its `name:` field, which is also its folder's name). Reads that product only.
    pub fn load(name: &str) -> Result<Product> {
        let names = product_names()?;
        if !names.iter().any(|n| n == name) {
            bail!(
                "unknown product \"{name}\"; known products: {}",
                names.join(", ")
            );
        }
        read_product(name)
    }

    /// Every product of the data, sorted by name.
    pub fn all() -> Result<Vec<Product>> {
        product_names()?.iter().map(|n| read_product(n)).collect()
    }

    /// The major entry for a chart major version.
    pub fn major(&self, major: u64) -> Result<&Major> {
        self.majors
            .iter()
            .find(|m| m.major == major)
            .ok_or_else(|| {
                let known: Vec<String> = self.majors.iter().map(|m| m.major.to_string()).collect();
                anyhow!(
                    "{} has no schema for chart major {major} (known majors: {})",
                    self.name,
                    known.join(", ")
                )
            })
    }

    /// The newest chart version the data knows.
    pub fn latest(&self) -> Option<&Version> {
        self.majors.iter().map(|m| &m.latest).max()
    }

    /// The JSON Schema of the values for a chart major.
    pub fn schema_for_major(&self, major: u64) -> Result<Json> {
        let file = format!("{}/{}", self.name, self.major(major)?.schema);
        serde_json::from_str(&self.schema_text(major)?)
            .with_context(|| format!("schema/{file} is not valid JSON"))
    }

    /// The text of the values schema of chart major `major`.
    pub fn schema_text(&self, major: u64) -> Result<Cow<'static, str>> {
        data_file(&format!("{}/{}", self.name, self.major(major)?.schema))
    }

    /// The values surface of each known release, when the data has one.
    pub fn surface(&self) -> Result<Option<crate::surface::Surface>> {
        let Some(file) = &self.surface else {
            return Ok(None);
        };
        let name = format!("{}/{file}", self.name);
        use crate::surface::Surface;
        // build.rs made a table of each embedded surface; a data folder's file is read now.
        let embedded = embedded::SURFACES.iter().find(|(p, _)| *p == name);
        if let (None, Some((_, table))) = (data_dir(), embedded) {
            return Surface::from_table(&name, table).map(Some);
        }
        Surface::parse(&name, &data_file(&name)?).map(Some)
    }

    /// The version of `component` that chart `chart` pins (e.g. Dapr for Catalyst), if the data knows it.
    pub fn pinned_version(&self, component: &str, chart: &Version) -> Option<&str> {
        let component = self
            .pinned_components
            .iter()
            .find(|c| c.name == component)?;
        component
            .versions
            .iter()
            .find(|v| v.covers(chart))
            .map(|v| v.version.as_str())
    }

    /// The fingerprint paths present in the values.
    pub fn fingerprint_in(&self, values: &Json) -> Vec<&str> {
        self.fingerprint
            .iter()
            .filter(|p| !crate::paths::find(values, p).is_empty())
            .map(String::as_str)
            .collect()
    }
}

impl PinnedVersion {
    /// True when `chart` lies in `from ..= to`.
    pub fn covers(&self, chart: &Version) -> bool {
        *chart >= self.from && upper_bound(&self.to).is_some_and(|req| req.matches(chart))
    }
}

impl RequiredSecret {
    /// True when the entry applies to the chart version.
    pub fn applies_to(&self, chart: &Version) -> bool {
        let major_ok = self
            .majors
            .as_ref()
            .is_none_or(|m| m.contains(&chart.major));
        let versions_ok = self.versions.as_ref().is_none_or(|req| req.matches(chart));
        major_ok && versions_ok
    }
}

/// `1.51.x` or `1.51.0` as the requirement `<=1.51` / `<=1.51.0`.
fn upper_bound(to: &str) -> Option<VersionReq> {
    let bound = to.strip_suffix(".x").unwrap_or(to);
    VersionReq::parse(&format!("<={bound}")).ok()
}

/// One product.yaml: the embedded data has it as JSON from build time (build.rs), read straight into the product;
/// a data folder's is read now, as YAML.
fn from_data(path: &str) -> Result<Product> {
    let format = || format!("schema/{path} does not follow the product format");
    let embedded = embedded::PRODUCTS_JSON.iter().find(|(p, _)| *p == path);
    if let (None, Some((_, json))) = (data_dir(), embedded) {
        return serde_json::from_str(json).with_context(format);
    }
    let text = data_file(path)?;
    let docs = crate::yaml::parse(&text)
        .map_err(|e| anyhow!("schema/{path}:{}:{}: {}", e.line, e.col, e.message))?;
    let doc = docs
        .first()
        .ok_or_else(|| anyhow!("schema/{path} is empty"))?;
    serde_json::from_value(doc.to_json()).with_context(format)
}

/// Reads one product.yaml and checks what serde cannot: versions and ranges that must parse.
fn parse(path: &str) -> Result<Product> {
    let product = from_data(path)?;
    for component in &product.pinned_components {
        for range in &component.versions {
            if upper_bound(&range.to).is_none() {
                bail!(
                    "schema/{path}: pinned {} range end \"{}\" is not a version",
                    component.name,
                    range.to
                );
            }
        }
    }
    for major in &product.majors {
        if !text_exists(&format!("{}/{}", product.name, major.schema)) {
            bail!(
                "schema/{path}: major {} names schema {}, which does not exist",
                major.major,
                major.schema
            );
        }
    }
    Ok(product)
}

/// Reads and parses `DIR/product.yaml`; its `name:` must be its folder's name.
fn read_product(dir: &str) -> Result<Product> {
    let path = format!("{dir}/product.yaml");
    let product = parse(&path)?;
    if product.name != dir {
        bail!(
            "{path}: name \"{}\" differs from its folder \"{dir}\"",
            product.name
        );
    }
    Ok(product)
}

/// The folder named by `OPSTA_LINT_DATA`, or none for the embedded data.
fn data_dir() -> Option<PathBuf> {
    std::env::var_os(DATA_ENV).map(PathBuf::from)
}

/// The products of the data: the folders holding a product.yaml, sorted.
fn product_names() -> Result<Vec<String>> {
    let Some(root) = data_dir() else {
        let names = embedded::FILES
            .iter()
            .filter_map(|(p, _)| p.strip_suffix("/product.yaml"));
        return Ok(names.map(String::from).collect());
    };
    let entries = std::fs::read_dir(&root)
        .with_context(|| format!("{DATA_ENV}: cannot read {}", root.display()))?;
    let mut names = Vec::new();
    for entry in entries {
        let path = entry?.path();
        if path.join("product.yaml").is_file() {
            names.push(
                path.file_name()
                    .unwrap_or_default()
                    .to_string_lossy()
                    .into_owned(),
            );
        }
    }
    names.sort();
    Ok(names)
}

fn text_exists(file: &str) -> bool {
    match data_dir() {
        Some(root) => root.join(file).is_file(),
        None => embedded::FILES.iter().any(|(p, _)| *p == file),
    }
}

/// One data file's text, by its path relative to the data folder (`catalyst/product.yaml`). The embedded data is
/// borrowed, not copied.
pub(crate) fn data_file(file: &str) -> Result<Cow<'static, str>> {
    let missing = || anyhow!("schema/{file} is missing from the product data");
    let Some(root) = data_dir() else {
        let found = embedded::FILES.iter().find(|(p, _)| *p == file);
        return found.map(|(_, t)| Cow::Borrowed(*t)).ok_or_else(missing);
    };
    let path = root.join(file);
    if !path.is_file() {
        return Err(missing());
    }
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("{DATA_ENV}: cannot read {}", path.display()))?;
    Ok(Cow::Owned(text))
}

fn version<'de, D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Version, D::Error> {
    let text = String::deserialize(d)?;
    Version::parse(text.trim_start_matches('v'))
        .map_err(|e| serde::de::Error::custom(format!("\"{text}\" is not a semantic version: {e}")))
}

fn requirement<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> std::result::Result<Option<VersionReq>, D::Error> {
    let text = String::deserialize(d)?;
    VersionReq::parse(&text)
        .map(Some)
        .map_err(|e| serde::de::Error::custom(format!("\"{text}\" is not a version range: {e}")))
}

/// Parses a chart version as users write it (`1.90.0`, `v1.90.0`).
pub fn parse_version(text: &str) -> Result<Version> {
    Version::parse(text.trim().trim_start_matches('v'))
        .map_err(|e| anyhow!("\"{text}\" is not a chart version (expected MAJOR.MINOR.PATCH): {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_end_inclusively_and_x_means_any_patch() {
        let range = PinnedVersion {
            from: Version::new(1, 39, 0),
            to: "1.51.x".into(),
            version: "d".into(),
        };
        assert!(range.covers(&Version::new(1, 39, 0)));
        assert!(range.covers(&Version::new(1, 51, 7)));
        assert!(!range.covers(&Version::new(1, 52, 0)));
        assert!(!range.covers(&Version::new(1, 38, 9)));
    }

    #[test]
    fn every_bundled_product_loads_with_its_schemas_and_image_patterns() {
        for product in Product::all().unwrap() {
            for major in &product.majors {
                let schema = product.schema_for_major(major.major).unwrap();
                let what = format!("{} {}", product.name, major.schema);
                assert!(schema.is_object(), "{what}");
                assert!(
                    schema.get("$id").is_none(),
                    "{what} declares an $id (see docs/products.md)"
                );
            }
            let pinned = product.pinned_components.iter().map(|c| &c.image_pattern);
            let own = product.product_version_tag.iter().map(|t| &t.image_pattern);
            for pattern in pinned.chain(own).flatten() {
                regex::Regex::new(pattern).unwrap_or_else(|e| panic!("{}: {e}", product.name));
            }
        }
    }
}
