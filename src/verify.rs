//! `opsta-lint verify --release NAME -n NS [--lock FILE]`: after an upgrade, checks what actually runs.
//!
//! The pods are those of the release's workloads (selected by their pod template labels) and, when the product data
//! names `regionNamespaces`, every pod of those namespaces. Each must be Ready; with `--lock`, each container must run
//! the digest the lock holds for its image; and every container of a pinned component (Catalyst: Dapr) must run the
//! one version the deployed chart version pins. The problems are printed as a table; any problem exits 1.

use crate::cluster::ClusterArgs;
use crate::findings::{Code, Finding, Location};
use crate::image::ImageRef;
use crate::lockfile::{Lock, Verdict};
use crate::policy::{self, Off, PinnedImages};
use crate::product::Product;
#[cfg(test)]
use crate::running::ContainerState;
use crate::running::{gather, Found, PodState};
use anyhow::{anyhow, Result};
use semver::Version;
use serde_json::Value as Json;
use std::borrow::Cow;

// Arguments of `opsta-lint verify`.
#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub cluster: ClusterArgs,
    /// Image lock (opsta-lint ReleaseLock or imgpkg ImagesLock) whose digests every container must run.
    #[arg(long, value_name = "FILE")]
    pub lock: Option<String>,
    /// Output format: a summary and a table of problems, the same as one JSON object, or the problems as
    /// SARIF 2.1.0 (each result at its pod and container, as a logical location).
    #[arg(short = 'o', long, value_enum, default_value = "human")]
    pub output: crate::output::Format,
    /// Rule codes (or names) not to report (comma-separated or repeated), e.g. VF001.
    #[arg(long, value_name = "CODES", value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// Wait up to this long for the pods to settle (Ready, on the locked digests) before reporting, e.g. 10m
    /// (Go durations, as helm's --timeout; 0 checks once).
    #[arg(long, value_name = "DURATION", default_value = "0", value_parser = crate::duration::parse)]
    pub timeout: std::time::Duration,
}

/// How often the pods are checked again while waiting.
const POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// The problems a rollout settles on its own: pods not Ready yet, old pods still on their digests, images still
/// pulling, pods not created yet. Waiting is only for these.
fn settles(code: Code) -> bool {
    matches!(code, Code::VF001 | Code::VF003 | Code::VF004 | Code::VF007)
}

/// One thing that is off.
#[derive(Debug, Clone, PartialEq)]
pub struct Problem {
    pub code: Code,
    pub namespace: String,
    pub pod: String,
    /// The container, or "-" for the pod as a whole.
    pub container: String,
    pub problem: String,
}

/// What the pods are held to.
pub struct Expectations<'a> {
    pub product: Option<&'a Product>,
    pub chart_version: Option<Version>,
    pub lock: Option<&'a Lock>,
}

/// Every problem of `pods` against `expect`, in pod order.
pub fn check(pods: &[PodState], expect: &Expectations) -> Result<Vec<Problem>> {
    let mut components = pinned_components(expect)?;
    let mut problems = Vec::new();
    for pod in pods {
        let mut report = |code: Code, container: &str, problem: String| {
            problems.push(Problem {
                code,
                namespace: pod.namespace.clone(),
                pod: pod.name.clone(),
                container: container.to_string(),
                problem,
            })
        };
        if pod.phase != "Succeeded" && !pod.ready {
            let problem = format!("not Ready ({}): {}", pod.phase, pod.not_ready);
            report(Code::VF001, "-", problem);
        }
        for container in &pod.containers {
            let image = match ImageRef::parse(&container.image) {
                Ok(image) => image,
                Err(err) => {
                    report(
                        Code::VF002,
                        &container.name,
                        format!("image \"{}\" cannot be read: {err}", container.image),
                    );
                    continue;
                }
            };
            if let Some(lock) = expect.lock {
                if let Some((code, problem)) = lock_problem(lock, &image, &container.image_id) {
                    report(code, &container.name, problem);
                }
            }
            for component in &mut components {
                let chart = expect.chart_version.as_ref();
                if let Some(problem) = component_problem(component, &image, chart) {
                    report(Code::VF006, &container.name, problem);
                }
            }
        }
    }
    Ok(problems)
}

