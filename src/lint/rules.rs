//! The rules: each a stable code, a name, a one-line summary and a short doc, and one small check function
//! over the shared context. Product rules read their knowledge from product data; without a product (generic
//! `--schema` mode) they find nothing, so every mode runs the same straight line of checks.

use super::values::{Origin, Values};
use crate::paths::Path;
use crate::product::{Level, Product};
use semver::Version;
use serde_json::Value as Json;

pub use crate::findings::{Code, Finding, Location, Rule, Severity, RULES};

/// Everything the checks read.
pub struct Context<'a> {
    pub values: &'a Values,
    /// What the schema validates: the values as Helm would hand them to validation.
    pub instance: serde_json::Value,
    pub previous: Option<&'a Values>,
    pub product: Option<&'a Product>,
    pub schema: Option<&'a super::schema::Schema>,
    /// `lint --chart`: the chart's and its subcharts' schemas with the values each validates.
    pub chart_tree: Option<&'a super::chart::Checked>,
    pub chart: Option<Version>,
    pub previous_chart: Option<Version>,
    pub allow_major: bool,
    /// The values surface of the product's known releases (OL302, and what the target release reads).
    pub surface: Option<&'a crate::surface::Surface>,
}

impl Context<'_> {
    pub(super) fn finding(&self, code: Code, path: &Path, message: String) -> Finding {
        Finding {
            code,
            severity: code.severity(),
            message,
            location: locate(self.values, self.values.locate(path)),
            path: Some(path.clone()),
        }
    }

    fn finding_in_previous(
        &self,
        previous: &Values,
        code: Code,
        path: &Path,
        message: String,
    ) -> Finding {
        Finding {
            location: locate(previous, previous.locate(path)),
            ..self.finding(code, path, message)
        }
    }

    fn args_finding(&self, code: Code, severity: Severity, message: String) -> Finding {
        Finding::new(code, Location::command_line(), message).with_severity(severity)
    }
}

/// The location of an origin, with the source line (secrets masked) for files.
pub fn locate(values: &Values, origin: Option<&Origin>) -> Location {
    match origin {
        Some(Origin::File {
            source,
            line,
            col,
            len,
        }) => {
            let text = values.sources[*source]
                .text
                .lines()
                .nth(line - 1)
                .unwrap_or_default();
            Location::File {
                file: values.sources[*source].name.clone(),
                line: *line,
                col: *col,
                len: *len,
                text: crate::secrets::mask_text(text),
            }
        }
        Some(Origin::Set { arg, .. }) => Location::CommandLine {
            arg: Some(values.set_text(*arg)),
        },
        None => match values.sources.last() {
            Some(source) => Location::File {
                file: source.name.clone(),
                line: 1,
                col: 1,
                len: 0,
                text: String::new(),
            },
            None => Location::command_line(),
        },
    }
}

/// A check: one rule's (or a family's) logic over the context.
pub type Check = fn(&Context) -> Vec<Finding>;

/// Every check, in the order their findings are produced.
pub static CHECKS: &[Check] = &[
    super::schema::check,
    duplicate_keys,
    required_secrets,
    sticky_flags,
    dropped_keys,
    renamed_keys,
    super::surface::check,
    version_moves,
    default_changes,
    pinned_components,
    product_version_tag,
    inline_secrets,
];

/// OL003: keys written twice in one mapping.
fn duplicate_keys(ctx: &Context) -> Vec<Finding> {
    ctx.values
        .duplicates
        .iter()
        .map(|d| {
            let message = format!(
                "\"{}\" is written again here (first on line {}); Helm keeps this later value",
                d.name, d.first_line
            );
            Finding::new(Code::OL003, locate(ctx.values, Some(&d.origin)), message)
        })
        .collect()
}

