//! The meter handle: price tables, events in batches, closing periods,
//! invoices with their lines, snapshot and restore.
//!
//! Money is exact integer nano-units (`int64_t` in the typed records; an
//! amount beyond it is `TL_STATUS_VALUE_OUT_OF_RANGE`, and the JSON form
//! carries every amount whole).

use std::ffi::c_char;

use trimline::Timestamp;
use trimline::metering::{
    Event, Meter, MeterConfig, MeterSnapshot, PeriodReport, PriceTable, SkuInfo, decision_events,
};

use crate::args::{
    HandleKind, bytes_arg, out_arg, parse_json, register, tl_str, unregister, write, write_json,
};
use crate::buffer::tl_buffer;
use crate::decisions::tl_decisions;
use crate::error::{Failure, run, tl_error, tl_status};
use crate::panic::ffi_panic_boundary;
use crate::scheduler::{sched, tl_scheduler};

/// A meter: lifecycle events in, usage and invoices out. Create it with
/// `tl_meter_new` or `tl_meter_restore`, free it with `tl_meter_free`. The
/// same threading rules as `tl_scheduler` apply.
#[allow(non_camel_case_types)]
pub struct tl_meter {
    inner: Meter,
    /// Set while a mutating call runs; it stays set if that call panicked.
    poisoned: bool,
}

/// What one closed period billed: usage per app, adjustments and one
/// invoice per tenant. Owned by the caller; free it with
/// `tl_report_free`. Views borrowed from it live until it is freed.
#[allow(non_camel_case_types)]
pub struct tl_report {
    pub(crate) inner: PeriodReport,
}

/// One tenant's invoice for a period; its lines are read with
/// `tl_report_invoice_line`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct tl_invoice {
    /// The tenant.
    pub tenant: tl_str,
    /// The period's number.
    pub period: u64,
    /// How many lines.
    pub line_count: usize,
    /// The total, rounded once by the invoice rule, in nano-units; the sum
    /// of the lines' amounts.
    pub total_nanos: i64,
}

/// One line of an invoice.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct tl_invoice_line {
    /// The app.
    pub app: tl_str,
    /// The component's name: `cpu`, `idle_cpu`, `memory`, `idle_memory`,
    /// `accelerators`, `idle_accelerators` or `standby_memory` (a static
    /// string).
    pub component: tl_str,
    /// The price table version that prices it.
    pub price_version: u64,
    /// Whether it corrects a closed period (then `corrects` is its number).
    pub is_adjustment: bool,
    /// The corrected period, when `is_adjustment`.
    pub corrects: u64,
    /// The quantity in the component's unit (millicore-ms, MiB-ms,
    /// accelerator-ms); negative for a credit.
    pub quantity: i64,
    /// The rate, in nano-units per unit (vCPU, GiB or accelerator) and per
    /// `rate_per_seconds` seconds, as the price table quotes it.
    pub rate_nanos: i64,
    /// The time unit of the rate, in seconds: 1, 60 or 3,600 (the table's
    /// `rates_per`: second, minute or hour).
    pub rate_per_seconds: u32,
    /// The line's share of the rounded total, in nano-units.
    pub amount_nanos: i64,
    /// The delivered SKU the line prices, when its price table has
    /// `sku_rates` (each delivered SKU is then billed on lines of its own);
    /// empty otherwise.
    pub sku: tl_str,
    /// Whether a volume tier of the price table prices the line (then
    /// `tier` is its index in the table's `tiers`); false below the first
    /// tier and without tiers.
    pub has_tier: bool,
    /// The index of the tier, when `has_tier`; 0 otherwise.
    pub tier: u32,
    /// Whether the line is usage within the table's free quota for its
    /// component, at rate 0.
    pub free_quota: bool,
}

fn poisoned() -> Failure {
    Failure::new(
        tl_status::Poisoned,
        "the meter was poisoned by a panic in an earlier call; free it",
    )
}

/// # Safety
/// `m` is NULL or a live `tl_meter` used by this thread alone for `'a`.
pub(crate) unsafe fn meter_mut<'a>(m: *mut tl_meter) -> Result<&'a mut tl_meter, Failure> {
    // SAFETY: per the contract.
    let m = unsafe { m.as_mut() }.ok_or_else(|| Failure::null("meter"))?;
    if m.poisoned {
        return Err(poisoned());
    }
    Ok(m)
}

/// # Safety
/// `m` is NULL or a live `tl_meter` not mutated for `'a`.
pub(crate) unsafe fn meter<'a>(m: *const tl_meter) -> Result<&'a Meter, Failure> {
    // SAFETY: per the contract.
    let m = unsafe { m.as_ref() }.ok_or_else(|| Failure::null("meter"))?;
    if m.poisoned {
        return Err(poisoned());
    }
    Ok(&m.inner)
}

