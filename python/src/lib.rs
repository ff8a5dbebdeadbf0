//! Python bindings for the trimline scheduling core: the native module
//! `trimline._trimline`, re-exported by the pure-Python package `trimline`.
//!
//! This crate only converts arguments and results; all behaviour lives in the
//! `trimline` core. Its Python-facing API is described by
//! `python/trimline/_trimline.pyi`.

use pyo3::prelude::*;

/// The native half of the `trimline` package.
#[pymodule]
fn _trimline(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    Ok(())
}
