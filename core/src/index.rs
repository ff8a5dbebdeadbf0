//! The host index: one tree per (SKU, zone) class.
//!
//! Hosts of one class share every property that class-level constraints look
//! at (architecture, features, performance, zone), so those constraints are
//! decided once per class. Inside a class, each host sits in a slot; a tree
//! of fan-out 16 over the slots keeps, per node, the per-dimension maximum
//! of four vectors over the hosts below it:
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

use wide::{i8x16, i16x8, i16x16, i32x4, i32x8};

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

/// CPU levels of the memory-given-CPU bounds (see [`SegTree`]).
const LEVELS: usize = 6;

/// Lanes of a group: slots per leaf block, and children per inner node.
const FAN: usize = 16;

/// Vectors of four lanes per group.
const CHUNKS: usize = FAN / 4;

/// One number per lane of a group.
///
/// Values are stored as `i32`: every bound and request is at most
/// [`Dimension::max`](crate::resources::Dimension::max), below 2^31 (host
/// capacities and requests are checked against it, and bounds are sums of a
/// host's NUMA shares, which add up to its capacity). So `v ≥ r` exactly
/// when `v − r` is not negative, and a group is compared with a request by
/// subtracting four lanes at a time and collecting sign bits, a few vector
/// instructions.
type Lanes = [i32; FAN];

/// Sixteen vectors of `N` numbers, stored number-major: `self.0[d][j]` is
/// number `d` of lane `j`. Four lanes of one number load as one `i32x4`,
/// and one lane's vector is `N` loads at a fixed stride.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
#[repr(align(64))]
struct Group<const N: usize>([Lanes; N]);

/// Sixteen bound vectors (the slots of a block, or the children of an inner
/// node), stored dimension-major.
type VecGroup = Group<DIMENSIONS>;

/// Sixteen memory-given-CPU vectors, stored level-major.
type MemGroup = Group<LEVELS>;

/// A lane's vector before and after a change.
type Move<const N: usize> = ([i32; N], [i32; N]);

impl<const N: usize> Default for Group<N> {
    fn default() -> Self {
        Group([[0; FAN]; N])
    }
}

impl<const N: usize> Group<N> {
    /// Lanes `4c` to `4c + 3` of number `d`.
    #[inline]
    fn chunk(&self, d: usize, c: usize) -> i32x4 {
        let l = &self.0[d];
        // Four adjacent loads, which compile to one vector load.
        i32x4::new([l[4 * c], l[4 * c + 1], l[4 * c + 2], l[4 * c + 3]])
    }

    /// Lane `j`'s vector (`j` is below 16; taken modulo 16 so that the
    /// indexing needs no check).
    #[inline]
    fn lane(&self, j: usize) -> [i32; N] {
        std::array::from_fn(|d| self.0[d][j % FAN])
    }

    /// Set lane `j` (below 16, see [`lane`](Self::lane)).
    #[inline]
    fn set_lane(&mut self, j: usize, v: [i32; N]) {
        for (lanes, value) in self.0.iter_mut().zip(v) {
            lanes[j % FAN] = value;
        }
    }

    /// Number `d`'s maximum over the lanes.
    fn max_of(&self, d: usize) -> i32 {
        (1..CHUNKS)
            .fold(self.chunk(d, 0), |m, c| m.max(self.chunk(d, c)))
            .reduce_max()
    }

    /// Per number, the maximum over the lanes.
    fn max(&self) -> [i32; N] {
        std::array::from_fn(|d| self.max_of(d))
    }
}

/// The [`BoundKey`] arrays a tree keeps, and its memory-given-CPU arrays:
/// all four (and both) for hosts of several NUMA nodes; the totals only for
/// single-node hosts (a host's one node is the whole host).
const ALL_ARRAYS: [usize; 4] = [0, 1, 2, 3];
const ALL_MEMS: [usize; 2] = [0, 1];
const SINGLE_NODE_ARRAYS: [usize; 2] = [0, 2];
const SINGLE_NODE_MEMS: [usize; 1] = [0];

/// Deepest tree: blocks of 16 slots under at most four inner levels of 16
/// lanes hold 2^20 slots ([`MAX_CLASS_SLOTS`]).
const MAX_DEPTH: usize = 5;

/// A stored value (below 2^31, see [`Lanes`]; saturates otherwise).
fn to_lane(v: u32) -> i32 {
    i32::try_from(v).unwrap_or(i32::MAX)
}

