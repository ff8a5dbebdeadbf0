//! The meter's history of closed periods and its usage export: a kept
//! period's report as a `tl_report`, the whole history as JSON, and the
//! usage of an interval of the open period as JSON records.

use std::ffi::c_char;

use trimline::Timestamp;
use trimline::metering::{PeriodId, UsageGroupBy};

use crate::args::{bytes_arg, out_arg, parse_json, write, write_json};
use crate::buffer::tl_buffer;
use crate::error::{Failure, run, tl_error, tl_status};
use crate::meter::{meter, tl_meter, tl_report};
use crate::panic::ffi_panic_boundary;

/// The report of closed period `period`, as `tl_meter_close_period`
/// returned it: on success `*report_out` is a copy owned by the caller
/// (free it with `tl_report_free`). The meter keeps the reports of its
/// last `history_periods` closed periods (a `MeterConfig` field, default
/// 12; the oldest is dropped first); a period it does not keep (dropped,
/// not closed yet, or the open one) is `TL_STATUS_UNKNOWN_ID`. A late
/// correction never changes a kept report: it is an adjustment line of
/// the report of the period open when it arrived.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_meter_closed_report(
    meter: *const tl_meter,
    period: u64,
    report_out: *mut *mut tl_report,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle (the C contract).
            let m = unsafe { self::meter(meter) }?;
            let out = out_arg(report_out, "report_out")?;
            let report = m.closed_report(PeriodId(period)).ok_or_else(|| {
                let first = m.history().next().map(|r| r.period.id.0);
                let last = m.history().next_back().map(|r| r.period.id.0);
                Failure::new(
                    tl_status::UnknownId,
                    match (first, last) {
                        (Some(a), Some(b)) => format!(
                            "period {period} is not in the meter's history (periods {a} to {b})"
                        ),
                        _ => format!("period {period} is not in the meter's history (empty)"),
                    },
                )
            })?;
            let report = Box::new(tl_report { inner: report.clone() });
            // SAFETY: `out` is checked.
            unsafe { write(out, Box::into_raw(report)) };
            Ok(())
        })
    }
}

/// The meter's history as JSON: an array of the reports it keeps, oldest
/// first, each in the schema `core/schema/period-report.schema.json`.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_meter_history_json(
    meter: *const tl_meter,
    json_out: *mut *mut tl_buffer,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle (the C contract).
            let m = unsafe { self::meter(meter) }?;
            let out = out_arg(json_out, "json_out")?;
            let history: Vec<_> = m.history().collect();
            write_json(&history, out)
        })
    }
}

/// The usage of `[from, to)`, an interval of the open period, without
/// closing or pricing it, as JSON (the schema
/// `core/schema/meter-usage.schema.json`): an array of records `{tenant,
/// app, instance, sku, zone, component, quantity, top_up, from, to}`, one
/// per group and component with usage, quantities exact integers in the
/// component's unit (millicore-ms, MiB-ms, accelerator-ms), sorted by
/// tenant, app, source, instance, SKU, zone (absent first), then
/// component. `group_by_json` is a JSON object of flags, `{"tenant": true,
/// "app": true, "source": true, "instance": true, "sku": true, "zone":
/// true}` (a flag omitted is
/// false: summed over; the record's field is then null), or NULL (with
/// `group_by_len` 0) for every key. The quantities are those the period's
/// close bills over the interval, top-ups of runs that stop in it
/// included. An interval not within the open period, or empty, is
/// `TL_STATUS_INVALID_INPUT`.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_meter_usage_json(
    meter: *const tl_meter,
    from: u64,
    to: u64,
    group_by_json: *const c_char,
    group_by_len: usize,
    json_out: *mut *mut tl_buffer,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle (the C contract).
            let m = unsafe { self::meter(meter) }?;
            let out = out_arg(json_out, "json_out")?;
            let group_by = if group_by_json.is_null() && group_by_len == 0 {
                UsageGroupBy::ALL
            } else {
                // SAFETY: valid for `group_by_len` bytes (the C contract).
                let bytes =
                    unsafe { bytes_arg(group_by_json.cast(), group_by_len, "group_by_json") }?;
                parse_json::<UsageGroupBy>(bytes, "usage group_by")?
            };
            let records = m.usage(Timestamp(from), Timestamp(to), group_by)?;
            write_json(&records, out)
        })
    }
}
