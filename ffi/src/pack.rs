//! Offline packing: `tl_pack_partial` packs as many items as fit into a
//! list of bins and names the items left over. The problem and the result
//! cross as JSON in the core's serde shapes (`trimline::pack::PackSpec`,
//! `trimline::pack::PartialPacking`).

use std::ffi::c_char;

use trimline::pack::{PackSpec, pack_partial};

use crate::args::{bytes_arg, out_arg, parse_json, write_json};
use crate::buffer::tl_buffer;
use crate::error::{run, tl_error, tl_status};
use crate::panic::ffi_panic_boundary;

/// Packs as many items as fit into a list of bins (no scheduler needed).
/// `spec_json` is a JSON object: `bins` (an array of capacity vectors, each
/// an array of unsigned integers), `items` (size vectors of the same
/// length), and the optional `budget` (work units of the improvement
/// phase, the default when null or absent) and `seed`. `*packing_out`
/// receives JSON: `bins` (the items of each listed bin), `bin_of` (each
/// item's bin, or null for an item left over), `bins_used`, `unplaced`
/// (the items left over, in increasing order; empty when all fit) and
/// `work`. An invalid problem (no bins, 0 or more than 16 dimensions,
/// vectors of different lengths) is `TL_STATUS_INVALID_INPUT`; bins too few
/// for the items are not an error.
#[unsafe(no_mangle)]
#[must_use]
pub extern "C" fn tl_pack_partial(
    spec_json: *const c_char,
    spec_len: usize,
    packing_out: *mut *mut tl_buffer,
    error_out: *mut *mut tl_error,
) -> tl_status {
    ffi_panic_boundary! {
        run(error_out, || {
            let out = out_arg(packing_out, "packing_out")?;
            // SAFETY: valid for `spec_len` bytes (the C contract).
            let bytes = unsafe { bytes_arg(spec_json.cast(), spec_len, "spec_json") }?;
            let spec = parse_json::<PackSpec>(bytes, "pack spec")?;
            let packing = pack_partial(&spec.bins, &spec.items, &spec.options())?;
            write_json(&packing, out)
        })
    }
}
