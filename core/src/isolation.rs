//! Tenant isolation: apps whose instances run only on hosts of their own
//! tenant.
//!
//! An app's [`Isolation`] policy is [`SharedHosts`](Isolation::SharedHosts)
//! (the default) or [`DedicatedHosts`](Isolation::DedicatedHosts). The
//! rules, which every call keeps:
//!
//! * A host that holds an instance of a dedicated app is *dedicated* to
//!   that app's tenant. It holds instances of that tenant's dedicated apps
//!   only: no other tenant's instance, best-effort included, and no shared
//!   app's instance (not even of the same tenant), is placed, moved or
//!   consolidated onto it. It stops being dedicated when its last dedicated
//!   instance leaves.
//! * A dedicated app's instance goes on a host already dedicated to its
//!   tenant, or on an *empty* host (no instance at all, best-effort
//!   included), which it makes dedicated. Among the hosts that fit, the
//!   better substitution tier wins, then a host already dedicated over an
//!   empty one, then the lower score (as for any placement), then the lower
//!   host id. Running hosts come before planned ones, so provisioning plans
//!   new hosts for a dedicated app only when no such host fits, and a
//!   planned host that takes a dedicated instance is dedicated too.
//! * Preemption: a rigid dedicated instance evicts best-effort instances
//!   only on hosts dedicated to its tenant (so only its own tenant's). Other
//!   apps never preempt on a dedicated host. No instance is evicted to make
//!   a shared host empty for a dedicated app.
//! * Repack and consolidation leave dedicated hosts out: their instances
//!   stay put and nothing moves onto them. Evacuation, rebalance and moves
//!   place replacements by the rules above.
//! * A pending dedicated instance's explanation counts the hosts ruled out
//!   by isolation ([`Constraint::Isolation`](crate::Constraint::Isolation)):
//!   hosts dedicated to another tenant, and hosts that hold instances but
//!   are not dedicated to its tenant; a shared app's counts the dedicated
//!   hosts.
//!
//! Metering attributes an instance's usage to its app's tenant, so
//! isolation changes nothing there.
//!
//! # Cost
//!
//! A dedicated host's entry in the host index reads as full (as a cordoned
//! host's does), so no search of any other app ever visits it: a region
//! with no dedicated app pays one flag test per index update and one per
//! placement. A dedicated app's placement looks at the hosts dedicated to
//! its tenant (a list kept per tenant, so its cost grows with that tenant's
//! own dedicated hosts, not with the region) and searches each eligible
//! class of the zone for an empty host: a request of the SKU's whole
//! capacity, which only empty hosts fit, so the index prunes every subtree
//! without one in O(log hosts).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;

use smallvec::SmallVec;

use crate::app::{Isolation, QosTier};
use crate::ids::{HostId, InstanceId, TenantId};
use crate::index::BoundKey;
use crate::resources::Resources;
use crate::scheduler::{Host, HostState, Scheduler};
use crate::zones::SpreadCheck;

/// Which hosts are dedicated to which tenant (derived from the instances;
/// not in snapshots).
#[derive(Clone, Debug, Default)]
pub(crate) struct Dedicated {
    /// The tenant each dedicated host is dedicated to.
    owner: BTreeMap<HostId, TenantId>,
    /// The dedicated hosts of each tenant.
    by_tenant: BTreeMap<TenantId, BTreeSet<HostId>>,
}

impl Dedicated {
    /// The tenant host `id` is dedicated to, if any.
    pub(crate) fn owner(&self, id: HostId) -> Option<&TenantId> {
        self.owner.get(&id)
    }

    fn set(&mut self, id: HostId, tenant: &TenantId) {
        if self.owner.get(&id) == Some(tenant) {
            return;
        }
        self.forget(id);
        self.owner.insert(id, tenant.clone());
        self.by_tenant.entry(tenant.clone()).or_default().insert(id);
    }

    /// Planned host `old` turned into running host `new`.
    pub(crate) fn rename(&mut self, old: HostId, new: HostId) {
        if let Some(t) = self.owner.get(&old).cloned() {
            self.forget(old);
            self.set(new, &t);
        }
    }

    /// Host `id` is no longer dedicated (or no longer exists).
    pub(crate) fn forget(&mut self, id: HostId) {
        if let Some(t) = self.owner.remove(&id) {
            if let Some(set) = self.by_tenant.get_mut(&t) {
                set.remove(&id);
                if set.is_empty() {
                    self.by_tenant.remove(&t);
                }
            }
        }
    }
}

/// How a dedicated instance's candidate hosts compare: (tier, not yet
/// dedicated, victims, victims' size, score), then host id; lower wins.
type Rank = (u32, bool, usize, u64, u64);