/// A stored vector as the caller's numbers.
fn from_lanes<const N: usize>(v: [i32; N]) -> [u32; N] {
    // Stored values are not negative (see Lanes).
    v.map(|x| x as u32)
}

/// The lanes whose sign bit is clear in `short`, as bits (lane `j` of the
/// group is bit `j`); lanes past the chunks given are left out.
#[inline]
fn clear_signs(short: &[i32x4]) -> u32 {
    let negative = match *short {
        [a, b, c, d] => {
            // Saturating packs keep each lane's sign: pack the 32-bit lanes
            // to 16 bits and those to 8, in lane order, and take the
            // sixteen sign bits with one move mask.
            let (a, b, c, d) = (a.to_array(), b.to_array(), c.to_array(), d.to_array());
            let low = i16x8::from_i32x8_saturate(i32x8::new([
                a[0], a[1], a[2], a[3], b[0], b[1], b[2], b[3],
            ]));
            let high = i16x8::from_i32x8_saturate(i32x8::new([
                c[0], c[1], c[2], c[3], d[0], d[1], d[2], d[3],
            ]));
            let (l, h) = (low.to_array(), high.to_array());
            let bytes = i8x16::from_i16x16_saturate(i16x16::new([
                l[0], l[1], l[2], l[3], l[4], l[5], l[6], l[7], h[0], h[1], h[2], h[3], h[4], h[5],
                h[6], h[7],
            ]));
            // The move mask has sixteen bits.
            bytes.move_mask() as u32
        }
        _ => short.iter().enumerate().fold(0, |m, (c, s)| {
            // move_mask yields the four sign bits, 0..=15.
            m | (s.move_mask() as u32) << (4 * c)
        }),
    };
    !negative & ((1 << (4 * short.len())) - 1)
}

/// A request as a search compares it with groups.
struct Query {
    /// One splatted vector per dimension.
    req: [i32x4; DIMENSIONS],
    /// Per dimension, whether the request asks for any of it. One that
    /// asks for none is covered by every lane (stored values are not
    /// negative), so the comparison skips it.
    asks: [bool; DIMENSIONS],
    /// The memory-given-CPU level the request's CPU reaches, for the free
    /// keys.
    level: Option<usize>,
}

impl Query {
    /// Per chunk of the first `C` of `g`'s lanes (`C` at most 4): the OR of
    /// the lanes' differences from the request, which has the sign bit
    /// clear exactly where the lane covers the request in every dimension.
    #[inline]
    fn shortfall<const C: usize>(&self, g: &VecGroup) -> [i32x4; C] {
        let r = &self.req;
        // CPU (0) and memory (1) are asked for nearly always, so only
        // network (2) and accelerators (3), often not asked for, are worth
        // a branch.
        let mut short = std::array::from_fn(|c| (g.chunk(0, c) - r[0]) | (g.chunk(1, c) - r[1]));
        for d in [2, 3] {
            if self.asks[d] {
                for (c, s) in short.iter_mut().enumerate() {
                    *s |= g.chunk(d, c) - r[d];
                }
            }
        }
        short
    }
}

/// A group's maximum after one of its lanes went from `old` to `new`, given
/// its maximum `max` before, when that decides it: per number, a lane that
/// grew raises the maximum to it at most, and one that shrank from below
/// the maximum leaves it. `None` when some number shrank from the maximum:
/// recompute.
fn max_after<const N: usize>(old: &[i32; N], new: &[i32; N], max: &[i32; N]) -> Option<[i32; N]> {
    let mut out = *max;
    for d in 0..N {
        if new[d] >= old[d] {
            out[d] = max[d].max(new[d]);
        } else if old[d] >= max[d] {
            return None;
        }
    }
    Some(out)
}

/// Update lane `j` of `group` after the child it bounds changed from `old`
/// to `new`: from the change where that decides it (see [`max_after`]),
/// else to `recompute()`, the child's maximum. Returns the lane's move, or
/// `None` if it stayed (and so every lane above it stays too).
fn move_lane<const N: usize>(
    group: &mut Group<N>,
    j: usize,
    (old, new): Move<N>,
    recompute: impl FnOnce() -> [i32; N],
) -> Option<Move<N>> {
    let before = group.lane(j);
    let after = max_after(&old, &new, &before).unwrap_or_else(recompute);
    if after == before {
        return None;
    }
    group.set_lane(j, after);
    Some((before, after))
}

