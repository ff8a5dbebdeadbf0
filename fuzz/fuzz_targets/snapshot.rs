//! Snapshot bytes: decoding and restoring arbitrary bytes gives an error
//! or a scheduler that passes `check_invariants`, snapshots to what it was
//! restored from, and keeps working through a sequence of calls.
#![no_main]

#[path = "../../core/tests/common/ops.rs"]
mod ops;

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let Ok(snap) = serde_json::from_slice::<trimline::Snapshot>(data) else {
        return;
    };
    let Ok(s) = trimline::Scheduler::restore(snap.clone()) else {
        return;
    };
    if let Err(v) = s.check_invariants() {
        panic!("a restored snapshot breaks an invariant: {v}");
    }
    assert_eq!(s.snapshot(), snap, "restore changed the snapshot");
    if s.apps().next().is_none() || s.zones().next().is_none() || s.skus().next().is_none() {
        return;
    }
    // The same bytes drive calls on it, checked as in the ops harness.
    let mut u = arbitrary::Unstructured::new(data);
    let mut run = ops::Run::new(s);
    while !u.is_empty() && run.steps < 50 {
        let Ok(op) = u.arbitrary::<ops::Op>() else {
            break;
        };
        run.step(&op);
    }
});
