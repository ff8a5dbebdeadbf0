//! Offline packing: `trimline.pack_partial` packs as many items as fit into
//! a list of bins and names the items left over. The result is a dict in
//! the core's serde shape (`trimline::pack::PartialPacking`).

use pyo3::prelude::*;

use crate::convert::to_py;
use crate::errors::to_py_err;

/// Packs as many `items` (size vectors) as fit into the listed `bins`
/// (capacity vectors of the same length) and returns a dict: `bins` (the
/// items of each bin), `bin_of` (each item's bin, or `None` when left
/// over), `bins_used`, `unplaced` (the items left over, ascending) and
/// `work`. Bins too few for the items are not an error; an invalid
/// problem raises `InvalidInput`. Runs without the GIL.
#[pyfunction]
#[pyo3(signature = (bins, items, budget=None, seed=0))]
pub(crate) fn pack_partial<'py>(
    py: Python<'py>,
    bins: Vec<Vec<u64>>,
    items: Vec<Vec<u64>>,
    budget: Option<u64>,
    seed: u64,
) -> PyResult<Bound<'py, PyAny>> {
    let spec = trimline::pack::PackSpec {
        bins,
        items,
        budget,
        seed,
    };
    let packing = py
        .detach(|| trimline::pack::pack_partial(&spec.bins, &spec.items, &spec.options()))
        .map_err(to_py_err)?;
    to_py(py, &packing)
}
