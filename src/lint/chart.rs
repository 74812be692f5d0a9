//! `lint --chart DIR|TGZ`: the values against a chart's own schemas, as Helm 4 validates them on install,
//! upgrade and template. Helm first drops the subcharts that a `condition` or `tags` switch off, then coalesces
//! the user's values over the chart's `values.yaml` and, under each subchart's name (or alias), over the
//! subchart's own `values.yaml`, with `global` flowing down; then it validates the parent's schema against the
//! whole and each subchart's schema against the values under its name. A user's `null` deletes a key that has a
//! default and is kept (and so validated) where there is none.

use super::helm_read::HelmInUse;
use super::schema::Schema;
use super::values::Values;
use crate::paths::{Path, Seg};
use crate::source::Source;
use anyhow::{anyhow, bail, Context as _, Result};
use serde_json::{Map, Value as Json};
use std::collections::BTreeMap;

/// Files larger than this inside a chart are refused (Helm refuses charts over 100 MiB unpacked).
const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// One chart of the tree, as read.
#[derive(Clone)]
pub struct Chart {
    pub name: String,
    pub version: String,
    /// Where it was read from, for messages: `parent` or `parent/charts/sub`.
    shown: String,
    defaults: Map<String, Json>,
    has_defaults: bool,
    schema: Option<Json>,
    /// Chart.yaml's `dependencies` (None when absent: every chart in charts/ is used as it is).
    requirements: Option<Vec<Requirement>>,
    subcharts: Vec<Chart>,
}

#[derive(Clone)]
struct Requirement {
    name: String,
    alias: Option<String>,
    condition: String,
    tags: Vec<String>,
}

/// One schema to validate and the values it validates, at `at` in the user's values.
pub struct Part {
    pub at: Path,
    pub schema: Schema,
    pub instance: Json,
}

/// What Helm 4 validates for one set of values.
pub struct Checked {
    /// The coalesced values of the whole tree (what the parent's schema sees).
    pub instance: Json,
    /// Each chart's schema with the values it validates, the parent first.
    pub parts: Vec<Part>,
    /// Where Helm stops before validating: values for a subchart that are not a map.
    pub refused: Option<(Path, String)>,
}

impl Chart {
    /// Reads a chart folder or a chart archive (.tgz).
    pub fn read(path: &str, helm: &HelmInUse) -> Result<Chart> {
        let shown = crate::printable::shown(path).into_owned();
        let meta =
            std::fs::metadata(path).with_context(|| format!("{shown}: cannot read the chart"))?;
        let files = if meta.is_dir() {
            let mut files = BTreeMap::new();
            read_dir(std::path::Path::new(path), "", &mut files)
                .with_context(|| format!("{shown}: cannot read the chart"))?;
            files
        } else {
            let bytes =
                std::fs::read(path).with_context(|| format!("{shown}: cannot read the chart"))?;
            unpack(&bytes).with_context(|| format!("{shown}: cannot read the chart archive"))?
        };
        Chart::from_files(&files, &shown, helm)
    }

