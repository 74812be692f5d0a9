//! Embeds every file under `schema/` (the product data: product.yaml files and JSON Schemas) into the binary,
//! so that a new product or release is a data change only. `src/product.rs` reads the generated tables. Each
//! product.yaml is also embedded as JSON, read with the program's own YAML reader: a run then reads the product
//! it needs as JSON, which is much faster than parsing YAML at start-up (docs/performance.md). The values surface a
//! product.yaml names (`surface:`) is embedded as a table of Rust data, read and checked by
//! src/surface/table.rs: a lint run parses none of it.

#[allow(dead_code)]
#[path = "src/yaml/read.rs"]
mod yaml;

#[allow(dead_code)]
#[path = "src/surface/table.rs"]
mod surface_table;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

fn main() {
    let root = PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR"),
    );
    let data = root.join("schema");
    println!("cargo:rerun-if-changed=schema");
    println!("cargo:rerun-if-changed=src/yaml/read.rs");
    println!("cargo:rerun-if-changed=src/surface/table.rs");
    // mimalloc's header, for the test of the options src/memory.rs sets by number (tests/hostile.rs).
    if let Some(include) = std::env::var_os("DEP_MIMALLOC_INCLUDE_DIR") {
        let header = PathBuf::from(include).join("mimalloc.h");
        println!("cargo:rustc-env=OPSTA_MIMALLOC_HEADER={}", header.display());
    }
    let mut files = Vec::new();
    if data.is_dir() {
        collect(&data, &mut files);
    }
    files.sort();
    let mut table = String::from("/// Every file under schema/: (path relative to schema/, contents).\npub static FILES: &[(&str, &str)] = &[\n");
    for file in &files {
        let name = relative_name(file, &data);
        writeln!(
            table,
            "    ({name:?}, include_str!({:?})),",
            file.display().to_string()
        )
        .unwrap();
    }
    table.push_str("];\n");
    table.push_str(
        "/// Every product.yaml under schema/ as JSON: (path relative to schema/, JSON text).\n",
    );
    table.push_str("pub static PRODUCTS_JSON: &[(&str, &str)] = &[\n");
    let mut surfaces = String::new();
    for file in files.iter().filter(|f| f.ends_with("product.yaml")) {
        let name = relative_name(file, &data);
        let json = product_json(file);
        writeln!(table, "    ({name:?}, {:?}),", json.to_string()).unwrap();
        if let Some(surface) = json.get("surface").and_then(|s| s.as_str()) {
            let folder = name.trim_end_matches("product.yaml");
            let path = file.with_file_name(surface);
            writeln!(
                surfaces,
                "    ({:?}, {}),",
                format!("{folder}{surface}"),
                surface_table(&path)
            )
            .unwrap();
        }
    }
    table.push_str("];\n");
    table.push_str(
        "/// The values surface each product.yaml names, as a table: (path relative to schema/, table).\n",
    );
    table.push_str("pub static SURFACES: &[(&str, crate::surface::Table)] = &[\n");
    table.push_str(&surfaces);
    table.push_str("];\n");
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    std::fs::write(out.join("schema_files.rs"), table).expect("OUT_DIR is writable");
}

/// The path of a data file relative to schema/, with `/`.
fn relative_name(file: &Path, data: &Path) -> String {
    let relative = file.strip_prefix(data).expect("collected under schema/");
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

/// A product.yaml's one document as JSON; malformed product data stops the build.
fn product_json(file: &Path) -> serde_json::Value {
    let text = std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
    let docs = yaml::parse(&text)
        .unwrap_or_else(|e| panic!("{}:{}:{}: {}", file.display(), e.line, e.col, e.message));
    let doc = docs
        .first()
        .unwrap_or_else(|| panic!("{} is empty", file.display()));
    doc.to_json()
}

/// A surface.json as the Rust expression of its `Table`; a malformed surface stops the build.
fn surface_table(file: &Path) -> String {
    let text = std::fs::read_to_string(file)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
    let parts = surface_table::parts(&text)
        .and_then(|p| surface_table::check_marks(&p).map(|()| p))
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
    let mut out = String::from("crate::surface::Table {\n        releases: &[");
    for release in &parts.releases {
        write!(out, "{release:?}, ").unwrap();
    }
    let (keys, ends) = surface_table::joined(&parts.keys);
    write!(
        out,
        "],\n        keys: {keys:?},\n        ends: &{ends:?},\n"
    )
    .unwrap();
    out.push_str("        defaults: &[\n");
    for (key, column) in &parts.defaults {
        writeln!(out, "            ({key:?}, &{column:?}),").unwrap();
    }
    out.push_str("        ],\n    }");
    out
}

fn collect(dir: &Path, files: &mut Vec<PathBuf>) {
    let entries =
        std::fs::read_dir(dir).unwrap_or_else(|e| panic!("cannot read {}: {e}", dir.display()));
    for entry in entries {
        let path = entry.expect("readable directory entry").path();
        let hidden = path
            .file_name()
            .is_some_and(|n| n.to_string_lossy().starts_with('.'));
        if hidden {
            continue;
        }
        if path.is_dir() {
            collect(&path, files);
        } else {
            println!("cargo:rerun-if-changed={}", path.display());
            files.push(path);
        }
    }
}