/// A block's memory-given-CPU number for CPU level `level`: the largest
/// free memory among its slots with CPU free ≥ `level`.
fn block_mem_at(level: i32, g: &VecGroup) -> i32 {
    let level = i32x4::splat(level);
    // A lane's memory where its CPU reaches the level, else 0 (the shifted
    // difference is all ones exactly when it does not).
    (0..CHUNKS)
        .map(|c| {
            let short: i32x4 = (g.chunk(0, c) - level) >> 31_i32;
            g.chunk(1, c) & !short
        })
        .fold(i32x4::splat(0), i32x4::max)
        .reduce_max()
}

/// A block's memory-given-CPU vector: per level `t_k` of `levels`, the
/// largest free memory among its slots with CPU free ≥ `t_k`.
fn block_mem(levels: &[i32; LEVELS], g: &VecGroup) -> [i32; LEVELS] {
    levels.map(|level| block_mem_at(level, g))
}

/// A slot vector's memory-given-CPU vector (see [`block_mem`]).
fn mem_of(levels: &[i32; LEVELS], v: &[i32; DIMENSIONS]) -> [i32; LEVELS] {
    levels.map(|level| if v[0] >= level { v[1] } else { 0 })
}

/// One inner level of the tree: lane `j` of group `g` bounds child
/// `g * FAN + j` of the level below (a leaf block for the lowest level).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
struct Level {
    /// Per [`BoundKey`] array in use: the children's maxima.
    groups: [Vec<VecGroup>; 4],
    /// For `FreeTotal` and `FreeNode`: per child and CPU level, the largest
    /// free memory among hosts below with CPU free ≥ `t_k`.
    mem: [Vec<MemGroup>; 2],
}

impl Level {
    /// The groups of [`BoundKey`] array `a`.
    fn vecs(&mut self, a: usize) -> &mut [VecGroup] {
        &mut self.groups[a]
    }

    /// The groups of memory-given-CPU array `m`.
    fn mems(&mut self, m: usize) -> &mut [MemGroup] {
        &mut self.mem[m]
    }
}

/// Carry the change of leaf block `block`'s maximum in array `a` (its
/// `array` of each level) up the inner levels; `block_max(b)` is block
/// `b`'s maximum. Each lane is updated by [`move_lane`], and the walk stops
/// at the first lane that stays.
fn carry_up<const N: usize>(
    inner: &mut [Level],
    block: usize,
    mut change: Move<N>,
    a: usize,
    array: fn(&mut Level, usize) -> &mut [Group<N>],
    block_max: impl Fn(usize) -> Option<[i32; N]>,
) {
    let mut child = block;
    for i in 0..inner.len() {
        let (lower, upper) = inner.split_at_mut(i);
        let (g, j) = (child / FAN, child % FAN);
        let Some(group) = upper.first_mut().and_then(|l| array(l, a).get_mut(g)) else {
            return;
        };
        // The child's maximum, the lane's exact value. The child exists,
        // as the lane bounding it does.
        let recompute = || {
            match lower.last_mut() {
                None => block_max(child),
                Some(below) => array(below, a).get(child).map(Group::max),
            }
            .unwrap_or([0; N])
        };
        match move_lane(group, j, change, recompute) {
            Some(next) => change = next,
            None => return,
        }
        child = g;
    }
}

/// A max-tree of fan-out 16 over blocks of 16 slots, with the exact vectors
/// of every slot; slots beyond the last host are zero.
///
/// Each bound vector lives in its own arrays, and a group of 16 lanes (the
/// slots of a block, or the children of an inner node) is stored one array
/// per dimension: a search compares a request with a whole group at once
/// and gets the lanes that cover it as a bit mask, then descends into them
/// lowest first. A class of 100,000 hosts is four groups deep. Trees of
/// single-node SKUs keep only the total vectors: a host's one node is the
/// whole host.
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
    blocks: usize,
    /// Whether the hosts have one NUMA node (node vectors equal totals).
    single_node: bool,
    /// Per [`BoundKey`] (node keys unused when `single_node`): each block's
    /// slot vectors.
    slots: [Vec<VecGroup>; 4],
    /// Inner levels, lowest first; the last has one group, the root.
    inner: Vec<Level>,
    /// Children of the root (its lanes in use; the others stay zero).
    root_children: usize,
    /// CPU thresholds `t_k`, ascending, as stored values.
    levels: [i32; LEVELS],
    /// Leaf blocks whose reclaim slot vectors changed since the reclaim
    /// arrays of the inner levels were last brought up to date (see
    /// [`refresh_reclaim`](Self::refresh_reclaim)), each listed once.
    stale: Vec<u32>,
    /// One bit per leaf block: whether it is listed in `stale`.
    stale_bits: Vec<u64>,
}

