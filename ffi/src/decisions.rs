//! Decisions as one owned result object with typed, allocation-free
//! accessors, and as JSON.
//!
//! Every record's strings (`tl_str`) and arrays borrow from the
//! `tl_decisions` object: they stay valid until it is freed.

use std::ffi::c_char;

use trimline::{
    CancellationCause, Decisions, EvictionCause, PendingReason, Placement, ResourceTotals,
    SubstitutionNote,
};

use crate::args::{out_arg, tl_str, write, write_json};
use crate::buffer::tl_buffer;
use crate::error::{Failure, copy_text, run, tl_error, tl_status};
use crate::panic::ffi_panic_boundary;

/// Everything one call decided. Owned by the caller; free it with
/// `tl_decisions_free`. Read each list with its `_len` function and its
/// record accessor (no allocation per record), or all of it as JSON with
/// `tl_decisions_to_json`. Every view in a record (`tl_str` fields,
/// `numa_nodes`) borrows from this object: it stays valid, unchanged,
/// until the object is freed, whatever calls are made in between. The
/// object does not borrow from the scheduler, which may be freed first.
#[allow(non_camel_case_types)]
pub struct tl_decisions {
    pub(crate) inner: Decisions,
}

impl tl_decisions {
    pub(crate) fn into_raw(inner: Decisions) -> *mut tl_decisions {
        Box::into_raw(Box::new(tl_decisions { inner }))
    }
}

/// An instance placed on a host (`placements`: start it) or tentatively on
/// a planned host (`tentative`: it starts when the host is ready).
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct tl_placement {
    /// The instance.
    pub instance: u64,
    /// Its app.
    pub app: tl_str,
    /// The host (a planned host's id for a tentative placement).
    pub host: u64,
    /// The host's zone.
    pub zone: tl_str,
    /// The host's SKU.
    pub sku: tl_str,
    /// The NUMA nodes given to the instance (`numa_node_count` of them).
    pub numa_nodes: *const u8,
    /// How many NUMA nodes (one unless the app allows spanning nodes).
    pub numa_node_count: usize,
    /// Whether this SKU stands in for the app's preferred one; the reason
    /// is read with `tl_decisions_substitution_note`.
    pub substituted: bool,
    /// The SKU the app asked for, when substituted and it asked for one
    /// (empty otherwise).
    pub requested_sku: tl_str,
    /// The SKU's preference tier for the app, when substituted (0 is the
    /// most preferred).
    pub tier: u32,
    /// Bytes the host is expected to pull before the instance starts: 0
    /// on a host holding the app's image (or for an app that names none).
    pub pull_bytes: u64,
    /// How it concerns a standby instance: a `tl_standby_mark`
    /// (`TL_STANDBY_MARK_NONE` for a running instance to create).
    pub standby: u32,
}

/// A request to provision `count` hosts of `sku` in `zone`; the planned
/// hosts' ids are read with `tl_decisions_provision_host`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct tl_provision {
    /// The request's id.
    pub id: u64,
    /// The zone.
    pub zone: tl_str,
    /// The SKU to provision.
    pub sku: tl_str,
    /// How many hosts (as many planned host ids).
    pub count: u32,
    /// The SKU the app asked for, when this one stands in for it (empty
    /// otherwise).
    pub substitutes_for: tl_str,
    /// The app's preference tier of this SKU (0 is the most preferred).
    pub tier: u32,
    /// The app whose instances need the hosts (empty for a warm pool).
    pub app: tl_str,
    /// How many of its instances the hosts are planned for (0 for a warm
    /// pool).
    pub instances: u32,
    /// Whether it is a substitution; the reason is read with
    /// `tl_decisions_substitution_note`.
    pub substituted: bool,
    /// Why the hosts are wanted: a `tl_provision_reason`.
    pub reason: u32,
}

/// Why a provision asks for hosts (`tl_provision.reason`).
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Copy, Clone, Debug)]
pub enum tl_provision_reason {
    /// A reason newer than this header; read it from the JSON form.
    Other = 0,
    /// An app's instances need the hosts (`app`, `instances`).
    Instances = 1,
    /// To keep an offering's warm pool at its target (`app` empty).
    WarmPool = 2,
}

