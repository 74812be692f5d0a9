//! OL001 / OL002: the values against the chart's JSON Schema, as Helm 4 validates them (draft 2020-12 when the
//! schema declares no `$schema`, `format` as an annotation only, no network). Every violation is located at the
//! key that set the value; unknown keys get a "did you mean" from the schema's own property names.

use super::rules::{Context, Finding};
use crate::paths::Path;
use crate::printable::shown;
use anyhow::{anyhow, Context as _, Result};
use jsonschema::error::{TypeKind, ValidationErrorKind};
use serde_json::Value as Json;
use std::borrow::Cow;
use std::cell::OnceCell;

/// A compiled values schema, and the whole schema it came from.
pub struct Schema {
    /// What the report calls it (a file name).
    pub name: String,
    /// The whole schema as text, when it has not been parsed yet.
    text: Cow<'static, str>,
    /// The whole schema, parsed when first needed: for the key names it knows ("did you mean").
    whole: OnceCell<Json>,
    /// The part of the schema the validator was compiled from, when it is not the whole: kept as long as the
    /// validator, so that a run that keeps its schemas to the end frees neither (see `Compiled`).
    _cut: Option<Json>,
    validator: jsonschema::Validator,
}

impl Schema {
    /// Compiles a whole schema; a schema that cannot compile is a "could not run" error.
    pub fn new(name: String, json: Json) -> Result<Schema> {
        let validator = compile(&name, &json)?;
        Ok(Schema {
            name,
            text: Cow::Borrowed(""),
            whole: OnceCell::from(json),
            _cut: None,
            validator,
        })
    }

    /// Compiles only the part of a schema (JSON text) that `instance` reaches (see `reach`), or the whole
    /// schema when it cannot be cut safely. The verdict and the errors for `instance` are the same either way.
    pub fn reached(name: String, text: Cow<'static, str>, instance: &Json) -> Result<Schema> {
        let Some(cut) = super::reach::reach(&text, instance) else {
            let json =
                serde_json::from_str(&text).map_err(|e| anyhow!("{name}: not valid JSON: {e}"))?;
            return Schema::new(name, json);
        };
        let validator = compile(&name, &cut)?;
        Ok(Schema {
            name,
            text,
            whole: OnceCell::new(),
            _cut: Some(cut),
            validator,
        })
    }

    /// The whole schema.
    fn whole(&self) -> &Json {
        self.whole
            .get_or_init(|| serde_json::from_str(&self.text).unwrap_or(Json::Null))
    }

    /// Reads a schema file (JSON).
    pub fn read(file: &str) -> Result<Schema> {
        let shown_file = shown(file);
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("{shown_file}: cannot read the schema"))?;
        let json: Json = serde_json::from_str(&text).map_err(|e| {
            let text = e.to_string();
            let reason = text
                .rsplit_once(" at line ")
                .map_or(text.as_str(), |(r, _)| r);
            anyhow!(
                "{shown_file}:{}:{}: not valid JSON: {reason}",
                e.line(),
                e.column()
            )
        })?;
        Schema::new(shown_file.into_owned(), json)
    }
}

fn compile(name: &str, json: &Json) -> Result<jsonschema::Validator> {
    jsonschema::options()
        .should_validate_formats(false)
        .build(json)
        .map_err(|e| anyhow!("{name}: not a usable JSON Schema: {e}"))
}

/// The schemas a run compiles, kept to the end of the process (`lint::run` never frees them: that took longer than
/// all the rules' checks): the `--schema` files by file, so that linting several groups of files (`--each`)
/// compiles each one once, and the bundled schema as cut for the latest group's values (see reach.rs), which
/// replaces the one cut for the group before.
#[derive(Default)]
pub struct Compiled {
    files: Vec<(String, Schema)>,
    cut: Option<Schema>,
}

impl Compiled {
    /// The schema under `key`, compiled by `compile` the first time.
    pub fn get(&mut self, key: &str, compile: impl FnOnce() -> Result<Schema>) -> Result<&Schema> {
        let index = match self.files.iter().position(|(k, _)| k == key) {
            Some(index) => index,
            None => {
                self.files.push((key.to_string(), compile()?));
                self.files.len() - 1
            }
        };
        Ok(&self.files[index].1)
    }