/// Runs every check and settles overlaps: a generic finding gives way to a specific finding at the same key
/// or above it. Findings are sorted by file, line, column and code.
pub fn run(ctx: &Context) -> Vec<Finding> {
    let mut findings: Vec<Finding> = CHECKS.iter().flat_map(|check| check(ctx)).collect();
    // A key of the target release is never unknown, whatever the newest release's schema says.
    findings.retain(|f| {
        f.code != Code::OL002
            || f.path
                .as_ref()
                .is_none_or(|p| !super::surface::read_by_target(ctx, p))
    });
    let specific: Vec<Path> = findings
        .iter()
        .filter(|f| !f.code.rule().generic)
        .filter_map(|f| f.path.clone())
        .collect();
    findings.retain(|f| {
        !f.code.rule().generic
            || f.path
                .as_ref()
                .is_none_or(|p| !specific.iter().any(|s| p.starts_with(s)))
    });
    let order = |f: &Finding| match &f.location {
        Location::File {
            file, line, col, ..
        } => (0, file_rank(ctx, file), *line, *col),
        Location::CommandLine { arg: Some(_) } => (1, 0, 0, 0),
        _ => (2, 0, 0, 0),
    };
    findings.sort_by(|a, b| {
        order(a)
            .cmp(&order(b))
            .then(a.code.as_str().cmp(b.code.as_str()))
            .then(a.message.cmp(&b.message))
    });
    findings
        .dedup_by(|a, b| a.code == b.code && a.location == b.location && a.message == b.message);
    findings
}

fn file_rank(ctx: &Context, file: &str) -> usize {
    let current = ctx.values.sources.iter().position(|s| s.name == file);
    let previous = ctx
        .previous
        .and_then(|p| p.sources.iter().position(|s| s.name == file));
    current.or(previous.map(|i| 1000 + i)).unwrap_or(usize::MAX)
}

/// A dotted path from product data as a concrete path (no wildcards).
fn dotted(path: &str) -> Path {
    Path(
        path.split('.')
            .map(|k| crate::paths::Seg::Key(k.to_string()))
            .collect(),
    )
}

fn is_set(values: &Values, path: &str) -> bool {
    !crate::paths::find(&values.json, path).is_empty()
}

// ---- OL101 / OL102: required secrets ----

fn required_secrets(ctx: &Context) -> Vec<Finding> {
    let (Some(product), Some(chart)) = (ctx.product, &ctx.chart) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for secret in product
        .required_secrets
        .iter()
        .filter(|s| s.applies_to(chart))
    {
        let alternative = secret.unless_set.as_deref();
        if alternative.is_some_and(|a| {
            ctx.values
                .get(&dotted(a))
                .is_some_and(|v| !is_blank(v, &[]))
        }) {
            continue;
        }
        let path = dotted(&secret.path);
        let value = ctx.values.get(&path);
        let or_alternative = alternative
            .map(|a| format!(" (or set {a})"))
            .unwrap_or_default();
        if value.is_none_or(|v| is_blank(v, &secret.placeholders)) {
            let what = if value.is_some() {
                "is empty or a placeholder"
            } else {
                "is missing"
            };
            out.push(ctx.finding(
                Code::OL101,
                &path,
                format!("{} {what}: chart {chart} requires it on install and on every upgrade{or_alternative}", secret.path),
            ));
        } else if matches!(ctx.values.origin(&path), Some(Origin::Set { .. })) {
            out.push(ctx.finding(
                Code::OL102,
                &path,
                format!("{} is given only with --set; keep it in a git-ignored secrets values file passed with -f on every upgrade", secret.path),
            ));
        }
    }
    out
}

/// Empty, whitespace, a listed placeholder (any case), or a whole `${...}` / `<...>` template.
fn is_blank(value: &Json, placeholders: &[String]) -> bool {
    let Json::String(s) = value else {
        return value.is_null();
    };
    let s = s.trim();
    s.is_empty()
        || placeholders.iter().any(|p| p.eq_ignore_ascii_case(s))
        || (s.starts_with("${") && s.ends_with('}'))
        || (s.starts_with('<') && s.ends_with('>'))
}

// ---- OL201: sticky flags ----

fn sticky_flags(ctx: &Context) -> Vec<Finding> {
    let (Some(product), Some(previous)) = (ctx.product, ctx.previous) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for sticky in &product.sticky {
        let path = dotted(&sticky.path);
        let was_on = previous.get(&path).is_some_and(is_on);
        let now = ctx.values.get(&path);
        if was_on && !now.is_some_and(is_on) {
            let state = if now.is_some() {
                "is now off"
            } else {
                "is now absent"
            };
            out.push(ctx.finding(
                Code::OL201,
                &path,
                format!(
                    "{} was on in the previous values (created with {}) and {state}: set {}: true and pass {} again ({})",
                    sticky.path, sticky.flag, sticky.path, sticky.flag, sticky.why
                ),
            ));
        }
    }
    out
}

