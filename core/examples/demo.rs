//! The trimline demo: the four failures and a zone loss on a built-in region.
//!
//! ```sh
//! cargo run --release --example demo          # the report, for people
//! cargo run --release --example demo -- --json  # the same, for machines
//! ```
//!
//! A region of three zones and close to two thousand hosts of six SKUs (x86
//! and ARM, one with GPUs, one with two large NUMA nodes), and six stories:
//! launch day, peak sale, market open, month-end ERP, zone failure and
//! recovery, and the bill. The scenario is built in (it is
//! `scenarios/demo.json`, compiled into the binary), and the report is the
//! one `simulate` prints for any scenario file.

// An example is the embedder: it reads its arguments (and, for simulate, a
// file), which the core itself never does.
#![allow(clippy::disallowed_methods)]

mod common;

use std::process::ExitCode;

const DEMO: &str = include_str!("scenarios/demo.json");

fn main() -> ExitCode {
    let mut json = false;
    for arg in std::env::args().skip(1) {
        match arg.as_str() {
            "--json" => json = true,
            _ => {
                eprintln!("usage: demo [--json]");
                return ExitCode::from(2);
            }
        }
    }
    common::main_with("demo", DEMO, json)
}
