//! The command line: one subcommand per job. Each job's module owns its own arguments.

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};
use std::ffi::OsString;

/// The exit-code footer of every help page.
macro_rules! exit_codes {
    () => {
        "\
Exit codes:
  0  no errors (warnings may have been printed)
  1  errors found: rule violations, unpinned or drifted images, failed verification
  2  could not run: bad arguments, unreadable or malformed input, cluster unreachable
     (diff --detailed-exitcode: 0 no change, 1 error, 2 changes)"
    };
}

/// A subcommand's help footer: one example (run from the repository root by tests/it/docs.rs), then the exit codes.
macro_rules! example {
    ($command:literal) => {
        concat!("Example:\n  ", $command, "\n\n", exit_codes!())
    };
}

#[derive(Debug, Parser)]
#[command(
    name = "opsta-lint",
    version,
    about = "Guards Helm upgrades of vendor charts: one version, one tested set.",
    override_usage = "opsta-lint <COMMAND>\n       opsta-lint [LINT OPTIONS] <VALUES_FILE>...  (no command: lint)",
    after_help = example!("opsta-lint lint --product catalyst --chart-version 1.90.0 testdata/catalyst/good.values.yaml"),
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

/// Each subcommand's arguments are added only when that subcommand is the one parsed (clap's `defer`): a run
/// builds one subcommand, not all of them (start-up, docs/performance.md). The names, summaries and footers the
/// top-level help lists sit on the variants, which are built eagerly. A doc comment on an `Args` struct would
/// become the subcommand's summary when it is built, over the variant's: those structs carry plain comments (test
/// `building_a_subcommand_keeps_its_summary`).
#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Check values files against the chart major's schema and the upgrade rules.
    #[command(after_help = example!(
        "opsta-lint lint --product catalyst --chart-version 1.90.0 testdata/catalyst/good.values.yaml"
    ))]
    Lint(crate::lint::Args),
    /// Pin every image of rendered manifests (stdin) to the release's tested digests (a Helm post-renderer).
    #[command(after_help = example!(
        "opsta-lint postrender --lock testdata/locks/edge-cases.yaml < testdata/postrender/edge-cases.yaml"
    ))]
    Postrender(crate::postrender::Args),
    /// Write and check image locks: `lock init` (a skeleton from a render), `lock resolve` (digests from the
    /// registries), `lock verify` (catch retagged images).
    #[command(after_help = example!("opsta-lint lock init --from-manifest testdata/postrender/edge-cases.yaml"))]
    Lock(LockCommand),
    /// Show what an upgrade changes, resource by resource, with secrets hidden.
    #[command(after_help = example!(
        "opsta-lint diff testdata/diff/catalyst-1.75.0.yaml testdata/diff/catalyst-1.76.0.yaml"
    ))]
    Diff(crate::diff::Args),
    /// Print the component versions (e.g. Dapr) a product's chart version pins.
    #[command(after_help = example!("opsta-lint versions catalyst 1.90.0"))]
    Versions(crate::versions::Args),
    /// Show the deployed release the upgrade rules compare against (values with secrets masked).
    #[command(after_help = example!("opsta-lint release catalyst -n cra-agent"))]
    Release(crate::release::Args),
    /// List the rules (code, name, severity, summary), or show one rule's documentation.
    #[command(after_help = example!("opsta-lint rules OL101"))]
    Rules(crate::lint::RulesArgs),
    /// Before an upgrade: the mirror holds every locked digest (each platform of a multi-platform image).
    #[command(after_help = example!(
        r#"opsta-lint mirror-check --lock release.lock.yaml --mirror "$UPSTREAM=$MIRROR" --ca-file corp-ca.pem"#
    ))]
    MirrorCheck(crate::registry::MirrorCheckArgs),
    /// After an upgrade: every pod of the release Ready, on the locked digests and the pinned Dapr version.
    #[command(after_help = example!(
        "opsta-lint verify --release catalyst -n cra-agent --lock catalyst-1.90.0.lock.yaml"
    ))]
    Verify(crate::verify::Args),
    /// Upgrade a release in one go: lint, preflight, pinned render, diff, confirm, apply, check, verify.
    #[command(after_help = crate::upgrade::HELP_FOOTER)]
    Upgrade(crate::upgrade::Args),
    /// Before an upgrade: the release is not busy, the lock is the target's, no downgrade, majors acknowledged, a
    /// fresh database backup (Opsta AI Gateway), the stores to back up and the Dapr versions (Catalyst), mirrors.
    #[command(after_help = crate::preflight::HELP_FOOTER)]
    Preflight(crate::preflight::Args),
    /// Install Helm 4's post-renderer plugin (opsta-lint-postrender), which runs this binary.
    #[command(after_help = example!("opsta-lint install-postrenderer"))]
    InstallPostrenderer(crate::install::Args),
}

/// Reads the command line: one command tree for the default-subcommand check and the parse.
pub fn parse(args: Vec<OsString>) -> Result<Cli, clap::Error> {
    let mut command = Cli::command();
    let args = with_default_subcommand(&command, args);
    let mut matches = command.try_get_matches_from_mut(args)?;
    Cli::from_arg_matches_mut(&mut matches).map_err(|err| err.format(&mut command))
}

