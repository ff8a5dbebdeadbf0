//! `trimline.Meter`: per-second metering with exact integer money.
//!
//! Money stays exact: amounts are `int` nano-units (10⁻⁹ of the currency
//! unit); the `amount` and `total` properties give the same figure as a
//! `decimal.Decimal` in currency units, for people to read.

use std::sync::{Mutex, MutexGuard};

use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyTuple, PyType};
use trimline::metering::{Event as CoreEvent, EventId, EventKind, Ingested, MeterError};
use trimline::{InstanceId, Timestamp};

use crate::convert::{
    Millis, Nat, from_json_input, from_py, parse_id, to_json_bytes, to_py, variant_name,
};
use crate::errors::to_py_err;
use crate::results::{Decisions, repr_of};
use crate::scheduler::{Scheduler, decisions_core, with_core};

/// `Decimal(nanos) / 10**9`, exact.
fn decimal_of(py: Python<'_>, nanos: i128) -> PyResult<Py<PyAny>> {
    let decimal = py.import(pyo3::intern!(py, "decimal"))?;
    let d = decimal
        .getattr(pyo3::intern!(py, "Decimal"))?
        .call1((nanos,))?;
    Ok(d.call_method1(pyo3::intern!(py, "scaleb"), (-9,))?.unbind())
}

/// A lifecycle event of one instance, for the meter.
#[pyclass(module = "trimline._trimline", frozen)]
pub(crate) struct Event {
    inner: CoreEvent,
}

#[pymethods]
impl Event {
    /// An event. `kind` is `started`, `stopped`, `idle`, `active`,
    /// `resized` or `standby` (the instance is created stopped, holding its
    /// capacity: after its `started` event, until `active` starts it);
    /// `started` and `resized` take the requested `resources`
    /// (a `trimline.Resources`) and optionally the `delivered` SKU and the
    /// `zone` it was delivered in (zone rates then select on it). `source`
    /// names the scheduler or region that emitted the event (`None`: the
    /// default source); instances and event ids of different sources never
    /// meet.
    #[new]
    #[pyo3(signature = (id, tenant, app, instance, at, kind, resources = None, delivered = None, source = None, zone = None))]
    #[allow(clippy::too_many_arguments)] // one argument per field of the event
    fn new(
        id: Nat<u128>,
        tenant: &str,
        app: &str,
        instance: Nat<u64>,
        at: Millis,
        kind: &str,
        resources: Option<&Bound<'_, PyAny>>,
        delivered: Option<&str>,
        source: Option<&str>,
        zone: Option<&str>,
    ) -> PyResult<Self> {
        let shape = |what: &str| -> PyResult<_> {
            let r = resources.ok_or_else(|| {
                crate::errors::InvalidInput::new_err(format!("a {what} event needs resources"))
            })?;
            let resources: trimline::Resources = from_py(r, "resources")?;
            let delivered = delivered.map(parse_id).transpose()?;
            let zone = zone.map(parse_id).transpose()?;
            Ok((resources, delivered, zone))
        };
        let plain = |k: EventKind| -> PyResult<EventKind> {
            if resources.is_some() || delivered.is_some() || zone.is_some() {
                return Err(crate::errors::InvalidInput::new_err(format!(
                    "a {} event takes no resources, delivered SKU or zone",
                    k.name()
                )));
            }
            Ok(k)
        };
        let kind = match kind {
            "started" => {
                let (resources, delivered, zone) = shape("started")?;
                EventKind::Started {
                    resources,
                    delivered,
                    zone,
                }
            }
            "resized" => {
                let (resources, delivered, zone) = shape("resized")?;
                EventKind::Resized {
                    resources,
                    delivered,
                    zone,
                }
            }
            "stopped" => plain(EventKind::Stopped)?,
            "idle" => plain(EventKind::Idle)?,
            "active" => plain(EventKind::Active)?,
            "standby" => plain(EventKind::Standby)?,
            other => {
                return Err(crate::errors::InvalidInput::new_err(format!(
                    "unknown event kind {other:?}: expected started, stopped, idle, active, resized or standby"
                )));
            }
        };
        Ok(Event {
            inner: CoreEvent {
                id: EventId(id.0),
                tenant: parse_id(tenant)?,
                app: parse_id(app)?,
                instance: InstanceId(instance.0),
                at: Timestamp(at.0),
                kind,
                source: source.map(parse_id).transpose()?,
            },
        })
    }

