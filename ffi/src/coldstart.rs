//! Cold start: the images hosts hold, the embedder's figures per offering,
//! and the cold-start mix of a call's decisions (see the core's
//! `coldstart` module). Apps name their images in their JSON spec
//! (`"images": {"x86_64": {"digest": ..., "size_bytes": ...}}`), the
//! weight of image locality is the configuration's
//! `image_locality_weight`, and each placement's expected pull is
//! `tl_placement.pull_bytes`.

use std::ffi::c_char;

use trimline::{ColdStartMix, HostId, ImageDigest, OfferingFigures, StartBucket, Timestamp};

use crate::args::{bytes_arg, out_arg, parse_json, write, write_json};
use crate::buffer::tl_buffer;
use crate::decisions::{decisions, tl_decisions};
use crate::error::{run, tl_error, tl_status};
use crate::panic::ffi_panic_boundary;
use crate::scheduler::{sched, sched_mut, tl_scheduler};

/// Instances of one kind of start in a `tl_cold_start_mix`.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug, Default)]
pub struct tl_start_bucket {
    /// Instances.
    pub instances: u32,
    /// Instances whose offering has no figures (their time is not known).
    pub without_figures: u32,
    /// Bytes they expect to pull, summed.
    pub pull_bytes: u64,
    /// The longest expected time to ready among those with figures, in
    /// milliseconds (0 when none has figures).
    pub ready_ms: u64,
}

/// How the instances of a call's decisions start.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug, Default)]
pub struct tl_cold_start_mix {
    /// On running hosts with nothing to pull (the host holds the image,
    /// or the app names none).
    pub warm_with_image: tl_start_bucket,
    /// On running hosts that pull the image first.
    pub warm_without_image: tl_start_bucket,
    /// On planned hosts: provisioning, then the pull.
    pub new_hosts: tl_start_bucket,
    /// Standby instances started in place: nothing to pull, no
    /// provisioning (`ready_ms` 0).
    pub standby: tl_start_bucket,
}

fn bucket(b: &StartBucket) -> tl_start_bucket {
    tl_start_bucket {
        instances: b.instances,
        without_figures: b.without_figures,
        pull_bytes: b.pull_bytes,
        ready_ms: b.ready_ms,
    }
}

fn mix(m: &ColdStartMix) -> tl_cold_start_mix {
    tl_cold_start_mix {
        warm_with_image: bucket(&m.warm_with_image),
        warm_without_image: bucket(&m.warm_without_image),
        new_hosts: bucket(&m.new_hosts),
        standby: bucket(&m.standby),
    }
}

/// Declares the images host `host` holds, replacing what it held before.
/// `images_json` is a JSON array of digests (for example
/// `["sha256:4f1c"]`; `[]` for none). Fails on an unknown or planned host
/// or more than 4,096 images. Returns no decisions: it places nothing.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_set_host_images(
    scheduler: *mut tl_scheduler,
    host: u64,
    images_json: *const c_char,
    images_len: usize,
    now: u64,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle used by this thread alone (the
            // C contract).
            let s = unsafe { sched_mut(scheduler) }?;
            // SAFETY: valid for `images_len` bytes (the C contract).
            let bytes = unsafe { bytes_arg(images_json.cast(), images_len, "images_json") }?;
            let images = parse_json::<Vec<ImageDigest>>(bytes, "image digests")?;
            s.apply(|s| s.set_host_images(HostId(host), images, Timestamp(now)))?;
            Ok(())
        })
    }
}

/// The images host `host` holds, as a JSON array of digests, sorted
/// (empty for an unknown host). On success `*json_out` is a new buffer
/// owned by the caller.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_host_images(
    scheduler: *const tl_scheduler,
    host: u64,
    json_out: *mut *mut tl_buffer,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle (the C contract).
            let s = unsafe { sched(scheduler) }?;
            let out = out_arg(json_out, "json_out")?;
            write_json(&s.host_images(HostId(host)), out)
        })
    }
}

/// Declares (or replaces) an offering's figures for the expected time to
/// ready: `figures_json` is a JSON object with `sku`, `zone`,
/// `provision_seconds` and `pull_mb_per_second` (at least 1, in 10^6
/// bytes per second).
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_set_offering_figures(
    scheduler: *mut tl_scheduler,
    figures_json: *const c_char,
    figures_len: usize,
    now: u64,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle used by this thread alone (the
            // C contract).
            let s = unsafe { sched_mut(scheduler) }?;
            // SAFETY: valid for `figures_len` bytes (the C contract).
            let bytes = unsafe { bytes_arg(figures_json.cast(), figures_len, "figures_json") }?;
            let figures = parse_json::<OfferingFigures>(bytes, "offering figures")?;
            s.apply(|s| s.set_offering_figures(figures, Timestamp(now)))?;
            Ok(())
        })
    }
}

/// How the instances `decisions` placed start: on warm hosts holding their
/// image, warm hosts pulling it, or new hosts, with the bytes pulled and
/// the expected time to ready from the scheduler's offering figures. Use
/// it on a dry run's decisions to plan a scale-out: the committed call
/// decides the same, so its mix is the same. `*mix_out` is written on
/// success.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_scheduler_cold_start_mix(
    scheduler: *const tl_scheduler,
    decisions_in: *const tl_decisions,
    mix_out: *mut tl_cold_start_mix,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            // SAFETY: NULL or a live handle (the C contract).
            let s = unsafe { sched(scheduler) }?;
            // SAFETY: NULL or a live `tl_decisions` (the C contract).
            let d = unsafe { decisions(decisions_in) }?;
            let out = out_arg(mix_out, "mix_out")?;
            let m = mix(&s.cold_start_mix(d));
            // SAFETY: `out` is checked.
            unsafe { write(out, m) };
            Ok(())
        })
    }
}
