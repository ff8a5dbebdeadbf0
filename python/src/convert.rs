//! Conversions between Python objects and the core's serde shapes.
//!
//! Specs (SKUs, apps, price tables, configs) cross the boundary in the
//! core's documented serde shapes: a Python value (a dataclass from
//! `trimline.specs`, a `dict`, a `str` enum member, ...) becomes a
//! `serde_json::Value` and is deserialized into the core type, so every
//! field and policy the core accepts is accepted here, and a wrong shape is
//! the core's own message naming the field. Reports go the other way.

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{
    PyBool, PyBytes, PyDict, PyFloat, PyFrozenSet, PyInt, PyList, PySet, PyString, PyTuple,
};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::{Map, Number, Value};

use crate::errors::InvalidInput;

/// How deep a spec may nest; deeper input is refused rather than recursed.
const MAX_DEPTH: usize = 64;

/// A Python value as JSON: dicts with `str` keys, lists, tuples, sets,
/// `str` (and `str` enums), `int`, `bool`, `None`, finite `float`,
/// dataclass instances (their fields, in order), and times (an aware
/// `datetime` or a `timedelta`, as milliseconds).
pub(crate) fn to_json(obj: &Bound<'_, PyAny>) -> PyResult<Value> {
    to_json_at(obj, 0)
}

fn to_json_at(obj: &Bound<'_, PyAny>, depth: usize) -> PyResult<Value> {
    if depth > MAX_DEPTH {
        return Err(PyValueError::new_err("value nests too deeply"));
    }
    if obj.is_none() {
        return Ok(Value::Null);
    }
    if let Ok(b) = obj.cast::<PyBool>() {
        return Ok(Value::Bool(b.is_true()));
    }
    if obj.is_instance_of::<PyInt>() {
        if let Ok(v) = obj.extract::<i64>() {
            return Ok(Value::Number(v.into()));
        }
        if let Ok(v) = obj.extract::<u64>() {
            return Ok(Value::Number(v.into()));
        }
        return Err(PyValueError::new_err(format!(
            "integer {} is out of range",
            obj.repr()?
        )));
    }
    if let Ok(s) = obj.cast::<PyString>() {
        return Ok(Value::String(s.to_str()?.to_owned()));
    }
    if let Ok(f) = obj.cast::<PyFloat>() {
        let v = f.value();
        return Number::from_f64(v)
            .map(Value::Number)
            .ok_or_else(|| PyValueError::new_err(format!("{v} is not a finite number")));
    }
    if let Ok(d) = obj.cast::<PyDict>() {
        let mut map = Map::new();
        for (k, v) in d.iter() {
            let key = k
                .cast::<PyString>()
                .map_err(|_| PyTypeError::new_err("dict keys must be str"))?
                .to_str()?
                .to_owned();
            map.insert(key, to_json_at(&v, depth + 1)?);
        }
        return Ok(Value::Object(map));
    }
    if obj.is_instance_of::<PyList>()
        || obj.is_instance_of::<PyTuple>()
        || obj.is_instance_of::<PySet>()
        || obj.is_instance_of::<PyFrozenSet>()
    {
        let mut items = Vec::new();
        for item in obj.try_iter()? {
            items.push(to_json_at(&item?, depth + 1)?);
        }
        return Ok(Value::Array(items));
    }
    // A dataclass: its fields in declaration order.
    if let Ok(fields) = obj.getattr(pyo3::intern!(obj.py(), "__dataclass_fields__")) {
        if !obj.is_instance_of::<pyo3::types::PyType>() {
            let mut map = Map::new();
            for name in fields.cast::<PyDict>()?.keys() {
                let key: String = name.extract()?;
                let value = obj.getattr(name.cast::<PyString>()?)?;
                map.insert(key, to_json_at(&value, depth + 1)?);
            }
            return Ok(Value::Object(map));
        }
    }
    // A time: an aware datetime or a timedelta, as milliseconds.
    let datetime = obj.py().import(pyo3::intern!(obj.py(), "datetime"))?;
    if obj.is_instance(&datetime.getattr(pyo3::intern!(obj.py(), "datetime"))?)?
        || obj.is_instance(&datetime.getattr(pyo3::intern!(obj.py(), "timedelta"))?)?
    {
        return Ok(Value::Number(millis(obj, "time")?.into()));
    }
    Err(PyTypeError::new_err(format!(
        "cannot use a value of type {} here",
        obj.get_type().name()?
    )))
}

