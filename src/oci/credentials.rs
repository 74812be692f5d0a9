//! Registry credentials the way docker, podman, skopeo and crane find them: a Docker `config.json`
//! (`--registry-config FILE`, else `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`) with `auths`
//! entries, `credHelpers` per registry and a default `credsStore`, both run as `docker-credential-NAME get`.
//!
//! Nothing here ever formats a secret: `Credential` has no Debug or Display of its content, and what errors say
//! is `Credentials::source`, which names the file and the kind of entry only.

use anyhow::{anyhow, bail, Context, Result};
use base64::Engine as _;
use serde_json::Value as Json;
use std::io::Write as _;
use std::process::{Command, Stdio};

/// Docker Hub's key in config files, whatever name an image uses for it.
const DOCKER_HUB_KEY: &str = "https://index.docker.io/v1/";

/// A credential for one registry.
pub enum Credential {
    /// User name and password (or a personal access token used as one).
    Basic { user: String, password: String },
    /// An OAuth2 refresh token (`identitytoken`, or a helper's `<token>` user), traded at the token endpoint.
    IdentityToken(String),
}

impl std::fmt::Debug for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Credential(<redacted>)")
    }
}

/// The config file that was read (or looked for), and its content.
#[derive(Debug)]
pub struct Credentials {
    path: Option<String>,
    config: Json,
}

impl Credentials {
    /// Reads the config `explicit` names (an error when it cannot be read), else the default one when it exists.
    pub fn load(explicit: Option<&str>) -> Result<Credentials> {
        let (path, required) = match explicit {
            Some(path) => (Some(path.to_string()), true),
            None => (default_path(), false),
        };
        let Some(path) = path else {
            return Ok(Credentials {
                path: None,
                config: Json::Null,
            });
        };
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if !required && e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => bail!("cannot read the registry config {path}: {e}"),
        };
        let config = if text.trim().is_empty() {
            Json::Null
        } else {
            // serde_json's errors name a line and column, never the text around it.
            serde_json::from_str(&text)
                .map_err(|e| anyhow!("{path}: not a Docker config.json: {e}"))?
        };
        Ok(Credentials {
            path: Some(path),
            config,
        })
    }

    /// Where the credential for `host` comes from, for error messages: the file and the kind of entry.
    pub fn source(&self, host: &str) -> String {
        let Some(path) = &self.path else {
            return "no registry config (neither DOCKER_CONFIG nor HOME is set)".into();
        };
        if let Some(helper) = self.helper_for(host) {
            return format!("the credential helper docker-credential-{helper} named in {path}");
        }
        match self.auths_entry(host) {
            Some(_) => format!("the `auths` entry for {host} in {path}"),
            None => format!("no credentials (none for {host} in {path})"),
        }
    }

    /// The credential for `host` (a registry host as images name it), if any.
    pub fn get(&self, host: &str) -> Result<Option<Credential>> {
        if let Some(helper) = self.helper_for(host) {
            if let Some(found) = run_helper(&helper, &key_for(host))? {
                return Ok(Some(found));
            }
        }
        let Some(entry) = self.auths_entry(host) else {
            return Ok(None);
        };
        let path = self.path.as_deref().unwrap_or_default();
        if let Some(token) = entry.get("identitytoken").and_then(Json::as_str) {
            if !token.is_empty() {
                return Ok(Some(Credential::IdentityToken(token.to_string())));
            }
        }
        if let Some(auth) = entry.get("auth").and_then(Json::as_str) {
            if !auth.is_empty() {
                let decoded = base64::engine::general_purpose::STANDARD
                    .decode(auth.trim())
                    .ok()
                    .and_then(|bytes| String::from_utf8(bytes).ok())
                    .ok_or_else(|| {
                        anyhow!("{path}: the `auth` of the entry for {host} is not base64 of user:password")
                    })?;
                let (user, password) = decoded.split_once(':').ok_or_else(|| {
                    anyhow!(
                        "{path}: the `auth` of the entry for {host} is not base64 of user:password"
                    )
                })?;
                return Ok(Some(Credential::Basic {
                    user: user.to_string(),
                    password: password.to_string(),
                }));
            }
        }
        let field = |key: &str| entry.get(key).and_then(Json::as_str).unwrap_or_default();
        if !field("username").is_empty() {
            return Ok(Some(Credential::Basic {
                user: field("username").to_string(),
                password: field("password").to_string(),
            }));
        }
        Ok(None)
    }

    /// `credHelpers[host]`, else `credsStore`.
    fn helper_for(&self, host: &str) -> Option<String> {
        let helpers = self.config.get("credHelpers");
        let named = keys_for(host).iter().find_map(|k| {
            helpers
                .and_then(|h| h.get(k.as_str()))
                .and_then(Json::as_str)
        });
        named
            .or_else(|| self.config.get("credsStore").and_then(Json::as_str))
            .filter(|name| !name.is_empty())
            .map(str::to_string)
    }

    fn auths_entry(&self, host: &str) -> Option<&Json> {
        let auths = self.config.get("auths")?;
        keys_for(host).iter().find_map(|k| auths.get(k.as_str()))
    }
}

