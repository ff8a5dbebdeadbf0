//! Python bindings for the trimline scheduling core: the native module
//! `trimline._trimline`, re-exported by the pure-Python package `trimline`.
//!
//! This crate only converts arguments and results; all behaviour lives in the
//! `trimline` core. Its Python-facing API is described by
//! `python/trimline/_trimline.pyi`.

use pyo3::prelude::*;

mod bench;
mod coldstart;
mod consolidation;
mod convert;
pub mod errors;
mod meter;
mod observe;
mod pack;
mod results;
mod scheduler;
mod sim;
mod standby;

/// The native half of the `trimline` package.
#[pymodule]
fn _trimline(m: &Bound<'_, PyModule>) -> PyResult<()> {
    let py = m.py();
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<scheduler::Scheduler>()?;
    m.add_class::<meter::Meter>()?;
    m.add_class::<meter::Event>()?;
    m.add_class::<meter::Invoice>()?;
    m.add_class::<meter::InvoiceLine>()?;
    m.add_class::<meter::PeriodReport>()?;
    m.add_class::<meter::BatchIngested>()?;
    m.add_class::<results::Decisions>()?;
    m.add_class::<results::Placement>()?;
    m.add_class::<results::Eviction>()?;
    m.add_class::<results::PendingInstance>()?;
    m.add_class::<results::Removal>()?;
    m.add_class::<results::Provision>()?;
    m.add_class::<results::Cancellation>()?;
    m.add_class::<results::ResourceTotals>()?;
    m.add_class::<results::Shortfall>()?;
    m.add_class::<results::SkewViolation>()?;
    m.add_class::<results::Unplaced>()?;
    m.add_class::<results::Move>()?;
    m.add_class::<results::SubstitutionNote>()?;
    m.add_class::<consolidation::ConsolidationStep>()?;
    m.add_function(wrap_pyfunction!(meter::decision_events, m)?)?;
    m.add_function(wrap_pyfunction!(errors::_error_kinds, m)?)?;
    m.add_function(wrap_pyfunction!(bench::_bench_rust, m)?)?;
    m.add_function(wrap_pyfunction!(sim::run_scenario, m)?)?;
    m.add_function(wrap_pyfunction!(sim::demo_scenario, m)?)?;
    m.add_function(wrap_pyfunction!(sim::scenario_schema, m)?)?;
    m.add_function(wrap_pyfunction!(errors::_raise_kind, m)?)?;
    m.add_function(wrap_pyfunction!(pack::pack_partial, m)?)?;
    m.add("TrimlineError", py.get_type::<errors::TrimlineError>())?;
    m.add("InvalidInput", py.get_type::<errors::InvalidInput>())?;
    m.add("UnknownId", py.get_type::<errors::UnknownId>())?;
    m.add("AlreadyExists", py.get_type::<errors::AlreadyExists>())?;
    m.add("Conflict", py.get_type::<errors::Conflict>())?;
    m.add(
        "TimeWentBackwards",
        py.get_type::<errors::TimeWentBackwards>(),
    )?;
    m.add("OutOfOrder", py.get_type::<errors::OutOfOrder>())?;
    m.add("LimitExceeded", py.get_type::<errors::LimitExceeded>())?;
    m.add("Unschedulable", py.get_type::<errors::Unschedulable>())?;
    m.add("RestoreError", py.get_type::<errors::RestoreError>())?;
    m.add(
        "InvariantViolation",
        py.get_type::<errors::InvariantViolation>(),
    )?;
    m.add("SimulationError", py.get_type::<errors::SimulationError>())?;
    Ok(())
}
