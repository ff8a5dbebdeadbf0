//! The host index: one segment tree per (SKU, zone) class.
//!
//! Hosts of one class share every property that class-level constraints look
//! at (architecture, features, performance, zone), so those constraints are
//! decided once per class. Inside a class, each host sits in a slot; a
//! segment tree over the slots keeps, per node, the per-dimension maximum of
//! four vectors over the hosts below it:
//!
//! * `free_total`: the host's free capacity;
//! * `free_node`: the largest free capacity of any one NUMA node;
//! * `reclaim_total` / `reclaim_node`: the same, counting capacity held by
//!   best-effort instances as free (what a rigid instance could get by
//!   preemption).
//!
//! A search descends only into subtrees whose bound covers the request, so
//! finding the leftmost hosts that fit costs O(log n) per host found when
//! the bound is tight. Updating a host after an allocation costs O(log n).

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use smallvec::SmallVec;

use crate::ids::HostId;
use crate::resources::DIMENSIONS;

/// The four bound vectors of a tree node.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Bounds {
    pub(crate) free_total: [u32; DIMENSIONS],
    pub(crate) free_node: [u32; DIMENSIONS],
    pub(crate) reclaim_total: [u32; DIMENSIONS],
    pub(crate) reclaim_node: [u32; DIMENSIONS],
}

/// Which bound vector a search compares the request with.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) enum BoundKey {
    FreeTotal,
    FreeNode,
    ReclaimTotal,
    ReclaimNode,
}

fn max_each<const N: usize>(a: &[u32; N], b: &[u32; N]) -> [u32; N] {
    let mut out = [0; N];
    for i in 0..N {
        out[i] = a[i].max(b[i]);
    }
    out
}

#[inline]
fn covers(bound: &[u32; DIMENSIONS], req: &[u32; DIMENSIONS]) -> bool {
    // Non-short-circuiting, so the four comparisons compile branch-free.
    (bound[0] >= req[0]) & (bound[1] >= req[1]) & (bound[2] >= req[2]) & (bound[3] >= req[3])
}

/// Set node `i` of a heap-layout max tree and update its ancestors.
fn set_path<const N: usize>(array: &mut [[u32; N]], mut i: usize, value: [u32; N]) {
    array[i] = value;
    while i > 1 {
        i /= 2;
        let merged = max_each(&array[2 * i], &array[2 * i + 1]);
        if array[i] == merged {
            break;
        }
        array[i] = merged;
    }
}

/// CPU levels of the memory-given-CPU bounds (see [`SegTree`]).
const LEVELS: usize = 6;

/// A max-segment tree over slots; leaves beyond the last slot are zero.
///
/// The four bound vectors live in four arrays, so a search, which compares
/// one of them, touches 16 bytes per node.
///
/// Per-dimension maxima are loose where some hosts have CPU but no memory
/// left and others the reverse: a subtree's bound then covers requests that
/// no host in it fits. For the free keys the tree also keeps, per CPU level
/// `t_k` (1/64, 1/32, ..., 1/2 of the SKU's CPU), the largest free memory
/// among hosts with at least `t_k` CPU free. A request with CPU `c ≥ t_k`
/// needs a host with memory free ≥ its memory among those, which prunes
/// such mixed subtrees. It is a necessary condition, so no host that fits
/// is ever skipped.
#[derive(Clone, Debug, Default)]
pub(crate) struct SegTree {
    /// Number of leaves, a power of two (0 when empty).
    leaves: usize,
    /// One array per [`BoundKey`], in heap layout: node 1 is the root, node
    /// `i` has children `2i`, `2i+1`, leaf `s` is node `leaves + s`. Node 0
    /// is unused.
    nodes: [Vec<[u32; DIMENSIONS]>; 4],
    /// CPU thresholds `t_k`, ascending.
    levels: [u32; LEVELS],
    /// For `FreeTotal` and `FreeNode`: per node and level, the largest free
    /// memory among hosts below with CPU free ≥ `t_k`.
    mem_at_cpu: [Vec<[u32; LEVELS]>; 2],
}

impl SegTree {
    /// An empty tree for hosts with `cpu_capacity` millicores.
    pub(crate) fn new(cpu_capacity: u32) -> SegTree {
        let mut levels = [0u32; LEVELS];
        for (k, level) in levels.iter_mut().enumerate() {
            *level = (cpu_capacity >> (LEVELS - k)).max(1);
        }
        SegTree {
            levels,
            ..SegTree::default()
        }
    }

    fn mem_at_cpu_of(&self, free: &[u32; DIMENSIONS]) -> [u32; LEVELS] {
        let mut out = [0u32; LEVELS];
        for (o, level) in out.iter_mut().zip(self.levels) {
            if free[0] >= level {
                *o = free[1];
            }
        }
        out
    }

