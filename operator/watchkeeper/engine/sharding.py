"""Static sharding by namespace: which replica set carries which namespace.

Every kind is namespaced and every relation between objects (channels, escalation,
inhibition, silences, grouping, floors, scale targets) stays inside one namespace, so a
namespace is the unit. A namespace belongs to shard `namespace_shard(name, count)`: the
same hash as Prometheus' `hashmod` relabelling (the last 8 bytes of the MD5 of the name,
big-endian, modulo the count), stable across processes, versions and machines."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass


def namespace_shard(namespace: str, count: int) -> int:
    """The shard (0 .. count-1) that carries `namespace`."""
    digest = hashlib.md5(namespace.encode(), usedforsecurity=False).digest()
    return int.from_bytes(digest[8:], "big") % count


@dataclass(frozen=True)
class Shard:
    """Shard `index` of `count` (the defaults, 0 of 1, carry every namespace)."""

    index: int = 0
    count: int = 1

    def __post_init__(self) -> None:
        if self.count < 1:
            raise ValueError(f"the number of shards must be at least 1, not {self.count}")
        if not 0 <= self.index < self.count:
            raise ValueError(f"shard {self.index} does not exist: shards are 0..{self.count - 1}")

    def carries(self, namespace: str) -> bool:
        """Whether this shard carries the objects of `namespace`."""
        return self.count == 1 or namespace_shard(namespace, self.count) == self.index

    def lease_name(self, base: str) -> str:
        """The leader-election Lease of this shard's replicas: `base` unsharded, else
        `<base>-shard-<index>-of-<count>` (replicas of different shard counts never
        share a Lease)."""
        return base if self.count == 1 else f"{base}-shard-{self.index}-of-{self.count}"
