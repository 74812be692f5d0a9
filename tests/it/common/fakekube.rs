//! A small fake Kubernetes API server for tests.
//!
//! Plain HTTP/1.1 on 127.0.0.1 (ephemeral port), one thread per connection, objects kept in memory as JSON. It serves
//! what the real `helm` 3.17 and 4.1 binaries need to `install`, `upgrade` and `uninstall`: discovery (/version, /api,
//! /apis, resource lists), and get/list(labelSelector)/create/update/patch/delete for the kinds in [`KINDS`]. Helm's
//! release driver sends Secrets and ConfigMaps as protobuf; [`proto`] decodes those two. Answers are always JSON.
//! OpenAPI v3 is served only far enough for clients to leave field validation to the server (see [`openapi_group`]).
//! Watches get 405 (Method Not Allowed): client-go then lists, which is all Helm 4's hook wait needs here.
//!
//! Tests can insert objects (Pods with status and images), edit stored ones (a corrupt release payload), refuse a
//! verb on a resource (403/401), and read the request log (to check that a client stayed read-only).
#![allow(dead_code)]

use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// A resource kind the fake server knows.
pub struct Kind {
    pub group: &'static str,
    pub version: &'static str,
    pub kind: &'static str,
    pub plural: &'static str,
    pub namespaced: bool,
}

impl Kind {
    fn api_version(&self) -> String {
        if self.group.is_empty() {
            self.version.to_string()
        } else {
            format!("{}/{}", self.group, self.version)
        }
    }
}

const fn kind(
    group: &'static str,
    version: &'static str,
    kind: &'static str,
    plural: &'static str,
) -> Kind {
    Kind {
        group,
        version,
        kind,
        plural,
        namespaced: true,
    }
}

/// The kinds served. Test charts must stay within these.
pub const KINDS: &[Kind] = &[
    kind("", "v1", "Secret", "secrets"),
    kind("", "v1", "ConfigMap", "configmaps"),
    kind("", "v1", "Service", "services"),
    kind("", "v1", "ServiceAccount", "serviceaccounts"),
    kind("", "v1", "Pod", "pods"),
    kind("", "v1", "PersistentVolumeClaim", "persistentvolumeclaims"),
    Kind {
        group: "",
        version: "v1",
        kind: "Namespace",
        plural: "namespaces",
        namespaced: false,
    },
    kind("apps", "v1", "Deployment", "deployments"),
    kind("apps", "v1", "StatefulSet", "statefulsets"),
    kind("apps", "v1", "DaemonSet", "daemonsets"),
    kind("apps", "v1", "ReplicaSet", "replicasets"),
    kind("batch", "v1", "Job", "jobs"),
    kind("postgresql.cnpg.io", "v1", "Cluster", "clusters"),
    kind("postgresql.cnpg.io", "v1", "Backup", "backups"),
    kind(
        "postgresql.cnpg.io",
        "v1",
        "ScheduledBackup",
        "scheduledbackups",
    ),
    kind("rbac.authorization.k8s.io", "v1", "Role", "roles"),
    kind(
        "rbac.authorization.k8s.io",
        "v1",
        "RoleBinding",
        "rolebindings",
    ),
];

const VERBS: &[&str] = &[
    "create",
    "delete",
    "deletecollection",
    "get",
    "list",
    "patch",
    "update",
    "watch",
];
const TIMESTAMP: &str = "2026-01-01T00:00:00Z";

fn find_kind(group: &str, version: &str, plural: &str) -> Option<&'static Kind> {
    KINDS
        .iter()
        .find(|k| k.group == group && k.version == version && k.plural == plural)
}

fn kind_of(object: &Value) -> Option<&'static Kind> {
    let api_version = object["apiVersion"].as_str()?;
    let (group, version) = api_version.split_once('/').unwrap_or(("", api_version));
    let kind = object["kind"].as_str()?;
    KINDS
        .iter()
        .find(|k| k.group == group && k.version == version && k.kind == kind)
}

/// A refusal the server gives for one verb on one resource (plural name, e.g. "secrets"); "*" matches any.
struct Refusal {
    verb: String,
    resource: String,
    code: u16,
}

#[derive(Default)]
struct State {
    /// (resource plural, namespace or "", name) -> object
    objects: BTreeMap<(String, String, String), Value>,
    resource_version: u64,
    refusals: Vec<Refusal>,
    log: Vec<String>,
}

/// One fake API server, stopped when dropped. Its kubeconfig and Helm's home folders live in a temp dir.
pub struct FakeKube {
    addr: SocketAddr,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
    dir: tempfile::TempDir,
}

