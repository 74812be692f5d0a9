//! The cluster: where a deployed release is (`ClusterArgs`, the flags every job that reads the cluster shares) and,
//! with cargo feature `cluster`, the client that reads it (`client`).

use clap::Args;

#[cfg(feature = "cluster")]
mod client;
#[cfg(feature = "cluster")]
pub use client::*;

/// Seconds one request to the Kubernetes API server may take by default.
pub const DEFAULT_REQUEST_TIMEOUT: u64 = 20;

// Where to find a deployed release (shared by the jobs that compare against the cluster).
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

/// helm's kube flags from the cluster arguments.
pub fn helm_flags(cluster: &ClusterArgs) -> Vec<String> {
    let mut flags = Vec::new();
    let pairs = [
        ("--namespace", &cluster.namespace),
        ("--kube-context", &cluster.kube_context),
        ("--kubeconfig", &cluster.kubeconfig),
    ];
    for (flag, value) in pairs {
        if let Some(value) = value {
            flags.extend([flag.to_string(), value.clone()]);
        }
    }
    flags
}
