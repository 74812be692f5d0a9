//! Container image references, read the way the container runtime reads them.
//!
//! `nginx` is `docker.io/library/nginx:latest`; a first path component with a `.` or a `:`, an upper-case
//! letter, or `localhost` is a registry host (`host:port/team/app:v1`); `name:tag@sha256:<hex>` carries both
//! a tag and a digest, and the digest is what the runtime pulls. The text as written is kept beside the
//! normalized parts, so `nginx` and `nginx:latest` stay distinguishable when the reference is rewritten.

use std::fmt;

const DEFAULT_REGISTRY: &str = "docker.io";
const LEGACY_DEFAULT_REGISTRY: &str = "index.docker.io";
const OFFICIAL_NAMESPACE: &str = "library";
const MAX_NAME_LEN: usize = 255;

/// A parsed image reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageRef {
    /// The reference exactly as written.
    pub raw: String,
    /// The name part as written (no tag, no digest), e.g. `nginx` or `localhost:5000/team/app`.
    pub written_name: String,
    /// Registry host, normalized (`docker.io` when none is written).
    pub registry: String,
    /// Repository path, normalized (`library/nginx` for `nginx`).
    pub repository: String,
    /// The tag as written, if any.
    pub tag: Option<String>,
    /// The digest as written (`sha256:<hex>`), if any.
    pub digest: Option<String>,
}

impl ImageRef {
    /// Parses a reference; the error says what is wrong with it.
    pub fn parse(text: &str) -> Result<ImageRef, String> {
        if text.is_empty() {
            return Err("an image reference cannot be empty".into());
        }
        if text.len() > 4096 {
            return Err("an image reference longer than 4096 bytes".into());
        }
        let (rest, digest) = match text.split_once('@') {
            Some((rest, digest)) => {
                check_digest(digest)?;
                (rest, Some(digest.to_string()))
            }
            None => (text, None),
        };
        let (name, tag) = split_tag(rest);
        if let Some(tag) = tag {
            check_tag(tag)?;
        }
        let (registry, repository) = split_registry(name)?;
        Ok(ImageRef {
            raw: text.to_string(),
            written_name: name.to_string(),
            registry,
            repository,
            tag: tag.map(str::to_string),
            digest,
        })
    }

    /// The normalized name: `docker.io/library/nginx`.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    /// The tag the runtime uses when no digest is given: the written one, else `latest`.
    pub fn tag_or_latest(&self) -> &str {
        self.tag.as_deref().unwrap_or("latest")
    }

    /// The normalized name and tag: `docker.io/library/nginx:latest`, the key a lock is matched by.
    pub fn name_and_tag(&self) -> String {
        format!("{}:{}", self.name(), self.tag_or_latest())
    }

    /// The same name and tag as written, pinned to `digest`: `nginx:1.27@sha256:...`.
    pub fn pinned(&self, digest: &str) -> ImageRef {
        ImageRef {
            digest: Some(digest.to_string()),
            ..self.clone()
        }
        .rewritten()
    }

    /// The reference moved under another normalized name (a mirror), keeping tag and digest.
    pub fn renamed(&self, name: &str) -> Result<ImageRef, String> {
        let (registry, repository) = split_registry(name)?;
        Ok(ImageRef {
            written_name: name.to_string(),
            registry,
            repository,
            ..self.clone()
        }
        .rewritten())
    }

    /// The reference as written without its digest: `nginx:1.27`.
    pub fn without_digest(&self) -> ImageRef {
        ImageRef {
            digest: None,
            ..self.clone()
        }
        .rewritten()
    }

    /// Recomputes `raw` from the parts.
    fn rewritten(mut self) -> ImageRef {
        let mut raw = self.written_name.clone();
        if let Some(tag) = &self.tag {
            raw.push(':');
            raw.push_str(tag);
        }
        if let Some(digest) = &self.digest {
            raw.push('@');
            raw.push_str(digest);
        }
        self.raw = raw;
        self
    }
}

impl fmt::Display for ImageRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.raw)
    }
}

/// A digest as locks and pins need it: `sha256:` and 64 lower-case hex digits.
pub fn check_digest(digest: &str) -> Result<(), String> {
    let hex = digest.strip_prefix("sha256:").ok_or_else(|| {
        format!("digest \"{digest}\" must start with sha256: (other algorithms are not supported)")
    })?;
    if hex.len() != 64
        || !hex
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    {
        return Err(format!(
            "digest \"{digest}\" must be sha256: followed by 64 lower-case hex digits"
        ));
    }
    Ok(())
}

