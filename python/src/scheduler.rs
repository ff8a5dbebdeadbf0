//! `trimline.Scheduler`: the core scheduler behind a mutex.
//!
//! Arguments are converted first, with the GIL held; then the core runs
//! with the lock taken and, for the heavy calls, the GIL released
//! (`py.detach`); then the result is converted. The mutex is never held
//! while Python runs, so two threads cannot deadlock on it and the GIL.

use std::sync::{Mutex, MutexGuard};

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict, PyTuple, PyType};
use trimline::{
    AppId, BatchMode, Error, HostId, HostSpec, HostState, InstanceId, ProvisionFailure, SkuId,
    Stock, Timestamp, ZoneId, ZoneState,
};

use crate::consolidation::ConsolidationStep;
use crate::convert::{
    Millis, Nat, from_json_input, from_py, parse_id, to_json_bytes, to_py, variant_name,
};
use crate::errors::{InvariantViolation, to_py_err};
use crate::results::Decisions;

/// The scheduling core: a region (zones, SKUs, hosts, stock), apps, and
/// every call that places, scales, evacuates and explains.
#[pyclass(module = "trimline._trimline", frozen)]
pub(crate) struct Scheduler {
    inner: Mutex<trimline::Scheduler>,
}

/// Whether a call runs with the GIL released.
#[derive(Copy, Clone, PartialEq, Eq)]
enum Gil {
    /// Quick calls: releasing the GIL would cost more than it saves.
    Keep,
    /// Heavy calls (batches, scale, evacuation, repack): other Python
    /// threads run meanwhile.
    Release,
}

impl Scheduler {
    fn wrap(s: trimline::Scheduler) -> Self {
        Scheduler {
            inner: Mutex::new(s),
        }
    }

    /// The scheduler, locked. A poisoned lock means a panic inside the
    /// core, which no input can cause (the core has no panicking paths on
    /// input); the state is taken as it is rather than failing forever.
    fn lock(&self) -> MutexGuard<'_, trimline::Scheduler> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Run `f` on the locked scheduler, with or without the GIL.
    fn run<T: Send>(
        &self,
        py: Python<'_>,
        gil: Gil,
        f: impl FnOnce(&mut trimline::Scheduler) -> T + Send,
    ) -> T {
        match gil {
            Gil::Keep => f(&mut self.lock()),
            Gil::Release => py.detach(|| f(&mut self.lock())),
        }
    }

    /// Run a call that returns decisions.
    fn decide(
        &self,
        py: Python<'_>,
        gil: Gil,
        f: impl FnOnce(&mut trimline::Scheduler) -> Result<trimline::Decisions, Error> + Send,
    ) -> PyResult<Decisions> {
        self.run(py, gil, f).map(Decisions::new).map_err(to_py_err)
    }
}

fn zone_state(obj: &Bound<'_, PyAny>) -> PyResult<ZoneState> {
    from_py(obj, "zone state")
}

fn stock(obj: &Bound<'_, PyAny>) -> PyResult<Stock> {
    if obj.is_instance_of::<pyo3::types::PyInt>() {
        let n: Nat<u32> = obj.extract()?;
        return Ok(Stock::Known(n.0));
    }
    from_py(obj, "stock")
}

#[pymethods]
impl Scheduler {
    /// A scheduler with no zones, SKUs, hosts or apps. `config` is a
    /// `trimline.Config` (or a dict in its shape); omitted fields take the
    /// core's defaults.
    #[new]
    #[pyo3(signature = (config = None))]
    fn new(config: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let config = match config {
            Some(c) if !c.is_none() => from_py(c, "config")?,
            _ => trimline::Config::default(),
        };
        Ok(Scheduler::wrap(trimline::Scheduler::new(config)))
    }

    /// The time of the latest call, in milliseconds.
    #[getter]
    fn now(&self) -> u64 {
        self.lock().now().as_millis()
    }