impl SegTree {
    /// An empty tree for hosts with `cpu_capacity` millicores and one NUMA
    /// node (`single_node`) or several.
    pub(crate) fn new(cpu_capacity: u32, single_node: bool) -> SegTree {
        let mut levels = [0; LEVELS];
        for (k, level) in levels.iter_mut().enumerate() {
            *level = to_lane((cpu_capacity >> (LEVELS - k)).max(1));
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
            &SINGLE_NODE_ARRAYS
        } else {
            &ALL_ARRAYS
        }
    }

    /// Number of memory-given-CPU arrays in use.
    fn mem_arrays(&self) -> usize {
        if self.single_node {
            SINGLE_NODE_MEMS.len()
        } else {
            ALL_MEMS.len()
        }
    }

    /// Number of leaf blocks for `slots` slots: the next power of two of
    /// the blocks needed (0 for 0). The tree's shape is a function of the
    /// slot count alone, so a live index and one rebuilt from a snapshot
    /// search identically.
    fn blocks_for(slots: usize) -> usize {
        if slots == 0 {
            0
        } else {
            slots.div_ceil(FAN).next_power_of_two()
        }
    }

    fn grow_to(&mut self, slots: usize) {
        if slots <= self.blocks * FAN {
            return;
        }
        self.resize(Self::blocks_for(slots));
    }

    /// Shrink to the canonical size for `slots` slots.
    fn shrink_to(&mut self, slots: usize) {
        let blocks = Self::blocks_for(slots);
        if blocks < self.blocks {
            self.resize(blocks);
        }
    }

    /// Resize to `blocks` leaf blocks, keeping the slots that still fit,
    /// and rebuild the inner levels.
    fn resize(&mut self, blocks: usize) {
        for &a in self.arrays() {
            self.slots[a].resize(blocks, VecGroup::default());
        }
        self.blocks = blocks;
        self.inner.clear();
        self.root_children = 0;
        // The inner levels are rebuilt from the slots below.
        self.stale.clear();
        self.stale_bits.clear();
        let mut below = blocks;
        while below > 0 {
            let groups = below.div_ceil(FAN);
            let mut level = Level::default();
            for &a in self.arrays() {
                level.groups[a] = vec![VecGroup::default(); groups];
            }
            for m in 0..self.mem_arrays() {
                level.mem[m] = vec![MemGroup::default(); groups];
            }
            self.inner.push(level);
            for child in 0..below {
                self.refresh_lane(self.inner.len() - 1, child);
            }
            if groups == 1 {
                self.root_children = below;
                break;
            }
            below = groups;
        }
    }

    /// Recompute the lane of inner level `i` that bounds its child `child`
    /// (a block when `i` is 0).
    fn refresh_lane(&mut self, i: usize, child: usize) {
        let (g, j) = (child / FAN, child % FAN);
        for &a in self.arrays() {
            let max = match i {
                0 => self.slots[a][child].max(),
                _ => self.inner[i - 1].groups[a][child].max(),
            };
            self.inner[i].groups[a][g].set_lane(j, max);
        }
        for m in 0..self.mem_arrays() {
            let max = match i {
                0 => block_mem(&self.levels, &self.slots[m][child]),
                _ => self.inner[i - 1].mem[m][child].max(),
            };
            self.inner[i].mem[m][g].set_lane(j, max);
        }
    }

