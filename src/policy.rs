//! Product policy, from the product data (`schema/<product>/product.yaml`), decided in one place for every job:
//!
//! - a component the chart version pins (Catalyst: Dapr) runs the pinned version only. A tag equal to the chart
//!   version is the vendor's own build, which moves with the chart (Catalyst: every Diagrid image from chart 1.12
//!   on, the Dapr `sidecar` and `private-sentry` included, FACTS section 5), so it stands for the pinned version.
//!   Where the data knows no pin for the chart version, every image of the component runs the same version;
//! - the images of a product that ships as one version (Opsta AI Gateway) carry that version, never a mutable tag.
//!
//! Lint (OL404, OL501) asks about the tags a values file sets, the post-renderer (PR005, PR006) about the images of
//! a render, verify about the images pods run; each words its own report.

use crate::image::ImageRef;
use crate::product::{PinnedComponent, Product, ProductVersionTag};
use anyhow::{anyhow, Result};
use regex::Regex;
use semver::Version;

/// `tag` names `version`: equal, or equal after one leading `v`.
pub fn tag_is(tag: &str, version: &str) -> bool {
    tag == version || tag.strip_prefix('v') == Some(version)
}

/// Two tags name the same version (each may have one leading `v`).
fn same_version(a: &str, b: &str) -> bool {
    a.strip_prefix('v').unwrap_or(a) == b.strip_prefix('v').unwrap_or(b)
}

/// What a tag of a pinned component runs, against the chart version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tag {
    /// The chart version: the vendor's build, which moves with the chart.
    ChartVersion,
    /// The version the chart version pins.
    Pinned,
    /// Another version than the one the chart version pins (`want`).
    NotPinned { want: String },
    /// The data knows no pin for this chart version, or the chart version is not known.
    NoPin,
}

impl Tag {
    /// The tag runs what the chart version pins.
    pub fn keeps_pin(&self) -> bool {
        matches!(self, Tag::ChartVersion | Tag::Pinned)
    }
}

/// One pinned component at one chart version.
#[derive(Debug, Clone)]
pub struct Pin<'a> {
    pub component: &'a PinnedComponent,
    /// The version the chart version pins, when the data knows it.
    pub version: Option<&'a str>,
    chart: Option<String>,
}

impl<'a> Pin<'a> {
    pub fn new(
        product: &'a Product,
        component: &'a PinnedComponent,
        chart: Option<&Version>,
    ) -> Self {
        Pin {
            component,
            version: chart.and_then(|c| product.pinned_version(&component.name, c)),
            chart: chart.map(Version::to_string),
        }
    }

    /// What `tag` runs.
    pub fn tag(&self, tag: &str) -> Tag {
        if self.chart.as_deref().is_some_and(|c| tag_is(tag, c)) {
            return Tag::ChartVersion;
        }
        match self.version {
            Some(want) if tag_is(tag, want) => Tag::Pinned,
            Some(want) => Tag::NotPinned {
                want: want.to_string(),
            },
            None => Tag::NoPin,
        }
    }
}

/// What is off with one image of a pinned component.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Off {
    /// The image runs `tag`, the chart version pins `want`.
    NotPinned { tag: String, want: String },
    /// No pin is known, and the image runs `tag` while an earlier one runs `first`.
    Mixed { tag: String, first: String },
}

/// The images of one pinned component, checked one after another (the order of a render, or of the pods).
#[derive(Debug)]
pub struct PinnedImages<'a> {
    pub pin: Pin<'a>,
    pattern: Regex,
    first: Option<String>,
}

/// A checker for each pinned component of `product` that names its images (`imagePattern`).
pub fn pinned_images<'a>(
    product: &'a Product,
    chart: Option<&Version>,
) -> Result<Vec<PinnedImages<'a>>> {
    let with_pattern = product
        .pinned_components
        .iter()
        .filter_map(|c| Some((c, c.image_pattern.as_deref()?)));
    with_pattern
        .map(|(component, text)| {
            Ok(PinnedImages {
                pin: Pin::new(product, component, chart),
                pattern: pattern(text, &component.name)?,
                first: None,
            })
        })
        .collect()
}

impl PinnedImages<'_> {
    /// The component's name.
    pub fn name(&self) -> &str {
        &self.pin.component.name
    }

    /// The tag of `image` when it is one of this component's images (by name and tag); digest-only references
    /// say no version.
    pub fn tag_of<'i>(&self, image: &'i ImageRef) -> Option<&'i str> {
        let named = self.pattern.is_match(&image.without_digest().raw)
            || self.pattern.is_match(&image.name_and_tag());
        named.then_some(image.tag.as_deref()).flatten()
    }

    /// What is off with `image`, if it is this component's.
    pub fn check(&mut self, image: &ImageRef) -> Option<Off> {
        let tag = self.tag_of(image)?;
        match self.pin.tag(tag) {
            Tag::ChartVersion | Tag::Pinned => None,
            Tag::NotPinned { want } => Some(Off::NotPinned {
                tag: tag.to_string(),
                want,
            }),
            Tag::NoPin => match &self.first {
                Some(first) if !same_version(tag, first) => Some(Off::Mixed {
                    tag: tag.to_string(),
                    first: first.clone(),
                }),
                Some(_) => None,
                None => {
                    self.first = Some(tag.to_string());
                    None
                }
            },
        }
    }
}

