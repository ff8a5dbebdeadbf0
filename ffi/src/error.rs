//! Status codes and the error object: one error model for every call.
//!
//! Every fallible function returns a [`tl_status`] and takes, as its last
//! argument, a `tl_error **error_out`. On success nothing is written there.
//! On failure, if `error_out` is not NULL, `*error_out` receives a new
//! [`tl_error`] owned by the caller (free it with [`tl_error_free`]) that
//! carries the status and the core error's own message, which
//! [`tl_error_message`] copies into a caller buffer.

use std::any::Any;
use std::ffi::c_char;

use trimline::ErrorKind;

use crate::panic::{PanicOrDefault, ffi_panic_boundary};

/// The result of a call. The numbers are stable and never reused: a code
/// that is retired stays reserved.
///
/// Codes below 100 belong to the C layer (bad arguments, buffers, panics);
/// codes from 100 on are the core's kinds of error (`trimline::ErrorKind`).
#[allow(non_camel_case_types)]
#[repr(u32)]
// Not `#[must_use]` itself: the calls are (cbindgen turns that into
// TL_MUST_USE), and `tl_scheduler_free`'s status may be ignored.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum tl_status {
    /// Success.
    Ok = 0,
    /// A pointer argument that must not be NULL was NULL.
    NullPointer = 1,
    /// A string argument is not valid UTF-8.
    InvalidUtf8 = 2,
    /// An enum argument (a `uint32_t`) is not one of its values.
    InvalidEnum = 3,
    /// A JSON document is malformed or does not match the documented
    /// schema; the message names the JSON path.
    BadJson = 4,
    /// The caller's buffer is too small; nothing was written to it.
    BufferTooSmall = 5,
    /// An index is past the end of the list it reads.
    IndexOutOfRange = 6,
    /// The library panicked (a bug). No result was written. A handle the
    /// call was changing is poisoned: every later call on it returns
    /// `TL_STATUS_POISONED`; free it.
    Panic = 7,
    /// A `_free` was given a handle freed already (a double free that could
    /// be detected), a handle of another type, or a pointer the library
    /// never returned; nothing was freed.
    InvalidHandle = 8,
    /// A call on a handle poisoned by an earlier panic.
    Poisoned = 9,
    /// A value does not fit the C type of the out-parameter (an amount of
    /// money beyond `int64_t`, say); read it from the JSON form instead.
    ValueOutOfRange = 10,
    /// A spec, name, amount, price or argument is malformed.
    InvalidInput = 100,
    /// The call names a SKU, zone, host, app, instance or offering that
    /// does not exist.
    UnknownId = 101,
    /// The call creates something whose id is taken.
    AlreadyExists = 102,
    /// The call contradicts the current state.
    Conflict = 103,
    /// `now` is earlier than the time of an earlier call.
    TimeWentBackwards = 104,
    /// A metering event or period arrives out of order.
    OutOfOrder = 105,
    /// A limit of the library is reached.
    LimitExceeded = 106,
    /// An all-or-nothing batch does not fit, so nothing was placed.
    Unschedulable = 107,
    /// A snapshot could not be restored.
    Restore = 108,
}

impl PanicOrDefault for tl_status {
    fn panic_value() -> Self {
        tl_status::Panic
    }
}

impl tl_status {
    /// The status of a core error kind: one exhaustive match, so a new kind
    /// does not compile until it has a code.
    pub(crate) const fn of_kind(kind: ErrorKind) -> tl_status {
        match kind {
            ErrorKind::InvalidInput => tl_status::InvalidInput,
            ErrorKind::UnknownId => tl_status::UnknownId,
            ErrorKind::AlreadyExists => tl_status::AlreadyExists,
            ErrorKind::Conflict => tl_status::Conflict,
            ErrorKind::TimeWentBackwards => tl_status::TimeWentBackwards,
            ErrorKind::OutOfOrder => tl_status::OutOfOrder,
            ErrorKind::LimitExceeded => tl_status::LimitExceeded,
            ErrorKind::Unschedulable => tl_status::Unschedulable,
            ErrorKind::Restore => tl_status::Restore,
        }
    }

    /// Every status, in numeric order.
    pub(crate) const ALL: [tl_status; 20] = [
        tl_status::Ok,
        tl_status::NullPointer,
        tl_status::InvalidUtf8,
        tl_status::InvalidEnum,
        tl_status::BadJson,
        tl_status::BufferTooSmall,
        tl_status::IndexOutOfRange,
        tl_status::Panic,
        tl_status::InvalidHandle,
        tl_status::Poisoned,
        tl_status::ValueOutOfRange,
        tl_status::InvalidInput,
        tl_status::UnknownId,
        tl_status::AlreadyExists,
        tl_status::Conflict,
        tl_status::TimeWentBackwards,
        tl_status::OutOfOrder,
        tl_status::LimitExceeded,
        tl_status::Unschedulable,
        tl_status::Restore,
    ];

