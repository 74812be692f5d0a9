//! `opsta-lint upgrade RELEASE CHART`: one upgrade as one command. Lint the values against the target chart with
//! the deployed values as the previous state, check the release is not busy, render with `helm upgrade
//! --dry-run=server` through the post-renderer (every image pinned by the lock), show the diff against the deployed
//! release, ask, apply with `helm upgrade` from the same chart archive, check Helm stored what was shown, verify.

mod helm;

use crate::cluster::ClusterArgs;
use crate::helm_release::Release;
use crate::output::Format;
use crate::source::Source;
use anyhow::{anyhow, bail, Context, Result};
use helm::Running;
use serde_json::Value as Json;
use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The person answered no (or nothing) at the prompt.
pub const DECLINED: u8 = 3;

/// The end of `--help`: one example and the exit codes.
pub const HELP_FOOTER: &str = "\
Example:
  opsta-lint upgrade cat ./catalyst-1.76.0 -n cra-agent -f values.yaml --lock lock.yaml

Exit codes:
  0  applied, or nothing to change (--dry-run: the plan was shown)
  1  a finding stopped the upgrade (lint, preflight, render), or what Helm stored or verify disagrees
  2  could not run: bad arguments, helm or the cluster failed, no terminal to confirm on and no --yes
  3  the person declined at the prompt; nothing was applied
     (--dry-run --detailed-exitcode: 0 no change, 2 changes)
Ctrl-C before the apply ends opsta-lint by the signal (shells report 130); nothing was applied.";

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The release to upgrade.
    #[arg(value_name = "RELEASE")]
    pub name: String,
    /// The chart: a folder, a .tgz archive, or a reference helm can pull (repo/name, oci://...).
    #[arg(value_name = "CHART")]
    pub chart: String,
    /// The chart version to upgrade to (helm's --version).
    #[arg(long, value_name = "SEMVER")]
    pub chart_version: Option<String>,
    /// Values files, in order (the full set every upgrade, token included).
    #[arg(short = 'f', long = "values", value_name = "FILE")]
    pub values: Vec<String>,
    /// Set values as helm does (passed to helm and to lint).
    #[arg(long, value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Passed to helm.
    #[arg(long, value_name = "KEY=VALUE")]
    pub set_string: Vec<String>,
    /// Passed to helm.
    #[arg(long, value_name = "KEY=FILE")]
    pub set_file: Vec<String>,
    /// Passed to helm.
    #[arg(long, value_name = "KEY=JSON")]
    pub set_json: Vec<String>,
    /// The image lock of the target version: every image is pinned to its digest.
    #[arg(long, value_name = "FILE")]
    pub lock: String,
    /// Move images under a mirror (FROM=TO): preflight checks the mirror holds every locked digest, and the
    /// post-renderer rewrites the images to it.
    #[arg(long, value_name = "FROM=TO", value_parser = mirror)]
    pub mirror: Vec<String>,
    #[command(flatten)]
    pub registry: crate::registry_args::RegistryArgs,
    /// Opsta AI Gateway: how old the control-plane PostgreSQL's newest completed backup may be (s, m, h, d).
    #[arg(long, value_name = "AGE", default_value = "24h", value_parser = crate::duration::parse_age)]
    pub backup_max_age: u64,
    /// Accept an upgrade across chart majors (after following the vendor's upgrade guide).
    #[arg(long)]
    pub allow_major: bool,
    /// Apply without asking.
    #[arg(long)]
    pub yes: bool,
    /// Stop after showing the diff.
    #[arg(long)]
    pub dry_run: bool,
    /// After the apply, wait up to this long for the release's pods to be Ready on the locked digests, then
    /// verify (Go durations, as helm's: 90s, 10m, 1h). helm's hook Jobs get the same --timeout.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = crate::duration::parse)]
    pub timeout: std::time::Duration,
    /// With --dry-run: exit 2 when the upgrade changes something, 0 when not.
    #[arg(long, requires = "dry_run")]
    pub detailed_exitcode: bool,
    /// The closing report on stdout: for people (`human`, also `text`), or one JSON document (`json`); the diff
    /// and the prompt then go to the terminal (stderr).
    #[arg(short = 'o', long, value_enum, default_value = "human")]
    pub output: crate::output::Format,
    /// The helm binary (default: HELM_BIN, which helm sets for plugins, then `helm` on PATH).
    #[arg(long, value_name = "PATH", env = "HELM_BIN")]
    pub helm: Option<String>,
    /// Refused: re-apply the full values files every upgrade (both vendors say so).
    #[arg(long, hide = true)]
    pub reuse_values: bool,
    /// Refused, as --reuse-values.
    #[arg(long, hide = true)]
    pub reset_then_reuse_values: bool,
    /// Namespace of the release (default: HELM_NAMESPACE, then the kubeconfig context's namespace).
    #[arg(short = 'n', long, env = "HELM_NAMESPACE", value_name = "NS")]
    pub namespace: Option<String>,
    /// Kubeconfig context to use (default: HELM_KUBECONTEXT, then the current context).
    #[arg(long, env = "HELM_KUBECONTEXT", value_name = "CONTEXT")]
    pub kube_context: Option<String>,
    /// Kubeconfig file (default: KUBECONFIG, then ~/.kube/config).
    #[arg(long, env = "KUBECONFIG", value_name = "FILE")]
    pub kubeconfig: Option<String>,
}

