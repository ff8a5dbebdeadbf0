//! Observability on `trimline.Scheduler`: the audit log, counters, the
//! metrics exposition and promise versus delivery. The methods are
//! declared with the scheduler's (`scheduler.rs`); the work and the
//! conversions are here. Records, counters and deliveries cross as dicts
//! in the core's serde shapes (`core/schema/audit.schema.json`,
//! `counters.schema.json`, `delivery.schema.json`).

use pyo3::prelude::*;
use trimline::{AppId, Timestamp};

use crate::convert::{parse_id, to_py};
use crate::errors::to_py_err;

/// `{"format", "dropped", "records"}`, the log left empty.
pub(crate) fn drain_audit<'py>(
    py: Python<'py>,
    s: &mut trimline::Scheduler,
) -> PyResult<Bound<'py, PyAny>> {
    to_py(py, &s.drain_audit())
}

/// The counters as a dict.
pub(crate) fn counters<'py>(
    py: Python<'py>,
    s: &trimline::Scheduler,
) -> PyResult<Bound<'py, PyAny>> {
    to_py(py, s.counters())
}

/// One app's promise versus delivery as a dict.
pub(crate) fn delivery<'py>(
    py: Python<'py>,
    s: &trimline::Scheduler,
    app: &str,
    now: u64,
) -> PyResult<Bound<'py, PyAny>> {
    let app: AppId = parse_id(app)?;
    let d = s.delivery(&app, Timestamp(now)).map_err(to_py_err)?;
    to_py(py, &d)
}

/// Every app's, as a list of dicts.
pub(crate) fn deliveries<'py>(
    py: Python<'py>,
    s: &trimline::Scheduler,
    now: u64,
) -> PyResult<Bound<'py, PyAny>> {
    to_py(py, &s.deliveries(Timestamp(now)))
}
