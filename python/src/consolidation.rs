//! Consolidation results: `trimline.ConsolidationStep`, what one call of
//! `Scheduler.start_consolidation` did. Plans cross as dicts in the core's
//! serde shape (`trimline::repack::ConsolidationPlan`).

use pyo3::prelude::*;

use crate::convert::to_py;
use crate::results::Decisions;

/// What one call of `Scheduler.start_consolidation` did: the moves started
/// (in `decisions`), how many moves of the plan are in flight, done or
/// waiting for their app's disruption budget, which instances' moves are
/// stale, and a re-plan (a dict) when some were.
#[pyclass(module = "trimline._trimline", frozen, get_all)]
pub(crate) struct ConsolidationStep {
    /// The moves started, with their replacements in `placements`.
    decisions: Py<Decisions>,
    /// Moves of the plan in flight.
    in_flight: usize,
    /// Moves of the plan done.
    done: usize,
    /// Moves of the plan waiting for their app's disruption budget.
    waiting: usize,
    /// Instances whose move can no longer be carried out as planned.
    stale: Vec<u64>,
    /// A fresh plan (a dict) when some move was stale, else `None`.
    replan: Option<Py<PyAny>>,
    /// Every move done, none in flight, waiting or stale.
    finished: bool,
}

impl ConsolidationStep {
    /// Converts the core's step.
    pub(crate) fn new(py: Python<'_>, step: trimline::repack::ConsolidationStep) -> PyResult<Self> {
        let finished = step.is_finished();
        let replan = match &step.replan {
            Some(plan) => Some(to_py(py, plan)?.unbind()),
            None => None,
        };
        Ok(ConsolidationStep {
            decisions: Py::new(py, Decisions::new(step.decisions))?,
            in_flight: step.in_flight,
            done: step.done,
            waiting: step.waiting,
            stale: step.stale.iter().map(|i| i.0).collect(),
            replan,
            finished,
        })
    }
}

#[pymethods]
impl ConsolidationStep {
    fn __repr__(&self) -> String {
        format!(
            "ConsolidationStep(in_flight={}, done={}, waiting={}, stale={:?}, finished={})",
            self.in_flight,
            self.done,
            self.waiting,
            self.stale,
            if self.finished { "True" } else { "False" }
        )
    }
}
