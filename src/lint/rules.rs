//! The rules: each a stable code, a name, a one-line summary and a short doc, and one small check function
//! over the shared context. Product rules read their knowledge from product data; without a product (generic
//! `--schema` mode) they find nothing, so every mode runs the same straight line of checks.

use super::values::{Origin, Values};
use crate::paths::Path;
use crate::product::{Level, Product};
use semver::Version;
use serde_json::Value as Json;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// A rule's identity and documentation.
#[derive(Debug)]
pub struct Rule {
    pub code: &'static str,
    pub name: &'static str,
    /// The severity it reports with unless product policy says otherwise.
    pub severity: Severity,
    pub summary: &'static str,
    pub doc: &'static str,
    /// A generic finding gives way to a specific rule's finding at the same key (or above it).
    pub generic: bool,
}

pub static RULES: &[Rule] = &[
    Rule {
        code: "OL001",
        name: "schema-violation",
        severity: Severity::Error,
        summary: "A value does not match the chart major's values schema.",
        doc: "The merged values (files and --set) are validated against the JSON Schema of the target chart major \
              (bundled for --product, or the file given with --schema). Every violation is reported at the key \
              that set the value: wrong types, values outside an enum, patterns, missing required keys. \
              Helm 4 refuses to render such values, so the upgrade would fail.",
        generic: true,
    },
    Rule {
        code: "OL002",
        name: "unknown-key",
        severity: Severity::Error,
        summary: "A key the schema does not allow: a typo, or a key of another chart version.",
        doc: "The schema closes this map (additionalProperties or unevaluatedProperties is false), so the key is \
              either misspelled or belongs to another chart version; a key the chart never reads silently does \
              nothing. The message suggests the closest key the schema knows.",
        generic: true,
    },
    Rule {
        code: "OL003",
        name: "duplicate-key",
        severity: Severity::Warning,
        summary: "A key is written twice in the same mapping of a values file; the later one wins.",
        doc: "Helm reads such a file without a word and keeps the value written last, so the earlier one silently \
              does nothing: almost always a mistake (two edits of one setting, a paste in the wrong place). \
              Reported at the later key, naming the line of the earlier one.",
        generic: false,
    },
    Rule {
        code: "OL101",
        name: "join-token-missing",
        severity: Severity::Error,
        summary: "A required secret (Catalyst's join_token) is missing, empty or a placeholder.",
        doc: "The chart needs the secret on install and on every upgrade, unless the alternative key named by the \
              product data is set (Catalyst: agent.existingJoinTokenSecret.name). Empty strings and placeholders \
              such as ${JOIN_TOKEN}, <join-token> or changeme count as missing, and so does any whole value written \
              as ${...} or <...>. The value is never printed.",
        generic: false,
    },
    Rule {
        code: "OL102",
        name: "join-token-set-only",
        severity: Severity::Warning,
        summary: "A required secret is given only with --set; keep it in a values (secrets) file.",
        doc: "A secret given only on the command line is easily forgotten on the next upgrade, which then fails or \
              reconnects with nothing. Keep it in a git-ignored secrets values file passed with -f on every upgrade.",
        generic: false,
    },
    Rule {
        code: "OL201",
        name: "sticky-flag-dropped",
        severity: Severity::Error,
        summary: "A sticky setting that was on in the previous values is now off or absent.",
        doc: "Some settings mirror how the product was created and must stay on across upgrades (Catalyst: \
              management.config.tunnel.enabled mirrors the region's --enable-public-management-api). Needs \
              --previous-values. The message says what the product was created with and what to pass again.",
        generic: false,
    },
    Rule {
        code: "OL202",
        name: "key-dropped",
        severity: Severity::Warning,
        summary: "A key set in the previous values is absent now; Helm resets it to the chart default.",
        doc: "With --previous-values, every key set before but absent now is reported, where it was set before. \
              Helm does not keep values that are not passed again: the upgrade silently returns them to the \
              chart's defaults.",
        generic: true,
    },
    Rule {
        code: "OL301",
        name: "renamed-key",
        severity: Severity::Error,
        summary: "A key the target chart version renamed or removed.",
        doc: "The chart no longer reads this key from the named version on, so its setting would silently be \
              lost. The message names the new key and the version that renamed it, or says it was removed.",
        generic: false,
    },
    Rule {
        code: "OL302",
        name: "key-added-later",
        severity: Severity::Error,
        summary: "A key that only a later chart version reads: the target chart version ignores it.",
        doc: "The values surface of every known release (schema/<product>/surface.json, derived from the chart's \
              own default values, schema and README) says which keys each release reads. A key that the target \
              chart version does not read but a later release does was added after it: the setting would silently \
              do nothing (e.g. shared.scheduling.nodeSelector on Catalyst 1.48.0, added in 1.51.0). Between two \
              known releases the keys of both count as read. See docs/versions.md.",
        generic: false,
    },
    Rule {
        code: "OL401",
        name: "major-crossing",
        severity: Severity::Error,
        summary: "The upgrade crosses a chart major version without --allow-major.",
        doc: "Vendors reserve breaking value changes for major versions. With --previous-chart-version, an upgrade \
              from one major to another is an error (or a warning, by product policy) unless --allow-major says \
              the major's upgrade guide was followed.",
        generic: false,
    },
    Rule {
        code: "OL402",
        name: "downgrade",
        severity: Severity::Error,
        summary: "The target chart version is older than the previous one.",
        doc: "With --previous-chart-version. Product policy decides: Opsta AI Gateway refuses downgrades (database \
              migrations are forward-only); Catalyst warns (rollback is safe only between adjacent versions).",
        generic: false,
    },
    Rule {
        code: "OL403",
        name: "default-changed",
        severity: Severity::Warning,
        summary: "The upgrade crosses a release that changed a default these values rely on.",
        doc: "With --previous-chart-version. A release changed a default in a way that alters behaviour (Catalyst \
              1.76: a self-hosted PostgreSQL by default, Dapr scheduler moved from etcd to PostgreSQL without \
              migration). Reported when the values leave every key of that decision unset.",
        generic: false,
    },
    Rule {
        code: "OL404",
        name: "pinned-component",
        severity: Severity::Error,
        summary: "Values set the version or image of a component the chart version pins (Catalyst: Dapr).",
        doc: "The chart version pins the component, and it moves only with the chart: mixing versions is \
              unsupported. Values must not set the keys the product data lists as the component's version or \
              image tag; a value equal to the chart version being installed is what the chart itself writes \
              there (vendor image tags follow the chart version) and is accepted.",
        generic: false,
    },
    Rule {
        code: "OL501",
        name: "product-version-tag",
        severity: Severity::Error,
        summary: "The shared image tag is mutable (dev, latest) or differs from the product version installed.",
        doc: "Opsta AI Gateway pins every image with one tag, images.builtTag, which must equal the product \
              version being installed (e.g. v1.25.0). Its default, dev, is a mutable tag that is never right in \
              production.",
        generic: false,
    },
    Rule {
        code: "OL502",
        name: "inline-secret",
        severity: Severity::Warning,
        summary: "A secret is written in a values file that is not the secrets file.",
        doc: "Secrets belong in the separate, git-ignored secrets values file (Opsta AI Gateway: \
              secrets-values.yaml, applied with -f values.yaml -f secrets-values.yaml), never in the values file \
              that is committed.",
        generic: false,
    },
];