    /// Set one slot and update the free arrays' lanes above it. Each lane
    /// is updated from the change of the lane below where that decides it
    /// (growth, or a shrinking lane that was not the maximum), and
    /// recomputed from its group otherwise; each array's walk stops at the
    /// first level where its lane stays. The reclaim arrays' lanes wait
    /// for [`refresh_reclaim`](Self::refresh_reclaim).
    pub(crate) fn set(&mut self, slot: u32, bounds: Bounds) {
        let slot = slot as usize;
        self.grow_to(slot + 1);
        // The memory-given-CPU arrays are over the free arrays in use.
        self.set_array(slot, BoundKey::FreeTotal, bounds.free_total);
        self.set_reclaim(slot, BoundKey::ReclaimTotal, bounds.reclaim_total);
        if !self.single_node {
            self.set_array(slot, BoundKey::FreeNode, bounds.free_node);
            self.set_reclaim(slot, BoundKey::ReclaimNode, bounds.reclaim_node);
        }
    }

    /// Set one slot's vector of reclaim array `key`, leaving the lanes
    /// above it to [`refresh_reclaim`](Self::refresh_reclaim): only
    /// preemption searches the reclaim arrays, and it is rare, while every
    /// allocation of a rigid instance changes them.
    fn set_reclaim(&mut self, slot: usize, key: BoundKey, value: [u32; DIMENSIONS]) {
        let (block, j) = (slot / FAN, slot % FAN);
        let new = value.map(to_lane);
        // grow_to made room for the slot, so the block is there.
        let Some(group) = self.slots[key as usize].get_mut(block) else {
            return;
        };
        if group.lane(j) == new {
            return;
        }
        group.set_lane(j, new);
        let (word, bit) = (block / 64, 1u64 << (block % 64));
        if self.stale_bits.len() <= word {
            self.stale_bits.resize(word + 1, 0);
        }
        if self.stale_bits[word] & bit == 0 {
            self.stale_bits[word] |= bit;
            // Blocks are below MAX_CLASS_SLOTS / FAN, far below u32::MAX.
            self.stale.push(block as u32);
        }
    }

    /// Bring the reclaim arrays of the inner levels up to date with their
    /// slots. Searches with a reclaim key need it first; it costs
    /// O(log n) per leaf block changed since the last call.
    pub(crate) fn refresh_reclaim(&mut self) {
        let stale = std::mem::take(&mut self.stale);
        let arrays: &[usize] = if self.single_node {
            &[BoundKey::ReclaimTotal as usize]
        } else {
            &[
                BoundKey::ReclaimTotal as usize,
                BoundKey::ReclaimNode as usize,
            ]
        };
        for &block in &stale {
            for &a in arrays {
                self.refresh_up(block as usize, a);
            }
        }
        self.stale_bits.iter_mut().for_each(|w| *w = 0);
        // Keep the list's allocation for the next round.
        self.stale = stale;
        self.stale.clear();
    }

    /// Carry leaf block `block`'s exact maximum in array `a` up the inner
    /// levels: its lane at the lowest level may be stale, and every lane
    /// above it bounds the lanes stored below, so [`carry_up`] from the
    /// stale value to the exact one brings the path up to date.
    fn refresh_up(&mut self, block: usize, a: usize) {
        let SegTree { slots, inner, .. } = self;
        let slots = &slots[a];
        let (Some(stale), Some(exact)) = (
            inner
                .first()
                .and_then(|l| l.groups[a].get(block / FAN))
                .map(|g| g.lane(block % FAN)),
            slots.get(block).map(Group::max),
        ) else {
            return;
        };
        let block_max = |b: usize| slots.get(b).map(Group::max);
        carry_up(inner, block, (stale, exact), a, Level::vecs, block_max);
    }

    /// Whether the reclaim arrays of the inner levels are up to date.
    pub(crate) fn reclaim_fresh(&self) -> bool {
        self.stale.is_empty()
    }

    /// [`set`](Self::set) for the free array of `key` and its
    /// memory-given-CPU array. Each array's change is carried up on its
    /// own: the arrays are independent, and one whose slot vector stays
    /// leaves its lanes above as they are.
    fn set_array(&mut self, slot: usize, key: BoundKey, value: [u32; DIMENSIONS]) {
        let SegTree {
            slots,
            inner,
            levels,
            ..
        } = self;
        let a = key as usize;
        let (block, j) = (slot / FAN, slot % FAN);
        let new = value.map(to_lane);
        // grow_to made room for the slot, so the block is there.
        let Some(group) = slots[a].get_mut(block) else {
            return;
        };
        let old = group.lane(j);
        if old == new {
            return;
        }
        group.set_lane(j, new);
        let slots = &slots[a];
        let change = (mem_of(levels, &old), mem_of(levels, &new));
        if change.0 != change.1 {
            let block_max = |b: usize| slots.get(b).map(|g| block_mem(levels, g));
            carry_up(inner, block, change, a, Level::mems, block_max);
        }
        let block_max = |b: usize| slots.get(b).map(Group::max);
        carry_up(inner, block, (old, new), a, Level::vecs, block_max);
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
        let slot = slot as usize;
        self.slots[self.array_of(key)]
            .get(slot / FAN)
            .map(|g| from_lanes(g.lane(slot % FAN)))
            .unwrap_or_default()
    }

