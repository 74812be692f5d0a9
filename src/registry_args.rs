//! How to reach OCI registries: the flags every command that asks registries shares (`lock resolve`, `lock
//! verify`, `mirror-check`, and `preflight`/`upgrade` with `--mirror`), as `crate::cluster::ClusterArgs` is for the
//! cluster.

// How to reach registries.
#[derive(Debug, Clone, clap::Args)]
pub struct RegistryArgs {
    /// A Docker config.json with registry credentials (default: $DOCKER_CONFIG/config.json, then
    /// ~/.docker/config.json). Its credHelpers and credsStore are run as docker-credential-NAME.
    #[arg(long, value_name = "FILE")]
    pub registry_config: Option<String>,
    /// Also trust the CA certificates (PEM) in FILE for registries served over TLS.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Vec<String>,
    /// Talk to the registry HOST[:PORT] over plain HTTP.
    #[arg(long, value_name = "HOST[:PORT]")]
    pub insecure_registry: Vec<String>,
    /// Seconds one request to a registry may take (connecting, then answering).
    #[arg(long, value_name = "SECONDS", default_value_t = 20)]
    pub registry_timeout: u64,
    /// Requests to registries in flight at once.
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u16).range(1..=256))]
    pub concurrency: u16,
    /// Times a request is tried again after 429, 5xx, a timeout or a failed connection (with backoff).
    #[arg(long, value_name = "N", default_value_t = 3, value_parser = clap::value_parser!(u32).range(0..=10))]
    pub retries: u32,
}

/// The settings a registry client runs with.
#[derive(Debug, Clone)]
pub struct Options {
    pub registry_config: Option<String>,
    pub ca_files: Vec<String>,
    pub insecure: Vec<String>,
    pub timeout: std::time::Duration,
    pub concurrency: usize,
    pub retries: u32,
}

impl RegistryArgs {
    pub fn options(&self) -> Options {
        Options {
            registry_config: self.registry_config.clone(),
            ca_files: self.ca_file.clone(),
            insecure: self
                .insecure_registry
                .iter()
                .map(|h| h.trim_end_matches('/').to_string())
                .collect(),
            timeout: std::time::Duration::from_secs(self.registry_timeout.max(1)),
            concurrency: usize::from(self.concurrency),
            retries: self.retries,
        }
    }
}