/// A core type from a Python value, through its serde shape. `what` names
/// the argument in the error.
pub(crate) fn from_py<T: DeserializeOwned>(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<T> {
    let value = to_json(obj)?;
    serde_json::from_value(value).map_err(|e| InvalidInput::new_err(format!("{what}: {e}")))
}

/// A JSON value as Python: dicts, lists, `str`, `int`, `float`, `bool`,
/// `None`.
pub(crate) fn json_to_py<'py>(py: Python<'py>, value: &Value) -> PyResult<Bound<'py, PyAny>> {
    Ok(match value {
        Value::Null => py.None().into_bound(py),
        Value::Bool(b) => PyBool::new(py, *b).to_owned().into_any(),
        Value::Number(n) => {
            if let Some(v) = n.as_u64() {
                v.into_pyobject(py)?.into_any()
            } else if let Some(v) = n.as_i64() {
                v.into_pyobject(py)?.into_any()
            } else {
                n.as_f64().unwrap_or(f64::NAN).into_pyobject(py)?.into_any()
            }
        }
        Value::String(s) => PyString::new(py, s).into_any(),
        Value::Array(items) => {
            let list = PyList::empty(py);
            for item in items {
                list.append(json_to_py(py, item)?)?;
            }
            list.into_any()
        }
        Value::Object(map) => {
            let dict = PyDict::new(py);
            for (k, v) in map {
                dict.set_item(k, json_to_py(py, v)?)?;
            }
            dict.into_any()
        }
    })
}

/// A core value in its serde shape, as Python dicts and lists.
///
/// A `serde_json::Value` holds integers only up to 64 bits, but some
/// values are 128-bit (derived event ids in a report's adjustments, exact
/// money): those go through JSON text and Python's `json` module, whose
/// `int` has no bound. Either way the caller gets the value: a call that
/// has changed the state never fails here for want of a representation.
pub(crate) fn to_py<'py, T: Serialize + ?Sized>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyAny>> {
    match serde_json::to_value(value) {
        Ok(json) => json_to_py(py, &json),
        Err(_) => {
            let text = serde_json::to_string(value)
                .map_err(|e| PyValueError::new_err(format!("cannot represent the value: {e}")))?;
            py.import(pyo3::intern!(py, "json"))?
                .getattr(pyo3::intern!(py, "loads"))?
                .call1((text,))
        }
    }
}

/// The serde name of a unit or data-carrying enum variant (`"zone_down"`,
/// `"preempted"`): the string, or the single key of the object serde
/// writes. Works on the core's `#[non_exhaustive]` enums without a
/// catch-all arm.
pub(crate) fn variant_name<T: Serialize>(value: &T) -> String {
    match serde_json::to_value(value) {
        Ok(Value::String(s)) => s,
        Ok(Value::Object(map)) => map.keys().next().cloned().unwrap_or_default(),
        Ok(other) => other.to_string(),
        Err(e) => e.to_string(),
    }
}

/// A name (app, SKU, zone, tenant) parsed as the core's id type.
pub(crate) fn parse_id<T>(s: &str) -> PyResult<T>
where
    T: std::str::FromStr<Err = trimline::NameError>,
{
    s.parse::<T>().map_err(crate::errors::name_error)
}

/// Milliseconds since the epoch: an `int` (not a `bool`), an aware
/// `datetime.datetime`, or a `datetime.timedelta` (from time 0).
#[derive(Copy, Clone, Debug)]
pub(crate) struct Millis(pub(crate) u64);

impl<'a, 'py> FromPyObject<'a, 'py> for Millis {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        let obj = obj.to_owned();
        millis(&obj, "time").map(Millis)
    }
}

