//! opsta-lint: guards Helm upgrades of vendor charts. One straight pipeline per job:
//! read the inputs, parse them, check them, report.

pub mod changes;
pub mod cli;
pub mod cluster;
pub mod diff;
pub mod duration;
pub mod exit;
pub mod findings;
pub mod flux;
pub mod helm_release;
pub mod image;
pub mod image_fields;
pub mod image_policy;
pub mod images_in;
pub mod install;
pub mod lines;
pub mod lint;
pub mod lock;
pub mod lockfile;
pub mod memory;
pub mod mirror;
pub mod oci;
pub mod output;
pub mod paths;
pub mod pinning;
pub mod policy;
pub mod postrender;
pub mod preflight;
pub mod preflight_checks;
pub mod printable;
pub mod product;
pub mod registry;
pub mod registry_args;
pub mod release;
pub mod running;
pub mod secrets;
pub mod source;
pub mod stack;
pub mod surface;
pub mod temp_dir;
pub mod upgrade;
pub mod verify;
pub mod versions;
pub mod yaml;

/// Runs a parsed command line and returns the process exit code. Errors are the caller's to print.
pub fn run(cli: cli::Cli) -> anyhow::Result<u8> {
    install::warn_if_plugin_differs();
    match cli.command {
        cli::Command::Lint(args) => lint::run(&args),
        cli::Command::Postrender(args) => postrender::run(&args),
        cli::Command::Lock(args) => run_lock(&args),
        cli::Command::Diff(args) => diff::run(&args),
        cli::Command::Versions(args) => versions::run(&args),
        cli::Command::Release(args) => release::run(&args),
        cli::Command::Rules(args) => lint::run_rules(&args),
        cli::Command::Verify(args) => verify::run(&args),
        cli::Command::MirrorCheck(args) => registry::run_mirror_check(&args),
        cli::Command::Upgrade(args) => upgrade::run(&args),
        cli::Command::Preflight(args) => preflight::run(&args),
        cli::Command::InstallPostrenderer(args) => install::run(&args),
    }
}

/// Runs `opsta-lint lock ...`.
fn run_lock(command: &cli::LockCommand) -> anyhow::Result<u8> {
    match (&command.command, &command.init) {
        (Some(cli::LockSubcommand::Init(args)), _) | (None, Some(args)) => lock::run(args),
        (Some(cli::LockSubcommand::Resolve(args)), _) => registry::run_resolve(args),
        (Some(cli::LockSubcommand::Verify(args)), _) => registry::run_verify(args),
        (Some(cli::LockSubcommand::Flux(args)), _) => flux::run(args),
        (None, None) => {
            anyhow::bail!(
                "lock needs a subcommand (init, resolve, verify, flux) or --from-manifest FILE"
            )
        }
    }
}
