use clap::Parser;
use std::process::ExitCode;

fn main() -> ExitCode {
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
