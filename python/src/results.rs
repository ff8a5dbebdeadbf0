//! Frozen result objects: what the scheduler decided, with named fields.
//!
//! [`Decisions`] keeps the core's value and builds each list of result
//! objects the first time it is read, so a call that places ten thousand
//! instances costs the conversion only of what the caller looks at.

use std::collections::HashMap;
use std::sync::Arc;

use pyo3::prelude::*;
use pyo3::sync::PyOnceLock;
use pyo3::types::{PyBytes, PyString, PyTuple};

use crate::convert::{to_json_bytes, to_py, variant_name};

/// `Name(field=repr, ...)` from the object's attributes.
pub(crate) fn repr_of(obj: &Bound<'_, PyAny>, name: &str, fields: &[&str]) -> PyResult<String> {
    let mut out = format!("{name}(");
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push_str(", ");
        }
        out.push_str(f);
        out.push('=');
        out.push_str(obj.getattr(*f)?.repr()?.to_str()?);
    }
    out.push(')');
    Ok(out)
}

macro_rules! reprs {
    ($($ty:ident: [$($field:literal),* $(,)?]),* $(,)?) => {
        $(#[pymethods]
        impl $ty {
            fn __repr__(slf: &Bound<'_, Self>) -> PyResult<String> {
                repr_of(slf.as_any(), stringify!($ty), &[$($field),*])
            }
        })*
    };
}

/// Why a placement or provision uses another SKU than the app's first
/// choice. `reason` is the core's text; `details` its serde shape.
#[pyclass(module = "trimline._trimline", frozen, get_all)]
pub(crate) struct SubstitutionNote {
    /// The SKU the app asked for (`None`: the app's tier 0).
    requested: Option<String>,
    /// The SKU used.
    sku: String,
    /// Its tier.
    tier: u32,
    /// The planned host the placement replaced, if any.
    planned_host: Option<u64>,
    /// The explanation as text.
    reason: String,
    /// The explanation as data (passed-over SKUs with reasons, admission).
    details: Py<PyAny>,
}

impl SubstitutionNote {
    fn new(py: Python<'_>, n: &trimline::SubstitutionNote) -> PyResult<Self> {
        Ok(SubstitutionNote {
            requested: n.requested.as_ref().map(|s| s.to_string()),
            sku: n.sku.to_string(),
            tier: n.tier,
            planned_host: n.planned_host.map(|h| h.0),
            reason: n.to_string(),
            details: to_py(py, n)?.unbind(),
        })
    }
}

/// Shares one Python note per core note (decisions share notes too).
#[derive(Default)]
struct Notes(HashMap<*const trimline::SubstitutionNote, Py<SubstitutionNote>>);

impl Notes {
    fn get(
        &mut self,
        py: Python<'_>,
        n: &Option<Arc<trimline::SubstitutionNote>>,
    ) -> PyResult<Option<Py<SubstitutionNote>>> {
        let Some(n) = n else { return Ok(None) };
        let key = Arc::as_ptr(n);
        if let Some(p) = self.0.get(&key) {
            return Ok(Some(p.clone_ref(py)));
        }
        let p = Py::new(py, SubstitutionNote::new(py, n)?)?;
        self.0.insert(key, p.clone_ref(py));
        Ok(Some(p))
    }
}

/// One Python string per distinct name in a list of placements: ten
/// thousand placements of one app in three zones make four strings, not
/// thirty thousand.
#[derive(Default)]
struct Names(HashMap<String, Py<PyString>>);

impl Names {
    fn get(&mut self, py: Python<'_>, name: &str) -> Py<PyString> {
        if let Some(s) = self.0.get(name) {
            return s.clone_ref(py);
        }
        let s = PyString::new(py, name).unbind();
        self.0.insert(name.to_owned(), s.clone_ref(py));
        s
    }
}

