//! Code shared by the demo and the scenario runner: the scenario format
//! ([`scenario`]) and the runner that plays it and writes the report
//! ([`run`]). The demo is a built-in scenario; `simulate` reads one from a
//! file; both print the same report.

pub(crate) mod run;
pub(crate) mod scenario;

use std::process::ExitCode;

/// Run a scenario given as JSON text; `origin` names it in errors. Prints
/// the report (text, or JSON with `--json`) and returns the exit code.
pub(crate) fn main_with(origin: &str, text: &str, json: bool) -> ExitCode {
    let sc = match scenario::Scenario::from_json(text) {
        Ok(sc) => sc,
        Err(e) => {
            eprintln!("{origin}: {e}");
            return ExitCode::from(2);
        }
    };
    match run::play(&sc, json) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{origin}: {e}");
            ExitCode::FAILURE
        }
    }
}
