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

/// Slots per leaf block of the tree.
const BLOCK: usize = 16;

/// A max-segment tree over blocks of [`BLOCK`] slots, with the exact vectors
/// of every slot kept beside it; slots beyond the last host are zero.
///
/// Each bound vector lives in its own array (per slot and per node), so a
/// search, which compares one of them, touches 16 bytes per node and scans
/// a block's slots in one cache line pair. Trees of single-node SKUs keep
/// only the total vectors: a host's one node is the whole host.
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
    /// Number of leaf blocks, a power of two (0 when empty).
    leaves: usize,
    /// Whether the hosts have one NUMA node (node vectors equal totals).
    single_node: bool,
    /// Per [`BoundKey`] (node keys unused when `single_node`): each slot's
    /// vector; `leaves * BLOCK` entries.
    slots: [Vec<[u32; DIMENSIONS]>; 4],
    /// Per [`BoundKey`], in heap layout: node 1 is the root, node `i` has
    /// children `2i`, `2i+1`, block `b` is node `leaves + b`. Node 0 is
    /// unused.
    nodes: [Vec<[u32; DIMENSIONS]>; 4],
    /// CPU thresholds `t_k`, ascending.
    levels: [u32; LEVELS],
    /// For `FreeTotal` and `FreeNode`: per node and level, the largest free
    /// memory among hosts below with CPU free ≥ `t_k`.
    mem_at_cpu: [Vec<[u32; LEVELS]>; 2],
}

impl SegTree {
    /// An empty tree for hosts with `cpu_capacity` millicores and one NUMA
    /// node (`single_node`) or several.
    pub(crate) fn new(cpu_capacity: u32, single_node: bool) -> SegTree {
        let mut levels = [0u32; LEVELS];
        for (k, level) in levels.iter_mut().enumerate() {
            *level = (cpu_capacity >> (LEVELS - k)).max(1);
        }
        SegTree {
            levels,
            single_node,
            ..SegTree::default()
        }
    }

    /// The array holding `key`'s vectors.
    fn array_of(&self, key: BoundKey) -> usize {
        match (key, self.single_node) {
            (BoundKey::FreeNode, true) => BoundKey::FreeTotal as usize,
            (BoundKey::ReclaimNode, true) => BoundKey::ReclaimTotal as usize,
            (key, _) => key as usize,
        }
    }