/// A dedicated app's choice: the host and the best-effort instances to
/// evict there.
pub(crate) type DedicatedChoice = (HostId, SmallVec<[InstanceId; 4]>);

impl Scheduler {
    /// Whether the app at index `app` runs on dedicated hosts.
    #[inline]
    pub(crate) fn is_dedicated(&self, app: usize) -> bool {
        self.apps[app].spec.isolation == Isolation::DedicatedHosts
    }

    /// After an instance of dedicated app `app` was allocated on host
    /// `id`: the host is dedicated to the app's tenant.
    #[cold]
    pub(crate) fn dedicate(&mut self, id: HostId, app: usize) {
        if let Some(h) = self.hosts.get_mut(&id) {
            h.dedicated = true;
        }
        self.dedicated.set(id, &self.apps[app].spec.tenant);
    }

    /// After an instance of a dedicated app left host `id`: the host stays
    /// dedicated while another dedicated instance is on it.
    #[cold]
    pub(crate) fn undedicate_if_free(&mut self, id: HostId) {
        let Some(h) = self.hosts.get(&id) else {
            self.dedicated.forget(id);
            return;
        };
        let still = h.instances.iter().any(|i| {
            self.instances
                .get(i)
                .is_some_and(|inst| self.is_dedicated(inst.app()))
        });
        if !still {
            if let Some(h) = self.hosts.get_mut(&id) {
                h.dedicated = false;
            }
            self.dedicated.forget(id);
        }
    }

    /// Whether isolation rules host `h` (id `id`) out for one more
    /// instance of `app`.
    pub(crate) fn isolation_blocks(&self, app: usize, id: HostId, h: &Host) -> bool {
        if !self.is_dedicated(app) {
            return h.dedicated;
        }
        match self.dedicated.owner(id) {
            Some(t) => *t != self.apps[app].spec.tenant,
            None => !h.instances.is_empty(),
        }
    }

    /// The first isolation problem of the current placements, if any: a
    /// host holding an instance of a dedicated app and an instance of
    /// another tenant or of a shared app, or whose dedicated mark does not
    /// match its instances. Returns (host, instance, what).
    pub(crate) fn isolation_problem(&self) -> Option<(HostId, InstanceId, &'static str)> {
        for (id, h) in &self.hosts {
            // The first dedicated instance on the host, and its tenant.
            let first = h.instances.iter().find_map(|i| {
                let inst = self.instances.get(i)?;
                let spec = &self.apps[inst.app()].spec;
                (spec.isolation == Isolation::DedicatedHosts).then_some((*i, &spec.tenant))
            });
            let owner = self.dedicated.owner(*id);
            let Some((first, tenant)) = first else {
                if h.dedicated || owner.is_some() {
                    let i = h.instances.first().copied().unwrap_or(InstanceId(0));
                    return Some((
                        *id,
                        i,
                        "a host without dedicated instances is marked dedicated",
                    ));
                }
                continue;
            };
            for i in &h.instances {
                let Some(inst) = self.instances.get(i) else {
                    continue;
                };
                let spec = &self.apps[inst.app()].spec;
                if spec.tenant != *tenant {
                    return Some((
                        *id,
                        *i,
                        "a dedicated app shares the host with another tenant",
                    ));
                }
                if spec.isolation != Isolation::DedicatedHosts {
                    return Some((*id, *i, "a shared app's instance is on a dedicated host"));
                }
            }
            if !h.dedicated || owner != Some(tenant) {
                return Some((*id, first, "the host is not marked dedicated to its tenant"));
            }
        }
        None
    }

    /// Whether placing an instance of `app` on host `host` would break
    /// isolation (for `restore`, before the instance is allocated).
    pub(crate) fn isolation_refuses(&self, app: usize, host: HostId) -> bool {
        let Some(h) = self.hosts.get(&host) else {
            return false;
        };
        if self.is_dedicated(app) {
            let tenant = &self.apps[app].spec.tenant;
            h.instances.iter().any(|i| {
                self.instances.get(i).is_some_and(|inst| {
                    let other = &self.apps[inst.app()].spec;
                    other.isolation != Isolation::DedicatedHosts || other.tenant != *tenant
                })
            })
        } else {
            h.dedicated
        }
    }