/// The digest a container runs (from the runtime's image ID, else the spec's digest) against the lock.
fn lock_problem(lock: &Lock, image: &ImageRef, image_id: &str) -> Option<(Code, String)> {
    let running = image_id
        .rsplit_once('@')
        .map(|(_, digest)| digest.to_string())
        .or_else(|| image.digest.clone());
    match lock.verdict(image) {
        Verdict::Pinned(locked) => match running {
            Some(running) if running == locked => None,
            Some(running) => Some((
                Code::VF003,
                format!("runs {} {running}, the lock says {locked}", image.name()),
            )),
            None => Some((
                Code::VF004,
                format!(
                    "the running digest of {} is not known yet, the lock says {locked}",
                    image.raw
                ),
            )),
        },
        Verdict::Mismatch { locked } => Some((
            Code::VF003,
            format!(
                "image \"{}\" is not the digest the lock holds ({})",
                image.raw,
                locked.join(", ")
            ),
        )),
        Verdict::Unlocked => Some((
            Code::VF005,
            format!(
                "image \"{}\" is not in the lock",
                image.without_digest().raw
            ),
        )),
    }
}

/// A checker for each component whose version the chart version pins (`src/policy.rs`).
fn pinned_components<'a>(expect: &Expectations<'a>) -> Result<Vec<PinnedImages<'a>>> {
    match expect.product {
        Some(product) => policy::pinned_images(product, expect.chart_version.as_ref()),
        None => Ok(Vec::new()),
    }
}

/// The problem with `image` when it is the component's and runs another version than the pinned one (or, when
/// the pin is unknown, than the first one seen).
fn component_problem(
    component: &mut PinnedImages,
    image: &ImageRef,
    chart: Option<&Version>,
) -> Option<String> {
    let name = component.name().to_string();
    match component.check(image)? {
        Off::NotPinned { tag, want } => Some(format!(
            "{name} is version {tag}, but the deployed chart {} pins {name} {want}",
            chart.map_or_else(|| "?".to_string(), Version::to_string)
        )),
        Off::Mixed { tag, first } => Some(format!(
            "{name} is version {tag} while another pod runs {first}: one region runs one {name} version"
        )),
    }
}

/// The problems as an aligned table.
pub fn table(problems: &[Problem]) -> String {
    let header = ["NAMESPACE", "POD", "CONTAINER", "CODE", "PROBLEM"];
    use crate::printable::{one_line, shown};
    let rows: Vec<[Cow<str>; 5]> = problems
        .iter()
        .map(|p| {
            [
                shown(&p.namespace),
                shown(&p.pod),
                shown(&p.container),
                Cow::Borrowed(p.code.as_str()),
                one_line(&p.problem),
            ]
        })
        .collect();
    let width = |column: usize| {
        rows.iter()
            .map(|r| r[column].len())
            .chain([header[column].len()])
            .max()
            .unwrap_or(0)
    };
    let widths = [width(0), width(1), width(2), width(3)];
    let mut out = String::new();
    let header = header.map(Cow::Borrowed);
    for row in std::iter::once(&header).chain(rows.iter()) {
        out.push_str(&format!(
            "{:w0$}  {:w1$}  {:w2$}  {:w3$}  {}\n",
            row[0],
            row[1],
            row[2],
            row[3],
            row[4],
            w0 = widths[0],
            w1 = widths[1],
            w2 = widths[2],
            w3 = widths[3]
        ));
    }
    out
}

