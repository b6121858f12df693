"""Acknowledgement of Alerts: every change of an Alert (spec.acknowledgement, also what
`watchkeeper ack` sets, or the annotation watchkeeper.io/ack=WHO) goes to the notifier of
its policy, which records the acknowledgement in status with the notices it owes."""

from __future__ import annotations

from typing import Any

import kopf

from watchkeeper.api import ALERT, GROUP, VERSION
from watchkeeper.api.alert import POLICY_LABEL
from watchkeeper.runtime.config import OperatorConfig


async def record(type: str | None, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """On every change of an Alert: hand it to its policy's notifier."""
    if type == "DELETED":
        return
    policy = (body.metadata.labels or {}).get(POLICY_LABEL)
    notifiers = getattr(memo, "notifiers", None) or {}
    notifier = notifiers.get((str(body.metadata.namespace), policy))
    if notifier is not None:
        await notifier.acknowledged(body)


def register(registry: kopf.OperatorRegistry, config: OperatorConfig) -> None:
    kopf.on.event(GROUP, VERSION, ALERT.plural, registry=registry, id="acknowledgement")(record)
