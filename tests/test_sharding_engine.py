"""Static sharding by namespace: a stable hash (Prometheus' hashmod), an even spread, and
one Lease per shard and shard count."""

from __future__ import annotations

import os
import subprocess
import sys
from collections import Counter

import pytest

from watchkeeper.engine.sharding import Shard, namespace_shard

# Pinned: a replica of another version or on another machine must agree on every namespace.
# They are Prometheus' `hashmod` of the name (last 8 bytes of its MD5, big-endian).
PINNED = [
    ("default", {2: 0, 3: 2, 4: 2, 8: 2}),
    ("kube-system", {2: 1, 3: 2, 4: 3, 8: 3}),
    ("team-a", {2: 0, 3: 2, 4: 0, 8: 4}),
    ("team-b", {2: 1, 3: 1, 4: 3, 8: 3}),
    ("monitoring", {2: 1, 3: 1, 4: 1, 8: 1}),
]


@pytest.mark.parametrize(("namespace", "shards"), PINNED)
def test_the_shard_of_a_namespace_is_pinned(namespace: str, shards: dict[int, int]) -> None:
    assert {count: namespace_shard(namespace, count) for count in shards} == shards
    assert namespace_shard(namespace, 1) == 0


def test_every_process_agrees_whatever_its_hash_seed() -> None:
    code = (
        "from watchkeeper.engine.sharding import namespace_shard as s;"
        "print([s(f'ns-{i}', 4) for i in range(200)])"
    )
    answers = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={**os.environ, "PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("0", "1", "12345")
    }
    assert answers == {f"{[namespace_shard(f'ns-{i}', 4) for i in range(200)]}\n"}


@pytest.mark.parametrize("count", [2, 3, 4, 8])
@pytest.mark.parametrize("pattern", ["ns-{}", "team-{}-prod", "{}"])
def test_ten_thousand_namespaces_spread_evenly(count: int, pattern: str) -> None:
    spread = Counter(namespace_shard(pattern.format(i), count) for i in range(10_000))
    assert sorted(spread) == list(range(count))
    fair = 10_000 / count
    assert all(abs(n - fair) <= 0.05 * fair for n in spread.values()), spread


@pytest.mark.parametrize(
    ("shard", "carried"),
    [
        (Shard(), {"default", "kube-system", "team-a", "team-b", "monitoring"}),
        (Shard(0, 2), {"default", "team-a"}),
        (Shard(1, 2), {"kube-system", "team-b", "monitoring"}),
        (Shard(3, 4), {"kube-system", "team-b"}),
    ],
)
def test_a_shard_carries_exactly_its_namespaces(shard: Shard, carried: set[str]) -> None:
    assert {ns for ns, _ in PINNED if shard.carries(ns)} == carried


def test_each_namespace_is_carried_by_exactly_one_shard() -> None:
    for count in (1, 2, 4):
        shards = [Shard(i, count) for i in range(count)]
        for i in range(1_000):
            assert sum(s.carries(f"ns-{i}") for s in shards) == 1


@pytest.mark.parametrize(
    ("shard", "lease"),
    [
        (Shard(), "watchkeeper-leader"),
        (Shard(0, 2), "watchkeeper-leader-shard-0-of-2"),
        (Shard(1, 2), "watchkeeper-leader-shard-1-of-2"),
        (Shard(1, 4), "watchkeeper-leader-shard-1-of-4"),
    ],
)
def test_each_shard_and_shard_count_has_its_own_lease(shard: Shard, lease: str) -> None:
    assert shard.lease_name("watchkeeper-leader") == lease


@pytest.mark.parametrize(("index", "count"), [(0, 0), (2, 2), (-1, 2), (4, 4)])
def test_a_shard_outside_the_count_is_refused(index: int, count: int) -> None:
    with pytest.raises(ValueError, match="shard"):
        Shard(index, count)
