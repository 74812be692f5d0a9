//! Placeholder until the lint job lands.

/// Arguments of `opsta-lint lint`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input files.
    pub files: Vec<String>,
}

pub fn run(_args: &Args) -> anyhow::Result<u8> {
    anyhow::bail!("the lint job is not built yet")
}
