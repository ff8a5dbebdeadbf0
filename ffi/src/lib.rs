//! C ABI for the trimline scheduling core.
//!
//! This crate builds `libtrimline` (static and shared) and nothing else: every
//! function here is a thin, boring wrapper that converts C arguments, calls
//! the `trimline` core, and converts the result back. The header
//! `include/trimline.h` is generated from this crate by cbindgen and checked
//! in; `tests/header.rs` fails when it is stale.
//!
//! Conventions (see rustls-ffi's "API Conventions"):
//! - every exported function is prefixed `tl_` and its body runs inside
//!   [`ffi_panic_boundary!`], so a Rust panic never unwinds into C;
//! - a panic turns into the return type's "failure" value (null, zero, or
//!   `TL_STATUS_PANIC`), never a partial result;
//! - handles are opaque, with `_new`/`_free` pairs; `_free(NULL)` is a
//!   no-op; a `const` handle argument means the call does not mutate it;
//! - every fallible call returns a `tl_status` and takes a last
//!   `tl_error **error_out`, written (when not NULL) only on failure; every
//!   other out-parameter is written only on success;
//! - enums arrive as `uint32_t` and are checked; strings are pointer plus
//!   length, checked to be UTF-8;
//! - specs with many optional fields (SKUs, apps, configurations, price
//!   tables, events) are JSON documents in the core's serde schema;
//! - decisions come back as one owned object with typed accessors whose
//!   views borrow from it, or as JSON.
//!
//! The layer converts and forwards: it holds no scheduling logic.

// The workspace denies `unsafe_code`. This crate is the one place where it is
// needed: `#[unsafe(no_mangle)]` exports and dereferencing pointers handed
// in by C callers. Each `unsafe` block states its safety argument.
#![allow(unsafe_code)]
// C signatures take what C passes: many arguments, raw pointers checked for
// NULL inside (the `unsafe` contract is the C caller's, stated in the
// header), and C-style type names (`tl_scheduler`).
#![allow(clippy::too_many_arguments, clippy::not_unsafe_ptr_arg_deref)]

use std::ffi::{CStr, c_char};

pub mod args;
pub mod buffer;
pub mod coldstart;
pub mod consolidation;
pub mod decisions;
pub mod error;
pub mod history;
pub mod meter;
pub mod meter_keys;
pub mod observe;
pub mod pack;
mod panic;
pub mod scheduler;
pub mod standby;
pub mod warmpool;

#[cfg(test)]
mod fuzz_json;

use crate::panic::ffi_panic_boundary;

/// The crate version as a NUL-terminated C string, built at compile time.
const VERSION: &CStr =
    match CStr::from_bytes_with_nul(concat!(env!("CARGO_PKG_VERSION"), "\0").as_bytes()) {
        Ok(version) => version,
        Err(_) => panic!("CARGO_PKG_VERSION contains a NUL byte"),
    };

/// Returns the version of libtrimline as a static, NUL-terminated string,
/// for example `"0.1.0"`.
///
/// The string is owned by the library and valid for the life of the process;
/// do not free it. The result equals `TL_VERSION_MAJOR.TL_VERSION_MINOR.TL_VERSION_PATCH`
/// of the header the program was compiled against, unless the library was
/// swapped underneath it. Returns NULL only if the library panicked.
#[unsafe(no_mangle)]
pub extern "C" fn tl_version() -> *const c_char {
    ffi_panic_boundary! {
        VERSION.as_ptr()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn version_is_the_cargo_version() {
        let ptr = tl_version();
        assert!(!ptr.is_null());
        // SAFETY: `tl_version` returns a pointer into a `'static` `CStr`.
        let version = unsafe { CStr::from_ptr(ptr) };
        assert_eq!(version.to_str().unwrap(), env!("CARGO_PKG_VERSION"));
    }

    #[test]
    fn version_pointer_is_stable() {
        assert_eq!(tl_version(), tl_version());
    }
}