fn mirror(text: &str) -> Result<String, String> {
    crate::mirror::Mirror::parse(text).map(|_| text.to_string())
}

pub fn run(args: &Args) -> Result<u8> {
    if args.reuse_values || args.reset_then_reuse_values {
        bail!(
            "--reuse-values and --reset-then-reuse-values are refused: both vendors say to re-apply the full values \
             files (-f, token included) on every upgrade, so what is linted is what is applied"
        );
    }
    if args.values.is_empty() {
        bail!("upgrade needs the release's full values files (-f FILE): they are linted and re-applied");
    }
    if args.output == Format::Sarif {
        bail!("upgrade reports -o human or -o json (SARIF is for the findings of lint, verify and the registry checks)");
    }
    let mut report = Report {
        release: args.name.clone(),
        ..Report::default()
    };
    let result = upgrade(args, &mut report);
    report.exit = match &result {
        Ok(code) => *code,
        Err(e) => e
            .downcast_ref::<StopError>()
            .map_or(crate::exit::FAILURE, |s| s.0),
    };
    if let Err(e) = &result {
        if e.downcast_ref::<StopError>().is_none() {
            report.error = Some(crate::output::error_line(e));
        }
    }
    report.print(args)?;
    match result {
        Ok(code) => Ok(code),
        Err(e) => match e.downcast::<StopError>() {
            Ok(StopError(code)) => Ok(code),
            Err(e) => Err(e),
        },
    }
}

/// A step that already printed why it stopped.
#[derive(Debug)]
struct StopError(u8);

impl std::fmt::Display for StopError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "stopped (exit {})", self.0)
    }
}

impl std::error::Error for StopError {}

fn stop(code: u8) -> anyhow::Error {
    anyhow::Error::new(StopError(code))
}

