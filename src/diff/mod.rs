//! `opsta-lint diff OLD NEW`: what an upgrade changes, resource by resource, compared by meaning (key order,
//! quoting and styles do not show), with secrets hidden. The comparison itself is `changes`.

use crate::changes::{show, Format, Options, Pattern};
use crate::exit;
use crate::source::Source;
use anyhow::Result;

// Arguments of `opsta-lint diff`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// OLD NEW: the manifests before and after the change (files; one may be - for standard input). With
    /// --release, only NEW: the old side is the deployed release's manifest and hooks.
    #[arg(value_name = "MANIFEST", num_args = 1..=2, required = true)]
    pub manifests: Vec<String>,
    /// Lines of context around each change.
    #[arg(short = 'C', long = "context", value_name = "N", default_value_t = 3)]
    pub context: usize,
    /// Leave a path out of the comparison, in every resource (repeatable). Dotted; `\.` for a dot inside a key,
    /// `[0]` for a list item, `[name=app]` for the item named app of a list of named items (containers, env),
    /// `*` for any one key or item: `--ignore 'metadata.labels.helm\.sh/chart'`.
    #[arg(long = "ignore", value_name = "PATH")]
    pub ignore: Vec<Pattern>,
    /// Output format.
    #[arg(short = 'o', long = "output", value_enum, default_value_t = Format::Text)]
    pub output: Format,
    /// Print the bodies of added and removed resources, not only their names.
    #[arg(long)]
    pub full: bool,
    /// Show secret values (Secret data, tokens, passwords) instead of hiding them.
    #[arg(long)]
    pub show_secrets: bool,
    /// Exit 0 when nothing changed, 2 when something changed, 1 on errors (helm-diff's convention).
    #[arg(long)]
    pub detailed_exitcode: bool,
    /// Pair a removed and an added resource of the same kind whose bodies are at least this alike (0 to 1, as
    /// helm-diff's --find-renames), and show them as one renamed resource. Off by default.
    #[arg(long, value_name = "FRACTION", value_parser = fraction)]
    pub find_renames: Option<f64>,
    /// When to color the output (auto: on a terminal, unless NO_COLOR is set).
    #[arg(long, value_enum, value_name = "WHEN", default_value_t = ColorWhen::Auto)]
    pub color: ColorWhen,
    /// `--release NAME`: compare the deployed release with NEW.
    #[command(flatten)]
    pub cluster: crate::cluster::ClusterArgs,
}

pub use crate::output::ColorWhen;

/// A `--find-renames` value: a fraction from 0 to 1.
fn fraction(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(f) if (0.0..=1.0).contains(&f) => Ok(f),
        _ => Err(format!(
            "\"{text}\" is not a fraction from 0 to 1 (0.5 pairs resources half alike)"
        )),
    }
}

pub fn run(args: &Args) -> Result<u8> {
    finish(
        args,
        sides(args).and_then(|(old, new)| compare_with(&old, new, args)),
    )
}

/// The old side and the new side's path: OLD NEW, or the deployed release (`--release`) and NEW.
fn sides(args: &Args) -> Result<(Source, &str)> {
    match (args.manifests.as_slice(), &args.cluster.release) {
        ([old, new], None) if old == "-" && new == "-" => {
            anyhow::bail!("only one of OLD and NEW can be standard input (-)")
        }
        ([old, new], None) => Ok((Source::read(old)?, new)),
        ([new], Some(name)) => {
            let release = crate::helm_release::read_deployed(&args.cluster, name)?;
            Ok((release.rendered_source(), new))
        }
        (_, None) => {
            anyhow::bail!("give OLD and NEW manifests, or --release NAME and the NEW manifest")
        }
        (_, Some(_)) => {
            anyhow::bail!(
                "with --release give only the NEW manifest: the old side is the deployed release"
            )
        }
    }
}

fn compare_with(old: &Source, new: &str, args: &Args) -> Result<bool> {
    let new = Source::read(new)?;
    let opts = Options {
        context: args.context,
        ignore: args.ignore.clone(),
        format: args.output,
        full: args.full,
        show_secrets: args.show_secrets,
        color: crate::output::colored_stdout(args.color),
        namespace: args.cluster.namespace.clone(),
        find_renames: args.find_renames,
    };
    let shown = show(old, &new, &opts)?;
    print!("{}", shown.text);
    Ok(shown.changed)
}

/// The exit code: with --detailed-exitcode 0 unchanged, 2 changed, 1 error (printed here); else 0, or the error.
fn finish(args: &Args, outcome: Result<bool>) -> Result<u8> {
    match (outcome, args.detailed_exitcode) {
        (Ok(changed), true) => Ok(if changed { 2 } else { exit::OK }),
        (Ok(_), false) => Ok(exit::OK),
        (Err(e), true) => {
            crate::output::print_error(&e);
            Ok(1)
        }
        (Err(e), false) => Err(e),
    }
}