    fn from_files(
        files: &BTreeMap<String, Vec<u8>>,
        shown: &str,
        helm: &HelmInUse,
    ) -> Result<Chart> {
        let text = |name: &str| -> Result<Option<String>> {
            files
                .get(name)
                .map(|b| {
                    String::from_utf8(b.clone())
                        .map_err(|_| anyhow!("{shown}/{name}: is not UTF-8 text"))
                })
                .transpose()
        };
        let Some(meta) = text("Chart.yaml")? else {
            bail!("{shown}: has no Chart.yaml: not a chart");
        };
        let meta = yaml_json(&format!("{shown}/Chart.yaml"), &meta)?;
        let field = |key: &str| {
            meta.get(key)
                .and_then(Json::as_str)
                .unwrap_or_default()
                .to_string()
        };
        let name = field("name");
        if name.is_empty() {
            bail!("{shown}/Chart.yaml: has no name");
        }
        let mut deps = meta.get("dependencies").cloned();
        if deps.is_none() {
            if let Some(old) = text("requirements.yaml")? {
                deps = yaml_json(&format!("{shown}/requirements.yaml"), &old)?
                    .get("dependencies")
                    .cloned();
            }
        }
        let requirements = deps.map(|d| requirements(shown, &d)).transpose()?;
        let (defaults, has_defaults) = match files.get("values.yaml") {
            Some(bytes) => {
                let source = Source::from_bytes(&format!("{shown}/values.yaml"), bytes.clone())?;
                let mut values = Values::read_with(&[], &[], helm)?;
                values.add_file_with(source, helm)?;
                match values.for_validation(None) {
                    Json::Object(map) => (map, true),
                    _ => (Map::new(), true),
                }
            }
            None => (Map::new(), false),
        };
        let schema = match text("values.schema.json")? {
            Some(text) => Some(serde_json::from_str(&text).map_err(|e| {
                anyhow!(
                    "{shown}/values.schema.json:{}:{}: not valid JSON: {e}",
                    e.line(),
                    e.column()
                )
            })?),
            None => None,
        };
        let mut subcharts = Vec::new();
        for (entry, sub) in subchart_files(files) {
            let where_ = format!("{shown}/charts/{entry}");
            let sub = match sub {
                SubFiles::Archive(bytes) => unpack(bytes)
                    .with_context(|| format!("{where_}: cannot read the chart archive"))?,
                SubFiles::Folder(files) => files,
            };
            subcharts.push(Chart::from_files(&sub, &where_, helm)?);
        }
        Ok(Chart {
            name,
            version: field("version"),
            shown: shown.to_string(),
            defaults,
            has_defaults,
            schema,
            requirements,
            subcharts,
        })
    }

    /// The values.yaml files of the tree (for the report).
    pub fn defaults_files(&self) -> Vec<String> {
        let mut out = Vec::new();
        if self.has_defaults {
            out.push(format!("{}/values.yaml", self.shown));
        }
        for sub in &self.subcharts {
            out.extend(sub.defaults_files());
        }
        out
    }

    /// What Helm 4 validates for these user values (the values as read, nulls kept).
    pub fn check(&self, user: &Json) -> Result<Checked> {
        let Json::Object(user) = user else {
            bail!("the values are not a map");
        };
        let mut chart = self.clone();
        if let Err((at, message)) = chart.enable(user, "") {
            return Ok(refused(at, message));
        }
        let mut instance = user.clone();
        if let Err((at, message)) = coalesce(&chart, &mut instance, false) {
            return Ok(refused(at, message));
        }
        let instance = Json::Object(instance);
        let mut parts = Vec::new();
        let mut refused_at = None;
        chart.parts(&instance, Path::root(), &mut parts, &mut refused_at)?;
        Ok(Checked {
            instance,
            parts,
            refused: refused_at,
        })
    }

    /// Helm's processDependencyEnabled: the Chart.yaml dependencies become the subcharts (renamed by alias),
    /// then those a tag or condition switches off are dropped, in the parent first.
    fn enable(&mut self, values: &Map<String, Json>, path: &str) -> Result<(), (Path, String)> {
        let Some(requirements) = self.requirements.clone() else {
            return Ok(());
        };
        let mut used: Vec<Chart> = self
            .subcharts
            .iter()
            .filter(|c| !requirements.iter().any(|r| r.name == c.name))
            .cloned()
            .collect();
        for r in &requirements {
            if let Some(found) = self.subcharts.iter().find(|c| c.name == r.name) {
                let mut copy = found.clone();
                if let Some(alias) = &r.alias {
                    copy.name = alias.clone();
                }
                used.push(copy);
            }
        }
        self.subcharts = used;
        let mut coalesced = values.clone();
        coalesce(self, &mut coalesced, false)?;
        let off: Vec<String> = requirements
            .iter()
            .filter(|r| !enabled(r, &coalesced, path))
            .map(|r| r.alias.clone().unwrap_or_else(|| r.name.clone()))
            .collect();
        self.subcharts.retain(|c| !off.contains(&c.name));
        for sub in &mut self.subcharts {
            let below = format!("{path}{}.", sub.name);
            sub.enable(&coalesced, &below)?;
        }
        Ok(())
    }