/// The `tl_provision_reason` of a provision.
fn provision_reason(r: trimline::ProvisionReason) -> u32 {
    (match r {
        trimline::ProvisionReason::Instances => tl_provision_reason::Instances,
        trimline::ProvisionReason::WarmPool => tl_provision_reason::WarmPool,
        _ => tl_provision_reason::Other,
    }) as u32
}

/// Why an instance was evicted (`tl_eviction.cause`).
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Copy, Clone, Debug)]
pub enum tl_eviction_cause {
    /// A cause newer than this header; read it from the JSON form.
    Other = 0,
    /// A best-effort instance preempted by a rigid one (`preempted_by`).
    Preempted = 1,
    /// The host was removed.
    HostRemoved = 2,
    /// Its planned host could not be provisioned.
    ProvisionFailed = 3,
    /// Its zone was lost.
    ZoneDown = 4,
    /// Its host failed.
    HostFailed = 5,
}

/// An instance taken off its host; pending again unless a placement in the
/// same decisions puts it elsewhere.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct tl_eviction {
    /// The instance.
    pub instance: u64,
    /// Its app.
    pub app: tl_str,
    /// The host it left.
    pub host: u64,
    /// Why: a `tl_eviction_cause`.
    pub cause: u32,
    /// For `TL_EVICTION_CAUSE_PREEMPTED`, the rigid instance that needed
    /// the room; 0 otherwise.
    pub preempted_by: u64,
}

/// Why an instance is pending (`tl_pending.reason`).
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Copy, Clone, Debug)]
pub enum tl_pending_reason {
    /// A reason newer than this header; its text and JSON still say it.
    Other = 0,
    /// No host fits: the explanation counts what ruled each host out.
    NoFit = 1,
    /// Preempted by a rigid instance, not retried yet.
    Preempted = 2,
    /// Its host was removed, not retried yet.
    HostRemoved = 3,
    /// Its planned host could not be provisioned, not retried yet.
    ProvisionFailed = 4,
    /// Its zone was lost, not retried yet.
    ZoneDown = 5,
    /// Its host failed, not retried yet.
    HostFailed = 6,
}

/// An instance that could not be placed and stays pending. Its
/// explanation, as text, is read with `tl_decisions_pending_reason`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct tl_pending {
    /// The instance.
    pub instance: u64,
    /// Its app.
    pub app: tl_str,
    /// Why: a `tl_pending_reason`.
    pub reason: u32,
    /// For `TL_PENDING_REASON_NO_FIT`, the hosts considered (none fit); 0
    /// otherwise.
    pub hosts: u32,
}

/// An instance deleted.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct tl_removal {
    /// The instance.
    pub instance: u64,
    /// Its app.
    pub app: tl_str,
    /// Whether it was placed (then `host` is its host).
    pub has_host: bool,
    /// The host it was on, when `has_host`.
    pub host: u64,
}

/// Resource totals that may exceed one host's.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct tl_resource_totals {
    /// CPU millicores.
    pub cpu_millis: u64,
    /// Memory MiB.
    pub memory_mib: u64,
    /// Network Mbit/s.
    pub network_mbps: u64,
    /// Accelerators.
    pub accelerators: u64,
}

impl From<ResourceTotals> for tl_resource_totals {
    fn from(r: ResourceTotals) -> Self {
        tl_resource_totals {
            cpu_millis: r.cpu_millis,
            memory_mib: r.memory_mib,
            network_mbps: r.network_mbps,
            accelerators: r.accelerators,
        }
    }
}

/// Instances of an app that neither fit nor could be provisioned for, in
/// one zone's share.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct tl_shortfall {
    /// The app.
    pub app: tl_str,
    /// The zone whose share could not be met.
    pub zone: tl_str,
    /// Instances short.
    pub instances: u32,
    /// Their resources, summed.
    pub resources: tl_resource_totals,
}

/// Why a move was planned (`tl_move.reason`).
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Copy, Clone, Debug)]
pub enum tl_move_reason {
    /// A reason newer than this header; read it from the JSON form.
    Other = 0,
    /// Back to a more preferred SKU (`tl_scheduler_plan_return`).
    ReturnToPreferred = 1,
    /// Into another zone to restore the app's skew (`tl_scheduler_rebalance`).
    Rebalance = 2,
    /// Off a host being emptied (`tl_scheduler_start_consolidation`).
    Consolidate = 3,
}

