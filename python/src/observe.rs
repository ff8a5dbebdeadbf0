//! Observability on `trimline.Scheduler`: the audit log, counters, the
//! metrics exposition and promise versus delivery. The methods are
//! declared with the scheduler's (`scheduler.rs`); the work and the
//! conversions are here. Records, counters and deliveries cross as dicts
//! in the core's serde shapes (`core/schema/audit.schema.json`,
//! `counters.schema.json`, `delivery.schema.json`).

use pyo3::prelude::*;
use trimline::{AppDelivery, AuditBatch, Counters, Error};

use crate::convert::to_py;
use crate::errors::to_py_err;

// Each function takes what the scheduler returned, read with its lock held;
// the Python objects are built after the lock is released, as building
// them can run Python code (a finalizer, in a garbage collection) that
// calls the same scheduler.

/// `{"format", "dropped", "records"}`.
pub(crate) fn drain_audit<'py>(py: Python<'py>, batch: &AuditBatch) -> PyResult<Bound<'py, PyAny>> {
    to_py(py, batch)
}

/// The counters as a dict.
pub(crate) fn counters<'py>(py: Python<'py>, counters: &Counters) -> PyResult<Bound<'py, PyAny>> {
    to_py(py, counters)
}

/// One app's promise versus delivery as a dict.
pub(crate) fn delivery<'py>(
    py: Python<'py>,
    delivery: Result<AppDelivery, Error>,
) -> PyResult<Bound<'py, PyAny>> {
    to_py(py, &delivery.map_err(to_py_err)?)
}

/// Every app's, as a list of dicts.
pub(crate) fn deliveries<'py>(
    py: Python<'py>,
    deliveries: &[AppDelivery],
) -> PyResult<Bound<'py, PyAny>> {
    to_py(py, deliveries)
}