fn upgrade(args: &Args, report: &mut Report) -> Result<u8> {
    let work = crate::temp_dir::TempDir::new("opsta-lint-upgrade")?;
    // Two helm runs at once (its version, the chart archive) while the deployed release is read.
    let path = args.helm.clone().unwrap_or_else(|| "helm".into());
    let version = helm::version(&path)?;
    let pulling = start_pull(&path, args, work.path())?;
    let cluster = cluster_args(args);
    let deployed = crate::helm_release::read_deployed(&cluster, &args.name)?;
    let namespace = deployed.namespace.clone();
    report.namespace = namespace.clone();
    report.chart = deployed.chart_name.clone();
    report.from_version = deployed.chart_version.clone();
    report.from_revision = Some(deployed.revision);
    let helm = Helm {
        major: helm::major(&path, version)?,
        path,
    };
    let chart = report.record("pull", pulled(args, pulling, work.path()), |c| {
        format!("{} {}", c.name, c.version)
    })?;
    report.to_version = chart.version.clone();
    step(&format!(
        "upgrade {} in {namespace}: chart {} {} -> {}",
        args.name, deployed.chart_name, deployed.chart_version, chart.version
    ));
    // The render only reads (--dry-run=server), so it runs while lint and preflight do; its result is used only
    // once both passed, and it is killed when either stops the upgrade.
    let rendering = start_render(&helm, args, &chart, work.path())?;
    let linted = lint(args, &chart, report);
    report.record("lint", linted, |_| "ok".into())?;
    let checked = preflight(args, &cluster, &deployed, &chart, report);
    report.record("preflight", checked, |_| "ok".into())?;
    let rendered = render(rendering, &helm, args, work.path(), report);
    let rendered = report.record("render", rendered, |_| "every image pinned".into())?;
    values_warnings(args, &deployed, &rendered, report)?;
    let shown = report.record("diff", show_diff(args, &deployed, &rendered), |d| {
        counts_line(&d.counts)
    })?;
    report.diff = Some(shown.counts);
    if !shown.changed {
        step("nothing to change: the release already matches the pinned render");
        return Ok(crate::exit::OK);
    }
    if args.dry_run {
        step("--dry-run: nothing was applied");
        return Ok(if args.detailed_exitcode {
            2
        } else {
            crate::exit::OK
        });
    }
    let answer = if args.yes { "--yes" } else { "yes" };
    report.record("confirm", confirm(args, &namespace), |_| answer.into())?;
    let applied = apply(&helm, args, &chart, work.path(), &deployed);
    let applied = report.record("apply", applied, |r| format!("revision {}", r.revision))?;
    report.to_revision = Some(applied.revision);
    let stored = check_stored(args, &cluster, &rendered, &deployed);
    report.record("stored", stored, |_| {
        "what Helm stored is the render shown".into()
    })?;
    step(&format!(
        "applied as revision {}; waiting up to {} for its pods to be Ready on the locked digests",
        applied.revision,
        crate::duration::show(args.timeout)
    ));
    let verified = verify(args, &deployed, report);
    report.record("verify", verified, |_| {
        "every pod Ready on the locked digests".into()
    })?;
    step(&format!(
        "upgraded {} in {namespace} to chart {} {} (revision {}); pods Ready on the locked digests",
        args.name, applied.chart_name, applied.chart_version, applied.revision
    ));
    Ok(crate::exit::OK)
}

fn counts_line(c: &crate::changes::Counts) -> String {
    format!(
        "{} changed, {} added, {} removed ({} unchanged)",
        c.changed, c.added, c.removed, c.unchanged
    )
}

/// The closing report: the steps taken and how each ended, the findings, the chart and revision before and
/// after, the diff's counts and the exit code.
#[derive(Default)]
struct Report {
    release: String,
    namespace: String,
    chart: String,
    from_version: String,
    to_version: String,
    from_revision: Option<u64>,
    to_revision: Option<u64>,
    steps: Vec<(&'static str, String)>,
    diff: Option<crate::changes::Counts>,
    findings: Vec<Json>,
    /// The JSON documents of the jobs run as steps (lint, verify), with -o json.
    jobs: serde_json::Map<String, Json>,
    error: Option<String>,
    exit: u8,
}

impl Report {
    /// Notes how a step ended (`ok` says how when it succeeded) and passes its result on.
    fn record<T>(
        &mut self,
        name: &'static str,
        result: Result<T>,
        ok: impl FnOnce(&T) -> String,
    ) -> Result<T> {
        let outcome = match &result {
            Ok(value) => ok(value),
            Err(e) => match e.downcast_ref::<StopError>() {
                Some(StopError(DECLINED)) => "declined: nothing was applied".into(),
                Some(_) => "stopped".into(),
                None => "could not run".into(),
            },
        };
        self.steps.push((name, outcome));
        result
    }

    fn print(&self, args: &Args) -> Result<()> {
        if self.steps.is_empty() && args.output == Format::Human {
            return Ok(()); // nothing ran: the error says it all
        }
        let text = match args.output {
            Format::Json => crate::printable::json(&self.json())?,
            _ => self.human(),
        };
        crate::output::write_plain(&crate::secrets::mask_text(&text))
    }

    fn human(&self) -> String {
        use crate::printable::one_line;
        let revision = match (self.from_revision, self.to_revision) {
            (Some(from), Some(to)) => format!(", revision {from} -> {to}"),
            (Some(from), None) => format!(", revision {from} (unchanged)"),
            _ => String::new(),
        };
        let mut out = format!(
            "upgrade of {} in {}: chart {} {} -> {}{revision}\n",
            self.release, self.namespace, self.chart, self.from_version, self.to_version
        );
        for (step, outcome) in &self.steps {
            out.push_str(&format!("  {step:<10} {}\n", one_line(outcome)));
        }
        for finding in &self.findings {
            let code = finding["code"].as_str().unwrap_or("");
            let message = finding["message"].as_str().unwrap_or("");
            out.push_str(&format!("  {code}: {}\n", one_line(message)));
        }
        if let Some(error) = &self.error {
            out.push_str(&format!("  {}\n", one_line(error)));
        }
        out.push_str(&format!("exit {}\n", self.exit));
        out
    }

