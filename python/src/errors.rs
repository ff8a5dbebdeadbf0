//! The exception hierarchy and the one conversion from core errors.
//!
//! Every core error enum classifies itself with `kind()`, an exhaustive
//! `match` inside the core (the enums are `#[non_exhaustive]`, so a `match`
//! here would need a catch-all arm). [`exception_for`] maps each
//! [`ErrorKind`] to its exception class, again with no catch-all arm: a new
//! core error does not compile until the core classifies it, and a new kind
//! does not compile until it has a class here.

use pyo3::create_exception;
use pyo3::exceptions::PyException;
use pyo3::prelude::*;
use trimline::ErrorKind;

create_exception!(
    trimline,
    TrimlineError,
    PyException,
    "Base class of every error trimline raises."
);
create_exception!(
    trimline,
    InvalidInput,
    TrimlineError,
    "A spec or argument the core refuses: a bad name, zero or too large resources, a wrong shape."
);
create_exception!(
    trimline,
    UnknownId,
    TrimlineError,
    "An id (SKU, zone, host, app, instance, offering) that does not exist."
);
create_exception!(
    trimline,
    AlreadyExists,
    TrimlineError,
    "An id declared a second time."
);
create_exception!(
    trimline,
    Conflict,
    TrimlineError,
    "A call that the current state does not allow (an app with instances, a planned host, ...)."
);
create_exception!(
    trimline,
    TimeWentBackwards,
    TrimlineError,
    "A call whose `now` is before the time of an earlier call."
);
create_exception!(
    trimline,
    OutOfOrder,
    TrimlineError,
    "A metering event or period out of order."
);
create_exception!(
    trimline,
    LimitExceeded,
    TrimlineError,
    "A call beyond a documented limit (batch size, hosts per class, arithmetic range)."
);
create_exception!(
    trimline,
    Unschedulable,
    TrimlineError,
    "An all-or-nothing batch that does not fit as a whole."
);
create_exception!(
    trimline,
    RestoreError,
    TrimlineError,
    "A snapshot that cannot be restored."
);
create_exception!(
    trimline,
    InvariantViolation,
    TrimlineError,
    "check_invariants found a broken invariant (a bug in trimline)."
);

create_exception!(
    trimline,
    SimulationError,
    TrimlineError,
    "A scenario run stopped: the core refused a call of its timeline (named by its JSON path)."
);

/// The exception class of an error kind: one exhaustive match.
pub(crate) fn exception_for(kind: ErrorKind, message: String) -> PyErr {
    match kind {
        ErrorKind::InvalidInput => InvalidInput::new_err(message),
        ErrorKind::UnknownId => UnknownId::new_err(message),
        ErrorKind::AlreadyExists => AlreadyExists::new_err(message),
        ErrorKind::Conflict => Conflict::new_err(message),
        ErrorKind::TimeWentBackwards => TimeWentBackwards::new_err(message),
        ErrorKind::OutOfOrder => OutOfOrder::new_err(message),
        ErrorKind::LimitExceeded => LimitExceeded::new_err(message),
        ErrorKind::Unschedulable => Unschedulable::new_err(message),
        ErrorKind::Restore => RestoreError::new_err(message),
    }
}

/// A core error that knows its kind.
pub(crate) trait CoreError: std::fmt::Display {
    /// The core's classification.
    fn kind(&self) -> ErrorKind;
}

macro_rules! core_errors {
    ($($ty:ty),* $(,)?) => {
        $(impl CoreError for $ty {
            fn kind(&self) -> ErrorKind {
                <$ty>::kind(self)
            }
        })*
    };
}

core_errors!(
    trimline::Error,
    trimline::RestoreError,
    trimline::NameError,
    trimline::ResourceError,
    trimline::metering::MeterError,
    trimline::metering::MeterRestoreError,
    trimline::metering::PriceError,
    trimline::pack::PackError,
);

/// The Python exception for a core error.
pub(crate) fn to_py_err<E: CoreError>(e: E) -> PyErr {
    exception_for(e.kind(), e.to_string())
}

/// A bad name (app, SKU, zone, tenant, label).
pub(crate) fn name_error(e: trimline::NameError) -> PyErr {
    to_py_err(e)
}

/// Every error kind's name and the exception class the conversion above
/// gives it, for the binding's tests.
#[pyfunction]
pub(crate) fn _error_kinds(py: Python<'_>) -> PyResult<Vec<(&'static str, Py<PyAny>)>> {
    ErrorKind::ALL
        .iter()
        .map(|&k| {
            Ok((
                k.name(),
                exception_for(k, String::new())
                    .get_type(py)
                    .into_any()
                    .unbind(),
            ))
        })
        .collect()
}

/// Raise the exception of a kind, by name, with a message (tests walk
/// every kind through the same conversion the binding uses).
#[pyfunction]
pub(crate) fn _raise_kind(name: &str, message: String) -> PyResult<()> {
    for k in ErrorKind::ALL {
        if k.name() == name {
            return Err(exception_for(k, message));
        }
    }
    Err(pyo3::exceptions::PyValueError::new_err(format!(
        "no error kind {name}"
    )))
}