    /// Number of leaves for `slots` slots: the next power of two (0 for 0).
    /// The tree's shape is a function of the slot count alone, so a live
    /// index and one rebuilt from a snapshot search identically.
    fn leaves_for(slots: usize) -> usize {
        if slots == 0 {
            0
        } else {
            slots.next_power_of_two()
        }
    }

    fn grow_to(&mut self, slots: usize) {
        if slots <= self.leaves {
            return;
        }
        self.resize(Self::leaves_for(slots));
    }

    /// Shrink to the canonical size for `slots` slots.
    fn shrink_to(&mut self, slots: usize) {
        let leaves = Self::leaves_for(slots);
        if leaves < self.leaves {
            self.resize(leaves);
        }
    }

    fn resize(&mut self, leaves: usize) {
        for array in &mut self.nodes {
            if leaves == 0 {
                *array = Vec::new();
                continue;
            }
            let mut nodes = vec![[0u32; DIMENSIONS]; 2 * leaves];
            for s in 0..self.leaves.min(leaves) {
                nodes[leaves + s] = array[self.leaves + s];
            }
            for i in (1..leaves).rev() {
                nodes[i] = max_each(&nodes[2 * i], &nodes[2 * i + 1]);
            }
            *array = nodes;
        }
        for array in &mut self.mem_at_cpu {
            if leaves == 0 {
                *array = Vec::new();
                continue;
            }
            let mut nodes = vec![[0u32; LEVELS]; 2 * leaves];
            for s in 0..self.leaves.min(leaves) {
                nodes[leaves + s] = array[self.leaves + s];
            }
            for i in (1..leaves).rev() {
                nodes[i] = max_each(&nodes[2 * i], &nodes[2 * i + 1]);
            }
            *array = nodes;
        }
        self.leaves = leaves;
    }

    /// Set one leaf and update its ancestors.
    pub(crate) fn set(&mut self, slot: u32, bounds: Bounds) {
        let slot = slot as usize;
        self.grow_to(slot + 1);
        let values = [
            bounds.free_total,
            bounds.free_node,
            bounds.reclaim_total,
            bounds.reclaim_node,
        ];
        let extra = [
            self.mem_at_cpu_of(&bounds.free_total),
            self.mem_at_cpu_of(&bounds.free_node),
        ];
        let leaf = self.leaves + slot;
        for (array, value) in self.nodes.iter_mut().zip(values) {
            set_path(array, leaf, value);
        }
        for (array, value) in self.mem_at_cpu.iter_mut().zip(extra) {
            set_path(array, leaf, value);
        }
    }

    /// The bounds stored for one slot.
    pub(crate) fn leaf(&self, slot: u32) -> Bounds {
        let slot = slot as usize;
        if slot >= self.leaves {
            return Bounds::default();
        }
        let i = self.leaves + slot;
        Bounds {
            free_total: self.nodes[0][i],
            free_node: self.nodes[1][i],
            reclaim_total: self.nodes[2][i],
            reclaim_node: self.nodes[3][i],
        }
    }

    /// One bound vector of one slot (the slot must be below the leaf count).
    pub(crate) fn leaf_bound(&self, key: BoundKey, slot: u32) -> [u32; DIMENSIONS] {
        self.nodes[key as usize]
            .get(self.leaves + slot as usize)
            .copied()
            .unwrap_or_default()
    }

    /// Visit, left to right, the slots whose `key` bound covers `req`.
    /// `visit` returns `Break` to stop the search. At most `budget` tree
    /// nodes are examined; returns true if the budget ran out first.
    pub(crate) fn search(
        &self,
        key: BoundKey,
        req: &[u32; DIMENSIONS],
        budget: usize,
        mut visit: impl FnMut(u32) -> ControlFlow<()>,
    ) -> bool {
        if self.leaves == 0 {
            return false;
        }
        let nodes = &self.nodes[key as usize];
        // The memory-given-CPU bound for the highest level the request's
        // CPU reaches, for the free keys.
        let extra = match key {
            BoundKey::FreeTotal | BoundKey::FreeNode => self
                .levels
                .iter()
                .rposition(|&level| level <= req[0])
                .map(|k| (&self.mem_at_cpu[key as usize], k)),
            BoundKey::ReclaimTotal | BoundKey::ReclaimNode => None,
        };
        let mut visits = 0usize;
        let mut stack: SmallVec<[usize; 64]> = SmallVec::new();
        stack.push(1);
        while let Some(i) = stack.pop() {
            visits += 1;
            if visits > budget {
                return true;
            }
            if !covers(&nodes[i], req) {
                continue;
            }
            if let Some((mem, k)) = extra {
                if mem[i][k] < req[1] {
                    continue;
                }
            }
            if i >= self.leaves {
                // Leaves hold slot numbers below `leaves`, which is a usize
                // built from u32 slots, so the cast is lossless.
                if visit((i - self.leaves) as u32).is_break() {
                    return false;
                }
            } else {
                stack.push(2 * i + 1);
                stack.push(2 * i);
            }
        }
        false
    }