/// A planned move: start `to` on `to_host`, then confirm with
/// `tl_scheduler_complete_move` (which removes `from`) or give up with
/// `tl_scheduler_abort_move`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct tl_move {
    /// The app.
    pub app: tl_str,
    /// The instance that moves.
    pub from: u64,
    /// Its host.
    pub from_host: u64,
    /// The replacement instance.
    pub to: u64,
    /// The replacement's host.
    pub to_host: u64,
    /// The preference tier of the replacement's SKU.
    pub to_tier: u32,
    /// Why: a `tl_move_reason`.
    pub reason: u32,
}

/// Instances of an app placed outside its spread policy, which it allows.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct tl_skew_violation {
    /// The app.
    pub app: tl_str,
    /// Instances placed in violation in this call.
    pub instances: u32,
    /// The app's skew after the last of them.
    pub skew: u32,
    /// Whether the app has a skew limit (false when only its minimum of
    /// zones was broken).
    pub has_max_skew: bool,
    /// The limit, when `has_max_skew`.
    pub max_skew: u32,
}

/// Evacuated instances of an app that could not be re-placed.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct tl_unplaced {
    /// The app.
    pub app: tl_str,
    /// Instances not re-placed.
    pub instances: u32,
    /// What the surviving hosts lacked for them.
    pub resources: tl_resource_totals,
}

/// Why planned hosts were cancelled (`tl_cancellation.cause`).
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Copy, Clone, Debug)]
pub enum tl_cancellation_cause {
    /// A cause newer than this header; read it from the JSON form.
    Other = 0,
    /// No instance waits on the hosts any more.
    Unneeded = 1,
    /// Their offering failed to provision.
    ProvisionFailed = 2,
    /// Their zone was lost.
    ZoneDown = 3,
    /// The embedder removed them.
    HostRemoved = 4,
    /// The embedder reported them failed.
    HostFailed = 5,
}

/// Planned hosts of an earlier provision that are dropped: stop
/// provisioning them. Their ids are read with
/// `tl_decisions_cancellation_host`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct tl_cancellation {
    /// The provision request the hosts were part of.
    pub provision: u64,
    /// Its zone.
    pub zone: tl_str,
    /// Its SKU.
    pub sku: tl_str,
    /// How many planned hosts are cancelled.
    pub host_count: usize,
    /// Why: a `tl_cancellation_cause`.
    pub cause: u32,
}

/// The lists of a `tl_decisions` that carry a substitution note.
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Copy, Clone, Debug)]
pub enum tl_note_list {
    /// `placements`.
    Placements = 0,
    /// `tentative`.
    Tentative = 1,
    /// `provisions`.
    Provisions = 2,
}

fn placement(p: &Placement) -> tl_placement {
    let note = p.substitution.as_deref();
    tl_placement {
        instance: p.instance.0,
        app: tl_str::of(p.app.as_str()),
        host: p.host.0,
        zone: tl_str::of(p.zone.as_str()),
        sku: tl_str::of(p.sku.as_str()),
        numa_nodes: p.numa_nodes.as_ptr(),
        numa_node_count: p.numa_nodes.len(),
        substituted: note.is_some(),
        requested_sku: note
            .and_then(|n| n.requested.as_ref())
            .map_or(tl_str::EMPTY, |s| tl_str::of(s.as_str())),
        tier: note.map_or(0, |n| n.tier),
        pull_bytes: p.pull_bytes,
        standby: crate::standby::mark(p.standby),
    }
}

fn eviction_cause(cause: &EvictionCause) -> (tl_eviction_cause, u64) {
    match cause {
        EvictionCause::Preempted { by } => (tl_eviction_cause::Preempted, by.0),
        EvictionCause::HostRemoved => (tl_eviction_cause::HostRemoved, 0),
        EvictionCause::ProvisionFailed => (tl_eviction_cause::ProvisionFailed, 0),
        EvictionCause::ZoneDown => (tl_eviction_cause::ZoneDown, 0),
        EvictionCause::HostFailed => (tl_eviction_cause::HostFailed, 0),
        // The core's enum is non-exhaustive: a newer cause is `Other`.
        _ => (tl_eviction_cause::Other, 0),
    }
}

