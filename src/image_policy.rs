//! Product checks on the images of a render, as the product policy decides them (`src/policy.rs`): a component
//! the chart version pins (Catalyst: Dapr) must appear in one version only, the pinned one (PR005); the images of
//! a product that ships as one version (Opsta AI Gateway) must all carry that version (PR006); and a lock written
//! for another release than the one rendered is refused.

use crate::findings::{Code, Finding, Location, Severity};
use crate::image::ImageRef;
use crate::images_in::{split_chart_label, Site};
use crate::pinning::rules;
use crate::policy::{self, Off, ProductTag, ProductVersion};
use crate::product::{parse_version, Product};
use anyhow::Result;
use semver::Version;

/// The product a render belongs to and the chart version it was rendered from, with where each came from.
#[derive(Debug)]
pub struct Release {
    pub product: Product,
    pub version: Option<Version>,
    pub version_from: String,
}

/// Finds the product: `--product`, else the lock's `product`, else a `helm.sh/chart` label naming a product's
/// chart. The version: `--chart-version`, else that chart's label, else the lock's `version`.
pub fn release(
    products: &[Product],
    named: Option<&str>,
    chart_version: Option<&str>,
    charts: &[String],
    lock_version: Option<&str>,
) -> Result<Option<Release>> {
    let labelled = |p: &Product| {
        charts
            .iter()
            .filter_map(|c| split_chart_label(c))
            .find(|(chart, _)| *chart == p.chart)
            .map(|(_, v)| v.to_string())
    };
    let product = match named {
        Some(name) => products.iter().find(|p| p.name == name),
        None => products.iter().find(|p| labelled(p).is_some()),
    };
    let Some(product) = product else {
        return Ok(None);
    };
    let (text, from) = match (chart_version, labelled(product), lock_version) {
        (Some(v), _, _) => (Some(v.to_string()), "--chart-version".to_string()),
        (None, Some(v), _) => (
            Some(v.clone()),
            format!("the helm.sh/chart labels ({}-{v})", product.chart),
        ),
        (None, None, Some(v)) => (Some(v.to_string()), "the lock's version".to_string()),
        (None, None, None) => (None, String::new()),
    };
    let version = text.as_deref().map(parse_version).transpose()?;
    Ok(Some(Release {
        product: product.clone(),
        version,
        version_from: from,
    }))
}

/// The checks; `images` are the render's valid references as the lock knows them (mirrors undone).
pub fn check(
    release: &Release,
    images: &[(&Site, ImageRef)],
    lock_version: Option<&str>,
    input_name: &str,
) -> Result<Vec<Finding>> {
    let mut findings = Vec::new();
    lock_matches_release(release, lock_version, &mut findings);
    pinned_components(release, images, input_name, &mut findings)?;
    product_version(release, images, input_name, &mut findings)?;
    Ok(findings)
}

fn finding(code: Code, at: Option<Location>, message: String) -> Finding {
    let at = at.unwrap_or_else(Location::command_line);
    Finding::new(code, at, message).with_severity(Severity::Error)
}

fn at(site: &Site, input_name: &str) -> Option<Location> {
    Some(Location::at(input_name, site.line, site.col))
}

fn lock_matches_release(
    release: &Release,
    lock_version: Option<&str>,
    findings: &mut Vec<Finding>,
) {
    let (Some(version), Some(locked)) = (&release.version, lock_version) else {
        return;
    };
    if parse_version(locked).is_ok_and(|l| l != *version) {
        findings.push(finding(
            rules::PRODUCT_VERSION,
            None,
            format!(
                "the lock is for {} {locked}, but the render is {} {version} (from {}): use the lock of the release \
                 being installed",
                release.product.name, release.product.name, release.version_from
            ),
        ));
    }
}

fn pinned_components(
    release: &Release,
    images: &[(&Site, ImageRef)],
    input_name: &str,
    findings: &mut Vec<Finding>,
) -> Result<()> {
    for mut component in policy::pinned_images(&release.product, release.version.as_ref())? {
        let name = component.name().to_string();
        for (site, image) in images {
            let message = match component.check(image) {
                Some(Off::NotPinned { tag, want }) => format!(
                    "{}, {}: {name} image \"{}\" is version {tag}, but chart {} {} pins {name} {want}; {name} is \
                     upgraded only with the chart",
                    site.resource,
                    site.place,
                    image.without_digest(),
                    release.product.chart,
                    release.version.as_ref().map(Version::to_string).unwrap_or_default(),
                ),
                Some(Off::Mixed { tag, first }) => format!(
                    "{}, {}: {name} image \"{}\" is version {tag} while another is {first}: one release runs one \
                     {name} version",
                    site.resource,
                    site.place,
                    image.without_digest(),
                ),
                None => continue,
            };
            findings.push(finding(
                rules::PINNED_COMPONENT_VERSION,
                at(site, input_name),
                message,
            ));
        }
    }
    Ok(())
}