    fn json(&self) -> Json {
        let steps: Vec<Json> = self
            .steps
            .iter()
            .map(|(step, outcome)| serde_json::json!({"step": step, "result": outcome}))
            .collect();
        let mut report = serde_json::json!({
            "release": self.release,
            "namespace": self.namespace,
            "chart": {"name": self.chart, "from": self.from_version, "to": self.to_version},
            "revision": {"from": self.from_revision, "to": self.to_revision},
            "steps": steps,
            "diff": self.diff,
            "findings": self.findings,
            "error": self.error,
            "exit": self.exit,
        });
        for (job, document) in &self.jobs {
            report[job] = document.clone();
        }
        report
    }
}

fn step(text: &str) {
    eprintln!("opsta-lint upgrade: {}", crate::printable::one_line(text));
}

fn cluster_args(args: &Args) -> ClusterArgs {
    ClusterArgs {
        release: Some(args.name.clone()),
        namespace: args.namespace.clone(),
        kube_context: args.kube_context.clone(),
        kubeconfig: args.kubeconfig.clone(),
        request_timeout: crate::cluster::DEFAULT_REQUEST_TIMEOUT,
    }
}

/// The helm binary and its major version.
struct Helm {
    path: String,
    major: u8,
}

impl Helm {
    /// A helm command with the kube settings of the command line.
    fn command(&self, args: &Args) -> Command {
        let mut cmd = Command::new(&self.path);
        cmd.args(kube_flags(args));
        cmd
    }
}

/// The chart archive both the render and the apply use.
struct Chart {
    archive: PathBuf,
    name: String,
    version: String,
}

/// Starts the helm run that makes the one archive: `helm package` for a folder, `helm pull` for a reference;
/// nothing for a .tgz, which is used as it is.
fn start_pull(path: &str, args: &Args, work: &Path) -> Result<Option<Running>> {
    let given = Path::new(&args.chart);
    let mut cmd = Command::new(path);
    let what = if given.is_dir() {
        cmd.arg("package").arg(given).arg("-d").arg(work);
        "helm package"
    } else if given.is_file() {
        return Ok(None);
    } else {
        cmd.args(["pull", &args.chart, "-d"]).arg(work);
        if let Some(version) = &args.chart_version {
            cmd.args(["--version", version]);
        }
        "helm pull"
    };
    Running::start(cmd, what).map(Some)
}

/// The archive once helm made it, with the name and version its Chart.yaml gives.
fn pulled(args: &Args, pulling: Option<Running>, work: &Path) -> Result<Chart> {
    let archive = match pulling {
        Some(running) => {
            running.succeed()?;
            only_archive(work)?
        }
        None => PathBuf::from(&args.chart),
    };
    let (name, version) = chart_metadata(&archive)?;
    let chart = Chart {
        archive,
        name,
        version,
    };
    if let Some(wanted) = &args.chart_version {
        if wanted.trim_start_matches('v') != chart.version.trim_start_matches('v') {
            bail!(
                "{} is chart {} {}, not --chart-version {wanted}",
                args.chart,
                chart.name,
                chart.version
            );
        }
    }
    Ok(chart)
}

/// `name` and `version` of the chart's own Chart.yaml (`CHART/Chart.yaml`, the archive's top folder).
fn chart_metadata(archive: &Path) -> Result<(String, String)> {
    let shown = archive.display();
    let file = std::fs::File::open(archive).with_context(|| format!("cannot read {shown}"))?;
    let mut tar = tar::Archive::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)));
    let entries = tar
        .entries()
        .with_context(|| format!("{shown} is not a chart archive (.tgz)"))?;
    for entry in entries {
        let mut entry = entry.with_context(|| format!("{shown} is not a chart archive (.tgz)"))?;
        let path = entry.path()?.into_owned();
        let parts: Vec<_> = path
            .components()
            .filter(|c| !matches!(c, std::path::Component::CurDir))
            .collect();
        if parts.len() != 2 || parts[1].as_os_str() != "Chart.yaml" {
            continue;
        }
        let mut text = String::new();
        entry
            .read_to_string(&mut text)
            .with_context(|| format!("cannot read {} in {shown}", path.display()))?;
        let docs = crate::yaml::parse(&text)
            .map_err(|e| anyhow!("{shown}: Chart.yaml:{}:{}: {}", e.line, e.col, e.message))?;
        let meta = docs.first().map(|d| d.to_json()).unwrap_or_default();
        let field = |key: &str| match &meta[key] {
            Json::String(text) => text.clone(),
            Json::Null => String::new(),
            other => other.to_string(),
        };
        return Ok((field("name"), field("version")));
    }
    bail!("{shown} has no Chart.yaml in its top folder: it is not a chart archive")
}