/// An instance placed on a host (or tentatively on a planned host).
#[pyclass(module = "trimline._trimline", frozen, get_all)]
pub(crate) struct Placement {
    /// The instance id.
    instance: u64,
    /// Its app.
    app: Py<PyString>,
    /// The host.
    host: u64,
    /// The host's zone.
    zone: Py<PyString>,
    /// The host's SKU.
    sku: Py<PyString>,
    /// The NUMA nodes it uses.
    numa_nodes: Vec<u32>,
    /// Why another SKU than the first choice, if so.
    substitution: Option<Py<SubstitutionNote>>,
    /// Bytes the host is expected to pull first: 0 on a host holding the
    /// app's image (or for an app that names none).
    pull_bytes: u64,
    /// `"started"`: a standby starts in place; `"stopped"`: a standby to
    /// create and leave stopped; `None` for every other instance.
    standby: Option<&'static str>,
}

impl Placement {
    fn new(
        py: Python<'_>,
        p: &trimline::Placement,
        notes: &mut Notes,
        names: &mut Names,
    ) -> PyResult<Self> {
        Ok(Placement {
            instance: p.instance.0,
            app: names.get(py, p.app.as_str()),
            host: p.host.0,
            zone: names.get(py, p.zone.as_str()),
            sku: names.get(py, p.sku.as_str()),
            numa_nodes: p.numa_nodes.iter().map(|&n| u32::from(n)).collect(),
            substitution: notes.get(py, &p.substitution)?,
            pull_bytes: p.pull_bytes,
            standby: crate::standby::mark(p.standby),
        })
    }
}

/// An instance taken off its host.
#[pyclass(module = "trimline._trimline", frozen, get_all)]
pub(crate) struct Eviction {
    /// The instance.
    instance: u64,
    /// Its app.
    app: String,
    /// The host it left.
    host: u64,
    /// Why: `preempted`, `host_removed`, `provision_failed`, `zone_down`,
    /// `host_failed`.
    cause: String,
    /// The rigid instance that preempted it, when `cause` is `preempted`.
    preempted_by: Option<u64>,
}

/// An instance that waits, with the reason.
#[pyclass(module = "trimline._trimline", frozen, get_all)]
pub(crate) struct PendingInstance {
    /// The instance.
    instance: u64,
    /// Its app.
    app: String,
    /// Why it waits, as text ("0/2 hosts fit: cpu: 2 hosts").
    reason: String,
    /// Why it waits, as data (the constraints and how many hosts each
    /// ruled out).
    explanation: Py<PyAny>,
}

/// An instance removed (scale-in or remove_instance).
#[pyclass(module = "trimline._trimline", frozen, get_all)]
pub(crate) struct Removal {
    /// The instance.
    instance: u64,
    /// Its app.
    app: String,
    /// The host it was on (`None` if it was pending).
    host: Option<u64>,
}

/// Hosts to order from the provider.
#[pyclass(module = "trimline._trimline", frozen, get_all)]
pub(crate) struct Provision {
    /// The provision id.
    id: u64,
    /// The zone.
    zone: String,
    /// The SKU.
    sku: String,
    /// How many hosts.
    count: u32,
    /// The planned host ids (report each with `host_ready`).
    hosts: Vec<u64>,
    /// The SKU it substitutes for, if any.
    substitutes_for: Option<String>,
    /// The SKU's tier for the app.
    tier: u32,
    /// The app it is for (`None` for a warm pool).
    app: Option<String>,
    /// How many of its instances it holds (0 for a warm pool).
    instances: u32,
    /// Why another SKU, if so.
    substitution: Option<Py<SubstitutionNote>>,
    /// Why the hosts are wanted: `instances` or `warm_pool`.
    reason: String,
}