    fn parts(
        &self,
        values: &Json,
        at: Path,
        out: &mut Vec<Part>,
        refused_at: &mut Option<(Path, String)>,
    ) -> Result<()> {
        if let Some(schema) = &self.schema {
            let name = format!("{}/values.schema.json", self.shown);
            out.push(Part {
                at: at.clone(),
                schema: Schema::new(name, schema.clone())?,
                instance: values.clone(),
            });
        }
        for sub in &self.subcharts {
            let here = at.key(&sub.name);
            match values.get(&sub.name) {
                None | Some(Json::Null) => {}
                Some(v @ Json::Object(_)) => sub.parts(v, here, out, refused_at)?,
                Some(other) => {
                    let message = not_a_map(&sub.name, other);
                    refused_at.get_or_insert((here, message));
                }
            }
        }
        Ok(())
    }
}

fn refused(at: Path, message: String) -> Checked {
    Checked {
        instance: Json::Null,
        parts: Vec::new(),
        refused: Some((at, message)),
    }
}

fn not_a_map(name: &str, value: &Json) -> String {
    let kind = match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(_) => "a number",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "a map",
    };
    format!("{name}: the values of subchart {name} must be a map, not {kind} (Helm stops before rendering)")
}

fn requirements(shown: &str, deps: &Json) -> Result<Vec<Requirement>> {
    let Json::Array(items) = deps else {
        bail!("{shown}/Chart.yaml: dependencies is not a list");
    };
    let mut out = Vec::new();
    for item in items {
        let text = |key: &str| item.get(key).and_then(Json::as_str).map(str::to_string);
        let Some(name) = text("name") else {
            bail!("{shown}/Chart.yaml: a dependency has no name");
        };
        if item.get("import-values").is_some_and(|v| !v.is_null()) {
            bail!(
                "{shown}/Chart.yaml: dependency {name} uses import-values, which lint --chart does not follow; \
                 check these values with `helm template` instead"
            );
        }
        let tags = match item.get("tags") {
            Some(Json::Array(tags)) => tags
                .iter()
                .filter_map(|t| t.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        };
        out.push(Requirement {
            name,
            alias: text("alias").filter(|a| !a.is_empty()),
            condition: text("condition").unwrap_or_default(),
            tags,
        });
    }
    Ok(out)
}

/// Helm's tags, then conditions: the first condition path that holds a boolean decides.
fn enabled(r: &Requirement, values: &Map<String, Json>, path: &str) -> bool {
    let mut on = true;
    if let Some(Json::Object(tags)) = values.get("tags") {
        let found: Vec<bool> = r
            .tags
            .iter()
            .filter_map(|t| tags.get(t).and_then(Json::as_bool))
            .collect();
        if !found.contains(&true) && found.contains(&false) {
            on = false;
        }
    }
    for condition in r.condition.trim().split(',').filter(|c| !c.is_empty()) {
        if let Some(value) = path_value(values, &format!("{path}{condition}")) {
            return value;
        }
    }
    on
}

/// Helm's PathValue for a boolean: tables down the dotted path, then a key that is not a table.
fn path_value(values: &Map<String, Json>, path: &str) -> Option<bool> {
    let mut keys: Vec<&str> = path.split('.').collect();
    let last = keys.pop()?;
    let mut table = values;
    for key in keys {
        table = table.get(key)?.as_object()?;
    }
    table.get(last)?.as_bool()
}

/// Helm 4's coalesce: the chart's defaults under the values, then each subchart's under its name.
fn coalesce(
    chart: &Chart,
    values: &mut Map<String, Json>,
    merge: bool,
) -> Result<(), (Path, String)> {
    coalesce_values(chart, values, merge);
    for sub in &chart.subcharts {
        let mine = match values.remove(&sub.name) {
            None => Map::new(),
            Some(Json::Object(map)) => map,
            Some(other) => return Err((Path::root().key(&sub.name), not_a_map(&sub.name, &other))),
        };
        let mut mine = mine;
        coalesce_globals(&mut mine, values);
        let result = coalesce(sub, &mut mine, merge);
        values.insert(sub.name.clone(), Json::Object(mine));
        result.map_err(|(at, message)| (prefixed(&sub.name, at), message))?;
    }
    Ok(())
}

fn prefixed(name: &str, at: Path) -> Path {
    let mut segs = vec![Seg::Key(name.to_string())];
    segs.extend(at.0);
    Path(segs)
}

/// The parent's `global` merged into the subchart's values, the parent's winning.
fn coalesce_globals(dest: &mut Map<String, Json>, src: &Map<String, Json>) {
    let mut dg = match dest.get("global") {
        None => Map::new(),
        Some(Json::Object(map)) => map.clone(),
        Some(_) => return,
    };
    let sg = match src.get("global") {
        None => Map::new(),
        Some(Json::Object(map)) => map.clone(),
        Some(_) => return,
    };
    for (key, value) in sg {
        match (&value, dg.get(&key)) {
            (Json::Object(table), None) => {
                dg.insert(key, Json::Object(table.clone()));
            }
            (Json::Object(table), Some(Json::Object(existing))) => {
                let mut merged = table.clone();
                coalesce_tables(&mut merged, existing.clone(), true);
                dg.insert(key, Json::Object(merged));
            }
            (Json::Object(_), Some(_)) => {}
            (_, Some(Json::Object(_))) => {}
            _ => {
                dg.insert(key, value);
            }
        }
    }
    dest.insert("global".into(), Json::Object(dg));
}

/// Helm's coalesceValues: one chart's defaults under its values.
fn coalesce_values(chart: &Chart, values: &mut Map<String, Json>, merge: bool) {
    for (key, default) in &chart.defaults {
        match values.get_mut(key) {
            Some(Json::Null) if !merge => {
                values.remove(key);
            }
            Some(Json::Object(mine)) => {
                if let Json::Object(default) = default {
                    let merge = merge || chart.subcharts.iter().any(|s| &s.name == key);
                    coalesce_tables(mine, default.clone(), merge);
                }
            }
            Some(_) => {}
            None => {
                values.insert(key.clone(), default.clone());
            }
        }
    }
}

/// Helm 4's coalesceTablesFullKey: `dst` wins; a null in `dst` deletes the key where `src` has a value
/// (unless merging) and stays where it has none.
fn coalesce_tables(dst: &mut Map<String, Json>, mut src: Map<String, Json>, merge: bool) {
    let had_value: Vec<String> = src
        .iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(k, _)| k.clone())
        .collect();
    for (key, value) in dst.iter() {
        if value.is_null() {
            src.insert(key.clone(), Json::Null);
        }
    }
    for (key, value) in src {
        match dst.get_mut(&key) {
            Some(Json::Null) if !merge && had_value.contains(&key) => {
                dst.remove(&key);
            }
            None => {
                dst.insert(key, value);
            }
            Some(Json::Object(mine)) => {
                if let Json::Object(value) = value {
                    coalesce_tables(mine, value, merge);
                }
            }
            Some(_) => {}
        }
    }
}