    /// The event id (idempotence key).
    #[getter]
    fn id(&self) -> u128 {
        self.inner.id.0
    }
    /// The tenant.
    #[getter]
    fn tenant(&self) -> String {
        self.inner.tenant.to_string()
    }
    /// The app.
    #[getter]
    fn app(&self) -> String {
        self.inner.app.to_string()
    }
    /// The instance.
    #[getter]
    fn instance(&self) -> u64 {
        self.inner.instance.0
    }
    /// When, in milliseconds.
    #[getter]
    fn at(&self) -> u64 {
        self.inner.at.as_millis()
    }
    /// `started`, `stopped`, `idle`, `active` or `resized`.
    #[getter]
    fn kind(&self) -> &'static str {
        self.inner.kind.name()
    }
    /// The requested shape (`started`, `resized`) as a dict, else `None`.
    #[getter]
    fn resources<'py>(&self, py: Python<'py>) -> PyResult<Option<Bound<'py, PyAny>>> {
        match &self.inner.kind {
            EventKind::Started { resources, .. } | EventKind::Resized { resources, .. } => {
                to_py(py, resources).map(Some)
            }
            _ => Ok(None),
        }
    }
    /// The SKU delivered (`started`, `resized`), if known.
    #[getter]
    fn delivered(&self) -> Option<String> {
        match &self.inner.kind {
            EventKind::Started { delivered, .. } | EventKind::Resized { delivered, .. } => {
                delivered.as_ref().map(|s| s.to_string())
            }
            _ => None,
        }
    }

    /// The zone it was delivered in (`started`, `resized`), if named.
    #[getter]
    fn zone(&self) -> Option<String> {
        match &self.inner.kind {
            EventKind::Started { zone, .. } | EventKind::Resized { zone, .. } => {
                zone.as_ref().map(|z| z.to_string())
            }
            _ => None,
        }
    }
    /// The source (scheduler or region) that emitted it; `None`: the
    /// default source.
    #[getter]
    fn source(&self) -> Option<String> {
        self.inner.source.as_ref().map(|s| s.to_string())
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<Event>()
            .is_ok_and(|o| o.get().inner == self.inner)
    }

    fn __hash__(&self) -> u64 {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        self.inner.hash(&mut h);
        h.finish()
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        repr_of(
            slf.as_any(),
            "Event",
            &[
                "id",
                "tenant",
                "app",
                "instance",
                "at",
                "kind",
                "delivered",
                "zone",
                "source",
            ],
        )
    }
}

/// The events an embedder meters for a scheduler's decisions (starts of
/// placements, stops of evictions and removals), with derived ids, so
/// deriving again from the same decisions gives the same events. With
/// `source`, they are that scheduler's (or region's) events, so several
/// schedulers counting instances from 1 can share one meter.
#[pyfunction]
#[pyo3(signature = (decisions, scheduler, now, source = None))]
pub(crate) fn decision_events(
    decisions: &Bound<'_, Decisions>,
    scheduler: &Bound<'_, Scheduler>,
    now: Millis,
    source: Option<&str>,
) -> PyResult<Vec<Event>> {
    let source: Option<trimline::SourceId> = source.map(parse_id).transpose()?;
    let d = decisions_core(decisions.get());
    let events = with_core(scheduler.get(), |s| {
        trimline::metering::decision_events(d, s, Timestamp(now.0))
    })
    .map_err(to_py_err)?;
    Ok(events
        .into_iter()
        .map(|mut inner| {
            inner.source.clone_from(&source);
            Event { inner }
        })
        .collect())
}