impl tl_meter {
    fn into_raw(inner: Meter) -> *mut tl_meter {
        let raw = Box::into_raw(Box::new(tl_meter {
            inner,
            poisoned: false,
        }));
        register(raw, HandleKind::Meter);
        raw
    }

    fn apply<T>(&mut self, f: impl FnOnce(&mut Meter) -> T) -> T {
        self.poisoned = true;
        let result = f(&mut self.inner);
        self.poisoned = false;
        result
    }
}

fn i64_of(value: i128, what: &str) -> Result<i64, Failure> {
    i64::try_from(value).map_err(|_| {
        Failure::new(
            tl_status::ValueOutOfRange,
            format!("{what} = {value} does not fit int64_t; read it from tl_report_to_json"),
        )
    })
}

/// Creates a meter from a configuration: a JSON document in the schema of
/// the core's `MeterConfig` (origin, allowed_lateness_ms,
/// max_clock_skew_ms, adjustment_window_ms, invoice, history_periods),
/// or `config_json` NULL (with `config_len` 0) for the defaults.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_meter_new(
    config_json: *const c_char,
    config_len: usize,
    meter_out: *mut *mut tl_meter,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            let out = out_arg(meter_out, "meter_out")?;
            let config = if config_json.is_null() && config_len == 0 {
                MeterConfig::default()
            } else {
                // SAFETY: valid for `config_len` bytes (the C contract).
                let bytes = unsafe { bytes_arg(config_json.cast(), config_len, "config_json") }?;
                parse_json::<MeterConfig>(bytes, "meter config")?
            };
            let meter = Meter::new(config)?;
            // SAFETY: `out` is checked.
            unsafe { write(out, tl_meter::into_raw(meter)) };
            Ok(())
        })
    }
}

/// Frees a meter. `tl_meter_free(NULL)` does nothing and returns
/// `TL_STATUS_OK`; a second free of the same handle is detected and returns
/// `TL_STATUS_INVALID_HANDLE` (as for `tl_scheduler_free`), and so is a
/// pointer that is not a live meter (a scheduler, say), left as it was.
#[unsafe(no_mangle)]
pub extern "C" fn tl_meter_free(meter: *mut tl_meter) -> tl_status {
    ffi_panic_boundary! {
        if meter.is_null() {
            tl_status::Ok
        } else if unregister(meter, HandleKind::Meter) {
            // SAFETY: a live, registered handle, freed once.
            drop(unsafe { Box::from_raw(meter) });
            tl_status::Ok
        } else {
            tl_status::InvalidHandle
        }
    }
}

/// Adds a price table from a JSON document in the schema of the core's
/// `PriceTable` (version, effective, cpu_nanos_per_vcpu_second,
/// idle_cpu_nanos_per_vcpu_second, memory_nanos_per_gib_second,
/// accelerator_nanos_per_second and, optional,
/// idle_memory_nanos_per_gib_second, idle_accelerator_nanos_per_second,
/// standby_memory_nanos_per_gib_second (memory of standby instances, which
/// pay no CPU and whose accelerators are billed as idle; without it, the
/// memory rate on the memory line), minimum_run_seconds, sub_second,
/// rates_per, billing_increment_seconds and plans). With `"rates_per": "hour"`
/// (or `"minute"`) the rates are read per vCPU-hour, GiB-hour and
/// accelerator-hour, exactly as a price book publishes them. `plans` lists
/// per-tenant discounts, `{"tenant", "app" (optional),
/// "discount_basis_points"}`: a line is priced by the plan naming its
/// tenant and app, else the one naming its tenant alone, else at list
/// prices; a discounted rate that is not a whole nano-unit is refused.
/// `sku_rates` lists rates by what was delivered, `{"sku", "family",
/// "accelerator_model", "arch", "zone"` (each optional, at least one),
/// then the rates as above`}`, for the SKUs the selector matches
/// (described with `tl_meter_describe_skus_json`); the most specific
/// matching selector wins, comparing sku, family, accelerator_model, arch,
/// zone in that order.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_meter_add_price_table_json(
    meter: *mut tl_meter,
    json: *const c_char,
    json_len: usize,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle used by this thread alone.
            let m = unsafe { meter_mut(meter) }?;
            // SAFETY: valid for `json_len` bytes (the C contract).
            let bytes = unsafe { bytes_arg(json.cast(), json_len, "json") }?;
            let table = parse_json::<PriceTable>(bytes, "price table")?;
            Ok(m.apply(|m| m.add_price_table(table))?)
        })
    }
}

/// Ingests events in order; a batch stops at the first event refused.
pub(crate) fn ingest(m: &mut tl_meter, events: &[Event], now: u64) -> Result<usize, Failure> {
    let batch = m.apply(|m| m.ingest_batch(events, Timestamp(now)));
    match batch.refused {
        None => Ok(batch.results.len()),
        Some((index, e)) => {
            let status = tl_status::of_kind(e.kind());
            Err(Failure::new(
                status,
                format!("event {index} of the batch refused ({index} ingested before it): {e}"),
            ))
        }
    }
}

