//! The scenario runner, `trimline-sim`, as the functions behind
//! `python -m trimline demo`, `python -m trimline simulate` and
//! `trimline.simulate`: the same runner and the same report as the
//! `trimline` binary, called, not copied.

use pyo3::prelude::*;
use trimline_sim::{RunError, Scenario, run};

use crate::errors::{InvalidInput, SimulationError};

/// The built-in demo's scenario file, as JSON text.
#[pyfunction]
pub(crate) fn demo_scenario() -> &'static str {
    trimline_sim::DEMO_JSON
}

/// The JSON Schema of scenario files, as JSON text.
#[pyfunction]
pub(crate) fn scenario_schema() -> String {
    trimline_sim::scenario_schema()
}

/// Run a scenario (JSON text) and return its report: the 80-column text,
/// or with `json=True` the JSON document, each exactly as the `trimline`
/// binary prints it. A bad file raises `InvalidInput` naming the JSON path
/// of the bad value, before anything runs; a call the core refuses during
/// the run raises `SimulationError` naming its timeline event. The run
/// releases the GIL.
#[pyfunction]
#[pyo3(signature = (scenario, json = false))]
pub(crate) fn run_scenario(py: Python<'_>, scenario: &str, json: bool) -> PyResult<String> {
    let sc = Scenario::from_json(scenario).map_err(|e| InvalidInput::new_err(e.to_string()))?;
    py.detach(|| {
        let report = run(&sc).map_err(run_error)?;
        if json {
            // The binary prints the pretty JSON with `println!`.
            serde_json::to_string_pretty(&report)
                .map(|text| text + "\n")
                .map_err(|e| SimulationError::new_err(e.to_string()))
        } else {
            Ok(report.to_string())
        }
    })
}

/// The runner's error enum is non-exhaustive: a bad scenario is invalid
/// input, every other stop a failed run.
fn run_error(e: RunError) -> PyErr {
    if let RunError::Scenario(s) = &e {
        InvalidInput::new_err(s.to_string())
    } else {
        SimulationError::new_err(e.to_string())
    }
}