    /// The arrays in use.
    fn arrays(&self) -> &'static [usize] {
        if self.single_node {
            &[0, 2]
        } else {
            &[0, 1, 2, 3]
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

    /// Number of leaf blocks for `slots` slots: the next power of two of
    /// the blocks needed (0 for 0). The tree's shape is a function of the
    /// slot count alone, so a live index and one rebuilt from a snapshot
    /// search identically.
    fn leaves_for(slots: usize) -> usize {
        if slots == 0 {
            0
        } else {
            slots.div_ceil(BLOCK).next_power_of_two()
        }
    }

    fn grow_to(&mut self, slots: usize) {
        if slots <= self.leaves * BLOCK {
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
        let keep = self.leaves.min(leaves) * BLOCK;
        for &a in self.arrays() {
            let mut slots = vec![[0u32; DIMENSIONS]; leaves * BLOCK];
            slots[..keep].copy_from_slice(&self.slots[a][..keep]);
            self.slots[a] = slots;
            self.nodes[a] = vec![[0u32; DIMENSIONS]; 2 * leaves];
        }
        for m in 0..self.mem_arrays() {
            self.mem_at_cpu[m] = vec![[0u32; LEVELS]; 2 * leaves];
        }
        self.leaves = leaves;
        for b in 0..leaves {
            self.refresh_block(b);
        }
        for i in (1..leaves).rev() {
            for &a in self.arrays() {
                let nodes = &mut self.nodes[a];
                nodes[i] = max_each(&nodes[2 * i], &nodes[2 * i + 1]);
            }
            for m in 0..self.mem_arrays() {
                let mem = &mut self.mem_at_cpu[m];
                mem[i] = max_each(&mem[2 * i], &mem[2 * i + 1]);
            }
        }
    }

    /// Number of memory-given-CPU arrays in use.
    fn mem_arrays(&self) -> usize {
        if self.single_node { 1 } else { 2 }
    }

    /// Recompute block `b`'s leaf node from its slots (ancestors untouched).
    fn refresh_block(&mut self, b: usize) {
        for &a in self.arrays() {
            self.refresh_block_array(b, a);
        }
        for m in 0..self.mem_arrays() {
            self.refresh_block_mem(b, m);
        }
    }

    fn refresh_block_array(&mut self, b: usize, a: usize) {
        let mut max = [0u32; DIMENSIONS];
        for v in &self.slots[a][b * BLOCK..(b + 1) * BLOCK] {
            max = max_each(&max, v);
        }
        self.nodes[a][self.leaves + b] = max;
    }

    fn refresh_block_mem(&mut self, b: usize, m: usize) {
        let mut max = [0u32; LEVELS];
        for v in &self.slots[m][b * BLOCK..(b + 1) * BLOCK] {
            for (m, level) in max.iter_mut().zip(self.levels) {
                *m = (*m).max(if v[0] >= level { v[1] } else { 0 });
            }
        }
        self.mem_at_cpu[m][self.leaves + b] = max;
    }

    /// How a block's maximum must change when one of its slots goes from
    /// `old` to `new`, given the block's current maximum `max`: `None` if it
    /// stays, `Some(Some(v))` if it becomes `v`, `Some(None)` if it must be
    /// recomputed from the block's slots.
    fn block_change<const N: usize>(
        old: &[u32; N],
        new: &[u32; N],
        max: &[u32; N],
    ) -> Option<Option<[u32; N]>> {
        if old == new {
            return None;
        }
        if (0..N).all(|d| new[d] >= old[d]) {
            // Only growth: the maximum grows with it, if at all.
            let grown = max_each(max, new);
            return (grown != *max).then_some(Some(grown));
        }
        if (0..N).all(|d| new[d] <= old[d] && (new[d] == old[d] || old[d] < max[d])) {
            // Only shrinking, of values that were not the block's maximum.
            return None;
        }
        Some(None)
    }

    /// Set one slot and update its block and the block's ancestors.
    pub(crate) fn set(&mut self, slot: u32, bounds: Bounds) {
        let slot = slot as usize;
        self.grow_to(slot + 1);
        let values = [
            bounds.free_total,
            bounds.free_node,
            bounds.reclaim_total,
            bounds.reclaim_node,
        ];
        let b = slot / BLOCK;
        let node = self.leaves + b;
        let old: [[u32; DIMENSIONS]; 4] =
            std::array::from_fn(|a| self.slots[a].get(slot).copied().unwrap_or_default());
        for &a in self.arrays() {
            self.slots[a][slot] = values[a];
        }
        for m in 0..self.mem_arrays() {
            let (old, new) = (self.mem_at_cpu_of(&old[m]), self.mem_at_cpu_of(&values[m]));
            match Self::block_change(&old, &new, &self.mem_at_cpu[m][node]) {
                None => continue,
                Some(Some(v)) => self.mem_at_cpu[m][node] = v,
                Some(None) => self.refresh_block_mem(b, m),
            }
            let value = self.mem_at_cpu[m][node];
            set_path(&mut self.mem_at_cpu[m], node, value);
        }
        for &a in self.arrays() {
            match Self::block_change(&old[a], &values[a], &self.nodes[a][node]) {
                None => continue,
                Some(Some(v)) => self.nodes[a][node] = v,
                Some(None) => self.refresh_block_array(b, a),
            }
            let value = self.nodes[a][node];
            set_path(&mut self.nodes[a], node, value);
        }
    }

    /// The bounds stored for one slot.
    pub(crate) fn leaf(&self, slot: u32) -> Bounds {
        Bounds {
            free_total: self.leaf_bound(BoundKey::FreeTotal, slot),
            free_node: self.leaf_bound(BoundKey::FreeNode, slot),
            reclaim_total: self.leaf_bound(BoundKey::ReclaimTotal, slot),
            reclaim_node: self.leaf_bound(BoundKey::ReclaimNode, slot),
        }
    }

    /// One bound vector of one slot (zero beyond the last slot).
    pub(crate) fn leaf_bound(&self, key: BoundKey, slot: u32) -> [u32; DIMENSIONS] {
        self.slots[self.array_of(key)]
            .get(slot as usize)
            .copied()
            .unwrap_or_default()
    }

    /// Visit, left to right, the slots whose `key` bound covers `req`, with
    /// their `key` vector. `visit` returns `Break` to stop the search. At most `budget` tree
    /// nodes (a block of slots counting as one) are examined; returns true
    /// if the budget ran out first.
    pub(crate) fn search(
        &self,
        key: BoundKey,
        req: &[u32; DIMENSIONS],
        budget: usize,
        mut visit: impl FnMut(u32, &[u32; DIMENSIONS]) -> ControlFlow<()>,
    ) -> bool {
        if self.leaves == 0 {
            return false;
        }
        let a = self.array_of(key);
        let nodes = &self.nodes[a];
        let slots = &self.slots[a];
        // The memory-given-CPU bound for the highest level the request's
        // CPU reaches, for the free keys.
        let extra = match key {
            BoundKey::FreeTotal | BoundKey::FreeNode => self
                .levels
                .iter()
                .rposition(|&level| level <= req[0])
                .and_then(|k| Some((self.mem_at_cpu.get(a)?, k))),
            BoundKey::ReclaimTotal | BoundKey::ReclaimNode => None,
        };
        let mut visits = 0usize;
        // Depth-first, left child first: at most one pending right sibling
        // per level, and a tree has at most 18 levels (MAX_CLASS_SLOTS /
        // BLOCK leaves), so 24 entries never overflow.
        let mut stack = [0u32; 24];
        let mut top = 0usize;
        let mut i = 1usize;
        loop {
            visits += 1;
            if visits > budget {
                return true;
            }
            let fits = covers(&nodes[i], req) && extra.is_none_or(|(mem, k)| mem[i][k] >= req[1]);
            if fits {
                if i >= self.leaves {
                    let first = (i - self.leaves) * BLOCK;
                    for (s, v) in slots[first..first + BLOCK].iter().enumerate() {
                        // Slots are below MAX_CLASS_SLOTS, so the cast is
                        // lossless.
                        if covers(v, req) && visit((first + s) as u32, v).is_break() {
                            return false;
                        }
                    }
                } else {
                    if top < stack.len() {
                        // Node numbers are below 2 * leaves <= 2^18.
                        stack[top] = (2 * i + 1) as u32;
                        top += 1;
                    }
                    i *= 2;
                    continue;
                }
            }
            if top == 0 {
                break;
            }
            top -= 1;
            i = stack[top] as usize;
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
    pub(crate) fn new(
        sku: usize,
        zone: usize,
        planned: bool,
        cpu_capacity: u32,
        single_node: bool,
    ) -> ClassIndex {
        ClassIndex {
            sku,
            zone,
            planned,
            slots: Vec::new(),
            free_slots: BTreeSet::new(),
            tree: SegTree::new(cpu_capacity, single_node),
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
        t.search(
            BoundKey::FreeTotal,
            &[req; DIMENSIONS],
            usize::MAX,
            |s, _| {
                out.push(s);
                ControlFlow::Continue(())
            },
        );
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
        let mut t = SegTree::new(64_000, false);
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
        let ran_out = t.search(BoundKey::FreeTotal, &[8_000, 16_000, 0, 0], 20, |s, _| {
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
            single_node in proptest::bool::ANY,
            node_key in proptest::bool::ANY,
        ) {
            let mut t = SegTree::new(64_000, single_node);
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
            // A single-node tree answers node keys with the totals; the
            // test's node vectors equal the totals either way.
            for (s, (c, m, n, a)) in leaves.iter().enumerate() {
                let mut v = b(0);
                v.free_total = [*c, *m, *n, *a];
                v.free_node = v.free_total;
                t.set(s as u32, v);
            }
            let key = if node_key { BoundKey::FreeNode } else { BoundKey::FreeTotal };
            let mut got = vec![];
            t.search(key, &req, usize::MAX, |s, _| {
                got.push(s);
                ControlFlow::Continue(())
            });
            proptest::prop_assert_eq!(got, want);
        }
    }

    proptest::proptest! {
        /// However a tree got to its slot values (growing, shrinking, in any
        /// order), its nodes equal those of a tree given the final values
        /// directly: the incremental block updates are exact.
        #[test]
        fn incremental_updates_equal_a_fresh_build(
            steps in proptest::collection::vec(
                (0u32..70, 0u32..64_000, 0u32..256_000, 0u32..3), 1..300),
            single_node in proptest::bool::ANY,
        ) {
            let vector = |c: u32, m: u32, g: u32| [c, m, c / 2, g];
            let bounds = |c: u32, m: u32, g: u32| Bounds {
                free_total: vector(c, m, g),
                free_node: vector(c / 2, m / 2, g),
                reclaim_total: vector(c, m.saturating_add(1_000), g),
                reclaim_node: vector(c / 2, m / 2, g),
            };
            let mut live = SegTree::new(64_000, single_node);
            let mut last = std::collections::BTreeMap::new();
            for (slot, c, m, g) in steps {
                live.set(slot, bounds(c, m, g));
                last.insert(slot, (c, m, g));
            }
            let mut fresh = SegTree::new(64_000, single_node);
            for slot in 0..=*last.keys().next_back().unwrap_or(&0) {
                let value = last.get(&slot).map(|&(c, m, g)| bounds(c, m, g));
                fresh.set(slot, value.unwrap_or_default());
            }
            proptest::prop_assert_eq!(live.leaves, fresh.leaves);
            proptest::prop_assert_eq!(&live.slots, &fresh.slots);
            proptest::prop_assert_eq!(&live.nodes, &fresh.nodes);
            proptest::prop_assert_eq!(&live.mem_at_cpu, &fresh.mem_at_cpu);
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
        t.search(BoundKey::FreeTotal, &[5, 5, 0, 0], usize::MAX, |s, _| {
            out.push(s);
            ControlFlow::Continue(())
        });
        assert!(out.is_empty());
    }

    #[test]
    fn removing_trailing_slots_shrinks_to_the_canonical_shape() {
        let mut grown = ClassIndex::new(0, 0, false, 64, false);
        let mut fresh = ClassIndex::new(0, 0, false, 64, false);
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
        let mut c = ClassIndex::new(0, 0, false, 64, false);
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