/// Ingests a JSON array of events in the schema of the core's `Event` (id,
/// tenant, app, instance, at, kind and, optional, `source`: the scheduler
/// or region that emitted it, which keys instances and event ids apart
/// from other sources'; `started` and `resized` kinds may name the `zone`
/// they were delivered in, which zone rates then select on; the kinds are
/// `started`, `stopped`, `idle`, `active`, `resized` and `standby`, the
/// last for an instance created stopped, holding its capacity, after its
/// `started` event) at `now`. On success
/// `*ingested_out` is the number of events: all were ingested. A batch
/// stops at the first event refused: the error names its index; the events
/// before it were ingested, it and those after it were not, and sending the
/// batch again is safe (ingested events are recognised as duplicates).
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_meter_ingest_json(
    meter: *mut tl_meter,
    events_json: *const c_char,
    events_len: usize,
    now: u64,
    ingested_out: *mut usize,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle used by this thread alone.
            let m = unsafe { meter_mut(meter) }?;
            // SAFETY: valid for `events_len` bytes (the C contract).
            let bytes = unsafe { bytes_arg(events_json.cast(), events_len, "events_json") }?;
            let out = out_arg(ingested_out, "ingested_out")?;
            let events = parse_json::<Vec<Event>>(bytes, "events")?;
            let n = ingest(m, &events, now)?;
            // SAFETY: `out` is checked.
            unsafe { write(out, n) };
            Ok(())
        })
    }
}

/// Ingests the starts and stops a scheduler call decided: pass the
/// scheduler right after the call that returned `decisions`, and the same
/// `now`. A new standby instance starts a run in standby; a standby that
/// starts becomes active in the same run. `*ingested_out` receives the number of events. A refusal stops
/// the batch as in `tl_meter_ingest_json`.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_meter_ingest_decisions(
    meter: *mut tl_meter,
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
            // SAFETY: NULL or a live handle (the C contract).
            let s = unsafe { sched(scheduler) }?;
            // SAFETY: NULL or a live `tl_decisions` (the C contract).
            let d = unsafe { decisions.as_ref() }.ok_or_else(|| Failure::null("decisions"))?;
            let out = out_arg(ingested_out, "ingested_out")?;
            let events = decision_events(&d.inner, s, Timestamp(now))?;
            let n = ingest(m, &events, now)?;
            // SAFETY: `out` is checked.
            unsafe { write(out, n) };
            Ok(())
        })
    }
}

/// Closes the open period at `end` (at time `now`): on success
/// `*report_out` is the period's report, owned by the caller.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_meter_close_period(
    meter: *mut tl_meter,
    end: u64,
    now: u64,
    report_out: *mut *mut tl_report,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle used by this thread alone.
            let m = unsafe { meter_mut(meter) }?;
            let out = out_arg(report_out, "report_out")?;
            let report = m.apply(|m| m.close_period(Timestamp(end), Timestamp(now)))?;
            // SAFETY: `out` is checked.
            unsafe { write(out, Box::into_raw(Box::new(tl_report { inner: report }))) };
            Ok(())
        })
    }
}

/// Writes the meter's state to `*snapshot_out` (a new buffer, JSON in the
/// schema `core/schema/meter-snapshot.schema.json`).
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_meter_snapshot(
    meter: *const tl_meter,
    snapshot_out: *mut *mut tl_buffer,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle (the C contract).
            let m = unsafe { self::meter(meter) }?;
            let out = out_arg(snapshot_out, "snapshot_out")?;
            write_json(&m.snapshot(), out)
        })
    }
}

/// Creates a meter from snapshot bytes (as `tl_meter_snapshot` wrote them).
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_meter_restore(
    snapshot: *const u8,
    snapshot_len: usize,
    meter_out: *mut *mut tl_meter,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: valid for `snapshot_len` bytes (the C contract).
            let bytes = unsafe { bytes_arg(snapshot, snapshot_len, "snapshot") }?;
            let out = out_arg(meter_out, "meter_out")?;
            let snapshot = parse_json::<MeterSnapshot>(bytes, "meter snapshot")?;
            let meter = Meter::restore(snapshot)?;
            // SAFETY: `out` is checked.
            unsafe { write(out, tl_meter::into_raw(meter)) };
            Ok(())
        })
    }
}

/// # Safety
/// `r` is NULL or a live `tl_report` for `'a`.
unsafe fn report<'a>(r: *const tl_report) -> Result<&'a PeriodReport, Failure> {
    // SAFETY: per the contract.
    unsafe { r.as_ref() }
        .map(|r| &r.inner)
        .ok_or_else(|| Failure::null("report"))
}

