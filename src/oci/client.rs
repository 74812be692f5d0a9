//! The OCI distribution API, as far as the lock needs it: manifests by tag or digest (`GET`/`HEAD
//! /v2/<name>/manifests/<reference>`) and config blobs, with anonymous, basic and token authentication (the
//! distribution token spec: a `401` with `WWW-Authenticate: Bearer realm=...,service=...,scope=...` is answered
//! by fetching a token from the realm). HTTP is hyper over rustls; each request has a timeout and is retried with
//! backoff on 429, 5xx and failed connections.

use super::credentials::{Credential, Credentials};
use crate::image::ImageRef;
use crate::registry_args::Options;
use anyhow::{anyhow, bail, Result};
use base64::Engine as _;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Bytes;
use hyper::{header, Method, Request, StatusCode};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client as HttpClient;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Every manifest type the lock understands. distribution 2.8 answers 404 for a tag holding an OCI index when the
/// `Accept` header does not list the index type, so this is always sent.
pub const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, \
    application/vnd.docker.distribution.manifest.list.v2+json, \
    application/vnd.oci.image.manifest.v1+json, \
    application/vnd.docker.distribution.manifest.v2+json";
/// The distribution spec's limit for a manifest; config blobs are smaller still.
const MAX_BODY: usize = 4 << 20;
/// Where Docker Hub's API lives.
const DOCKER_HUB_API: &str = "registry-1.docker.io";

/// A manifest as the registry served it, its digest checked against its bytes.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub digest: String,
    pub media_type: String,
    pub body: Bytes,
}

/// What one HTTP exchange gave.
struct Answer {
    status: StatusCode,
    headers: hyper::HeaderMap,
    body: Bytes,
}

/// A failure to talk to a registry at all (exit 2), as opposed to an answer.
enum Trouble {
    Unreachable(String),
    Tls(String),
    Timeout,
    Status(StatusCode),
}

pub struct Client {
    http: HttpClient<HttpsConnector<HttpConnector>, Full<Bytes>>,
    options: Options,
    credentials: Credentials,
    /// The `Authorization` value that worked, by `host/repository` (tokens are scoped to a repository).
    authorization: Mutex<HashMap<String, Arc<str>>>,
    /// Hosts that asked for basic authentication: later requests send it straight away.
    basic_hosts: Mutex<HashMap<String, Arc<str>>>,
}

impl Client {
    pub fn new(options: Options) -> Result<Client> {
        let credentials = Credentials::load(options.registry_config.as_deref())?;
        let tls = tls_config(&options.ca_files)?;
        let mut connector = HttpConnector::new();
        connector.enforce_http(false);
        connector.set_nodelay(true);
        connector.set_connect_timeout(Some(options.timeout));
        let https = hyper_rustls::HttpsConnectorBuilder::new()
            .with_tls_config(tls)
            .https_or_http()
            .enable_http1()
            .wrap_connector(connector);
        let http = HttpClient::builder(hyper_util::rt::TokioExecutor::new())
            .pool_max_idle_per_host(options.concurrency)
            .build(https);
        Ok(Client {
            http,
            options,
            credentials,
            authorization: Mutex::default(),
            basic_hosts: Mutex::default(),
        })
    }

    /// The manifest `reference` (a tag or a digest) of `image`'s repository, or None when the registry does not
    /// have it (404).
    pub async fn manifest(&self, image: &ImageRef, reference: &str) -> Result<Option<Manifest>> {
        let url = self.url(image, &format!("manifests/{reference}"));
        let answer = self.fetch(Method::GET, image, &url).await?;
        if answer.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let digest = sha256(&answer.body);
        let claimed = header_text(&answer.headers, "docker-content-digest");
        let expected = reference.starts_with("sha256:").then_some(reference);
        if let Some(other) = expected.or(claimed.as_deref()).filter(|d| *d != digest) {
            bail!(
                "registry {} sent a manifest for {}@{other} whose content has the digest {digest}",
                image.registry,
                image.name()
            );
        }
        let media_type = header_text(&answer.headers, "content-type").unwrap_or_default();
        Ok(Some(Manifest {
            digest,
            media_type,
            body: answer.body,
        }))
    }