impl FakeKube {
    pub fn start() -> FakeKube {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let addr = listener.local_addr().unwrap();
        let state = Arc::new(Mutex::new(State::default()));
        let stop = Arc::new(AtomicBool::new(false));
        let (accept_state, accept_stop) = (state.clone(), stop.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                if accept_stop.load(Ordering::SeqCst) {
                    break;
                }
                let Ok(stream) = stream else { continue };
                let state = accept_state.clone();
                std::thread::spawn(move || serve_connection(stream, &state));
            }
        });
        let dir = tempfile::tempdir().expect("temp dir");
        let server = FakeKube {
            addr,
            state,
            stop,
            dir,
        };
        std::fs::write(server.kubeconfig(), server.kubeconfig_text()).expect("write kubeconfig");
        server
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("kubeconfig")
    }

    fn kubeconfig_text(&self) -> String {
        format!(
            "apiVersion: v1\nkind: Config\nclusters:\n- name: fake\n  cluster:\n    server: {}\n\
             contexts:\n- name: fake\n  context:\n    cluster: fake\n    user: fake\n    namespace: default\n\
             current-context: fake\nusers:\n- name: fake\n  user:\n    token: fake-token\n",
            self.url()
        )
    }

    /// A `helm` command for this server: KUBECONFIG, a fresh Helm home in the temp dir, no inherited HELM_* settings.
    pub fn helm(&self, binary: &Path) -> Command {
        let mut command = Command::new(binary);
        command.envs(super::helm_env(&self.dir.path().join("helm")));
        command.env("KUBECONFIG", self.kubeconfig());
        for var in [
            "HELM_DRIVER",
            "HELM_NAMESPACE",
            "HELM_KUBECONTEXT",
            "HELM_KUBETOKEN",
            "HELM_KUBEAPISERVER",
        ] {
            command.env_remove(var);
        }
        command
    }

    /// Store an object as given (kind/apiVersion/metadata.name required), filling in server metadata.
    pub fn insert(&self, object: Value) {
        let kind = kind_of(&object).expect("insert: unknown kind or apiVersion");
        let mut state = self.state.lock().unwrap();
        let namespace = object["metadata"]["namespace"]
            .as_str()
            .unwrap_or("default")
            .to_string();
        let namespace = if kind.namespaced {
            namespace
        } else {
            String::new()
        };
        let name = object["metadata"]["name"]
            .as_str()
            .expect("insert: metadata.name")
            .to_string();
        let object = state.stamp(kind, &namespace, object);
        state
            .objects
            .insert((kind.plural.to_string(), namespace, name), object);
    }

    pub fn get(&self, plural: &str, namespace: &str, name: &str) -> Option<Value> {
        let state = self.state.lock().unwrap();
        state
            .objects
            .get(&(plural.to_string(), namespace.to_string(), name.to_string()))
            .cloned()
    }

    /// Objects of one resource in one namespace, by name.
    pub fn list(&self, plural: &str, namespace: &str) -> Vec<Value> {
        let state = self.state.lock().unwrap();
        let objects = state.objects.iter();
        objects
            .filter(|((p, ns, _), _)| p == plural && ns == namespace)
            .map(|(_, o)| o.clone())
            .collect()
    }

    /// Change a stored object in place (e.g. corrupt a release payload). Panics when it does not exist.
    pub fn edit(&self, plural: &str, namespace: &str, name: &str, change: impl FnOnce(&mut Value)) {
        let mut state = self.state.lock().unwrap();
        let key = (plural.to_string(), namespace.to_string(), name.to_string());
        change(state.objects.get_mut(&key).expect("edit: no such object"));
    }

    /// Answer `code` (401 or 403) to `verb` on `resource` from now on; "*" matches any verb or resource.
    pub fn refuse(&self, verb: &str, resource: &str, code: u16) {
        let refusal = Refusal {
            verb: verb.into(),
            resource: resource.into(),
            code,
        };
        self.state.lock().unwrap().refusals.push(refusal);
    }

    /// Every request served so far, as "VERB /path?query".
    pub fn requests(&self) -> Vec<String> {
        self.state.lock().unwrap().log.clone()
    }

    pub fn clear_requests(&self) {
        self.state.lock().unwrap().log.clear();
    }
}

impl Drop for FakeKube {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(self.addr);
    }
}

// ---------------------------------------------------------------------------------------------------------------
// HTTP

struct Request {
    method: String,
    path: String,
    query: BTreeMap<String, String>,
    headers: BTreeMap<String, String>,
    body: Vec<u8>,
}

struct Response {
    code: u16,
    body: Value,
}

fn serve_connection(stream: TcpStream, state: &Mutex<State>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(60)));
    let mut writer = match stream.try_clone() {
        Ok(writer) => writer,
        Err(_) => return,
    };
    let mut reader = BufReader::new(stream);
    while let Some(request) = read_request(&mut reader) {
        let response = handle(state, &request);
        if std::env::var_os("FAKEKUBE_TRACE").is_some() {
            let content_type = request
                .headers
                .get("content-type")
                .map(String::as_str)
                .unwrap_or("");
            eprintln!(
                "fakekube: {} {} {content_type} -> {}",
                request.method, request.path, response.code
            );
        }
        let body = serde_json::to_vec(&response.body).unwrap();
        let head = format!(
            "HTTP/1.1 {} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            response.code,
            reason_phrase(response.code),
            body.len()
        );
        if writer
            .write_all(head.as_bytes())
            .and_then(|_| writer.write_all(&body))
            .is_err()
        {
            return;
        }
    }
}

