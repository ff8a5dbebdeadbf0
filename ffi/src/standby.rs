//! Standby instances: pre-created, stopped instances of an app that hold
//! their capacity and start first on a scale-out (see the core's `standby`
//! module). Placements say how they concern a standby in
//! `tl_placement.standby` (a `tl_standby_mark`); the cold-start mix counts
//! started standbys in `tl_cold_start_mix.standby`.

use std::ffi::c_char;

use trimline::{AppId, Scheduler, StandbyMark, Timestamp};

use crate::args::write_json;
use crate::args::{out_arg, str_arg};
use crate::buffer::tl_buffer;
use crate::decisions::tl_decisions;
use crate::error::{run, tl_error, tl_status};
use crate::panic::ffi_panic_boundary;
use crate::scheduler::{app_arg, decide, sched, tl_scheduler};

/// How a placement concerns a standby instance (`tl_placement.standby`).
#[allow(non_camel_case_types)]
#[repr(u32)]
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum tl_standby_mark {
    /// Not a standby: a running instance to create.
    None = 0,
    /// A standby that starts in place: start the stopped instance (nothing
    /// to create or pull).
    Started = 1,
    /// A standby: create the instance and leave it stopped (it holds its
    /// capacity).
    Stopped = 2,
    /// A mark newer than this header; read it from the JSON form.
    Other = 3,
}

/// The C form of a placement's standby mark.
pub(crate) fn mark(m: Option<StandbyMark>) -> u32 {
    let m = match m {
        None => tl_standby_mark::None,
        Some(StandbyMark::Started) => tl_standby_mark::Started,
        Some(StandbyMark::Stopped) => tl_standby_mark::Stopped,
        Some(_) => tl_standby_mark::Other,
    };
    m as u32
}

/// Keeps `count` standby instances of an app: raising the target places
/// new standbys (marked `TL_STANDBY_MARK_STOPPED`), lowering it removes
/// standbys, pending ones first, then the newest. A scale-out then starts
/// standbys first and refills the target. Fails on an unknown app or a
/// `count` above the configuration's `max_batch`. `mode` is a `tl_mode`
/// (a dry run changes nothing).
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_set_standby(
    scheduler: *mut tl_scheduler,
    app: *const c_char,
    app_len: usize,
    count: u32,
    now: u64,
    mode: u32,
    decisions_out: *mut *mut tl_decisions,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || decide(scheduler, mode, decisions_out, |s| {
            // SAFETY: valid for `app_len` bytes (the C contract).
            let app = unsafe { app_arg(s, app, app_len) }?;
            Ok(move |s: &mut Scheduler| s.set_standby(&app, count, Timestamp(now)))
        }))
    }
}

/// An app's standbys as JSON: `{"target": n, "instances": [ids]}` (ids
/// ascending; placed or pending; target 0 and no instances for an unknown
/// app). On success `*json_out` is a new buffer owned by the caller.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_standby(
    scheduler: *const tl_scheduler,
    app: *const c_char,
    app_len: usize,
    json_out: *mut *mut tl_buffer,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle (the C contract).
            let s = unsafe { sched(scheduler) }?;
            let out = out_arg(json_out, "json_out")?;
            // SAFETY: valid for `app_len` bytes (the C contract).
            let app = AppId::new(unsafe { str_arg(app, app_len, "app") }?)?;
            let value = serde_json::json!({
                "target": s.standby_target(&app),
                "instances": s.standby_instances(&app),
            });
            write_json(&value, out)
        })
    }
}
