//! One distinct secret in every place a secret is found by its key or by its look (`secrets`), on both sides of
//! an upgrade, pushed through every output format of every command that reads manifests or values: `diff` (text,
//! JSON, `--full`, `--release`), `release` (text, JSON), `lint` (human, JSON, SARIF), `postrender` (its report
//! and its `--diff-file`). None may show, as written or as base64. Names that only point at a secret stay
//! visible. (There is no `upgrade` command yet.)

use crate::common;

use common::fakekube::FakeKube;
use common::hidden::{lint_in_every_format, Forbidden};
use common::{b64, run_without_helm_settings as run, write};

/// Each masking class and the secret put there; the old side holds `<secret>-old`, the new one `<secret>-new`.
const CLASSES: &[(&str, &str)] = &[
    ("a Secret's data", "LEAK01data"),
    ("a Secret's stringData", "LEAK02stringdata"),
    ("a Secret's last-applied annotation", "LEAK03lastapplied"),
    ("a PEM private key in a ConfigMap", "LEAK04pem"),
    (
        "a PEM private key under an embedded `key: |`",
        "LEAK05pemembedded",
    ),
    (
        "a docker config's auth in embedded config.json",
        "LEAK06dockerauth",
    ),
    (
        "a .dockerconfigjson in a ConfigMap",
        "LEAK07dockerconfigjson",
    ),
    ("a URL's password", "LEAK08urlpassword"),
    ("an XML password element", "LEAK09xml"),
    ("an INI password", "LEAK10ini"),
    ("a properties password", "LEAK11properties"),
    ("an env-file DB_PASS", "LEAK12envfile"),
    ("--api-token VALUE in args", "LEAK13argtoken"),
    ("--password VALUE in command", "LEAK14argpassword"),
    ("--token=VALUE in args", "LEAK15argequals"),
    ("env DB_PASS", "LEAK16dbpass"),
    ("env ENCRYPTION_KEY", "LEAK17encryptionkey"),
    ("env SECRET_KEY_BASE", "LEAK18secretkeybase"),
    ("env PASSPHRASE", "LEAK19passphrase"),
    ("a join token in embedded config", "LEAK20jointoken"),
    (
        "a PEM key inside a ConfigMap's last-applied JSON",
        "LEAK21pemjson",
    ),
    ("args inside a Pod's last-applied JSON", "LEAK22argsjson"),
];

/// Names that point at a secret without being one: they must stay visible.
const POINTERS: &[&str] = &[
    "visible-ref-name",
    "visible-ref-key",
    "visible-key-name",
    "visible-secret-name",
];

fn secret(i: usize, side: &str) -> String {
    format!("{}-{side}", CLASSES[i].1)
}

/// The secret of every class, on both sides.
fn forbidden() -> Forbidden {
    let sides = CLASSES.iter().enumerate().flat_map(|(i, (class, _))| {
        ["old", "new"].map(|side| (class.to_string(), secret(i, side)))
    });
    Forbidden::new(sides)
}