fn pending_reason(reason: &PendingReason) -> (tl_pending_reason, u32) {
    match reason {
        PendingReason::NoFit(e) => (tl_pending_reason::NoFit, e.hosts),
        PendingReason::Preempted { .. } => (tl_pending_reason::Preempted, 0),
        PendingReason::HostRemoved { .. } => (tl_pending_reason::HostRemoved, 0),
        PendingReason::ProvisionFailed { .. } => (tl_pending_reason::ProvisionFailed, 0),
        PendingReason::ZoneDown { .. } => (tl_pending_reason::ZoneDown, 0),
        PendingReason::HostFailed { .. } => (tl_pending_reason::HostFailed, 0),
        // The core's enum is non-exhaustive: a newer reason is `Other`.
        _ => (tl_pending_reason::Other, 0),
    }
}

fn move_reason(reason: trimline::MoveReason) -> tl_move_reason {
    match reason {
        trimline::MoveReason::ReturnToPreferred => tl_move_reason::ReturnToPreferred,
        trimline::MoveReason::Rebalance => tl_move_reason::Rebalance,
        trimline::MoveReason::Consolidate => tl_move_reason::Consolidate,
        // The core's enum is non-exhaustive: a newer reason is `Other`.
        _ => tl_move_reason::Other,
    }
}

fn cancellation_cause(cause: CancellationCause) -> tl_cancellation_cause {
    match cause {
        CancellationCause::Unneeded => tl_cancellation_cause::Unneeded,
        CancellationCause::ProvisionFailed => tl_cancellation_cause::ProvisionFailed,
        CancellationCause::ZoneDown => tl_cancellation_cause::ZoneDown,
        CancellationCause::HostRemoved => tl_cancellation_cause::HostRemoved,
        CancellationCause::HostFailed => tl_cancellation_cause::HostFailed,
        // The core's enum is non-exhaustive: a newer cause is `Other`.
        _ => tl_cancellation_cause::Other,
    }
}

/// The decisions behind a C pointer.
///
/// # Safety
/// `d` is NULL or a live `tl_decisions` from this library, not mutated
/// for `'a`.
pub(crate) unsafe fn decisions<'a>(d: *const tl_decisions) -> Result<&'a Decisions, Failure> {
    // SAFETY: per the contract.
    unsafe { d.as_ref() }
        .map(|d| &d.inner)
        .ok_or_else(|| Failure::null("decisions"))
}

/// Reads record `i` of a list into `out`.
fn get<T, R>(
    d: *const tl_decisions,
    i: usize,
    out: *mut R,
    error_out: *mut *mut tl_error,
    list: impl FnOnce(&Decisions) -> &[T],
    convert: impl FnOnce(&T) -> R,
) -> tl_status {
    run(error_out, || {
        // SAFETY: `d` is NULL or a live `tl_decisions` (the C contract).
        let d = unsafe { decisions(d) }?;
        let out = out_arg(out, "out")?;
        let items = list(d);
        let item = items.get(i).ok_or_else(|| out_of_range(i, items.len()))?;
        // SAFETY: `out` is checked and valid per the contract.
        unsafe { write(out, convert(item)) };
        Ok(())
    })
}

fn out_of_range(i: usize, len: usize) -> Failure {
    Failure::new(
        tl_status::IndexOutOfRange,
        format!("index {i} is past the end of a list of {len}"),
    )
}

/// The length of a list; 0 when `d` is NULL.
fn len(d: *const tl_decisions, list: impl FnOnce(&Decisions) -> usize) -> usize {
    // SAFETY: `d` is NULL or a live `tl_decisions` (the C contract).
    unsafe { d.as_ref() }.map_or(0, |d| list(&d.inner))
}

/// Frees decisions (and every view borrowed from them).
/// `tl_decisions_free(NULL)` does nothing.
#[unsafe(no_mangle)]
pub extern "C" fn tl_decisions_free(decisions: *mut tl_decisions) {
    ffi_panic_boundary! {
        if !decisions.is_null() {
            // SAFETY: a non-NULL pointer came from this library and is freed
            // once, by this call.
            drop(unsafe { Box::from_raw(decisions) });
        }
    }
}

/// Whether the call decided nothing (true when `decisions` is NULL).
#[unsafe(no_mangle)]
pub extern "C" fn tl_decisions_is_empty(decisions: *const tl_decisions) -> bool {
    ffi_panic_boundary! {
        // SAFETY: NULL or a live `tl_decisions` (the C contract).
        unsafe { decisions.as_ref() }.is_none_or(|d| d.inner.is_empty())
    }
}