    /// The digest a tag (or digest) points at, from a `HEAD` request, or None when the registry does not have it.
    pub async fn digest(&self, image: &ImageRef, reference: &str) -> Result<Option<String>> {
        let url = self.url(image, &format!("manifests/{reference}"));
        let answer = self.fetch(Method::HEAD, image, &url).await?;
        if answer.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        match header_text(&answer.headers, "docker-content-digest") {
            Some(digest) => Ok(Some(digest)),
            // A registry that does not say: read the manifest itself.
            None => Ok(self.manifest(image, reference).await?.map(|m| m.digest)),
        }
    }

    /// A blob (an image config), its digest checked; None when the registry does not have it.
    pub async fn blob(&self, image: &ImageRef, digest: &str) -> Result<Option<Bytes>> {
        let mut url = self.url(image, &format!("blobs/{digest}"));
        let mut answer = self.fetch(Method::GET, image, &url).await?;
        for _ in 0..3 {
            let location = header_text(&answer.headers, "location");
            match (answer.status.is_redirection(), location) {
                (true, Some(location)) => {
                    url = absolute(&url, &location);
                    answer = self.exchange(Method::GET, &url, None).await?;
                }
                _ => break,
            }
        }
        if answer.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !answer.status.is_success() {
            bail!(
                "registry {} answered {} for blob {digest} of {}",
                image.registry,
                answer.status,
                image.name()
            );
        }
        if sha256(&answer.body) != digest {
            bail!(
                "registry {} sent a blob for {digest} of {} with other content",
                image.registry,
                image.name()
            );
        }
        Ok(Some(answer.body))
    }

    /// Whether the registry is reached over plain HTTP (`--insecure-registry`).
    pub fn is_insecure(&self, registry: &str) -> bool {
        self.options.insecure.iter().any(|h| h == registry)
    }

    fn url(&self, image: &ImageRef, path: &str) -> String {
        let scheme = if self.is_insecure(&image.registry) {
            "http"
        } else {
            "https"
        };
        let host = match image.registry.as_str() {
            "docker.io" => DOCKER_HUB_API,
            host => host,
        };
        format!("{scheme}://{host}/v2/{}/{path}", image.repository)
    }

