//! A Helm release as Helm stores it: `data.release` of the release Secret or ConfigMap is
//! base64(gzip(JSON)) (old releases lack the gzip). Helm 3 and Helm 4 write the same fields; unknown ones are ignored.

use crate::cluster::ClusterArgs;
use crate::source::Source;
use anyhow::{bail, Context, Result};
use base64::Engine;
use serde::Deserialize;
use std::io::Read;

/// The largest release JSON accepted after decompression. A stored release fits in one Secret (1 MiB), and
/// real ones with megabytes of CRDs inflate to a few MB; 64 MiB is ample, and keeps a 1 MiB gzip bomb (which
/// could otherwise inflate to 250 MB and need twice that to parse) well under 512 MB of memory.
const MAX_RELEASE_BYTES: u64 = 64 * 1024 * 1024;

/// What opsta-lint uses of a stored release.
#[derive(Debug, Clone, PartialEq)]
pub struct Release {
    pub name: String,
    pub namespace: String,
    /// Helm's `version`: the revision number.
    pub revision: u64,
    /// deployed, superseded, failed, pending-upgrade, ...
    pub status: String,
    pub chart_name: String,
    pub chart_version: String,
    pub app_version: String,
    /// The user-supplied values only (`helm get values`); Null when none were given.
    pub config: serde_json::Value,
    /// The rendered (post-rendered) non-hook manifests.
    pub manifest: String,
    /// (resource name, manifest) of each hook.
    pub hooks: Vec<(String, String)>,
}

#[derive(Deserialize)]
struct Stored {
    name: String,
    #[serde(default)]
    namespace: String,
    version: u64,
    info: Info,
    chart: Chart,
    #[serde(default)]
    config: serde_json::Value,
    #[serde(default)]
    manifest: String,
    #[serde(default)]
    hooks: Option<Vec<Hook>>,
}

#[derive(Deserialize)]
struct Info {
    #[serde(default)]
    status: String,
}

#[derive(Deserialize)]
struct Chart {
    metadata: ChartMetadata,
}

#[derive(Deserialize)]
struct ChartMetadata {
    name: String,
    #[serde(default)]
    version: String,
    #[serde(default, rename = "appVersion")]
    app_version: String,
}

#[derive(Deserialize)]
struct Hook {
    #[serde(default)]
    name: String,
    #[serde(default)]
    manifest: String,
}

/// Decodes `data.release` as stored (after the Kubernetes API's own base64 of Secret data has been undone):
/// base64, then gzip when the bytes start with the gzip magic, then JSON.
pub fn decode(payload: &[u8]) -> Result<Release> {
    let compact: Vec<u8> = payload
        .iter()
        .copied()
        .filter(|b| !b.is_ascii_whitespace())
        .collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(&compact)
        .context("the release payload is not in Helm's format: it is not base64")?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        from_json(&gunzip(&bytes)?)
    } else {
        from_json(&bytes)
    }
}

fn gunzip(bytes: &[u8]) -> Result<Vec<u8>> {
    let mut json = Vec::new();
    flate2::read::GzDecoder::new(bytes)
        .take(MAX_RELEASE_BYTES + 1)
        .read_to_end(&mut json)
        .context("the release payload is not in Helm's format: its gzip data is corrupt")?;
    if json.len() as u64 > MAX_RELEASE_BYTES {
        bail!(
            "the release payload is not in Helm's format: it inflates past {} MiB",
            MAX_RELEASE_BYTES >> 20
        );
    }
    Ok(json)
}

/// Reads a release from its JSON (as `helm install --dry-run -o json` prints it, or as stored after decoding).
pub fn from_json(json: &[u8]) -> Result<Release> {
    let stored: Stored = serde_json::from_slice(json).context(
        "the release payload is not in Helm's format: its JSON lacks a Helm release's fields",
    )?;
    Ok(Release {
        name: stored.name,
        namespace: stored.namespace,
        revision: stored.version,
        status: stored.info.status,
        chart_name: stored.chart.metadata.name,
        chart_version: stored.chart.metadata.version,
        app_version: stored.chart.metadata.app_version,
        config: stored.config,
        manifest: stored.manifest,
        hooks: stored
            .hooks
            .unwrap_or_default()
            .into_iter()
            .map(|h| (h.name, h.manifest))
            .collect(),
    })
}