fn only_archive(dir: &Path) -> Result<PathBuf> {
    let found = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .find(|p| p.extension().is_some_and(|e| e == "tgz"));
    found.ok_or_else(|| anyhow!("helm left no chart archive in {}", dir.display()))
}

/// Step b: the preflight checks. Errors stop the upgrade; warnings are listed for the person to confirm.
fn preflight(
    args: &Args,
    cluster: &ClusterArgs,
    deployed: &Release,
    chart: &Chart,
    report: &mut Report,
) -> Result<()> {
    use crate::preflight_checks as checks;
    let findings = checks::check(&checks::Plan {
        cluster,
        deployed,
        target: &chart.version,
        lock: Some(&args.lock),
        allow_major: args.allow_major,
        backup_max_age: args.backup_max_age,
        // The values checks run on the values as helm merged them for the render (`values_warnings`).
        values: None,
        mirrors: &args.mirror,
        registry: &args.registry,
    })?;
    listed(&findings, &args.name, deployed, report)
}

/// The preflight checks on the values the upgrade applies (PF007: Catalyst's stores to back up), run on the
/// values as helm merged them for the render: the -f files in order, then --set, --set-string, --set-file and
/// --set-json, exactly as the apply passes them.
fn values_warnings(
    args: &Args,
    deployed: &Release,
    rendered: &Release,
    report: &mut Report,
) -> Result<()> {
    let findings = crate::preflight_checks::values_checks(deployed, &rendered.config)?;
    listed(&findings, &args.name, deployed, report)
}

/// Prints preflight findings and adds them to the report; an error among them stops the upgrade.
fn listed(
    findings: &[crate::preflight_checks::Finding],
    release: &str,
    deployed: &Release,
    report: &mut Report,
) -> Result<()> {
    for finding in findings {
        eprint!("{}", finding.printed());
        report
            .findings
            .push(preflight_finding(finding, release, &deployed.namespace));
    }
    if !findings
        .iter()
        .any(crate::preflight_checks::Finding::is_error)
    {
        return Ok(());
    }
    step("stopped at preflight: nothing was applied");
    Err(stop(crate::exit::FINDINGS))
}

/// Step a: lint the values against the target chart, the deployed values as the previous state.
fn lint(args: &Args, chart: &Chart, report: &mut Report) -> Result<()> {
    let product = crate::product::Product::all()?
        .into_iter()
        .find(|p| p.chart == chart.name);
    let mut line: Vec<String> = vec!["lint".into()];
    match product {
        Some(product) => {
            line.extend(["--product".into(), product.name.clone()]);
            line.extend(["--chart-version".into(), chart.version.clone()]);
            line.extend(["--release".into(), args.name.clone()]);
            line.extend(kube_flags(args));
        }
        None => {
            step(&format!(
                "chart {} is not a product opsta-lint knows: linting against the chart's own schemas and defaults",
                chart.name
            ));
            line.extend([
                "--chart".into(),
                chart.archive.to_string_lossy().into_owned(),
            ]);
        }
    }
    if args.allow_major {
        line.push("--allow-major".into());
    }
    for set in &args.set {
        line.extend(["--set".into(), set.clone()]);
    }
    line.push("--".into());
    line.extend(args.values.iter().cloned());
    let (code, document) = run_job(args, line)?;
    if let Some(document) = document {
        for run in document["runs"].as_array().into_iter().flatten() {
            report
                .findings
                .extend(run["findings"].as_array().into_iter().flatten().cloned());
        }
        report.jobs.insert("lint".into(), document);
    }
    if code != crate::exit::OK {
        step("stopped at lint: fix the findings above; nothing was applied");
        return Err(stop(code));
    }
    Ok(())
}

fn kube_flags(args: &Args) -> Vec<String> {
    crate::cluster::helm_flags(&cluster_args(args))
}

