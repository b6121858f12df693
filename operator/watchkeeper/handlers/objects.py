"""Every watched object reaches the runtime: created, changed, listed at start or deleted.
Registration only; what happens next is the runtime's business."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import kopf

from watchkeeper.api import GROUP, KINDS, VERSION, KindDefinition
from watchkeeper.runtime.app import Runtime


def _handler_for(kind: KindDefinition) -> Callable[..., Awaitable[None]]:
    async def handler(type: str | None, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
        runtime: Runtime = memo.runtime
        if type == "DELETED":
            await runtime.gone(kind, _plain(body))
        else:
            await runtime.seen(kind, _plain(body))

    handler.__name__ = f"watch_{kind.singular}"
    return handler


def _plain(body: kopf.Body) -> dict[str, Any]:
    """A detached copy: kopf's Body is a live view that changes under us."""
    return {
        "apiVersion": body.get("apiVersion"),
        "kind": body.get("kind"),
        "metadata": dict(body.metadata),
        "spec": dict(body.get("spec") or {}),
        "status": dict(body.get("status") or {}),
    }


def register(registry: kopf.OperatorRegistry) -> None:
    for kind in KINDS:
        kopf.on.event(GROUP, VERSION, kind.plural, registry=registry, id="watch")(
            _handler_for(kind)
        )
