"""Partial packing: as many items as fit into a list of bins, and the items
left over."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import trimline


def test_too_many_items_are_packed_in_part_with_the_rest_named() -> None:
    # Three GPU hosts (vCPU, GiB, accelerators); thirty 1-accelerator pods
    # and a 16-accelerator job that fits no host.
    bins = [[96, 384, 8]] * 3
    items = [[12, 48, 1]] * 30 + [[8, 32, 16]]
    p = trimline.pack_partial(bins, items, budget=10_000)
    assert p["unplaced"] == [24, 25, 26, 27, 28, 29, 30]
    assert p["bins_used"] == 3
    assert p["bin_of"][30] is None
    assert sorted(i for b in p["bins"] for i in b) == list(range(24))
    assert all(p["bin_of"][i] == b for b, its in enumerate(p["bins"]) for i in its)


def test_everything_fits() -> None:
    p = trimline.pack_partial([[8], [8]], [[6], [5], [2]])
    assert p["unplaced"] == []
    assert p["bins_used"] == 2


def test_invalid_problems_raise_invalid_input() -> None:
    with pytest.raises(trimline.InvalidInput, match="no bins"):
        trimline.pack_partial([], [[1]])
    with pytest.raises(trimline.InvalidInput, match="item 1 has 1 dimensions, expected 2"):
        trimline.pack_partial([[8, 8]], [[1, 1], [1]])
    with pytest.raises(OverflowError):
        trimline.pack_partial([[8]], [[-1]])


@settings(max_examples=50, deadline=None)
@given(
    hosts=st.integers(1, 5),
    items=st.lists(st.tuples(st.integers(1, 40), st.integers(1, 40), st.integers(0, 8)), max_size=40),
)
def test_partial_packing_is_feasible(hosts: int, items: list[tuple[int, int, int]]) -> None:
    bins = [[32, 32, 8]] * hosts
    sizes = [list(t) for t in items]
    p = trimline.pack_partial(bins, sizes, budget=1_000)
    seen = sorted([i for b in p["bins"] for i in b] + p["unplaced"])
    assert seen == list(range(len(sizes)))
    for b, its in enumerate(p["bins"]):
        for k in range(3):
            assert sum(sizes[i][k] for i in its) <= bins[b][k]
