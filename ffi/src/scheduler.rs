//! The scheduler handle: lifecycle, region, apps, every call and the
//! queries.
//!
//! Every call that changes the scheduler takes `now` (milliseconds, never
//! going back) and a `mode` (a `tl_mode`): `TL_MODE_COMMIT` applies the
//! call, `TL_MODE_DRY_RUN` returns exactly the decisions the call would
//! return and changes nothing.

use std::ffi::c_char;

use trimline::{
    AppId, AppSpec, BatchMode, Config, Decisions, HostId, HostSpec, HostState, InstanceId,
    ProvisionFailure, Scheduler, SkuId, SkuSpec, Snapshot, Stock, Timestamp, ZoneId, ZoneState,
};

use crate::args::{
    HandleKind, bytes_arg, enum_arg, out_arg, parse_json, register, str_arg, unregister, write,
    write_json,
};
use crate::buffer::tl_buffer;
use crate::decisions::tl_decisions;
use crate::error::{Failure, run, tl_error, tl_status};
use crate::panic::ffi_panic_boundary;

/// A scheduler. Create it with `tl_scheduler_new` or `tl_scheduler_restore`,
/// free it with `tl_scheduler_free`.
///
/// Not thread-safe: a handle must not be used by two threads at once
/// without the caller's lock (a `const` call may run alongside other
/// `const` calls on the same handle). Distinct handles are independent and
/// may be used on different threads at the same time.
#[allow(non_camel_case_types)]
pub struct tl_scheduler {
    inner: Scheduler,
    /// Set while a mutating call runs; it stays set if that call panicked.
    poisoned: bool,
    /// The last app named, so a stream of calls for one app does not build
    /// its id again each time.
    last_app: Option<AppId>,
}

/// Whether a call changes the scheduler or only says what it would decide.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum tl_mode {
    /// Apply the call.
    Commit = 0,
    /// Return the decisions the call would return; change nothing.
    DryRun = 1,
}

/// Place every instance, or what fits (`tl_scheduler_place_batch`).
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Copy, Clone, Debug)]
pub enum tl_batch_mode {
    /// Place what fits; the rest stay pending.
    Partial = 0,
    /// Place all or none: if one does not fit, the call fails with
    /// `TL_STATUS_UNSCHEDULABLE` and nothing changes.
    AllOrNothing = 1,
}

/// A zone's state.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Copy, Clone, Debug)]
pub enum tl_zone_state {
    /// Accepting placements.
    Up = 0,
    /// Lost: no placements.
    Down = 1,
    /// Being emptied: no new placements; running instances stay.
    Draining = 2,
}

/// A host's state, as the embedder sets it.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Copy, Clone, Debug)]
pub enum tl_host_state {
    /// Accepting placements.
    Ready = 0,
    /// No new placements; running instances stay.
    Cordoned = 1,
}

/// What the provider can supply of an offering (`tl_scheduler_set_stock`).
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Copy, Clone, Debug)]
pub enum tl_stock {
    /// This many more hosts (the `count` argument) can be ordered.
    Known = 0,
    /// Unknown: try it.
    Unknown = 1,
    /// None left.
    Exhausted = 2,
}

/// Why a provisioning failed (`tl_scheduler_provision_failed`).
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Copy, Clone, Debug)]
pub enum tl_provision_failure {
    /// The provider had no stock of the SKU in the zone.
    InsufficientStock = 0,
    /// Any other failure (quota, API error).
    Other = 1,
}

pub(crate) fn mode_arg(mode: u32) -> Result<tl_mode, Failure> {
    enum_arg(
        mode,
        &[
            (tl_mode::Commit as u32, tl_mode::Commit),
            (tl_mode::DryRun as u32, tl_mode::DryRun),
        ],
        "mode",
    )
}

/// The scheduler behind a mutable handle, refused if NULL or poisoned.
///
/// # Safety
/// `s` is NULL or a live `tl_scheduler` not used elsewhere for `'a`.
pub(crate) unsafe fn sched_mut<'a>(s: *mut tl_scheduler) -> Result<&'a mut tl_scheduler, Failure> {
    // SAFETY: per the contract.
    let s = unsafe { s.as_mut() }.ok_or_else(|| Failure::null("scheduler"))?;
    if s.poisoned {
        return Err(poisoned());
    }
    Ok(s)
}

