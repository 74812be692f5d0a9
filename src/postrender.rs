//! Placeholder until the postrender job lands.

/// Arguments of `opsta-lint postrender`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input files.
    pub files: Vec<String>,
}

pub fn run(_args: &Args) -> anyhow::Result<u8> {
    anyhow::bail!("the postrender job is not built yet")
}