    /// The lanes among the first `4 C` of group `g` of inner level `i` that
    /// may lead to a slot covering the query, as bits.
    #[inline]
    fn inner_mask<const C: usize>(&self, i: usize, a: usize, g: usize, q: &Query) -> u32 {
        let Some(level) = self.inner.get(i) else {
            return 0;
        };
        let Some(group) = level.groups[a].get(g) else {
            return 0;
        };
        let mut short = q.shortfall::<C>(group);
        // Lanes whose memory at the request's CPU level is short are out
        // too: fold them in before collecting the sign bits.
        if let Some((mem, k)) = q.level.and_then(|k| Some((level.mem.get(a)?.get(g)?, k))) {
            for (c, s) in short.iter_mut().enumerate() {
                *s |= mem.chunk(k, c) - q.req[1];
            }
        }
        clear_signs(&short)
    }

    /// Visit, left to right, the slots whose `key` bound covers `req`, with
    /// their `key` vector. `visit` returns `Break` to stop the search. At
    /// most `budget` groups (the root, then each inner node or block
    /// descended into) are opened; returns true if the budget ran out first.
    pub(crate) fn search(
        &self,
        key: BoundKey,
        req: &[u32; DIMENSIONS],
        budget: usize,
        mut visit: impl FnMut(u32, [u32; DIMENSIONS]) -> ControlFlow<()>,
    ) -> bool {
        let depth = self.inner.len();
        if depth == 0 {
            return false;
        }
        if budget == 0 {
            return true;
        }
        debug_assert!(
            matches!(key, BoundKey::FreeTotal | BoundKey::FreeNode) || self.reclaim_fresh(),
            "a reclaim search needs refresh_reclaim first"
        );
        let a = self.array_of(key);
        let slots = &self.slots[a];
        let q = Query {
            req: req.map(|r| i32x4::splat(to_lane(r))),
            asks: req.map(|r| r > 0),
            level: match key {
                BoundKey::FreeTotal | BoundKey::FreeNode => {
                    let cpu = to_lane(req[0]);
                    self.levels.iter().rposition(|&level| level <= cpu)
                }
                BoundKey::ReclaimTotal | BoundKey::ReclaimNode => None,
            },
        };
        // Depth-first, lowest lane first: per depth, the group open there
        // and the lanes still to descend into. Depth 0 is the root.
        let mut groups = [0usize; MAX_DEPTH];
        let mut masks = [0u32; MAX_DEPTH];
        // The root's lanes past its children are zero, so they cover no
        // request that is not zero: when the children fit in the first
        // chunk, compare only that.
        masks[0] = if self.root_children <= 4 && req.iter().any(|&r| r > 0) {
            self.inner_mask::<1>(depth - 1, a, 0, &q)
        } else {
            self.inner_mask::<CHUNKS>(depth - 1, a, 0, &q)
        };
        let mut opened = 1usize;
        let mut d = 0usize;
        loop {
            let mask = masks[d];
            if mask == 0 {
                if d == 0 {
                    return false;
                }
                d -= 1;
                continue;
            }
            masks[d] = mask & (mask - 1);
            let child = groups[d] * FAN + mask.trailing_zeros() as usize;
            opened += 1;
            if opened > budget {
                return true;
            }
            if d + 1 < depth {
                // An inner node, of level depth - 2 - d; d + 1 < depth <=
                // MAX_DEPTH - 1, so the index is in bounds.
                groups[d + 1] = child;
                masks[d + 1] = self.inner_mask::<CHUNKS>(depth - 2 - d, a, child, &q);
                d += 1;
            } else if let Some(g) = slots.get(child) {
                let mut hits = clear_signs(&q.shortfall::<CHUNKS>(g));
                while hits != 0 {
                    let j = hits.trailing_zeros() as usize;
                    hits &= hits - 1;
                    // Slots are below MAX_CLASS_SLOTS, so the cast is
                    // lossless.
                    if visit((child * FAN + j) as u32, from_lanes(g.lane(j))).is_break() {
                        return false;
                    }
                }
            }
        }
    }