fn is_on(value: &Json) -> bool {
    matches!(value, Json::Bool(true)) || matches!(value, Json::String(s) if s == "true")
}

// ---- OL202: dropped keys ----

fn dropped_keys(ctx: &Context) -> Vec<Finding> {
    let Some(previous) = ctx.previous else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for leaf in previous.leaf_paths() {
        if leaf.lookup(&ctx.values.json).is_some() {
            continue;
        }
        let place = match locate(previous, previous.origin(&leaf)) {
            Location::File { file, line, .. } => format!(" ({file}:{line})"),
            _ => String::new(),
        };
        out.push(ctx.finding_in_previous(
            previous,
            Code::OL202,
            &leaf,
            format!("{leaf} was set in the previous values{place} but is absent now: Helm resets it to the chart default"),
        ));
    }
    out
}

// ---- OL301: renamed or removed keys ----

fn renamed_keys(ctx: &Context) -> Vec<Finding> {
    let (Some(product), Some(chart)) = (ctx.product, &ctx.chart) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for rename in product.renames.iter().filter(|r| r.version <= *chart) {
        for path in crate::paths::find(&ctx.values.json, &rename.from) {
            let note = rename
                .note
                .as_deref()
                .map(|n| format!(" ({n})"))
                .unwrap_or_default();
            let message = match &rename.to {
                Some(to) => {
                    let to = crate::paths::substitute(&rename.from, to, &path);
                    format!("{path} was renamed to {to} in chart {}{note}; chart {chart} ignores the old key", rename.version)
                }
                None => format!(
                    "{path} was removed in chart {}{note}; chart {chart} ignores it",
                    rename.version
                ),
            };
            out.push(ctx.finding(Code::OL301, &path, message));
        }
    }
    out
}

// ---- OL401 / OL402: version moves ----

fn version_moves(ctx: &Context) -> Vec<Finding> {
    let (Some(chart), Some(previous)) = (&ctx.chart, &ctx.previous_chart) else {
        return Vec::new();
    };
    let policy = ctx.product.map(|p| p.policy.clone()).unwrap_or_default();
    let mut out = Vec::new();
    if chart.major != previous.major && !ctx.allow_major {
        if let Some(severity) = severity_of(policy.cross_major) {
            out.push(ctx.args_finding(
                Code::OL401,
                severity,
                format!(
                    "upgrading from chart {previous} to {chart} crosses major {} to {}: follow the vendor's upgrade guide for the new major, then pass --allow-major",
                    previous.major, chart.major
                ),
            ));
        }
    }
    if chart < previous {
        if let Some(severity) = severity_of(policy.downgrade) {
            let why = if policy.downgrade == Level::Error {
                "this product does not support downgrades (migrations are forward-only)"
            } else {
                "rolling back is safe only between adjacent versions"
            };
            out.push(ctx.args_finding(
                Code::OL402,
                severity,
                format!("chart {chart} is older than the previous chart {previous}: {why}"),
            ));
        }
    }
    out
}

fn severity_of(level: Level) -> Option<Severity> {
    match level {
        Level::Error => Some(Severity::Error),
        Level::Warn => Some(Severity::Warning),
        Level::Allow => None,
    }
}

// ---- OL403: default changes crossed ----

fn default_changes(ctx: &Context) -> Vec<Finding> {
    let (Some(product), Some(chart), Some(previous)) =
        (ctx.product, &ctx.chart, &ctx.previous_chart)
    else {
        return Vec::new();
    };
    product
        .default_changes
        .iter()
        .filter(|c| *previous < c.version && c.version <= *chart)
        .filter(|c| !c.paths.iter().any(|p| is_set(ctx.values, p)))
        .map(|c| {
            let keys = c.paths.join(", ");
            ctx.args_finding(
                Code::OL403,
                Severity::Warning,
                format!("upgrading from {previous} to {chart} crosses chart {}: {} (these values set none of: {keys})", c.version, c.message),
            )
        })
        .collect()
}

// ---- OL404: pinned components ----