fn out_of_range(i: usize, len: usize) -> Failure {
    Failure::new(
        tl_status::IndexOutOfRange,
        format!("index {i} is past the end of a list of {len}"),
    )
}

/// Frees a report. `tl_report_free(NULL)` does nothing.
#[unsafe(no_mangle)]
pub extern "C" fn tl_report_free(report: *mut tl_report) {
    ffi_panic_boundary! {
        if !report.is_null() {
            // SAFETY: from this library, freed once by this call.
            drop(unsafe { Box::from_raw(report) });
        }
    }
}

/// The report as JSON (the schema `core/schema/period-report.schema.json`),
/// every amount whole.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_report_to_json(
    report: *const tl_report,
    json_out: *mut *mut tl_buffer,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live report (the C contract).
            let r = unsafe { self::report(report) }?;
            let out = out_arg(json_out, "json_out")?;
            write_json(r, out)
        })
    }
}

/// The number of invoices (one per tenant billed); 0 when `report` is NULL.
#[unsafe(no_mangle)]
pub extern "C" fn tl_report_invoices_len(report: *const tl_report) -> usize {
    ffi_panic_boundary! {
        // SAFETY: NULL or a live report (the C contract).
        unsafe { report.as_ref() }.map_or(0, |r| r.inner.invoices.len())
    }
}

/// Invoice `i`.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_report_invoice(
    report: *const tl_report,
    i: usize,
    out: *mut tl_invoice,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live report (the C contract).
            let r = unsafe { self::report(report) }?;
            let out = out_arg(out, "out")?;
            let inv = r.invoices.get(i).ok_or_else(|| out_of_range(i, r.invoices.len()))?;
            let record = tl_invoice {
                tenant: tl_str::of(inv.tenant.as_str()),
                period: inv.period.0,
                line_count: inv.lines.len(),
                total_nanos: i64_of(inv.total_nanos, "total_nanos")?,
            };
            // SAFETY: `out` is checked.
            unsafe { write(out, record) };
            Ok(())
        })
    }
}

/// Line `j` of invoice `i`.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_report_invoice_line(
    report: *const tl_report,
    i: usize,
    j: usize,
    out: *mut tl_invoice_line,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live report (the C contract).
            let r = unsafe { self::report(report) }?;
            let out = out_arg(out, "out")?;
            let inv = r.invoices.get(i).ok_or_else(|| out_of_range(i, r.invoices.len()))?;
            let line = inv.lines.get(j).ok_or_else(|| out_of_range(j, inv.lines.len()))?;
            let record = tl_invoice_line {
                app: tl_str::of(line.app.as_str()),
                component: tl_str::of(line.component.name()),
                price_version: line.price_version,
                is_adjustment: line.corrects.is_some(),
                corrects: line.corrects.map_or(0, |p| p.0),
                quantity: i64_of(line.quantity, "quantity")?,
                rate_nanos: i64_of(line.rate_nanos, "rate_nanos")?,
                rate_per_seconds: line.rate_per.seconds(),
                amount_nanos: i64_of(line.amount_nanos, "amount_nanos")?,
                sku: line.sku.as_ref().map_or(tl_str::EMPTY, |s| tl_str::of(s.as_str())),
                has_tier: line.tier.is_some(),
                tier: line.tier.unwrap_or(0),
                free_quota: line.free_quota,
            };
            // SAFETY: `out` is checked.
            unsafe { write(out, record) };
            Ok(())
        })
    }
}

/// Describes delivered SKUs to the meter: a JSON array in the schema of
/// the core's `SkuInfo` (`sku` and, optional, `family`, `arch`
/// (`"x86_64"` or `"aarch64"`), `accelerator_model`, `zone`), which price
/// tables' `sku_rates` select on. A SKU's description is fixed once given:
/// the same again changes nothing, another is `TL_STATUS_CONFLICT`. The
/// SKUs are described in order; on an error the ones before it are
/// described (describing them again is harmless) and the error names the
/// one refused.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_meter_describe_skus_json(
    meter: *mut tl_meter,
    json: *const c_char,
    json_len: usize,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle used by this thread alone.
            let m = unsafe { meter_mut(meter) }?;
            // SAFETY: valid for `json_len` bytes (the C contract).
            let bytes = unsafe { bytes_arg(json.cast(), json_len, "json") }?;
            let skus = parse_json::<Vec<SkuInfo>>(bytes, "SKU descriptions")?;
            m.apply(|m| {
                for (index, info) in skus.into_iter().enumerate() {
                    m.describe_sku(info).map_err(|e| {
                        Failure::new(
                            tl_status::of_kind(e.kind()),
                            format!("SKU description {index} refused: {e}"),
                        )
                    })?;
                }
                Ok(())
            })
        })
    }
}