/// Runs another job of this binary (lint, verify) as a child. For people it writes to stdout as it does on its
/// own; with -o json it writes its JSON document, which is returned for the report.
fn run_job(args: &Args, mut line: Vec<String>) -> Result<(u8, Option<Json>)> {
    let me = std::env::current_exe().context("cannot find the opsta-lint binary's path")?;
    let mut cmd = Command::new(&me);
    if args.output == Format::Json {
        let at = line.iter().position(|a| a == "--").unwrap_or(line.len());
        line.splice(at..at, ["-o".to_string(), "json".to_string()]);
        cmd.stdout(std::process::Stdio::piped());
    }
    let child = cmd
        .args(&line)
        .spawn()
        .with_context(|| format!("cannot run {}", me.display()))?;
    let out = child.wait_with_output()?;
    let code = out
        .status
        .code()
        .ok_or_else(|| anyhow!("opsta-lint {} ended by a signal", line[0]))?;
    let code = u8::try_from(code).unwrap_or(crate::exit::FAILURE);
    if args.output != Format::Json {
        return Ok((code, None));
    }
    let document = serde_json::from_slice(&out.stdout)
        .with_context(|| format!("opsta-lint {} -o json wrote no JSON document", line[0]))?;
    Ok((code, Some(document)))
}

/// What the person reads as the upgrade goes: stdout, or with -o json (stdout is the report's) stderr.
fn to_terminal(args: &Args, text: &str) {
    if args.output == Format::Json {
        eprint!("{text}");
        std::io::stderr().flush().ok();
    } else {
        print!("{text}");
        std::io::stdout().flush().ok();
    }
}

/// The helm flags that carry the values, as given.
fn value_flags(args: &Args) -> Vec<String> {
    let mut flags = Vec::new();
    for file in &args.values {
        flags.extend(["--values".to_string(), file.clone()]);
    }
    let lists = [
        ("--set", &args.set),
        ("--set-string", &args.set_string),
        ("--set-file", &args.set_file),
        ("--set-json", &args.set_json),
    ];
    for (flag, values) in lists {
        for value in values {
            flags.extend([flag.to_string(), value.clone()]);
        }
    }
    flags
}

/// `helm upgrade RELEASE ARCHIVE` with the values and opsta-lint as post-renderer (Helm 3: this binary;
/// Helm 4: the installed postrenderer/v1 plugin, which runs this binary through OPSTA_LINT_BIN).
fn upgrade_command(helm: &Helm, args: &Args, chart: &Chart, report: &Path) -> Result<Command> {
    let me = std::env::current_exe().context("cannot find the opsta-lint binary's path")?;
    let mut cmd = helm.command(args);
    cmd.args(["upgrade", &args.name]).arg(&chart.archive);
    cmd.args(value_flags(args));
    let mut post = vec![
        "postrender".to_string(),
        format!("--lock={}", args.lock),
        format!("--chart-version={}", chart.version),
        format!("--report={}", report.display()),
    ];
    post.extend(args.mirror.iter().map(|m| format!("--mirror={m}")));
    if helm.major == 3 {
        cmd.arg("--post-renderer").arg(&me);
    } else {
        cmd.args(["--post-renderer", "opsta-lint-postrender"]);
        // The plugin's own args already start with `postrender`.
        post.remove(0);
        cmd.env("OPSTA_LINT_BIN", &me);
    }
    for arg in post {
        cmd.arg(format!("--post-renderer-args={arg}"));
    }
    cmd.args(["-o", "json"]);
    Ok(cmd)
}

/// Helm 4 refuses a post-renderer that is not an installed plugin: after a failed helm run, say how to install
/// it when that is why.
fn require_postrender_plugin(helm: &Helm) -> Result<()> {
    if helm.major == 3 {
        return Ok(());
    }
    let mut cmd = Command::new(&helm.path);
    cmd.args(["plugin", "list"]);
    let out = Running::start(cmd, "helm plugin list")?.succeed()?;
    if !String::from_utf8_lossy(&out.stdout).contains("opsta-lint-postrender") {
        bail!(
            "Helm 4 runs post-renderers only as plugins, and opsta-lint-postrender is not installed: install it \
             with `helm opsta-lint install-postrenderer` (docs/install.md), then run again"
        );
    }
    Ok(())
}

