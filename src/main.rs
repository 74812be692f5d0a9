use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
    end_quietly_on_closed_stdout();
    let cli = opsta_lint::cli::Cli::parse();
    match opsta_lint::run(cli) {
        Ok(code) => ExitCode::from(code),
        Err(err) => {
            let message = opsta_lint::secrets::mask_text(&format!("{err:#}"));
            eprintln!("opsta-lint: error: {message}");
            ExitCode::from(opsta_lint::exit::FAILURE)
        }
    }
}

/// `opsta-lint ... | head` closes stdout early: end as Unix tools do (killed by SIGPIPE, nothing printed), not
/// as the Rust runtime would by default (SIGPIPE ignored, then a panic inside `print!`).
fn end_quietly_on_closed_stdout() {
    #[cfg(unix)]
    {
        extern "C" {
            fn signal(signum: i32, handler: usize) -> usize;
        }
        const SIGPIPE: i32 = 13;
        const SIG_DFL: usize = 0;
        // SAFETY: sets the default action of one signal at start-up, before any other thread exists.
        unsafe {
            signal(SIGPIPE, SIG_DFL);
        }
    }
}