    /// Where an instance of dedicated app `app` goes (see the
    /// [module documentation](self)): the first of `zones` (skipping those
    /// `blocking` rules out) with a host among `classes` that fits,
    /// running hosts of every zone first, then planned ones, then
    /// preemption. Also returns whether every running host was searched
    /// before the choice.
    pub(crate) fn dedicated_choice(
        &self,
        app: usize,
        zones: &[usize],
        classes: &[usize],
        blocking: Option<&SpreadCheck>,
    ) -> (Option<DedicatedChoice>, bool) {
        let spec = &self.apps[app].spec;
        let rigid = spec.qos == QosTier::Rigid;
        let own = self.dedicated.by_tenant.get(&spec.tenant);
        for (planned, preempt) in [(false, false), (true, false), (false, true)] {
            if preempt && !rigid {
                break;
            }
            for &zone in zones {
                if let Some(check) = blocking {
                    if !self.spread_check_allows(app, check, zone) {
                        continue;
                    }
                }
                let best = self.dedicated_in_zone(app, zone, classes, own, planned, preempt);
                if let Some((_, host, victims)) = best {
                    return (Some((host, victims)), planned || preempt);
                }
            }
        }
        (None, false)
    }

    /// The best candidate of one zone for [`dedicated_choice`](Self::dedicated_choice).
    fn dedicated_in_zone(
        &self,
        app: usize,
        zone: usize,
        classes: &[usize],
        own: Option<&BTreeSet<HostId>>,
        planned: bool,
        preempt: bool,
    ) -> Option<(Rank, HostId, SmallVec<[InstanceId; 4]>)> {
        let spec = &self.apps[app].spec;
        let (req, policy) = (spec.resources, spec.numa);
        let mut best: Option<(Rank, HostId, SmallVec<[InstanceId; 4]>)> = None;
        fn offer(
            best: &mut Option<(Rank, HostId, SmallVec<[InstanceId; 4]>)>,
            rank: Rank,
            host: HostId,
            victims: SmallVec<[InstanceId; 4]>,
        ) {
            if best
                .as_ref()
                .is_none_or(|(r, h, _)| (rank, host) < (*r, *h))
            {
                *best = Some((rank, host, victims));
            }
        }
        let want = if planned {
            HostState::Planned
        } else {
            HostState::Ready
        };
        // Hosts already dedicated to the tenant.
        for &id in own.into_iter().flatten() {
            let Some(h) = self.hosts.get(&id) else {
                continue;
            };
            if h.zone() != zone || h.state != want || !classes.contains(&h.class()) {
                continue;
            }
            let tier = self.class_tier(app, Some(h.class()));
            if preempt {
                if let Some(c) = self.preempt_option(id, &req, policy) {
                    let (v, size, score) = c.rank;
                    offer(&mut best, (tier, false, v, size, score), id, c.victims);
                }
            } else if let Some(score) = self.score_on(h, &req, policy) {
                offer(&mut best, (tier, false, 0, 0, score), id, SmallVec::new());
            }
        }
        if preempt {
            return best;
        }
        // Empty hosts, by the index: only they fit the SKU's whole capacity.
        let all = self.classes.as_slice();
        for &c in classes {
            let class = &all[c];
            if class.zone != zone || class.planned != planned {
                continue;
            }
            let tier = self.class_tier(app, Some(c));
            if best.as_ref().is_some_and(|(r, _, _)| r.0 < tier) {
                continue;
            }
            let whole = Resources::sum(&self.skus[class.sku].numa_nodes).as_array();
            let limit = self.config.candidates_per_class;
            let mut budget = class.tree.budget(self.config.search_budget);
            loop {
                let mut n = 0u32;
                let ran_out = class
                    .tree
                    .search(BoundKey::FreeTotal, &whole, budget, |slot, _| {
                        let Some(id) = class.host_at(slot) else {
                            return ControlFlow::Continue(());
                        };
                        let Some(h) = self.hosts.get(&id) else {
                            return ControlFlow::Continue(());
                        };
                        if !h.instances.is_empty() || h.state != want {
                            return ControlFlow::Continue(());
                        }
                        match self.score_on(h, &req, policy) {
                            Some(score) => {
                                offer(&mut best, (tier, true, 0, 0, score), id, SmallVec::new());
                                n += 1;
                            }
                            // Every empty host of the class is alike.
                            None => return ControlFlow::Break(()),
                        }
                        if n >= limit {
                            ControlFlow::Break(())
                        } else {
                            ControlFlow::Continue(())
                        }
                    });
                if ran_out && n == 0 && budget != usize::MAX {
                    budget = usize::MAX;
                    continue;
                }
                break;
            }
        }
        best
    }

