//! Warm pools: idle hosts kept per offering (see the core's `warmpool`
//! module). A pool's hosts come back as provisions with reason
//! `TL_PROVISION_REASON_WARM_POOL` and an empty app (`tl_provision.reason`,
//! `"reason": "warm_pool"` and `"app": null` in the JSON form).

use std::ffi::c_char;

use trimline::{SkuId, Timestamp, WarmPoolDraw, ZoneId};

use crate::args::{out_arg, write, write_json};
use crate::buffer::tl_buffer;
use crate::decisions::{decisions, tl_decisions};
use crate::error::{run, tl_error, tl_status};
use crate::panic::ffi_panic_boundary;
use crate::scheduler::{decide, id_arg, sched, tl_scheduler};

/// How a call's decisions draw the warm pools down.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug, Default)]
pub struct tl_warm_pool_draw {
    /// Idle pool hosts the call places instances on.
    pub hosts_used: u32,
    /// Instances placed on them.
    pub instances: u32,
    /// Hosts the call orders for the pools.
    pub refill_hosts: u32,
}

impl From<WarmPoolDraw> for tl_warm_pool_draw {
    fn from(d: WarmPoolDraw) -> Self {
        tl_warm_pool_draw {
            hosts_used: d.hosts_used,
            instances: d.instances,
            refill_hosts: d.refill_hosts,
        }
    }
}

/// Keeps `target` idle hosts of `sku` in `zone` (0 removes the pool); the
/// offering must be declared with `tl_scheduler_set_stock`. The decisions
/// order what the pool lacks (provisions with reason
/// `TL_PROVISION_REASON_WARM_POOL`) or cancel idle planned hosts beyond a
/// lowered target. `mode` is a `tl_mode`.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_set_warm_pool(
    scheduler: *mut tl_scheduler,
    sku: *const c_char,
    sku_len: usize,
    zone: *const c_char,
    zone_len: usize,
    target: u32,
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
            Ok(move |s: &mut trimline::Scheduler| {
                s.set_warm_pool(&sku, &zone, target, Timestamp(now))
            })
        }))
    }
}

/// Every warm pool, as a JSON array of objects with `sku`, `zone`,
/// `target`, `idle_ready` and `idle_planned`, in declaration order. On
/// success `*json_out` is a new buffer owned by the caller.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_warm_pools(
    scheduler: *const tl_scheduler,
    json_out: *mut *mut tl_buffer,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle (the C contract).
            let s = unsafe { sched(scheduler) }?;
            let out = out_arg(json_out, "json_out")?;
            write_json(&s.warm_pools(), out)
        })
    }
}

/// How `decisions_in`, made by a call from the scheduler's current state,
/// draw the warm pools down: use it on a dry run's decisions, before the
/// committed call. `*draw_out` is written on success.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_warm_pool_draw(
    scheduler: *const tl_scheduler,
    decisions_in: *const tl_decisions,
    draw_out: *mut tl_warm_pool_draw,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle (the C contract).
            let s = unsafe { sched(scheduler) }?;
            // SAFETY: NULL or a live `tl_decisions` (the C contract).
            let d = unsafe { decisions(decisions_in) }?;
            let out = out_arg(draw_out, "draw_out")?;
            let draw = tl_warm_pool_draw::from(s.warm_pool_draw(d));
            // SAFETY: `out` is checked.
            unsafe { write(out, draw) };
            Ok(())
        })
    }
}
