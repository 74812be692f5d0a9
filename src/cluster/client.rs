//! Reading the deployed Helm release from the cluster (cargo feature `cluster`).
//!
//! Read-only and least privilege: the release is found by listing the Secrets (or, with HELM_DRIVER=configmap, the
//! ConfigMaps) labelled `owner=helm,name=<release>` in the release namespace, nothing else. The connection comes from
//! the flags, else what Helm passes to plugins (HELM_NAMESPACE, HELM_KUBECONTEXT, KUBECONFIG), else the default
//! kubeconfig or the in-cluster service account. Every request has a deadline, so an unreachable server never hangs.

use super::ClusterArgs;
use crate::helm_release::{self as release, Release};
use anyhow::{anyhow, bail, Context, Result};
use k8s_openapi::api::core::v1::{ConfigMap, Namespace, Pod, Secret};
use kube::api::{Api, ListParams};
use kube::config::{KubeConfigOptions, Kubeconfig};
use serde::de::DeserializeOwned;
use std::time::Duration;

/// Where Helm stored its releases (HELM_DRIVER).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Driver {
    Secret,
    ConfigMap,
}

impl Driver {
    /// The driver HELM_DRIVER names (Helm's default is the secret driver).
    pub fn from_env() -> Result<Driver> {
        let value = std::env::var("HELM_DRIVER").unwrap_or_default();
        match value.to_ascii_lowercase().as_str() {
            "" | "secret" | "secrets" => Ok(Driver::Secret),
            "configmap" | "configmaps" => Ok(Driver::ConfigMap),
            _ => bail!(
                "HELM_DRIVER={value} is not supported: opsta-lint reads releases stored by Helm's secret or \
                 configmap driver"
            ),
        }
    }

    /// The API resource the driver stores releases in.
    pub fn resource(self) -> &'static str {
        match self {
            Driver::Secret => "secrets",
            Driver::ConfigMap => "configmaps",
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Driver::Secret => "Secret",
            Driver::ConfigMap => "ConfigMap",
        }
    }
}

/// A connection to one cluster, with the namespace the release lives in.
pub struct Cluster {
    runtime: tokio::runtime::Runtime,
    client: kube::Client,
    namespace: String,
    server: String,
    timeout: Duration,
}