fn read_request(reader: &mut BufReader<TcpStream>) -> Option<Request> {
    let mut line = String::new();
    reader.read_line(&mut line).ok().filter(|n| *n > 0)?;
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let target = parts.next()?.to_string();
    let mut headers = BTreeMap::new();
    loop {
        let mut header = String::new();
        reader.read_line(&mut header).ok().filter(|n| *n > 0)?;
        let header = header.trim_end();
        if header.is_empty() {
            break;
        }
        let (name, value) = header.split_once(':')?;
        headers.insert(name.trim().to_ascii_lowercase(), value.trim().to_string());
    }
    let body = if headers
        .get("transfer-encoding")
        .is_some_and(|t| t.contains("chunked"))
    {
        read_chunked(reader)?
    } else {
        let length: usize = headers
            .get("content-length")
            .and_then(|l| l.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0; length];
        reader.read_exact(&mut body).ok()?;
        body
    };
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let query = query.split('&').filter(|p| !p.is_empty()).map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k), percent_decode(v))
    });
    Some(Request {
        method,
        path: path.to_string(),
        query: query.collect(),
        headers,
        body,
    })
}

fn read_chunked(reader: &mut BufReader<TcpStream>) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        let mut size = String::new();
        reader.read_line(&mut size).ok()?;
        let size = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
        let mut chunk = vec![0; size + 2];
        reader.read_exact(&mut chunk).ok()?;
        if size == 0 {
            return Some(body);
        }
        body.extend_from_slice(&chunk[..size]);
    }
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3]).ok();
                match hex.and_then(|h| u8::from_str_radix(h, 16).ok()) {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn reason_phrase(code: u16) -> &'static str {
    match code {
        200 => "OK",
        201 => "Created",
        400 => "Bad Request",
        401 => "Unauthorized",
        403 => "Forbidden",
        404 => "Not Found",
        405 => "Method Not Allowed",
        409 => "Conflict",
        415 => "Unsupported Media Type",
        422 => "Unprocessable Entity",
        _ => "Error",
    }
}

fn ok(body: Value) -> Response {
    Response { code: 200, body }
}

fn status(code: u16, reason: &str, message: String) -> Response {
    let body = json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
        "message": message, "reason": reason, "code": code});
    Response { code, body }
}

fn not_found(what: &str, name: &str) -> Response {
    status(404, "NotFound", format!("{what} \"{name}\" not found"))
}

// ---------------------------------------------------------------------------------------------------------------
// Routing

/// What an API path names.
enum Route<'a> {
    Version,
    CoreVersions,
    Groups,
    Resources { group: &'a str, version: &'a str },
    OpenApiRoot,
    OpenApi { group: &'a str, version: &'a str },
    Objects(Target),
    Unknown,
}

struct Target {
    kind: &'static Kind,
    namespace: String,
    name: Option<String>,
}

fn route(path: &str) -> Route<'_> {
    let segments: Vec<&str> = path.trim_matches('/').split('/').collect();
    let (group, version, rest) = match segments.as_slice() {
        ["version"] => return Route::Version,
        ["api"] => return Route::CoreVersions,
        ["apis"] => return Route::Groups,
        ["api", version] => return Route::Resources { group: "", version },
        ["apis", group, version] => return Route::Resources { group, version },
        ["openapi", "v3"] => return Route::OpenApiRoot,
        ["openapi", "v3", "api", version] => return Route::OpenApi { group: "", version },
        ["openapi", "v3", "apis", group, version] => return Route::OpenApi { group, version },
        ["api", version, rest @ ..] => ("", *version, rest),
        ["apis", group, version, rest @ ..] => (*group, *version, rest),
        _ => return Route::Unknown,
    };
    // `namespaces/NS/<plural>/...` scopes to a namespace; anything else (including `namespaces/NAME`) is cluster-wide.
    let (namespace, rest) = match rest {
        ["namespaces", namespace, rest @ ..] if !rest.is_empty() => (namespace.to_string(), rest),
        other => (String::new(), other),
    };
    let Some(kind) = rest
        .first()
        .and_then(|plural| find_kind(group, version, plural))
    else {
        return Route::Unknown;
    };
    let name = rest.get(1).map(|n| n.to_string());
    match rest.len() {
        1 | 2 => Route::Objects(Target {
            kind,
            namespace,
            name,
        }),
        _ => Route::Unknown,
    }
}