/// The decisions as one JSON document, in the documented schema
/// (`core/schema/decisions.schema.json`). On success `*json_out` is a new
/// buffer owned by the caller.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_decisions_to_json(
    decisions: *const tl_decisions,
    json_out: *mut *mut tl_buffer,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live `tl_decisions` (the C contract).
            let d = unsafe { self::decisions(decisions) }?;
            let out = out_arg(json_out, "json_out")?;
            write_json(d, out)
        })
    }
}

/// The decisions as text for people: the core's own rendering, one line
/// per item grouped under headings ("nothing decided" when empty), each
/// reason as the core states it. UTF-8, not NUL-terminated. On success
/// `*text_out` is a new buffer owned by the caller.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_decisions_to_text(
    decisions: *const tl_decisions,
    text_out: *mut *mut tl_buffer,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live `tl_decisions` (the C contract).
            let d = unsafe { self::decisions(decisions) }?;
            let out = out_arg(text_out, "text_out")?;
            let text = d.to_string().into_bytes();
            // SAFETY: `out` is checked.
            unsafe { write(out, tl_buffer::into_raw(text)) };
            Ok(())
        })
    }
}

/// Instances placed on running hosts.
#[unsafe(no_mangle)]
pub extern "C" fn tl_decisions_placements_len(decisions: *const tl_decisions) -> usize {
    ffi_panic_boundary! { len(decisions, |d| d.placements.len()) }
}

/// Placement `i` (below `tl_decisions_placements_len`).
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_decisions_placement(
    decisions: *const tl_decisions,
    i: usize,
    out: *mut tl_placement,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! { get(decisions, i, out, error_out, |d| &d.placements, placement) }
}

/// Instances placed tentatively on planned hosts.
#[unsafe(no_mangle)]
pub extern "C" fn tl_decisions_tentative_len(decisions: *const tl_decisions) -> usize {
    ffi_panic_boundary! { len(decisions, |d| d.tentative.len()) }
}

/// Tentative placement `i`.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_decisions_tentative(
    decisions: *const tl_decisions,
    i: usize,
    out: *mut tl_placement,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! { get(decisions, i, out, error_out, |d| &d.tentative, placement) }
}

/// New hosts to provision.
#[unsafe(no_mangle)]
pub extern "C" fn tl_decisions_provisions_len(decisions: *const tl_decisions) -> usize {
    ffi_panic_boundary! { len(decisions, |d| d.provisions.len()) }
}

/// Provision request `i`.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_decisions_provision(
    decisions: *const tl_decisions,
    i: usize,
    out: *mut tl_provision,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        get(decisions, i, out, error_out, |d| &d.provisions, |p| tl_provision {
            id: p.id.0,
            zone: tl_str::of(p.zone.as_str()),
            sku: tl_str::of(p.sku.as_str()),
            count: p.count,
            substitutes_for: p
                .substitutes_for
                .as_ref()
                .map_or(tl_str::EMPTY, |s| tl_str::of(s.as_str())),
            tier: p.tier,
            app: p.app.as_ref().map_or(tl_str::EMPTY, |a| tl_str::of(a.as_str())),
            instances: p.instances,
            substituted: p.substitution.is_some(),
            reason: provision_reason(p.reason),
        })
    }
}

/// The id of planned host `j` (below the provision's `count`) of provision
/// request `i`: name it in `tl_scheduler_host_ready`.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_decisions_provision_host(
    decisions: *const tl_decisions,
    i: usize,
    j: usize,
    out: *mut u64,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live `tl_decisions` (the C contract).
            let d = unsafe { self::decisions(decisions) }?;
            let out = out_arg(out, "out")?;
            let p = d.provisions.get(i).ok_or_else(|| out_of_range(i, d.provisions.len()))?;
            let host = p.hosts.get(j).ok_or_else(|| out_of_range(j, p.hosts.len()))?;
            // SAFETY: `out` is checked.
            unsafe { write(out, host.0) };
            Ok(())
        })
    }
}

