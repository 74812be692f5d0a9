//! `opsta-lint lint`: values against the chart major's schema and the upgrade rules.
//! One straight line: read and merge the values, choose product, chart version and schema, run every check,
//! report.

pub mod chart;
pub mod helm_read;
mod reach;
pub mod report;
pub mod rules;
pub mod schema;
pub mod surface;

pub mod values;

use crate::product::{parse_version, Product};
use anyhow::{bail, Result};
use helm_read::Helm;
use report::{Format, Run};
use rules::{Context, Severity};
use schema::{Compiled, Schema};
use values::Values;

// Arguments of `opsta-lint lint`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Values files, merged in order as Helm merges repeated -f (later files win); `-` reads stdin.
    #[arg(required = true, value_name = "VALUES_FILE")]
    pub files: Vec<String>,
    /// The product (catalyst, opsta-ai-gateway). Inferred from the values when they are unmistakably one product's.
    #[arg(long, value_name = "NAME")]
    pub product: Option<String>,
    /// The chart version being installed; picks the schema of its major (default: the newest known).
    #[arg(long, value_name = "SEMVER")]
    pub chart_version: Option<String>,
    /// Validate against this values.schema.json instead (generic mode: only the schema rules, with Helm 4's verdict).
    #[arg(long, value_name = "FILE")]
    pub schema: Option<String>,
    /// Validate as Helm 4 does against this chart (folder or .tgz): its values.schema.json over its values.yaml
    /// defaults, and each subchart's schema over the values under the subchart's name (generic mode).
    #[arg(long, value_name = "DIR|TGZ", conflicts_with_all = ["schema", "product"])]
    pub chart: Option<String>,
    /// The values of the deployed release (repeatable, merged in order), for the dropped-key and sticky rules.
    #[arg(long, value_name = "FILE")]
    pub previous_values: Vec<String>,
    /// The chart version currently deployed, for the version rules.
    #[arg(long, value_name = "SEMVER")]
    pub previous_chart_version: Option<String>,
    /// Set values as Helm does (a.b=c,d[0]=e), applied after the files.
    #[arg(long, value_name = "KEY=VALUE")]
    pub set: Vec<String>,
    /// Output format.
    #[arg(short, long, value_enum, default_value = "human")]
    pub output: Format,
    /// When to colour the human output (auto: on a terminal, unless NO_COLOR is set).
    #[arg(long, value_enum, value_name = "WHEN", default_value = "auto")]
    pub color: crate::output::ColorWhen,
    /// Accept an upgrade across chart majors (after following the vendor's upgrade guide).
    #[arg(long)]
    pub allow_major: bool,
    /// Lint every file on its own instead of merging them (what the pre-commit hook does).
    #[arg(long)]
    pub each: bool,
    /// The Helm that will install the values: where Helm 3 and 4 read a values file differently (several YAML
    /// documents, a key named <<), lint gives its verdict (asked with `helm version` only then). Default:
    /// HELM_BIN when run as a Helm plugin, else Helm 4's reading.
    #[arg(long, value_name = "PATH")]
    pub helm: Option<String>,
    /// Rule codes not to report (comma-separated or repeated), e.g. OL101.
    #[arg(long, value_name = "CODES", value_delimiter = ',')]
    pub ignore: Vec<String>,
    /// `--release NAME`: the deployed release's values and chart version serve as --previous-values and
    /// --previous-chart-version (explicit flags win).
    #[command(flatten)]
    pub cluster: crate::cluster::ClusterArgs,
}

