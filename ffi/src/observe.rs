//! Observability: the audit log, the counters, the metrics exposition and
//! promise versus delivery (see the core's `observe` module).
//!
//! Records, counters and deliveries cross as JSON in the schemas
//! `core/schema/audit.schema.json`, `counters.schema.json` and
//! `delivery.schema.json`; the exposition as OpenMetrics text.

use std::ffi::c_char;

use trimline::{AppId, Timestamp};

use crate::args::write_json;
use crate::args::{out_arg, write};
use crate::buffer::tl_buffer;
use crate::error::{run, tl_error, tl_status};
use crate::panic::ffi_panic_boundary;
use crate::scheduler::{id_arg, sched, sched_mut, tl_scheduler};

/// Hands over the audit log's records, oldest first, leaving the log
/// empty. `*batch_out` receives `{format, dropped, records}` as JSON:
/// `dropped` counts the records lost at the log's bound since the
/// scheduler was created or restored, and each record carries its
/// sequence number, the `now` of its call and the decision. A call in
/// `TL_MODE_DRY_RUN` decides on a copy that does not carry the log's
/// records, and appends nothing to it.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_drain_audit(
    scheduler: *mut tl_scheduler,
    batch_out: *mut *mut tl_buffer,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle used by this thread alone.
            let s = unsafe { sched_mut(scheduler) }?;
            let out = out_arg(batch_out, "batch_out")?;
            let batch = s.apply(|s| s.drain_audit());
            write_json(&batch, out)
        })
    }
}

/// Bounds the audit log to `capacity` records (default 65,536). At the
/// bound the oldest record is dropped and counted; records beyond a
/// smaller bound are dropped now. 0 turns the log off (the counters are
/// kept either way).
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_set_audit_capacity(
    scheduler: *mut tl_scheduler,
    capacity: usize,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle used by this thread alone.
            let s = unsafe { sched_mut(scheduler) }?;
            s.apply(|s| s.set_audit_capacity(capacity));
            Ok(())
        })
    }
}

/// The decision totals since the scheduler was created or restored, as
/// JSON in `*counters_out`. Replaying every drained audit record gives the
/// same totals.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_counters(
    scheduler: *const tl_scheduler,
    counters_out: *mut *mut tl_buffer,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle (the C contract).
            let s = unsafe { sched(scheduler) }?;
            let out = out_arg(counters_out, "counters_out")?;
            write_json(s.counters(), out)
        })
    }
}

/// Counts one placement call's latency, measured by the caller, in
/// nanoseconds, in the `trimline_placement_latency_seconds` histogram.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_record_placement_latency(
    scheduler: *mut tl_scheduler,
    nanos: u64,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle used by this thread alone.
            let s = unsafe { sched_mut(scheduler) }?;
            s.apply(|s| s.record_placement_latency(nanos));
            Ok(())
        })
    }
}

/// The metrics as OpenMetrics text exposition (`# HELP`, `# TYPE`, the
/// samples, `# EOF`) in `*text_out`, ready to serve to a scraper.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_metrics_text(
    scheduler: *const tl_scheduler,
    text_out: *mut *mut tl_buffer,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle (the C contract).
            let s = unsafe { sched(scheduler) }?;
            let out = out_arg(text_out, "text_out")?;
            let text = s.metrics_text();
            // SAFETY: `out` was checked with `out_arg`.
            unsafe { write(out, tl_buffer::into_raw(text.into_bytes())) };
            Ok(())
        })
    }
}

/// Promise versus delivery for one app at `now`, as JSON in
/// `*delivery_out`: what it was promised, where its instances run and at
/// what per-vCPU performance, NUMA locality, waits (p50/p99), substitutions
/// in force, skew against its limit. An app not declared is
/// `TL_STATUS_UNKNOWN_ID`.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_delivery(
    scheduler: *const tl_scheduler,
    app: *const c_char,
    app_len: usize,
    now: u64,
    delivery_out: *mut *mut tl_buffer,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle (the C contract).
            let s = unsafe { sched(scheduler) }?;
            // SAFETY: valid for `app_len` bytes (the C contract).
            let app: AppId = unsafe { id_arg(app, app_len, "app") }?;
            let out = out_arg(delivery_out, "delivery_out")?;
            write_json(&s.delivery(&app, Timestamp(now))?, out)
        })
    }
}

/// Promise versus delivery for every app at `now`, in declaration order,
/// as a JSON array in `*deliveries_out`.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_deliveries(
    scheduler: *const tl_scheduler,
    now: u64,
    deliveries_out: *mut *mut tl_buffer,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle (the C contract).
            let s = unsafe { sched(scheduler) }?;
            let out = out_arg(deliveries_out, "deliveries_out")?;
            write_json(&s.deliveries(Timestamp(now)), out)
        })
    }
}
