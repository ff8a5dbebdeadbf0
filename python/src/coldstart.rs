//! Cold-start conversions: image digests in, the cold-start mix out (a
//! dict in the core's serde shape, plus its text).

use pyo3::prelude::*;
use pyo3::types::PyDict;
use trimline::{ColdStartMix, ImageDigest};

use crate::convert::{parse_id, to_py};

/// Image digests from Python strings; a bad one is an `InvalidInput`.
pub(crate) fn digests(images: Vec<String>) -> PyResult<Vec<ImageDigest>> {
    images.iter().map(|d| parse_id(d)).collect()
}

/// Digests as Python strings.
pub(crate) fn names(images: &[ImageDigest]) -> Vec<String> {
    images.iter().map(|d| d.as_str().to_owned()).collect()
}

/// The mix as a dict: `warm_with_image`, `warm_without_image` and
/// `new_hosts` (each `instances`, `pull_bytes`, `ready_ms`,
/// `without_figures`), plus `instances`, `ready_ms` and `text`.
pub(crate) fn mix_to_py<'py>(py: Python<'py>, mix: &ColdStartMix) -> PyResult<Bound<'py, PyAny>> {
    let d = to_py(py, mix)?;
    let dict = d.cast::<PyDict>()?;
    dict.set_item("instances", mix.instances())?;
    dict.set_item("ready_ms", mix.ready_ms())?;
    dict.set_item("text", mix.to_string())?;
    Ok(d)
}
