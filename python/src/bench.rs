//! The Rust side of the Python benchmark (`python/benches/bench.py`): the
//! same work as the Python calls, timed in Rust on a scheduler restored from
//! the same snapshot, so one run compares the two on one build and machine.
//! Not part of the API (the name starts with `_`).

use std::time::Instant;

use pyo3::prelude::*;
use trimline::{AppId, Timestamp};

use crate::convert::{Millis, Nat, from_json_input, parse_id};
use crate::errors::to_py_err;

/// Restore `snapshot`, then time in Rust, in nanoseconds: `"scale"` (one
/// `scale(app, count, now)`) or `"place"` (`count` calls of
/// `place(app, now)`). The restore is not timed; the decisions are dropped
/// after the clock stops.
#[pyfunction]
pub(crate) fn _bench_rust(
    py: Python<'_>,
    snapshot: &Bound<'_, PyAny>,
    op: &str,
    app: &str,
    count: Nat<u32>,
    now: Millis,
) -> PyResult<u64> {
    let place = match op {
        "scale" => false,
        "place" => true,
        other => {
            return Err(pyo3::exceptions::PyValueError::new_err(format!(
                "op must be \"scale\" or \"place\", not {other:?}"
            )));
        }
    };
    let snap: trimline::Snapshot = from_json_input(snapshot, "snapshot")?;
    let app: AppId = parse_id(app)?;
    let now = Timestamp(now.0);
    let mut s = trimline::Scheduler::restore(snap).map_err(to_py_err)?;
    let elapsed = py.detach(|| -> Result<u128, trimline::Error> {
        if place {
            let mut kept = Vec::with_capacity(count.0 as usize);
            let start = Instant::now();
            for _ in 0..count.0 {
                kept.push(s.place(&app, now)?);
            }
            Ok(start.elapsed().as_nanos())
        } else {
            let start = Instant::now();
            let d = s.scale(&app, count.0, now)?;
            let t = start.elapsed().as_nanos();
            drop(d);
            Ok(t)
        }
    });
    let ns = elapsed.map_err(to_py_err)?;
    Ok(u64::try_from(ns).unwrap_or(u64::MAX))
}