/// Step c, started: what Helm would apply, rendered by the cluster's own rules and pinned by the post-renderer.
/// It only reads (`--dry-run=server`).
fn start_render(helm: &Helm, args: &Args, chart: &Chart, work: &Path) -> Result<Running> {
    let mut cmd = upgrade_command(helm, args, chart, &work.join("render-report.txt"))?;
    cmd.arg("--dry-run=server");
    Running::start(cmd, "helm upgrade --dry-run=server")
}

/// Step c, ended: the render's release, every image pinned.
fn render(
    rendering: Running,
    helm: &Helm,
    args: &Args,
    work: &Path,
    report: &mut Report,
) -> Result<Release> {
    let out = rendering.finish()?;
    if !out.status.success() {
        let findings = std::fs::read_to_string(work.join("render-report.txt")).unwrap_or_default();
        if findings.contains("error[") {
            eprint!("{}", crate::printable::message(&findings));
            report
                .findings
                .extend(findings.lines().filter_map(post_render_finding));
            step("stopped at render: an image is not pinned (see above); nothing was applied");
            return Err(stop(crate::exit::FINDINGS));
        }
        require_postrender_plugin(helm)?;
        bail!(
            "helm upgrade --dry-run=server failed ({}); nothing was applied",
            out.failure()
        );
    }
    let rendered = crate::helm_release::from_json(&out.stdout)
        .context("helm upgrade --dry-run=server -o json")?;
    if helm.major == 3 {
        unpinned_hooks(&rendered, &args.lock, report)?;
    }
    Ok(rendered)
}

/// Helm 3 never gives hooks to a post-renderer: a hook image without a digest stops the upgrade.
fn unpinned_hooks(rendered: &Release, lock: &str, report: &mut Report) -> Result<()> {
    let mut unpinned = Vec::new();
    for (name, manifest) in &rendered.hooks {
        for line in manifest.lines() {
            let Some(image) = line.trim_start().strip_prefix("image:") else {
                continue;
            };
            let image = image.trim().trim_matches(|c| c == '"' || c == '\'');
            if !image.contains("@sha256:") {
                unpinned.push(format!("{name}: {image}"));
            }
        }
    }
    if unpinned.is_empty() {
        return Ok(());
    }
    let finding = crate::findings::Finding::new(
        crate::findings::Code::PF002,
        crate::findings::Location::command_line(),
        format!(
            "Helm 3 does not post-render hooks, and these hook images are not pinned: {}. Pin them through the \
             chart's values (the image's digest from {lock}), or upgrade with Helm 4; nothing was applied",
            unpinned.join(", ")
        ),
    );
    crate::output::print_findings(std::slice::from_ref(&finding));
    report.findings.push(crate::output::finding_json(&finding));
    Err(stop(crate::exit::FINDINGS))
}

/// Step d: the pinned render against the deployed release, shown to the person (`to_terminal`).
fn show_diff(args: &Args, deployed: &Release, rendered: &Release) -> Result<crate::changes::Shown> {
    let old = deployed.rendered_source();
    let new = Source::new("pinned render", rendered.rendered_source().text);
    let auto = crate::output::ColorWhen::Auto;
    let opts = crate::changes::Options {
        color: match args.output {
            Format::Json => crate::output::colored_stderr(auto),
            _ => crate::output::colored_stdout(auto),
        },
        ..crate::changes::Options::default()
    };
    let shown = crate::changes::show(&old, &new, &opts)?;
    to_terminal(args, &shown.text);
    Ok(shown)
}

/// Step e: ask on the terminal, unless --yes.
fn confirm(args: &Args, namespace: &str) -> Result<()> {
    if args.yes {
        return Ok(());
    }
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        eprintln!(
            "opsta-lint: error: no terminal to confirm the upgrade on: run it in a terminal, or pass --yes to apply \
             without asking (--dry-run shows the plan only); nothing was applied"
        );
        return Err(stop(crate::exit::FAILURE));
    }
    eprint!("Apply this upgrade to {} in {namespace}? [y/N] ", args.name);
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    stdin.lock().read_line(&mut answer)?;
    if matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes") {
        return Ok(());
    }
    step("declined: nothing was applied");
    Err(stop(DECLINED))
}