/// The scheduler behind a const handle, refused if NULL or poisoned.
///
/// # Safety
/// `s` is NULL or a live `tl_scheduler` not mutated for `'a`.
pub(crate) unsafe fn sched<'a>(s: *const tl_scheduler) -> Result<&'a Scheduler, Failure> {
    // SAFETY: per the contract.
    let s = unsafe { s.as_ref() }.ok_or_else(|| Failure::null("scheduler"))?;
    if s.poisoned {
        return Err(poisoned());
    }
    Ok(&s.inner)
}

fn poisoned() -> Failure {
    Failure::new(
        tl_status::Poisoned,
        "the scheduler was poisoned by a panic in an earlier call; free it",
    )
}

impl tl_scheduler {
    fn into_raw(inner: Scheduler) -> *mut tl_scheduler {
        let raw = Box::into_raw(Box::new(tl_scheduler {
            inner,
            poisoned: false,
            last_app: None,
        }));
        register(raw, HandleKind::Scheduler);
        raw
    }

    /// Runs `f` on a copy of the scheduler: a dry run.
    pub(crate) fn dry_run<T>(&self, f: impl FnOnce(&mut Scheduler) -> T) -> T {
        self.inner.dry_run(f)
    }

    /// Runs a call that changes the scheduler; a panic leaves it poisoned.
    pub(crate) fn apply<T>(&mut self, f: impl FnOnce(&mut Scheduler) -> T) -> T {
        self.poisoned = true;
        let result = f(&mut self.inner);
        self.poisoned = false;
        result
    }

    /// The app id for a name, reusing the last one when it is the same.
    fn app_id(&mut self, name: &str) -> Result<AppId, Failure> {
        if let Some(id) = &self.last_app {
            if id.as_str() == name {
                return Ok(id.clone());
            }
        }
        let id = AppId::new(name)?;
        self.last_app = Some(id.clone());
        Ok(id)
    }
}

/// Runs a decision-returning call in `mode` and hands the decisions to C.
pub(crate) fn decide<F>(
    s: *mut tl_scheduler,
    mode: u32,
    decisions_out: *mut *mut tl_decisions,
    call: impl FnOnce(&mut tl_scheduler) -> Result<F, Failure>,
) -> Result<(), Failure>
where
    F: FnOnce(&mut Scheduler) -> Result<Decisions, trimline::Error>,
{
    // SAFETY: `s` is NULL or a live handle used by this thread alone (the
    // C contract).
    let s = unsafe { sched_mut(s) }?;
    let mode = mode_arg(mode)?;
    let out = out_arg(decisions_out, "decisions_out")?;
    let f = call(s)?;
    let decisions = match mode {
        tl_mode::Commit => s.apply(f)?,
        tl_mode::DryRun => s.inner.dry_run(f)?,
    };
    // SAFETY: `out` is checked.
    unsafe { write(out, tl_decisions::into_raw(decisions)) };
    Ok(())
}

/// Reads a name argument into an id type.
///
/// # Safety
/// `ptr` is NULL or valid for `len` bytes.
pub(crate) unsafe fn id_arg<T: std::str::FromStr<Err = trimline::NameError>>(
    ptr: *const c_char,
    len: usize,
    arg: &str,
) -> Result<T, Failure> {
    // SAFETY: per the contract.
    let s = unsafe { str_arg(ptr, len, arg) }?;
    Ok(s.parse::<T>()?)
}

/// Creates a scheduler from a configuration: a JSON document in the
/// schema of the core's `Config` (every field optional, for example
/// `{"candidates_per_class": 4}`), or `config_json` NULL (with
/// `config_len` 0) for the defaults. On success `*scheduler_out` is a new
/// handle owned by the caller.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_new(
    config_json: *const c_char,
    config_len: usize,
    scheduler_out: *mut *mut tl_scheduler,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            let out = out_arg(scheduler_out, "scheduler_out")?;
            let config = if config_json.is_null() && config_len == 0 {
                Config::default()
            } else {
                // SAFETY: valid for `config_len` bytes (the C contract).
                let bytes = unsafe { bytes_arg(config_json.cast(), config_len, "config_json") }?;
                parse_json::<Config>(bytes, "config")?
            };
            // SAFETY: `out` is checked.
            unsafe { write(out, tl_scheduler::into_raw(Scheduler::new(config))) };
            Ok(())
        })
    }
}

