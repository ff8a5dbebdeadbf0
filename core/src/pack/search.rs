//! Improvement: a consistent neighbourhood search (after Buljubašić and
//! Vasquez, 2016) on partial packings.
//!
//! For a target of `used - 1` bins, the two least-filled bins are emptied
//! into the set `S` of unassigned items. Each iteration:
//!
//! 1. *Descent*: every item of `S` (heaviest first) goes into the active bin
//!    where it fits tightest, if any.
//! 2. If `S` fits into one free bin, the target is reached.
//! 3. *Tabu swap*: the best non-tabu move `q ⊆ S` in, `p ⊆ bin` out, with
//!    `1 <= |q| <= 2`, `1 <= |p| <= 2`, the bin staying within capacity,
//!    minimising the weight of `S` (then maximising its item count; random
//!    ties drawn from the configured seed). Items taken out of a bin may not return to it for
//!    a few iterations, unless that gives `S` its lowest weight yet.

use super::greedy::fits_in;
use super::{Assignment, Problem};

const NONE: usize = usize::MAX;

/// Improves `start` until `lb` bins or `budget` work units; returns the best
/// assignment and the work spent.
pub(super) fn improve(
    p: &Problem,
    start: Assignment,
    lb: usize,
    budget: u64,
    seed: u64,
) -> (Assignment, u64) {
    let mut ls = Ls::new(p, budget, seed);
    let mut best = start;
    let mut used = super::count_used(&best, p.m);
    let mut attempt = 0u64;
    while used > lb && ls.work < budget {
        ls.load_partial(&best, attempt);
        match ls.run_target() {
            Outcome::Reached(a) => {
                best = a;
                used -= 1;
                attempt = 0;
            }
            Outcome::Stalled => attempt += 1,
            Outcome::Spent => break,
        }
    }
    (best, ls.work)
}

/// How a search for one bin fewer ended.
enum Outcome {
    /// A complete assignment with one bin fewer.
    Reached(Assignment),
    /// No progress for [`STALL`] iterations: restart from other bins.
    Stalled,
    /// The budget is spent.
    Spent,
}

/// Iterations without a new lowest weight of `S` before a restart.
const STALL: u64 = 500;

/// A move: items of `S` in, items of a bin out.
#[derive(Clone, Copy, Debug)]
struct Move {
    bin: usize,
    q: [usize; 2],
    p: [usize; 2],
}

struct Ls<'a> {
    p: &'a Problem,
    /// Bin of each item, `NONE` when in `S`.
    assign: Vec<usize>,
    load: Vec<u64>,
    members: Vec<Vec<usize>>,
    /// Bins of the partial packing.
    active: Vec<usize>,
    is_active: Vec<bool>,
    /// Unassigned items.
    s: Vec<usize>,
    s_sum: Vec<u128>,
    s_weight: u64,
    weight: Vec<u64>,
    tabu_bin: Vec<usize>,
    tabu_until: Vec<u64>,
    iter: u64,
    work: u64,
    budget: u64,
    rng: u64,
    room: Vec<u64>,
    room1: Vec<u64>,
    room2: Vec<u64>,
}

impl<'a> Ls<'a> {
    fn new(p: &'a Problem, budget: u64, seed: u64) -> Self {
        let weight = p
            .norm
            .iter()
            .map(|&v| {
                // Squared weight: many small items in S are preferred to a
                // few big ones of the same total size.
                let x = u128::from(v);
                u64::try_from(x).unwrap_or(u64::MAX / 4)
            })
            .collect();
        Ls {
            p,
            assign: vec![NONE; p.n],
            load: vec![0; p.m * p.d],
            members: vec![Vec::new(); p.m],
            active: Vec::new(),
            is_active: vec![false; p.m],
            s: Vec::new(),
            s_sum: vec![0; p.d],
            s_weight: 0,
            weight,
            tabu_bin: vec![NONE; p.n],
            tabu_until: vec![0; p.n],
            iter: 0,
            work: 0,
            budget,
            rng: seed ^ 0x2545_F491_4F6C_DD1D,
            room: vec![0; p.d],
            room1: vec![0; p.d],
            room2: vec![0; p.d],
        }
    }

    fn next_rand(&mut self) -> u64 {
        mix(&mut self.rng)
    }

