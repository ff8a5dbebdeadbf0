//! `trimline`: the demo and the scenario runner.
//!
//! ```sh
//! trimline demo [--json]            # the built-in demo
//! trimline simulate FILE [--json]   # your own scenario file
//! trimline schema                   # the JSON Schema of scenario files
//! ```
//!
//! Exit status: 0 when the run went to its end; 2 for a bad command line
//! or a bad scenario file (named by its JSON path, before anything runs);
//! 1 when a call of the run failed (named by its timeline event).

// The binary is the embedder's edge: it reads its arguments and a file and
// prints, which the library does not.
#![allow(clippy::disallowed_methods)]

use std::process::ExitCode;

use trimline_sim::{RunError, Scenario, demo_scenario, run, scenario_schema};

const USAGE: &str = "usage: trimline demo [--json]
       trimline simulate SCENARIO.json [--json]
       trimline schema";

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let json = args.iter().any(|a| a == "--json");
    let rest: Vec<&str> = args
        .iter()
        .map(String::as_str)
        .filter(|a| *a != "--json")
        .collect();
    match rest.as_slice() {
        ["demo"] => play("demo", demo_scenario(), json),
        ["simulate", file] if !file.starts_with("--") => {
            let text = match std::fs::read_to_string(file) {
                Ok(t) => t,
                Err(e) => {
                    eprintln!("{file}: {e}");
                    return ExitCode::from(2);
                }
            };
            match Scenario::from_json(&text) {
                Ok(sc) => play(file, sc, json),
                Err(e) => {
                    eprintln!("{file}: {e}");
                    ExitCode::from(2)
                }
            }
        }
        ["schema"] if !json => {
            println!("{}", scenario_schema());
            ExitCode::SUCCESS
        }
        ["help"] | ["-h"] | ["--help"] => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn play(origin: &str, sc: Scenario, json: bool) -> ExitCode {
    let report = match run(&sc) {
        Ok(r) => r,
        Err(e @ RunError::Scenario(_)) => {
            eprintln!("{origin}: {e}");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("{origin}: {e}");
            return ExitCode::FAILURE;
        }
    };
    if json {
        match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("{origin}: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        print!("{report}");
    }
    ExitCode::SUCCESS
}