/// Step f: the same upgrade, applied.
fn apply(
    helm: &Helm,
    args: &Args,
    chart: &Chart,
    work: &Path,
    deployed: &Release,
) -> Result<Release> {
    let report = work.join("apply-report.txt");
    let mut cmd = upgrade_command(helm, args, chart, &report)?;
    cmd.args(["--timeout", &crate::duration::show(args.timeout)]);
    let out = Running::start(cmd, "helm upgrade")?.finish()?;
    if !out.status.success() {
        eprintln!("opsta-lint: error: helm upgrade failed ({})", out.failure());
        rollback_hint(args, deployed);
        return Err(stop(crate::exit::FAILURE));
    }
    crate::helm_release::from_json(&out.stdout).context("helm upgrade -o json")
}

fn rollback_hint(args: &Args, deployed: &Release) {
    eprintln!(
        "To go back: helm rollback {} {} -n {}",
        args.name, deployed.revision, deployed.namespace
    );
    if deployed.chart_name == "opsta-ai-gateway" {
        eprintln!(
            "Opsta AI Gateway's database migrations are forward-only: a rollback does not undo them; restore the \
             pre-upgrade backup of its PostgreSQL first"
        );
    }
}

/// What Helm stored must be what was shown: the stored manifest and hooks against the pinned render.
fn check_stored(
    args: &Args,
    cluster: &ClusterArgs,
    rendered: &Release,
    deployed: &Release,
) -> Result<()> {
    let stored = crate::helm_release::read_deployed(cluster, &args.name)?;
    let shown = Source::new(
        "pinned render that was shown",
        rendered.rendered_source().text,
    );
    let diff = crate::changes::show(&shown, &stored.rendered_source(), &Default::default())?;
    if diff.changed {
        to_terminal(args, &diff.text);
        eprintln!(
            "opsta-lint: error: the manifest Helm stored for revision {} differs from the render that was shown \
             (above)",
            stored.revision
        );
        rollback_hint(args, deployed);
        return Err(stop(crate::exit::FINDINGS));
    }
    Ok(())
}

/// Step g: the verify job on the new revision.
fn verify(args: &Args, deployed: &Release, report: &mut Report) -> Result<()> {
    let mut line: Vec<String> = vec!["verify".into()];
    line.extend(["--release".into(), args.name.clone()]);
    line.extend(["--lock".into(), args.lock.clone()]);
    line.extend(["--timeout".into(), crate::duration::show(args.timeout)]);
    line.extend(kube_flags(args));
    let (code, document) = run_job(args, line)?;
    if let Some(document) = document {
        for problem in document["problems"].as_array().into_iter().flatten() {
            report.findings.push(problem_finding(problem));
        }
        report.jobs.insert("verify".into(), document);
    }
    if code != crate::exit::OK {
        step("verify failed (above)");
        rollback_hint(args, deployed);
        return Err(stop(code));
    }
    Ok(())
}

/// A problem of verify's JSON report as a finding at its pod (and container).
fn problem_finding(problem: &Json) -> Json {
    let text = |key: &str| problem[key].as_str().unwrap_or_default().to_string();
    let Some(code) = crate::findings::Code::find(&text("code")) else {
        return problem.clone();
    };
    let container = Some(text("container")).filter(|c| c != "-");
    let location = crate::findings::Location::Cluster {
        kind: "Pod".into(),
        namespace: text("namespace"),
        name: text("pod"),
        container,
    };
    let finding = crate::findings::Finding::new(code, location, text("problem"));
    crate::output::finding_json(&finding)
}

/// A preflight finding as a finding about the release, with its fix (a command or manifest) when it has one.
fn preflight_finding(
    finding: &crate::preflight_checks::Finding,
    release: &str,
    namespace: &str,
) -> Json {
    let location = crate::findings::Location::Cluster {
        kind: "Release".into(),
        namespace: namespace.to_string(),
        name: release.to_string(),
        container: None,
    };
    let shown = crate::findings::Finding::new(finding.code, location, finding.text.clone());
    let mut json = crate::output::finding_json(&shown);
    if let Some(fix) = &finding.fix {
        json["fix"] = Json::String(crate::secrets::mask_text(fix));
    }
    json
}

/// A line of the post-renderer's report (`error[PR001]: ...`, maybe after a place) as a finding.
fn post_render_finding(line: &str) -> Option<Json> {
    let (_, rest) = line.split_once("error[")?;
    let (code, message) = rest.split_once("]: ")?;
    let code = crate::findings::Code::find(code)?;
    let finding = crate::findings::Finding::new(
        code,
        crate::findings::Location::command_line(),
        message.to_string(),
    );
    Some(crate::output::finding_json(&finding))
}
