//! The offline packing engine: typed errors, feasibility, warm starts,
//! determinism and optimality on easy cases.

mod common;

use proptest::prelude::*;
use trimline::pack::{Bins, MAX_DIMS, PackError, PackOptions, Packing, pack};

fn opts(budget: u64, seed: u64) -> PackOptions {
    PackOptions {
        budget,
        seed,
        warm_start: None,
    }
}

/// Every item exactly once, `bins`/`bin_of` consistent, no bin over capacity.
fn assert_feasible(bins: &Bins, items: &[Vec<u64>], p: &Packing) {
    let mut seen = vec![0; items.len()];
    for (b, its) in p.bins.iter().enumerate() {
        let cap = match bins {
            Bins::Identical(c) => c,
            Bins::List(l) => &l[b],
        };
        let mut load = vec![0u128; cap.len()];
        for &i in its {
            seen[i] += 1;
            assert_eq!(p.bin_of[i], b);
            for k in 0..cap.len() {
                load[k] += u128::from(items[i][k]);
            }
        }
        for k in 0..cap.len() {
            assert!(load[k] <= u128::from(cap[k]), "bin {b} dim {k} over");
        }
    }
    assert!(seen.iter().all(|&s| s == 1));
    assert_eq!(p.bins_used, p.bins.iter().filter(|b| !b.is_empty()).count());
    assert!(p.lower_bound <= p.bins_used);
}

#[test]
fn errors_are_typed() {
    let o = PackOptions::default();
    assert_eq!(
        pack(&Bins::Identical(vec![]), &[], &o),
        Err(PackError::Dimensions { dims: 0 })
    );
    assert_eq!(
        pack(&Bins::Identical(vec![1; MAX_DIMS + 1]), &[], &o),
        Err(PackError::Dimensions { dims: MAX_DIMS + 1 })
    );
    assert_eq!(pack(&Bins::List(vec![]), &[], &o), Err(PackError::NoBins));
    assert_eq!(
        pack(&Bins::List(vec![vec![1, 2], vec![1]]), &[], &o),
        Err(PackError::RaggedBin {
            bin: 1,
            len: 1,
            dims: 2
        })
    );
    assert_eq!(
        pack(&Bins::Identical(vec![4, 4]), &[vec![1, 1], vec![1]], &o),
        Err(PackError::RaggedItem {
            item: 1,
            len: 1,
            dims: 2
        })
    );
    assert_eq!(
        pack(&Bins::Identical(vec![4, 4]), &[vec![1, 1], vec![1, 5]], &o),
        Err(PackError::ItemFitsNoBin {
            item: 1,
            dim: 1,
            size: 5,
            capacity: 4
        })
    );
    let two = [vec![3, 3], vec![3, 3]];
    let w = |v: Vec<usize>| PackOptions {
        warm_start: Some(v),
        ..PackOptions::default()
    };
    assert_eq!(
        pack(&Bins::Identical(vec![4, 4]), &two, &w(vec![0])),
        Err(PackError::WarmStartLength { len: 1, items: 2 })
    );
    assert_eq!(
        pack(&Bins::List(vec![vec![4, 4]; 2]), &two, &w(vec![0, 2])),
        Err(PackError::WarmStartUnknownBin {
            item: 1,
            bin: 2,
            bins: 2
        })
    );
    assert_eq!(
        pack(&Bins::Identical(vec![4, 4]), &two, &w(vec![1, 1])),
        Err(PackError::WarmStartOverfull {
            bin: 1,
            dim: 0,
            load: 6,
            capacity: 4
        })
    );
    assert_eq!(
        pack(&Bins::List(vec![vec![4, 4]]), &two, &o),
        Err(PackError::NotEnoughBins {
            bins: 1,
            lower_bound: 2,
            unplaced: 0
        })
    );
    // Huge sizes: sums do not overflow.
    let big = vec![vec![u64::MAX, u64::MAX]; 3];
    let p = pack(&Bins::Identical(vec![u64::MAX, u64::MAX]), &big, &o).unwrap();
    assert_eq!((p.bins_used, p.lower_bound), (3, 3));
    // No items.
    let p = pack(&Bins::Identical(vec![1]), &[], &o).unwrap();
    assert_eq!(p.bins_used, 0);
}