impl Cluster {
    /// Loads the kubeconfig (or in-cluster config) the arguments point at. Does not contact the server yet.
    pub fn connect(args: &ClusterArgs) -> Result<Cluster> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .context("cannot start the runtime for cluster access")?;
        let mut config = runtime.block_on(load_config(args))?;
        let seconds = match args.request_timeout {
            0 => crate::cluster::DEFAULT_REQUEST_TIMEOUT,
            seconds => seconds,
        };
        let timeout = Duration::from_secs(seconds);
        config.connect_timeout = Some(timeout);
        config.read_timeout = Some(timeout);
        config.reset_reader_on_write = true;
        // A plain-http server (kubectl proxy, a local test server) needs no TLS roots: an empty set spares reading
        // the system's hundreds of CA files on every connection.
        if config.cluster_url.scheme_str() == Some("http") && config.root_cert.is_none() {
            config.root_cert = Some(Vec::new());
        }
        let namespace = args.namespace.clone().filter(|ns| !ns.is_empty());
        let namespace = namespace.unwrap_or_else(|| config.default_namespace.clone());
        let server = config
            .cluster_url
            .to_string()
            .trim_end_matches('/')
            .to_string();
        let client = {
            let _entered = runtime.enter();
            kube::Client::try_from(config)
                .map_err(|e| anyhow!("cannot set up a client for {server}: {}", chain(&e)))?
        };
        Ok(Cluster {
            runtime,
            client,
            namespace,
            server,
            timeout,
        })
    }

    /// The namespace requests go to: `-n`, HELM_NAMESPACE, else the kubeconfig context's namespace.
    pub fn namespace(&self) -> &str {
        &self.namespace
    }

    /// The latest deployed revision of release `name`, as Helm stored it (driver from HELM_DRIVER).
    pub fn deployed_release(&self, name: &str) -> Result<Release> {
        let (driver, stored) = self.stored(name)?;
        self.pick_deployed(name, driver, stored)
    }

    /// The revision number and status (`deployed`, `pending-upgrade`, ...) of release `name`'s latest revision, as
    /// `helm status` gives them, from the stored revisions' labels; None when nothing is stored.
    pub fn latest_revision(&self, name: &str) -> Result<Option<(u64, String)>> {
        let (_, stored) = self.stored(name)?;
        let latest = stored.into_iter().max_by_key(|s| s.revision);
        Ok(latest.map(|s| (s.revision, s.status)))
    }

    /// Every stored revision of release `name` (driver from HELM_DRIVER).
    fn stored(&self, name: &str) -> Result<(Driver, Vec<StoredRelease>)> {
        let driver = Driver::from_env()?;
        let selector = format!("owner=helm,name={name}");
        let stored = match driver {
            Driver::Secret => self
                .list::<Secret>(&selector)?
                .into_iter()
                .map(|s| {
                    StoredRelease::new(
                        s.metadata,
                        s.data.and_then(|mut d| d.remove("release")).map(|b| b.0),
                    )
                })
                .collect(),
            Driver::ConfigMap => self
                .list::<ConfigMap>(&selector)?
                .into_iter()
                .map(|c| {
                    let payload = c
                        .data
                        .and_then(|mut d| d.remove("release"))
                        .map(String::into_bytes);
                    StoredRelease::new(c.metadata, payload)
                })
                .collect(),
        };
        Ok((driver, stored))
    }

    fn pick_deployed(
        &self,
        name: &str,
        driver: Driver,
        stored: Vec<StoredRelease>,
    ) -> Result<Release> {
        let namespace = &self.namespace;
        let latest = stored.iter().max_by_key(|s| s.revision);
        let deployed = stored
            .iter()
            .filter(|s| s.status == "deployed")
            .max_by_key(|s| s.revision);
        let found = match (deployed, latest) {
            (Some(found), _) => found,
            (None, Some(latest)) => bail!(
                "release {name} in namespace {namespace} has no deployed revision: its latest, revision {}, is {}",
                latest.revision,
                latest.status
            ),
            (None, None) => bail!(
                "release {name} not found in namespace {namespace} on {}: no {} labelled owner=helm,name={name} \
                 (HELM_DRIVER={})",
                self.server,
                driver.kind(),
                driver.resource().trim_end_matches('s')
            ),
        };
        let where_ = format!(
            "{} {} in namespace {namespace}",
            driver.kind(),
            found.object
        );
        let payload = found
            .payload
            .as_deref()
            .ok_or_else(|| anyhow!("{where_} has no data.release: it is not a Helm release"))?;
        release::decode(payload).map_err(|e| anyhow!("{where_}: {e:#}"))
    }

    /// The pods of one namespace matching a label selector ("" for all).
    pub fn pods(&self, namespace: &str, selector: &str) -> Result<Vec<Pod>> {
        let api: Api<Pod> = Api::namespaced(self.client.clone(), namespace);
        self.run_list(api, selector, &format!("in namespace {namespace}"))
    }

    /// The names of all namespaces (a cluster-wide list).
    pub fn namespaces(&self) -> Result<Vec<String>> {
        let api: Api<Namespace> = Api::all(self.client.clone());
        let namespaces = self.run_list(api, "", "cluster-wide")?;
        Ok(namespaces
            .into_iter()
            .filter_map(|n| n.metadata.name)
            .collect())
    }

    /// The objects of a kind the cluster's CRDs add (e.g. CloudNativePG's Backups) in `namespace`, as JSON; `None`
    /// when the server does not serve the kind (its CRD is not installed).
    pub fn custom_objects(
        &self,
        namespace: &str,
        kind: &CustomKind,
    ) -> Result<Option<Vec<serde_json::Value>>> {
        let resource = kube::api::ApiResource {
            group: kind.group.into(),
            version: kind.version.into(),
            api_version: format!("{}/{}", kind.group, kind.version),
            kind: kind.kind.into(),
            plural: kind.plural.into(),
        };
        let api: Api<kube::api::DynamicObject> =
            Api::namespaced_with(self.client.clone(), namespace, &resource);
        let deadline = self.timeout * 2;
        let params = ListParams::default();
        let answer = self
            .runtime
            .block_on(async { tokio::time::timeout(deadline, api.list(&params)).await });
        let action = format!(
            "list {}.{} in namespace {namespace}",
            kind.plural, kind.group
        );
        match answer {
            Ok(Ok(list)) => list
                .items
                .iter()
                .map(|o| serde_json::to_value(o).context("cannot read an object the server listed"))
                .collect::<Result<Vec<_>>>()
                .map(Some),
            Ok(Err(kube::Error::Api(status))) if status.code == 404 => Ok(None),
            Ok(Err(err)) => Err(self.explain(err, &action, kind.plural)),
            Err(_) => Err(anyhow!(
                "the Kubernetes API server at {} did not answer within {}s",
                self.server,
                deadline.as_secs()
            )),
        }
    }

    /// Lists objects of one kind in the release namespace.
    fn list<K>(&self, selector: &str) -> Result<Vec<K>>
    where
        K: kube::Resource<Scope = k8s_openapi::NamespaceResourceScope, DynamicType = ()>
            + Clone
            + DeserializeOwned
            + std::fmt::Debug,
    {
        let api: Api<K> = Api::namespaced(self.client.clone(), &self.namespace);
        self.run_list(api, selector, &format!("in namespace {}", self.namespace))
    }

    /// Runs one list call with the deadline; errors name the server, the verb, the resource and `scope`.
    fn run_list<K>(&self, api: Api<K>, selector: &str, scope: &str) -> Result<Vec<K>>
    where
        K: kube::Resource<DynamicType = ()> + Clone + DeserializeOwned + std::fmt::Debug,
    {
        let params = ListParams::default().labels(selector);
        let plural = K::plural(&()).into_owned();
        // Two request deadlines: one to connect and send, one to read the answer.
        let deadline = self.timeout * 2;
        let answer = self
            .runtime
            .block_on(async { tokio::time::timeout(deadline, api.list(&params)).await });
        match answer {
            Ok(Ok(list)) => Ok(list.items),
            Ok(Err(err)) => Err(self.explain(err, &format!("list {plural} {scope}"), &plural)),
            Err(_) => Err(anyhow!(
                "the Kubernetes API server at {} did not answer within {}s",
                self.server,
                deadline.as_secs()
            )),
        }
    }

    /// Turns a client error into a sentence naming the server and `action` (verb, resource and scope).
    fn explain(&self, err: kube::Error, action: &str, resource: &str) -> anyhow::Error {
        let server = &self.server;
        match err {
            kube::Error::Api(status) if status.code == 401 => anyhow!(
                "the Kubernetes API server at {server} refused the credentials (401 Unauthorized) to {action}: log in \
                 again or check the kubeconfig's user"
            ),
            kube::Error::Api(status) if status.code == 403 => anyhow!(
                "the Kubernetes API server at {server} refused to {action} (403 Forbidden: {}). Grant get and list on \
                 {resource} there; see docs/cluster.md, \"Permissions (RBAC)\"",
                status.message
            ),
            kube::Error::Api(status) => anyhow!(
                "the Kubernetes API server at {server} answered {} {} to {action}: {}",
                status.code,
                status.reason,
                status.message
            ),
            other => {
                let cause = chain(&other);
                let waited = if cause.contains("timed out") {
                    format!(" (no answer within {}s)", self.timeout.as_secs())
                } else {
                    String::new()
                };
                anyhow!("cannot reach the Kubernetes API server at {server}{waited}: {cause}")
            }
        }
    }
}

