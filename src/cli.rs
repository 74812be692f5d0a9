//! The command line: one subcommand per job. Each job's module owns its own arguments.

use clap::{Args, Parser, Subcommand};

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

/// A subcommand's help footer: one example (run from the repository root by tests/docs.rs), then the exit codes.
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
    after_help = example!("opsta-lint lint --product catalyst --chart-version 1.90.0 testdata/catalyst/good.values.yaml"),
    propagate_version = true
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
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
    Lock(crate::lock::LockCommand),
    /// Show what an upgrade changes, resource by resource, with secrets hidden.
    #[command(after_help = example!(
        "opsta-lint diff testdata/diff/catalyst-1.75.0.yaml testdata/diff/catalyst-1.76.0.yaml"
    ))]
    Diff(crate::diff::Args),
    /// Print the component versions (e.g. Dapr) a product's chart version pins.
    #[command(after_help = example!("opsta-lint versions catalyst 1.90.0"))]
    Versions(crate::product::VersionsArgs),
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
}

/// Seconds one request to the Kubernetes API server may take by default.
pub const DEFAULT_REQUEST_TIMEOUT: u64 = 20;

/// Where to find a deployed release (shared by the jobs that compare against the cluster).
#[derive(Debug, Clone, Default, Args)]
pub struct ClusterArgs {
    /// The release NAME as Helm deployed it, read from the cluster (lint, diff, postrender: the state the
    /// upgrade starts from; verify: the release to check).
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
