//! The command line: one subcommand per job. Each job's module owns its own arguments.

use clap::{Args, Parser, Subcommand};

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
    /// Install Helm 4's post-renderer plugin (opsta-lint-postrender), which runs this binary.
    #[command(after_help = EXIT_CODES)]
    InstallPostrenderer(crate::install::Args),
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