    /// A visit budget of `per_level` nodes per level of the tree (0 means
    /// no limit).
    pub(crate) fn budget(&self, per_level: u32) -> usize {
        if per_level == 0 {
            return usize::MAX;
        }
        let depth = self.leaves.max(1).trailing_zeros() as usize + 1;
        (per_level as usize).saturating_mul(depth)
    }
}

/// Most hosts one (SKU, zone) class can hold at once (slots 0 to this − 1).
pub const MAX_CLASS_SLOTS: u32 = 1 << 20;

/// The hosts of one (SKU, zone) class.
#[derive(Clone, Debug)]
pub(crate) struct ClassIndex {
    pub(crate) sku: usize,
    pub(crate) zone: usize,
    /// Whether the class holds planned hosts (being provisioned).
    pub(crate) planned: bool,
    pub(crate) slots: Vec<Option<HostId>>,
    free_slots: BTreeSet<u32>,
    pub(crate) tree: SegTree,
    pub(crate) hosts: u32,
}

impl ClassIndex {
    pub(crate) fn new(sku: usize, zone: usize, planned: bool, cpu_capacity: u32) -> ClassIndex {
        ClassIndex {
            sku,
            zone,
            planned,
            slots: Vec::new(),
            free_slots: BTreeSet::new(),
            tree: SegTree::new(cpu_capacity),
            hosts: 0,
        }
    }

    /// The lowest free slot (deterministic reuse).
    pub(crate) fn next_slot(&self) -> u32 {
        match self.free_slots.first() {
            Some(&s) => s,
            // Slots are bounded by the host count, far below u32::MAX.
            None => self.slots.len() as u32,
        }
    }

    /// Put a host in a slot (free, or past the end). Returns false if the
    /// slot is taken.
    pub(crate) fn insert(&mut self, slot: u32, host: HostId, bounds: Bounds) -> bool {
        let s = slot as usize;
        if s < self.slots.len() {
            if self.slots[s].is_some() {
                return false;
            }
            self.free_slots.remove(&slot);
        } else {
            for missing in self.slots.len()..s {
                // missing < s <= u32::MAX
                self.free_slots.insert(missing as u32);
            }
            self.slots.resize(s + 1, None);
        }
        self.slots[s] = Some(host);
        self.hosts += 1;
        self.tree.set(slot, bounds);
        true
    }

    /// Empty a slot. Trailing empty slots are dropped and the tree shrunk,
    /// so the index's shape depends only on the occupied slots.
    pub(crate) fn remove(&mut self, slot: u32) {
        let s = slot as usize;
        if s < self.slots.len() && self.slots[s].take().is_some() {
            self.hosts -= 1;
            self.free_slots.insert(slot);
            self.tree.set(slot, Bounds::default());
            while let Some(None) = self.slots.last() {
                self.slots.pop();
                // slots.len() < u32::MAX: slots are bounded by MAX_CLASS_SLOTS.
                self.free_slots.remove(&(self.slots.len() as u32));
            }
            self.tree.shrink_to(self.slots.len());
        }
    }