/// One invoice line.
#[pyclass(module = "trimline._trimline", frozen, get_all)]
pub(crate) struct InvoiceLine {
    /// The app.
    app: String,
    /// `cpu`, `idle_cpu`, `memory`, `idle_memory`, `accelerators`,
    /// `idle_accelerators` or `standby_memory`.
    component: String,
    /// The price table version.
    price_version: u64,
    /// The earlier period it corrects, if it is an adjustment.
    corrects: Option<u64>,
    /// The quantity (millicore-ms, MiB-ms, accelerator-ms).
    quantity: i128,
    /// The rate, in nano-units per unit (vCPU, GiB, accelerator) and per
    /// `rate_per`.
    rate_nanos: i128,
    /// The rate's time unit: `second`, `minute` or `hour`.
    rate_per: String,
    /// The exact amount in sub-nano-units (before rounding).
    exact_subnanos: i128,
    /// The amount in nano-units (the invoice's share of its rounded total).
    amount_nanos: i128,
    /// The delivered SKU the line prices, when its price table has SKU
    /// rates; `None` otherwise.
    sku: Option<String>,
    /// The zone the line's events named, when its price table has SKU
    /// rates; `None` otherwise.
    zone: Option<String>,
    /// The source (scheduler or region) of the usage; `None`: the default.
    source: Option<String>,
    /// The index in its price table's `tiers` of the volume tier pricing
    /// the line; `None` below the first tier and without tiers.
    tier: Option<u32>,
    /// Usage within the table's free quota, at rate 0.
    free_quota: bool,
}

#[pymethods]
impl InvoiceLine {
    /// The amount in currency units, as an exact `Decimal`.
    #[getter]
    fn amount(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        decimal_of(py, self.amount_nanos)
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        repr_of(
            slf.as_any(),
            "InvoiceLine",
            &[
                "app",
                "component",
                "quantity",
                "rate_nanos",
                "rate_per",
                "amount_nanos",
            ],
        )
    }
}

/// One tenant's invoice for a period.
#[pyclass(module = "trimline._trimline", frozen, get_all)]
pub(crate) struct Invoice {
    /// The tenant.
    tenant: String,
    /// The period id.
    period: u64,
    /// The lines.
    lines: Py<PyTuple>,
    /// The exact total in sub-nano-units.
    exact_subnanos: i128,
    /// The total in nano-units, rounded once by the meter's invoice rule.
    total_nanos: i128,
}

#[pymethods]
impl Invoice {
    /// The total in currency units, as an exact `Decimal`.
    #[getter]
    fn total(&self, py: Python<'_>) -> PyResult<Py<PyAny>> {
        decimal_of(py, self.total_nanos)
    }

    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        repr_of(
            slf.as_any(),
            "Invoice",
            &["tenant", "period", "total_nanos", "total"],
        )
    }
}

/// Everything a closed period produced.
#[pyclass(module = "trimline._trimline", frozen, get_all)]
pub(crate) struct PeriodReport {
    /// The period id.
    period: u64,
    /// Its start (inclusive), in milliseconds.
    start: u64,
    /// Its end (exclusive), in milliseconds.
    end: u64,
    /// One invoice per tenant, sorted by tenant.
    invoices: Py<PyTuple>,
    /// Usage per (tenant, app), as dicts.
    usage: Py<PyAny>,
    /// Corrections of earlier periods, as dicts.
    adjustments: Py<PyAny>,
}

#[pymethods]
impl PeriodReport {
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        repr_of(
            slf.as_any(),
            "PeriodReport",
            &["period", "start", "end", "invoices"],
        )
    }
}