/// Frees a scheduler. `tl_scheduler_free(NULL)` does nothing and returns
/// `TL_STATUS_OK`. Freeing a handle a second time is detected and returns
/// `TL_STATUS_INVALID_HANDLE` without touching it (unless its address was
/// reused by a newer scheduler in between, which cannot be told apart); so
/// is a pointer that is not a live scheduler (a meter, say), which is left
/// as it was.
#[unsafe(no_mangle)]
pub extern "C" fn tl_scheduler_free(scheduler: *mut tl_scheduler) -> tl_status {
    ffi_panic_boundary! {
        if scheduler.is_null() {
            tl_status::Ok
        } else if unregister(scheduler, HandleKind::Scheduler) {
            // SAFETY: a live handle from this library (it was registered),
            // freed once: it is no longer registered.
            drop(unsafe { Box::from_raw(scheduler) });
            tl_status::Ok
        } else {
            tl_status::InvalidHandle
        }
    }
}

/// Writes the scheduler's whole state to `*snapshot_out`: a new buffer,
/// owned by the caller, holding the snapshot as JSON (the documented
/// schema `core/schema/snapshot.schema.json`). The same calls give the
/// same bytes.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_snapshot(
    scheduler: *const tl_scheduler,
    snapshot_out: *mut *mut tl_buffer,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle (the C contract).
            let s = unsafe { sched(scheduler) }?;
            let out = out_arg(snapshot_out, "snapshot_out")?;
            write_json(&s.snapshot(), out)
        })
    }
}

/// Creates a scheduler from snapshot bytes (as `tl_scheduler_snapshot`
/// wrote them). It decides exactly as the scheduler that was snapshotted.
/// On success `*scheduler_out` is a new handle owned by the caller.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_restore(
    snapshot: *const u8,
    snapshot_len: usize,
    scheduler_out: *mut *mut tl_scheduler,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: valid for `snapshot_len` bytes (the C contract).
            let bytes = unsafe { bytes_arg(snapshot, snapshot_len, "snapshot") }?;
            let out = out_arg(scheduler_out, "scheduler_out")?;
            let snapshot = parse_json::<Snapshot>(bytes, "snapshot")?;
            let s = Scheduler::restore(snapshot)?;
            // SAFETY: `out` is checked.
            unsafe { write(out, tl_scheduler::into_raw(s)) };
            Ok(())
        })
    }
}

/// The latest time any call was made at, in milliseconds.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_now(
    scheduler: *const tl_scheduler,
    now_out: *mut u64,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle (the C contract).
            let s = unsafe { sched(scheduler) }?;
            let out = out_arg(now_out, "now_out")?;
            // SAFETY: `out` is checked.
            unsafe { write(out, s.now().0) };
            Ok(())
        })
    }
}

/// Declares a SKU from a JSON document in the schema of the core's
/// `SkuSpec` (id, family, generation, arch, cpu_vendor, allocatable,
/// perf_score, numa_nodes, features, accelerator_model, local_disk,
/// price_nanos_per_second). A bad document names the JSON path.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_add_sku_json(
    scheduler: *mut tl_scheduler,
    json: *const c_char,
    json_len: usize,
    now: u64,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle used by this thread alone.
            let s = unsafe { sched_mut(scheduler) }?;
            // SAFETY: valid for `json_len` bytes (the C contract).
            let bytes = unsafe { bytes_arg(json.cast(), json_len, "json") }?;
            let spec = parse_json::<SkuSpec>(bytes, "sku")?;
            Ok(s.apply(|s| s.add_sku(spec, Timestamp(now)))?)
        })
    }
}

/// Declares a zone in a state (a `tl_zone_state`).
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_add_zone(
    scheduler: *mut tl_scheduler,
    zone: *const c_char,
    zone_len: usize,
    state: u32,
    now: u64,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle used by this thread alone.
            let s = unsafe { sched_mut(scheduler) }?;
            // SAFETY: valid for `zone_len` bytes (the C contract).
            let zone: ZoneId = unsafe { id_arg(zone, zone_len, "zone") }?;
            let state = zone_state_arg(state)?;
            Ok(s.apply(|s| s.add_zone(zone, state, Timestamp(now)))?)
        })
    }
}

fn zone_state_arg(state: u32) -> Result<ZoneState, Failure> {
    enum_arg(
        state,
        &[
            (tl_zone_state::Up as u32, ZoneState::Up),
            (tl_zone_state::Down as u32, ZoneState::Down),
            (tl_zone_state::Draining as u32, ZoneState::Draining),
        ],
        "state",
    )
}