#[test]
fn listed_bins_prefer_lower_indices_and_respect_capacities() {
    let bins = Bins::List(vec![vec![2, 2], vec![10, 10], vec![10, 10], vec![10, 10]]);
    let items = vec![vec![5, 5], vec![5, 5], vec![1, 1]];
    let p = pack(&bins, &items, &PackOptions::default()).unwrap();
    assert_feasible(&bins, &items, &p);
    assert_eq!(p.bins.len(), 4);
    assert_eq!(p.bins_used, 2);
    assert!(p.bins[3].is_empty());
}

#[test]
fn reaches_the_lower_bound_on_easy_cases() {
    // Three halves and three quarters pairs: perfect pairs.
    let bins = Bins::Identical(vec![100, 100, 100]);
    let mut items = Vec::new();
    for k in 0..30u64 {
        let a = 20 + k;
        items.push(vec![a, 100 - a, 50]);
        items.push(vec![100 - a, a, 50]);
    }
    let p = pack(&bins, &items, &PackOptions::default()).unwrap();
    assert_feasible(&bins, &items, &p);
    assert_eq!(p.lower_bound, 30);
    assert_eq!(p.bins_used, 30);
}

#[test]
fn warm_start_is_never_worsened_and_kept_on_ties() {
    let bins = Bins::Identical(vec![10, 10]);
    let items = vec![vec![6, 4], vec![4, 6], vec![6, 4], vec![4, 6]];
    // Optimal warm start: kept as is (up to numbering).
    let warm = PackOptions {
        warm_start: Some(vec![0, 0, 1, 1]),
        ..opts(0, 0)
    };
    let p = pack(&bins, &items, &warm).unwrap();
    assert_eq!(p.bins, vec![vec![0, 1], vec![2, 3]]);
    // A poor warm start improves.
    let warm = PackOptions {
        warm_start: Some(vec![0, 1, 2, 3]),
        ..PackOptions::default()
    };
    let p = pack(&bins, &items, &warm).unwrap();
    assert_eq!(p.bins_used, 2);
}

fn problem() -> impl Strategy<Value = (Vec<u64>, Vec<Vec<u64>>, u64)> {
    (1usize..=5, 1usize..=40, any::<u64>()).prop_flat_map(|(d, n, seed)| {
        (
            prop::collection::vec(1u64..=100, d),
            prop::collection::vec(prop::collection::vec(0u64..=100, d), n),
            Just(seed),
        )
            .prop_map(|(cap, items, seed)| {
                // Clip items to the capacity so every item fits.
                let items = items
                    .into_iter()
                    .map(|it| it.iter().zip(&cap).map(|(&s, &c)| s % (c + 1)).collect())
                    .collect();
                (cap, items, seed)
            })
    })
}

proptest! {
    #![proptest_config(common::cases(64))]

    #[test]
    fn packings_are_feasible_deterministic_and_never_worse_than_warm((cap, items, seed) in problem()) {
        let bins = Bins::Identical(cap.clone());
        let o = opts(20_000, seed);
        let p = pack(&bins, &items, &o).unwrap();
        assert_feasible(&bins, &items, &p);
        prop_assert_eq!(&pack(&bins, &items, &o).unwrap(), &p);
        prop_assert!(p.bins_used <= p.initial_bins);

        // Warm start: one item per bin, or the packing itself.
        let w = PackOptions { warm_start: Some(p.bin_of.clone()), ..o.clone() };
        let q = pack(&bins, &items, &w).unwrap();
        assert_feasible(&bins, &items, &q);
        prop_assert!(q.bins_used <= p.bins_used);

        // The same problem as a list of bins, with a few small ones first.
        let mut list = vec![cap.iter().map(|c| c / 2).collect::<Vec<_>>(); 2];
        list.extend(std::iter::repeat_n(cap.clone(), items.len()));
        let lb = Bins::List(list);
        let r = pack(&lb, &items, &o).unwrap();
        assert_feasible(&lb, &items, &r);
        prop_assert!(r.bins_used <= items.len());
    }
}