    /// The configuration, as a dict.
    #[getter]
    fn config<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let c = self.lock().config().clone();
        to_py(py, &c)
    }

    // ----- region ---------------------------------------------------------

    /// Declare a zone.
    #[pyo3(signature = (zone, now, state = None))]
    fn add_zone(
        &self,
        py: Python<'_>,
        zone: &str,
        now: Millis,
        state: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<()> {
        let zone: ZoneId = parse_id(zone)?;
        let state = match state {
            Some(s) => zone_state(s)?,
            None => ZoneState::Up,
        };
        self.run(py, Gil::Keep, |s| s.add_zone(zone, state, Timestamp(now.0)))
            .map_err(to_py_err)
    }

    /// Change a zone's state (`up`, `down`, `draining`) without evacuating.
    fn set_zone_state(
        &self,
        py: Python<'_>,
        zone: &str,
        state: &Bound<'_, PyAny>,
        now: Millis,
    ) -> PyResult<Decisions> {
        let zone: ZoneId = parse_id(zone)?;
        let state = zone_state(state)?;
        self.decide(py, Gil::Release, |s| {
            s.set_zone_state(&zone, state, Timestamp(now.0))
        })
    }

    /// Add a SKU to the catalog (a `trimline.SkuSpec` or a dict in its shape).
    fn add_sku(&self, py: Python<'_>, spec: &Bound<'_, PyAny>, now: Millis) -> PyResult<()> {
        let spec: trimline::SkuSpec = from_py(spec, "sku")?;
        self.run(py, Gil::Keep, |s| s.add_sku(spec, Timestamp(now.0)))
            .map_err(to_py_err)
    }

    /// Add a host of a SKU in a zone. Pending instances that fit are placed.
    fn add_host(
        &self,
        py: Python<'_>,
        id: Nat<u64>,
        sku: &str,
        zone: &str,
        now: Millis,
    ) -> PyResult<Decisions> {
        let spec = HostSpec {
            id: HostId(id.0),
            sku: parse_id(sku)?,
            zone: parse_id(zone)?,
        };
        self.decide(py, Gil::Keep, |s| s.add_host(spec, Timestamp(now.0)))
    }

    /// Remove a host; its instances are evicted and re-placed if they can be.
    fn remove_host(&self, py: Python<'_>, id: Nat<u64>, now: Millis) -> PyResult<Decisions> {
        self.decide(py, Gil::Release, |s| {
            s.remove_host(HostId(id.0), Timestamp(now.0))
        })
    }

    /// Cordon (`cordoned`) or uncordon (`ready`) a host.
    fn set_host_state(
        &self,
        py: Python<'_>,
        id: Nat<u64>,
        state: &Bound<'_, PyAny>,
        now: Millis,
    ) -> PyResult<Decisions> {
        let state: HostState = from_py(state, "host state")?;
        self.decide(py, Gil::Release, |s| {
            s.set_host_state(HostId(id.0), state, Timestamp(now.0))
        })
    }

    /// Declare an offering's stock: an `int` of hosts that can still be
    /// ordered, `"unknown"` or `"exhausted"`.
    fn set_stock(
        &self,
        py: Python<'_>,
        sku: &str,
        zone: &str,
        stock: &Bound<'_, PyAny>,
        now: Millis,
    ) -> PyResult<Decisions> {
        let sku: SkuId = parse_id(sku)?;
        let zone: ZoneId = parse_id(zone)?;
        let stock = self::stock(stock)?;
        self.decide(py, Gil::Release, |s| {
            s.set_stock(&sku, &zone, stock, Timestamp(now.0))
        })
    }

    // ----- apps -----------------------------------------------------------

    /// Register an app (a `trimline.AppSpec` or a dict in its shape).
    fn add_app(&self, py: Python<'_>, spec: &Bound<'_, PyAny>, now: Millis) -> PyResult<()> {
        let spec: trimline::AppSpec = from_py(spec, "app")?;
        self.run(py, Gil::Keep, |s| s.add_app(spec, Timestamp(now.0)))
            .map_err(to_py_err)
    }

    /// Remove an app that has no instances left.
    fn remove_app(&self, py: Python<'_>, app: &str, now: Millis) -> PyResult<()> {
        let app: AppId = parse_id(app)?;
        self.run(py, Gil::Keep, |s| s.remove_app(&app, Timestamp(now.0)))
            .map_err(to_py_err)
    }

    /// Place one instance of an app.
    fn place(&self, py: Python<'_>, app: &str, now: Millis) -> PyResult<Decisions> {
        let app: AppId = parse_id(app)?;
        self.decide(py, Gil::Keep, |s| s.place(&app, Timestamp(now.0)))
    }

    /// Place `count` instances of an app. `mode` is `"partial"` (those that
    /// do not fit wait) or `"all_or_nothing"` (raises `Unschedulable` and
    /// changes nothing unless all fit).
    #[pyo3(signature = (app, count, now, mode = None))]
    fn place_batch(
        &self,
        py: Python<'_>,
        app: &str,
        count: Nat<u32>,
        now: Millis,
        mode: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Decisions> {
        let app: AppId = parse_id(app)?;
        let mode: BatchMode = match mode {
            Some(m) => from_py(m, "mode")?,
            None => BatchMode::Partial,
        };
        self.decide(py, Gil::Release, |s| {
            s.place_batch(&app, count.0, mode, Timestamp(now.0))
        })
    }

    /// Scale an app to `target` instances (placing or removing).
    fn scale(
        &self,
        py: Python<'_>,
        app: &str,
        target: Nat<u32>,
        now: Millis,
    ) -> PyResult<Decisions> {
        let app: AppId = parse_id(app)?;
        self.decide(py, Gil::Release, |s| {
            s.scale(&app, target.0, Timestamp(now.0))
        })
    }

    /// Remove one instance.
    fn remove_instance(
        &self,
        py: Python<'_>,
        instance: Nat<u64>,
        now: Millis,
    ) -> PyResult<Decisions> {
        self.decide(py, Gil::Keep, |s| {
            s.remove_instance(InstanceId(instance.0), Timestamp(now.0))
        })
    }

    /// Retry pending instances and expired back-offs.
    fn reconcile(&self, py: Python<'_>, now: Millis) -> PyResult<Decisions> {
        self.decide(py, Gil::Release, |s| s.reconcile(Timestamp(now.0)))
    }

    /// Call `fn(copy)` on a copy of this scheduler and return what it
    /// returns; this scheduler does not change. The copy starts with an
    /// empty audit log: what `fn` decides is not logged here.
    fn dry_run(&self, py: Python<'_>, r#fn: &Bound<'_, PyAny>) -> PyResult<Py<PyAny>> {
        let copy = self.run(py, Gil::Release, |s| s.clone());
        let copy = Py::new(py, Scheduler::wrap(copy))?;
        Ok(r#fn.call1((copy,))?.unbind())
    }

    // ----- provisioning ---------------------------------------------------

    /// A planned host was provisioned as `host`: its tentative instances start.
    fn host_ready(
        &self,
        py: Python<'_>,
        planned: Nat<u64>,
        host: Nat<u64>,
        now: Millis,
    ) -> PyResult<Decisions> {
        self.decide(py, Gil::Release, |s| {
            s.host_ready(HostId(planned.0), HostId(host.0), Timestamp(now.0))
        })
    }

    /// Provisioning of an offering failed (`"insufficient_stock"` or
    /// `"other"`): its planned hosts are dropped and the offering backs off.
    #[pyo3(signature = (sku, zone, now, failure = None))]
    fn provision_failed(
        &self,
        py: Python<'_>,
        sku: &str,
        zone: &str,
        now: Millis,
        failure: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Decisions> {
        let sku: SkuId = parse_id(sku)?;
        let zone: ZoneId = parse_id(zone)?;
        let failure: ProvisionFailure = match failure {
            Some(f) => from_py(f, "failure")?,
            None => ProvisionFailure::Other,
        };
        self.decide(py, Gil::Release, |s| {
            s.provision_failed(&sku, &zone, failure, Timestamp(now.0))
        })
    }

    /// When to call `reconcile` next (a back-off expires), or `None`.
    fn next_deadline(&self) -> Option<u64> {
        self.lock().next_deadline().map(Timestamp::as_millis)
    }

    /// Every offering (SKU, zone) with its stock, planned hosts and back-off.
    fn offerings<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let o = self.lock().offerings();
        to_py(py, &o)
    }

    /// Every SKU judged for an app in a zone: accepted (tier, rank,
    /// availability) or the rule that rejected it.
    fn explain_substitution<'py>(
        &self,
        py: Python<'py>,
        app: &str,
        zone: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let app: AppId = parse_id(app)?;
        let zone: ZoneId = parse_id(zone)?;
        let v = self.lock().explain_substitution(&app, &zone);
        to_py(py, &v.map_err(to_py_err)?)
    }

    // ----- failures, evacuation, moves -------------------------------------

    /// A zone is lost: evacuate its instances to the other zones.
    fn zone_down(&self, py: Python<'_>, zone: &str, now: Millis) -> PyResult<Decisions> {
        let zone: ZoneId = parse_id(zone)?;
        self.decide(py, Gil::Release, |s| s.zone_down(&zone, Timestamp(now.0)))
    }

    /// A zone is back: rebalance apps beyond their skew limit.
    fn zone_up(&self, py: Python<'_>, zone: &str, now: Millis) -> PyResult<Decisions> {
        let zone: ZoneId = parse_id(zone)?;
        self.decide(py, Gil::Release, |s| s.zone_up(&zone, Timestamp(now.0)))
    }

    /// A host failed: evacuate its instances.
    fn host_failed(&self, py: Python<'_>, host: Nat<u64>, now: Millis) -> PyResult<Decisions> {
        self.decide(py, Gil::Release, |s| {
            s.host_failed(HostId(host.0), Timestamp(now.0))
        })
    }

    /// Plan moves that bring apps back within their skew limits.
    fn rebalance(&self, py: Python<'_>, now: Millis) -> PyResult<Decisions> {
        self.decide(py, Gil::Release, |s| s.rebalance(Timestamp(now.0)))
    }

    /// Plan moves of substituted instances back to more preferred SKUs.
    fn plan_return(&self, py: Python<'_>, now: Millis) -> PyResult<Decisions> {
        self.decide(py, Gil::Release, |s| s.plan_return(Timestamp(now.0)))
    }

    /// A move's replacement runs: the original stops.
    fn complete_move(&self, py: Python<'_>, to: Nat<u64>, now: Millis) -> PyResult<Decisions> {
        self.decide(py, Gil::Keep, |s| {
            s.complete_move(InstanceId(to.0), Timestamp(now.0))
        })
    }

    /// Call off a move: its replacement is removed.
    fn abort_move(&self, py: Python<'_>, to: Nat<u64>, now: Millis) -> PyResult<Decisions> {
        self.decide(py, Gil::Keep, |s| {
            s.abort_move(InstanceId(to.0), Timestamp(now.0))
        })
    }

    /// Moves in flight, as dicts (`to`, `from`).
    fn moves_in_flight<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let m = self.lock().moves_in_flight();
        to_py(py, &m)
    }

    /// For each zone, what would find no place if it were lost.
    fn survive_zone_loss<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let r = self.run(py, Gil::Release, |s| s.survive_zone_loss());
        to_py(py, &r)
    }

    /// A plan that packs instances onto fewer hosts (nothing changes).
    #[pyo3(signature = (budget = None, seed = Nat(0)), text_signature = "(self, /, budget=None, seed=0)")]
    fn plan_repack<'py>(
        &self,
        py: Python<'py>,
        budget: Option<Nat<u64>>,
        seed: Nat<u64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut options = match budget {
            Some(b) => trimline::repack::RepackOptions::with_budget(b.0),
            None => trimline::repack::RepackOptions::default(),
        };
        options.seed = seed.0;
        let plan = self.run(py, Gil::Release, |s| s.plan_repack(&options));
        to_py(py, &plan)
    }

    /// A plan (a dict) of which hosts to empty and the ordered moves that
    /// empty them, at most `max_hosts` hosts and `max_moves` moves
    /// (nothing changes). `replace` (a dict with the optional `skus` and
    /// `max_new_hosts`) also replaces hosts with fewer or cheaper new
    /// ones: the plan's `provisions`, planned as their first move starts.
    #[pyo3(
        signature = (max_hosts = None, max_moves = None, replace = None),
        text_signature = "(self, /, max_hosts=None, max_moves=None, replace=None)"
    )]
    fn plan_consolidation<'py>(
        &self,
        py: Python<'py>,
        max_hosts: Option<Nat<u32>>,
        max_moves: Option<Nat<u32>>,
        replace: Option<&Bound<'_, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mut options = trimline::repack::ConsolidationOptions::new(
            max_hosts.map(|n| n.0),
            max_moves.map(|n| n.0),
        );
        if let Some(r) = replace {
            let r: trimline::repack::ReplaceOptions = from_py(r, "replace options")?;
            options = options.with_replace(r);
        }
        let plan = self.run(py, Gil::Release, |s| s.plan_consolidation(&options));
        to_py(py, &plan)
    }

    /// Start the moves of a consolidation plan (a dict from
    /// `plan_consolidation`, or a step's `replan`) that can start now.
    fn start_consolidation(
        &self,
        py: Python<'_>,
        plan: &Bound<'_, PyAny>,
        now: Millis,
    ) -> PyResult<ConsolidationStep> {
        let plan: trimline::repack::ConsolidationPlan = from_py(plan, "consolidation plan")?;
        let step = self
            .run(py, Gil::Release, |s| {
                s.start_consolidation(&plan, Timestamp(now.0))
            })
            .map_err(to_py_err)?;
        ConsolidationStep::new(py, step)
    }

    /// An app's zone skew (largest minus smallest instance count).
    fn skew(&self, app: &str) -> PyResult<u32> {
        let app: AppId = parse_id(app)?;
        let skew = self.lock().skew(&app);
        skew.map_err(to_py_err)
    }

    // ----- queries --------------------------------------------------------

    /// A SKU's spec as a dict, or `None`.
    fn sku<'py>(&self, py: Python<'py>, id: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
        let id: SkuId = parse_id(id)?;
        let spec = self.lock().sku(&id).cloned();
        spec.map(|s| to_py(py, &s)).transpose()
    }

    /// The SKU ids, in catalog order.
    fn skus(&self) -> Vec<String> {
        self.lock().skus().map(|s| s.id.to_string()).collect()
    }

    /// Every zone and its state (`up`, `down`, `draining`).
    fn zones<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyDict>> {
        let zones: Vec<(String, String)> = self
            .lock()
            .zones()
            .map(|(z, st)| (z.to_string(), variant_name(&st)))
            .collect();
        let d = PyDict::new(py);
        for (z, st) in zones {
            d.set_item(z, st)?;
        }
        Ok(d)
    }

    /// An app's spec as a dict, or `None`.
    fn app<'py>(&self, py: Python<'py>, id: &str) -> PyResult<Option<Bound<'py, PyAny>>> {
        let id: AppId = parse_id(id)?;
        let spec = self.lock().app(&id).cloned();
        spec.map(|s| to_py(py, &s)).transpose()
    }

    /// The app ids, in order of registration.
    fn apps(&self) -> Vec<String> {
        self.lock().apps().map(|a| a.id.to_string()).collect()
    }

    /// An app's instance ids.
    fn app_instances(&self, app: &str) -> PyResult<Vec<u64>> {
        let app: AppId = parse_id(app)?;
        Ok(self
            .lock()
            .app_instances(&app)
            .into_iter()
            .map(|i| i.0)
            .collect())
    }

    /// An app's running instances per zone.
    fn app_zone_counts(&self, app: &str) -> PyResult<Vec<(String, u32)>> {
        let app: AppId = parse_id(app)?;
        Ok(self
            .lock()
            .app_zone_counts(&app)
            .into_iter()
            .map(|(z, n)| (z.to_string(), n))
            .collect())
    }

    /// The host ids.
    fn host_ids(&self) -> Vec<u64> {
        self.lock().host_ids().map(|h| h.0).collect()
    }

    /// How many hosts.
    fn host_count(&self) -> usize {
        self.lock().host_count()
    }

    /// How many instances (running, tentative and pending).
    fn instance_count(&self) -> usize {
        self.lock().instance_count()
    }

    /// A host (SKU, zone, state, capacity, free, NUMA nodes, instances) as
    /// a dict, or `None`.
    fn host<'py>(&self, py: Python<'py>, id: Nat<u64>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let h = self.lock().host(HostId(id.0));
        h.map(|h| to_py(py, &h)).transpose()
    }

    /// An instance (app, status) as a dict, or `None`.
    fn instance<'py>(&self, py: Python<'py>, id: Nat<u64>) -> PyResult<Option<Bound<'py, PyAny>>> {
        let i = self.lock().instance(InstanceId(id.0));
        i.map(|i| to_py(py, &i)).transpose()
    }

    /// The pending instance ids.
    fn pending(&self) -> Vec<u64> {
        self.lock().pending().into_iter().map(|i| i.0).collect()
    }

    /// Audit every invariant (no overcommit on any node and dimension,
    /// accounting, index); raises `InvariantViolation`.
    fn check_invariants(&self, py: Python<'_>) -> PyResult<()> {
        self.run(py, Gil::Release, |s| s.check_invariants())
            .map_err(|e| InvariantViolation::new_err(e.to_string()))
    }

    // ----- snapshot -------------------------------------------------------

    /// The whole state as JSON bytes; `Scheduler.restore` reads it back.
    fn snapshot<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let snap = self.run(py, Gil::Release, |s| s.snapshot());
        to_json_bytes(py, &snap)
    }

    /// A scheduler from a snapshot: JSON `bytes` or `str`, or a dict in the
    /// snapshot's shape.
    #[classmethod]
    fn restore(
        _cls: &Bound<'_, PyType>,
        py: Python<'_>,
        snapshot: &Bound<'_, PyAny>,
    ) -> PyResult<Self> {
        let snap: trimline::Snapshot = from_json_input(snapshot, "snapshot")?;
        let s = py
            .detach(|| trimline::Scheduler::restore(snap))
            .map_err(to_py_err)?;
        Ok(Scheduler::wrap(s))
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        let restore = slf.get_type().getattr("restore")?;
        let snap = slf.get().snapshot(py)?;
        Ok((restore, PyTuple::new(py, [snap])?))
    }

    fn __repr__(&self) -> String {
        let s = self.lock();
        format!(
            "<Scheduler now={} zones={} skus={} hosts={} apps={} instances={}>",
            s.now().as_millis(),
            s.zones().count(),
            s.skus().count(),
            s.host_count(),
            s.apps().count(),
            s.instance_count()
        )
    }

    // ----- observability (python/src/observe.rs) --------------------------

    /// Hand over the audit log, oldest record first, leaving it empty:
    /// `{"format", "dropped", "records"}`.
    fn drain_audit<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let batch = self.lock().drain_audit();
        crate::observe::drain_audit(py, &batch)
    }

    /// Bound the audit log to `capacity` records (0 turns it off).
    fn set_audit_capacity(&self, capacity: Nat<usize>) {
        self.lock().set_audit_capacity(capacity.0);
    }

    /// Most records the audit log holds (0: off).
    fn audit_capacity(&self) -> usize {
        self.lock().audit_capacity()
    }

    /// Records waiting in the audit log.
    fn audit_len(&self) -> usize {
        self.lock().audit_len()
    }

    /// The decision totals since creation or restore, as a dict.
    fn counters<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let counters = self.lock().counters().clone();
        crate::observe::counters(py, &counters)
    }

    /// Count one placement call's latency, in nanoseconds, in the
    /// latency histogram.
    fn record_placement_latency(&self, nanos: Nat<u64>) {
        self.lock().record_placement_latency(nanos.0);
    }

    /// The metrics as OpenMetrics text exposition.
    fn metrics_text(&self, py: Python<'_>) -> String {
        self.run(py, Gil::Release, |s| s.metrics_text())
    }

    /// Promise versus delivery for one app at `now`, as a dict.
    fn delivery<'py>(
        &self,
        py: Python<'py>,
        app: &str,
        now: Millis,
    ) -> PyResult<Bound<'py, PyAny>> {
        let app: AppId = parse_id(app)?;
        let delivery = self.lock().delivery(&app, Timestamp(now.0));
        crate::observe::delivery(py, delivery)
    }

    /// Promise versus delivery for every app at `now`.
    fn deliveries<'py>(&self, py: Python<'py>, now: Millis) -> PyResult<Bound<'py, PyAny>> {
        let deliveries = self.lock().deliveries(Timestamp(now.0));
        crate::observe::deliveries(py, &deliveries)
    }

    // ----- cold start -----------------------------------------------------

    /// Declare the image digests a host holds (replacing what it held).
    fn set_host_images(
        &self,
        py: Python<'_>,
        host: Nat<u64>,
        images: Vec<String>,
        now: Millis,
    ) -> PyResult<()> {
        let images = crate::coldstart::digests(images)?;
        self.run(py, Gil::Keep, |s| {
            s.set_host_images(HostId(host.0), images, Timestamp(now.0))
        })
        .map_err(to_py_err)
    }

    /// The image digests a host holds, sorted.
    fn host_images(&self, host: Nat<u64>) -> Vec<String> {
        crate::coldstart::names(&self.lock().host_images(HostId(host.0)))
    }

    /// Declare an offering's figures (a `trimline.OfferingFigures` or a
    /// dict in its shape) for the expected time to ready.
    fn set_offering_figures(
        &self,
        py: Python<'_>,
        figures: &Bound<'_, PyAny>,
        now: Millis,
    ) -> PyResult<()> {
        let figures: trimline::OfferingFigures = from_py(figures, "offering figures")?;
        self.run(py, Gil::Keep, |s| {
            s.set_offering_figures(figures, Timestamp(now.0))
        })
        .map_err(to_py_err)
    }

    /// The figures declared per offering, as dicts.
    fn offering_figures<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let figures = self.lock().offering_figures();
        to_py(py, &figures)
    }

    /// How the instances of `decisions` start (warm with the image, warm
    /// without it, new hosts), with pull bytes and expected time to ready,
    /// as a dict.
    fn cold_start_mix<'py>(
        &self,
        py: Python<'py>,
        decisions: &Decisions,
    ) -> PyResult<Bound<'py, PyAny>> {
        let mix = self.lock().cold_start_mix(decisions.inner());
        crate::coldstart::mix_to_py(py, &mix)
    }

    // ----- standby ----------------------------------------------------------

    /// Keep `count` standby instances of an app (pre-created, stopped,
    /// holding their capacity; they start first on a scale-out).
    fn set_standby(
        &self,
        py: Python<'_>,
        app: &str,
        count: Nat<u32>,
        now: Millis,
    ) -> PyResult<Decisions> {
        let app: AppId = parse_id(app)?;
        self.decide(py, Gil::Release, |s| {
            s.set_standby(&app, count.0, Timestamp(now.0))
        })
    }

    /// An app's standby target and its standby instances (ids ascending).
    fn standby(&self, app: &str) -> PyResult<(u32, Vec<u64>)> {
        let app: AppId = parse_id(app)?;
        let s = self.lock();
        let ids = s.standby_instances(&app).iter().map(|i| i.0).collect();
        Ok((s.standby_target(&app), ids))
    }

    // ----- warm pools -----------------------------------------------------

    /// Keep `target` idle hosts of `sku` in `zone` (0 removes the pool);
    /// the decisions order what the pool lacks.
    fn set_warm_pool(
        &self,
        py: Python<'_>,
        sku: &str,
        zone: &str,
        target: Nat<u32>,
        now: Millis,
    ) -> PyResult<Decisions> {
        let sku: SkuId = parse_id(sku)?;
        let zone: ZoneId = parse_id(zone)?;
        self.decide(py, Gil::Release, |s| {
            s.set_warm_pool(&sku, &zone, target.0, Timestamp(now.0))
        })
    }

    /// Every warm pool with its idle hosts, as dicts.
    fn warm_pools<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let pools = self.lock().warm_pools();
        to_py(py, &pools)
    }

    /// How `decisions` (a dry run's, from this state) draw the warm pools
    /// down, as a dict.
    fn warm_pool_draw<'py>(
        &self,
        py: Python<'py>,
        decisions: &Decisions,
    ) -> PyResult<Bound<'py, PyAny>> {
        let draw = self.lock().warm_pool_draw(decisions.inner());
        to_py(py, &draw)
    }
}

/// The meter's access to a scheduler, for `decision_events`.
pub(crate) fn with_core<T>(s: &Scheduler, f: impl FnOnce(&trimline::Scheduler) -> T) -> T {
    f(&s.lock())
}

/// The decisions' core value.
pub(crate) fn decisions_core(d: &Decisions) -> &trimline::Decisions {
    d.inner()
}