/// Sets a zone's state (a `tl_zone_state`); becoming up retries pending
/// instances. For a lost zone's evacuation use `tl_scheduler_zone_down`.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_set_zone_state(
    scheduler: *mut tl_scheduler,
    zone: *const c_char,
    zone_len: usize,
    state: u32,
    now: u64,
    mode: u32,
    decisions_out: *mut *mut tl_decisions,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || decide(scheduler, mode, decisions_out, |_| {
            // SAFETY: valid for `zone_len` bytes (the C contract).
            let zone: ZoneId = unsafe { id_arg(zone, zone_len, "zone") }?;
            let state = zone_state_arg(state)?;
            Ok(move |s: &mut Scheduler| s.set_zone_state(&zone, state, Timestamp(now)))
        }))
    }
}

/// Adds a host (the embedder's machine, id without bit 63) of a SKU in a
/// zone; pending instances that fit are placed on it.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_add_host(
    scheduler: *mut tl_scheduler,
    host: u64,
    sku: *const c_char,
    sku_len: usize,
    zone: *const c_char,
    zone_len: usize,
    now: u64,
    mode: u32,
    decisions_out: *mut *mut tl_decisions,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || decide(scheduler, mode, decisions_out, |_| {
            // SAFETY: valid for their lengths (the C contract).
            let sku: SkuId = unsafe { id_arg(sku, sku_len, "sku") }?;
            // SAFETY: as above.
            let zone: ZoneId = unsafe { id_arg(zone, zone_len, "zone") }?;
            let spec = HostSpec { id: HostId(host), sku, zone };
            Ok(move |s: &mut Scheduler| s.add_host(spec, Timestamp(now)))
        }))
    }
}

/// Removes a host; its instances are evicted and re-placed where they fit.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_remove_host(
    scheduler: *mut tl_scheduler,
    host: u64,
    now: u64,
    mode: u32,
    decisions_out: *mut *mut tl_decisions,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || decide(scheduler, mode, decisions_out, |_| {
            Ok(move |s: &mut Scheduler| s.remove_host(HostId(host), Timestamp(now)))
        }))
    }
}

/// Cordons or uncordons a host (a `tl_host_state`).
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_set_host_state(
    scheduler: *mut tl_scheduler,
    host: u64,
    state: u32,
    now: u64,
    mode: u32,
    decisions_out: *mut *mut tl_decisions,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || decide(scheduler, mode, decisions_out, |_| {
            let state = enum_arg(
                state,
                &[
                    (tl_host_state::Ready as u32, HostState::Ready),
                    (tl_host_state::Cordoned as u32, HostState::Cordoned),
                ],
                "state",
            )?;
            Ok(move |s: &mut Scheduler| {
                s.set_host_state(HostId(host), state, Timestamp(now))
            })
        }))
    }
}

/// Declares an app from a JSON document in the schema of the core's
/// `AppSpec`: id, tenant, resources, arches and, all optional, features,
/// min_perf_score, qos (`"rigid"`, `"best_effort"`), numa (`"any"`,
/// `"single_node"`), spread (zones, weights, max_skew, min_zones,
/// when_unsatisfiable, disruption_budget), priority, sku,
/// accelerator_model, local_disk and substitution (tiers, price cap,
/// exhaustion, memory ratio). A bad document names the JSON path.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_add_app_json(
    scheduler: *mut tl_scheduler,
    json: *const c_char,
    json_len: usize,
    now: u64,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle used by this thread alone.
            let s = unsafe { sched_mut(scheduler) }?;
            // SAFETY: valid for `json_len` bytes (the C contract).
            let bytes = unsafe { bytes_arg(json.cast(), json_len, "json") }?;
            let spec = parse_json::<AppSpec>(bytes, "app")?;
            Ok(s.apply(|s| s.add_app(spec, Timestamp(now)))?)
        })
    }
}

/// Removes an app that has no instances left.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_remove_app(
    scheduler: *mut tl_scheduler,
    app: *const c_char,
    app_len: usize,
    now: u64,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle used by this thread alone.
            let s = unsafe { sched_mut(scheduler) }?;
            // SAFETY: valid for `app_len` bytes (the C contract).
            let app: AppId = unsafe { id_arg(app, app_len, "app") }?;
            Ok(s.apply(|s| s.remove_app(&app, Timestamp(now)))?)
        })
    }
}

/// Reads an app name and builds its id through the handle's cache.
///
/// # Safety
/// `ptr` is NULL or valid for `len` bytes.
pub(crate) unsafe fn app_arg(
    s: &mut tl_scheduler,
    ptr: *const c_char,
    len: usize,
) -> Result<AppId, Failure> {
    // SAFETY: per the contract.
    let name = unsafe { str_arg(ptr, len, "app") }?;
    s.app_id(name)
}

