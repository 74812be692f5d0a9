//! Exit codes, in one place (documented in `--help`).

/// No errors; warnings may have been printed.
pub const OK: u8 = 0;
/// Errors were found in the input (rule violations, unpinned images, failed verification).
pub const FINDINGS: u8 = 1;
/// The tool could not run: bad arguments, unreadable or malformed input, unreachable cluster.
pub const FAILURE: u8 = 2;