fn period_report(py: Python<'_>, r: &trimline::metering::PeriodReport) -> PyResult<PeriodReport> {
    let mut invoices = Vec::with_capacity(r.invoices.len());
    for inv in &r.invoices {
        let mut lines = Vec::with_capacity(inv.lines.len());
        for l in &inv.lines {
            lines.push(Py::new(
                py,
                InvoiceLine {
                    app: l.app.to_string(),
                    component: variant_name(&l.component),
                    price_version: l.price_version,
                    corrects: l.corrects.map(|p| p.0),
                    quantity: l.quantity,
                    rate_nanos: l.rate_nanos,
                    rate_per: variant_name(&l.rate_per),
                    exact_subnanos: l.exact_subnanos,
                    amount_nanos: l.amount_nanos,
                    sku: l.sku.as_ref().map(|s| s.to_string()),
                    zone: l.zone.as_ref().map(|z| z.to_string()),
                    source: l.source.as_ref().map(|s| s.to_string()),
                    tier: l.tier,
                    free_quota: l.free_quota,
                },
            )?);
        }
        invoices.push(Py::new(
            py,
            Invoice {
                tenant: inv.tenant.to_string(),
                period: inv.period.0,
                lines: PyTuple::new(py, lines)?.unbind(),
                exact_subnanos: inv.exact_subnanos,
                total_nanos: inv.total_nanos,
            },
        )?);
    }
    Ok(PeriodReport {
        period: r.period.id.0,
        start: r.period.start.as_millis(),
        end: r.period.end.as_millis(),
        invoices: PyTuple::new(py, invoices)?.unbind(),
        usage: to_py(py, &r.usage)?.unbind(),
        adjustments: to_py(py, &r.adjustments)?.unbind(),
    })
}

/// What `Meter.ingest_batch` did: the result of each event ingested, from
/// the first, and the first event refused (its index and the exception),
/// after which nothing was ingested.
#[pyclass(module = "trimline._trimline", frozen, get_all)]
pub(crate) struct BatchIngested {
    /// `applied`, `duplicate` or `adjusted` for each event ingested.
    results: Vec<String>,
    /// The index of the event refused, or `None`.
    refused_index: Option<usize>,
    /// Why it was refused (a `TrimlineError`), or `None`.
    refused: Option<Py<PyAny>>,
}

#[pymethods]
impl BatchIngested {
    fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
        repr_of(
            slf.as_any(),
            "BatchIngested",
            &["results", "refused_index", "refused"],
        )
    }
}

fn ingested(i: Ingested) -> String {
    variant_name(&i)
}

/// A meter: price tables, lifecycle events in; usage and invoices out.
#[pyclass(module = "trimline._trimline", frozen)]
pub(crate) struct Meter {
    inner: Mutex<trimline::metering::Meter>,
}

impl Meter {
    /// The meter, locked (see `Scheduler::lock` on poisoning).
    fn lock(&self) -> MutexGuard<'_, trimline::metering::Meter> {
        self.inner
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

#[pymethods]
impl Meter {
    /// A meter. `config` is a `trimline.MeterConfig` (or a dict in its
    /// shape); omitted fields take the core's defaults.
    #[new]
    #[pyo3(signature = (config = None))]
    fn new(config: Option<&Bound<'_, PyAny>>) -> PyResult<Self> {
        let config = match config {
            Some(c) if !c.is_none() => from_py(c, "config")?,
            _ => trimline::metering::MeterConfig::default(),
        };
        let m = trimline::metering::Meter::new(config).map_err(to_py_err)?;
        Ok(Meter {
            inner: Mutex::new(m),
        })
    }

    /// Add a price table (a `trimline.PriceTable` or a dict in its shape).
    fn add_price_table(&self, table: &Bound<'_, PyAny>) -> PyResult<()> {
        let table: trimline::metering::PriceTable = from_py(table, "price table")?;
        let added = self.lock().add_price_table(table);
        added.map_err(to_py_err)
    }