    /// Keeps `schema`, the bundled schema cut for one group's values.
    pub fn cut(&mut self, schema: Schema) -> &Schema {
        self.cut.insert(schema)
    }
}

pub fn check(ctx: &Context) -> Vec<Finding> {
    if let Some(checked) = ctx.chart_tree {
        return check_chart(ctx, checked);
    }
    let Some(schema) = ctx.schema else {
        return Vec::new();
    };
    check_one(ctx, schema, &ctx.instance, &Path::root())
}

/// `lint --chart`: each chart's schema against the values under its name (or where Helm stops before that).
fn check_chart(ctx: &Context, checked: &super::chart::Checked) -> Vec<Finding> {
    if let Some((at, message)) = &checked.refused {
        return vec![finding(
            ctx,
            crate::findings::Code::OL001,
            at,
            message.clone(),
        )];
    }
    checked
        .parts
        .iter()
        .flat_map(|part| check_one(ctx, &part.schema, &part.instance, &part.at))
        .collect()
}

/// One schema against `values`, which sit at `under` in the user's values.
fn check_one(ctx: &Context, schema: &Schema, values: &Json, under: &Path) -> Vec<Finding> {
    let mut out = Vec::new();
    for error in schema.validator.iter_errors(values) {
        let inner = Path::from_pointer(error.instance_path().as_str(), values);
        let at = Path(under.0.iter().chain(&inner.0).cloned().collect());
        let keyword_parent = parent_pointer(error.schema_path().as_str());
        match error.kind() {
            ValidationErrorKind::AdditionalProperties { unexpected }
            | ValidationErrorKind::UnevaluatedProperties { unexpected } => {
                let known = property_names(schema.whole(), &keyword_parent);
                for key in unexpected {
                    let path = at.key(key);
                    let hint = suggestion(key, &known);
                    let inside = if at.0.is_empty() {
                        "at the top level".to_string()
                    } else {
                        format!("in {at}")
                    };
                    out.push(finding(
                        ctx,
                        super::rules::Code::OL002,
                        &path,
                        format!("unknown key {} {inside}{hint}", shown(key)),
                    ));
                }
            }
            ValidationErrorKind::Required { property } => {
                let name = property
                    .as_str()
                    .map_or_else(|| property.to_string(), str::to_string);
                let path = at.key(&name);
                let inside = if at.0.is_empty() {
                    "at the top level".to_string()
                } else {
                    format!("in {at}")
                };
                out.push(finding(
                    ctx,
                    super::rules::Code::OL001,
                    &path,
                    format!("required key {} is missing {inside}", shown(&name)),
                ));
            }
            kind => {
                let secret = is_secret_path(&at);
                let value = error.instance();
                out.push(finding(
                    ctx,
                    super::rules::Code::OL001,
                    &at,
                    format!("{at}: {}", describe(kind, value, secret)),
                ));
            }
        }
    }
    out
}

fn finding(ctx: &Context, code: super::rules::Code, path: &Path, message: String) -> Finding {
    Finding {
        code,
        severity: code.severity(),
        message,
        location: super::rules::locate(ctx.values, ctx.values.locate(path)),
        path: Some(path.clone()),
    }
}

fn is_secret_path(path: &Path) -> bool {
    path.0
        .iter()
        .any(|s| matches!(s, crate::paths::Seg::Key(k) if crate::secrets::is_secret_key(k)))
}

fn parent_pointer(pointer: &str) -> String {
    pointer
        .rsplit_once('/')
        .map_or_else(String::new, |(parent, _)| parent.to_string())
}

/// The `properties` names of the schema object at a pointer (where the failing keyword sits).
fn property_names(schema: &Json, pointer: &str) -> Vec<String> {
    schema
        .pointer(pointer)
        .and_then(|s| s.get("properties"))
        .and_then(Json::as_object)
        .map(|p| p.keys().cloned().collect())
        .unwrap_or_default()
}

/// "; did you mean X?" for the closest known key, or the short list of allowed keys.
fn suggestion(key: &str, known: &[String]) -> String {
    let fold = |s: &str| {
        s.chars()
            .filter(|c| *c != '_' && *c != '-')
            .flat_map(char::to_lowercase)
            .collect::<String>()
    };
    let folded = fold(key);
    let best = known
        .iter()
        .map(|k| (strsim::osa_distance(&folded, &fold(k)), k))
        .filter(|(d, k)| *d <= (k.chars().count().max(key.chars().count()) / 3).max(1))
        .min();
    match best {
        Some((_, k)) => format!("; did you mean {}?", shown(k)),
        None if !known.is_empty() && known.len() <= 8 => {
            let known: Vec<_> = known.iter().map(|k| shown(k)).collect();
            format!(" (allowed: {})", known.join(", "))
        }
        None => String::new(),
    }
}