    /// The status's stable snake_case name (`"unknown_id"`).
    pub(crate) const fn name(self) -> &'static std::ffi::CStr {
        match self {
            tl_status::Ok => c"ok",
            tl_status::NullPointer => c"null_pointer",
            tl_status::InvalidUtf8 => c"invalid_utf8",
            tl_status::InvalidEnum => c"invalid_enum",
            tl_status::BadJson => c"bad_json",
            tl_status::BufferTooSmall => c"buffer_too_small",
            tl_status::IndexOutOfRange => c"index_out_of_range",
            tl_status::Panic => c"panic",
            tl_status::InvalidHandle => c"invalid_handle",
            tl_status::Poisoned => c"poisoned",
            tl_status::ValueOutOfRange => c"value_out_of_range",
            tl_status::InvalidInput => c"invalid_input",
            tl_status::UnknownId => c"unknown_id",
            tl_status::AlreadyExists => c"already_exists",
            tl_status::Conflict => c"conflict",
            tl_status::TimeWentBackwards => c"time_went_backwards",
            tl_status::OutOfOrder => c"out_of_order",
            tl_status::LimitExceeded => c"limit_exceeded",
            tl_status::Unschedulable => c"unschedulable",
            tl_status::Restore => c"restore",
        }
    }
}

/// A failed call's status and message, before it is handed to C.
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) status: tl_status,
    pub(crate) message: String,
}

impl Failure {
    pub(crate) fn new(status: tl_status, message: impl Into<String>) -> Failure {
        Failure {
            status,
            message: message.into(),
        }
    }

    /// A NULL pointer passed as the named argument.
    pub(crate) fn null(arg: &str) -> Failure {
        Failure::new(tl_status::NullPointer, format!("{arg} is NULL"))
    }

    /// The failure a panic turns into, with the panic's message.
    fn panic(payload: &(dyn Any + Send)) -> Failure {
        let what = payload
            .downcast_ref::<&str>()
            .copied()
            .or_else(|| payload.downcast_ref::<String>().map(String::as_str))
            .unwrap_or("(no message)");
        Failure::new(tl_status::Panic, format!("panic in libtrimline: {what}"))
    }
}

/// A core error becomes the status of its kind and its own text.
macro_rules! from_core_error {
    ($($ty:ty),*) => {$(
        impl From<$ty> for Failure {
            fn from(e: $ty) -> Failure {
                Failure::new(tl_status::of_kind(e.kind()), e.to_string())
            }
        }
    )*};
}

from_core_error!(
    trimline::Error,
    trimline::RestoreError,
    trimline::NameError,
    trimline::metering::MeterError,
    trimline::metering::MeterRestoreError,
    trimline::pack::PackError
);

/// An error: a status and a message. Owned by the caller; free it with
/// `tl_error_free`.
#[allow(non_camel_case_types)]
pub struct tl_error {
    status: tl_status,
    message: String,
}

/// Runs `f`, turning its failure or a panic into a status, and writes a new
/// `tl_error` to `error_out` (when not NULL) on failure.
pub(crate) fn run(
    error_out: *mut *mut tl_error,
    f: impl FnOnce() -> Result<(), Failure>,
) -> tl_status {
    let failure = match std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)) {
        Ok(Ok(())) => return tl_status::Ok,
        Ok(Err(failure)) => failure,
        Err(payload) => Failure::panic(payload.as_ref()),
    };
    let status = failure.status;
    if !error_out.is_null() {
        let error = Box::new(tl_error {
            status,
            message: failure.message,
        });
        // SAFETY: the caller passes either NULL (checked above) or a valid
        // `tl_error *` slot to write to.
        unsafe { error_out.write(Box::into_raw(error)) };
    }
    status
}