    /// One authenticated request: a remembered authorization first; on 401 the challenge is answered once.
    /// 401 and 403 after that are errors naming the credential source tried (never the credential).
    async fn fetch(&self, method: Method, image: &ImageRef, url: &str) -> Result<Answer> {
        let key = format!("{}/{}", image.registry, image.repository);
        let known = self.known_authorization(&key, &image.registry);
        let answer = self.exchange(method.clone(), url, known.clone()).await?;
        let answer = if answer.status == StatusCode::UNAUTHORIZED {
            let challenge = header_text(&answer.headers, "www-authenticate").unwrap_or_default();
            let authorization = self.answer_challenge(image, &challenge).await?;
            if known.as_deref() == Some(&*authorization) {
                answer
            } else {
                let answer = self
                    .exchange(method, url, Some(authorization.clone()))
                    .await?;
                self.authorization
                    .lock()
                    .unwrap()
                    .insert(key, authorization);
                answer
            }
        } else {
            answer
        };
        match answer.status {
            StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                Err(self.denied(image, answer.status))
            }
            status if status.is_success() || status == StatusCode::NOT_FOUND => Ok(answer),
            status if status.is_redirection() => Ok(answer),
            status => bail!(
                "registry {} answered {} for {}",
                image.registry,
                status_text(status),
                image.name()
            ),
        }
    }

    fn known_authorization(&self, key: &str, host: &str) -> Option<Arc<str>> {
        let scoped = self.authorization.lock().unwrap().get(key).cloned();
        scoped.or_else(|| self.basic_hosts.lock().unwrap().get(host).cloned())
    }

    fn denied(&self, image: &ImageRef, status: StatusCode) -> anyhow::Error {
        anyhow!(
            "registry {} refused access to {} ({}); credentials tried: {}",
            image.registry,
            image.name(),
            status_text(status),
            self.credentials.source(&image.registry)
        )
    }

    /// The `Authorization` value a `WWW-Authenticate` challenge asks for.
    async fn answer_challenge(&self, image: &ImageRef, challenge: &str) -> Result<Arc<str>> {
        let (scheme, params) = parse_challenge(challenge);
        let credential = self.credentials.get(&image.registry)?;
        match scheme.to_ascii_lowercase().as_str() {
            "basic" => {
                let Some(Credential::Basic { user, password }) = credential else {
                    return Err(self.denied(image, StatusCode::UNAUTHORIZED));
                };
                let value: Arc<str> = basic(&user, &password).into();
                self.basic_hosts
                    .lock()
                    .unwrap()
                    .insert(image.registry.clone(), value.clone());
                Ok(value)
            }
            "bearer" => {
                let token = self.token(image, &params, credential.as_ref()).await?;
                Ok(format!("Bearer {token}").into())
            }
            _ => Err(self.denied(image, StatusCode::UNAUTHORIZED)),
        }
    }

    /// A pull token from the challenge's realm (the distribution token spec), with the credential when there is
    /// one: basic authentication for a password, the OAuth2 refresh-token grant for an identity token.
    async fn token(
        &self,
        image: &ImageRef,
        params: &HashMap<String, String>,
        credential: Option<&Credential>,
    ) -> Result<String> {
        let realm = params.get("realm").ok_or_else(|| {
            anyhow!(
                "registry {} asked for a token without naming where to get it",
                image.registry
            )
        })?;
        let scope = params
            .get("scope")
            .cloned()
            .unwrap_or_else(|| format!("repository:{}:pull", image.repository));
        let service = params.get("service").cloned().unwrap_or_default();
        let answer = match credential {
            Some(Credential::IdentityToken(refresh)) => {
                let form = format!(
                    "grant_type=refresh_token&client_id=opsta-lint&service={}&scope={}&refresh_token={}",
                    encode(&service),
                    encode(&scope),
                    encode(refresh)
                );
                self.exchange_with(Method::POST, realm, None, Some(form))
                    .await?
            }
            other => {
                let url = format!(
                    "{realm}{}service={}&scope={}",
                    if realm.contains('?') { "&" } else { "?" },
                    encode(&service),
                    encode(&scope)
                );
                let authorization = match other {
                    Some(Credential::Basic { user, password }) => {
                        Some(basic(user, password).into())
                    }
                    _ => None,
                };
                self.exchange(Method::GET, &url, authorization).await?
            }
        };
        if !answer.status.is_success() {
            return Err(self.denied(image, answer.status));
        }
        let json: serde_json::Value = serde_json::from_slice(&answer.body).map_err(|_| {
            anyhow!(
                "the token service of registry {} did not answer with JSON",
                image.registry
            )
        })?;
        ["token", "access_token"]
            .iter()
            .find_map(|k| json.get(k).and_then(|t| t.as_str()))
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .ok_or_else(|| {
                anyhow!(
                    "the token service of registry {} sent no token",
                    image.registry
                )
            })
    }

    async fn exchange(
        &self,
        method: Method,
        url: &str,
        authorization: Option<Arc<str>>,
    ) -> Result<Answer> {
        self.exchange_with(method, url, authorization, None).await
    }

    /// One request with retries: a timeout per attempt; 429, 5xx and failed connections are tried again after
    /// 0.2 s, 0.4 s, 0.8 s ... (or the registry's `Retry-After`, up to 10 s). TLS failures are not retried.
    async fn exchange_with(
        &self,
        method: Method,
        url: &str,
        authorization: Option<Arc<str>>,
        form: Option<String>,
    ) -> Result<Answer> {
        let host = host_of(url);
        let mut last = Trouble::Timeout;
        for attempt in 0..=self.options.retries {
            if attempt > 0 {
                tokio::time::sleep(backoff(attempt, &last)).await;
            }
            let request = build_request(&method, url, authorization.as_deref(), form.as_deref())?;
            let sent = tokio::time::timeout(self.options.timeout, self.send(request)).await;
            last = match sent {
                Err(_) => Trouble::Timeout,
                Ok(Err(trouble)) => trouble,
                Ok(Ok(answer)) => {
                    let status = answer.status;
                    if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
                        let wait = retry_after(&answer.headers);
                        if let Some(wait) = wait.filter(|_| attempt < self.options.retries) {
                            tokio::time::sleep(wait).await;
                        }
                        Trouble::Status(status)
                    } else {
                        return Ok(answer);
                    }
                }
            };
            if matches!(last, Trouble::Tls(_)) {
                break;
            }
        }
        let tries = self.options.retries + 1;
        Err(match last {
            Trouble::Unreachable(why) => {
                anyhow!("cannot reach registry {host}: {why} ({tries} attempts)")
            }
            Trouble::Tls(why) => anyhow!(
                "TLS failure talking to registry {host}: {why} (pass --ca-file with the registry's CA, or \
                 --insecure-registry {host} if it serves plain HTTP)"
            ),
            Trouble::Timeout => anyhow!(
                "registry {host} did not answer within {} s ({tries} attempts; --registry-timeout sets the limit)",
                self.options.timeout.as_secs_f64()
            ),
            Trouble::Status(status) if status == StatusCode::TOO_MANY_REQUESTS => anyhow!(
                "registry {host} answered {} {tries} times; try again later or lower --concurrency",
                status_text(status)
            ),
            Trouble::Status(status) => anyhow!(
                "registry {host} answered {} {tries} times",
                status_text(status)
            ),
        })
    }

    async fn send(&self, request: Request<Full<Bytes>>) -> Result<Answer, Trouble> {
        let response = self.http.request(request).await.map_err(classify)?;
        let (parts, body) = response.into_parts();
        let body = Limited::new(body, MAX_BODY)
            .collect()
            .await
            .map_err(|e| Trouble::Unreachable(format!("the answer broke off: {e}")))?
            .to_bytes();
        Ok(Answer {
            status: parts.status,
            headers: parts.headers,
            body,
        })
    }
}

