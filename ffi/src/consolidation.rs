//! Consolidation: plan which hosts to empty and the ordered moves that
//! empty them, then carry the plan out through moves
//! (`tl_scheduler_complete_move` / `tl_scheduler_abort_move`) within each
//! app's disruption budget. Options, plans and steps cross as JSON in the
//! core's serde shapes (`ConsolidationOptions`, `ConsolidationPlan`,
//! `ConsolidationStep`).

use std::ffi::c_char;

use trimline::Timestamp;
use trimline::repack::{ConsolidationOptions, ConsolidationPlan};

use crate::args::{bytes_arg, out_arg, parse_json, write_json};
use crate::buffer::tl_buffer;
use crate::error::{Failure, run, tl_error, tl_status};
use crate::panic::ffi_panic_boundary;
use crate::scheduler::{mode_arg, sched, sched_mut, tl_mode, tl_scheduler};

/// Reads an optional JSON argument: NULL with length 0 is the default.
///
/// # Safety
/// `ptr` is NULL or valid for reads of `len` bytes.
unsafe fn json_arg<T: serde::de::DeserializeOwned + Default>(
    ptr: *const c_char,
    len: usize,
    arg: &str,
    what: &str,
) -> Result<T, Failure> {
    if ptr.is_null() && len == 0 {
        return Ok(T::default());
    }
    // SAFETY: per the contract.
    let bytes = unsafe { bytes_arg(ptr.cast(), len, arg) }?;
    parse_json::<T>(bytes, what)
}

/// Plans which hosts to empty and the ordered moves that empty them (a
/// query: nothing changes). `options_json` is a JSON object with the
/// optional fields `max_hosts` and `max_moves` (integers or null) and
/// `replace` (an object with the optional `skus`, a list of SKU ids, and
/// `max_new_hosts`, an integer or null: also replace hosts with fewer or
/// cheaper new ones), or NULL with `options_len` 0 for no limits.
/// `*plan_out` receives the plan as JSON (`core/schema/consolidation-plan.schema.json`):
/// `moves` (each `instance`, `app`, `from`, `to`, `numa_node`, `frees`, in
/// the order to start them), `freed`, `hosts_freed`, `instances_moved`,
/// `hosts_before`, `hosts_after`, `cost_saved_nanos_per_second`,
/// `cost_before_nanos_per_second`, `cost_after_nanos_per_second`,
/// `provisions` (new hosts: `host`, the planned id moves' `to` name,
/// `sku`, `zone`, `price_nanos_per_second`, `replaces`), `replacement`
/// (with `replace`: `candidates`, `skus_considered` and `ruled_out`, each
/// `sku` and `reason`) and `options`.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_plan_consolidation(
    scheduler: *const tl_scheduler,
    options_json: *const c_char,
    options_len: usize,
    plan_out: *mut *mut tl_buffer,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle (the C contract).
            let s = unsafe { sched(scheduler) }?;
            let out = out_arg(plan_out, "plan_out")?;
            // SAFETY: valid for `options_len` bytes (the C contract).
            let options: ConsolidationOptions = unsafe {
                json_arg(options_json, options_len, "options_json", "consolidation options")
            }?;
            write_json(&s.plan_consolidation(&options), out)
        })
    }
}

/// Starts the moves of a consolidation plan that can start now, in plan
/// order, each within its app's disruption budget. `plan_json` is a plan
/// as `tl_scheduler_plan_consolidation` wrote it (or a `replan` from an
/// earlier step). A new host of the plan is planned when its first move
/// starts (a provision in the step's `decisions`, the replacement placed
/// on it tentatively): report it with `tl_scheduler_host_ready`, then
/// complete its moves. In `mode` (a `tl_mode`). `*step_out` receives the step
/// as JSON: `decisions` (the moves started, with their replacements in
/// `placements`, in the shape `core/schema/decisions.schema.json`),
/// `in_flight`, `done`, `waiting`, `stale` (instances whose move can no
/// longer be carried out; nothing of their host's group started) and
/// `replan` (a fresh plan when a move was stale, else null). Call it
/// again after completing or aborting moves until `in_flight`, `waiting`
/// and `stale` are all empty.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_start_consolidation(
    scheduler: *mut tl_scheduler,
    plan_json: *const c_char,
    plan_len: usize,
    now: u64,
    mode: u32,
    step_out: *mut *mut tl_buffer,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle used by this thread alone (the
            // C contract).
            let s = unsafe { sched_mut(scheduler) }?;
            let mode = mode_arg(mode)?;
            let out = out_arg(step_out, "step_out")?;
            // SAFETY: valid for `plan_len` bytes (the C contract).
            let bytes = unsafe { bytes_arg(plan_json.cast(), plan_len, "plan_json") }?;
            let plan = parse_json::<ConsolidationPlan>(bytes, "consolidation plan")?;
            let start = |s: &mut trimline::Scheduler| s.start_consolidation(&plan, Timestamp(now));
            let step = match mode {
                tl_mode::Commit => s.apply(start)?,
                tl_mode::DryRun => s.dry_run(start)?,
            };
            write_json(&step, out)
        })
    }
}