pub fn run(args: &Args) -> Result<u8> {
    let ignored = crate::findings::Code::parse_list("OL", &args.ignore)?;
    let helm = helm_read::HelmInUse::new(args.helm.as_deref());
    let explicit = !args.previous_values.is_empty() && args.previous_chart_version.is_some();
    let deployed = match explicit {
        true => None,
        false => crate::helm_release::previous(&args.cluster)?,
    };
    let previous = match (args.previous_values.is_empty(), &deployed) {
        (false, _) => Some(Values::read_with(&args.previous_values, &[], &helm)?),
        (true, Some(deployed)) => Some(Values::from_source(deployed.values.clone())?),
        (true, None) => None,
    };
    let previous_chart = args.previous_chart_version.clone();
    let previous_chart = previous_chart.or_else(|| deployed.map(|d| d.chart_version));
    let groups: Vec<Vec<String>> = match args.each {
        true => args.files.iter().map(|f| vec![f.clone()]).collect(),
        false => vec![args.files.clone()],
    };
    let mut runs = Vec::new();
    let mut secrets = Vec::new();
    let mut schemas = Compiled::default();
    if let Some(previous) = &previous {
        secrets.extend(secret_strings(&previous.json));
    }
    let mut failed = false;
    for files in &groups {
        let run = Values::read_with(files, &args.set, &helm).and_then(|values| {
            secrets.extend(secret_strings(&values.json));
            lint(
                args,
                &helm,
                files,
                &values,
                previous.as_ref(),
                previous_chart.as_deref(),
                &mut schemas,
            )
        });
        match run {
            Ok(mut run) => {
                crate::findings::ignore(&mut run.findings, &ignored);
                runs.push(run)
            }
            // With --each, a file that cannot be linted is reported and the others still are.
            Err(err) if args.each => {
                failed = true;
                crate::output::print_error(&err);
            }
            Err(err) => return Err(err),
        }
    }
    // The compiled schemas live until the process ends: freeing them took longer than all the rules' checks.
    std::mem::forget(schemas);
    let text = redact(&report::render(&runs, args.output), &secrets);
    match args.output {
        Format::Human => crate::output::write_stdout(&text, args.color)?,
        _ => crate::output::write_plain(&text)?,
    }
    Ok(match (failed, report::count(&runs, Severity::Error)) {
        (true, _) => crate::exit::FAILURE,
        (false, 0) => crate::exit::OK,
        (false, _) => crate::exit::FINDINGS,
    })
}

/// The files of one run as a message names them.
fn named(files: &[String]) -> String {
    let names: Vec<String> = files
        .iter()
        .map(|f| crate::printable::shown(f).into_owned())
        .collect();
    names.join(", ")
}

/// Chooses product, chart version and schema, then runs every check.
fn lint(
    args: &Args,
    helm: &helm_read::HelmInUse,
    files: &[String],
    values: &Values,
    previous: Option<&Values>,
    previous_chart: Option<&str>,
    schemas: &mut Compiled,
) -> Result<Run> {
    let (product, inferred_from) =
        choose_product(args, values).map_err(|e| e.context(named(files)))?;
    let chart = args
        .chart_version
        .as_deref()
        .map(parse_version)
        .transpose()?;
    let assumed = product
        .as_ref()
        .and_then(|p| p.latest().cloned())
        .filter(|_| chart.is_none());
    let chart_assumed = assumed.is_some();
    let chart = chart.or(assumed);
    let tree = args
        .chart
        .as_deref()
        .map(|dir| chart::Chart::read(dir, helm))
        .transpose()?;
    let checked = match &tree {
        Some(tree) => Some(tree.check(&values.for_validation(None))?),
        None => None,
    };
    let chart_defaults = match &tree {
        Some(tree) => Some(tree.defaults_files().join(", ")).filter(|f| !f.is_empty()),
        None => args.schema.as_deref().and_then(defaults_beside),
    };
    let defaults = match (&tree, &chart_defaults) {
        (None, Some(file)) => {
            Some(Values::read_with(std::slice::from_ref(file), &[], helm)?.for_validation(None))
        }
        _ => None,
    };
    let instance = match (&checked, &args.schema) {
        (Some(checked), _) => checked.instance.clone(),
        (None, Some(_)) => values.for_validation(defaults.as_ref()),
        (None, None) => values.json.clone(),
    };
    // Helm 3 writes the values out as YAML and reads them back before validating: a key named `<<` merges then.
    let instance = match helm_read::has_merge_named_key(&instance) && helm.major()? == Helm::V3 {
        true => helm_read::helm3_merge_keys(instance),
        false => instance,
    };
    // A bundled schema is compiled for these values only (see reach.rs); a --schema file is compiled whole,
    // once per run, so that an invalid schema fails as it fails in Helm.
    let schema = match (&args.schema, &product, &chart) {
        (Some(file), _, _) => Some(schemas.get(file, || Schema::read(file))?),
        (None, Some(product), Some(chart)) => {
            let name = product.major(chart.major)?.schema.clone();
            let text = product.schema_text(chart.major)?;
            Some(schemas.cut(Schema::reached(name, text, &instance)?))
        }
        _ => None,
    };
    let surface = match &product {
        Some(product) if args.schema.is_none() => product.surface()?,
        _ => None,
    };
    let ctx = Context {
        values,
        instance,
        previous,
        product: product.as_ref(),
        schema,
        chart_tree: checked.as_ref(),
        chart: chart.clone(),
        previous_chart: previous_chart.map(parse_version).transpose()?,
        allow_major: args.allow_major,
        surface: surface.as_ref(),
    };
    let findings = rules::run(&ctx);
    Ok(Run {
        files: files.to_vec(),
        product: product.map(|p| p.name),
        inferred_from,
        chart: chart.map(|c| c.to_string()),
        chart_assumed,
        schema: match &tree {
            Some(tree) => Some(format!("chart {} {}", tree.name, tree.version)),
            None => schema.map(|s| s.name.clone()),
        },
        chart_defaults,
        findings,
    })
}

