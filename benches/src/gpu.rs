//! A GPU-fleet workload: hosts of 96 vCPU, 384 GiB and 8 accelerators;
//! items of twelve common shapes with 0, 1, 2 or 8 accelerators plus CPU
//! and memory, in a seeded mix. Packing it is dominated by one scarce
//! integer dimension (accelerators per host).

use crate::SplitMix;
use crate::vbp::Instance;

/// The host: vCPU in millicores, memory in MiB, accelerators.
pub const HOST: [u64; 3] = [96_000, 393_216, 8];

/// Twelve shapes (vCPU, GiB, accelerators) with their weights in the mix,
/// after the pod shapes of public GPU-cluster traces: CPU-only pods of all
/// sizes, single-accelerator pods that are CPU- or memory-heavy (eight of
/// `(12, 32, 1)` take a host's CPU with its accelerators), 2-accelerator
/// pods, and whole-host 8-accelerator jobs. CPU, memory and accelerators
/// are all near-binding (about 123, 131 and 111 hosts' worth per 1,000
/// pods), so the accelerators cannot simply be packed first.
pub const SHAPES: [(u64, u64, u64, u64); 12] = [
    (4, 16, 0, 12),
    (8, 32, 0, 10),
    (16, 64, 0, 4),
    (2, 8, 0, 8),
    (32, 64, 0, 3),
    (12, 32, 1, 14),
    (8, 48, 1, 10),
    (6, 64, 1, 8),
    (10, 24, 1, 6),
    (24, 96, 2, 8),
    (16, 128, 2, 5),
    (64, 256, 8, 2),
];

/// `n` items drawn from [`SHAPES`] by weight, seeded.
pub fn gpu_fleet(seed: u64, n: usize) -> Instance {
    let mut rng = SplitMix::new(seed ^ 0x4750_5546_4C45_4554);
    let total: u64 = SHAPES.iter().map(|s| s.3).sum();
    let mut items = Vec::with_capacity(n);
    for _ in 0..n {
        let mut r = rng.below(total);
        let &(cpu, gib, acc, _) = SHAPES
            .iter()
            .find(|s| {
                if r < s.3 {
                    true
                } else {
                    r -= s.3;
                    false
                }
            })
            .unwrap_or(&SHAPES[0]);
        items.push(vec![cpu * 1_000, gib * 1_024, acc]);
    }
    let raw = items
        .iter()
        .map(|v: &Vec<u64>| v.iter().map(|&x| x as i64).collect())
        .collect();
    Instance {
        name: format!("gpu_{n}_{seed}"),
        capacity: HOST.to_vec(),
        items,
        raw,
    }
}

/// The volume lower bound: over dimensions, the total size over the
/// capacity, rounded up.
pub fn volume_lower_bound(inst: &Instance) -> u64 {
    (0..inst.capacity.len())
        .map(|k| {
            let total: u64 = inst.items.iter().map(|v| v[k]).sum();
            total.div_ceil(inst.capacity[k].max(1))
        })
        .max()
        .unwrap_or(0)
}
