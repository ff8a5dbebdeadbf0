//! The instance table: every instance by id, in a compact layout.
//!
//! The table behaves exactly like the `IndexMap` it replaces (see
//! [`crate::hash`]): iteration follows insertion order, and
//! [`swap_remove`](InstanceTable::swap_remove) moves the last entry into the
//! gap, so every decision and snapshot that walks the instances comes out
//! the same. It is smaller per instance:
//!
//! * the entries are a dense `Vec` that grows by an eighth of its length at
//!   a time (not by doubling), so at most about one entry in nine is slack;
//! * the hash index holds `u32` positions and no stored hashes (a hash is
//!   recomputed from the entry's id when the index grows);
//! * [`Parts`] keeps the usual single NUMA node inline in 24 bytes.
//!
//! A placed instance's entry is 48 bytes: id 8, app 4, position in the
//! app's list 4, host 8, parts 24.

use std::hash::BuildHasher;
use std::ops::Deref;

use hashbrown::HashTable;

use crate::hash::FxBuild;
use crate::ids::InstanceId;
use crate::resources::Resources;
use crate::scheduler::Instance;

/// Allocated resources per NUMA node: (node index, amount). One node (the
/// usual case) is kept inline; several are boxed. Reads as a slice.
#[derive(Clone, Debug)]
pub(crate) enum Parts {
    /// On one node.
    One([(u8, Resources); 1]),
    /// Spread over several nodes (or, only in a rejected snapshot, none).
    Many(Box<[(u8, Resources)]>),
}

impl Parts {
    /// `amount` on node `node`.
    pub(crate) fn one(node: u8, amount: Resources) -> Parts {
        Parts::One([(node, amount)])
    }

    /// The parts listed; a single one is kept inline.
    pub(crate) fn from_vec(parts: Vec<(u8, Resources)>) -> Parts {
        match parts.as_slice() {
            [one] => Parts::One([*one]),
            _ => Parts::Many(parts.into_boxed_slice()),
        }
    }
}

impl Parts {
    /// The parts as a slice.
    pub(crate) fn as_slice(&self) -> &[(u8, Resources)] {
        match self {
            Parts::One(one) => one,
            Parts::Many(many) => many,
        }
    }
}

impl Deref for Parts {
    type Target = [(u8, Resources)];

    fn deref(&self) -> &Self::Target {
        self.as_slice()
    }
}

impl PartialEq for Parts {
    fn eq(&self, other: &Parts) -> bool {
        **self == **other
    }
}

impl Eq for Parts {}

impl FromIterator<(u8, Resources)> for Parts {
    fn from_iter<I: IntoIterator<Item = (u8, Resources)>>(iter: I) -> Parts {
        Parts::from_vec(iter.into_iter().collect())
    }
}

impl<'a> IntoIterator for &'a Parts {
    type Item = &'a (u8, Resources);
    type IntoIter = std::slice::Iter<'a, (u8, Resources)>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

pub(crate) use crate::limits::MAX_INSTANCES;

/// The table is full ([`MAX_INSTANCES`]); nothing was inserted.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub(crate) struct TableFull;

/// Instances by id, in insertion order (see the [module](self)).
#[derive(Clone, Default)]
pub(crate) struct InstanceTable {
    /// Dense, in iteration order.
    entries: Vec<(InstanceId, Instance)>,
    /// Positions in `entries`, hashed by the entry's id.
    index: HashTable<u32>,
}

fn hash(id: InstanceId) -> u64 {
    FxBuild::default().hash_one(id)
}

/// The hash of the entry at position `q` (for the index to grow).
fn rehash(entries: &[(InstanceId, Instance)], q: u32) -> u64 {
    entries.get(q as usize).map_or(0, |e| hash(e.0))
}

impl InstanceTable {
    /// Number of instances.
    pub(crate) fn len(&self) -> usize {
        self.entries.len()
    }