/// The rule with this code.
pub fn rule(code: &str) -> &'static Rule {
    RULES
        .iter()
        .find(|r| r.code == code)
        .unwrap_or_else(|| panic!("rule {code} is listed in RULES"))
}

/// Where a finding points.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Location {
    File {
        file: String,
        line: usize,
        col: usize,
        len: usize,
        /// The source line, with secrets masked.
        text: String,
    },
    Set {
        /// The `--set` argument, with secrets masked.
        arg: String,
    },
    /// A command-line setting such as --previous-chart-version.
    Args,
}

#[derive(Debug, Clone)]
pub struct Finding {
    pub rule: &'static Rule,
    pub severity: Severity,
    pub message: String,
    pub path: Option<Path>,
    pub location: Location,
}

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
    pub surface: Option<&'a super::surface::Surface>,
}

impl Context<'_> {
    pub(super) fn finding(&self, code: &str, path: &Path, message: String) -> Finding {
        Finding {
            rule: rule(code),
            severity: rule(code).severity,
            message,
            location: locate(self.values, self.values.locate(path)),
            path: Some(path.clone()),
        }
    }

    fn finding_in_previous(
        &self,
        previous: &Values,
        code: &str,
        path: &Path,
        message: String,
    ) -> Finding {
        Finding {
            location: locate(previous, previous.locate(path)),
            ..self.finding(code, path, message)
        }
    }

    fn args_finding(&self, code: &str, severity: Severity, message: String) -> Finding {
        Finding {
            rule: rule(code),
            severity,
            message,
            path: None,
            location: Location::Args,
        }
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
        Some(Origin::Set { arg, .. }) => Location::Set {
            arg: values.set_text(*arg),
        },
        None => match values.sources.last() {
            Some(source) => Location::File {
                file: source.name.clone(),
                line: 1,
                col: 1,
                len: 0,
                text: String::new(),
            },
            None => Location::Args,
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
        .map(|d| Finding {
            rule: rule("OL003"),
            severity: rule("OL003").severity,
            message: format!(
                "\"{}\" is written again here (first on line {}); Helm keeps this later value",
                d.name, d.first_line
            ),
            path: None,
            location: locate(ctx.values, Some(&d.origin)),
        })
        .collect()
}

/// Runs every check and settles overlaps: a generic finding gives way to a specific finding at the same key
/// or above it. Findings are sorted by file, line, column and code.
pub fn run(ctx: &Context) -> Vec<Finding> {
    let mut findings: Vec<Finding> = CHECKS.iter().flat_map(|check| check(ctx)).collect();
    // A key of the target release is never unknown, whatever the newest release's schema says.
    findings.retain(|f| {
        f.rule.code != "OL002"
            || f.path
                .as_ref()
                .is_none_or(|p| !super::surface::read_by_target(ctx, p))
    });
    let specific: Vec<Path> = findings
        .iter()
        .filter(|f| !f.rule.generic)
        .filter_map(|f| f.path.clone())
        .collect();
    findings.retain(|f| {
        !f.rule.generic
            || f.path
                .as_ref()
                .is_none_or(|p| !specific.iter().any(|s| p.starts_with(s)))
    });
    let order = |f: &Finding| match &f.location {
        Location::File {
            file, line, col, ..
        } => (0, file_rank(ctx, file), *line, *col),
        Location::Set { .. } => (1, 0, 0, 0),
        Location::Args => (2, 0, 0, 0),
    };
    findings.sort_by(|a, b| {
        order(a)
            .cmp(&order(b))
            .then(a.rule.code.cmp(b.rule.code))
            .then(a.message.cmp(&b.message))
    });
    findings.dedup_by(|a, b| {
        a.rule.code == b.rule.code && a.location == b.location && a.message == b.message
    });
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
                "OL101",
                &path,
                format!("{} {what}: chart {chart} requires it on install and on every upgrade{or_alternative}", secret.path),
            ));
        } else if matches!(ctx.values.origin(&path), Some(Origin::Set { .. })) {
            out.push(ctx.finding(
                "OL102",
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
                "OL201",
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
            "OL202",
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
            out.push(ctx.finding("OL301", &path, message));
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
                "OL401",
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
                "OL402",
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
                "OL403",
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
        let pinned = ctx
            .chart
            .as_ref()
            .and_then(|c| product.pinned_version(&component.name, c))
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
                if is_chart_version(value, ctx.chart.as_ref())
                    || super::surface::is_target_default(ctx, pattern, value)
                {
                    continue;
                }
                out.push(ctx.finding(
                    "OL404",
                    &path,
                    format!("{path} sets {} on its own{pinned}: it moves only with the chart; remove the key (or set it to the chart version)", component.name),
                ));
            }
        }
    }
    out
}

