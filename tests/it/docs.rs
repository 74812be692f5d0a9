//! Docs that cannot rot. Every Markdown file of the user docs (README.md, CHANGELOG.md and docs/**/*.md) is held
//! to what it says:
//!
//! - every ```sh block runs with `bash -e` from the repository root, with the debug-built `opsta-lint` first on
//!   PATH (and NO_COLOR set), and must exit 0, or N when its first line is `# exit: N`;
//! - a ```text block right after a ```sh block is that block's output (stdout, then stderr); a line `...` in it
//!   stands for any number of lines;
//! - a ```sh block whose first line is `# tested by: tests/FILE.rs::NAME` (it needs a cluster, a registry, Helm
//!   plugins or the network) is not run here; the test function NAME must exist in tests/FILE.rs;
//! - every relative link points at a file or folder that exists;
//! - no prose line holds a calendar date or a time of day (CHANGELOG.md's release headings excepted);
//! - README's rules table and docs/rules/ hold what the rule registry holds (`opsta-lint rules`);
//! - every subcommand's `--help` ends with one example and the exit codes, and the example runs.
//!
//! `UPDATE_DOCS=1 cargo test --test it docs::` rewrites the generated parts instead of comparing them: the rules table,
//! docs/rules/, and the output blocks that have no `...` line.

use crate::common;

use regex::Regex;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// Serializes rewrites of the docs under UPDATE_DOCS (tests run in parallel).
static WRITING: Mutex<()> = Mutex::new(());

fn updating() -> bool {
    std::env::var_os("UPDATE_DOCS").is_some_and(|v| v != "0")
}

/// The Markdown files the rules apply to, relative to the repository root.
fn doc_files() -> Vec<PathBuf> {
    let root = common::root();
    let mut files = vec![PathBuf::from("README.md"), PathBuf::from("CHANGELOG.md")];
    let mut stack = vec![root.join("docs")];
    while let Some(dir) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                files.push(path.strip_prefix(&root).unwrap().to_path_buf());
            }
        }
    }
    files.retain(|f| root.join(f).is_file());
    files.sort();
    files
}

fn read(file: &Path) -> String {
    std::fs::read_to_string(common::root().join(file))
        .unwrap_or_else(|e| panic!("{}: {e}", file.display()))
}

/// A fenced block: its language, the line of its opening fence (1-based), its text lines.
struct Block {
    lang: String,
    line: usize,
    body: Vec<String>,
}

/// The fenced blocks of a Markdown text, in order.
fn blocks(text: &str) -> Vec<Block> {
    let mut out = Vec::new();
    let mut open: Option<Block> = None;
    for (i, line) in text.lines().enumerate() {
        let fence = line.trim_start().starts_with("```");
        match (&mut open, fence) {
            (None, true) => {
                open = Some(Block {
                    lang: line.trim_start().trim_start_matches('`').trim().to_string(),
                    line: i + 1,
                    body: Vec::new(),
                })
            }
            (Some(_), true) => out.push(open.take().unwrap()),
            (Some(block), false) => block.body.push(line.to_string()),
            (None, false) => {}
        }
    }
    out
}

/// What running a shell block gave.
struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

