//! The panic boundary every exported function runs inside.
//!
//! Unwinding out of an `extern "C"` function aborts the process, which an
//! embedder (a scheduler control plane) cannot recover from. Instead, each
//! exported body is wrapped in [`ffi_panic_boundary!`], which catches the
//! panic and returns the [`PanicOrDefault`] value of the function's return
//! type: null for pointers, zero/false for plain values and, once the result
//! enum exists, its dedicated `Panic` code.

use std::ptr::{null, null_mut};

/// The value an exported function returns when its body panicked.
pub(crate) trait PanicOrDefault {
    /// The value to return instead of unwinding into C.
    fn panic_value() -> Self;
}

impl<T> PanicOrDefault for *const T {
    fn panic_value() -> Self {
        null()
    }
}

impl<T> PanicOrDefault for *mut T {
    fn panic_value() -> Self {
        null_mut()
    }
}

impl PanicOrDefault for () {
    fn panic_value() -> Self {}
}

impl PanicOrDefault for bool {
    fn panic_value() -> Self {
        false
    }
}

impl PanicOrDefault for usize {
    fn panic_value() -> Self {
        0
    }
}

impl PanicOrDefault for u32 {
    fn panic_value() -> Self {
        0
    }
}

/// Runs the body, returning [`PanicOrDefault::panic_value`] for the
/// function's return type if it panics.
///
/// The body is wrapped in `AssertUnwindSafe`: after a panic the only thing
/// that happens is an early return of the failure value, and handles that a
/// panicking call was mutating must be treated as poisoned by the function
/// that owns them.
macro_rules! ffi_panic_boundary {
    ( $($body:tt)* ) => {
        match ::std::panic::catch_unwind(::std::panic::AssertUnwindSafe(|| { $($body)* })) {
            Ok(value) => value,
            Err(_) => $crate::panic::PanicOrDefault::panic_value(),
        }
    };
}

pub(crate) use ffi_panic_boundary;

#[cfg(test)]
mod tests {
    use super::*;
    use std::ffi::c_char;

    fn panicking_pointer(should_panic: bool) -> *const c_char {
        ffi_panic_boundary! {
            assert!(!should_panic, "deliberate test panic");
            c"ok".as_ptr()
        }
    }

    fn panicking_count(should_panic: bool) -> usize {
        ffi_panic_boundary! {
            assert!(!should_panic, "deliberate test panic");
            7
        }
    }

    #[test]
    fn passes_values_through() {
        assert!(!panicking_pointer(false).is_null());
        assert_eq!(panicking_count(false), 7);
    }

    #[test]
    fn turns_panics_into_failure_values() {
        assert!(panicking_pointer(true).is_null());
        assert_eq!(panicking_count(true), 0);
        assert_eq!(<*mut u8 as PanicOrDefault>::panic_value(), null_mut());
        assert!(!<bool as PanicOrDefault>::panic_value());
    }
}
