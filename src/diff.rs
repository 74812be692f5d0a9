//! Placeholder until the diff job lands.

/// Arguments of `opsta-lint diff`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Input files.
    pub files: Vec<String>,
}

pub fn run(_args: &Args) -> anyhow::Result<u8> {
    anyhow::bail!("the diff job is not built yet")
}