fn default_path() -> Option<String> {
    if let Some(dir) = std::env::var_os("DOCKER_CONFIG") {
        return Some(format!("{}/config.json", dir.to_string_lossy()));
    }
    let home = std::env::var_os("HOME")?;
    Some(format!("{}/.docker/config.json", home.to_string_lossy()))
}

/// The key a credential helper is asked for.
fn key_for(host: &str) -> String {
    if host == "docker.io" {
        DOCKER_HUB_KEY.to_string()
    } else {
        host.to_string()
    }
}

/// Every key a config file may file `host` under, most specific first.
fn keys_for(host: &str) -> Vec<String> {
    if host == "docker.io" {
        return [
            DOCKER_HUB_KEY,
            "index.docker.io",
            "docker.io",
            "registry-1.docker.io",
        ]
        .map(String::from)
        .to_vec();
    }
    vec![
        host.to_string(),
        format!("https://{host}"),
        format!("http://{host}"),
        format!("https://{host}/v1/"),
    ]
}

/// `docker-credential-NAME get`, the server on stdin: `{"Username": ..., "Secret": ...}`. A helper that has
/// nothing for the server says so and exits non-zero: no credential, not an error.
fn run_helper(name: &str, server: &str) -> Result<Option<Credential>> {
    let program = format!("docker-credential-{name}");
    let mut child = Command::new(&program)
        .arg("get")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot run the credential helper {program}"))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(server.as_bytes());
    }
    let out = child
        .wait_with_output()
        .with_context(|| format!("cannot run the credential helper {program}"))?;
    if !out.status.success() {
        return Ok(None);
    }
    let answer: Json = serde_json::from_slice(&out.stdout)
        .map_err(|_| anyhow!("the credential helper {program} did not answer with JSON"))?;
    let field = |key: &str| answer.get(key).and_then(Json::as_str).unwrap_or_default();
    let (user, secret) = (field("Username"), field("Secret"));
    Ok(match (user, secret) {
        (_, "") => None,
        ("<token>", token) => Some(Credential::IdentityToken(token.to_string())),
        (user, password) => Some(Credential::Basic {
            user: user.to_string(),
            password: password.to_string(),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with(config: &str) -> Credentials {
        Credentials {
            path: Some("config.json".into()),
            config: serde_json::from_str(config).unwrap(),
        }
    }

    #[test]
    fn finds_auths_entries_under_each_spelling_and_names_only_their_source() {
        let auth = base64::engine::general_purpose::STANDARD.encode("ci:s3cr3t-pass");
        let c = with(&format!(
            r#"{{"auths": {{"https://reg.corp:5443": {{"auth": "{auth}"}}, "https://index.docker.io/v1/": {{"identitytoken": "tok"}}}}}}"#
        ));
        match c.get("reg.corp:5443").unwrap() {
            Some(Credential::Basic { user, password }) => {
                assert_eq!((user.as_str(), password.as_str()), ("ci", "s3cr3t-pass"))
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            c.get("docker.io").unwrap(),
            Some(Credential::IdentityToken(_))
        ));
        assert!(c.get("ghcr.io").unwrap().is_none());
        let source = c.source("reg.corp:5443");
        assert_eq!(source, "the `auths` entry for reg.corp:5443 in config.json");
        assert!(!format!("{:?}", c.get("reg.corp:5443").unwrap()).contains("s3cr3t"));
        assert!(c.source("ghcr.io").starts_with("no credentials"));
    }

    #[test]
    fn a_bad_auth_field_is_an_error_that_does_not_show_it() {
        let c = with(r#"{"auths": {"reg.corp": {"auth": "not-base64-s3cr3t"}}}"#);
        let err = c.get("reg.corp").unwrap_err().to_string();
        assert!(
            err.contains("not base64") && !err.contains("s3cr3t"),
            "{err}"
        );
    }
}