/// The command line with `lint` put in front when no subcommand is named: `opsta-lint [LINT FLAGS] FILE...`
/// (the form `helm opsta-lint values.yaml` uses). A subcommand name always wins; otherwise the first argument that
/// is neither a flag nor a flag's value must be an existing file or `-`, or the line is left for clap to refuse
/// (so a mistyped subcommand still gets its suggestion).
fn with_default_subcommand(command: &clap::Command, args: Vec<OsString>) -> Vec<OsString> {
    // The usual line names its subcommand first.
    let first = args.get(1).and_then(|a| a.to_str());
    if first.is_some_and(|a| a == "help" || Command::has_subcommand(a)) {
        return args;
    }
    // A line of flags only (`--version`, `--help`) names no file: no need to build lint's options.
    let flags_only = args[1.min(args.len())..].iter().all(|a| {
        a.to_str()
            .is_some_and(|a| a.starts_with('-') && a != "-" && a != "--")
    });
    if flags_only {
        return args;
    }
    let Some(lint) = command.find_subcommand("lint") else {
        return args;
    };
    // Its options are deferred: build lint alone to read them.
    let mut lint = lint.clone();
    lint.build();
    let Some(first) = first_positional(&lint, &args[1.min(args.len())..]) else {
        return args;
    };
    let named = first.to_str().unwrap_or_default();
    let is_subcommand = command.get_subcommands().any(|c| {
        c.get_name() == named || c.get_all_aliases().any(|a| a == named) || named == "help"
    });
    let is_input = named == "-" || std::path::Path::new(first).is_file();
    if is_subcommand || !is_input {
        return args;
    }
    let mut rewritten = args;
    rewritten.insert(1, OsString::from("lint"));
    rewritten
}

/// The first argument that is not an option of `command` or an option's value, before any `--`.
fn first_positional<'a>(command: &clap::Command, args: &'a [OsString]) -> Option<&'a OsString> {
    let mut rest = args.iter();
    while let Some(arg) = rest.next() {
        let text = arg.to_string_lossy();
        if text == "--" {
            return rest.next();
        }
        if text == "-" || !text.starts_with('-') {
            return Some(arg);
        }
        if !text.contains('=') && option_takes_value(command, &text) {
            rest.next();
        }
    }
    None
}

/// Whether `--long` or `-s` names an option of `command` that takes a value in the next argument.
fn option_takes_value(command: &clap::Command, text: &str) -> bool {
    let found = match text.strip_prefix("--") {
        Some(long) => command.get_arguments().find(|a| a.get_long() == Some(long)),
        None => {
            let short = text.chars().nth(1);
            let found = command
                .get_arguments()
                .find(|a| a.get_short().is_some() && a.get_short() == short);
            // `-ojson`: the value is attached.
            found.filter(|_| text.chars().count() == 2)
        }
    };
    found.is_some_and(|a| a.get_action().takes_values())
}

// `opsta-lint lock`: a subcommand (`init` is the lock job's, `resolve` and `verify` the registry's), or `--from-manifest FILE` alone (the same as `lock init`).
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
pub struct LockCommand {
    #[command(subcommand)]
    pub command: Option<LockSubcommand>,
    #[command(flatten)]
    pub init: Option<crate::lock::Args>,
}

#[derive(Debug, clap::Subcommand)]
pub enum LockSubcommand {
    /// Write a lock skeleton listing every image a rendered release uses (digests left to fill in).
    Init(crate::lock::Args),
    /// Write the lock from the registries: every image of a render resolved to its digest.
    Resolve(crate::registry::ResolveArgs),
    /// Check that every locked tag still points at its locked digest (upstream, or in a mirror).
    Verify(crate::registry::VerifyArgs),
    /// Print the `postRenderers` of a Flux HelmRelease that pin every image of a render (kustomize images and
    /// patches), or check (`--check`) that a HelmRelease's postRenderers pin every image.
    #[command(after_help = crate::flux::HELP_FOOTER)]
    Flux(crate::flux::Args),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn building_a_subcommand_keeps_its_summary() {
        let command = Cli::command();
        let mut checked = 0;
        for eager in command.get_subcommands() {
            let mut built = eager.clone();
            built.build();
            assert!(
                built.get_arguments().count() > 0,
                "{} has no arguments",
                eager.get_name()
            );
            let texts = |c: &clap::Command| {
                [c.get_about(), c.get_long_about(), c.get_after_help()]
                    .map(|t| t.map(|t| t.to_string()))
            };
            assert_eq!(texts(&built), texts(eager), "{}", eager.get_name());
            checked += 1;
        }
        assert!(checked >= 12, "only {checked} subcommands");
    }

    #[test]
    fn an_unnamed_subcommand_is_lint_when_the_first_positional_is_a_file() {
        let command = Cli::command();
        let line = |args: &[&str]| -> Vec<String> {
            let args = args.iter().map(OsString::from).collect();
            with_default_subcommand(&command, args)
                .into_iter()
                .map(|a| a.into_string().unwrap())
                .collect()
        };
        let file = "testdata/catalyst/good.values.yaml";
        assert_eq!(
            line(&["opsta-lint", "--product", "catalyst", file]),
            ["opsta-lint", "lint", "--product", "catalyst", file]
        );
        assert_eq!(
            line(&["opsta-lint", "--version"]),
            ["opsta-lint", "--version"]
        );
        assert_eq!(
            line(&["opsta-lint", "--product", "catalyst", "missing.yaml"]),
            ["opsta-lint", "--product", "catalyst", "missing.yaml"]
        );
    }
}