fn product_version(
    release: &Release,
    images: &[(&Site, ImageRef)],
    input_name: &str,
    findings: &mut Vec<Finding>,
) -> Result<()> {
    let Some(rule) = ProductVersion::of(&release.product, release.version.as_ref()) else {
        return Ok(());
    };
    let Some(re) = rule.images(&release.product.name)? else {
        return Ok(());
    };
    for (site, image) in images.iter().filter(|(_, i)| re.is_match(&i.name())) {
        let tag = image.tag_or_latest();
        let Some(problem) = rule.tag(tag) else {
            continue;
        };
        let expected = rule.want.as_deref().map_or_else(
            || "the product version".to_string(),
            |w| format!("{w} (from {})", release.version_from),
        );
        let why = if problem == ProductTag::Mutable {
            format!(", and {tag} is a mutable tag")
        } else {
            String::new()
        };
        let message = format!(
            "{}, {}: {} image \"{}\" has tag {tag}, not {expected}{why}; every component ships with the product version",
            site.resource,
            site.place,
            release.product.title,
            image.without_digest()
        );
        findings.push(finding(
            rules::PRODUCT_VERSION,
            at(site, input_name),
            message,
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::images_in::scan;

    fn deployment(chart: &str, images: &[&str]) -> String {
        let containers: String = images
            .iter()
            .enumerate()
            .map(|(i, image)| format!("      - name: c{i}\n        image: {image}\n"))
            .collect();
        format!(
            "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: d\n  namespace: ns\n  labels:\n    helm.sh/chart: {chart}\nspec:\n  template:\n    spec:\n      containers:\n{containers}"
        )
    }

    fn findings(
        render: &str,
        named: Option<&str>,
        chart_version: Option<&str>,
        lock_version: Option<&str>,
    ) -> Vec<String> {
        let products = Product::all().unwrap();
        let scan = scan(render, &[]).unwrap();
        let images: Vec<_> = scan
            .sites
            .iter()
            .map(|s| (s, ImageRef::parse(&s.text).unwrap()))
            .collect();
        let Some(release) =
            release(&products, named, chart_version, &scan.charts, lock_version).unwrap()
        else {
            return vec!["no product".into()];
        };
        check(&release, &images, lock_version, "in.yaml")
            .unwrap()
            .iter()
            .map(ToString::to_string)
            .collect()
    }

    #[test]
    fn catalyst_renders_run_the_dapr_the_chart_pins() {
        let good = deployment(
            "catalyst-1.90.0",
            &[
                "ghcr.io/dapr/daprd:1.19.0-20260806-catalyst.2",
                "ghcr.io/x/other:1",
                "registry.example/diagrid/sidecar:1.90.0",
            ],
        );
        assert!(findings(&good, None, None, None).is_empty());
        let old = deployment("catalyst-1.90.0", &["ghcr.io/dapr/daprd:1.17.3"]);
        let found = findings(&old, None, None, None);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].starts_with(
                "in.yaml:13:16: error[PR005]: Deployment ns/d, container \"c0\": dapr image"
            ),
            "{found:?}"
        );
        assert!(
            found[0].contains("chart catalyst 1.90.0 pins dapr 1.19.0-20260806-catalyst.2"),
            "{found:?}"
        );
        // --chart-version wins over the labels.
        let patched = deployment("catalyst-1.90.0", &["ghcr.io/dapr/daprd:1.17.3-catalyst.1"]);
        assert_eq!(
            findings(&patched, None, Some("1.39.0"), None),
            Vec::<String>::new()
        );
        assert_eq!(findings(&old, None, Some("1.39.0"), None).len(), 1);
        // Without a known pin, two Dapr versions in one render are still refused.
        let mixed = deployment(
            "catalyst-9.0.0",
            &["ghcr.io/dapr/daprd:1.17.3", "ghcr.io/dapr/placement:1.18.0"],
        );
        let found = findings(&mixed, None, None, None);
        assert!(
            found.len() == 1 && found[0].contains("while another is 1.17.3"),
            "{found:?}"
        );
    }

    #[test]
    fn a_lock_for_another_release_is_refused() {
        let render = deployment("catalyst-1.90.0", &["ghcr.io/x/other:1"]);
        let found = findings(&render, None, None, Some("1.89.0"));
        assert!(
            found.len() == 1 && found[0].contains("the lock is for catalyst 1.89.0"),
            "{found:?}"
        );
        assert_eq!(
            findings(&deployment("other-1.0.0", &["a"]), None, None, None),
            ["no product"]
        );
    }

    #[test]
    fn opsta_images_carry_the_product_version() {
        let render = deployment(
            "opsta-ai-gateway-1.25.0",
            &[
                "ghcr.io/opsta/opsta-ai-gateway/gateway:v1.25.0",
                "ghcr.io/opsta/opsta-ai-gateway/console:dev",
                "ghcr.io/opsta/opsta-ai-gateway/plugins/pii:0.3.1",
                "docker.io/library/redis:7.2",
            ],
        );
        let found = findings(&render, None, None, None);
        assert_eq!(found.len(), 1, "{found:?}");
        assert!(
            found[0].contains("console:dev\" has tag dev, not v1.25.0"),
            "{found:?}"
        );
        assert!(found[0].contains("dev is a mutable tag"), "{found:?}");
    }
}