    pub(crate) fn host_at(&self, slot: u32) -> Option<HostId> {
        self.slots.get(slot as usize).copied().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b(v: u32) -> Bounds {
        Bounds {
            free_total: [v; DIMENSIONS],
            free_node: [v; DIMENSIONS],
            reclaim_total: [v; DIMENSIONS],
            reclaim_node: [v; DIMENSIONS],
        }
    }

    fn found(t: &SegTree, req: u32) -> Vec<u32> {
        let mut out = vec![];
        t.search(BoundKey::FreeTotal, &[req; DIMENSIONS], usize::MAX, |s| {
            out.push(s);
            ControlFlow::Continue(())
        });
        out
    }

    #[test]
    fn search_finds_exactly_the_fitting_slots_left_to_right() {
        let mut t = SegTree::default();
        let vals = [5, 1, 9, 3, 7, 0, 2];
        for (i, v) in vals.iter().enumerate() {
            t.set(i as u32, b(*v));
        }
        assert_eq!(found(&t, 4), vec![0, 2, 4]);
        assert_eq!(found(&t, 9), vec![2]);
        assert!(found(&t, 10).is_empty());
        t.set(2, b(0));
        assert_eq!(found(&t, 9), Vec::<u32>::new());
        assert_eq!(found(&t, 1), vec![0, 1, 3, 4, 6]);
    }

    #[test]
    fn memory_given_cpu_bounds_prune_mixed_subtrees() {
        // Slots 0..62 alternate CPU-rich / memory-rich; slot 63 fits.
        let mut t = SegTree::new(64_000);
        for s in 0..64u32 {
            let mut v = b(0);
            v.free_total = match s {
                63 => [8_000, 16_000, 0, 0],
                _ if s % 2 == 0 => [30_000, 1_000, 0, 0],
                _ => [1_000, 60_000, 0, 0],
            };
            t.set(s, v);
        }
        let mut out = vec![];
        // 8000 mCPU reaches level 3 (64000/8): only slot 63 has memory there.
        let ran_out = t.search(BoundKey::FreeTotal, &[8_000, 16_000, 0, 0], 20, |s| {
            out.push(s);
            ControlFlow::Continue(())
        });
        assert_eq!(out, vec![63]);
        assert!(!ran_out, "pruned subtrees leave the budget unspent");
    }

    proptest::proptest! {
        /// With no budget, a search yields exactly the slots whose bound
        /// covers the request, in slot order: the pruning never skips one.
        #[test]
        fn search_is_exact_without_a_budget(
            leaves in proptest::collection::vec(
                (0u32..64_000, 0u32..256_000, 0u32..100, 0u32..4), 1..200),
            req in (1u32..64_000, 1u32..256_000, 0u32..100, 0u32..4),
        ) {
            let mut t = SegTree::new(64_000);
            for (s, (c, m, n, a)) in leaves.iter().enumerate() {
                let mut v = b(0);
                v.free_total = [*c, *m, *n, *a];
                t.set(s as u32, v);
            }
            let req = [req.0, req.1, req.2, req.3];
            let want: Vec<u32> = leaves
                .iter()
                .enumerate()
                .filter(|(_, (c, m, n, a))| {
                    *c >= req[0] && *m >= req[1] && *n >= req[2] && *a >= req[3]
                })
                .map(|(s, _)| s as u32)
                .collect();
            let mut got = vec![];
            t.search(BoundKey::FreeTotal, &req, usize::MAX, |s| {
                got.push(s);
                ControlFlow::Continue(())
            });
            proptest::prop_assert_eq!(got, want);
        }
    }

    #[test]
    fn search_respects_every_dimension() {
        let mut t = SegTree::default();
        let mut a = b(0);
        a.free_total = [10, 0, 0, 0];
        let mut c = b(0);
        c.free_total = [0, 10, 0, 0];
        t.set(0, a);
        t.set(1, c);
        // The root bound covers [10, 10] but no single leaf does.
        let mut out = vec![];
        t.search(BoundKey::FreeTotal, &[5, 5, 0, 0], usize::MAX, |s| {
            out.push(s);
            ControlFlow::Continue(())
        });
        assert!(out.is_empty());
    }

    #[test]
    fn removing_trailing_slots_shrinks_to_the_canonical_shape() {
        let mut grown = ClassIndex::new(0, 0, false, 64);
        let mut fresh = ClassIndex::new(0, 0, false, 64);
        for i in 0..9 {
            assert!(grown.insert(i, HostId(u64::from(i)), b(i + 1)));
        }
        for i in (3..9).rev() {
            grown.remove(i);
        }
        grown.remove(1);
        for i in [0, 2] {
            assert!(fresh.insert(i, HostId(u64::from(i)), b(i + 1)));
        }
        assert_eq!(grown.slots, fresh.slots);
        assert_eq!(grown.next_slot(), 1);
        assert_eq!(fresh.next_slot(), 1);
        assert_eq!(grown.tree.leaves, fresh.tree.leaves);
        assert_eq!(grown.tree.nodes, fresh.tree.nodes);
        assert_eq!(grown.tree.leaf(2), b(3));
        grown.remove(0);
        grown.remove(2);
        assert!(grown.slots.is_empty());
        assert_eq!(grown.tree.leaves, 0);
        assert_eq!(grown.next_slot(), 0);
    }

    #[test]
    fn class_slots_are_reused_lowest_first() {
        let mut c = ClassIndex::new(0, 0, false, 64);
        for i in 0..4 {
            let s = c.next_slot();
            assert!(c.insert(s, HostId(i), b(1)));
        }
        c.remove(2);
        c.remove(1);
        assert_eq!(c.next_slot(), 1);
        assert!(!c.insert(0, HostId(9), b(1)));
        assert!(c.insert(1, HostId(9), b(1)));
        assert_eq!(c.next_slot(), 2);
        assert_eq!(c.hosts, 3);
        assert_eq!(c.host_at(1), Some(HostId(9)));
    }
}