/// `opsta-lint verify`.
pub fn run(args: &Args) -> Result<u8> {
    let ignored = Code::parse_list("VF", &args.ignore)?;
    let name = args.cluster.release.as_deref();
    let name =
        name.ok_or_else(|| anyhow!("verify needs the release: --release NAME -n NAMESPACE"))?;
    let lock = args.lock.as_deref().map(Lock::read).transpose()?;
    let products = Product::all()?;
    let started = std::time::Instant::now();
    let mut said = String::new();
    loop {
        let found = gather(&args.cluster, name)?;
        let expect = Expectations {
            product: products.iter().find(|p| p.chart == found.chart_name),
            chart_version: crate::product::parse_version(&found.chart_version).ok(),
            lock: lock.as_ref(),
        };
        let mut problems = problems(&found, &expect)?;
        problems.retain(|p| !ignored.contains(&p.code));
        let unsettled: Vec<&Problem> = problems.iter().filter(|p| settles(p.code)).collect();
        let waited = started.elapsed();
        let Some(first) = unsettled.first().filter(|_| waited < args.timeout) else {
            if !unsettled.is_empty() && !args.timeout.is_zero() {
                problems.push(timed_out(&found, args.timeout));
            }
            return report(args, &found, &expect, &problems);
        };
        let waiting = format!(
            "opsta-lint verify: waiting up to {} for {} problem(s) of release {name} to settle (first: pod {}: {})",
            crate::duration::show(args.timeout),
            unsettled.len(),
            first.pod,
            first.problem
        );
        if waiting != said {
            eprintln!(
                "{}",
                crate::printable::one_line(&crate::secrets::mask_message(&waiting))
            );
            said = waiting;
        }
        std::thread::sleep(POLL.min(args.timeout - waited));
    }
}

/// Every problem of the release's pods, and VF007 when there are none.
fn problems(found: &Found, expect: &Expectations) -> Result<Vec<Problem>> {
    let mut problems = check(&found.pods, expect)?;
    if found.pods.is_empty() {
        problems.push(Problem {
            code: Code::VF007,
            namespace: found.namespace.clone(),
            pod: "-".into(),
            container: "-".into(),
            problem: format!(
                "no pods found for the workloads of release {}",
                found.release
            ),
        });
    }
    Ok(problems)
}

fn timed_out(found: &Found, timeout: std::time::Duration) -> Problem {
    Problem {
        code: Code::VF008,
        namespace: found.namespace.clone(),
        pod: "-".into(),
        container: "-".into(),
        problem: format!(
            "release {} did not settle within --timeout {}: the problems above remain",
            found.release,
            crate::duration::show(timeout)
        ),
    }
}

/// Prints the report in the chosen format; exit 1 when there are problems.
fn report(args: &Args, found: &Found, expect: &Expectations, problems: &[Problem]) -> Result<u8> {
    let text = match args.output {
        crate::output::Format::Human => summary(found, expect, problems),
        crate::output::Format::Json => {
            crate::printable::json(&summary_json(found, expect, problems))?
        }
        crate::output::Format::Sarif => sarif(problems),
    };
    print!(
        "{}",
        crate::printable::message(&crate::secrets::mask_text(&text))
    );
    Ok(if problems.is_empty() {
        crate::exit::OK
    } else {
        crate::exit::FINDINGS
    })
}

fn summary(found: &Found, expect: &Expectations, problems: &[Problem]) -> String {
    use crate::printable::shown;
    let mut namespaces: Vec<Cow<str>> = found.pods.iter().map(|p| shown(&p.namespace)).collect();
    namespaces.sort_unstable();
    namespaces.dedup();
    let mut text = format!(
        "release {} (chart {} {}, revision {}) in {}: {} pods in {} namespaces ({})\n",
        shown(&found.release),
        shown(&found.chart_name),
        shown(&found.chart_version),
        found.revision,
        shown(&found.namespace),
        found.pods.len(),
        namespaces.len(),
        namespaces.join(", ")
    );
    for component in pinned_components(expect).unwrap_or_default() {
        if let Some(pinned) = component.pin.version {
            text.push_str(&format!(
                "{} pinned by the chart: {pinned}\n",
                component.name()
            ));
        }
    }
    if problems.is_empty() {
        let locked = if expect.lock.is_some() {
            ", running the locked digests"
        } else {
            ""
        };
        text.push_str(&format!("ok: every pod Ready{locked}\n"));
    } else {
        text.push_str(&table(problems));
        text.push_str(&format!("{} problem(s)\n", problems.len()));
    }
    text
}