/// A provision (planned hosts) called off.
#[pyclass(module = "trimline._trimline", frozen, get_all)]
pub(crate) struct Cancellation {
    /// The provision id.
    provision: u64,
    /// The zone.
    zone: String,
    /// The SKU.
    sku: String,
    /// The planned hosts dropped.
    hosts: Vec<u64>,
    /// Why: `unneeded`, `provision_failed`, `zone_down`, `host_removed`,
    /// `host_failed`.
    cause: String,
}

/// Resource totals over several instances.
#[pyclass(module = "trimline._trimline", frozen, get_all)]
pub(crate) struct ResourceTotals {
    /// Millicores.
    cpu_millis: u64,
    /// MiB.
    memory_mib: u64,
    /// Mbit/s.
    network_mbps: u64,
    /// Accelerators.
    accelerators: u64,
}

impl ResourceTotals {
    fn new(py: Python<'_>, r: &trimline::ResourceTotals) -> PyResult<Py<ResourceTotals>> {
        Py::new(
            py,
            ResourceTotals {
                cpu_millis: r.cpu_millis,
                memory_mib: r.memory_mib,
                network_mbps: r.network_mbps,
                accelerators: r.accelerators,
            },
        )
    }
}

/// Capacity an app lacks in a zone.
#[pyclass(module = "trimline._trimline", frozen, get_all)]
pub(crate) struct Shortfall {
    /// The app.
    app: String,
    /// The zone.
    zone: String,
    /// How many instances.
    instances: u32,
    /// What they need.
    resources: Py<ResourceTotals>,
}

/// An app whose zone skew exceeds its limit.
#[pyclass(module = "trimline._trimline", frozen, get_all)]
pub(crate) struct SkewViolation {
    /// The app.
    app: String,
    /// Its instances.
    instances: u32,
    /// Its skew.
    skew: u32,
    /// Its limit.
    max_skew: Option<u32>,
}

/// Instances of an app that found no place.
#[pyclass(module = "trimline._trimline", frozen, get_all)]
pub(crate) struct Unplaced {
    /// The app.
    app: String,
    /// How many instances.
    instances: u32,
    /// What they need.
    resources: Py<ResourceTotals>,
}

/// A planned move: a replacement starts, then the original stops.
#[pyclass(module = "trimline._trimline", frozen, get_all)]
pub(crate) struct Move {
    /// The app.
    app: String,
    /// The instance that moves.
    from_instance: u64,
    /// Its host.
    from_host: u64,
    /// The replacement.
    to_instance: u64,
    /// The replacement's host.
    to_host: u64,
    /// The replacement's SKU tier.
    to_tier: u32,
    /// `return_to_preferred`, `rebalance` or `consolidate`.
    reason: String,
}

reprs!(
    SubstitutionNote: ["sku", "tier", "requested", "reason"],
    Placement: ["instance", "app", "host", "zone", "sku", "numa_nodes", "substitution"],
    Eviction: ["instance", "app", "host", "cause", "preempted_by"],
    PendingInstance: ["instance", "app", "reason"],
    Removal: ["instance", "app", "host"],
    Provision: ["id", "zone", "sku", "count", "hosts", "app", "instances", "substitutes_for"],
    Cancellation: ["provision", "zone", "sku", "hosts", "cause"],
    ResourceTotals: ["cpu_millis", "memory_mib", "network_mbps", "accelerators"],
    Shortfall: ["app", "zone", "instances", "resources"],
    SkewViolation: ["app", "instances", "skew", "max_skew"],
    Unplaced: ["app", "instances", "resources"],
    Move: ["app", "from_instance", "from_host", "to_instance", "to_host", "to_tier", "reason"],
);

fn tuple<'py, T, R: pyo3::PyClass + Into<pyo3::PyClassInitializer<R>>>(
    py: Python<'py>,
    items: &[T],
    mut f: impl FnMut(&T) -> PyResult<R>,
) -> PyResult<Py<PyTuple>> {
    let mut out = Vec::with_capacity(items.len());
    for item in items {
        out.push(Py::new(py, f(item)?)?);
    }
    Ok(PyTuple::new(py, out)?.unbind())
}