/// A render holding a secret of every class (`side`: old or new).
fn manifest(side: &str) -> String {
    let s = |i: usize| secret(i, side);
    let last_applied = format!(
        "{{\"apiVersion\":\"v1\",\"data\":{{\"db\":\"{}\"}},\"kind\":\"Secret\",\"metadata\":{{\"name\":\"creds\"}}}}",
        b64(s(2))
    );
    let cm_applied = format!(
        "{{\"apiVersion\":\"v1\",\"data\":{{\"key.pem\":\"-----BEGIN PRIVATE KEY-----\\n{}\\n-----END PRIVATE KEY-----\\n\"}},\"kind\":\"ConfigMap\"}}",
        s(20)
    );
    let pod_applied = format!(
        "{{\"apiVersion\":\"v1\",\"kind\":\"Pod\",\"spec\":{{\"containers\":[{{\"args\":[\"--api-token\",\"{}\"],\"name\":\"app\"}}]}}}}",
        s(21)
    );
    let docker_config = format!("{{\"auths\":{{\"r\":{{\"password\":\"{}\"}}}}}}", s(6));
    format!(
        r#"---
apiVersion: v1
kind: Secret
metadata:
  name: creds
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{last_applied}'
type: Opaque
data:
  db: {data}
stringData:
  extra: {string_data}
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: files
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{cm_applied}'
data:
  key.pem: |
    -----BEGIN RSA PRIVATE KEY-----
    {pem}
    -----END RSA PRIVATE KEY-----
  config.yaml: |
    host:
      join_token: {join}
    tls:
      key: |
        -----BEGIN EC PRIVATE KEY-----
        {pem_embedded}
        -----END EC PRIVATE KEY-----
  config.json: '{{"auths":{{"registry.example":{{"auth":"{docker_auth}","email":"ops@example"}}}}}}'
  .dockerconfigjson: '{docker_config}'
  database: postgres://app:{url}@db.example:5432/app
  app.xml: |
    <config><user>app</user><password>{xml}</password></config>
  app.ini: |
    [db]
    host = db
    password = {ini}
  app.properties: |
    db.host=db
    db.password={properties}
  app.env: |
    DB_HOST=db
    DB_PASS={env_file}
---
apiVersion: v1
kind: Pod
metadata:
  name: app
  annotations:
    kubectl.kubernetes.io/last-applied-configuration: '{pod_applied}'
spec:
  containers:
  - name: app
    image: nginx:1.27
    command: ["/app", "--password", "{arg_password}"]
    args: ["--api-token", "{arg_token}", "--token={arg_equals}", "-v"]
    env:
    - {{name: DB_PASS, value: {db_pass}}}
    - {{name: ENCRYPTION_KEY, value: {encryption}}}
    - {{name: SECRET_KEY_BASE, value: {key_base}}}
    - {{name: PASSPHRASE, value: {passphrase}}}
    - name: FROM_SECRET
      valueFrom:
        secretKeyRef: {{name: visible-ref-name, key: visible-ref-key}}
    - {{name: KEY_NAME, value: x, keyName: visible-key-name}}
  volumes:
  - name: creds
    secret: {{secretName: visible-secret-name}}
"#,
        data = b64(s(0)),
        string_data = s(1),
        pem = s(3),
        pem_embedded = s(4),
        docker_auth = s(5),
        url = s(7),
        xml = s(8),
        ini = s(9),
        properties = s(10),
        env_file = s(11),
        arg_token = s(12),
        arg_password = s(13),
        arg_equals = s(14),
        db_pass = s(15),
        encryption = s(16),
        key_base = s(17),
        passphrase = s(18),
        join = s(19),
    )
}

/// User values holding a secret of every class that values can hold, each on the line of a key the chart does
/// not know, so that lint's findings quote those lines.
fn values(side: &str) -> String {
    let s = |i: usize| secret(i, side);
    format!(
        "join_token: {join}\ndatabase: postgres://app:{url}@db/app\ntls_key: |\n  -----BEGIN PRIVATE KEY-----\n  \
         {pem}\n  -----END PRIVATE KEY-----\nconfig_xml: \"<password>{xml}</password>\"\ndockerconfig: \
         '{{\"auths\":{{\"r\":{{\"auth\":\"{docker}\"}}}}}}'\nextraArgs: [\"--api-token\", \"{arg}\"]\n\
         DB_PASS: {db_pass}\nENCRYPTION_KEY: {enc}\nSECRET_KEY_BASE: {base}\nPASSPHRASE: {phrase}\n",
        join = s(19),
        url = s(7),
        pem = s(4),
        xml = s(8),
        docker = s(5),
        arg = s(12),
        db_pass = s(15),
        enc = s(16),
        base = s(17),
        phrase = s(18),
    )
}

/// A stored release (Helm's secret driver) whose values and manifest hold the old side's secrets.
fn release_secret() -> serde_json::Value {
    let config = old_values_json();
    let release = serde_json::json!({
        "name": "app", "namespace": "prod", "version": 1,
        "info": {"status": "deployed"},
        "chart": {"metadata": {"name": "catalyst", "version": "1.89.0", "appVersion": "1.89.0"}},
        "config": config,
        "manifest": manifest("old"),
    });
    common::release_secret("app", "prod", &common::helm_encoded(&release))
}

/// The old side's `values` as the JSON a stored release holds.
fn old_values_json() -> serde_json::Value {
    let s = |i: usize| secret(i, "old");
    serde_json::json!({
        "join_token": s(19),
        "database": format!("postgres://app:{}@db/app", s(7)),
        "tls_key": format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", s(4)),
        "config_xml": format!("<password>{}</password>", s(8)),
        "dockerconfig": format!("{{\"auths\":{{\"r\":{{\"auth\":\"{}\"}}}}}}", s(5)),
        "extraArgs": ["--api-token", s(12)],
        "DB_PASS": s(15),
        "ENCRYPTION_KEY": s(16),
        "SECRET_KEY_BASE": s(17),
        "PASSPHRASE": s(18),
    })
}