/// The deployed release `--release` names (None without `--release`), read from the cluster.
pub fn deployed(args: &ClusterArgs) -> Result<Option<Release>> {
    match &args.release {
        Some(name) => read_deployed(args, name).map(Some),
        None => Ok(None),
    }
}

/// The latest deployed revision of release `name`, from the cluster `args` point at. Errors end with the offline
/// way out: the deployed values passed by hand.
#[cfg(feature = "cluster")]
pub fn read_deployed(args: &ClusterArgs, name: &str) -> Result<Release> {
    let mut namespace = args.namespace.clone().unwrap_or_else(|| "NAMESPACE".into());
    let read = crate::cluster::Cluster::connect(args).and_then(|cluster| {
        namespace = cluster.namespace().to_string();
        cluster.deployed_release(name)
    });
    read.map_err(|e| {
        anyhow::anyhow!(
            "{e:#}. To lint or diff without cluster access, save the deployed values (`helm get values {name} -n \
             {namespace} -o yaml > previous.yaml`) and pass `--previous-values previous.yaml` instead of `--release`"
        )
    })
}

#[cfg(not(feature = "cluster"))]
pub fn read_deployed(_args: &ClusterArgs, name: &str) -> Result<Release> {
    bail!(
        "cannot read release {name}: this opsta-lint was built without the `cluster` feature; pass the deployed \
         values with --previous-values FILE instead"
    )
}

/// What `--release` gives the upgrade rules in place of `--previous-values` and `--previous-chart-version`.
pub struct Previous {
    /// The deployed user-supplied values, as YAML named after the release and revision.
    pub values: Source,
    pub chart_version: String,
}

/// The deployed release's values and chart version when `--release` is given (None without it).
pub fn previous(args: &ClusterArgs) -> Result<Option<Previous>> {
    let Some(release) = deployed(args)? else {
        return Ok(None);
    };
    Ok(Some(Previous {
        values: release.values_source(),
        chart_version: release.chart_version,
    }))
}

impl Release {
    /// Name, revision, status, chart and the user values (secrets masked) as JSON.
    pub fn summary(&self) -> serde_json::Value {
        serde_json::json!({
            "name": self.name,
            "namespace": self.namespace,
            "revision": self.revision,
            "status": self.status,
            "chart": {"name": self.chart_name, "version": self.chart_version, "appVersion": self.app_version},
            "values": crate::secrets::mask_json(&self.config),
        })
    }

    /// The user-supplied values as YAML (secrets included: for reading, not for printing), named
    /// `release NAME revision N` so findings can point into it.
    pub fn values_source(&self) -> Source {
        let text = match &self.config {
            serde_json::Value::Object(map) if !map.is_empty() => {
                crate::yaml::write::render(&self.config)
            }
            _ => "{}\n".to_string(),
        };
        Source::new(self.source_name(), text)
    }

    /// What findings and errors call this release's text: `release NAME revision N`, the name as
    /// `printable::shown` writes it.
    pub fn source_name(&self) -> String {
        format!(
            "release {} revision {}",
            crate::printable::shown(&self.name),
            self.revision
        )
    }

    /// The manifest and the hooks, as `helm template` prints them, named `release NAME revision N`.
    pub fn rendered_source(&self) -> Source {
        let mut text = self.manifest.clone();
        for (_, hook) in &self.hooks {
            if !text.is_empty() && !text.ends_with('\n') {
                text.push('\n');
            }
            text.push_str("---\n");
            text.push_str(hook);
        }
        Source::new(self.source_name(), text)
    }

