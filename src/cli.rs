//! The command line: one subcommand per job. Each job's module owns its own arguments.

use clap::{Args, CommandFactory, Parser, Subcommand};
use std::ffi::OsString;

const EXIT_CODES: &str = "\
Exit codes:
  0  no errors (warnings may have been printed)
  1  errors found: rule violations, unpinned or drifted images, failed verification
  2  could not run: bad arguments, unreadable or malformed input, cluster unreachable
     (diff --detailed-exitcode: 0 no change, 1 error, 2 changes)";

#[derive(Debug, Parser)]
#[command(
    name = "opsta-lint",
    version,
    about = "Guards Helm upgrades of vendor charts: one version, one tested set.",
    override_usage = "opsta-lint <COMMAND>\n       opsta-lint [LINT OPTIONS] <VALUES_FILE>...  (no command: lint)",
    after_help = EXIT_CODES,
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Check values files against the chart major's schema and the upgrade rules.
    #[command(after_help = EXIT_CODES)]
    Lint(crate::lint::Args),
    /// Pin every image of rendered manifests (stdin) to the release's tested digests (a Helm post-renderer).
    #[command(after_help = EXIT_CODES)]
    Postrender(crate::postrender::Args),
    /// Write a lock skeleton listing every image a rendered release uses.
    #[command(after_help = EXIT_CODES)]
    Lock(crate::lock::Args),
    /// Show what an upgrade changes, resource by resource, with secrets hidden.
    #[command(after_help = EXIT_CODES)]
    Diff(crate::diff::Args),
    /// Print the component versions (e.g. Dapr) a product's chart version pins.
    #[command(after_help = EXIT_CODES)]
    Versions(crate::product::VersionsArgs),
    /// Show the deployed release the upgrade rules compare against (values with secrets masked).
    #[command(after_help = EXIT_CODES)]
    Release(crate::release::Args),
    /// List the lint rules (code, name, severity, summary), or show one rule's documentation.
    Rules(crate::lint::RulesArgs),
    /// After an upgrade: every pod of the release Ready, on the locked digests and the pinned Dapr version.
    #[command(after_help = EXIT_CODES)]
    Verify(crate::verify::Args),
    /// Upgrade a release in one go: lint, preflight, pinned render, diff, confirm, apply, check, verify.
    #[command(after_help = crate::upgrade::EXIT_CODES)]
    Upgrade(crate::upgrade::Args),
    /// Before an upgrade: the release is not busy, the lock is the target's, no downgrade, majors acknowledged.
    #[command(after_help = crate::preflight::EXIT_CODES)]
    Preflight(crate::preflight::Args),
}

/// The command line with `lint` put in front when no subcommand is named: `opsta-lint [LINT FLAGS] FILE...`
/// (the form `helm opsta-lint values.yaml` uses). A subcommand name always wins; otherwise the first argument that
/// is neither a flag nor a flag's value must be an existing file or `-`, or the line is left for clap to refuse
/// (so a mistyped subcommand still gets its suggestion).
pub fn with_default_subcommand(args: Vec<OsString>) -> Vec<OsString> {
    let command = Cli::command();
    let Some(lint) = command.find_subcommand("lint") else {
        return args;
    };
    let Some(first) = first_positional(lint, &args[1.min(args.len())..]) else {
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

/// Seconds one request to the Kubernetes API server may take by default.
pub const DEFAULT_REQUEST_TIMEOUT: u64 = 20;

/// Where to find a deployed release (shared by the jobs that compare against the cluster).
#[derive(Debug, Clone, Default, Args)]
pub struct ClusterArgs {
    /// Read the deployed release NAME from the cluster as the "previous" state.
    #[arg(long, value_name = "NAME")]
    pub release: Option<String>,
    /// Namespace of the release (default: HELM_NAMESPACE, then the kubeconfig context's namespace).
    #[arg(short = 'n', long, env = "HELM_NAMESPACE", value_name = "NS")]
    pub namespace: Option<String>,
    /// Kubeconfig context to use (default: HELM_KUBECONTEXT, then the current context).
    #[arg(long, env = "HELM_KUBECONTEXT", value_name = "CONTEXT")]
    pub kube_context: Option<String>,
    /// Kubeconfig file (default: KUBECONFIG, then ~/.kube/config).
    #[arg(long, env = "KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<String>,
    /// Seconds one request to the API server may take (connecting, then answering) before giving up.
    #[arg(long, value_name = "SECONDS", default_value_t = DEFAULT_REQUEST_TIMEOUT)]
    pub request_timeout: u64,
}
