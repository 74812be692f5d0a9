//! `opsta-lint release NAME -n NS`: the deployed release as the upgrade rules see it (the reader is
//! `helm_release`).

use crate::cluster::ClusterArgs;
use crate::helm_release;
use anyhow::{anyhow, Result};

// Arguments of `opsta-lint release`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// The release to show (or --release NAME).
    #[arg(value_name = "NAME")]
    pub name: Option<String>,
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Output format.
    #[arg(short = 'o', long, value_enum, default_value_t = Format::Text)]
    pub output: Format,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// `opsta-lint release NAME -n NS`: what the upgrade rules compare against, with secrets masked.
pub fn run(args: &Args) -> Result<u8> {
    let name = args.name.as_ref().or(args.cluster.release.as_ref());
    let name =
        name.ok_or_else(|| anyhow!("name the release: opsta-lint release NAME -n NAMESPACE"))?;
    let release = helm_release::read_deployed(&args.cluster, name)?;
    let text = match args.output {
        Format::Text => release.show(),
        Format::Json => crate::printable::json(&release.summary())?,
    };
    print!("{text}");
    Ok(crate::exit::OK)
}