fn run_block(script: &str) -> Ran {
    let bin = PathBuf::from(env!("CARGO_BIN_EXE_opsta-lint"));
    let path = std::env::join_paths(std::iter::once(bin.parent().unwrap().to_path_buf()).chain(
        std::env::split_paths(&std::env::var_os("PATH").unwrap_or_default()),
    ))
    .unwrap();
    let scratch = tempfile::tempdir().unwrap();
    let out = Command::new("bash")
        .arg("-e")
        .arg("-c")
        .arg(script)
        .current_dir(common::root())
        .env("PATH", path)
        .env("NO_COLOR", "1")
        .env("TMPDIR", scratch.path())
        .env_remove("KUBECONFIG")
        .env_remove("HELM_NAMESPACE")
        .env_remove("HELM_KUBECONTEXT")
        .env_remove("OPSTA_LINT_DATA")
        .output()
        .expect("bash runs");
    Ran {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Whether `actual` is what `expected` shows, a line `...` standing for any number of lines.
fn output_matches(expected: &[String], actual: &[&str]) -> bool {
    match expected.split_first() {
        None => actual.is_empty(),
        Some((first, rest)) if first.trim() == "..." => {
            (0..=actual.len()).any(|skip| output_matches(rest, &actual[skip..]))
        }
        Some((first, rest)) => {
            actual
                .first()
                .is_some_and(|a| a.trim_end() == first.trim_end())
                && output_matches(rest, &actual[1..])
        }
    }
}

/// `# tested by: tests/FILE.rs::NAME`: the test function must exist; returns a problem, if any.
fn check_tested_by(reference: &str) -> Option<String> {
    let Some((file, name)) = reference.trim().split_once("::") else {
        return Some(format!(
            "`# tested by: {reference}` is not tests/FILE.rs::NAME"
        ));
    };
    let text = match std::fs::read_to_string(common::root().join(file)) {
        Ok(text) => text,
        Err(e) => return Some(format!("`# tested by:` names {file}: {e}")),
    };
    let defined = Regex::new(&format!(r"\bfn {}\s*\(", regex::escape(name))).unwrap();
    (!defined.is_match(&text))
        .then(|| format!("`# tested by:` names {name}, which {file} does not define"))
}

/// What checking the shell blocks of one Markdown file found.
#[derive(Default)]
struct Checked {
    problems: Vec<String>,
    /// Output blocks to rewrite under UPDATE_DOCS: (line of the opening fence, new body).
    rewrites: Vec<(usize, Vec<String>)>,
    ran: usize,
}

/// Runs the shell blocks of `text` (the Markdown file `file`) and compares the output blocks after them.
fn check_shell_blocks(file: &Path, text: &str) -> Checked {
    let mut checked = Checked::default();
    let found = blocks(text);
    for (i, block) in found.iter().enumerate() {
        if block.lang != "sh" {
            continue;
        }
        let at = format!("{}:{}", file.display(), block.line);
        let first = block.body.first().map(|l| l.trim()).unwrap_or("");
        if let Some(reference) = first.strip_prefix("# tested by:") {
            let problem = check_tested_by(reference).map(|p| format!("{at}: {p}"));
            checked.problems.extend(problem);
            continue;
        }
        let expected_code = match first
            .strip_prefix("# exit:")
            .map(|c| c.trim().parse::<i32>())
        {
            None => 0,
            Some(Ok(code)) => code,
            Some(Err(_)) => {
                checked
                    .problems
                    .push(format!("{at}: `{first}` is not `# exit: N`"));
                continue;
            }
        };
        let script = block.body.join("\n");
        let got = run_block(&script);
        checked.ran += 1;
        if got.code != expected_code {
            checked.problems.push(format!(
                "{at}: the block exited {} (expected {expected_code}):\n{script}\n--- stdout:\n{}--- stderr:\n{}",
                got.code, got.stdout, got.stderr
            ));
            continue;
        }
        // The output block follows the closing fence directly or after one blank line.
        let closing = block.line + block.body.len() + 1;
        let Some(output) = found
            .get(i + 1)
            .filter(|b| b.lang == "text" && (b.line == closing + 1 || b.line == closing + 2))
        else {
            continue;
        };
        let actual = format!("{}{}", got.stdout, got.stderr);
        let lines: Vec<&str> = actual.lines().collect();
        if output_matches(&output.body, &lines) {
            continue;
        }
        if updating() && !output.body.iter().any(|l| l.trim() == "...") {
            let body = lines.iter().map(|l| l.to_string()).collect();
            checked.rewrites.push((output.line, body));
            continue;
        }
        checked.problems.push(format!(
            "{}:{}: the output shown differs from what the block above prints (UPDATE_DOCS=1 rewrites it):\n{script}\n--- shown:\n{}\n--- printed:\n{actual}",
            file.display(),
            output.line,
            output.body.join("\n")
        ));
    }
    checked
}

#[test]
fn every_shell_block_runs_as_written() {
    let mut problems = Vec::new();
    let mut ran = 0;
    for file in doc_files() {
        let checked = check_shell_blocks(&file, &read(&file));
        if !checked.rewrites.is_empty() {
            let _guard = WRITING.lock().unwrap();
            rewrite_blocks(&file, &checked.rewrites);
        }
        problems.extend(checked.problems);
        ran += checked.ran;
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n\n"));
    assert!(
        ran > 0,
        "no shell block ran: README.md has runnable examples"
    );
}

/// The checker's messages name the file and line, the block, the exit code and what it printed.
#[test]
fn a_failing_block_is_reported_where_it_is_with_what_it_printed() {
    let text = "# Doc\n\n```sh\nopsta-lint rules OL999\n```\n\n```sh\n# exit: 2\nopsta-lint rules OL999\n```\n\n\
                ```sh\necho one\n```\n\n```text\ntwo\n```\n\n```sh\nprintf 'a\\nb\\nc\\n'\n```\n```text\na\n...\n```\n\n\
                ```sh\n# tested by: tests/it/docs.rs::no_such_test\nkubectl get pods\n```\n";
    let checked = check_shell_blocks(Path::new("docs/example.md"), text);
    assert_eq!(checked.ran, 4);
    let problems = checked.problems;
    assert_eq!(problems.len(), 3, "{problems:#?}");
    assert!(
        problems[0].starts_with(
            "docs/example.md:3: the block exited 2 (expected 0):\nopsta-lint rules OL999\n"
        ) && problems[0].contains("--- stderr:\nopsta-lint: error: no rule OL999"),
        "{}",
        problems[0]
    );
    assert!(
        problems[1].starts_with("docs/example.md:16: the output shown differs")
            && problems[1].contains("--- shown:\ntwo\n--- printed:\none\n"),
        "{}",
        problems[1]
    );
    assert_eq!(
        problems[2],
        "docs/example.md:28: `# tested by:` names no_such_test, which tests/it/docs.rs does not define"
    );
}

/// Replaces the bodies of the blocks opening at the given lines.
fn rewrite_blocks(file: &Path, rewrites: &[(usize, Vec<String>)]) {
    let text = read(file);
    let lines: Vec<&str> = text.lines().collect();
    let mut out: Vec<String> = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        out.push(lines[i].to_string());
        if let Some((_, body)) = rewrites.iter().find(|(line, _)| *line == i + 1) {
            out.extend(body.iter().cloned());
            i += 1;
            while !lines[i].trim_start().starts_with("```") {
                i += 1;
            }
            continue;
        }
        i += 1;
    }
    std::fs::write(common::root().join(file), out.join("\n") + "\n").unwrap();
}

#[test]
fn relative_links_resolve() {
    let link = Regex::new(r"\]\(([^)\s]+)\)").unwrap();
    let mut problems = Vec::new();
    for file in doc_files() {
        let text = read(&file);
        let dir = common::root().join(&file).parent().unwrap().to_path_buf();
        for (n, line) in prose_lines(&text) {
            for target in link.captures_iter(&line).map(|c| c[1].to_string()) {
                if target.starts_with('#')
                    || target.contains("://")
                    || target.starts_with("mailto:")
                {
                    continue;
                }
                let path = target.split('#').next().unwrap();
                if !dir.join(path).exists() {
                    problems.push(format!(
                        "{}:{n}: the link {target} points at nothing",
                        file.display()
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

/// The lines outside fenced blocks, with their numbers (1-based), inline code spans blanked out.
fn prose_lines(text: &str) -> Vec<(usize, String)> {
    let code = Regex::new(r"`[^`]*`").unwrap();
    let mut fenced = false;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            out.push((i + 1, code.replace_all(line, "``").into_owned()));
        }
    }
    out
}

/// The calendar date or time of day a prose line holds, if any.
fn date_or_time(line: &str) -> Option<String> {
    static PATTERNS: std::sync::OnceLock<Vec<Regex>> = std::sync::OnceLock::new();
    PATTERNS
        .get_or_init(date_patterns)
        .iter()
        .find_map(|p| p.find(line).map(|m| m.as_str().trim().to_string()))
}

fn date_patterns() -> Vec<Regex> {
    let month = "(Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Oct|Nov|Dec)[a-z]*\\.?";
    let patterns = [
        // 2026-12-04, 2026/12/04 (not 2020-12, a JSON Schema draft; not 20260806 inside a version string)
        r"(^|[^\w.-])(19|20)\d\d[-/](0[1-9]|1[0-2])[-/](0[1-9]|[12]\d|3[01])(\b|T)".to_string(),
        // 4 December 2026, December 4, 2026
        format!(r"\b\d{{1,2}} {month} (19|20)\d\d\b"),
        format!(r"\b{month} \d{{1,2}}(st|nd|rd|th)?,? (19|20)\d\d\b"),
        // 14:33, 04:40-06:40 UTC, 09:54Z (not file:line:col, which sits in inline code)
        r"(^|[^\w:.])([01]?\d|2[0-3]):[0-5]\d(:[0-5]\d)?([^\w:]|$)".to_string(),
    ];
    patterns.iter().map(|p| Regex::new(p).unwrap()).collect()
}

#[test]
fn no_prose_line_holds_a_date_or_a_time_of_day() {
    let release_heading = Regex::new(r"^## \[[^\]]+\]( - \d{4}-\d{2}-\d{2})?$").unwrap();
    let mut problems = Vec::new();
    for file in doc_files() {
        let changelog = file == Path::new("CHANGELOG.md");
        for (n, line) in prose_lines(&read(&file)) {
            if changelog && release_heading.is_match(&line) {
                continue;
            }
            if let Some(found) = date_or_time(&line) {
                problems.push(format!("{}:{n}: `{found}` in: {line}", file.display()));
            }
            if line.contains("the run before") {
                problems.push(format!(
                    "{}:{n}: a development log (\"the run before\"): {line}",
                    file.display()
                ));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "dates, times and run logs belong in git history, numbers in docs/performance.md:\n{}",
        problems.join("\n")
    );
}

#[test]
fn the_date_check_tells_dates_from_versions() {
    for dated in [
        "measured 2026-12-01 on 2 cores",
        "at 14:33 UTC",
        "(04:40-06:40 UTC)",
        "on 4 December 2026",
        "December 4, 2026",
        "2026-11-30T02:01Z",
    ] {
        assert!(date_or_time(dated).is_some(), "{dated}");
    }
    for plain in [
        "Catalyst 1.19.0-20260806-catalyst.2",
        "draft 2020-12 when the schema declares no $schema",
        "a ratio of 3.2x",
        "the ``:10:13 location",
        "2m24s",
        "Helm 3.17.3 and 4.1.4",
    ] {
        assert_eq!(date_or_time(plain), None, "{plain}");
    }
}

/// `opsta-lint rules` as rows: code, name, severity, summary.
fn rule_rows() -> Vec<[String; 4]> {
    let out = common::bin().arg("rules").output().unwrap();
    assert!(out.status.success(), "opsta-lint rules fails");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(|line| {
            let mut parts = line.split_whitespace();
            let mut next = || parts.next().unwrap_or_default().to_string();
            let (code, name, severity) = (next(), next(), next());
            let summary: Vec<&str> = parts.collect();
            [code, name, severity, summary.join(" ")]
        })
        .collect()
}

/// README's rules table, made from the registry.
fn rules_table(rows: &[[String; 4]]) -> String {
    let mut table = String::from("| code | name | severity | summary |\n|---|---|---|---|\n");
    for [code, name, severity, summary] in rows {
        table.push_str(&format!(
            "| [{code}](docs/rules/{code}.md) | {name} | {severity} | {} |\n",
            summary.replace('|', "\\|")
        ));
    }
    table
}

/// One rule's page: what `opsta-lint rules CODE` prints.
fn rule_page(code: &str) -> String {
    let out = common::bin().args(["rules", code]).output().unwrap();
    assert!(out.status.success(), "opsta-lint rules {code} fails");
    let text = String::from_utf8(out.stdout).unwrap();
    let (title, rest) = text.split_once('\n').unwrap_or((&text, ""));
    format!(
        "<!-- generated from `opsta-lint rules {code}`: UPDATE_DOCS=1 cargo test --test it docs:: -->\n# {title}\n\n{}\n",
        rest.trim()
    )
}

#[test]
fn rules_table_and_pages_hold_the_registry() {
    const START: &str = "<!-- rules:start (generated from the rule registry: UPDATE_DOCS=1 cargo test --test it docs::) -->\n";
    const END: &str = "<!-- rules:end -->";
    let rows = rule_rows();
    assert!(rows.len() >= 20, "the registry lists its rules");
    let readme = read(Path::new("README.md"));
    let (Some(start), Some(end)) = (readme.find(START), readme.find(END)) else {
        panic!("README.md has no `{}` ... `{END}` markers", START.trim());
    };
    let table = rules_table(&rows);
    let pages_dir = common::root().join("docs/rules");
    let pages: Vec<(String, String)> = rows
        .iter()
        .map(|[code, ..]| (format!("{code}.md"), rule_page(code)))
        .collect();
    if updating() {
        let _guard = WRITING.lock().unwrap();
        let readme = read(Path::new("README.md"));
        let (start, end) = (readme.find(START).unwrap(), readme.find(END).unwrap());
        let new = format!("{}{START}{table}{}", &readme[..start], &readme[end..]);
        std::fs::write(common::root().join("README.md"), new).unwrap();
        std::fs::create_dir_all(&pages_dir).unwrap();
        for entry in std::fs::read_dir(&pages_dir).unwrap() {
            std::fs::remove_file(entry.unwrap().path()).unwrap();
        }
        for (name, page) in &pages {
            std::fs::write(pages_dir.join(name), page).unwrap();
        }
        return;
    }
    let fix = "run `UPDATE_DOCS=1 cargo test --test it docs::` to regenerate it from the registry";
    assert_eq!(
        &readme[start + START.len()..end],
        table,
        "README.md's rules table: {fix}"
    );
    let mut present: Vec<String> = std::fs::read_dir(&pages_dir)
        .map(|d| {
            d.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    present.sort();
    let mut wanted: Vec<String> = pages.iter().map(|(name, _)| name.clone()).collect();
    wanted.sort();
    assert_eq!(
        present, wanted,
        "docs/rules/ holds one page per rule: {fix}"
    );
    for (name, page) in &pages {
        assert_eq!(
            &read(&Path::new("docs/rules").join(name)),
            page,
            "docs/rules/{name}: {fix}"
        );
    }
}

/// The subcommands `opsta-lint --help` lists.
fn subcommands() -> Vec<String> {
    let out = common::bin().arg("--help").output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    let listed = help
        .split_once("Commands:\n")
        .expect("--help lists the commands")
        .1;
    listed
        .lines()
        .take_while(|l| l.starts_with("  "))
        .filter(|l| !l.starts_with("   ")) // a wrapped description goes on further in
        .filter_map(|l| l.split_whitespace().next())
        .filter(|name| *name != "help")
        .map(str::to_string)
        .collect()
}

/// Subcommands whose example needs a cluster; a doc block marked `# tested by:` shows the same command.
const NEED_A_CLUSTER: [&str; 6] = [
    "release",
    "verify",
    "mirror-check",
    "upgrade",
    "preflight",
    "install-postrenderer",
];

#[test]
fn every_help_page_has_an_example_that_runs_and_the_exit_codes() {
    let commands = subcommands();
    assert!(commands.len() >= 8, "{commands:?}");
    let docs: String = doc_files().iter().map(|f| read(f)).collect();
    let mut problems = Vec::new();
    for command in &commands {
        let out = common::bin().args([command, "--help"]).output().unwrap();
        let help = String::from_utf8(out.stdout).unwrap();
        if !help.contains("\nExit codes:\n  0  ") {
            problems.push(format!("`{command} --help` has no exit-code footer"));
        }
        let Some(example) = help
            .split_once("\nExample:\n  ")
            .map(|(_, rest)| rest.lines().next().unwrap().to_string())
        else {
            problems.push(format!("`{command} --help` has no `Example:`"));
            continue;
        };
        let named = format!("opsta-lint {command}");
        if example != named && !example.starts_with(&format!("{named} ")) {
            problems.push(format!(
                "`{command} --help`: the example `{example}` runs another command"
            ));
        }
        if NEED_A_CLUSTER.contains(&command.as_str()) {
            if !docs.contains(&example) {
                problems.push(format!(
                    "`{command} --help`: the example `{example}` is in no doc block (a `# tested by:` block shows it)"
                ));
            }
            continue;
        }
        let got = run_block(&example);
        if got.code != 0 {
            problems.push(format!(
                "`{command} --help`: the example `{example}` exited {}:\n{}{}",
                got.code, got.stdout, got.stderr
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
}

#[test]
fn help_pages_say_what_release_means_for_each_command() {
    let out = common::bin().args(["verify", "--help"]).output().unwrap();
    let help = String::from_utf8(out.stdout).unwrap();
    let words = help.split_whitespace().collect::<Vec<_>>().join(" ");
    assert!(words.contains("verify: the release to check"), "{help}");
    assert!(!help.contains("\"previous\""), "{help}");
}

/// tests/it/install.rs runs the blocks of docs/install.md as written; a block of README.md that names one of its tests
/// must be that very block, so the copy users read first is the one the test runs.
#[test]
fn readme_install_blocks_are_the_ones_install_tests_run() {
    let install: Vec<Vec<String>> = blocks(&read(Path::new("docs/install.md")))
        .into_iter()
        .map(|b| b.body)
        .collect();
    let mut copies = 0;
    for block in blocks(&read(Path::new("README.md"))) {
        let Some(first) = block.body.first() else {
            continue;
        };
        if block.lang == "sh" && first.starts_with("# tested by: tests/it/install.rs::") {
            copies += 1;
            assert!(
                install.contains(&block.body),
                "README.md:{}: this block is not a block of docs/install.md, so tests/it/install.rs does not run it \
                 as written:\n{}",
                block.line,
                block.body.join("\n")
            );
        }
    }
    assert!(
        copies >= 3,
        "README.md's Install section shows {copies} install blocks"
    );
}