/// A kind added by a CRD: its API group, version, kind and plural resource name.
pub struct CustomKind {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
}

/// One stored revision: object name, revision and status from its labels, and the `data.release` payload.
struct StoredRelease {
    object: String,
    revision: u64,
    status: String,
    payload: Option<Vec<u8>>,
}

impl StoredRelease {
    fn new(
        metadata: k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta,
        payload: Option<Vec<u8>>,
    ) -> Self {
        let object = metadata.name.unwrap_or_default();
        let labels = metadata.labels.unwrap_or_default();
        let from_name = object.rsplit_once(".v").and_then(|(_, n)| n.parse().ok());
        let revision = labels
            .get("version")
            .and_then(|v| v.parse().ok())
            .or(from_name)
            .unwrap_or(0);
        let status = labels.get("status").cloned().unwrap_or_default();
        StoredRelease {
            object,
            revision,
            status,
            payload,
        }
    }
}

/// The kubeconfig from `--kubeconfig`/KUBECONFIG (a path list, merged as kubectl does), else ~/.kube/config, else
/// the in-cluster service account; with `--kube-context`/HELM_KUBECONTEXT when given.
async fn load_config(args: &ClusterArgs) -> Result<kube::Config> {
    let options = KubeConfigOptions {
        context: args.kube_context.clone().filter(|c| !c.is_empty()),
        ..KubeConfigOptions::default()
    };
    let paths: Vec<_> = args
        .kubeconfig
        .iter()
        .flat_map(std::env::split_paths)
        .filter(|p| !p.as_os_str().is_empty())
        .collect();
    if !paths.is_empty() {
        let mut merged = Kubeconfig::default();
        for path in &paths {
            let file = Kubeconfig::read_from(path)
                .map_err(|e| anyhow!("cannot read kubeconfig {}: {}", path.display(), chain(&e)))?;
            merged = merged
                .merge(file)
                .map_err(|e| anyhow!("cannot merge kubeconfig {}: {e}", path.display()))?;
        }
        return kube::Config::from_custom_kubeconfig(merged, &options)
            .await
            .map_err(|e| anyhow!("kubeconfig {}: {}", paths[0].display(), chain(&e)));
    }
    match kube::Config::from_kubeconfig(&options).await {
        Ok(config) => Ok(config),
        Err(_) if options.context.is_none() && std::env::var_os("KUBERNETES_SERVICE_HOST").is_some() => {
            kube::Config::incluster().map_err(|e| anyhow!("cannot use the in-cluster service account: {}", chain(&e)))
        }
        Err(err) => Err(anyhow!(
            "no usable kubeconfig: {}. Pass --kubeconfig FILE, set KUBECONFIG, or run inside the cluster",
            chain(&err)
        )),
    }
}

/// An error and its causes, joined like anyhow's `{:#}`.
fn chain(err: &dyn std::error::Error) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        let cause_text = cause.to_string();
        if !text.contains(&cause_text) {
            text = format!("{text}: {cause_text}");
        }
        source = cause.source();
    }
    text
}
