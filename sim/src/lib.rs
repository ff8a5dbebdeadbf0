//! The reference embedder of [`trimline`]: scenario files, a runner that
//! carries out the scheduler's decisions, and the report of a run.
//!
//! The core decides and does no I/O; this crate plays the embedder around
//! it, with no I/O either (the `trimline` binary reads files and prints):
//!
//! ```text
//! scenario JSON --Scenario::from_json--> Scenario --validate--> ok
//!     Scenario --run--> Report --to_text / serde_json--> text or JSON
//! ```
//!
//! * [`Scenario`] is the file format (a region, apps, prices and a
//!   timeline of events); [`Scenario::from_json`] names the JSON path of a
//!   bad value, and [`Scenario::validate`] checks every value (names,
//!   limits, the clock) before anything runs.
//! * [`run`] plays the timeline: it makes the scheduler calls, provisions
//!   the hosts the core asks for, starts move replacements, completes
//!   moves, meters every start and stop, and closes billing periods.
//! * [`Report`] is what happened, as typed data: every decision, reason,
//!   pending explanation and shortfall in it is the core's own; the
//!   runner adds only the state it read through the core's public views
//!   (utilisation, NUMA nodes, skew, an audit of the guarantees).
//!   `serde_json` writes it as the JSON report; [`Report::to_text`] (or
//!   `Display`) is the 80-column text report.
//! * [`demo_scenario`] is the built-in demo, `scenarios/demo.json`.
//!
//! ```
//! use trimline_sim::{Scenario, run};
//!
//! let sc = Scenario::from_json(r#"{
//!     "name": "two hosts",
//!     "zones": ["zone-a"],
//!     "catalog": [{"id": "g7", "family": "g7", "generation": 7, "arch": "x86_64",
//!                  "cpu_vendor": "intel", "vcpus": 16, "memory_gib": 64,
//!                  "perf_score": 100, "price_nanos_per_second": 1000}],
//!     "hosts": [{"sku": "g7", "count": 2}],
//!     "apps": [{"id": "web", "tenant": "acme", "cpu_millis": 4000, "memory_mib": 8192}],
//!     "timeline": [{"scale": {"app": "web", "to": 10}}, {"bill": {}}]
//! }"#)?;
//! sc.validate()?;
//! let report = run(&sc)?;
//! let text = report.to_text();
//! assert!(text.contains("scale web 0 -> 10"));
//! assert!(text.contains("8 placed on running hosts, 2 pending"));
//! let json = serde_json::to_value(&report)?;
//! assert_eq!(json["invoices"][0]["tenant"], "acme");
//!
//! // A bad value is named by its JSON path, before anything runs.
//! let bad = Scenario::from_json(r#"{"name": "x", "zones": [], "catalog": [], "hosts": [],
//!     "apps": [], "timeline": [{"scale": {"app": "web", "to": 1}}]}"#)?;
//! let e = bad.validate().unwrap_err();
//! assert_eq!(e.path(), "timeline[0].scale.app");
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![forbid(unsafe_code)]

pub mod report;
mod run;
pub mod scenario;

pub use report::Report;
pub use run::{Call, RunError, run, run_observed};
pub use scenario::{Scenario, ScenarioError};

/// The demo's scenario file, `scenarios/demo.json`, built in.
pub const DEMO_JSON: &str = include_str!("../scenarios/demo.json");

/// The built-in demo: a region of three zones and close to two thousand
/// hosts, and its stories (launch day, peak sale, market open, month-end
/// ERP, zone failure and recovery, the bill).
pub fn demo_scenario() -> Scenario {
    // The built-in file is checked by the tests (`tests/truth.rs`): it
    // parses and validates, so this cannot fail.
    #[allow(clippy::expect_used)]
    Scenario::from_json(DEMO_JSON).expect("the built-in demo scenario parses")
}

/// The JSON Schema (draft 2020-12) of scenario files, pretty-printed; it
/// is checked in as `core/schema/scenario.schema.json`.
pub fn scenario_schema() -> String {
    let generator = schemars::generate::SchemaSettings::draft2020_12().into_generator();
    let schema = generator.into_root_schema_for::<Scenario>();
    serde_json::to_string_pretty(&schema).unwrap_or_default()
}