fn handle(state: &Mutex<State>, request: &Request) -> Response {
    let mut state = state.lock().unwrap();
    let query: Vec<String> = request
        .query
        .iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect();
    let line = format!("{} {}?{}", request.method, request.path, query.join("&"));
    state.log.push(line.trim_end_matches('?').to_string());
    match (request.method.as_str(), route(&request.path)) {
        ("GET", Route::Version) => ok(json!({"major": "1", "minor": "33", "gitVersion": "v1.33.0",
            "platform": "linux/amd64", "goVersion": "go1.24.0", "compiler": "gc"})),
        ("GET", Route::CoreVersions) => ok(json!({"kind": "APIVersions", "versions": ["v1"],
            "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]})),
        ("GET", Route::Groups) => ok(group_list()),
        ("GET", Route::Resources { group, version }) => resource_list(group, version),
        ("GET", Route::OpenApiRoot) => ok(openapi_root()),
        ("GET", Route::OpenApi { group, version }) => openapi_group(group, version),
        (_, Route::Objects(target)) => state.serve(request, &target),
        _ => status(
            404,
            "NotFound",
            format!(
                "the server could not find the requested resource ({})",
                request.path
            ),
        ),
    }
}

fn group_list() -> Value {
    let mut groups: Vec<&str> = KINDS
        .iter()
        .map(|k| k.group)
        .filter(|g| !g.is_empty())
        .collect();
    groups.dedup();
    let groups: Vec<Value> = groups
        .iter()
        .map(|group| {
            let version = json!({"groupVersion": format!("{group}/v1"), "version": "v1"});
            json!({"name": group, "versions": [version.clone()], "preferredVersion": version})
        })
        .collect();
    json!({"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
}

fn resource_list(group: &str, version: &str) -> Response {
    let kinds: Vec<&Kind> = KINDS
        .iter()
        .filter(|k| k.group == group && k.version == version)
        .collect();
    if kinds.is_empty() {
        return status(
            404,
            "NotFound",
            format!("the server could not find the requested resource ({group}/{version})"),
        );
    }
    let resources: Vec<Value> = kinds
        .iter()
        .map(|k| {
            json!({"name": k.plural, "singularName": k.kind.to_ascii_lowercase(), "namespaced": k.namespaced,
                "kind": k.kind, "verbs": VERBS})
        })
        .collect();
    let group_version = if group.is_empty() {
        version.to_string()
    } else {
        format!("{group}/{version}")
    };
    ok(
        json!({"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": group_version, "resources": resources}),
    )
}

fn group_path(group: &str, version: &str) -> String {
    if group.is_empty() {
        format!("api/{version}")
    } else {
        format!("apis/{group}/{version}")
    }
}

/// OpenAPI v3: only what kubectl's field-validation check reads. Each kind's PATCH operation declares the
/// `fieldValidation` query parameter, so clients leave validation to the server (which accepts everything) instead
/// of downloading schemas. Helm validates hooks this way even with `--disable-openapi-validation`.
fn openapi_root() -> Value {
    let mut paths = Map::new();
    for kind in KINDS {
        let path = group_path(kind.group, kind.version);
        paths.insert(
            path.clone(),
            json!({"serverRelativeURL": format!("/openapi/v3/{path}")}),
        );
    }
    json!({"paths": paths})
}

fn openapi_group(group: &str, version: &str) -> Response {
    let mut paths = Map::new();
    for kind in KINDS
        .iter()
        .filter(|k| k.group == group && k.version == version)
    {
        let scope = if kind.namespaced {
            "namespaces/{namespace}/"
        } else {
            ""
        };
        let path = format!(
            "/{}/{scope}{}/{{name}}",
            group_path(group, version),
            kind.plural
        );
        let gvk = json!({"group": group, "version": version, "kind": kind.kind});
        let field_validation =
            json!({"name": "fieldValidation", "in": "query", "schema": {"type": "string"}});
        paths.insert(path, json!({"patch": {"x-kubernetes-group-version-kind": gvk, "parameters": [field_validation]}}));
    }
    if paths.is_empty() {
        return status(
            404,
            "NotFound",
            format!("no OpenAPI document for {group}/{version}"),
        );
    }
    ok(
        json!({"openapi": "3.0.0", "info": {"title": "fakekube", "version": "v1.33.0"}, "paths": paths}),
    )
}

fn verb_of(method: &str, target: &Target, query: &BTreeMap<String, String>) -> &'static str {
    match (method, target.name.is_some()) {
        ("GET", true) => "get",
        ("GET", false) if query.get("watch").is_some_and(|w| w == "true" || w == "1") => "watch",
        ("GET", false) => "list",
        ("POST", _) => "create",
        ("PUT", _) => "update",
        ("PATCH", _) => "patch",
        ("DELETE", true) => "delete",
        ("DELETE", false) => "deletecollection",
        _ => "unknown",
    }
}

impl State {
    fn serve(&mut self, request: &Request, target: &Target) -> Response {
        let verb = verb_of(&request.method, target, &request.query);
        if let Some(refused) = self.refusal(verb, target) {
            return refused;
        }
        // A dry run (`?dryRun=All`, as `kubectl --dry-run=server` and Helm send) answers as the real write would,
        // and stores nothing.
        let dry_run = request.query.get("dryRun").is_some_and(|d| d == "All");
        if dry_run && verb != "get" && verb != "list" && verb != "watch" {
            let saved = (self.objects.clone(), self.resource_version);
            let response = self.answer(verb, request, target);
            (self.objects, self.resource_version) = saved;
            return response;
        }
        let response = self.answer(verb, request, target);
        if target.kind.kind == "Job" {
            let name = response.body["metadata"]["name"]
                .as_str()
                .unwrap_or_default();
            self.complete_job(target, name);
        }
        response
    }

    /// No kubelet runs here: a Job written completes at once, so helm's wait for a hook Job ends.
    fn complete_job(&mut self, target: &Target, name: &str) {
        let key = self.key(target, name);
        if let Some(job) = self.objects.get_mut(&key) {
            job["status"] =
                json!({"succeeded": 1, "conditions": [{"type": "Complete", "status": "True"}]});
        }
    }

    fn answer(&mut self, verb: &str, request: &Request, target: &Target) -> Response {
        let name = target.name.clone().unwrap_or_default();
        match verb {
            "get" => match self.objects.get(&self.key(target, &name)) {
                Some(object) => ok(object.clone()),
                None => not_found(target.kind.plural, &name),
            },
            "list" => self.list(
                target,
                request
                    .query
                    .get("labelSelector")
                    .map(String::as_str)
                    .unwrap_or(""),
            ),
            "create" => self.create(target, request),
            "update" => self.update(target, &name, request),
            "patch" => self.patch(target, &name, request),
            "delete" => match self.objects.remove(&self.key(target, &name)) {
                Some(_) => ok(
                    json!({"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success",
                    "details": {"name": name, "kind": target.kind.plural}}),
                ),
                None => not_found(target.kind.plural, &name),
            },
            _ => status(
                405,
                "MethodNotAllowed",
                format!("{verb} is not supported by this fake server"),
            ),
        }
    }

    fn refusal(&self, verb: &str, target: &Target) -> Option<Response> {
        let refusal = self.refusals.iter().find(|r| {
            (r.verb == "*" || r.verb == verb)
                && (r.resource == "*" || r.resource == target.kind.plural)
        })?;
        if refusal.code == 401 {
            return Some(status(401, "Unauthorized", "Unauthorized".into()));
        }
        let scope = if target.namespace.is_empty() {
            "at the cluster scope".to_string()
        } else {
            format!("in the namespace \"{}\"", target.namespace)
        };
        let message = format!(
            "{} is forbidden: User \"system:serviceaccount:ci:opsta\" cannot {verb} resource \"{}\" in API group \"{}\" {scope}",
            target.kind.plural, target.kind.plural, target.kind.group
        );
        Some(status(refusal.code, "Forbidden", message))
    }

    fn key(&self, target: &Target, name: &str) -> (String, String, String) {
        (
            target.kind.plural.to_string(),
            target.namespace.clone(),
            name.to_string(),
        )
    }

    fn next_version(&mut self) -> String {
        self.resource_version += 1;
        self.resource_version.to_string()
    }

    /// Fill in what the API server owns: kind, apiVersion, namespace, uid, resourceVersion, creationTimestamp.
    fn stamp(&mut self, kind: &Kind, namespace: &str, mut object: Value) -> Value {
        let version = self.next_version();
        let object_map = object.as_object_mut().expect("objects are JSON objects");
        object_map.insert("kind".into(), kind.kind.into());
        object_map.insert("apiVersion".into(), kind.api_version().into());
        let metadata = object_map.entry("metadata").or_insert_with(|| json!({}));
        let metadata = metadata.as_object_mut().expect("metadata is an object");
        if kind.namespaced {
            metadata.insert("namespace".into(), namespace.into());
        }
        metadata
            .entry("uid")
            .or_insert_with(|| format!("00000000-0000-0000-0000-{version:0>12}").into());
        metadata
            .entry("creationTimestamp")
            .or_insert_with(|| TIMESTAMP.into());
        metadata.insert("resourceVersion".into(), version.into());
        if kind.kind == "Secret" {
            move_string_data(object_map);
        }
        object
    }

    fn list(&self, target: &Target, selector: &str) -> Response {
        let selector = match parse_selector(selector) {
            Ok(selector) => selector,
            Err(message) => return status(400, "BadRequest", message),
        };
        let items: Vec<Value> = self
            .objects
            .iter()
            .filter(|((plural, namespace, _), _)| {
                plural == target.kind.plural
                    && (target.namespace.is_empty() || *namespace == target.namespace)
            })
            .map(|(_, object)| object)
            .filter(|object| {
                selector
                    .iter()
                    .all(|requirement| requirement.matches(&object["metadata"]["labels"]))
            })
            .cloned()
            .collect();
        ok(
            json!({"kind": format!("{}List", target.kind.kind), "apiVersion": target.kind.api_version(),
            "metadata": {"resourceVersion": self.resource_version.to_string()}, "items": items}),
        )
    }

    fn create(&mut self, target: &Target, request: &Request) -> Response {
        let mut object = match decode_body(request) {
            Ok(object) => object,
            Err(response) => return response,
        };
        if let Some(bad) = check_body(target, &object) {
            return bad;
        }
        let metadata = &mut object["metadata"];
        if metadata["name"].as_str().is_none_or(str::is_empty) {
            match metadata["generateName"].as_str() {
                Some(prefix) => {
                    metadata["name"] = format!("{prefix}{:0>5}", self.resource_version + 1).into()
                }
                None => {
                    return status(
                        422,
                        "Invalid",
                        format!("{}: metadata.name: Required value", target.kind.kind),
                    )
                }
            }
        }
        let name = object["metadata"]["name"].as_str().unwrap().to_string();
        let key = self.key(target, &name);
        if self.objects.contains_key(&key) {
            return status(
                409,
                "AlreadyExists",
                format!("{} \"{name}\" already exists", target.kind.plural),
            );
        }
        let object = self.stamp(target.kind, &target.namespace, object);
        self.objects.insert(key, object.clone());
        Response {
            code: 201,
            body: object,
        }
    }

    fn update(&mut self, target: &Target, name: &str, request: &Request) -> Response {
        let object = match decode_body(request) {
            Ok(object) => object,
            Err(response) => return response,
        };
        if let Some(bad) = check_body(target, &object) {
            return bad;
        }
        let key = self.key(target, name);
        let Some(stored) = self.objects.get(&key) else {
            return not_found(target.kind.plural, name);
        };
        let sent_version = object["metadata"]["resourceVersion"].as_str().unwrap_or("");
        if !sent_version.is_empty() && sent_version != stored["metadata"]["resourceVersion"] {
            let message = format!(
                "Operation cannot be fulfilled on {} \"{name}\": the object has been modified; please apply your changes to the latest version and try again",
                target.kind.plural
            );
            return status(409, "Conflict", message);
        }
        self.replace(target, key, object)
    }

    fn replace(
        &mut self,
        target: &Target,
        key: (String, String, String),
        mut object: Value,
    ) -> Response {
        if let Some(stored) = self.objects.get(&key) {
            for field in ["uid", "creationTimestamp"] {
                object["metadata"][field] = stored["metadata"][field].clone();
            }
        }
        let object = self.stamp(target.kind, &target.namespace, object);
        self.objects.insert(key, object.clone());
        ok(object)
    }

    fn patch(&mut self, target: &Target, name: &str, request: &Request) -> Response {
        let content_type = request
            .headers
            .get("content-type")
            .map(String::as_str)
            .unwrap_or("");
        let Ok(patch) = serde_json::from_slice::<Value>(&request.body) else {
            return status(
                415,
                "UnsupportedMediaType",
                format!("patch body is not JSON ({content_type})"),
            );
        };
        let key = self.key(target, name);
        let stored = self.objects.get(&key).cloned();
        let patched = match (content_type.split(';').next().unwrap_or(""), stored) {
            // Server-side apply: the body is the whole wanted object; create it when missing.
            ("application/apply-patch+yaml", None) => {
                let mut object = patch;
                object["metadata"]["name"] = name.into();
                let object = self.stamp(target.kind, &target.namespace, object);
                self.objects.insert(key, object.clone());
                return Response {
                    code: 201,
                    body: object,
                };
            }
            ("application/apply-patch+yaml", Some(mut stored)) => {
                merge(&mut stored, &patch, false);
                stored
            }
            ("application/merge-patch+json", Some(mut stored)) => {
                merge(&mut stored, &patch, false);
                stored
            }
            ("application/strategic-merge-patch+json", Some(mut stored)) => {
                merge(&mut stored, &patch, true);
                stored
            }
            (_, None) => return not_found(target.kind.plural, name),
            (other, Some(_)) => {
                return status(
                    415,
                    "UnsupportedMediaType",
                    format!("patch type {other} is not supported"),
                );
            }
        };
        self.replace(target, key, patched)
    }
}

/// The request body as a JSON object: JSON as sent, or protobuf (`k8s\0` + runtime.Unknown) for Secret/ConfigMap.
fn decode_body(request: &Request) -> Result<Value, Response> {
    let content_type = request
        .headers
        .get("content-type")
        .map(String::as_str)
        .unwrap_or("application/json");
    let decoded = if content_type.starts_with("application/vnd.kubernetes.protobuf") {
        proto::decode(&request.body)
    } else {
        serde_json::from_slice::<Value>(&request.body).map_err(|e| format!("body is not JSON: {e}"))
    };
    match decoded {
        Ok(object) if object.is_object() => Ok(object),
        Ok(_) => Err(status(
            400,
            "BadRequest",
            "body is not a JSON object".into(),
        )),
        Err(message) => Err(status(400, "BadRequest", message)),
    }
}

fn check_body(target: &Target, object: &Value) -> Option<Response> {
    let kind = object["kind"].as_str().unwrap_or("");
    if !kind.is_empty() && kind != target.kind.kind {
        return Some(status(
            400,
            "BadRequest",
            format!("body kind {kind} does not match {}", target.kind.plural),
        ));
    }
    let namespace = object["metadata"]["namespace"].as_str().unwrap_or("");
    if target.kind.namespaced && !namespace.is_empty() && namespace != target.namespace {
        let message =
            "the namespace of the provided object does not match the namespace sent on the request";
        return Some(status(400, "BadRequest", message.into()));
    }
    None
}

/// A Secret's `stringData` goes into `data` (base64), as the API server does.
fn move_string_data(secret: &mut Map<String, Value>) {
    use base64::Engine;
    let Some(Value::Object(string_data)) = secret.remove("stringData") else {
        return;
    };
    let data = secret.entry("data").or_insert_with(|| json!({}));
    for (key, value) in string_data {
        let text = value.as_str().unwrap_or_default();
        data[key] = base64::engine::general_purpose::STANDARD
            .encode(text)
            .into();
    }
}

/// JSON merge patch (RFC 7386). With `strategic`, also the parts of Kubernetes' strategic merge patch Helm 3 sends:
/// `$`-directives are dropped and lists of objects with a `name` are merged by name (`$patch: delete` removes one).
fn merge(target: &mut Value, patch: &Value, strategic: bool) {
    let Value::Object(patch) = patch else {
        *target = patch.clone();
        return;
    };
    if !target.is_object() {
        *target = json!({});
    }
    let target = target.as_object_mut().unwrap();
    for (key, value) in patch {
        if strategic && key.starts_with('$') {
            continue;
        }
        match value {
            Value::Null => {
                target.remove(key);
            }
            Value::Array(items)
                if strategic
                    && items.iter().all(|i| i["name"].is_string())
                    && !items.is_empty() =>
            {
                let list = target.entry(key.clone()).or_insert_with(|| json!([]));
                merge_named_list(list, items);
            }
            _ => merge(
                target.entry(key.clone()).or_insert(Value::Null),
                value,
                strategic,
            ),
        }
    }
}

fn merge_named_list(list: &mut Value, items: &[Value]) {
    if !list.is_array() {
        *list = json!([]);
    }
    let list = list.as_array_mut().unwrap();
    for item in items {
        let position = list
            .iter()
            .position(|existing| existing["name"] == item["name"]);
        match (position, item["$patch"].as_str()) {
            (Some(i), Some("delete")) => {
                list.remove(i);
            }
            (_, Some("delete")) => {}
            (Some(i), _) => merge(&mut list[i], item, true),
            (None, _) => {
                let mut fresh = json!({});
                merge(&mut fresh, item, true);
                list.push(fresh);
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Label selectors: `a=b`, `a==b`, `a!=b`, `a`, `!a` joined by commas.

enum Requirement {
    Equals(String, String),
    NotEquals(String, String),
    Exists(String),
    Absent(String),
}

impl Requirement {
    fn matches(&self, labels: &Value) -> bool {
        match self {
            Requirement::Equals(k, v) => labels[k].as_str() == Some(v),
            Requirement::NotEquals(k, v) => labels[k].as_str() != Some(v),
            Requirement::Exists(k) => labels[k].is_string(),
            Requirement::Absent(k) => !labels[k].is_string(),
        }
    }
}

fn parse_selector(selector: &str) -> Result<Vec<Requirement>, String> {
    let parts = selector.split(',').map(str::trim).filter(|p| !p.is_empty());
    parts
        .map(|part| {
            if part.contains(" in ") || part.contains(" notin ") || part.contains('(') {
                Err(format!("label selector {part:?}: set-based requirements are not supported by the fake server"))
            } else if let Some((k, v)) = part.split_once("!=") {
                Ok(Requirement::NotEquals(k.trim().into(), v.trim().into()))
            } else if let Some((k, v)) = part.split_once("==").or_else(|| part.split_once('=')) {
                Ok(Requirement::Equals(k.trim().into(), v.trim().into()))
            } else if let Some(k) = part.strip_prefix('!') {
                Ok(Requirement::Absent(k.trim().into()))
            } else {
                Ok(Requirement::Exists(part.into()))
            }
        })
        .collect()
}

// ---------------------------------------------------------------------------------------------------------------
// Protobuf: just enough of runtime.Unknown, ObjectMeta, Secret and ConfigMap (field numbers from k8s.io/api's
// generated.proto).

pub mod proto {
    use base64::Engine;
    use serde_json::{json, Map, Value};

    /// `k8s\0` + runtime.Unknown{typeMeta{apiVersion, kind}, raw} -> the object as Kubernetes JSON.
    pub fn decode(body: &[u8]) -> Result<Value, String> {
        let message = body
            .strip_prefix(b"k8s\0")
            .ok_or("protobuf body lacks the k8s\\0 magic")?;
        let (mut api_version, mut kind, mut raw) = (String::new(), String::new(), &[][..]);
        for field in Fields(message) {
            match field? {
                (1, Wire::Bytes(type_meta)) => {
                    for field in Fields(type_meta) {
                        match field? {
                            (1, Wire::Bytes(b)) => api_version = text(b)?,
                            (2, Wire::Bytes(b)) => kind = text(b)?,
                            _ => {}
                        }
                    }
                }
                (2, Wire::Bytes(b)) => raw = b,
                _ => {}
            }
        }
        let mut object = match kind.as_str() {
            "Secret" => secret(raw)?,
            "ConfigMap" => config_map(raw)?,
            other => {
                return Err(format!(
                    "protobuf for kind {other:?} is not supported by the fake server"
                ))
            }
        };
        object["apiVersion"] = api_version.into();
        object["kind"] = kind.into();
        Ok(object)
    }

    fn secret(message: &[u8]) -> Result<Value, String> {
        let mut object = json!({"metadata": {}});
        for field in Fields(message) {
            match field? {
                (1, Wire::Bytes(b)) => object["metadata"] = object_meta(b)?,
                (2, Wire::Bytes(b)) => {
                    let (key, value) = map_entry(b)?;
                    let value = base64::engine::general_purpose::STANDARD.encode(value);
                    insert(&mut object, "data", key, value.into());
                }
                (3, Wire::Bytes(b)) => object["type"] = text(b)?.into(),
                (4, Wire::Bytes(b)) => {
                    let (key, value) = map_entry(b)?;
                    insert(&mut object, "stringData", key, text(value)?.into());
                }
                (5, Wire::Varint(v)) => object["immutable"] = (v != 0).into(),
                _ => {}
            }
        }
        Ok(object)
    }

    fn config_map(message: &[u8]) -> Result<Value, String> {
        let mut object = json!({"metadata": {}});
        for field in Fields(message) {
            match field? {
                (1, Wire::Bytes(b)) => object["metadata"] = object_meta(b)?,
                (2, Wire::Bytes(b)) => {
                    let (key, value) = map_entry(b)?;
                    insert(&mut object, "data", key, text(value)?.into());
                }
                (3, Wire::Bytes(b)) => {
                    let (key, value) = map_entry(b)?;
                    let value = base64::engine::general_purpose::STANDARD.encode(value);
                    insert(&mut object, "binaryData", key, value.into());
                }
                (4, Wire::Varint(v)) => object["immutable"] = (v != 0).into(),
                _ => {}
            }
        }
        Ok(object)
    }

    fn object_meta(message: &[u8]) -> Result<Value, String> {
        let mut meta = json!({});
        for field in Fields(message) {
            match field? {
                (1, Wire::Bytes(b)) => meta["name"] = text(b)?.into(),
                (2, Wire::Bytes(b)) => meta["generateName"] = text(b)?.into(),
                (3, Wire::Bytes(b)) => meta["namespace"] = text(b)?.into(),
                (5, Wire::Bytes(b)) => meta["uid"] = text(b)?.into(),
                (6, Wire::Bytes(b)) => meta["resourceVersion"] = text(b)?.into(),
                (11, Wire::Bytes(b)) => {
                    let (key, value) = map_entry(b)?;
                    insert(&mut meta, "labels", key, text(value)?.into());
                }
                (12, Wire::Bytes(b)) => {
                    let (key, value) = map_entry(b)?;
                    insert(&mut meta, "annotations", key, text(value)?.into());
                }
                _ => {}
            }
        }
        // Empty strings are protobuf's "unset"; drop them as the JSON form would.
        meta.as_object_mut()
            .unwrap()
            .retain(|_, v| v.as_str() != Some(""));
        Ok(meta)
    }

    fn insert(object: &mut Value, map: &str, key: String, value: Value) {
        let entry = object
            .as_object_mut()
            .unwrap()
            .entry(map)
            .or_insert_with(|| Value::Object(Map::new()));
        entry[key] = value;
    }

    /// A map entry message: key = 1 (string), value = 2.
    fn map_entry(message: &[u8]) -> Result<(String, &[u8]), String> {
        let (mut key, mut value) = (String::new(), &[][..]);
        for field in Fields(message) {
            match field? {
                (1, Wire::Bytes(b)) => key = text(b)?,
                (2, Wire::Bytes(b)) => value = b,
                _ => {}
            }
        }
        Ok((key, value))
    }

    fn text(bytes: &[u8]) -> Result<String, String> {
        String::from_utf8(bytes.to_vec())
            .map_err(|_| "protobuf string field is not UTF-8".to_string())
    }

    pub enum Wire<'a> {
        Varint(u64),
        Fixed,
        Bytes(&'a [u8]),
    }

    /// Iterates (field number, value) over one message; an error ends the iteration.
    pub struct Fields<'a>(pub &'a [u8]);

    impl<'a> Iterator for Fields<'a> {
        type Item = Result<(u64, Wire<'a>), String>;

        fn next(&mut self) -> Option<Self::Item> {
            if self.0.is_empty() {
                return None;
            }
            let item = self.field();
            if item.is_err() {
                self.0 = &[];
            }
            Some(item)
        }
    }

    impl<'a> Fields<'a> {
        fn field(&mut self) -> Result<(u64, Wire<'a>), String> {
            let tag = self.varint()?;
            let value = match tag & 7 {
                0 => Wire::Varint(self.varint()?),
                1 => self.skip(8)?,
                5 => self.skip(4)?,
                2 => {
                    let length =
                        usize::try_from(self.varint()?).map_err(|_| "protobuf length too large")?;
                    let bytes = self.take(length)?;
                    Wire::Bytes(bytes)
                }
                other => return Err(format!("protobuf wire type {other} is not supported")),
            };
            Ok((tag >> 3, value))
        }

        fn varint(&mut self) -> Result<u64, String> {
            let mut value = 0u64;
            for shift in (0..64).step_by(7) {
                let (&byte, rest) = self
                    .0
                    .split_first()
                    .ok_or("protobuf varint runs past the end")?;
                self.0 = rest;
                value |= u64::from(byte & 0x7f) << shift;
                if byte & 0x80 == 0 {
                    return Ok(value);
                }
            }
            Err("protobuf varint is too long".into())
        }

        fn take(&mut self, length: usize) -> Result<&'a [u8], String> {
            if length > self.0.len() {
                return Err("protobuf field runs past the end".into());
            }
            let (bytes, rest) = self.0.split_at(length);
            self.0 = rest;
            Ok(bytes)
        }

        fn skip(&mut self, length: usize) -> Result<Wire<'a>, String> {
            self.take(length).map(|_| Wire::Fixed)
        }
    }
}