fn yaml_json(name: &str, text: &str) -> Result<Json> {
    let source = Source::new(name, text);
    let docs = source.yaml()?;
    Ok(docs.first().map(|d| d.to_json()).unwrap_or(Json::Null))
}

/// The files of a chart folder that lint reads, by path inside the chart.
fn read_dir(
    dir: &std::path::Path,
    prefix: &str,
    out: &mut BTreeMap<String, Vec<u8>>,
) -> Result<()> {
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        let inside = format!("{prefix}{name}");
        let meta = std::fs::metadata(entry.path())?;
        if meta.is_dir() {
            if name != "templates" {
                read_dir(&entry.path(), &format!("{inside}/"), out)?;
            }
        } else if wanted(&inside) {
            if meta.len() > MAX_FILE_BYTES {
                bail!("{inside}: is larger than {} MiB", MAX_FILE_BYTES >> 20);
            }
            out.insert(inside, std::fs::read(entry.path())?);
        }
    }
    Ok(())
}

/// Chart.yaml, values and schema files, and archives under charts/.
fn wanted(path: &str) -> bool {
    let name = path.rsplit('/').next().unwrap_or(path);
    matches!(
        name,
        "Chart.yaml" | "requirements.yaml" | "values.yaml" | "values.schema.json"
    ) || (path.contains("charts/") && (name.ends_with(".tgz") || name.ends_with(".tar.gz")))
}