/// A sentence for a violation; the value is shown only when short and not a secret.
fn describe(kind: &ValidationErrorKind, value: &Json, secret: bool) -> String {
    let shown = shown_value(value, secret);
    match kind {
        ValidationErrorKind::Type { kind } => {
            let wanted = match kind {
                TypeKind::Single(t) => t.to_string(),
                TypeKind::Multiple(set) => set
                    .iter()
                    .map(|t| t.to_string())
                    .collect::<Vec<_>>()
                    .join(" or "),
            };
            format!("expected {wanted}, found {}", type_name(value))
        }
        ValidationErrorKind::Enum { options } => format!("{shown} is not one of {}", list(options)),
        ValidationErrorKind::Constant { expected_value } => {
            format!("{shown} must be {expected_value}")
        }
        ValidationErrorKind::Pattern { pattern } => {
            format!("{shown} does not match the pattern {pattern}")
        }
        ValidationErrorKind::MinLength { limit } => {
            format!("must be at least {limit} characters long")
        }
        ValidationErrorKind::MaxLength { limit } => {
            format!("must be at most {limit} characters long")
        }
        ValidationErrorKind::Minimum { limit } => {
            format!("{shown} is less than the minimum {limit}")
        }
        ValidationErrorKind::Maximum { limit } => {
            format!("{shown} is more than the maximum {limit}")
        }
        ValidationErrorKind::ExclusiveMinimum { limit } => {
            format!("{shown} must be more than {limit}")
        }
        ValidationErrorKind::ExclusiveMaximum { limit } => {
            format!("{shown} must be less than {limit}")
        }
        ValidationErrorKind::MultipleOf { multiple_of } => {
            format!("{shown} is not a multiple of {multiple_of}")
        }
        ValidationErrorKind::MinItems { limit } => format!("needs at least {limit} items"),
        ValidationErrorKind::MaxItems { limit } => format!("allows at most {limit} items"),
        ValidationErrorKind::UniqueItems => "has repeated items; they must be unique".into(),
        ValidationErrorKind::MinProperties { limit } => format!("needs at least {limit} keys"),
        ValidationErrorKind::MaxProperties { limit } => format!("allows at most {limit} keys"),
        ValidationErrorKind::AnyOf { .. } | ValidationErrorKind::OneOfNotValid { .. } => {
            "matches none of the forms the schema allows (anyOf/oneOf)".into()
        }
        ValidationErrorKind::OneOfMultipleValid { .. } => {
            "matches more than one of the forms the schema allows (oneOf)".into()
        }
        ValidationErrorKind::Not { .. } => "is a value the schema forbids (not)".into(),
        ValidationErrorKind::FalseSchema => "is not allowed here (the schema is false)".into(),
        ValidationErrorKind::Format { format } => format!("{shown} is not a valid {format}"),
        other => format!("fails the schema's {} keyword", other.keyword()),
    }
}

fn shown_value(value: &Json, secret: bool) -> String {
    if secret {
        return format!("the value ({})", crate::secrets::MASK);
    }
    match value {
        Json::String(s) if s.chars().count() <= 60 => format!("{s:?}"),
        Json::Number(n) => n.to_string(),
        Json::Bool(b) => b.to_string(),
        Json::Null => "null".into(),
        other => format!("the {}", type_name(other)),
    }
}

fn list(options: &Json) -> String {
    match options {
        Json::Array(items) => items
            .iter()
            .map(|i| i.to_string())
            .collect::<Vec<_>>()
            .join(", "),
        other => other.to_string(),
    }
}