    /// A budget of `per_level` groups per level of the tree (0 means no
    /// limit).
    pub(crate) fn budget(&self, per_level: u32) -> usize {
        if per_level == 0 {
            return usize::MAX;
        }
        (per_level as usize).saturating_mul(self.inner.len() + 1)
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
    pub(crate) free_slots: BTreeSet<u32>,
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

    /// What differs between this class and `fresh`, the same class rebuilt
    /// by inserting its hosts with their current bounds (the first part
    /// found to differ), or `None`. The reclaim arrays' inner lanes of
    /// both are compared as a search that needs them sees them, after
    /// [`SegTree::refresh_reclaim`] (of a copy, for this class).
    pub(crate) fn differs_from(&self, fresh: &mut ClassIndex) -> Option<&'static str> {
        if self.slots != fresh.slots {
            return Some("slot lists");
        }
        if self.free_slots != fresh.free_slots {
            return Some("free slots");
        }
        if self.hosts != fresh.hosts {
            return Some("host counts");
        }
        fresh.tree.refresh_reclaim();
        let refreshed;
        let live = if self.tree.reclaim_fresh() {
            &self.tree
        } else {
            let mut copy = self.tree.clone();
            copy.refresh_reclaim();
            refreshed = copy;
            &refreshed
        };
        live.differs_from(&fresh.tree)
    }
}