/// Places one new instance of an app: on a running host, tentatively on a
/// host to provision, or pending with its explanation.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_place(
    scheduler: *mut tl_scheduler,
    app: *const c_char,
    app_len: usize,
    now: u64,
    mode: u32,
    decisions_out: *mut *mut tl_decisions,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || decide(scheduler, mode, decisions_out, |s| {
            // SAFETY: valid for `app_len` bytes (the C contract).
            let app = unsafe { app_arg(s, app, app_len) }?;
            Ok(move |s: &mut Scheduler| s.place(&app, Timestamp(now)))
        }))
    }
}

/// Places `count` new instances of an app in one call, in a batch mode (a
/// `tl_batch_mode`).
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_place_batch(
    scheduler: *mut tl_scheduler,
    app: *const c_char,
    app_len: usize,
    count: u32,
    batch_mode: u32,
    now: u64,
    mode: u32,
    decisions_out: *mut *mut tl_decisions,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || decide(scheduler, mode, decisions_out, |s| {
            // SAFETY: valid for `app_len` bytes (the C contract).
            let app = unsafe { app_arg(s, app, app_len) }?;
            let batch = enum_arg(
                batch_mode,
                &[
                    (tl_batch_mode::Partial as u32, BatchMode::Partial),
                    (tl_batch_mode::AllOrNothing as u32, BatchMode::AllOrNothing),
                ],
                "batch_mode",
            )?;
            Ok(move |s: &mut Scheduler| s.place_batch(&app, count, batch, Timestamp(now)))
        }))
    }
}

/// Scales an app to `target` instances: places the new ones (10,000 in one
/// call) or removes the newest.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_scale(
    scheduler: *mut tl_scheduler,
    app: *const c_char,
    app_len: usize,
    target: u32,
    now: u64,
    mode: u32,
    decisions_out: *mut *mut tl_decisions,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || decide(scheduler, mode, decisions_out, |s| {
            // SAFETY: valid for `app_len` bytes (the C contract).
            let app = unsafe { app_arg(s, app, app_len) }?;
            Ok(move |s: &mut Scheduler| s.scale(&app, target, Timestamp(now)))
        }))
    }
}

/// Removes one instance (a scale-down of that very instance).
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_remove_instance(
    scheduler: *mut tl_scheduler,
    instance: u64,
    now: u64,
    mode: u32,
    decisions_out: *mut *mut tl_decisions,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || decide(scheduler, mode, decisions_out, |_| {
            Ok(move |s: &mut Scheduler| s.remove_instance(InstanceId(instance), Timestamp(now)))
        }))
    }
}
/// Reports a host failed: its instances are evacuated in one plan.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_host_failed(
    scheduler: *mut tl_scheduler,
    host: u64,
    now: u64,
    mode: u32,
    decisions_out: *mut *mut tl_decisions,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || decide(scheduler, mode, decisions_out, |_| {
            Ok(move |s: &mut Scheduler| s.host_failed(HostId(host), Timestamp(now)))
        }))
    }
}
/// Confirms a move: the replacement `to` runs, the original is removed.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_complete_move(
    scheduler: *mut tl_scheduler,
    to: u64,
    now: u64,
    mode: u32,
    decisions_out: *mut *mut tl_decisions,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || decide(scheduler, mode, decisions_out, |_| {
            Ok(move |s: &mut Scheduler| s.complete_move(InstanceId(to), Timestamp(now)))
        }))
    }
}
/// Gives up a move: the replacement `to` is removed, the original stays.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_abort_move(
    scheduler: *mut tl_scheduler,
    to: u64,
    now: u64,
    mode: u32,
    decisions_out: *mut *mut tl_decisions,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || decide(scheduler, mode, decisions_out, |_| {
            Ok(move |s: &mut Scheduler| s.abort_move(InstanceId(to), Timestamp(now)))
        }))
    }
}

/// Retries pending instances and expired back-offs at `now`.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_reconcile(
    scheduler: *mut tl_scheduler,
    now: u64,
    mode: u32,
    decisions_out: *mut *mut tl_decisions,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || decide(scheduler, mode, decisions_out, |_| {
            Ok(move |s: &mut Scheduler| s.reconcile(Timestamp(now)))
        }))
    }
}
/// Plans moves that bring apps within their skew limits again.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_rebalance(
    scheduler: *mut tl_scheduler,
    now: u64,
    mode: u32,
    decisions_out: *mut *mut tl_decisions,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || decide(scheduler, mode, decisions_out, |_| {
            Ok(move |s: &mut Scheduler| s.rebalance(Timestamp(now)))
        }))
    }
}
/// Plans moves of substituted instances back to preferred SKUs.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_plan_return(
    scheduler: *mut tl_scheduler,
    now: u64,
    mode: u32,
    decisions_out: *mut *mut tl_decisions,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || decide(scheduler, mode, decisions_out, |_| {
            Ok(move |s: &mut Scheduler| s.plan_return(Timestamp(now)))
        }))
    }
}