    /// Loads `a` and empties two bins into `S`: the two least filled on the
    /// first attempt, two random ones (of the least-filled half) after.
    fn load_partial(&mut self, a: &Assignment, attempt: u64) {
        let (p, d) = (self.p, self.p.d);
        self.load.iter_mut().for_each(|l| *l = 0);
        self.members.iter_mut().for_each(Vec::clear);
        self.is_active.iter_mut().for_each(|x| *x = false);
        self.active.clear();
        self.s.clear();
        self.s_sum.iter_mut().for_each(|x| *x = 0);
        self.s_weight = 0;
        self.tabu_bin.iter_mut().for_each(|x| *x = NONE);
        for (i, &b) in a.iter().enumerate() {
            self.assign[i] = b;
            self.members[b].push(i);
            for k in 0..d {
                self.load[b * d + k] += p.size[i * d + k];
            }
        }
        let mut used: Vec<(u64, usize)> = (0..p.m)
            .filter(|&b| !self.members[b].is_empty())
            .map(|b| (self.members[b].iter().map(|&i| p.norm[i]).sum(), b))
            .collect();
        used.sort_unstable();
        if attempt > 0 && used.len() > 2 {
            let half = used.len().div_ceil(2).max(2) as u64;
            let x = (self.next_rand() % half) as usize;
            used.swap(0, x);
            let y = 1 + (self.next_rand() % (half - 1)) as usize;
            used.swap(1, y);
        }
        let emptied = used.len().min(2);
        for &(_, b) in &used[..emptied] {
            for i in std::mem::take(&mut self.members[b]) {
                self.unassign_to_s(i);
            }
            for k in 0..d {
                self.load[b * d + k] = 0;
            }
        }
        for &(_, b) in &used[emptied..] {
            self.is_active[b] = true;
        }
        self.active = (0..p.m).filter(|&b| self.is_active[b]).collect();
    }

    fn unassign_to_s(&mut self, i: usize) {
        let d = self.p.d;
        self.assign[i] = NONE;
        self.s.push(i);
        for k in 0..d {
            self.s_sum[k] += u128::from(self.p.size[i * d + k]);
        }
        self.s_weight += self.weight[i];
    }

    fn assign_from_s(&mut self, i: usize, b: usize) {
        let d = self.p.d;
        if let Some(pos) = self.s.iter().position(|&x| x == i) {
            self.s.remove(pos);
        }
        for k in 0..d {
            self.s_sum[k] -= u128::from(self.p.size[i * d + k]);
            self.load[b * d + k] += self.p.size[i * d + k];
        }
        self.s_weight -= self.weight[i];
        self.assign[i] = b;
        self.members[b].push(i);
    }

    fn out_of_bin(&mut self, i: usize) {
        let d = self.p.d;
        let b = self.assign[i];
        if let Some(pos) = self.members[b].iter().position(|&x| x == i) {
            self.members[b].swap_remove(pos);
        }
        for k in 0..d {
            self.load[b * d + k] -= self.p.size[i * d + k];
        }
        self.tabu_bin[i] = b;
        self.tabu_until[i] = self.iter + 3 + self.next_rand() % 8;
        self.unassign_to_s(i);
    }

    /// The lowest free bin that holds all of `S`.
    fn free_bin_for_s(&self) -> Option<usize> {
        let p = self.p;
        (0..p.m).find(|&b| {
            !self.is_active[b]
                && p.bin_cap(b)
                    .iter()
                    .zip(&self.s_sum)
                    .all(|(&c, &s)| s <= u128::from(c))
        })
    }

    fn run_target(&mut self) -> Outcome {
        let mut best_weight = self.s_weight;
        let mut last_gain = self.iter;
        loop {
            if self.work >= self.budget {
                return Outcome::Spent;
            }
            if self.iter - last_gain > STALL {
                return Outcome::Stalled;
            }
            self.iter += 1;
            self.descent();
            if self.s_weight < best_weight {
                best_weight = self.s_weight;
                last_gain = self.iter;
            }
            if self.s.is_empty() {
                return Outcome::Reached(self.assign.clone());
            }
            self.work += 1;
            if let Some(f) = self.free_bin_for_s() {
                let mut a = self.assign.clone();
                for &i in &self.s {
                    a[i] = f;
                }
                return Outcome::Reached(a);
            }
            let Some(mv) = self.best_move(best_weight) else {
                // No move at all: try other bins.
                return Outcome::Stalled;
            };
            for &j in mv.p.iter().filter(|&&j| j != NONE) {
                self.out_of_bin(j);
            }
            for &i in mv.q.iter().filter(|&&i| i != NONE) {
                self.assign_from_s(i, mv.bin);
            }
            if self.s_weight < best_weight {
                best_weight = self.s_weight;
                last_gain = self.iter;
            }
        }
    }