/// A tag equal to the chart version being installed is what the chart itself writes there (every vendor
/// image tag follows the chart version), so it moves with the chart.
fn is_chart_version(value: Option<&Json>, chart: Option<&Version>) -> bool {
    match (value, chart) {
        (Some(Json::String(s)), Some(chart)) => s.trim_start_matches('v') == chart.to_string(),
        _ => false,
    }
}

// ---- OL501: product version tag ----

fn product_version_tag(ctx: &Context) -> Vec<Finding> {
    let (Some(product), Some(chart)) = (ctx.product, &ctx.chart) else {
        return Vec::new();
    };
    let Some(tag) = &product.product_version_tag else {
        return Vec::new();
    };
    let path = dotted(&tag.path);
    let wanted = format!("{}{chart}", tag.tag_prefix);
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
        Some(Json::String(s)) if tag.mutable.iter().any(|m| m == s) => {
            format!(
                "{} is {s}, a mutable tag: set it to {wanted}, the product version being installed",
                tag.path
            )
        }
        Some(Json::String(s)) if *s == wanted => return Vec::new(),
        Some(other) => {
            let shown = match other {
                Json::String(s) => s.clone(),
                v => v.to_string(),
            };
            format!("{} is {shown} but the product version being installed is {chart}: set it to {wanted}", tag.path)
        }
    };
    vec![ctx.finding("OL501", &path, problem)]
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
                        "OL502",
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
    fn codes_are_unique_and_docs_present() {
        let mut codes: Vec<&str> = RULES.iter().map(|r| r.code).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), RULES.len());
        for r in RULES {
            assert!(
                r.summary.ends_with('.')
                    && !r.doc.is_empty()
                    && r.name.chars().all(|c| c.is_ascii_lowercase() || c == '-'),
                "{}",
                r.code
            );
        }
    }

    #[test]
    fn placeholders_and_templates_count_as_blank() {
        let listed = vec!["changeme".to_string()];
        for v in ["", "  ", "CHANGEME", "${TOKEN}", "<join-token>"] {
            assert!(is_blank(&Json::from(v), &listed), "{v}");
        }
        assert!(!is_blank(&Json::from("jt-real-1"), &listed));
    }
}