/// Copies `text` and a terminating NUL into `buf` (of `len` bytes) and
/// writes the text's length (without the NUL) to `out_len`.
///
/// With `buf` NULL and `len` 0 it only writes the length needed (a
/// query). A buffer shorter than the text plus its NUL is
/// `TL_STATUS_BUFFER_TOO_SMALL`, and nothing is written.
///
/// # Safety
/// `buf` is NULL or valid for `len` bytes; `out_len` is NULL or valid.
pub(crate) unsafe fn copy_text(
    text: &str,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> Result<(), Failure> {
    if out_len.is_null() {
        return Err(Failure::null("out_len"));
    }
    if buf.is_null() {
        if len != 0 {
            return Err(Failure::null("buf"));
        }
    } else {
        if len <= text.len() {
            return Err(Failure::new(
                tl_status::BufferTooSmall,
                format!(
                    "the buffer holds {len} bytes; the text needs {} and its NUL",
                    text.len()
                ),
            ));
        }
        // SAFETY: `buf` is valid for `len > text.len()` bytes (checked).
        unsafe {
            std::ptr::copy_nonoverlapping(text.as_ptr(), buf.cast::<u8>(), text.len());
            buf.add(text.len()).write(0);
        }
    }
    // SAFETY: `out_len` is not NULL (checked) and valid per the contract.
    unsafe { out_len.write(text.len()) };
    Ok(())
}

/// The status of an error, or `TL_STATUS_NULL_POINTER` when `error` is
/// NULL.
#[unsafe(no_mangle)]
pub extern "C" fn tl_error_status(error: *const tl_error) -> tl_status {
    ffi_panic_boundary! {
        // SAFETY: `error` is NULL or a live `tl_error` from this library.
        match unsafe { error.as_ref() } {
            Some(e) => e.status,
            None => tl_status::NullPointer,
        }
    }
}

/// Copies an error's message (the core error's own text, naming the
/// offending id or value) and a terminating NUL into `buf`, of `len`
/// bytes, and writes the message's length without the NUL to `*out_len`.
///
/// Pass `buf` NULL and `len` 0 to learn the length needed. A `buf` too
/// small returns `TL_STATUS_BUFFER_TOO_SMALL` and writes nothing. This call
/// reports its own failure only by its status (it writes no `tl_error`).
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_error_message(
    error: *const tl_error,
    buf: *mut c_char,
    len: usize,
    out_len: *mut usize,
) -> tl_status {
    ffi_panic_boundary! {
        run(std::ptr::null_mut(), || {
            // SAFETY: `error` is NULL or a live `tl_error` from this library.
            let error = unsafe { error.as_ref() }.ok_or_else(|| Failure::null("error"))?;
            // SAFETY: the caller's buffer contract, checked by `copy_text`.
            unsafe { copy_text(&error.message, buf, len, out_len) }
        })
    }
}

/// Frees an error. `tl_error_free(NULL)` does nothing.
#[unsafe(no_mangle)]
pub extern "C" fn tl_error_free(error: *mut tl_error) {
    ffi_panic_boundary! {
        if !error.is_null() {
            // SAFETY: a non-NULL `error` was returned by this library through
            // an `error_out` and is freed once, by this call.
            drop(unsafe { Box::from_raw(error) });
        }
    }
}

/// The stable snake_case name of a status (`"unknown_id"`), as a static,
/// NUL-terminated string; `"unknown"` for a number that is no status.
#[unsafe(no_mangle)]
pub extern "C" fn tl_status_name(status: u32) -> *const c_char {
    ffi_panic_boundary! {
        tl_status::ALL
            .iter()
            .find(|s| **s as u32 == status)
            .map_or(c"unknown", |s| s.name())
            .as_ptr()
    }
}

/// Forces a panic inside the library, for binding test suites: it always
/// returns `TL_STATUS_PANIC` (and a `tl_error` saying so), proving that a
/// panic never unwinds into the caller.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_test_panic(error_out: *mut *mut tl_error) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || -> Result<(), Failure> {
            // A deliberate panic: this function exists to exercise the
            // panic boundary from C.
            panic!("deliberate panic from tl_test_panic")
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_kind_has_its_own_code() {
        let mut codes: Vec<u32> = ErrorKind::ALL
            .iter()
            .map(|k| tl_status::of_kind(*k) as u32)
            .collect();
        assert!(codes.iter().all(|c| *c >= 100));
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), ErrorKind::ALL.len());
        for k in ErrorKind::ALL {
            assert_eq!(
                tl_status::of_kind(k).name().to_str().ok(),
                Some(k.name()),
                "the status of {k} is named like the kind"
            );
        }
    }

    #[test]
    fn statuses_are_listed_in_order_with_distinct_names() {
        let codes: Vec<u32> = tl_status::ALL.iter().map(|s| *s as u32).collect();
        assert!(codes.windows(2).all(|w| w[0] < w[1]));
        let mut names: Vec<_> = tl_status::ALL.iter().map(|s| s.name()).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), tl_status::ALL.len());
    }
}