    /// Inserts items of `S`, heaviest first, where they fit tightest.
    fn descent(&mut self) {
        let (p, d) = (self.p, self.p.d);
        self.s
            .sort_unstable_by(|&a, &b| self.weight[b].cmp(&self.weight[a]).then(a.cmp(&b)));
        let mut idx = 0;
        while idx < self.s.len() {
            let i = self.s[idx];
            let size = p.item(i);
            let mut chosen = NONE;
            let mut chosen_slack = u128::MAX;
            for &b in &self.active {
                let load = &self.load[b * d..(b + 1) * d];
                if fits_in(size, load, p.bin_cap(b)) {
                    let cap = p.bin_cap(b);
                    let mut slack = 0u128;
                    for k in 0..d {
                        if cap[k] > 0 {
                            slack +=
                                (u128::from(cap[k] - load[k] - size[k]) << 20) / u128::from(cap[k]);
                        }
                    }
                    if slack < chosen_slack {
                        chosen_slack = slack;
                        chosen = b;
                    }
                }
            }
            self.work += self.active.len() as u64;
            if chosen == NONE {
                idx += 1;
            } else {
                // Removes `S[idx]`, keeping the order of the rest.
                self.assign_from_s(i, chosen);
            }
        }
    }

    fn tabu(&self, i: usize, b: usize) -> bool {
        self.tabu_bin[i] == b && self.tabu_until[i] > self.iter
    }

    /// The best swap move, or `None` when there is none.
    fn best_move(&mut self, best_weight: u64) -> Option<Move> {
        let (p, d) = (self.p, self.p.d);
        let mut best: Option<(i128, i64, Move)> = None;
        let mut ties = 0u64;
        let s = self.s.clone();
        let mut work = 0u64;
        for ai in 0..self.active.len() {
            // The budget bounds a step too: it stops at a bin boundary, with
            // the best move found so far.
            if self.work.saturating_add(work) >= self.budget {
                break;
            }
            let b = self.active[ai];
            let cap = p.bin_cap(b);
            let mem = &self.members[b];
            if mem.is_empty() {
                continue;
            }
            // room: free capacity; room1/room2: upper bounds on the room
            // after removing any one / two items.
            for k in 0..d {
                let free = cap[k] - self.load[b * d + k];
                let (mut m1, mut m2) = (0u64, 0u64);
                for &j in mem {
                    let v = p.size[j * d + k];
                    if v > m1 {
                        m2 = m1;
                        m1 = v;
                    } else if v > m2 {
                        m2 = v;
                    }
                }
                self.room[k] = free;
                self.room1[k] = free + m1;
                self.room2[k] = free + m1 + m2;
            }
            for (qi, &i) in s.iter().enumerate() {
                let si = p.item(i);
                let wi = self.weight[i];
                let tabu_i = self.tabu(i, b);
                if !fits_in(si, &[0; super::MAX_DIMS][..d], &self.room2) {
                    continue;
                }
                // One in.
                for (x, &j) in mem.iter().enumerate() {
                    let sj = p.item(j);
                    let wj = self.weight[j];
                    // One out.
                    work += 1;
                    if fits_swap(si, None, &self.room, sj, None) {
                        consider(
                            &mut best,
                            &mut ties,
                            &mut self.rng,
                            self.s_weight,
                            best_weight,
                            tabu_i,
                            i128::from(wj) - i128::from(wi),
                            0,
                            Move {
                                bin: b,
                                q: [i, NONE],
                                p: [j, NONE],
                            },
                        );
                    }
                    // Two out.
                    if !fits_in(si, &[0; super::MAX_DIMS][..d], &self.room1) {
                        for &j2 in &mem[x + 1..] {
                            work += 1;
                            let sj2 = p.item(j2);
                            if fits_swap(si, None, &self.room, sj, Some(sj2)) {
                                let wj2 = self.weight[j2];
                                consider(
                                    &mut best,
                                    &mut ties,
                                    &mut self.rng,
                                    self.s_weight,
                                    best_weight,
                                    tabu_i,
                                    i128::from(wj) + i128::from(wj2) - i128::from(wi),
                                    1,
                                    Move {
                                        bin: b,
                                        q: [i, NONE],
                                        p: [j, j2],
                                    },
                                );
                            }
                        }
                    }
                }
                // Two in.
                for &i2 in &s[qi + 1..] {
                    let si2 = p.item(i2);
                    work += 1;
                    if !fits_pair(si, si2, &self.room2) {
                        continue;
                    }
                    let tabu_q = tabu_i || self.tabu(i2, b);
                    let wq = i128::from(wi) + i128::from(self.weight[i2]);
                    for (x, &j) in mem.iter().enumerate() {
                        let sj = p.item(j);
                        let wj = i128::from(self.weight[j]);
                        work += 1;
                        if fits_swap(si, Some(si2), &self.room, sj, None) {
                            consider(
                                &mut best,
                                &mut ties,
                                &mut self.rng,
                                self.s_weight,
                                best_weight,
                                tabu_q,
                                wj - wq,
                                -1,
                                Move {
                                    bin: b,
                                    q: [i, i2],
                                    p: [j, NONE],
                                },
                            );
                        }
                        for &j2 in &mem[x + 1..] {
                            work += 1;
                            let sj2 = p.item(j2);
                            if fits_swap(si, Some(si2), &self.room, sj, Some(sj2)) {
                                let wj2 = i128::from(self.weight[j2]);
                                consider(
                                    &mut best,
                                    &mut ties,
                                    &mut self.rng,
                                    self.s_weight,
                                    best_weight,
                                    tabu_q,
                                    wj + wj2 - wq,
                                    0,
                                    Move {
                                        bin: b,
                                        q: [i, i2],
                                        p: [j, j2],
                                    },
                                );
                            }
                        }
                    }
                }
            }
        }
        self.work += work;
        best.map(|(_, _, m)| m)
    }
}