/// Copies the substitution note of record `i` of a list (a
/// `tl_note_list`: placements, tentative placements or provisions) as text
/// into `buf`, with a terminating NUL: why the app is served on this SKU
/// rather than its preferred one. Pass `buf` NULL and `len` 0 to learn the
/// length needed. A record that is no substitution is `TL_STATUS_CONFLICT`.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_decisions_substitution_note(
    decisions: *const tl_decisions,
    list: u32,
    i: usize,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live `tl_decisions` (the C contract).
            let d = unsafe { self::decisions(decisions) }?;
            let list = crate::args::enum_arg(
                list,
                &[
                    (tl_note_list::Placements as u32, tl_note_list::Placements),
                    (tl_note_list::Tentative as u32, tl_note_list::Tentative),
                    (tl_note_list::Provisions as u32, tl_note_list::Provisions),
                ],
                "list",
            )?;
            let note: Option<&SubstitutionNote> = match list {
                tl_note_list::Placements => d
                    .placements
                    .get(i)
                    .ok_or_else(|| out_of_range(i, d.placements.len()))?
                    .substitution
                    .as_deref(),
                tl_note_list::Tentative => d
                    .tentative
                    .get(i)
                    .ok_or_else(|| out_of_range(i, d.tentative.len()))?
                    .substitution
                    .as_deref(),
                tl_note_list::Provisions => d
                    .provisions
                    .get(i)
                    .ok_or_else(|| out_of_range(i, d.provisions.len()))?
                    .substitution
                    .as_deref(),
            };
            let note = note.ok_or_else(|| {
                Failure::new(tl_status::Conflict, format!("record {i} is not a substitution"))
            })?;
            // SAFETY: the caller's buffer contract, checked by `copy_text`.
            unsafe { copy_text(&note.to_string(), buf, len, out_len) }
        })
    }
}

/// Instances taken off their hosts.
#[unsafe(no_mangle)]
pub extern "C" fn tl_decisions_evictions_len(decisions: *const tl_decisions) -> usize {
    ffi_panic_boundary! { len(decisions, |d| d.evictions.len()) }
}

/// Eviction `i`.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_decisions_eviction(
    decisions: *const tl_decisions,
    i: usize,
    out: *mut tl_eviction,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        get(decisions, i, out, error_out, |d| &d.evictions, |e| {
            let (cause, by) = eviction_cause(&e.cause);
            tl_eviction {
                instance: e.instance.0,
                app: tl_str::of(e.app.as_str()),
                host: e.host.0,
                cause: cause as u32,
                preempted_by: by,
            }
        })
    }
}

/// Instances that could not be placed and stay pending.
#[unsafe(no_mangle)]
pub extern "C" fn tl_decisions_pending_len(decisions: *const tl_decisions) -> usize {
    ffi_panic_boundary! { len(decisions, |d| d.pending.len()) }
}

/// Pending instance `i`.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_decisions_pending(
    decisions: *const tl_decisions,
    i: usize,
    out: *mut tl_pending,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        get(decisions, i, out, error_out, |d| &d.pending, |p| {
            let (reason, hosts) = pending_reason(&p.reason);
            tl_pending {
                instance: p.instance.0,
                app: tl_str::of(p.app.as_str()),
                reason: reason as u32,
                hosts,
            }
        })
    }
}

/// Copies pending instance `i`'s explanation as text (for example
/// `"0/2 hosts fit: cpu: 2 hosts"`) into `buf`, with a terminating NUL.
/// Pass `buf` NULL and `len` 0 to learn the length needed.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_decisions_pending_reason(
    decisions: *const tl_decisions,
    i: usize,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live `tl_decisions` (the C contract).
            let d = unsafe { self::decisions(decisions) }?;
            let p = d.pending.get(i).ok_or_else(|| out_of_range(i, d.pending.len()))?;
            // SAFETY: the caller's buffer contract, checked by `copy_text`.
            unsafe { copy_text(&p.reason.to_string(), buf, len, out_len) }
        })
    }
}

/// Instances deleted.
#[unsafe(no_mangle)]
pub extern "C" fn tl_decisions_removals_len(decisions: *const tl_decisions) -> usize {
    ffi_panic_boundary! { len(decisions, |d| d.removals.len()) }
}

/// Removal `i`.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_decisions_removal(
    decisions: *const tl_decisions,
    i: usize,
    out: *mut tl_removal,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        get(decisions, i, out, error_out, |d| &d.removals, |r| tl_removal {
            instance: r.instance.0,
            app: tl_str::of(r.app.as_str()),
            has_host: r.host.is_some(),
            host: r.host.map_or(0, |h| h.0),
        })
    }
}

