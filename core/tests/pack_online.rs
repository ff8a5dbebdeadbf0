//! The packing engine against online best fit: on GPU-like instances
//! (hosts with 8 accelerators; items with 0, 1, 2 or 8 of them plus CPU and
//! memory), `pack` never needs more hosts than best fit placing the same
//! instances one at a time in arrival order. The instances are those the
//! scheduler placed, in that order, on a region of 40 such hosts.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use proptest::prelude::*;
use trimline::pack::{Bins, PackOptions, pack};
use trimline::*;

/// Twelve common shapes: (vCPU, GiB, accelerators).
const SHAPES: [(u64, u64, u64); 12] = [
    (4, 16, 0),
    (8, 32, 0),
    (16, 64, 0),
    (2, 8, 0),
    (8, 48, 1),
    (12, 64, 1),
    (6, 24, 1),
    (16, 96, 2),
    (24, 128, 2),
    (12, 48, 2),
    (64, 256, 8),
    (90, 360, 8),
];

/// Hosts used by best fit in arrival order: each item goes to the used
/// host it fits that is left with the least free capacity (summed over
/// dimensions as fractions of the capacity; ties to the first opened), or
/// to a new host.
fn online_best_fit(cap: &[u64], items: &[Vec<u64>]) -> usize {
    let mut loads: Vec<Vec<u64>> = Vec::new();
    for item in items {
        let mut best: Option<(u128, usize)> = None;
        for (b, load) in loads.iter().enumerate() {
            if item.iter().zip(load).zip(cap).any(|((s, l), c)| s + l > *c) {
                continue;
            }
            let slack: u128 = (0..cap.len())
                .filter(|&k| cap[k] > 0)
                .map(|k| (u128::from(cap[k] - load[k] - item[k]) << 20) / u128::from(cap[k]))
                .sum();
            if best.is_none_or(|(s, _)| slack < s) {
                best = Some((slack, b));
            }
        }
        match best {
            Some((_, b)) => loads[b].iter_mut().zip(item).for_each(|(l, s)| *l += s),
            None => loads.push(item.clone()),
        }
    }
    loads.len()
}

/// The GPU host: 96 vCPU, 384 GiB, 8 accelerators.
fn gpu_sku() -> SkuSpec {
    let mut s = sku("gn7", 96_000, 393_216);
    s.allocatable = Resources::new(96_000, 393_216, 10_000, 8).unwrap();
    s.accelerator_model = Some(id("a100"));
    s
}

/// Builds a region of `hosts` GPU hosts and one app per shape, places the
/// `arrivals` one at a time in order (stopping when the region is full),
/// and returns the items placed and the number of hosts the scheduler's
/// own online placement used for them.
fn scheduler_online(hosts: usize, arrivals: &[usize]) -> (Vec<Vec<u64>>, usize) {
    let mut sim = Sim::new();
    sim.zones(&["a"]);
    sim.sku(gpu_sku());
    let ids = sim.hosts("gn7", "a", hosts);
    for (k, (cpu, gib, acc)) in SHAPES.iter().enumerate() {
        let mut a = app(&format!("s{k}"), cpu * 1_000, gib * 1_024);
        a.resources = Resources::new(cpu * 1_000, gib * 1_024, 0, *acc).unwrap();
        a.accelerator_model = Some(id("a100"));
        sim.app(a);
    }
    let mut counts = [0u32; 12];
    let mut items: Vec<Vec<u64>> = Vec::new();
    for &k in arrivals {
        counts[k] += 1;
        let d = sim.scale(&format!("s{k}"), counts[k]);
        if d.placements.len() != 1 {
            // The region is full: what was placed so far is compared.
            let _ = sim.scale(&format!("s{k}"), counts[k] - 1);
            break;
        }
        let (cpu, gib, acc) = SHAPES[k];
        items.push(vec![cpu * 1_000, gib * 1_024, 0, acc]);
    }
    sim.s.check_invariants().unwrap();
    let used = ids
        .iter()
        .filter(|&&h| !sim.s.host(h).unwrap().instances.is_empty())
        .count();
    (items, used)
}

proptest! {
    #![proptest_config(common::cases(48))]

    #[test]
    fn pack_is_never_worse_than_online_best_fit(
        arrivals in prop::collection::vec(0usize..12, 1..120),
        budget in 0u64..20_000,
    ) {
        let (items, _) = scheduler_online(40, &arrivals);
        prop_assume!(!items.is_empty());
        let cap = vec![96_000, 393_216, 10_000, 8];
        let online = online_best_fit(&cap, &items);
        let options = PackOptions { budget, seed: 0, warm_start: None };
        let packed = pack(&Bins::Identical(cap), &items, &options).unwrap();
        prop_assert!(
            packed.bins_used <= online,
            "pack used {} hosts, online best fit {}", packed.bins_used, online
        );
    }

    /// The oracle is the scheduler itself: the hosts its online placement
    /// used for the same instances, in the same order, on the same hosts.
    #[test]
    fn pack_is_never_worse_than_the_scheduler(
        arrivals in prop::collection::vec(0usize..12, 1..400),
        budget in 0u64..20_000,
    ) {
        let hosts = 60usize;
        let (items, online) = scheduler_online(hosts, &arrivals);
        prop_assume!(!items.is_empty());
        let cap = vec![96_000, 393_216, 10_000, 8];
        let options = PackOptions { budget, seed: 0, warm_start: None };
        let packed = pack(&Bins::Identical(cap.clone()), &items, &options).unwrap();
        prop_assert!(
            packed.bins_used <= online,
            "pack used {} hosts, the scheduler {}", packed.bins_used, online
        );
        // The same over the region's host list.
        let listed = pack(&Bins::List(vec![cap; hosts]), &items, &options).unwrap();
        prop_assert!(
            listed.bins_used <= online,
            "pack over the host list used {} hosts, the scheduler {}", listed.bins_used, online
        );
    }
}
