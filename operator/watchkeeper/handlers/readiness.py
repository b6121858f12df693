"""Ready and observedGeneration for every kind: parse the spec, resolve what it refers to,
write the condition only when it changes, and check again until the references exist."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

import kopf
from pydantic import ValidationError

from watchkeeper.api import ALERT, GROUP, KINDS, VERSION, KindDefinition
from watchkeeper.api.common import (
    Condition,
    ConditionStatus,
    MissingReference,
    describe_validation_error,
    secret_refs,
)
from watchkeeper.engine.conditions import READY, merge_condition, readiness
from watchkeeper.kube.client import Kube
from watchkeeper.runtime.config import OperatorConfig
from watchkeeper.runtime.metrics import RECONCILES

FIELD_MANAGER = "watchkeeper-readiness"


async def reconcile_readiness(
    kind: KindDefinition, body: kopf.Body, kube: Kube, logger: kopf.Logger
) -> None:
    """Compute Ready for one object and write it (and observedGeneration) if it changed."""
    namespace, name = str(body.metadata.namespace), str(body.metadata.name)
    generation = body.metadata.get("generation")
    invalid: str | None = None
    missing: list[MissingReference] = []
    try:
        spec = kind.spec.model_validate(dict(body.get("spec") or {}))
    except ValidationError as error:
        invalid = describe_validation_error(error)
    else:
        missing = await kube.missing_references(namespace, spec.references(), secret_refs(spec))
    status, reason, message = readiness(invalid, missing)
    RECONCILES.labels(kind.kind, reason).inc()

    current = _conditions(body.get("status") or {})
    merged = merge_condition(current, READY, status, reason, message, generation, datetime.now(UTC))
    observed = (body.get("status") or {}).get("observedGeneration")
    if merged == current and observed == generation:
        return
    mine = [c for c in merged if c.type == READY]
    await kube.apply_status(
        kind,
        namespace,
        name,
        {"observedGeneration": generation, "conditions": [c.to_api() for c in mine]},
        manager=FIELD_MANAGER,
    )
    previous = next((c for c in current if c.type == READY), None)
    if previous is None or previous.status != status or previous.reason != reason:
        if status == ConditionStatus.TRUE:
            kopf.info(body, reason=reason, message=message)
        else:
            kopf.warn(body, reason=reason, message=message)
        logger.info(
            "%s %s/%s Ready=%s (%s): %s", kind.kind, namespace, name, status, reason, message
        )


def _conditions(status: dict[str, Any]) -> list[Condition]:
    return [Condition.model_validate(c) for c in status.get("conditions") or []]


def register(registry: kopf.OperatorRegistry, config: OperatorConfig) -> None:
    """Watch every kind; check readiness on change and, except for Alerts, periodically."""
    for kind in KINDS:
        resource = (GROUP, VERSION, kind.plural)
        handler = _handler_for(kind)
        for decorator in (kopf.on.resume, kopf.on.create):
            decorator(*resource, registry=registry, id="readiness")(handler)
        kopf.on.update(*resource, registry=registry, id="readiness", field="spec")(handler)
        if kind is not ALERT:
            kopf.timer(
                *resource,
                registry=registry,
                id="recheck-references",
                interval=config.recheck_interval,
                initial_delay=config.recheck_interval,
            )(handler)


def _handler_for(kind: KindDefinition) -> Callable[..., Awaitable[None]]:
    async def handler(body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any) -> None:
        await reconcile_readiness(kind, body, memo.kube, logger)

    handler.__name__ = f"readiness_{kind.singular}"
    return handler