    /// The score of placing `req` on host `h` (lower wins), if it fits.
    fn score_on(&self, h: &Host, req: &Resources, policy: crate::app::NumaPolicy) -> Option<u64> {
        if h.state == HostState::Cordoned {
            return None;
        }
        self.parts_on(h, req, policy)?;
        let free = Resources::sum(&self.node_avail(h, false));
        let after = free.saturating_sub(req);
        Some(crate::placement::residual_score(
            &self.sku_scales[h.sku()],
            &after,
        ))
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    use crate::*;

    /// One zone, two hosts; a shared app of tenant `a` on host 1, a
    /// dedicated app of tenant `b` on host 2.
    fn region() -> Scheduler {
        let mut s = Scheduler::default();
        s.add_zone("z".parse().unwrap(), ZoneState::Up, Timestamp(0))
            .unwrap();
        let sku = SkuSpec {
            id: "g7".parse().unwrap(),
            family: "g7".parse().unwrap(),
            generation: 7,
            arch: Arch::X86_64,
            cpu_vendor: "intel".parse().unwrap(),
            allocatable: Resources::cpu_mem(8_000, 8_192).unwrap(),
            perf_score: 100,
            numa_nodes: vec![],
            features: BTreeSet::new(),
            accelerator_model: None,
            local_disk: None,
            price_nanos_per_second: 1_000,
        };
        s.add_sku(sku, Timestamp(0)).unwrap();
        for id in 1..=2 {
            let spec = HostSpec {
                id: HostId(id),
                sku: "g7".parse().unwrap(),
                zone: "z".parse().unwrap(),
            };
            let _ = s.add_host(spec, Timestamp(0)).unwrap();
        }
        let r = Resources::cpu_mem(1_000, 1_024).unwrap();
        let web = AppSpec::new("web".parse().unwrap(), "a".parse().unwrap(), r);
        let mut vault = AppSpec::new("vault".parse().unwrap(), "b".parse().unwrap(), r);
        vault.isolation = Isolation::DedicatedHosts;
        s.add_app(web, Timestamp(0)).unwrap();
        s.add_app(vault, Timestamp(0)).unwrap();
        let d = s.place(&"web".parse().unwrap(), Timestamp(1)).unwrap();
        assert_eq!(d.placements[0].host, HostId(1));
        let d = s.place(&"vault".parse().unwrap(), Timestamp(1)).unwrap();
        assert_eq!(d.placements[0].host, HostId(2));
        assert_eq!(s.check_invariants(), Ok(()));
        s
    }

    fn violation(s: &Scheduler) -> &'static str {
        match s.check_invariants() {
            Err(InvariantViolation::Placement { what, .. }) => what,
            other => panic!("expected an isolation violation, got {other:?}"),
        }
    }

    /// Each kind of isolation corruption is reported by `check_invariants`.
    #[test]
    fn check_invariants_reports_every_isolation_violation() {
        // A shared host marked dedicated (its index entry made to match).
        let mut s = region();
        s.hosts[0].dedicated = true;
        s.refresh_host(HostId(1));
        assert_eq!(
            violation(&s),
            "a host without dedicated instances is marked dedicated"
        );
        // A dedicated host that lost its mark.
        let mut s = region();
        s.hosts[1].dedicated = false;
        s.refresh_host(HostId(2));
        assert_eq!(
            violation(&s),
            "the host is not marked dedicated to its tenant"
        );
        // Marked for another tenant.
        let mut s = region();
        s.dedicated.set(HostId(2), &"a".parse().unwrap());
        assert_eq!(
            violation(&s),
            "the host is not marked dedicated to its tenant"
        );
        // Another tenant's, or a shared app's, instance on the dedicated
        // host: a second dedicated app of tenant b joins it, then its spec
        // is changed behind the scheduler's back.
        for (tenant, isolation, what) in [
            (
                "c",
                Isolation::DedicatedHosts,
                "a dedicated app shares the host with another tenant",
            ),
            (
                "b",
                Isolation::SharedHosts,
                "a shared app's instance is on a dedicated host",
            ),
        ] {
            let mut s = region();
            let r = Resources::cpu_mem(1_000, 1_024).unwrap();
            let mut other = AppSpec::new("other".parse().unwrap(), "b".parse().unwrap(), r);
            other.isolation = Isolation::DedicatedHosts;
            s.add_app(other, Timestamp(1)).unwrap();
            let d = s.place(&"other".parse().unwrap(), Timestamp(1)).unwrap();
            assert_eq!(d.placements[0].host, HostId(2));
            assert_eq!(s.check_invariants(), Ok(()));
            let a = s.apps.get_mut(&"other".parse::<AppId>().unwrap()).unwrap();
            a.spec.tenant = tenant.parse().unwrap();
            a.spec.isolation = isolation;
            assert_eq!(violation(&s), what);
        }
    }
}