/// The chart's `values.yaml` beside a `values.schema.json`, as in a chart folder.
fn defaults_beside(schema: &str) -> Option<String> {
    let file = std::path::Path::new(schema).with_file_name("values.yaml");
    file.is_file().then(|| file.to_string_lossy().into_owned())
}

/// `--product`, or the product whose fingerprint keys the values carry most of (a tie is an error). With `--schema` and no `--product`,
/// no product: generic mode.
fn choose_product(args: &Args, values: &Values) -> Result<(Option<Product>, Vec<String>)> {
    if let Some(name) = &args.product {
        return Ok((Some(Product::load(name)?), Vec::new()));
    }
    if args.schema.is_some() || args.chart.is_some() {
        return Ok((None, Vec::new()));
    }
    let products = Product::all()?;
    let mut matches: Vec<(&Product, Vec<&str>)> = products
        .iter()
        .map(|p| (p, p.fingerprint_in(&values.json)))
        .filter(|(_, keys)| !keys.is_empty())
        .collect();
    matches.sort_by_key(|(_, keys)| std::cmp::Reverse(keys.len()));
    let shown = |(p, keys): &(&Product, Vec<&str>)| format!("{} ({})", p.name, keys.join(", "));
    match matches.as_slice() {
        [] => {
            let names: Vec<&str> = products.iter().map(|p| p.name.as_str()).collect();
            bail!(
                "cannot tell which product these values are for: pass --product ({}) or --schema FILE",
                names.join(", ")
            )
        }
        [first, second, ..] if first.1.len() == second.1.len() => {
            bail!(
                "these values look as much like {} as like {}: pass --product",
                shown(first),
                shown(second)
            )
        }
        [(product, keys), ..] => Ok((
            Some((*product).clone()),
            keys.iter().map(|k| k.to_string()).collect(),
        )),
    }
}

/// Strings stored under secret keys anywhere in the values (at least 4 characters long).
fn secret_strings(value: &serde_json::Value) -> Vec<String> {
    let mut out = Vec::new();
    collect_secrets(value, false, &mut out);
    out
}

fn collect_secrets(value: &serde_json::Value, secret: bool, out: &mut Vec<String>) {
    match value {
        serde_json::Value::String(s) if secret && s.trim().len() >= 4 => {
            out.push(s.trim().to_string())
        }
        serde_json::Value::Object(map) => {
            for (k, v) in map {
                collect_secrets(v, secret || crate::secrets::is_secret_key(k), out);
            }
        }
        serde_json::Value::Array(items) => {
            items.iter().for_each(|v| collect_secrets(v, secret, out))
        }
        _ => {}
    }
}

/// The last safety net: any secret value of the inputs that reached the output text is masked.
fn redact(text: &str, secrets: &[String]) -> String {
    let mut text = text.to_string();
    let mut secrets: Vec<&String> = secrets.iter().collect();
    secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    for secret in secrets {
        if text.contains(secret.as_str()) {
            text = text.replace(secret.as_str(), crate::secrets::MASK);
        }
    }
    text
}

// `opsta-lint rules [CODE]`: the rule list, or one rule's doc.
#[derive(Debug, clap::Args)]
pub struct RulesArgs {
    /// A rule code or name (e.g. OL101, join-token-missing) to show its documentation.
    pub rule: Option<String>,
}

pub fn run_rules(args: &RulesArgs) -> Result<u8> {
    let mut out = String::new();
    match &args.rule {
        None => {
            for r in rules::RULES {
                out.push_str(&format!(
                    "{}  {:<22} {:<8} {}\n",
                    r.code,
                    r.name,
                    r.severity.as_str(),
                    r.summary
                ));
            }
        }
        Some(wanted) => {
            let Some(code) = crate::findings::Code::find(wanted) else {
                bail!("no rule {wanted} (see `opsta-lint rules`)");
            };
            let r = code.rule();
            out.push_str(&format!(
                "{} {} ({})\n\n{}\n\n{}\n",
                r.code,
                r.name,
                r.severity.as_str(),
                r.summary,
                r.doc
            ));
        }
    }
    print!("{out}");
    Ok(crate::exit::OK)
}
