//! Owned byte buffers: JSON documents and snapshots handed to C.

use crate::panic::ffi_panic_boundary;

/// Bytes owned by the caller: a JSON document (UTF-8, not NUL-terminated)
/// or a snapshot. Read with `tl_buffer_data` and `tl_buffer_len`; free
/// with `tl_buffer_free`.
#[allow(non_camel_case_types)]
pub struct tl_buffer {
    pub(crate) bytes: Vec<u8>,
}

impl tl_buffer {
    /// A new buffer, as a pointer for C.
    pub(crate) fn into_raw(bytes: Vec<u8>) -> *mut tl_buffer {
        Box::into_raw(Box::new(tl_buffer { bytes }))
    }
}

/// The buffer's bytes, valid until the buffer is freed; NULL when `buffer`
/// is NULL. A buffer of length 0 may return any non-NULL pointer.
#[unsafe(no_mangle)]
pub extern "C" fn tl_buffer_data(buffer: *const tl_buffer) -> *const u8 {
    ffi_panic_boundary! {
        // SAFETY: `buffer` is NULL or a live `tl_buffer` from this library.
        match unsafe { buffer.as_ref() } {
            Some(b) => b.bytes.as_ptr(),
            None => std::ptr::null(),
        }
    }
}

/// The buffer's length in bytes; 0 when `buffer` is NULL.
#[unsafe(no_mangle)]
pub extern "C" fn tl_buffer_len(buffer: *const tl_buffer) -> usize {
    ffi_panic_boundary! {
        // SAFETY: `buffer` is NULL or a live `tl_buffer` from this library.
        unsafe { buffer.as_ref() }.map_or(0, |b| b.bytes.len())
    }
}

/// Frees a buffer. `tl_buffer_free(NULL)` does nothing.
#[unsafe(no_mangle)]
pub extern "C" fn tl_buffer_free(buffer: *mut tl_buffer) {
    ffi_panic_boundary! {
        if !buffer.is_null() {
            // SAFETY: a non-NULL `buffer` came from this library and is freed
            // once, by this call.
            drop(unsafe { Box::from_raw(buffer) });
        }
    }
}