/// A problem as a finding at its pod (and container) in the cluster.
pub fn finding(problem: &Problem) -> Finding {
    let container = (problem.container != "-").then(|| problem.container.clone());
    let location = Location::Cluster {
        kind: "Pod".into(),
        namespace: problem.namespace.clone(),
        name: problem.pod.clone(),
        container,
    };
    Finding::new(problem.code, location, problem.problem.clone())
}

/// The problems as SARIF, each at its pod and container as a logical location.
pub fn sarif(problems: &[Problem]) -> String {
    let results: Vec<_> = problems
        .iter()
        .map(|p| crate::output::result_of(&finding(p)))
        .collect();
    crate::output::sarif("VF", &results)
}

/// The summary as JSON: the release, the versions the chart pins, and every problem (`ok` when there are none).
fn summary_json(found: &Found, expect: &Expectations, problems: &[Problem]) -> Json {
    let mut namespaces: Vec<&str> = found.pods.iter().map(|p| p.namespace.as_str()).collect();
    namespaces.sort_unstable();
    namespaces.dedup();
    let pinned: serde_json::Map<String, Json> = pinned_components(expect)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| Some((c.name().to_string(), Json::from(c.pin.version?))))
        .collect();
    let problems: Vec<Json> = problems
        .iter()
        .map(|p| {
            serde_json::json!({
                "code": p.code, "namespace": p.namespace, "pod": p.pod, "container": p.container,
                "problem": p.problem,
            })
        })
        .collect();
    serde_json::json!({
        "release": found.release,
        "namespace": found.namespace,
        "revision": found.revision,
        "chart": {"name": found.chart_name, "version": found.chart_version},
        "pods": found.pods.len(),
        "namespaces": namespaces,
        "lock": expect.lock.is_some(),
        "pinned": pinned,
        "ok": problems.is_empty(),
        "problems": problems,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pod(namespace: &str, name: &str, ready: bool, images: &[(&str, &str, &str)]) -> PodState {
        PodState {
            namespace: namespace.into(),
            name: name.into(),
            phase: "Running".into(),
            ready,
            not_ready: "ContainersNotReady: containers with unready status: [app]".into(),
            containers: images
                .iter()
                .map(|(n, image, id)| ContainerState {
                    name: (*n).into(),
                    image: (*image).into(),
                    image_id: (*id).into(),
                })
                .collect(),
        }
    }

    const REG: &str =
        "us-central1-docker.pkg.dev/prj-common-p-shared-79896/reg-p-common-docker-public";

    #[test]
    fn flags_unready_pods_and_dapr_off_the_pinned_version() {
        let product = Product::load("catalyst").unwrap();
        let expect = Expectations {
            product: Some(&product),
            chart_version: Some(Version::new(1, 89, 0)),
            lock: None,
        };
        let (good_dapr, old_dapr) = (
            format!("{REG}/dapr:1.19.0-20260806-catalyst.1"),
            format!("{REG}/dapr:1.18.2-rc.2-catalyst.1"),
        );
        let sidecar = format!("{REG}/sidecar:1.89.0");
        let pods = [
            pod(
                "cra-agent",
                "agent",
                true,
                &[("agent", &format!("{REG}/catalyst-agent:1.89.0"), "")],
            ),
            pod(
                "root-dapr-system",
                "dapr-operator",
                true,
                &[("operator", &good_dapr, "")],
            ),
            pod(
                "prj-a",
                "app",
                false,
                &[("app", "nginx:1.27", ""), ("daprd", &sidecar, "")],
            ),
            pod("prj-b", "old", true, &[("daprd", &old_dapr, "")]),
        ];
        let problems = check(&pods, &expect).unwrap();
        let summary: Vec<(&str, &str)> = problems
            .iter()
            .map(|p| (p.pod.as_str(), p.container.as_str()))
            .collect();
        assert_eq!(summary, [("app", "-"), ("old", "daprd")], "{problems:#?}");
        assert!(problems[0]
            .problem
            .starts_with("not Ready (Running): ContainersNotReady"));
        assert_eq!(
            problems[1].problem,
            "dapr is version 1.18.2-rc.2-catalyst.1, but the deployed chart 1.89.0 pins dapr 1.19.0-20260806-catalyst.1"
        );
        let table = table(&problems);
        assert!(
            table.starts_with(
                "NAMESPACE  POD  CONTAINER  CODE   PROBLEM\nprj-a      app  -          VF001  "
            ),
            "{table}"
        );
    }

    #[test]
    fn hostile_pod_names_stay_in_their_cell() {
        let problems = [Problem {
            code: Code::VF002,
            namespace: "ns".into(),
            pod: "p\nFORGED".into(),
            container: "c\u{1b}[2J".into(),
            problem: "image x\ny".into(),
        }];
        let table = table(&problems);
        assert_eq!(
            table,
            "NAMESPACE  POD          CONTAINER     CODE   PROBLEM\n\
             ns         \"p\\nFORGED\"  \"c\\u001b[2J\"  VF002  image x\\u000ay\n"
        );
    }

    #[test]
    fn without_a_known_pin_one_version_is_expected() {
        let product = Product::load("catalyst").unwrap();
        let expect = Expectations {
            product: Some(&product),
            chart_version: None,
            lock: None,
        };
        let pods = [
            pod(
                "prj-a",
                "a",
                true,
                &[("daprd", "ghcr.io/dapr/daprd:1.15.0", "")],
            ),
            pod(
                "prj-b",
                "b",
                true,
                &[("daprd", "ghcr.io/dapr/daprd:1.16.0", "")],
            ),
        ];
        let problems = check(&pods, &expect).unwrap();
        assert_eq!(problems.len(), 1);
        assert!(
            problems[0]
                .problem
                .contains("1.16.0 while another pod runs 1.15.0"),
            "{problems:?}"
        );
    }

    #[test]
    fn compares_running_digests_with_the_lock() {
        let d = |c: char| format!("sha256:{}", c.to_string().repeat(64));
        let lock_text = format!(
            "apiVersion: opsta-lint/v1\nkind: ReleaseLock\nimages:\n  - image: registry.example/app:1.0\n    digest: {}\n",
            d('a')
        );
        let lock = Lock::parse(&crate::source::Source::new("lock.yaml", lock_text)).unwrap();
        let expect = Expectations {
            product: None,
            chart_version: None,
            lock: Some(&lock),
        };
        let pods = [
            pod(
                "ns",
                "good",
                true,
                &[(
                    "app",
                    "registry.example/app:1.0",
                    &format!("registry.example/app@{}", d('a')),
                )],
            ),
            pod(
                "ns",
                "drift",
                true,
                &[(
                    "app",
                    "registry.example/app:1.0",
                    &format!("registry.example/app@{}", d('b')),
                )],
            ),
            pod(
                "ns",
                "other",
                true,
                &[("app", "registry.example/other:2.0", "")],
            ),
        ];
        let problems = check(&pods, &expect).unwrap();
        let pods_off: Vec<&str> = problems.iter().map(|p| p.pod.as_str()).collect();
        assert_eq!(pods_off, ["drift", "other"], "{problems:#?}");
        assert!(problems[0].problem.contains(&d('b')) && problems[0].problem.contains(&d('a')));
        assert!(problems[1].problem.contains("not in the lock"));
    }
}