/// Splits `name:tag`; a `:` before the last `/` belongs to a registry port, not a tag.
fn split_tag(text: &str) -> (&str, Option<&str>) {
    let last_slash = text.rfind('/').map_or(0, |i| i + 1);
    match text[last_slash..].rfind(':') {
        Some(i) => (&text[..last_slash + i], Some(&text[last_slash + i + 1..])),
        None => (text, None),
    }
}

fn check_tag(tag: &str) -> Result<(), String> {
    let ok = !tag.is_empty()
        && tag.len() <= 128
        && tag.starts_with(|c: char| c.is_ascii_alphanumeric() || c == '_')
        && tag
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'));
    if ok {
        Ok(())
    } else {
        Err(format!(
            "tag \"{tag}\" is not valid (letters, digits, _ . - and at most 128 characters)"
        ))
    }
}

/// Splits a name into registry and repository, filling in Docker Hub's defaults.
fn split_registry(name: &str) -> Result<(String, String), String> {
    let (registry, repository) = match name.split_once('/') {
        Some((first, rest)) if is_registry(first) => (first.to_string(), rest.to_string()),
        _ => (DEFAULT_REGISTRY.to_string(), name.to_string()),
    };
    check_registry(&registry)?;
    check_repository(&repository)?;
    let registry = if registry == LEGACY_DEFAULT_REGISTRY {
        DEFAULT_REGISTRY.to_string()
    } else {
        registry
    };
    let repository = if registry == DEFAULT_REGISTRY && !repository.contains('/') {
        format!("{OFFICIAL_NAMESPACE}/{repository}")
    } else {
        repository
    };
    // The container runtimes' limit (distribution's NameTotalLengthMax), on the normalized name: it also keeps
    // every form written back (pinned, normalized) readable again.
    if registry.len() + 1 + repository.len() > MAX_NAME_LEN {
        return Err(format!(
            "an image name longer than {MAX_NAME_LEN} characters (registry and repository)"
        ));
    }
    Ok((registry, repository))
}

fn is_registry(first: &str) -> bool {
    first.contains(['.', ':'])
        || first == "localhost"
        || first.bytes().any(|b| b.is_ascii_uppercase())
}

/// A registry as the runtimes read one (distribution's reference grammar): a domain name of dot-separated labels
/// (letters, digits, inner dashes) or an IPv6 address in brackets, then an optional `:port`.
fn check_registry(host: &str) -> Result<(), String> {
    let (hostname, port) = match host.rsplit_once(':') {
        Some((h, p)) if !h.starts_with('[') || h.ends_with(']') => (h, Some(p)),
        _ => (host, None),
    };
    let host_ok = match hostname.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        Some(v6) => !v6.is_empty() && v6.bytes().all(|b| b.is_ascii_hexdigit() || b == b':'),
        None => hostname.split('.').all(is_domain_label),
    };
    let port_ok =
        port.is_none_or(|p| !p.is_empty() && p.len() <= 5 && p.bytes().all(|b| b.is_ascii_digit()));
    if host_ok && port_ok {
        Ok(())
    } else {
        Err(format!("registry \"{host}\" is not a valid host[:port]"))
    }
}