/// Keeps the best move by (weight change, item-count change), random ties;
/// tabu moves only when they give `S` its lowest weight yet.
#[allow(clippy::too_many_arguments)]
#[inline]
fn consider(
    best: &mut Option<(i128, i64, Move)>,
    ties: &mut u64,
    rng: &mut u64,
    s_weight: u64,
    best_weight: u64,
    tabu: bool,
    delta: i128,
    count: i64,
    mv: Move,
) {
    if tabu && i128::from(s_weight) + delta >= i128::from(best_weight) {
        return;
    }
    // Lower delta first; then more items in S (higher count).
    let (better, tie) = match best {
        None => (true, false),
        Some((bd, bc, _)) => {
            if delta != *bd {
                (delta < *bd, false)
            } else if count != *bc {
                (count > *bc, false)
            } else {
                // Reservoir sampling among equals.
                *ties += 1;
                (mix(rng) % (*ties + 1) == 0, true)
            }
        }
    };
    if better {
        if !tie {
            *ties = 0;
        }
        *best = Some((delta, count, mv));
    }
}

/// `a (+ b)` fits into `room + out1 (+ out2)`.
#[inline]
fn fits_swap(a: &[u64], b: Option<&[u64]>, room: &[u64], o1: &[u64], o2: Option<&[u64]>) -> bool {
    for k in 0..a.len() {
        // room + o1 + o2 <= capacity: the outs are in the bin.
        let r = room[k] + o1[k] + o2.map_or(0, |o| o[k]);
        if a[k] > r {
            return false;
        }
        if let Some(b) = b {
            if b[k] > r - a[k] {
                return false;
            }
        }
    }
    true
}

/// `a + b <= room`, without overflow.
#[inline]
fn fits_pair(a: &[u64], b: &[u64], room: &[u64]) -> bool {
    (0..a.len()).all(|k| a[k] <= room[k] && b[k] <= room[k] - a[k])
}

/// SplitMix64: advances `state` and returns 64 random bits.
#[inline]
fn mix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
