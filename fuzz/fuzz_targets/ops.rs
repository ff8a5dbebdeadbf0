//! The operation-sequence harness of `core/tests/common/ops.rs`: a random
//! region and calls, every promise checked after every step.
#![no_main]

#[path = "../../core/tests/common/ops.rs"]
mod ops;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let mut u = arbitrary::Unstructured::new(data);
    let _ = ops::run(&mut u);
});
