//! Metering event streams (`core/tests/common/meter_ops.rs`): duplicates,
//! reordering, huge values and time jumps; refusals leave the meter
//! byte-identical and invoice lines sum to the total.
#![no_main]

#[path = "../../core/tests/common/meter_ops.rs"]
mod meter_ops;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut u = arbitrary::Unstructured::new(data);
    let _ = meter_ops::events(&mut u);
});