fn pinned_components(ctx: &Context) -> Vec<Finding> {
    let Some(product) = ctx.product else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for component in &product.pinned_components {
        let pin = crate::policy::Pin::new(product, component, ctx.chart.as_ref());
        let pinned = pin
            .version
            .map(|v| {
                format!(
                    " (chart {} pins {} {v})",
                    ctx.chart.as_ref().expect("checked"),
                    component.name
                )
            })
            .unwrap_or_default();
        for pattern in &component.forbidden_paths {
            for path in crate::paths::find(&ctx.values.json, pattern) {
                let value = path.lookup(&ctx.values.json);
                let keeps_pin = value
                    .and_then(Json::as_str)
                    .is_some_and(|tag| pin.tag(tag).keeps_pin());
                if keeps_pin || super::surface::is_target_default(ctx, pattern, value) {
                    continue;
                }
                out.push(ctx.finding(
                    Code::OL404,
                    &path,
                    format!("{path} sets {} on its own{pinned}: it moves only with the chart; remove the key (or set it to the chart version)", component.name),
                ));
            }
        }
    }
    out
}

// ---- OL501: product version tag ----

fn product_version_tag(ctx: &Context) -> Vec<Finding> {
    let (Some(product), Some(chart)) = (ctx.product, &ctx.chart) else {
        return Vec::new();
    };
    let Some(rule) = crate::policy::ProductVersion::of(product, Some(chart)) else {
        return Vec::new();
    };
    let (tag, Some(wanted)) = (rule.rule, &rule.want) else {
        return Vec::new();
    };
    let path = dotted(&tag.path);
    let problem = match ctx.values.get(&path) {
        None => {
            let default = tag
                .mutable
                .first()
                .map(|d| format!(" (the chart default, {d}, is a mutable tag)"))
                .unwrap_or_default();
            format!(
                "{} is not set{default}: set it to {wanted}, the product version being installed",
                tag.path
            )
        }
        Some(Json::String(s)) if rule.tag(s) == Some(crate::policy::ProductTag::Mutable) => {
            format!(
                "{} is {s}, a mutable tag: set it to {wanted}, the product version being installed",
                tag.path
            )
        }
        Some(Json::String(s)) if rule.tag(s).is_none() => return Vec::new(),
        Some(other) => {
            let shown = match other {
                Json::String(s) => s.clone(),
                v => v.to_string(),
            };
            format!("{} is {shown} but the product version being installed is {chart}: set it to {wanted}", tag.path)
        }
    };
    vec![ctx.finding(Code::OL501, &path, problem)]
}

// ---- OL502: inline secrets ----

fn inline_secrets(ctx: &Context) -> Vec<Finding> {
    let Some(rule) = ctx.product.and_then(|p| p.inline_secrets.as_ref()) else {
        return Vec::new();
    };
    let hint = &rule.secrets_file_hint;
    let mut out = Vec::new();
    for pattern in &rule.paths {
        for path in crate::paths::find(&ctx.values.json, pattern) {
            let mut leaves = Vec::new();
            collect_leaves(&ctx.values.json, &path, &mut leaves);
            for leaf in leaves {
                let Some(Origin::File { source, .. }) = ctx.values.origin(&leaf) else {
                    continue;
                };
                let file = &ctx.values.sources[*source].name;
                let base = std::path::Path::new(file)
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                if base != *hint {
                    out.push(ctx.finding(
                        Code::OL502,
                        &leaf,
                        format!("{leaf} is a secret written in {file}: move it to {hint} (git-ignored, passed with -f after the values file)"),
                    ));
                }
            }
        }
    }
    out
}

fn collect_leaves(values: &Json, path: &Path, out: &mut Vec<Path>) {
    match path.lookup(values) {
        Some(Json::Object(map)) if !map.is_empty() => {
            for k in map.keys() {
                collect_leaves(values, &path.key(k), out);
            }
        }
        Some(Json::Null) | None => {}
        Some(_) => out.push(path.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_templates_count_as_blank() {
        let listed = vec!["changeme".to_string()];
        for v in ["", "  ", "CHANGEME", "${TOKEN}", "<join-token>"] {
            assert!(is_blank(&Json::from(v), &listed), "{v}");
        }
        assert!(!is_blank(&Json::from("jt-real-1"), &listed));
    }
}