/// What is off with a tag that should be the product version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProductTag {
    /// A tag the data names mutable (`dev`, `latest`).
    Mutable,
    /// Another version than the one being installed.
    NotProductVersion,
}

/// The product version a product's own images carry (`productVersionTag`).
#[derive(Debug)]
pub struct ProductVersion<'a> {
    pub rule: &'a ProductVersionTag,
    /// The tag every image carries: `tagPrefix` + the chart version, when that is known.
    pub want: Option<String>,
}

impl<'a> ProductVersion<'a> {
    /// The rule of `product`, if it has one.
    pub fn of(product: &'a Product, chart: Option<&Version>) -> Option<Self> {
        let rule = product.product_version_tag.as_ref()?;
        Some(ProductVersion {
            rule,
            want: chart.map(|v| format!("{}{v}", rule.tag_prefix)),
        })
    }

    /// What is off with `tag`; a mutable tag is off even when the version is not known.
    pub fn tag(&self, tag: &str) -> Option<ProductTag> {
        if self.rule.mutable.iter().any(|m| m == tag) {
            Some(ProductTag::Mutable)
        } else if self.want.as_deref().is_some_and(|w| w != tag) {
            Some(ProductTag::NotProductVersion)
        } else {
            None
        }
    }

    /// The pattern of the product's own image names (`imagePattern`), when the data gives one.
    pub fn images(&self, product: &str) -> Result<Option<Regex>> {
        let owner = format!("{product} productVersionTag");
        self.rule
            .image_pattern
            .as_deref()
            .map(|text| pattern(text, &owner))
            .transpose()
    }
}

fn pattern(text: &str, owner: &str) -> Result<Regex> {
    Regex::new(text).map_err(|e| {
        anyhow!("product data: the image pattern of {owner} is not a valid regex: {e}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn catalyst() -> Product {
        Product::load("catalyst").unwrap()
    }

    fn image(text: &str) -> ImageRef {
        ImageRef::parse(text).unwrap()
    }

    #[test]
    fn a_chart_version_tag_keeps_the_pin_and_other_versions_do_not() {
        let product = catalyst();
        let chart = Version::new(1, 90, 0);
        let dapr = &product.pinned_components[0];
        let pin = Pin::new(&product, dapr, Some(&chart));
        assert_eq!(pin.version, Some("1.19.0-20260806-catalyst.2"));
        assert_eq!(pin.tag("1.90.0"), Tag::ChartVersion);
        assert_eq!(pin.tag("v1.90.0"), Tag::ChartVersion);
        assert!(!pin.tag("vv1.90.0").keeps_pin());
        assert_eq!(pin.tag("1.19.0-20260806-catalyst.2"), Tag::Pinned);
        assert_eq!(
            pin.tag("1.17.3"),
            Tag::NotPinned {
                want: "1.19.0-20260806-catalyst.2".into()
            }
        );
        let unknown = Pin::new(&product, dapr, Some(&Version::new(9, 0, 0)));
        assert_eq!(unknown.tag("9.0.0"), Tag::ChartVersion);
        assert_eq!(unknown.tag("1.17.3"), Tag::NoPin);
        assert_eq!(Pin::new(&product, dapr, None).tag("1.90.0"), Tag::NoPin);
    }

    #[test]
    fn without_a_pin_one_version_runs_and_chart_tagged_builds_do_not_count() {
        let product = catalyst();
        let chart = Version::new(9, 0, 0);
        let mut images = pinned_images(&product, Some(&chart)).unwrap();
        let dapr = &mut images[0];
        assert_eq!(
            dapr.check(&image("mirror.example/dapr/sidecar:9.0.0")),
            None
        );
        assert_eq!(dapr.check(&image("ghcr.io/dapr/daprd:1.17.3")), None);
        assert_eq!(dapr.check(&image("ghcr.io/dapr/placement:v1.17.3")), None);
        assert_eq!(dapr.check(&image("ghcr.io/x/other:2.0")), None);
        assert_eq!(
            dapr.check(&image("ghcr.io/dapr/sentry:1.18.0")),
            Some(Off::Mixed {
                tag: "1.18.0".into(),
                first: "1.17.3".into()
            })
        );
        let digest = format!("ghcr.io/dapr/sentry@sha256:{}", "a".repeat(64));
        assert_eq!(dapr.check(&image(&digest)), None);
    }

    #[test]
    fn product_images_carry_the_product_version() {
        let product = Product::load("opsta-ai-gateway").unwrap();
        let chart = Version::new(1, 25, 0);
        let rule = ProductVersion::of(&product, Some(&chart)).unwrap();
        assert_eq!(rule.want.as_deref(), Some("v1.25.0"));
        assert_eq!(rule.tag("v1.25.0"), None);
        assert_eq!(rule.tag("1.25.0"), Some(ProductTag::NotProductVersion));
        assert_eq!(rule.tag("dev"), Some(ProductTag::Mutable));
        let unknown = ProductVersion::of(&product, None).unwrap();
        assert_eq!(unknown.tag("v1.0.0"), None);
        assert_eq!(unknown.tag("latest"), Some(ProductTag::Mutable));
        let images = rule.images(&product.name).unwrap().unwrap();
        assert!(images.is_match("ghcr.io/opsta/opsta-ai-gateway/console"));
        assert!(!images.is_match("ghcr.io/opsta/opsta-ai-gateway/plugins/pii"));
        assert!(ProductVersion::of(&catalyst(), Some(&chart)).is_none());
    }
}