#[test]
fn no_secret_of_any_class_shows_in_any_output() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    write(d, "old.yaml", &manifest("old"));
    write(d, "new.yaml", &manifest("new"));
    write(d, "empty.yaml", "");
    write(d, "values.yaml", &values("new"));
    write(d, "previous.yaml", &values("old"));
    // The lock pins nginx only; the post-renderer run below meets redis too and reports it.
    write(
        d,
        "lock.yaml",
        &format!(
            "apiVersion: opsta-lint/v1\nkind: ReleaseLock\nimages:\n  - image: nginx:1.27\n    digest: {}\n",
            common::fake_digest(1)
        ),
    );
    write(
        d,
        "unlocked.yaml",
        &manifest("new").replace("image: nginx:1.27", "image: redis:7"),
    );

    let mut runs: Vec<Vec<&str>> = Vec::new();
    for format in ["text", "json"] {
        for (old, new) in [
            ("old.yaml", "new.yaml"),
            ("empty.yaml", "new.yaml"),
            ("old.yaml", "empty.yaml"),
        ] {
            runs.push(vec!["diff", "-o", format, old, new]);
            runs.push(vec!["diff", "-o", format, "--full", "-C", "40", old, new]);
        }
        runs.push(vec![
            "diff",
            "-o",
            format,
            "--find-renames=0.1",
            "-n",
            "prod",
            "old.yaml",
            "new.yaml",
        ]);
    }
    let lint = ["lint", "--product", "catalyst", "--chart-version", "1.90.0"];
    runs.extend(lint_in_every_format(
        &lint,
        &["--previous-values", "previous.yaml", "values.yaml"],
    ));
    // Errors: a manifest that does not parse, a value given on the command line.
    let url_set = format!("database=postgres://app:{}@db/app", secret(7, "new"));
    runs.push([&lint[..], &["--set", &url_set, "values.yaml"]].concat());
    runs.push(vec!["diff", "old.yaml", "values.yaml"]);
    let hidden = forbidden();
    let ran = hidden.assert_runs_hide(d, &runs, None);
    assert!(ran >= 19, "{ran}");

    // The check can see a leak: asked to, the diff shows every secret.
    let (_, shown) = run(
        d,
        &["diff", "--show-secrets", "-C", "40", "old.yaml", "new.yaml"],
        None,
    );
    for (i, (class, _)) in CLASSES.iter().enumerate() {
        let s = secret(i, "new");
        assert!(
            shown.contains(&s) || shown.contains(&b64(&s)),
            "{class}: {s} not in the --show-secrets diff:\n{shown}"
        );
    }
    // Names that only point at a secret stay visible.
    for format in ["text", "json"] {
        let (_, added) = run(
            d,
            &["diff", "-o", format, "--full", "empty.yaml", "new.yaml"],
            None,
        );
        for pointer in POINTERS {
            assert!(added.contains(pointer), "{pointer} hidden:\n{added}");
        }
    }

    // The post-renderer: its report (stderr and --report) on an unlocked image, and its --diff-file.
    hidden.assert_postrender_report_hides(d, "unlocked.yaml", "redis:7");
    let (code, text) = run(
        d,
        &[
            "postrender",
            "--lock",
            "lock.yaml",
            "--input",
            "new.yaml",
            "--diff-against",
            "old.yaml",
            "--diff-file",
            "diff.txt",
        ],
        None,
    );
    assert_eq!(code, 0, "{text}");
    let shown = std::fs::read_to_string(d.join("diff.txt")).unwrap();
    assert!(shown.starts_with("3 changed"), "{shown}");
    hidden.assert_hidden("postrender's --diff-file", &shown);
}

#[test]
fn no_secret_of_any_class_shows_from_a_stored_release() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let kube = FakeKube::start();
    kube.insert(release_secret());
    let config = kube.kubeconfig();
    write(d, "new.yaml", &manifest("new"));
    write(d, "values.yaml", &values("new"));
    forbidden().assert_release_readers_hide(d, "app", "prod", &config);
    let (_, shown) = run(d, &["release", "app", "-n", "prod"], Some(&config));
    assert!(shown.contains("DB_PASS: <redacted>"), "{shown}");
    assert!(
        shown.contains("postgres://app:<redacted>@db/app"),
        "{shown}"
    );
    assert!(
        shown.contains("extraArgs:\n    - --api-token\n    - <redacted>\n"),
        "{shown}"
    );
}