/// Reports planned host `planned` (from a provision) ready as the
/// embedder's host `host`: its tentative instances become placements.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_host_ready(
    scheduler: *mut tl_scheduler,
    planned: u64,
    host: u64,
    now: u64,
    mode: u32,
    decisions_out: *mut *mut tl_decisions,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || decide(scheduler, mode, decisions_out, |_| {
            Ok(move |s: &mut Scheduler| {
                s.host_ready(HostId(planned), HostId(host), Timestamp(now))
            })
        }))
    }
}

/// Reports that provisioning an offering (SKU in zone) failed (a
/// `tl_provision_failure`): its planned hosts are cancelled, it backs off,
/// and their instances are re-placed elsewhere.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_provision_failed(
    scheduler: *mut tl_scheduler,
    sku: *const c_char,
    sku_len: usize,
    zone: *const c_char,
    zone_len: usize,
    failure: u32,
    now: u64,
    mode: u32,
    decisions_out: *mut *mut tl_decisions,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || decide(scheduler, mode, decisions_out, |_| {
            // SAFETY: valid for their lengths (the C contract).
            let sku: SkuId = unsafe { id_arg(sku, sku_len, "sku") }?;
            // SAFETY: as above.
            let zone: ZoneId = unsafe { id_arg(zone, zone_len, "zone") }?;
            let failure = enum_arg(
                failure,
                &[
                    (tl_provision_failure::InsufficientStock as u32, ProvisionFailure::InsufficientStock),
                    (tl_provision_failure::Other as u32, ProvisionFailure::Other),
                ],
                "failure",
            )?;
            Ok(move |s: &mut Scheduler| {
                s.provision_failed(&sku, &zone, failure, Timestamp(now))
            })
        }))
    }
}

/// Declares what the provider can supply of a SKU in a zone: `stock` is a
/// `tl_stock`; `count` is the number of hosts for `TL_STOCK_KNOWN` and must
/// be 0 otherwise.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_set_stock(
    scheduler: *mut tl_scheduler,
    sku: *const c_char,
    sku_len: usize,
    zone: *const c_char,
    zone_len: usize,
    stock: u32,
    count: u32,
    now: u64,
    mode: u32,
    decisions_out: *mut *mut tl_decisions,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || decide(scheduler, mode, decisions_out, |_| {
            // SAFETY: valid for their lengths (the C contract).
            let sku: SkuId = unsafe { id_arg(sku, sku_len, "sku") }?;
            // SAFETY: as above.
            let zone: ZoneId = unsafe { id_arg(zone, zone_len, "zone") }?;
            let stock = match enum_arg(
                stock,
                &[
                    (tl_stock::Known as u32, tl_stock::Known),
                    (tl_stock::Unknown as u32, tl_stock::Unknown),
                    (tl_stock::Exhausted as u32, tl_stock::Exhausted),
                ],
                "stock",
            )? {
                tl_stock::Known => Stock::Known(count),
                tl_stock::Unknown | tl_stock::Exhausted if count != 0 => {
                    return Err(Failure::new(
                        tl_status::InvalidInput,
                        format!("count = {count}: only known stock has a count"),
                    ));
                }
                tl_stock::Unknown => Stock::Unknown,
                tl_stock::Exhausted => Stock::Exhausted,
            };
            Ok(move |s: &mut Scheduler| s.set_stock(&sku, &zone, stock, Timestamp(now)))
        }))
    }
}

/// Reports a zone lost: one evacuation plan re-places its instances
/// (provisioning where needed) and says what cannot be re-placed.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_zone_down(
    scheduler: *mut tl_scheduler,
    zone: *const c_char,
    zone_len: usize,
    now: u64,
    mode: u32,
    decisions_out: *mut *mut tl_decisions,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || decide(scheduler, mode, decisions_out, |_| {
            // SAFETY: valid for `zone_len` bytes (the C contract).
            let zone: ZoneId = unsafe { id_arg(zone, zone_len, "zone") }?;
            Ok(move |s: &mut Scheduler| s.zone_down(&zone, Timestamp(now)))
        }))
    }
}
/// Reports a lost zone back: pending instances are retried and apps
/// outside their skew limit are rebalanced.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_zone_up(
    scheduler: *mut tl_scheduler,
    zone: *const c_char,
    zone_len: usize,
    now: u64,
    mode: u32,
    decisions_out: *mut *mut tl_decisions,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || decide(scheduler, mode, decisions_out, |_| {
            // SAFETY: valid for `zone_len` bytes (the C contract).
            let zone: ZoneId = unsafe { id_arg(zone, zone_len, "zone") }?;
            Ok(move |s: &mut Scheduler| s.zone_up(&zone, Timestamp(now)))
        }))
    }
}