    /// The summary for a person.
    pub fn show(&self) -> String {
        use crate::printable::shown;
        let mut text = format!(
            "release    {}\nnamespace  {}\nrevision   {}\nstatus     {}\nchart      {} {} (app {})\n",
            shown(&self.name),
            shown(&self.namespace),
            self.revision,
            shown(&self.status),
            shown(&self.chart_name),
            shown(&self.chart_version),
            shown(&self.app_version)
        );
        match &self.config {
            serde_json::Value::Object(map) if !map.is_empty() => {
                text.push_str("values (user-supplied, secrets masked):\n");
                let values = crate::yaml::write::render(&crate::secrets::mask_json(&self.config));
                for line in values.split_inclusive('\n') {
                    if line != "\n" {
                        text.push_str("  ");
                    }
                    text.push_str(line);
                }
            }
            _ => text.push_str("values     none given (the chart's defaults)\n"),
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn dapr_json() -> Option<Vec<u8>> {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../shared/corpus/real-charts/dapr.release.json"
        );
        match std::fs::read(path) {
            Ok(bytes) => Some(bytes),
            Err(_) if std::env::var_os("CI").is_none() => {
                eprintln!("SKIPPED: ../shared not found");
                None
            }
            Err(err) => panic!("{path}: {err}"),
        }
    }

    fn gzip(bytes: &[u8]) -> Vec<u8> {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(bytes).unwrap();
        encoder.finish().unwrap()
    }

    fn base64(bytes: &[u8]) -> Vec<u8> {
        base64::engine::general_purpose::STANDARD
            .encode(bytes)
            .into_bytes()
    }

    #[test]
    fn decodes_a_real_release_gzipped_or_not() {
        let Some(json) = dapr_json() else { return };
        let gzipped = decode(&base64(&gzip(&json))).unwrap();
        let plain = decode(&base64(&json)).unwrap();
        assert_eq!(gzipped, plain);
        assert_eq!(gzipped.name, "dapr");
        assert_eq!(gzipped.namespace, "dapr-system");
        assert_eq!(gzipped.revision, 1);
        assert_eq!(gzipped.status, "pending-install");
        assert_eq!(
            (gzipped.chart_name.as_str(), gzipped.chart_version.as_str()),
            ("dapr", "0.0.0")
        );
        assert_eq!(gzipped.app_version, "0.0.0");
        assert_eq!(
            gzipped.config,
            serde_json::json!({"global": {"tag": "1.17.3"}})
        );
        assert!(gzipped.manifest.contains("kind: Deployment"));
        assert!(gzipped.hooks.is_empty());
    }

    #[test]
    fn absent_values_and_hooks_read_as_empty() {
        let json = br#"{"name":"r","version":3,"info":{"status":"deployed"},"chart":{"metadata":{"name":"c"}},
            "hooks":[{"name":"migrate","path":"c/templates/job.yaml","manifest":"kind: Job","events":["pre-upgrade"]}],"future":1}"#;
        let release = decode(&base64(&gzip(json))).unwrap();
        assert_eq!(release.config, serde_json::Value::Null);
        assert_eq!(release.hooks, [("migrate".into(), "kind: Job".into())]);
        assert_eq!((release.revision, release.status.as_str()), (3, "deployed"));
    }

    #[test]
    fn a_hostile_name_cannot_forge_a_line_or_drive_the_terminal() {
        let json = br#"{"name":"x\nvalues     none given","namespace":"\u001b[2J","version":1,
            "info":{"status":""},"chart":{"metadata":{"name":"c","version":"1.0.0","appVersion":" 1"}},
            "config":{}}"#;
        let text = from_json(json).unwrap().show();
        assert_eq!(
            text,
            "release    \"x\\nvalues     none given\"\nnamespace  \"\\u001b[2J\"\nrevision   1\n\
             status     \"\"\nchart      c 1.0.0 (app \" 1\")\nvalues     none given (the chart's defaults)\n"
        );
    }

    #[test]
    fn shows_values_with_secrets_masked_and_risky_strings_quoted() {
        let json =
            br#"{"name":"cat","namespace":"cra-agent","version":2,"info":{"status":"deployed"},
            "chart":{"metadata":{"name":"catalyst","version":"1.89.0","appVersion":"1.89.0"}},
            "config":{"join_token":"jt-SECRET","management":{"config":{"tunnel":{"enabled":true}}},
                      "tags":["yes","0755","plain",""],"empty":{},"x":[{"a":1,"b":"c: d"}]}}"#;
        let release = from_json(json).unwrap();
        let text = release.show();
        assert!(!text.contains("jt-SECRET"), "{text}");
        let expected = "\
release    cat
namespace  cra-agent
revision   2
status     deployed
chart      catalyst 1.89.0 (app 1.89.0)
values (user-supplied, secrets masked):
  join_token: <redacted>
  management:
    config:
      tunnel:
        enabled: true
  tags:
    - \"yes\"
    - \"0755\"
    - plain
    - \"\"
  empty: {}
  x:
    - a: 1
      b: \"c: d\"