fn type_name(value: &Json) -> &'static str {
    match value {
        Json::Null => "null",
        Json::Bool(_) => "a boolean",
        Json::Number(n) if n.is_f64() => "a number",
        Json::Number(_) => "an integer",
        Json::String(_) => "a string",
        Json::Array(_) => "a list",
        Json::Object(_) => "a map",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    /// Every error of a validation, in an order that does not depend on the compiled form.
    fn errors(schema: &Schema, instance: &Json) -> Vec<String> {
        let mut all: Vec<String> = schema
            .validator
            .iter_errors(instance)
            .map(|e| format!("{} {} {e}", e.instance_path(), e.schema_path()))
            .collect();
        all.sort();
        all
    }

    /// The document itself, then variants where a map gets an unknown key or a value is replaced by one of
    /// another type, at up to 40 places spread over the document (each place: a debug build compiles slowly).
    fn variants(doc: &Json) -> Vec<Json> {
        let mut out = vec![doc.clone()];
        let mut pointers = Vec::new();
        collect_pointers(doc, String::new(), &mut pointers);
        let step = pointers.len().div_ceil(40);
        for pointer in pointers.into_iter().step_by(step) {
            let mut changed = doc.clone();
            let at = changed.pointer_mut(&pointer).unwrap();
            *at = match at.take() {
                Json::Object(mut map) => {
                    map.insert("zz_unknown".into(), json!(1));
                    Json::Object(map)
                }
                Json::String(_) => json!(7),
                Json::Number(_) => json!("seven"),
                Json::Bool(_) => json!("yes"),
                Json::Array(_) => json!({"a": 1}),
                Json::Null => json!([]),
            };
            out.push(changed);
        }
        out
    }

    fn collect_pointers(value: &Json, at: String, out: &mut Vec<String>) {
        out.push(at.clone());
        let escape = |k: &str| k.replace('~', "~0").replace('/', "~1");
        match value {
            Json::Object(map) => {
                for (k, v) in map {
                    collect_pointers(v, format!("{at}/{}", escape(k)), out);
                }
            }
            Json::Array(items) => {
                for (i, v) in items.iter().enumerate() {
                    collect_pointers(v, format!("{at}/{i}"), out);
                }
            }
            _ => {}
        }
    }

    fn values_files() -> Vec<Json> {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("testdata");
        let dirs = ["catalyst", "catalyst/values", "opsta-ai-gateway"];
        let mut docs = Vec::new();
        for dir in dirs {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let path = entry.unwrap().path();
                if path.extension().is_some_and(|e| e == "yaml") {
                    let text = std::fs::read_to_string(&path).unwrap();
                    let parsed = crate::yaml::parse(&text).unwrap();
                    docs.push(parsed[0].to_json());
                }
            }
        }
        assert!(
            docs.len() >= 10,
            "the values files under testdata/ are missing"
        );
        docs
    }

    /// The cut schema (reach.rs) must raise exactly the errors the whole schema raises, for every bundled
    /// schema and for good, bad and broken variants of every values file under testdata/.
    #[test]
    fn a_reached_schema_finds_what_the_whole_schema_finds() {
        let docs = values_files();
        let mut compared = 0;
        let mut failing = 0;
        for product in crate::product::Product::all().unwrap() {
            for major in &product.majors {
                let text = product.schema_text(major.major).unwrap();
                let whole =
                    Schema::new("whole".into(), serde_json::from_str(&text).unwrap()).unwrap();
                for doc in &docs {
                    for variant in variants(doc) {
                        let reached =
                            Schema::reached("cut".into(), text.clone(), &variant).unwrap();
                        assert!(
                            reached.whole.get().is_none(),
                            "{} was not cut",
                            major.schema
                        );
                        let expected = errors(&whole, &variant);
                        assert_eq!(
                            errors(&reached, &variant),
                            expected,
                            "{}: {variant}",
                            major.schema
                        );
                        compared += 1;
                        failing += usize::from(!expected.is_empty());
                    }
                }
            }
        }
        assert!(
            compared > 500 && failing > compared / 2,
            "{compared} compared, {failing} failing"
        );
    }

    #[test]
    fn suggests_the_closest_known_key() {
        let known: Vec<String> = ["join_token", "global", "agent", "management"]
            .map(String::from)
            .to_vec();
        assert_eq!(
            suggestion("joinToken", &known),
            "; did you mean join_token?"
        );
        // One transposition: one edit for optimal string alignment, two for plain Levenshtein (over the limit).
        assert_eq!(suggestion("agnet", &known), "; did you mean agent?");
        assert_eq!(
            suggestion("zzzzzz", &known),
            " (allowed: join_token, global, agent, management)"
        );
    }
}