    /// Position of `id` in the entries.
    fn position(&self, id: InstanceId) -> Option<usize> {
        let entries = &self.entries;
        self.index
            .find(hash(id), |&p| {
                entries.get(p as usize).is_some_and(|e| e.0 == id)
            })
            .map(|&p| p as usize)
    }

    /// The instance `id`.
    pub(crate) fn get(&self, id: &InstanceId) -> Option<&Instance> {
        let p = self.position(*id)?;
        self.entries.get(p).map(|(_, i)| i)
    }

    /// The instance `id`, to change.
    pub(crate) fn get_mut(&mut self, id: &InstanceId) -> Option<&mut Instance> {
        let p = self.position(*id)?;
        self.entries.get_mut(p).map(|(_, i)| i)
    }

    /// Whether `id` is in the table.
    pub(crate) fn contains_key(&self, id: &InstanceId) -> bool {
        self.position(*id).is_some()
    }

    /// Insert `inst` as `id`: last if new, else in place of the old value,
    /// which is returned (as `IndexMap::insert` does).
    pub(crate) fn insert(
        &mut self,
        id: InstanceId,
        inst: Instance,
    ) -> Result<Option<Instance>, TableFull> {
        if let Some(p) = self.position(id) {
            if let Some((_, old)) = self.entries.get_mut(p) {
                return Ok(Some(std::mem::replace(old, inst)));
            }
        }
        let p = self.entries.len();
        let Ok(p32) = u32::try_from(p) else {
            return Err(TableFull);
        };
        if p == self.entries.capacity() {
            // Grow by an eighth (at least 8 entries), not double: bounded
            // slack at the price of a few more reallocations.
            self.entries.reserve_exact((p / 8).max(8));
        }
        self.entries.push((id, inst));
        let entries = &self.entries;
        self.index
            .insert_unique(hash(id), p32, |&q| rehash(entries, q));
        Ok(None)
    }

    /// Make room for `additional` more instances exactly (a known count).
    pub(crate) fn reserve(&mut self, additional: usize) {
        self.entries.reserve_exact(additional);
        let entries = &self.entries;
        self.index.reserve(additional, |&q| rehash(entries, q));
    }

    /// Remove `id`, moving the last entry into its place (as
    /// `IndexMap::swap_remove` does).
    pub(crate) fn swap_remove(&mut self, id: &InstanceId) -> Option<Instance> {
        let entries = &self.entries;
        let found = self
            .index
            .find_entry(hash(*id), |&p| {
                entries.get(p as usize).is_some_and(|e| e.0 == *id)
            })
            .ok()?;
        let (p, _) = found.remove();
        let p32 = p;
        let p = p as usize;
        // Found, so the entries are not empty and `p` is in range.
        let last = self.entries.len().checked_sub(1)?;
        let (_, inst) = self.entries.swap_remove(p);
        if let Some(&(moved, _)) = self.entries.get(p) {
            // The former last entry is now at `p`. Positions are below
            // the length, itself at most u32::MAX.
            let last32 = last as u32;
            if let Some(slot) = self.index.find_mut(hash(moved), |&q| q == last32) {
                *slot = p32;
            }
        }
        Some(inst)
    }

    /// The ids, in order.
    pub(crate) fn keys(&self) -> impl Iterator<Item = &InstanceId> {
        self.entries.iter().map(|(id, _)| id)
    }

    /// The instances, in order, to change.
    pub(crate) fn values_mut(&mut self) -> impl Iterator<Item = &mut Instance> {
        self.entries.iter_mut().map(|(_, i)| i)
    }

    /// (id, instance) pairs, in order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&InstanceId, &Instance)> {
        self.entries.iter().map(|(id, i)| (id, i))
    }

    /// The first entry whose index is wrong: not found by its id, found
    /// at another position, or an index that does not match the entries'
    /// count. Meant for [`Scheduler::check_invariants`](crate::Scheduler::check_invariants).
    pub(crate) fn first_inconsistent(&self) -> Option<InstanceId> {
        for (p, (id, _)) in self.entries.iter().enumerate() {
            if self.position(*id) != Some(p) {
                return Some(*id);
            }
        }
        if self.index.len() != self.entries.len() {
            return Some(self.entries.first().map_or(InstanceId(0), |e| e.0));
        }
        None
    }
}