/// Plans how few hosts could carry the running instances (a query: nothing
/// changes). `budget` is the engine's work budget (0: greedy only);
/// `tie_break` picks among equally good packings (the same value gives the
/// same plan). `*plan_out` receives the plan as JSON (moves,
/// pools, hosts before and after, freed hosts).
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_plan_repack(
    scheduler: *const tl_scheduler,
    budget: u64,
    tie_break: u64,
    plan_out: *mut *mut tl_buffer,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle (the C contract).
            let s = unsafe { sched(scheduler) }?;
            let out = out_arg(plan_out, "plan_out")?;
            let mut options = trimline::repack::RepackOptions::with_budget(budget);
            options.seed = tie_break;
            write_json(&s.plan_repack(&options), out)
        })
    }
}

/// Explains, per SKU, whether it may serve an app in a zone and why not
/// (a query). `*verdicts_out` receives the verdicts as JSON (the schema
/// `core/schema/sku-verdicts.schema.json`).
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_explain_substitution(
    scheduler: *const tl_scheduler,
    app: *const c_char,
    app_len: usize,
    zone: *const c_char,
    zone_len: usize,
    verdicts_out: *mut *mut tl_buffer,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle (the C contract).
            let s = unsafe { sched(scheduler) }?;
            // SAFETY: valid for their lengths (the C contract).
            let app: AppId = unsafe { id_arg(app, app_len, "app") }?;
            // SAFETY: as above.
            let zone: ZoneId = unsafe { id_arg(zone, zone_len, "zone") }?;
            let out = out_arg(verdicts_out, "verdicts_out")?;
            write_json(&s.explain_substitution(&app, &zone)?, out)
        })
    }
}

/// For each zone, what losing it now would leave unplaced (a query).
/// `*reports_out` receives a JSON array of `{zone, unplaced}`; the region
/// survives the loss of a zone when its `unplaced` is empty.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_survive_zone_loss(
    scheduler: *const tl_scheduler,
    reports_out: *mut *mut tl_buffer,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle (the C contract).
            let s = unsafe { sched(scheduler) }?;
            let out = out_arg(reports_out, "reports_out")?;
            write_json(&s.survive_zone_loss(), out)
        })
    }
}

/// When the scheduler next wants to be called (`tl_scheduler_reconcile`),
/// for a back-off that expires: `*has_deadline_out` is false when nothing
/// is due, else `*deadline_out` is the time in milliseconds.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_next_deadline(
    scheduler: *const tl_scheduler,
    has_deadline_out: *mut bool,
    deadline_out: *mut u64,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle (the C contract).
            let s = unsafe { sched(scheduler) }?;
            let has = out_arg(has_deadline_out, "has_deadline_out")?;
            let at = out_arg(deadline_out, "deadline_out")?;
            let deadline = s.next_deadline();
            // SAFETY: both checked.
            unsafe {
                write(has, deadline.is_some());
                write(at, deadline.map_or(0, |t| t.0));
            }
            Ok(())
        })
    }
}

/// An instance as the scheduler sees it, as JSON: `{id, app, status}`
/// where status is `placed` (host, NUMA parts), `tentative` (planned host)
/// or `pending` (since, reason). An unknown id is `TL_STATUS_UNKNOWN_ID`.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_instance_json(
    scheduler: *const tl_scheduler,
    instance: u64,
    json_out_: *mut *mut tl_buffer,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle (the C contract).
            let s = unsafe { sched(scheduler) }?;
            let out = out_arg(json_out_, "json_out")?;
            let view = s
                .instance(InstanceId(instance))
                .ok_or(trimline::Error::UnknownInstance(InstanceId(instance)))?;
            write_json(&view, out)
        })
    }
}

/// A host as the scheduler sees it, as JSON: id, sku, zone, state,
/// capacity, free, per-NUMA-node use and its instances. An unknown id is
/// `TL_STATUS_UNKNOWN_ID`.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_host_json(
    scheduler: *const tl_scheduler,
    host: u64,
    json_out_: *mut *mut tl_buffer,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle (the C contract).
            let s = unsafe { sched(scheduler) }?;
            let out = out_arg(json_out_, "json_out")?;
            let view = s.host(HostId(host)).ok_or(trimline::Error::UnknownHost(HostId(host)))?;
            write_json(&view, out)
        })
    }
}

