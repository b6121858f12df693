"""Every watched object reaches the runtime: created, changed, listed at start or deleted.
Registration only; what happens next is the runtime's business."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import kopf

from watchkeeper.api import GROUP, KINDS, VERSION, KindDefinition
from watchkeeper.handlers.sharding import ShardFilter
from watchkeeper.runtime.app import Runtime
from watchkeeper.runtime.objects import detached


def _handler_for(kind: KindDefinition) -> Callable[..., Awaitable[None]]:
    async def handler(type: str | None, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
        runtime: Runtime = memo.runtime
        if type == "DELETED":
            await runtime.gone(kind, detached(body))
        else:
            await runtime.seen(kind, detached(body))

    handler.__name__ = f"watch_{kind.singular}"
    return handler


def register(registry: kopf.OperatorRegistry, when: ShardFilter) -> None:
    for kind in KINDS:
        kopf.on.event(GROUP, VERSION, kind.plural, registry=registry, id="watch", when=when)(
            _handler_for(kind)
        )
