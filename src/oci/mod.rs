//! Asking OCI registries (the distribution API) about images: the client with its credentials, TLS and retries,
//! and the questions the registry jobs and the upgrade's preflight ask of it. Could-not-run problems (an
//! unreachable registry, a TLS failure, refused credentials, 429 after the retries) are errors; a missing or moved
//! image is a finding with an RG code.

#[cfg(feature = "registry")]
mod ask;
#[cfg(feature = "registry")]
pub mod client;
#[cfg(feature = "registry")]
pub mod credentials;

#[cfg(feature = "registry")]
pub use ask::{mirror_findings, resolve, verify_findings, Resolved};

use crate::findings::Code;
use serde::Serialize;

/// Rule codes of the registry checks.
pub mod rules {
    use crate::findings::Code;

    pub const MIRROR_MISSING: Code = Code::RG001;
    pub const TAG_MOVED: Code = Code::RG002;
    pub const IMAGE_NOT_FOUND: Code = Code::RG003;
    pub const PLATFORM_MISSING: Code = Code::RG004;
    pub const NOT_MIRRORED: Code = Code::RG005;
}

/// One finding of a registry check.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub code: Code,
    pub name: &'static str,
    pub severity: &'static str,
    /// The image as the lock or the render names it.
    pub image: String,
    pub message: String,
    /// A command that fixes it, when there is one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub fix: Option<String>,
}

impl Finding {
    pub fn new(code: Code, image: &str, message: String) -> Finding {
        Finding {
            code,
            name: code.name(),
            severity: code.severity().as_str(),
            image: image.to_string(),
            message,
            fix: None,
        }
    }
}