fn build_request(
    method: &Method,
    url: &str,
    authorization: Option<&str>,
    form: Option<&str>,
) -> Result<Request<Full<Bytes>>> {
    let mut request = Request::builder()
        .method(method.clone())
        .uri(url)
        .header(header::ACCEPT, ACCEPT)
        .header(
            header::USER_AGENT,
            concat!("opsta-lint/", env!("CARGO_PKG_VERSION")),
        );
    if let Some(value) = authorization {
        request = request.header(header::AUTHORIZATION, value);
    }
    let body = match form {
        Some(form) => {
            request = request.header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
            Full::new(Bytes::from(form.to_string()))
        }
        None => Full::new(Bytes::new()),
    };
    // The URL is built from a parsed image reference; the only other source is a registry's own realm.
    request
        .body(body)
        .map_err(|_| anyhow!("cannot build a request for {}", host_of(url)))
}

/// Sorts a failed exchange into unreachable or TLS, with the innermost cause as the reason.
fn classify(err: hyper_util::client::legacy::Error) -> Trouble {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(&err);
    let mut innermost = err.to_string();
    while let Some(e) = source {
        if let Some(tls) = tls_cause(e) {
            return Trouble::Tls(tls);
        }
        innermost = e.to_string();
        source = e.source();
    }
    Trouble::Unreachable(innermost)
}

