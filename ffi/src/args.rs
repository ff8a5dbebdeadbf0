//! Converting C arguments: pointers, strings, enums and out-parameters.

use std::collections::BTreeMap;
use std::ffi::c_char;
use std::sync::Mutex;

use serde::de::DeserializeOwned;

use crate::error::{Failure, tl_status};

/// A borrowed UTF-8 string view: `len` bytes at `ptr`, not NUL-terminated.
/// Print it with `printf("%.*s", (int)s.len, s.ptr)`. An empty view may
/// have a NULL `ptr`. Its lifetime is stated where it is returned.
#[allow(non_camel_case_types)]
#[repr(C)]
#[derive(Copy, Clone, Debug)]
pub struct tl_str {
    /// The first byte.
    pub ptr: *const c_char,
    /// The length in bytes.
    pub len: usize,
}

impl tl_str {
    /// A view of `s`; the caller keeps `s` alive as long as the view is used.
    pub(crate) fn of(s: &str) -> tl_str {
        tl_str {
            ptr: s.as_ptr().cast(),
            len: s.len(),
        }
    }

    /// The empty view.
    pub(crate) const EMPTY: tl_str = tl_str {
        ptr: std::ptr::null(),
        len: 0,
    };
}

/// Refuses a length no object can have (past `PTRDIFF_MAX`, `isize::MAX`):
/// building a slice of it is undefined behaviour, which debug builds turn
/// into an abort, so it is refused before a byte is read.
fn len_arg(len: usize, arg: &str) -> Result<(), Failure> {
    if isize::try_from(len).is_err() {
        return Err(Failure::new(
            tl_status::InvalidInput,
            format!("{arg}: length {len} is larger than any object can be (PTRDIFF_MAX)"),
        ));
    }
    Ok(())
}

/// A string argument: `len` bytes at `ptr`, checked to be UTF-8. NULL is
/// refused, even with `len` 0, and so is a length past `PTRDIFF_MAX`.
///
/// # Safety
/// `ptr` is NULL or valid for reads of `len` bytes for `'a`.
pub(crate) unsafe fn str_arg<'a>(
    ptr: *const c_char,
    len: usize,
    arg: &str,
) -> Result<&'a str, Failure> {
    if ptr.is_null() {
        return Err(Failure::null(arg));
    }
    len_arg(len, arg)?;
    // SAFETY: `ptr` is valid for `len` bytes per the contract.
    let bytes = unsafe { std::slice::from_raw_parts(ptr.cast::<u8>(), len) };
    std::str::from_utf8(bytes).map_err(|e| {
        Failure::new(
            tl_status::InvalidUtf8,
            format!(
                "{arg} is not valid UTF-8: invalid byte at offset {}",
                e.valid_up_to()
            ),
        )
    })
}

/// A byte-array argument: `len` bytes at `ptr`; NULL is refused, and so is
/// a length past `PTRDIFF_MAX`.
///
/// # Safety
/// `ptr` is NULL or valid for reads of `len` bytes for `'a`.
pub(crate) unsafe fn bytes_arg<'a>(
    ptr: *const u8,
    len: usize,
    arg: &str,
) -> Result<&'a [u8], Failure> {
    if ptr.is_null() {
        return Err(Failure::null(arg));
    }
    len_arg(len, arg)?;
    // SAFETY: `ptr` is valid for `len` bytes per the contract.
    Ok(unsafe { std::slice::from_raw_parts(ptr, len) })
}

/// Parses a JSON document into a core serde type; a bad document names the
/// JSON path of what is wrong.
pub(crate) fn parse_json<T: DeserializeOwned>(bytes: &[u8], what: &str) -> Result<T, Failure> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    let value = serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let path = e.path().to_string();
        Failure::new(
            tl_status::BadJson,
            format!("{what}: {path}: {}", e.into_inner()),
        )
    })?;
    de.end().map_err(|e| {
        Failure::new(
            tl_status::BadJson,
            format!("{what}: trailing characters: {e}"),
        )
    })?;
    Ok(value)
}

/// Serializes a core serde type to JSON bytes.
pub(crate) fn to_json<T: serde::Serialize>(value: &T) -> Result<Vec<u8>, Failure> {
    // Serializing the core's types cannot fail (string keys, no custom
    // failing serializers); a failure would still be reported, not unwrapped.
    serde_json::to_vec(value).map_err(|e| {
        Failure::new(
            tl_status::InvalidInput,
            format!("JSON serialization failed: {e}"),
        )
    })
}

/// Checks that an out-parameter is not NULL, before any work is done.
pub(crate) fn out_arg<T>(out: *mut T, arg: &str) -> Result<*mut T, Failure> {
    if out.is_null() {
        Err(Failure::null(arg))
    } else {
        Ok(out)
    }
}

/// Writes a query's JSON to a new buffer at `out`, an out-parameter the
/// caller checked with [`out_arg`].
pub(crate) fn write_json<T: serde::Serialize>(
    value: &T,
    out: *mut *mut crate::buffer::tl_buffer,
) -> Result<(), Failure> {
    let bytes = to_json(value)?;
    // SAFETY: `out` was checked by the caller with `out_arg`.
    unsafe { write(out, crate::buffer::tl_buffer::into_raw(bytes)) };
    Ok(())
}

/// Writes a value to a checked out-parameter.
///
/// # Safety
/// `out` came from [`out_arg`] and is valid for writes.
pub(crate) unsafe fn write<T>(out: *mut T, value: T) {
    // SAFETY: not NULL (checked by `out_arg`) and valid per the contract.
    unsafe { out.write(value) }
}

/// An enum argument received as `uint32_t`, checked against its values.
pub(crate) fn enum_arg<T: Copy>(value: u32, all: &[(u32, T)], arg: &str) -> Result<T, Failure> {
    all.iter()
        .find(|(v, _)| *v == value)
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            Failure::new(
                tl_status::InvalidEnum,
                format!("{arg} = {value} is not one of its values"),
            )
        })
}

/// The type of a long-lived handle, so a handle of one type given to the
/// `_free` of another is refused instead of freed as the wrong type.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum HandleKind {
    /// A `tl_scheduler`.
    Scheduler,
    /// A `tl_meter`.
    Meter,
}

/// Addresses of the live long-lived handles (schedulers and meters) and
/// their types, so a second `_free` of one, or a `_free` of the wrong type,
/// is detected instead of freeing twice or as the wrong type. Only `new`,
/// `restore` and `free` touch it, never the calls in between.
static LIVE: Mutex<BTreeMap<usize, HandleKind>> = Mutex::new(BTreeMap::new());

/// Records a new handle of type `kind`.
pub(crate) fn register<T>(handle: *mut T, kind: HandleKind) {
    let mut live = LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    live.insert(handle as usize, kind);
}

/// Forgets a handle of type `kind` about to be freed: false when it is not
/// a live handle of that type (freed already, of another type, or never
/// returned by the library), and then it stays as it was.
pub(crate) fn unregister<T>(handle: *mut T, kind: HandleKind) -> bool {
    let mut live = LIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    let key = handle as usize;
    if live.get(&key) == Some(&kind) {
        live.remove(&key);
        true
    } else {
        false
    }
}