/// The files lint reads from a chart archive, by path inside the chart (the archive's top folder removed).
fn unpack(bytes: &[u8]) -> Result<BTreeMap<String, Vec<u8>>> {
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let mut out = BTreeMap::new();
    for entry in archive.entries()? {
        let mut entry = entry?;
        if !entry.header().entry_type().is_file() {
            continue;
        }
        let path = entry.path()?.to_string_lossy().into_owned();
        let Some((_, inside)) = path.split_once('/') else {
            continue;
        };
        if !wanted(inside) || inside.starts_with("templates/") {
            continue;
        }
        if entry.size() > MAX_FILE_BYTES {
            bail!("{inside}: is larger than {} MiB", MAX_FILE_BYTES >> 20);
        }
        let mut data = Vec::new();
        std::io::Read::read_to_end(&mut entry, &mut data)?;
        out.insert(inside.to_string(), data);
    }
    Ok(out)
}

enum SubFiles<'a> {
    Archive(&'a [u8]),
    Folder(BTreeMap<String, Vec<u8>>),
}

/// The subcharts under charts/: archives, and folders with their files.
fn subchart_files(files: &BTreeMap<String, Vec<u8>>) -> Vec<(String, SubFiles<'_>)> {
    let mut archives = Vec::new();
    let mut folders: BTreeMap<String, BTreeMap<String, Vec<u8>>> = BTreeMap::new();
    for (path, bytes) in files {
        let Some(rest) = path.strip_prefix("charts/") else {
            continue;
        };
        match rest.split_once('/') {
            None => archives.push((rest.to_string(), SubFiles::Archive(bytes))),
            Some((folder, inside)) => {
                folders
                    .entry(folder.to_string())
                    .or_default()
                    .insert(inside.to_string(), bytes.clone());
            }
        }
    }
    archives.extend(folders.into_iter().map(|(k, v)| (k, SubFiles::Folder(v))));
    archives
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn map(v: Json) -> Map<String, Json> {
        v.as_object().unwrap().clone()
    }

    #[test]
    fn nested_null_deletes_a_default_and_stays_where_there_is_none() {
        let mut dst = map(json!({"a": null, "b": null, "c": {"d": null}}));
        coalesce_tables(&mut dst, map(json!({"a": 1, "c": {"d": 2, "e": 3}})), false);
        assert_eq!(Json::Object(dst), json!({"b": null, "c": {"e": 3}}));
        let mut merged = map(json!({"a": null}));
        coalesce_tables(&mut merged, map(json!({"a": 1})), true);
        assert_eq!(Json::Object(merged), json!({"a": null}));
    }

    #[test]
    fn conditions_read_booleans_down_dotted_paths() {
        let values = map(json!({"sub": {"enabled": false}, "x": {"on": "yes"}}));
        let r = |condition: &str| Requirement {
            name: "sub".into(),
            alias: None,
            condition: condition.into(),
            tags: Vec::new(),
        };
        assert!(!enabled(&r("sub.enabled"), &values, ""));
        assert!(enabled(&r("x.on"), &values, ""));
        assert!(!enabled(&r("missing.flag,sub.enabled"), &values, ""));
        assert!(enabled(&r(""), &values, ""));
    }
}