impl<'a> IntoIterator for &'a InstanceTable {
    type Item = (&'a InstanceId, &'a Instance);
    type IntoIter = std::iter::Map<
        std::slice::Iter<'a, (InstanceId, Instance)>,
        fn(&'a (InstanceId, Instance)) -> (&'a InstanceId, &'a Instance),
    >;

    fn into_iter(self) -> Self::IntoIter {
        self.entries.iter().map(|(id, i)| (id, i))
    }
}

impl std::fmt::Debug for InstanceTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::explain::PendingReason;
    use crate::hash::Map;
    use crate::ids::HostId;
    use crate::scheduler::InstanceState;
    use crate::time::Timestamp;

    fn placed(app: u32, host: u64) -> Instance {
        Instance {
            app,
            app_pos: app.wrapping_mul(3),
            state: InstanceState::Placed {
                host: HostId(host),
                parts: Parts::one(0, Resources::ZERO),
            },
        }
    }

    /// The compact layout this module promises (a regression here costs
    /// memory on every instance).
    #[test]
    fn entries_are_48_bytes() {
        assert_eq!(std::mem::size_of::<Parts>(), 24);
        assert_eq!(std::mem::size_of::<InstanceState>(), 32);
        assert_eq!(std::mem::size_of::<(InstanceId, Instance)>(), 48);
    }

    #[test]
    fn parts_read_as_slices_and_compare_by_content() {
        let r = Resources::from_raw([1, 2, 3, 4]);
        let one = Parts::one(2, r);
        assert_eq!(&*one, &[(2, r)]);
        assert!(matches!(Parts::from_vec(vec![(2, r)]), Parts::One(_)));
        assert_eq!(Parts::Many(vec![(2, r)].into_boxed_slice()), one);
        let two: Parts = [(0, r), (1, r)].into_iter().collect();
        assert_eq!(two.len(), 2);
        assert_ne!(two, one);
        assert_eq!(
            (&two).into_iter().map(|(n, _)| *n).collect::<Vec<_>>(),
            [0, 1]
        );
        assert!(Parts::from_vec(Vec::new()).is_empty());
    }

    #[test]
    fn insert_replaces_in_place_and_swap_remove_moves_the_last() {
        let mut t = InstanceTable::default();
        for i in 1..=4 {
            assert!(matches!(
                t.insert(InstanceId(i), placed(i as u32, i)),
                Ok(None)
            ));
        }
        let old = t.insert(InstanceId(2), placed(9, 9)).ok().flatten();
        assert_eq!(old.map(|o| o.app), Some(2));
        assert_eq!(t.keys().map(|k| k.0).collect::<Vec<_>>(), [1, 2, 3, 4]);
        assert_eq!(t.swap_remove(&InstanceId(1)).map(|o| o.app), Some(1));
        assert_eq!(t.keys().map(|k| k.0).collect::<Vec<_>>(), [4, 2, 3]);
        assert!(t.swap_remove(&InstanceId(1)).is_none());
        assert_eq!(t.get(&InstanceId(4)).map(|i| i.app), Some(4));
        assert_eq!(t.first_inconsistent(), None);
        let pending = Instance {
            app: 0,
            app_pos: 0,
            state: InstanceState::Pending {
                since: Timestamp(1),
                reason: Some(Box::new(PendingReason::HostRemoved { host: HostId(1) })),
            },
        };
        assert!(matches!(t.insert(InstanceId(7), pending), Ok(None)));
        assert_eq!(format!("{t:?}").matches("InstanceId").count(), 4);
    }

