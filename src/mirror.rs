//! Mirrors: `--mirror FROM=TO` moves images from one registry or repository prefix to another (post-renderer,
//! upgrade, registry checks).

use crate::image::ImageRef;

/// A `--mirror FROM=TO` pair, both as normalized name prefixes; `to_written` as given.
#[derive(Debug, Clone)]
pub struct Mirror {
    from: String,
    to: String,
    to_written: String,
}

impl Mirror {
    pub fn parse(text: &str) -> Result<Mirror, String> {
        let (from, to) = text
            .split_once('=')
            .ok_or_else(|| format!("--mirror {text}: expected FROM=TO"))?;
        let to_written = to.trim_end_matches('/').to_string();
        Ok(Mirror {
            from: name_prefix(from).map_err(|e| format!("--mirror {text}: FROM: {e}"))?,
            to: name_prefix(to).map_err(|e| format!("--mirror {text}: TO: {e}"))?,
            to_written,
        })
    }
}

/// A registry host (`docker.io`, `localhost:5000`) or a repository prefix, normalized like image names.
fn name_prefix(text: &str) -> Result<String, String> {
    let text = text.trim_end_matches('/');
    if text.contains('/') {
        return ImageRef::parse(text).map(|r| r.name());
    }
    match text {
        "index.docker.io" | "docker.io" => Ok("docker.io".into()),
        host if host.contains(['.', ':']) || host == "localhost" => Ok(host.to_string()),
        _ => Err(format!(
            "\"{text}\" is neither a registry host (with a . or a :) nor a repository prefix"
        )),
    }
}

/// The rest of `name` after `prefix` (`""` or `/...`), when `name` is under `prefix`.
fn under<'a>(name: &'a str, prefix: &str) -> Option<&'a str> {
    let rest = name.strip_prefix(prefix)?;
    (rest.is_empty() || rest.starts_with('/')).then_some(rest)
}

/// `image` under its mirror (the longest matching FROM wins), itself when no mirror is given or it is already
/// under one, or why it cannot be pulled when mirrors are given and none covers it.
pub fn mirrored(mirrors: &[Mirror], image: &ImageRef) -> Result<ImageRef, String> {
    if mirrors.is_empty() {
        return Ok(image.clone());
    }
    let name = image.name();
    let best = mirrors
        .iter()
        .filter_map(|m| under(&name, &m.from).map(|rest| (m, rest)))
        .max_by_key(|(m, _)| m.from.len());
    if let Some((mirror, rest)) = best {
        return image
            .renamed(&format!("{}{rest}", mirror.to_written))
            .map_err(|e| {
                format!(
                    "cannot move \"{image}\" under mirror {}: {e}",
                    mirror.to_written
                )
            });
    }
    if mirrors.iter().any(|m| under(&name, &m.to).is_some()) {
        return Ok(image.clone());
    }
    Err(format!(
        "image \"{image}\" would still be pulled from {}: no --mirror covers it",
        image.registry
    ))
}

/// The reference as the lock knows it: an image already under a mirror maps back to its origin.
pub fn unmirrored(mirrors: &[Mirror], image: &ImageRef) -> ImageRef {
    let name = image.name();
    mirrors
        .iter()
        .filter_map(|m| under(&name, &m.to).map(|rest| format!("{}{rest}", m.from)))
        .find_map(|origin| image.renamed(&origin).ok())
        .unwrap_or_else(|| image.clone())
}
