//! The scenario runner: plays your own scenario and prints the same report
//! as the demo.
//!
//! ```sh
//! cargo run --release --example simulate -- core/examples/scenarios/launch-day.json
//! cargo run --release --example simulate -- --json my-scenario.json
//! ```
//!
//! The format is documented in the README ("Scenario files"). A file that
//! does not match it is reported with the JSON path of the bad value and
//! what was expected, and the runner exits with status 2.

// An example is the embedder: it reads its arguments (and, for simulate, a
// file), which the core itself never does.
#![allow(clippy::disallowed_methods)]

mod common;

use std::process::ExitCode;

const USAGE: &str = "usage: simulate [--json] SCENARIO.json | simulate --schema";

/// The JSON Schema of scenario files (checked in as
/// `core/schema/scenario.schema.json`).
fn scenario_schema() -> String {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let schema = generator.into_root_schema_for::<common::scenario::Scenario>();
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}

fn main() -> ExitCode {
    let mut json = false;
    let mut file = None;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--json" => json = true,
            "--schema" => {
                println!("{}", scenario_schema());
                return ExitCode::SUCCESS;
            }
            "-h" | "--help" => {
                println!("{USAGE}");
                return ExitCode::SUCCESS;
            }
            _ if file.is_none() && !arg.starts_with("--") => file = Some(arg),
            _ => {
                eprintln!("{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let Some(file) = file else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let text = match std::fs::read_to_string(&file) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{file}: {e}");
            return ExitCode::from(2);
        }
    };
    common::main_with(&file, &text, json)
}