    #[test]
    fn a_wrong_index_is_found() {
        let mut t = InstanceTable::default();
        for i in 1..=3 {
            assert!(t.insert(InstanceId(i), placed(0, i)).is_ok());
        }
        // Point instance 2's slot at instance 3's position.
        if let Some(slot) = t.index.find_mut(hash(InstanceId(2)), |&p| p == 1) {
            *slot = 2;
        }
        assert_eq!(t.first_inconsistent(), Some(InstanceId(2)));
        // An index slot without an entry.
        let mut t = InstanceTable::default();
        assert!(t.insert(InstanceId(1), placed(0, 1)).is_ok());
        t.index.insert_unique(hash(InstanceId(5)), 0, |_| 0);
        assert_eq!(t.first_inconsistent(), Some(InstanceId(1)));
    }

    /// One step of a random sequence.
    #[derive(Clone, Debug)]
    enum Op {
        Insert(u64, u32),
        Remove(u64),
        Get(u64),
        SetApp(u64, u32),
        Reserve(u8),
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        // Few distinct ids, so that removals and re-inserts hit.
        let id = 0u64..48;
        prop_oneof![
            4 => (id.clone(), any::<u32>()).prop_map(|(i, a)| Op::Insert(i, a)),
            2 => id.clone().prop_map(Op::Remove),
            1 => id.clone().prop_map(Op::Get),
            1 => (id, any::<u32>()).prop_map(|(i, a)| Op::SetApp(i, a)),
            1 => any::<u8>().prop_map(Op::Reserve),
        ]
    }

    proptest::proptest! {
        /// On any sequence of operations the table and an `IndexMap` agree:
        /// same results, same iteration order, same lookups.
        #[test]
        fn behaves_like_an_index_map(ops in proptest::collection::vec(op(), 0..400)) {
            let mut t = InstanceTable::default();
            let mut m: Map<InstanceId, Instance> = Map::default();
            for op in ops {
                match op {
                    Op::Insert(i, a) => {
                        let got = t.insert(InstanceId(i), placed(a, i)).ok().flatten();
                        let want = m.insert(InstanceId(i), placed(a, i));
                        proptest::prop_assert_eq!(got.map(|x| x.app), want.map(|x| x.app));
                    }
                    Op::Remove(i) => {
                        let got = t.swap_remove(&InstanceId(i));
                        let want = m.swap_remove(&InstanceId(i));
                        proptest::prop_assert_eq!(got.map(|x| x.app), want.map(|x| x.app));
                    }
                    Op::Get(i) => {
                        proptest::prop_assert_eq!(
                            t.contains_key(&InstanceId(i)),
                            m.contains_key(&InstanceId(i))
                        );
                    }
                    Op::SetApp(i, a) => {
                        if let Some(x) = t.get_mut(&InstanceId(i)) {
                            x.app = a;
                        }
                        if let Some(x) = m.get_mut(&InstanceId(i)) {
                            x.app = a;
                        }
                    }
                    Op::Reserve(n) => t.reserve(usize::from(n)),
                }
                proptest::prop_assert_eq!(t.len(), m.len());
                proptest::prop_assert_eq!(t.first_inconsistent(), None);
            }
            let got: Vec<(u64, u32, u32)> = t.iter().map(|(k, v)| (k.0, v.app, v.app_pos)).collect();
            let want: Vec<(u64, u32, u32)> = m.iter().map(|(k, v)| (k.0, v.app, v.app_pos)).collect();
            proptest::prop_assert_eq!(&got, &want);
            let via_ref: Vec<u64> = (&t).into_iter().map(|(k, _)| k.0).collect();
            let keys: Vec<u64> = t.keys().map(|k| k.0).collect();
            proptest::prop_assert_eq!(&via_ref, &keys);
            for i in 0..48 {
                let got = t.get(&InstanceId(i)).map(|x| (x.app, x.app_pos));
                let want = m.get(&InstanceId(i)).map(|x| (x.app, x.app_pos));
                proptest::prop_assert_eq!(got, want);
            }
            for v in t.values_mut() {
                v.app_pos = 0;
            }
            proptest::prop_assert!(t.iter().all(|(_, v)| v.app_pos == 0));
        }
    }
}