impl SegTree {
    /// What differs between this tree and `other` (see
    /// [`ClassIndex::differs_from`]), both with fresh reclaim arrays.
    fn differs_from(&self, other: &SegTree) -> Option<&'static str> {
        let shape = |t: &SegTree| (t.blocks, t.single_node, t.root_children, t.inner.len());
        if shape(self) != shape(other) || self.levels != other.levels {
            return Some("tree shapes");
        }
        if self.slots != other.slots {
            return Some("slot vectors");
        }
        let pairs = || self.inner.iter().zip(&other.inner);
        if pairs().any(|(a, b)| a.groups != b.groups) {
            return Some("inner-node maxima");
        }
        if pairs().any(|(a, b)| a.mem != b.mem) {
            return Some("memory-given-CPU arrays");
        }
        None
    }

    /// Test hook: raise lane 0 of group 0 of inner level 0 in array `a`
    /// (a [`BoundKey`] array) or, with `mem`, in memory-given-CPU array
    /// `a`, as a missed update would leave it.
    #[cfg(test)]
    pub(crate) fn corrupt_inner(&mut self, a: usize, mem: bool) {
        let level = &mut self.inner[0];
        if mem {
            level.mem[a][0].0[0][0] += 1;
        } else {
            level.groups[a][0].0[0][0] += 1;
        }
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

    proptest::proptest! {
        /// The bit masks name exactly the lanes that pass.
        #[test]
        fn lanes_and_searches_are_exact_up_to_the_dimension_maximum(
            lanes in proptest::array::uniform16(0u32..8),
            req in proptest::array::uniform4(0u32..8),
            big in 0u32..2,
        ) {
            // Values up to Dimension::max (memory's 2^30 is the largest).
            let lanes = lanes.map(|v| if big == 1 { v << 27 } else { v });
            let req = req.map(|v| if big == 1 { v << 27 } else { v });
            let top = lanes.iter().max().copied().unwrap_or(0);
            let vector = |v: u32| [v, v / 2, top - v, v % 3];
            let mut g = VecGroup::default();
            let mut t = SegTree::new(8 << 27, true);
            for (j, v) in lanes.iter().enumerate() {
                g.set_lane(j, vector(*v).map(to_lane));
                proptest::prop_assert_eq!(from_lanes(g.lane(j)), vector(*v));
                t.set(j as u32, Bounds { free_total: vector(*v), ..Bounds::default() });
            }
            proptest::prop_assert_eq!(
                from_lanes(g.max()),
                [0, 1, 2, 3].map(|d| (0..FAN).map(|j| vector(lanes[j])[d]).max().unwrap_or(0))
            );
            let want: Vec<u32> = (0..FAN as u32)
                .filter(|&j| (0..DIMENSIONS).all(|d| vector(lanes[j as usize])[d] >= req[d]))
                .collect();
            let mut got = vec![];
            t.search(BoundKey::FreeTotal, &req, usize::MAX, |s, v| {
                got.push(s);
                assert_eq!(v, vector(lanes[s as usize]));
                ControlFlow::Continue(())
            });
            proptest::prop_assert_eq!(got, want);
        }
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
                (0u32..64_000, 0u32..256_000, 0u32..100, 0u32..4), 1..600),
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
                (0u32..700, 0u32..64_000, 0u32..256_000, 0u32..3), 1..300),
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
            // The reclaim arrays' lanes are brought up to date on demand,
            // and then too equal a rebuild of every lane from the slots.
            live.refresh_reclaim();
            fresh.refresh_reclaim();
            proptest::prop_assert!(live.reclaim_fresh());
            proptest::prop_assert_eq!(live.blocks, fresh.blocks);
            proptest::prop_assert_eq!(&live.slots, &fresh.slots);
            proptest::prop_assert_eq!(&live.inner, &fresh.inner);
            let mut rebuilt = live.clone();
            rebuilt.resize(rebuilt.blocks);
            proptest::prop_assert_eq!(&live.inner, &rebuilt.inner);
            // Refreshing again changes nothing.
            let before = live.inner.clone();
            live.refresh_reclaim();
            proptest::prop_assert_eq!(&live.inner, &before);
        }

        /// Reclaim searches, after the refresh they need, yield exactly the
        /// slots whose reclaim vector covers the request, however sets and
        /// refreshes interleaved before.
        #[test]
        fn reclaim_search_is_exact_after_a_refresh(
            steps in proptest::collection::vec(
                (0u32..300, 0u32..64_000, 0u32..256_000, proptest::bool::ANY), 1..300),
            req in (1u32..64_000, 1u32..256_000),
            single_node in proptest::bool::ANY,
        ) {
            let mut t = SegTree::new(64_000, single_node);
            let mut last = std::collections::BTreeMap::new();
            for (slot, c, m, refresh) in steps {
                let mut v = b(0);
                v.reclaim_total = [c, m, 0, 0];
                v.reclaim_node = [c / 2, m / 2, 0, 0];
                t.set(slot, v);
                last.insert(slot, (c, m));
                if refresh {
                    t.refresh_reclaim();
                }
            }
            t.refresh_reclaim();
            let req = [req.0, req.1, 0, 0];
            let want: Vec<u32> = last
                .iter()
                .filter(|(_, (c, m))| *c >= req[0] && *m >= req[1])
                .map(|(s, _)| *s)
                .collect();
            let mut got = vec![];
            t.search(BoundKey::ReclaimTotal, &req, usize::MAX, |s, _| {
                got.push(s);
                ControlFlow::Continue(())
            });
            proptest::prop_assert_eq!(got, want);
        }
    }

    /// A class of 5,000 slots is three inner levels deep; a search still
    /// finds exactly the slots that fit, left to right, and the budget
    /// counts the groups opened on the way.
    #[test]
    fn deep_trees_are_searched_left_to_right_within_their_budget() {
        let mut t = SegTree::new(64_000, true);
        for s in 0..5_000u32 {
            let v = if s % 997 == 3 { 9 } else { 1 };
            t.set(s, b(v));
        }
        assert_eq!(t.inner.len(), 3);
        assert_eq!(found(&t, 5), vec![3, 1000, 1997, 2994, 3991, 4988]);
        // Root, one node per inner level and the block: four groups to the
        // first hit; the second hit needs another node and block.
        let mut out = vec![];
        let ran_out = t.search(BoundKey::FreeTotal, &[5; DIMENSIONS], 5, |s, _| {
            out.push(s);
            ControlFlow::Continue(())
        });
        assert_eq!((out, ran_out), (vec![3], true));
        assert_eq!(t.budget(2), 8);
        assert_eq!(t.budget(0), usize::MAX);
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
        assert_eq!(grown.tree.blocks, fresh.tree.blocks);
        assert_eq!(grown.tree.slots, fresh.tree.slots);
        assert_eq!(grown.tree.inner, fresh.tree.inner);
        assert_eq!(grown.tree.leaf(2), b(3));
        grown.remove(0);
        grown.remove(2);
        assert!(grown.slots.is_empty());
        assert_eq!(grown.tree.blocks, 0);
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