/// A non-negative count of milliseconds from an `int`, `datetime` or
/// `timedelta`; `what` names the argument in errors.
pub(crate) fn millis(obj: &Bound<'_, PyAny>, what: &str) -> PyResult<u64> {
    let py = obj.py();
    if obj.is_instance_of::<PyBool>() {
        return Err(PyTypeError::new_err(format!(
            "{what} must be an int of milliseconds, not bool"
        )));
    }
    if obj.is_instance_of::<PyInt>() {
        return match obj.extract::<i128>() {
            Ok(v) if v < 0 => Err(PyValueError::new_err(format!(
                "{what} must not be negative: {v}"
            ))),
            Ok(v) => u64::try_from(v)
                .map_err(|_| PyValueError::new_err(format!("{what} is out of range: {v}"))),
            Err(_) => Err(PyValueError::new_err(format!("{what} is out of range"))),
        };
    }
    let datetime = py.import(pyo3::intern!(py, "datetime"))?;
    let ms = if obj.is_instance(&datetime.getattr(pyo3::intern!(py, "datetime"))?)? {
        if obj.getattr(pyo3::intern!(py, "tzinfo"))?.is_none() {
            return Err(PyValueError::new_err(format!(
                "{what}: a naive datetime has no defined time; give it a tzinfo"
            )));
        }
        let epoch = datetime
            .getattr(pyo3::intern!(py, "datetime"))?
            .getattr(pyo3::intern!(py, "fromtimestamp"))?
            .call1((
                0,
                datetime
                    .getattr(pyo3::intern!(py, "timezone"))?
                    .getattr("utc")?,
            ))?;
        obj.call_method1(pyo3::intern!(py, "__sub__"), (epoch,))?
    } else if obj.is_instance(&datetime.getattr(pyo3::intern!(py, "timedelta"))?)? {
        obj.clone()
    } else {
        return Err(PyTypeError::new_err(format!(
            "{what} must be an int of milliseconds, a datetime or a timedelta, not {}",
            obj.get_type().name()?
        )));
    };
    // timedelta // timedelta(milliseconds=1) is an exact int (floored).
    let one = datetime
        .getattr(pyo3::intern!(py, "timedelta"))?
        .call1((0, 0, 0, 1))?;
    let n = ms.call_method1(pyo3::intern!(py, "__floordiv__"), (one,))?;
    millis(&n, what)
}

/// JSON bytes of a core value (snapshots).
pub(crate) fn to_json_bytes<'py, T: Serialize>(
    py: Python<'py>,
    value: &T,
) -> PyResult<Bound<'py, PyBytes>> {
    let bytes = serde_json::to_vec(value)
        .map_err(|e| PyValueError::new_err(format!("cannot serialize: {e}")))?;
    Ok(PyBytes::new(py, &bytes))
}

/// A core value from JSON `bytes`, `str`, or Python dicts in its shape.
pub(crate) fn from_json_input<T: DeserializeOwned>(
    obj: &Bound<'_, PyAny>,
    what: &str,
) -> PyResult<T> {
    let parsed = if let Ok(b) = obj.cast::<PyBytes>() {
        serde_json::from_slice(b.as_bytes())
    } else if let Ok(s) = obj.cast::<PyString>() {
        serde_json::from_str(s.to_str()?)
    } else if obj.is_instance_of::<PyDict>() {
        return from_py(obj, what);
    } else {
        return Err(PyTypeError::new_err(format!(
            "{what} must be bytes, str or dict, not {}",
            obj.get_type().name()?
        )));
    };
    parsed.map_err(|e| crate::errors::RestoreError::new_err(format!("{what}: {e}")))
}

/// A non-negative integer argument (`count`, `target`, host and instance
/// ids): a `bool`, `float` or other type is a `TypeError`, a negative or
/// too large value a `ValueError` (not Python's `OverflowError`).
#[derive(Copy, Clone, Debug)]
pub(crate) struct Nat<T>(pub(crate) T);

impl<'a, 'py, T: TryFrom<i128>> FromPyObject<'a, 'py> for Nat<T> {
    type Error = PyErr;

    fn extract(obj: Borrowed<'a, 'py, PyAny>) -> PyResult<Self> {
        if obj.is_instance_of::<PyBool>() || !obj.is_instance_of::<PyInt>() {
            return Err(PyTypeError::new_err(format!(
                "expected an int, not {}",
                obj.get_type().name()?
            )));
        }
        let v: i128 = obj.extract().map_err(|_| {
            PyValueError::new_err(format!(
                "{} is out of range",
                obj.repr().map(|r| r.to_string()).unwrap_or_default()
            ))
        })?;
        T::try_from(v).map(Nat).map_err(|_| {
            PyValueError::new_err(format!("{v} is out of range (negative or too large)"))
        })
    }
}