/// The rustls error inside `e`: itself, or inside I/O errors (tokio-rustls wraps it twice).
fn tls_cause(e: &(dyn std::error::Error + 'static)) -> Option<String> {
    if let Some(tls) = e.downcast_ref::<rustls::Error>() {
        return Some(tls.to_string());
    }
    if let Some(io) = e.downcast_ref::<std::io::Error>() {
        return io.get_ref().and_then(|inner| tls_cause(inner));
    }
    None
}

fn backoff(attempt: u32, last: &Trouble) -> Duration {
    let base = Duration::from_millis(100 << attempt.min(6));
    match last {
        Trouble::Timeout => Duration::ZERO,
        _ => base,
    }
}

fn retry_after(headers: &hyper::HeaderMap) -> Option<Duration> {
    let seconds: u64 = header_text(headers, "retry-after")?.trim().parse().ok()?;
    Some(Duration::from_secs(seconds.min(10)))
}

fn tls_config(ca_files: &[String]) -> Result<rustls::ClientConfig> {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::CertificateDer;
    let mut roots = rustls::RootCertStore::empty();
    for cert in rustls_native_certs::load_native_certs().certs {
        let _ = roots.add(cert);
    }
    for path in ca_files {
        let mut added = 0;
        for cert in CertificateDer::pem_file_iter(path)
            .map_err(|e| anyhow!("cannot read the CA file {path}: {e}"))?
        {
            let cert = cert.map_err(|e| anyhow!("{path}: not a PEM certificate: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| anyhow!("{path}: not a usable CA certificate: {e}"))?;
            added += 1;
        }
        if added == 0 {
            bail!("{path}: no PEM certificate (-----BEGIN CERTIFICATE-----) in the CA file");
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    Ok(rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| anyhow!("cannot set up TLS: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// `Basic base64(user:password)`.
fn basic(user: &str, password: &str) -> String {
    let pair = format!("{user}:{password}");
    format!(
        "Basic {}",
        base64::engine::general_purpose::STANDARD.encode(pair)
    )
}

/// `sha256:` and the hex of the bytes' SHA-256.
pub fn sha256(bytes: &[u8]) -> String {
    let hash = ring::digest::digest(&ring::digest::SHA256, bytes);
    let mut out = String::from("sha256:");
    for b in hash.as_ref() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

fn header_text(headers: &hyper::HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or(v).trim().to_string())
        .filter(|v| !v.is_empty())
}

fn status_text(status: StatusCode) -> String {
    match status.canonical_reason() {
        Some(reason) => format!("{} {reason}", status.as_u16()),
        None => status.as_u16().to_string(),
    }
}

/// `host[:port]` of a URL, for messages.
fn host_of(url: &str) -> String {
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let host = rest.split(['/', '?']).next().unwrap_or(rest);
    crate::printable::shown(host).into_owned()
}

/// A redirect's `Location`, made absolute against the URL it came from.
fn absolute(base: &str, location: &str) -> String {
    if location.contains("://") {
        return location.to_string();
    }
    let scheme_end = base.find("://").map_or(0, |i| i + 3);
    let host_end = base[scheme_end..]
        .find('/')
        .map_or(base.len(), |i| scheme_end + i);
    format!("{}{location}", &base[..host_end])
}

/// Percent-encoding for a query value: unreserved characters as they are, every other byte as `%XX`.
fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `Bearer realm="https://auth",service="reg",scope="repository:a/b:pull,push"`: the scheme and its
/// parameters (quoted values may hold commas).
pub fn parse_challenge(text: &str) -> (String, HashMap<String, String>) {
    let text = text.trim();
    let (scheme, mut rest) = text.split_once(' ').unwrap_or((text, ""));
    let mut params = HashMap::new();
    loop {
        rest = rest.trim_start_matches([' ', ',']);
        let Some((key, after)) = rest.split_once('=') else {
            break;
        };
        let (value, after) = match after.strip_prefix('"') {
            Some(quoted) => {
                let mut value = String::new();
                let mut chars = quoted.char_indices();
                let mut end = quoted.len();
                while let Some((i, c)) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some((_, escaped)) = chars.next() {
                                value.push(escaped);
                            }
                        }
                        '"' => {
                            end = i + 1;
                            break;
                        }
                        c => value.push(c),
                    }
                }
                (value, &quoted[end..])
            }
            None => {
                let end = after.find(',').unwrap_or(after.len());
                (after[..end].trim().to_string(), &after[end..])
            }
        };
        params.insert(key.trim().to_ascii_lowercase(), value);
        rest = after;
    }
    (scheme.to_string(), params)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_bearer_challenges_with_commas_inside_quotes() {
        let (scheme, params) = parse_challenge(
            r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull,push""#,
        );
        assert_eq!(scheme, "Bearer");
        assert_eq!(params["realm"], "https://auth.docker.io/token");
        assert_eq!(params["service"], "registry.docker.io");
        assert_eq!(params["scope"], "repository:library/nginx:pull,push");
        let (scheme, params) = parse_challenge("Basic realm=r");
        assert_eq!((scheme.as_str(), params["realm"].as_str()), ("Basic", "r"));
    }

    #[test]
    fn hashes_and_encodes_like_the_registry() {
        assert_eq!(
            sha256(b""),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(encode("repository:a/b:pull"), "repository%3Aa%2Fb%3Apull");
        assert_eq!(
            absolute("http://h:5000/v2/a/blobs/x", "/other?y=1"),
            "http://h:5000/other?y=1"
        );
        assert_eq!(host_of("https://reg.corp:5443/v2/a"), "reg.corp:5443");
    }
}
