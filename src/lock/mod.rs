//! `opsta-lint lock init` (and `lock --from-manifest`): a lock skeleton listing every image a render uses. The
//! lock reader is `lockfile`; `lock resolve` and `lock verify` ask the registries (`registry`).

use crate::image::ImageRef;
use crate::images_in::Location;
use crate::lockfile::{NATIVE_API_VERSION, NATIVE_KIND};
use crate::source::Source;
use anyhow::Result;

// Arguments of `opsta-lint lock init` (and of `lock --from-manifest`).
#[derive(Debug, clap::Args)]
pub struct Args {
    /// A rendered release (`helm template ...` output, or `-` for stdin): list every image it uses as a lock
    /// skeleton on stdout. Digests already in the render are filled in; the rest are left empty to fill.
    #[arg(long, value_name = "FILE")]
    pub from_manifest: String,
    /// Also look for images at PATH in resources of KIND (`Runner:spec.runner.image`; `[]` steps into each
    /// list item); repeatable. The skeleton lists them under `fields:` for `postrender` to use.
    #[arg(long, value_name = "KIND:PATH", value_parser = Location::parse)]
    pub image_field: Vec<Location>,
    /// Make values that may be images (PR008, PR009) errors: then nothing is written and the exit code is 1.
    #[arg(long)]
    pub strict: bool,
}

pub fn run(args: &Args) -> Result<u8> {
    let source = Source::read(&args.from_manifest)?;
    crate::image_fields::Known::get()?;
    let scan = crate::images_in::scan(&source.text, &args.image_field)
        .map_err(|e| anyhow::anyhow!("{}:{}:{}: {}", source.name, e.line, e.col, e.message))?;
    let mut findings: Vec<_> = scan
        .unsure
        .iter()
        .map(|u| crate::pinning::unsure(&source.name, u))
        .collect();
    if args.strict {
        crate::pinning::strict(&mut findings);
    }
    crate::output::print_findings(&findings);
    let errors = findings
        .iter()
        .any(|f| f.severity == crate::findings::Severity::Error);
    if errors {
        eprintln!("opsta-lint lock: values that may be images (--strict); nothing was written");
        return Ok(crate::exit::FINDINGS);
    }
    print!("{}{}", skeleton(&scan), fields_text(&args.image_field));
    Ok(crate::exit::OK)
}

/// The `fields:` list of a lock for these locations (nothing when there are none).
pub fn fields_text(fields: &[Location]) -> String {
    let yaml = crate::yaml::write::scalar_text;
    let mut out = String::new();
    for location in fields {
        if out.is_empty() {
            out.push_str("fields:\n");
        }
        let text = location.text();
        let (kind, path) = match &location.kind {
            Some(kind) => (Some(kind), text[kind.len() + 1..].to_string()),
            None => (None, text),
        };
        match kind {
            Some(kind) => out.push_str(&format!(
                "  - kind: {}\n    path: {}\n",
                yaml(kind),
                yaml(&path)
            )),
            None => out.push_str(&format!("  - path: {}\n", yaml(&path))),
        }
    }
    out
}

/// A ReleaseLock listing each image of a render once (by name and tag, as first written), with where it is used.
pub fn skeleton(scan: &crate::images_in::Scan) -> String {
    let mut images: Vec<(ImageRef, Vec<String>)> = Vec::new();
    for site in &scan.sites {
        let Ok(image) = ImageRef::parse(&site.text) else {
            continue;
        };
        let used_by = format!("{}, {}", site.resource, site.place);
        match images.iter_mut().find(|(i, _)| same_image(i, &image)) {
            Some((_, uses)) => uses.push(used_by),
            None => images.push((image, vec![used_by])),
        }
    }
    let mut out = format!("apiVersion: {NATIVE_API_VERSION}\nkind: {NATIVE_KIND}\n");
    let chart = scan
        .charts
        .first()
        .and_then(|c| crate::images_in::split_chart_label(c));
    // Every value as YAML reads it back: quoted when it would read otherwise (`[::1]:5000/app` starts a flow
    // sequence, `1.5` is a number).
    let yaml = crate::yaml::write::scalar_text;
    if let Some((product, version)) = chart {
        let shown = crate::printable::shown;
        out.push_str(&format!(
            "# from the render of chart {} {}\nproduct: {}\nversion: {}\n",
            shown(product),
            shown(version),
            yaml(product),
            yaml(version)
        ));
    }
    out.push_str(if images.is_empty() {
        "images: []\n"
    } else {
        "images:\n"
    });
    for (image, uses) in images {
        for used_by in uses.iter().take(3) {
            out.push_str(&format!("  # {used_by}\n"));
        }
        if uses.len() > 3 {
            out.push_str(&format!("  # ... and {} more\n", uses.len() - 3));
        }
        let unpinned = image.without_digest();
        let digest = image.digest.as_deref().unwrap_or("");
        out.push_str(&format!(
            "  - image: {}\n    digest: \"{digest}\"\n",
            yaml(&unpinned.to_string())
        ));
    }
    out
}

fn same_image(a: &ImageRef, b: &ImageRef) -> bool {
    let key = |i: &ImageRef| match (&i.tag, &i.digest) {
        (None, Some(digest)) => format!("{}@{digest}", i.name()),
        _ => i.name_and_tag(),
    };
    key(a) == key(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_names_in_a_render_cannot_add_lines_to_the_lock_skeleton() {
        let render = r#"apiVersion: apps/v1
kind: Deployment
metadata:
  name: "x\nimages: []\n#"
  labels:
    helm.sh/chart: "evil: a #-1.0\nx: y"
spec:
  template:
    spec:
      containers:
        - name: "c\u001b[2J"
          image: nginx:1.25
"#;
        let text = skeleton(&crate::images_in::scan(render, &[]).unwrap());
        assert!(!text.contains('\u{1b}'), "{text}");
        let json = crate::yaml::parse(&text).unwrap()[0].to_json();
        let expected = serde_json::json!({
            "apiVersion": "opsta-lint/v1", "kind": "ReleaseLock", "product": "evil: a #",
            "version": "1.0\nx: y", "images": [{"image": "nginx:1.25", "digest": ""}]
        });
        assert_eq!(json, expected, "{text}");
    }

    #[test]
    fn the_skeleton_quotes_an_image_yaml_would_read_otherwise() {
        let render = "kind: Pod\nspec:\n  containers:\n    - image: \"[::1]:5000/app:1\"\n    - image: \"1.5\"\n";
        let text = skeleton(&crate::images_in::scan(render, &[]).unwrap());
        let json = crate::yaml::parse(&text).unwrap()[0].to_json();
        let images: Vec<&str> = json["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|entry| entry["image"].as_str().unwrap())
            .collect();
        assert_eq!(images, ["[::1]:5000/app:1", "1.5"], "{text}");
    }
}
