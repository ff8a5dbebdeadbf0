//! Meter snapshot bytes (`core/tests/common/meter_ops.rs`): an error, or a
//! meter whose own snapshot restores to the same bytes and that keeps
//! working.
#![no_main]

#[path = "../../core/tests/common/meter_ops.rs"]
mod meter_ops;

libfuzzer_sys::fuzz_target!(|data: &[u8]| meter_ops::snapshot(data));