/// What could be neither placed nor provisioned, per app and zone.
#[unsafe(no_mangle)]
pub extern "C" fn tl_decisions_shortfalls_len(decisions: *const tl_decisions) -> usize {
    ffi_panic_boundary! { len(decisions, |d| d.shortfalls.len()) }
}

/// Shortfall `i`.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_decisions_shortfall(
    decisions: *const tl_decisions,
    i: usize,
    out: *mut tl_shortfall,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        get(decisions, i, out, error_out, |d| &d.shortfalls, |s| tl_shortfall {
            app: tl_str::of(s.app.as_str()),
            zone: tl_str::of(s.zone.as_str()),
            instances: s.instances,
            resources: s.resources.into(),
        })
    }
}

/// Moves for the embedder to carry out.
#[unsafe(no_mangle)]
pub extern "C" fn tl_decisions_moves_len(decisions: *const tl_decisions) -> usize {
    ffi_panic_boundary! { len(decisions, |d| d.moves.len()) }
}

/// Move `i`.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_decisions_move(
    decisions: *const tl_decisions,
    i: usize,
    out: *mut tl_move,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        get(decisions, i, out, error_out, |d| &d.moves, |m| tl_move {
            app: tl_str::of(m.app.as_str()),
            from: m.from.0,
            from_host: m.from_host.0,
            to: m.to.0,
            to_host: m.to_host.0,
            to_tier: m.to_tier,
            reason: move_reason(m.reason) as u32,
        })
    }
}

/// Apps placed outside their spread policy, which they allow.
#[unsafe(no_mangle)]
pub extern "C" fn tl_decisions_skew_violations_len(decisions: *const tl_decisions) -> usize {
    ffi_panic_boundary! { len(decisions, |d| d.skew_violations.len()) }
}

/// Skew violation `i`.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_decisions_skew_violation(
    decisions: *const tl_decisions,
    i: usize,
    out: *mut tl_skew_violation,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        get(decisions, i, out, error_out, |d| &d.skew_violations, |v| tl_skew_violation {
            app: tl_str::of(v.app.as_str()),
            instances: v.instances,
            skew: v.skew,
            has_max_skew: v.max_skew.is_some(),
            max_skew: v.max_skew.unwrap_or(0),
        })
    }
}

/// Evacuated instances that could not be re-placed, per app.
#[unsafe(no_mangle)]
pub extern "C" fn tl_decisions_unplaced_len(decisions: *const tl_decisions) -> usize {
    ffi_panic_boundary! { len(decisions, |d| d.unplaced.len()) }
}

/// Unplaced record `i`.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_decisions_unplaced(
    decisions: *const tl_decisions,
    i: usize,
    out: *mut tl_unplaced,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        get(decisions, i, out, error_out, |d| &d.unplaced, |u| tl_unplaced {
            app: tl_str::of(u.app.as_str()),
            instances: u.instances,
            resources: u.resources.into(),
        })
    }
}

/// Planned hosts of earlier provisions that are dropped.
#[unsafe(no_mangle)]
pub extern "C" fn tl_decisions_cancellations_len(decisions: *const tl_decisions) -> usize {
    ffi_panic_boundary! { len(decisions, |d| d.cancellations.len()) }
}

/// Cancellation `i`.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_decisions_cancellation(
    decisions: *const tl_decisions,
    i: usize,
    out: *mut tl_cancellation,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        get(decisions, i, out, error_out, |d| &d.cancellations, |c| tl_cancellation {
            provision: c.provision.0,
            zone: tl_str::of(c.zone.as_str()),
            sku: tl_str::of(c.sku.as_str()),
            host_count: c.hosts.len(),
            cause: cancellation_cause(c.cause) as u32,
        })
    }
}

/// The id of cancelled planned host `j` of cancellation `i`.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_decisions_cancellation_host(
    decisions: *const tl_decisions,
    i: usize,
    j: usize,
    out: *mut u64,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live `tl_decisions` (the C contract).
            let d = unsafe { self::decisions(decisions) }?;
            let out = out_arg(out, "out")?;
            let c = d
                .cancellations
                .get(i)
                .ok_or_else(|| out_of_range(i, d.cancellations.len()))?;
            let host = c.hosts.get(j).ok_or_else(|| out_of_range(j, c.hosts.len()))?;
            // SAFETY: `out` is checked.
            unsafe { write(out, host.0) };
            Ok(())
        })
    }
}