fn is_domain_label(label: &str) -> bool {
    label.starts_with(|c: char| c.is_ascii_alphanumeric())
        && label.ends_with(|c: char| c.is_ascii_alphanumeric())
        && label
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

/// Repository paths are lower-case components of letters and digits joined by `.`, `_`, `__` or dashes.
fn check_repository(path: &str) -> Result<(), String> {
    for component in path.split('/') {
        let ok = !component.is_empty()
            && component.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && component.ends_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
            && component.bytes().all(|b| {
                b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-')
            })
            && !component.contains("..")
            && !component.contains("___");
        if !ok {
            return Err(format!(
                "repository \"{path}\" is not valid (lower-case letters, digits and . _ - separators)"
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    fn parts(text: &str) -> (String, String, Option<String>, Option<String>) {
        let r = ImageRef::parse(text).unwrap();
        (r.registry, r.repository, r.tag, r.digest)
    }

    #[test]
    fn fills_in_docker_hub_defaults() {
        let r = ImageRef::parse("nginx").unwrap();
        assert_eq!(r.name_and_tag(), "docker.io/library/nginx:latest");
        assert_eq!(r.tag, None);
        let r = ImageRef::parse("nginx:latest").unwrap();
        assert_eq!(r.name_and_tag(), "docker.io/library/nginx:latest");
        assert_eq!(r.tag.as_deref(), Some("latest"));
        assert_eq!(
            ImageRef::parse("bitnami/redis:7").unwrap().name(),
            "docker.io/bitnami/redis"
        );
        assert_eq!(
            ImageRef::parse("index.docker.io/nginx").unwrap().name(),
            "docker.io/library/nginx"
        );
        assert_eq!(
            ImageRef::parse("docker.io/alpine/k8s:1.28.3")
                .unwrap()
                .name(),
            "docker.io/alpine/k8s"
        );
    }

    #[test]
    fn recognizes_registries() {
        assert_eq!(parts("localhost/app").0, "localhost");
        assert_eq!(
            parts("localhost:5000/team/app:v1"),
            (
                "localhost:5000".into(),
                "team/app".into(),
                Some("v1".into()),
                None
            )
        );
        assert_eq!(parts("ghcr.io/dapr/daprd:1.17.3").0, "ghcr.io");
        assert_eq!(parts("registry:5000/app").0, "registry:5000");
        // A first component without . : or localhost is a Docker Hub namespace.
        assert_eq!(parts("team/app").0, "docker.io");
        assert_eq!(parts("[::1]:5000/app:1").0, "[::1]:5000");
    }

    #[test]
    fn reads_tag_and_digest_together() {
        let text = format!("registry.k8s.io/ingress-nginx/controller:v1.12.1@{D}");
        let (registry, repo, tag, digest) = parts(&text);
        assert_eq!(registry, "registry.k8s.io");
        assert_eq!(repo, "ingress-nginx/controller");
        assert_eq!(tag.as_deref(), Some("v1.12.1"));
        assert_eq!(digest.as_deref(), Some(D));
        let r = ImageRef::parse(&format!("host:5000/app@{D}")).unwrap();
        assert_eq!((r.tag, r.registry.as_str()), (None, "host:5000"));
    }

    #[test]
    fn pins_and_renames_keeping_the_written_name() {
        let r = ImageRef::parse("nginx").unwrap();
        assert_eq!(r.pinned(D).raw, format!("nginx@{D}"));
        let r = ImageRef::parse("ghcr.io/dapr/daprd:1.17.3").unwrap();
        let pinned = r.pinned(D);
        assert_eq!(pinned.raw, format!("ghcr.io/dapr/daprd:1.17.3@{D}"));
        let moved = pinned.renamed("registry.corp.example/dapr/daprd").unwrap();
        assert_eq!(
            moved.raw,
            format!("registry.corp.example/dapr/daprd:1.17.3@{D}")
        );
        assert_eq!(ImageRef::parse(&moved.raw).unwrap(), moved);
    }

    #[test]
    fn rejects_what_the_runtime_rejects() {
        for bad in [
            "",
            "Nginx",
            "nginx:",
            "nginx:-x",
            "nginx@sha256:abc",
            "nginx@md5:0123",
            "a//b",
            "ghcr.io/",
            "nginx:1 2",
            "IfNotPresent",
            "host:port/app",
            "]hcr.io/dapr/sentry:1.59.0",
            "[::1/app",
            "[]:5000/app",
            "ghcr..io/app",
            "-ghcr.io/app",
            "ghcr-.io/app",
            "gh_cr.io/app",
        ] {
            assert!(ImageRef::parse(bad).is_err(), "{bad:?} should be refused");
        }
        let upper = format!("nginx@sha256:{}", "A".repeat(64));
        assert!(ImageRef::parse(&upper).is_err());
    }

    #[test]
    fn checks_digests() {
        assert!(check_digest(D).is_ok());
        assert!(check_digest("sha256:abc")
            .unwrap_err()
            .contains("64 lower-case hex"));
        assert!(check_digest("sha512:abc")
            .unwrap_err()
            .contains("must start with sha256:"));
    }

    #[test]
    fn names_longer_than_the_runtimes_allow_are_refused() {
        let long = "a".repeat(240);
        assert!(
            ImageRef::parse(&format!("{long}:1")).is_err(),
            "docker.io/library/ makes it 258"
        );
        let image = ImageRef::parse(&format!("{}:1", "a".repeat(237))).unwrap();
        let pinned = image.pinned(&format!("sha256:{}", "a".repeat(64)));
        assert!(
            ImageRef::parse(&pinned.raw).is_ok() && ImageRef::parse(&image.name_and_tag()).is_ok()
        );
    }
}
