use std::process::ExitCode;

#[global_allocator]
static ALLOCATOR: opsta_lint::memory::BigOnHugePages = opsta_lint::memory::BigOnHugePages;

fn main() -> ExitCode {
    end_quietly_on_closed_stdout();
    match on_a_deep_stack(parse_and_run) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            opsta_lint::output::print_error(&err);
            ExitCode::from(opsta_lint::exit::FAILURE)
        }
    }
}

/// Reads the command line and runs the command.
fn parse_and_run() -> anyhow::Result<u8> {
    let cli = match opsta_lint::cli::parse(std::env::args_os().collect()) {
        Ok(cli) => cli,
        Err(err) if err.exit_code() == 0 => err.exit(),
        Err(err) => {
            eprint!(
                "{}",
                opsta_lint::secrets::mask_message(&err.render().to_string())
            );
            return Ok(usage_error_code());
        }
    };
    opsta_lint::run(cli)
}

/// Runs `job` with room for Helm's deepest values (10,000 levels): every reader, merger and validator walks the
/// values recursively. The room is reserved, not used, until the input is that deep (src/stack.rs).
fn on_a_deep_stack(job: fn() -> anyhow::Result<u8>) -> anyhow::Result<u8> {
    const STACK: usize = 1 << 30;
    opsta_lint::stack::with_room(STACK, job)?
}

/// The exit code of a command line the parser refused: 2 (could not run), or 1 for `diff --detailed-exitcode`,
/// where 2 means "changes" and CI must not read a typo as one.
fn usage_error_code() -> u8 {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let options = args.iter().take_while(|a| *a != "--");
    let detailed = options.clone().any(|a| a == "--detailed-exitcode");
    let diff = options
        .into_iter()
        .find(|a| !a.starts_with('-'))
        .is_some_and(|a| a == "diff");
    if diff && detailed {
        1
    } else {
        opsta_lint::exit::FAILURE
    }
}

/// `opsta-lint ... | head` closes stdout early: end as Unix tools do (killed by SIGPIPE, nothing printed), not
/// as the Rust runtime would by default (SIGPIPE ignored, then a panic inside `print!`).
fn end_quietly_on_closed_stdout() {
    #[cfg(unix)]
    {
        // SAFETY: sets the default action of one signal at start-up, before any other thread exists.
        unsafe {
            libc::signal(libc::SIGPIPE, libc::SIG_DFL);
        }
    }
}