/// What a call decided, for the embedder to carry out. Each field is a
/// tuple of frozen result objects.
#[pyclass(module = "trimline._trimline", frozen)]
pub(crate) struct Decisions {
    inner: trimline::Decisions,
    cache: [PyOnceLock<Py<PyTuple>>; 11],
}

impl Decisions {
    pub(crate) fn new(inner: trimline::Decisions) -> Self {
        Decisions {
            inner,
            cache: std::array::from_fn(|_| PyOnceLock::new()),
        }
    }

    /// The core value.
    pub(crate) fn inner(&self) -> &trimline::Decisions {
        &self.inner
    }

    fn cached(
        &self,
        py: Python<'_>,
        slot: usize,
        build: impl FnOnce(Python<'_>, &trimline::Decisions) -> PyResult<Py<PyTuple>>,
    ) -> PyResult<Py<PyTuple>> {
        self.cache[slot]
            .get_or_try_init(py, || build(py, &self.inner))
            .map(|t| t.clone_ref(py))
    }
}

#[pymethods]
impl Decisions {
    /// Instances placed on running hosts.
    #[getter]
    fn placements(&self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        self.cached(py, 0, |py, d| {
            let (mut notes, mut names) = (Notes::default(), Names::default());
            tuple(py, &d.placements, |p| {
                Placement::new(py, p, &mut notes, &mut names)
            })
        })
    }

    /// Instances placed on planned hosts (they start when the host is ready).
    #[getter]
    fn tentative(&self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        self.cached(py, 1, |py, d| {
            let (mut notes, mut names) = (Notes::default(), Names::default());
            tuple(py, &d.tentative, |p| {
                Placement::new(py, p, &mut notes, &mut names)
            })
        })
    }

    /// Hosts to order.
    #[getter]
    fn provisions(&self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        self.cached(py, 2, |py, d| {
            let mut notes = Notes::default();
            tuple(py, &d.provisions, |p| {
                Ok(Provision {
                    id: p.id.0,
                    zone: p.zone.to_string(),
                    sku: p.sku.to_string(),
                    count: p.count,
                    hosts: p.hosts.iter().map(|h| h.0).collect(),
                    substitutes_for: p.substitutes_for.as_ref().map(|s| s.to_string()),
                    tier: p.tier,
                    app: p.app.as_ref().map(|a| a.to_string()),
                    instances: p.instances,
                    substitution: notes.get(py, &p.substitution)?,
                    reason: variant_name(&p.reason),
                })
            })
        })
    }

    /// Instances taken off their hosts.
    #[getter]
    fn evictions(&self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        self.cached(py, 3, |py, d| {
            tuple(py, &d.evictions, |e| {
                let preempted_by = if let trimline::EvictionCause::Preempted { by } = &e.cause {
                    Some(by.0)
                } else {
                    None
                };
                Ok(Eviction {
                    instance: e.instance.0,
                    app: e.app.to_string(),
                    host: e.host.0,
                    cause: variant_name(&e.cause),
                    preempted_by,
                })
            })
        })
    }

    /// Instances that wait, each with the reason.
    #[getter]
    fn pending(&self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        self.cached(py, 4, |py, d| {
            tuple(py, &d.pending, |p| {
                Ok(PendingInstance {
                    instance: p.instance.0,
                    app: p.app.to_string(),
                    reason: p.reason.to_string(),
                    explanation: to_py(py, &p.reason)?.unbind(),
                })
            })
        })
    }

    /// Instances removed.
    #[getter]
    fn removals(&self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        self.cached(py, 5, |py, d| {
            tuple(py, &d.removals, |r| {
                Ok(Removal {
                    instance: r.instance.0,
                    app: r.app.to_string(),
                    host: r.host.map(|h| h.0),
                })
            })
        })
    }

