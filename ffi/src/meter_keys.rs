//! Meters shared by several schedulers or regions: each one's events are
//! ingested under its own source, so instance ids and event ids may repeat
//! across sources.

use std::ffi::c_char;

use trimline::metering::decision_events;
use trimline::{InstanceId, SourceId, Timestamp};

use crate::args::{out_arg, str_arg, write, write_json};
use crate::buffer::tl_buffer;
use crate::decisions::tl_decisions;
use crate::error::{Failure, run, tl_error, tl_status};
use crate::meter::{ingest, meter, meter_mut, tl_meter};
use crate::panic::ffi_panic_boundary;
use crate::scheduler::{sched, tl_scheduler};

/// The source named by `len` bytes at `ptr`; NULL with `len` 0 is the
/// default source.
///
/// # Safety
/// `ptr` is NULL or valid for reads of `len` bytes.
unsafe fn source_arg(ptr: *const c_char, len: usize) -> Result<Option<SourceId>, Failure> {
    if ptr.is_null() && len == 0 {
        return Ok(None);
    }
    // SAFETY: per the contract.
    let name = unsafe { str_arg(ptr, len, "source") }?;
    Ok(Some(SourceId::new(name)?))
}

/// Ingests the starts and stops a scheduler call decided, as events of
/// `source` (the scheduler's or region's name, `source_len` bytes; NULL
/// with length 0 is the default source, as `tl_meter_ingest_decisions`).
/// Several schedulers that each count instances from 1 may so share one
/// meter: their instances, runs and event ids are kept apart and their
/// invoice lines name the source. Otherwise as
/// `tl_meter_ingest_decisions`.
#[unsafe(no_mangle)]
#[must_use]
#[allow(clippy::too_many_arguments)] // the C signature
pub extern "C" fn tl_meter_ingest_decisions_from(
    meter: *mut tl_meter,
    source: *const c_char,
    source_len: usize,
    scheduler: *const tl_scheduler,
    decisions: *const tl_decisions,
    now: u64,
    ingested_out: *mut usize,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle used by this thread alone.
            let m = unsafe { meter_mut(meter) }?;
            // SAFETY: NULL or valid for `source_len` bytes (the C contract).
            let source = unsafe { source_arg(source, source_len) }?;
            // SAFETY: NULL or a live handle (the C contract).
            let s = unsafe { sched(scheduler) }?;
            // SAFETY: NULL or a live `tl_decisions` (the C contract).
            let d = unsafe { decisions.as_ref() }.ok_or_else(|| Failure::null("decisions"))?;
            let out = out_arg(ingested_out, "ingested_out")?;
            let mut events = decision_events(&d.inner, s, Timestamp(now))?;
            for e in &mut events {
                e.source.clone_from(&source);
            }
            let n = ingest(m, &events, now)?;
            // SAFETY: `out` is checked.
            unsafe { write(out, n) };
            Ok(())
        })
    }
}

/// Whether `instance` of `source` (NULL with length 0: the default source)
/// is running after every event ingested: `*running_out` is written on
/// success.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_meter_is_running(
    meter: *const tl_meter,
    source: *const c_char,
    source_len: usize,
    instance: u64,
    running_out: *mut bool,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle (the C contract).
            let m = unsafe { self::meter(meter) }?;
            // SAFETY: NULL or valid for `source_len` bytes (the C contract).
            let source = unsafe { source_arg(source, source_len) }?;
            let out = out_arg(running_out, "running_out")?;
            let running = m.is_running_from(source.as_ref(), InstanceId(instance));
            // SAFETY: `out` is checked.
            unsafe { write(out, running) };
            Ok(())
        })
    }
}

/// The sources other than the default that the meter's events named, as a
/// JSON array of names in byte order (`[]` when every event came from the
/// default source). The buffer is the caller's: free it with
/// `tl_buffer_free`.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_meter_sources(
    meter: *const tl_meter,
    json_out: *mut *mut tl_buffer,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle (the C contract).
            let m = unsafe { self::meter(meter) }?;
            let out = out_arg(json_out, "json_out")?;
            write_json(&m.sources(), out)
        })
    }
}