    /// Tell the meter what a delivered SKU is (a `trimline.SkuInfo` or a
    /// dict in its shape): its family, architecture, accelerator model and
    /// zone, which price tables' `sku_rates` select on. Fixed once given:
    /// the same again changes nothing, another raises `Conflict`.
    fn describe_sku(&self, info: &Bound<'_, PyAny>) -> PyResult<()> {
        let info: trimline::metering::SkuInfo = from_py(info, "SKU description")?;
        let described = self.lock().describe_sku(info);
        described.map_err(to_py_err)
    }

    /// Ingest one event: `applied`, `duplicate` or `adjusted`.
    fn ingest(&self, event: &Bound<'_, Event>, now: Millis) -> PyResult<String> {
        let e = &event.get().inner;
        let outcome = self.lock().ingest(e, Timestamp(now.0));
        outcome.map(ingested).map_err(to_py_err)
    }

    /// Ingest events in order, up to the first refused.
    fn ingest_batch(
        &self,
        py: Python<'_>,
        events: Vec<Bound<'_, Event>>,
        now: Millis,
    ) -> PyResult<BatchIngested> {
        let events: Vec<CoreEvent> = events.iter().map(|e| e.get().inner.clone()).collect();
        let b = py.detach(|| self.lock().ingest_batch(&events, Timestamp(now.0)));
        let (refused_index, refused) = match b.refused {
            Some((i, e)) => (Some(i), Some(refused_error(py, e))),
            None => (None, None),
        };
        Ok(BatchIngested {
            results: b.results.into_iter().map(ingested).collect(),
            refused_index,
            refused,
        })
    }

    /// Close the open period at `end` (exclusive) and report it.
    fn close_period(&self, py: Python<'_>, end: Millis, now: Millis) -> PyResult<PeriodReport> {
        let r = py
            .detach(|| self.lock().close_period(Timestamp(end.0), Timestamp(now.0)))
            .map_err(to_py_err)?;
        period_report(py, &r)
    }

    /// The open period's id and start.
    fn open_period(&self) -> (u64, u64) {
        let (id, start) = self.lock().open_period();
        (id.0, start.as_millis())
    }

    /// Events before this time are refused (see the core's docs).
    #[getter]
    fn horizon(&self) -> u64 {
        self.lock().horizon().as_millis()
    }

    /// Whether an instance of `source` (`None`: the default source) runs,
    /// as far as the meter knows.
    #[pyo3(signature = (instance, source = None))]
    fn is_running(&self, instance: Nat<u64>, source: Option<&str>) -> PyResult<bool> {
        let source: Option<trimline::SourceId> = source.map(parse_id).transpose()?;
        Ok(self
            .lock()
            .is_running_from(source.as_ref(), InstanceId(instance.0)))
    }

    /// The sources other than the default that events named, sorted (empty
    /// when every event came from the default source).
    fn sources(&self) -> Vec<String> {
        self.lock()
            .sources()
            .into_iter()
            .map(|s| s.as_str().to_owned())
            .collect()
    }

    /// The whole state as JSON bytes; `Meter.restore` reads it back.
    fn snapshot<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        let snap = self.lock().snapshot();
        to_json_bytes(py, &snap)
    }

    /// A meter from a snapshot (JSON `bytes` or `str`, or a dict).
    #[classmethod]
    fn restore(_cls: &Bound<'_, PyType>, snapshot: &Bound<'_, PyAny>) -> PyResult<Self> {
        let snap: trimline::metering::MeterSnapshot = from_json_input(snapshot, "meter snapshot")?;
        let m = trimline::metering::Meter::restore(snap).map_err(to_py_err)?;
        Ok(Meter {
            inner: Mutex::new(m),
        })
    }