    /// Capacity lacking per app and zone.
    #[getter]
    fn shortfalls(&self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        self.cached(py, 6, |py, d| {
            tuple(py, &d.shortfalls, |s| {
                Ok(Shortfall {
                    app: s.app.to_string(),
                    zone: s.zone.to_string(),
                    instances: s.instances,
                    resources: ResourceTotals::new(py, &s.resources)?,
                })
            })
        })
    }

    /// Planned moves.
    #[getter]
    fn moves(&self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        self.cached(py, 7, |py, d| {
            tuple(py, &d.moves, |m| {
                Ok(Move {
                    app: m.app.to_string(),
                    from_instance: m.from.0,
                    from_host: m.from_host.0,
                    to_instance: m.to.0,
                    to_host: m.to_host.0,
                    to_tier: m.to_tier,
                    reason: variant_name(&m.reason),
                })
            })
        })
    }

    /// Apps beyond their skew limit.
    #[getter]
    fn skew_violations(&self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        self.cached(py, 8, |py, d| {
            tuple(py, &d.skew_violations, |s| {
                Ok(SkewViolation {
                    app: s.app.to_string(),
                    instances: s.instances,
                    skew: s.skew,
                    max_skew: s.max_skew,
                })
            })
        })
    }

    /// Instances that found no place (evacuation, zone-loss checks).
    #[getter]
    fn unplaced(&self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        self.cached(py, 9, |py, d| {
            tuple(py, &d.unplaced, |u| {
                Ok(Unplaced {
                    app: u.app.to_string(),
                    instances: u.instances,
                    resources: ResourceTotals::new(py, &u.resources)?,
                })
            })
        })
    }

    /// Provisions called off.
    #[getter]
    fn cancellations(&self, py: Python<'_>) -> PyResult<Py<PyTuple>> {
        self.cached(py, 10, |py, d| {
            tuple(py, &d.cancellations, |c| {
                Ok(Cancellation {
                    provision: c.provision.0,
                    zone: c.zone.to_string(),
                    sku: c.sku.to_string(),
                    hosts: c.hosts.iter().map(|h| h.0).collect(),
                    cause: variant_name(&c.cause),
                })
            })
        })
    }

    /// The decisions in the core's JSON shape, as dicts and lists.
    fn to_dict<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        to_py(py, &self.inner)
    }

    /// The decisions as JSON bytes (the core's shape).
    fn to_json<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyBytes>> {
        to_json_bytes(py, &self.inner)
    }

    fn __bool__(&self) -> bool {
        !self.inner.is_empty()
    }

    fn __eq__(&self, other: &Bound<'_, PyAny>) -> bool {
        other
            .cast::<Decisions>()
            .is_ok_and(|o| o.get().inner == self.inner)
    }

    fn __hash__(&self) -> PyResult<isize> {
        Err(pyo3::exceptions::PyTypeError::new_err(
            "Decisions is not hashable",
        ))
    }

    /// The decisions as text for people: the core's own rendering, one
    /// line per item under headings, every reason as the core states it.
    fn __str__(&self) -> String {
        self.inner.to_string()
    }

    fn __repr__(&self) -> String {
        let d = &self.inner;
        let mut parts = Vec::new();
        for (name, n) in [
            ("placements", d.placements.len()),
            ("tentative", d.tentative.len()),
            ("provisions", d.provisions.len()),
            ("evictions", d.evictions.len()),
            ("pending", d.pending.len()),
            ("removals", d.removals.len()),
            ("shortfalls", d.shortfalls.len()),
            ("moves", d.moves.len()),
            ("skew_violations", d.skew_violations.len()),
            ("unplaced", d.unplaced.len()),
            ("cancellations", d.cancellations.len()),
        ] {
            if n > 0 {
                parts.push(format!("{name}={n}"));
            }
        }
        format!(
            "<Decisions {}>",
            if parts.is_empty() {
                "(none)".to_owned()
            } else {
                parts.join(" ")
            }
        )
    }
}
