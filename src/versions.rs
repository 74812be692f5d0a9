//! `opsta-lint versions PRODUCT CHART_VERSION`: what the product data (`product`) says about one chart version.

use crate::product::{parse_version, PinnedComponent, Product, Rename};
use anyhow::{anyhow, bail, Result};
use semver::Version;

// `opsta-lint versions PRODUCT CHART_VERSION`: the component versions a chart version pins.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The product (e.g. catalyst).
    pub product: String,
    /// The chart version (e.g. 1.45.0).
    pub chart_version: String,
    /// Print only this component's version (e.g. dapr).
    #[arg(long, conflicts_with = "keys")]
    pub component: Option<String>,
    /// Print the values keys this chart version adds, removes and renames instead.
    #[arg(long)]
    pub keys: bool,
}

pub fn run(args: &Args) -> Result<u8> {
    let product = Product::load(&args.product)?;
    let chart = parse_version(&args.chart_version)?;
    if args.keys {
        print!("{}", key_changes(&product, &chart)?);
        return Ok(crate::exit::OK);
    }
    let components: Vec<&PinnedComponent> = product
        .pinned_components
        .iter()
        .filter(|c| !c.versions.is_empty() && args.component.as_ref().is_none_or(|n| *n == c.name))
        .collect();
    if components.is_empty() {
        let what = args.component.as_deref().unwrap_or("any component");
        bail!("{}: the data pins no version of {what}", product.name);
    }
    let mut out = String::new();
    for component in components {
        let version = product
            .pinned_version(&component.name, &chart)
            .ok_or_else(|| {
                anyhow!(
                    "{} chart {chart}: no known {} version (the data covers {})",
                    product.name,
                    component.name,
                    coverage(component)
                )
            })?;
        if args.component.is_some() {
            out.push_str(&format!("{version}\n"));
        } else {
            out.push_str(&format!("{} {version}\n", component.name));
        }
    }
    print!("{out}");
    Ok(crate::exit::OK)
}

/// The keys a chart version adds, removes and renames against the known release before it, from the surface
/// data and the renames. A version between two known releases gets the changes between them.
fn key_changes(product: &Product, chart: &Version) -> Result<String> {
    let surface = product.surface()?.ok_or_else(|| {
        anyhow!(
            "{}: the data has no values surface per release",
            product.name
        )
    })?;
    let window = surface.window(chart);
    let (Some(&first), Some(&last)) = (window.first(), window.last()) else {
        bail!(
            "{} chart {chart}: no known release of major {} (known: {})",
            product.name,
            chart.major,
            join(&surface.releases)
        );
    };
    let index = match (window.len(), surface.releases[last] > *chart) {
        (2, _) => last,
        (_, true) => bail!(
            "{} chart {chart} is older than the first known release of its major, {}",
            product.name,
            surface.releases[last]
        ),
        _ => first,
    };
    let release = &surface.releases[index];
    let before = index.checked_sub(1).map(|i| &surface.releases[i]);
    let mut out = match (window.len(), release == chart, before) {
        (2, _, Some(b)) => format!(
            "{} {chart} is not a known release: it is taken to read the keys of both {b} and {release}; between them:\n",
            product.name
        ),
        (_, false, _) => format!(
            "{} {chart} is newer than the newest known release of its major: it is taken to read the keys of {release}\n",
            product.name
        ),
        (_, true, Some(b)) => format!("{} {chart} against {b}:\n", product.name),
        (_, true, None) => format!("{} {chart}, the first known release:\n", product.name),
    };
    if release != chart && window.len() == 1 {
        return Ok(out);
    }
    let renames: Vec<&Rename> = product
        .renames
        .iter()
        .filter(|r| r.version == *release)
        .collect();
    let renamed = |key: &str| {
        renames.iter().any(|r| {
            [Some(&r.from), r.to.as_ref()]
                .into_iter()
                .flatten()
                .any(|p| key == p || key.starts_with(&format!("{p}.")))
        })
    };
    let (added, removed) = surface.delta(index);
    let list = |title: &str, keys: Vec<String>, out: &mut String| {
        out.push_str(&format!(
            "{title}:{}\n",
            if keys.is_empty() { " none" } else { "" }
        ));
        keys.iter().for_each(|k| out.push_str(&format!("  {k}\n")));
    };
    let plain = |keys: Vec<&str>| {
        keys.into_iter()
            .filter(|k| !renamed(k))
            .map(String::from)
            .collect()
    };
    list("added", plain(added), &mut out);
    list("removed", plain(removed.clone()), &mut out);
    let moved = renames.iter().map(|r| match &r.to {
        Some(to) => format!("{} -> {to}", r.from),
        None => format!("{} ({})", r.from, r.note.as_deref().unwrap_or("removed")),
    });
    list(
        "renamed or removed by the renames data",
        moved.collect(),
        &mut out,
    );
    Ok(out)
}

fn join(versions: &[Version]) -> String {
    let texts: Vec<String> = versions.iter().map(Version::to_string).collect();
    texts.join(", ")
}

fn coverage(component: &PinnedComponent) -> String {
    match (component.versions.first(), component.versions.last()) {
        (Some(first), Some(last)) => format!("chart {} to {}", first.from, last.to),
        _ => "no chart version".into(),
    }
}