/// The pending instances' ids, in retry order, copied into `ids` (room for
/// `capacity` of them); `*count_out` receives how many there are. Pass
/// `ids` NULL and `capacity` 0 to learn the count only; a smaller
/// non-zero room is `TL_STATUS_BUFFER_TOO_SMALL`.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_pending(
    scheduler: *const tl_scheduler,
    ids: *mut u64,
    capacity: usize,
    count_out: *mut usize,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle (the C contract).
            let s = unsafe { sched(scheduler) }?;
            let count = out_arg(count_out, "count_out")?;
            let pending = s.pending();
            if ids.is_null() {
                if capacity != 0 {
                    return Err(Failure::null("ids"));
                }
            } else {
                if capacity < pending.len() {
                    return Err(Failure::new(
                        tl_status::BufferTooSmall,
                        format!("room for {capacity} ids; {} are pending", pending.len()),
                    ));
                }
                for (k, id) in pending.iter().enumerate() {
                    // SAFETY: `ids` is valid for `capacity >= pending.len()`
                    // writes (the C contract).
                    unsafe { ids.add(k).write(id.0) };
                }
            }
            // SAFETY: checked.
            unsafe { write(count, pending.len()) };
            Ok(())
        })
    }
}

/// An app's current skew: the largest difference between its instance
/// counts in its zones (measured against weighted targets when it has
/// weights).
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_skew(
    scheduler: *const tl_scheduler,
    app: *const c_char,
    app_len: usize,
    skew_out: *mut u32,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle (the C contract).
            let s = unsafe { sched(scheduler) }?;
            // SAFETY: valid for `app_len` bytes (the C contract).
            let app: AppId = unsafe { id_arg(app, app_len, "app") }?;
            let out = out_arg(skew_out, "skew_out")?;
            let skew = s.skew(&app)?;
            // SAFETY: checked.
            unsafe { write(out, skew) };
            Ok(())
        })
    }
}

/// Audits the invariants (no node over capacity in any dimension, every
/// derived count equal to its recount). A violation, which would be a bug,
/// is `TL_STATUS_CONFLICT` with its description.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_check_invariants(
    scheduler: *const tl_scheduler,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle (the C contract).
            let s = unsafe { sched(scheduler) }?;
            s.check_invariants()
                .map_err(|v| Failure::new(tl_status::Conflict, v.to_string()))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A panic inside a call that changes the scheduler is a status, and
    /// the handle refuses every later call instead of running on a state
    /// the panic may have left half-changed.
    #[test]
    fn a_panic_poisons_the_handle() {
        let s = tl_scheduler::into_raw(Scheduler::default());
        let status = run(std::ptr::null_mut(), || {
            // SAFETY: `s` is a live handle used by this test alone.
            let handle = unsafe { sched_mut(s) }?;
            handle.apply(|_| -> Result<(), Failure> { panic!("deliberate test panic") })
        });
        assert_eq!(status, tl_status::Panic);

        let mut d = std::ptr::null_mut();
        let status =
            tl_scheduler_reconcile(s, 1, tl_mode::Commit as u32, &mut d, std::ptr::null_mut());
        assert_eq!(status, tl_status::Poisoned);
        assert!(d.is_null());
        let mut now = 7;
        let status = tl_scheduler_now(s, &mut now, std::ptr::null_mut());
        assert_eq!((status, now), (tl_status::Poisoned, 7));
        // A poisoned handle is still freed normally.
        assert_eq!(tl_scheduler_free(s), tl_status::Ok);
    }

    /// Calls in both modes clear the mark they set, and a second free is
    /// detected.
    #[test]
    fn a_call_that_returns_normally_leaves_the_handle_usable() {
        let s = tl_scheduler::into_raw(Scheduler::default());
        let mut d = std::ptr::null_mut();
        for mode in [tl_mode::DryRun, tl_mode::Commit] {
            let status = tl_scheduler_reconcile(s, 1, mode as u32, &mut d, std::ptr::null_mut());
            assert_eq!(status, tl_status::Ok);
            crate::decisions::tl_decisions_free(d);
        }
        assert_eq!(tl_scheduler_free(s), tl_status::Ok);
        assert_eq!(tl_scheduler_free(s), tl_status::InvalidHandle);
    }
}