";
        assert_eq!(text, expected);
        let summary = release.summary();
        assert_eq!(summary["values"]["join_token"], crate::secrets::MASK);
        assert_eq!(summary["chart"]["version"], "1.89.0");
    }

    #[test]
    fn shown_values_read_back_as_the_same_values() {
        // Keys and strings that plain YAML would read otherwise: a merge key, the value key, a date, text YAML may
        // not hold raw, a multi-line text.
        let config = serde_json::json!({"<<": [1, {"a": null}], "=": "x", "d": "2024-01-31", "w": "\u{ffff}\u{85}",
            "m": "two\nlines\n", "y": "yes"});
        let release = from_json(
            format!(
                r#"{{"name":"r","namespace":"n","version":1,"info":{{"status":"deployed"}},
                "chart":{{"metadata":{{"name":"c","version":"1.0.0"}}}},"config":{config}}}"#
            )
            .as_bytes(),
        )
        .unwrap();
        let shown = release.show();
        let values = shown.split_once("secrets masked):\n").unwrap().1;
        let docs = crate::yaml::parse(values).unwrap_or_else(|e| panic!("{e}\n{values}"));
        assert_eq!(docs[0].to_json(), config, "{values}");
    }

    #[test]
    fn values_source_reads_back_as_the_same_values() {
        let config = serde_json::json!({"join_token": "jt-1", "a b": {"c: d": ["yes", "", 1.5, null, true,
            {"x": "multi\nline", "y": []}]}, "n": 493, "s": "0755", "k #": "v # w", "-lead": "-"});
        let release = Release {
            name: "r".into(),
            namespace: "ns".into(),
            revision: 4,
            status: "deployed".into(),
            chart_name: "c".into(),
            chart_version: "1.0.0".into(),
            app_version: String::new(),
            config: config.clone(),
            manifest: String::new(),
            hooks: Vec::new(),
        };
        let source = release.values_source();
        assert_eq!(source.name, "release r revision 4");
        let docs = source.yaml().unwrap();
        assert_eq!(docs[0].to_json(), config, "{}", source.text);
        let empty = Release {
            config: serde_json::Value::Null,
            ..release
        };
        assert_eq!(
            empty.values_source().yaml().unwrap()[0].to_json(),
            serde_json::json!({})
        );
    }

    #[test]
    fn payloads_that_are_not_helms_say_so() {
        let cases: [(&[u8], &str); 4] = [
            (b"%%% not base64", "not base64"),
            (
                &base64(&[0x1f, 0x8b, 8, 0, 1, 2, 3]),
                "gzip data is corrupt",
            ),
            (
                &base64(b"{\"kind\": \"ConfigMap\"}"),
                "lacks a Helm release's fields",
            ),
            (&base64(&gzip(b"[1, 2")), "lacks a Helm release's fields"),
        ];
        for (payload, expected) in cases {
            let error = format!("{:#}", decode(payload).unwrap_err());
            assert!(
                error.contains("not in Helm's format") && error.contains(expected),
                "{error}"
            );
        }
    }

    #[test]
    fn printed_values_with_control_characters_read_back_as_yaml() {
        let config =
            serde_json::json!({"k\u{7f}": "a\u{1b}]0;x\u{7}\u{9b}\u{ffff}", "plain": "ok"});
        let text = crate::yaml::write::render(&config);
        assert!(
            !text.contains(['\u{7f}', '\u{1b}', '\u{9b}', '\u{ffff}']),
            "{text:?}"
        );
        let docs = crate::yaml::parse(&text).unwrap();
        assert_eq!(docs[0].to_json(), config);
    }
}