    fn __reduce__<'py>(
        slf: &Bound<'py, Self>,
    ) -> PyResult<(Bound<'py, PyAny>, Bound<'py, PyTuple>)> {
        let py = slf.py();
        let restore = slf.get_type().getattr("restore")?;
        let snap = slf.get().snapshot(py)?;
        Ok((restore, PyTuple::new(py, [snap])?))
    }

    /// The reports of the closed periods the meter keeps (the last
    /// `MeterConfig.history_periods`, default 12), oldest first, each as
    /// `close_period` returned it.
    fn history<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyTuple>> {
        let reports: Vec<trimline::metering::PeriodReport> =
            self.lock().history().cloned().collect();
        let reports = reports
            .iter()
            .map(|r| Py::new(py, period_report(py, r)?))
            .collect::<PyResult<Vec<_>>>()?;
        PyTuple::new(py, reports)
    }

    /// The report of closed period `period`, if the meter keeps it; a
    /// late correction is never in it, but in the report of the period
    /// open when it arrived.
    fn closed_report(&self, py: Python<'_>, period: Nat<u64>) -> PyResult<Option<PeriodReport>> {
        let report = self
            .lock()
            .closed_report(trimline::metering::PeriodId(period.0))
            .cloned();
        report.map(|r| period_report(py, &r)).transpose()
    }

    /// The invoice of `tenant` for closed period `period`, if the meter
    /// keeps the period and the tenant was billed in it.
    fn closed_invoice(
        &self,
        py: Python<'_>,
        period: Nat<u64>,
        tenant: &str,
    ) -> PyResult<Option<Py<Invoice>>> {
        let Some(report) = self.closed_report(py, period)? else {
            return Ok(None);
        };
        for invoice in report.invoices.bind(py).iter() {
            let invoice = invoice.cast_into::<Invoice>()?;
            if invoice.get().tenant == tenant {
                return Ok(Some(invoice.unbind()));
            }
        }
        Ok(None)
    }

    /// The usage of `[start, end)`, an interval of the open period, without
    /// closing or pricing it: a list of dicts (`tenant`, `app`, `source`,
    /// `instance`, `sku`, `zone`, `component`, `quantity`, `top_up`, `from`,
    /// `to`), one per group and component with usage, in exact integer
    /// units, sorted by tenant, app, source, instance, SKU, zone (`None`
    /// first), then component. `group_by` names the keys kept, among
    /// `tenant`, `app`, `source`, `instance`, `sku` and `zone` (the others
    /// are summed over and `None`); omitted, all of them.
    #[pyo3(signature = (start, end, group_by = None))]
    fn usage<'py>(
        &self,
        py: Python<'py>,
        start: Millis,
        end: Millis,
        group_by: Option<Vec<String>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        use trimline::metering::UsageGroupBy;
        let group_by = match group_by {
            None => UsageGroupBy::ALL,
            Some(keys) => {
                let mut g = UsageGroupBy::default();
                for key in keys {
                    let flag = match key.as_str() {
                        "tenant" => &mut g.tenant,
                        "app" => &mut g.app,
                        "source" => &mut g.source,
                        "instance" => &mut g.instance,
                        "sku" => &mut g.sku,
                        "zone" => &mut g.zone,
                        other => {
                            return Err(crate::errors::InvalidInput::new_err(format!(
                                "unknown usage key {other:?}: expected tenant, app, source, instance, sku or zone"
                            )));
                        }
                    };
                    *flag = true;
                }
                g
            }
        };
        let records = py
            .detach(|| {
                self.lock()
                    .usage(Timestamp(start.0), Timestamp(end.0), group_by)
            })
            .map_err(to_py_err)?;
        to_py(py, &records)
    }

    fn __repr__(&self) -> String {
        let m = self.lock();
        let (id, start) = m.open_period();
        format!(
            "<Meter open_period={} since={} instances={}>",
            id.0,
            start.as_millis(),
            m.tracked_instances()
        )
    }
}

fn refused_error(py: Python<'_>, e: MeterError) -> Py<PyAny> {
    to_py_err(e).into_value(py).into_any()
}
