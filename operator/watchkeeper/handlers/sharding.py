"""The shard filter of every kopf handler and index (`when=`): a replica of a shard sees
only the objects of the namespaces its shard carries. The others never reach a handler,
an index or the runtime's object cache, so nothing of another shard is read, evaluated
or written here. kopf still receives their watch events and drops them."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from watchkeeper.engine.sharding import Shard

ShardFilter = Callable[..., bool] | None
"""A kopf `when=` filter, or None for none."""


def shard_filter(shard: Shard) -> ShardFilter:
    """The `when=` of every handler: None (no filter) when one shard carries everything."""
    if shard.count == 1:
        return None

    def carried(namespace: str | None, **_: Any) -> bool:
        return namespace is not None and shard.carries(namespace)

    return carried
