"""Acknowledgement of Alerts: every change of an Alert (spec.acknowledgement, also what
`watchkeeper ack` sets, or the annotation watchkeeper.io/ack=WHO) goes to the notifier of
the policy that owns it (an AlertPolicy, or a ScalingPolicy for its budget warnings),
which records the acknowledgement in status together with the
notices it owes (runtime/notifier.py `AlertNotifier.acknowledged`)."""

from __future__ import annotations

import logging
from typing import Any

import kopf

from watchkeeper.api import ALERT, ALERT_POLICY, GROUP, SCALING_POLICY, VERSION
from watchkeeper.handlers.sharding import ShardFilter
from watchkeeper.kube.calls import KubeError
from watchkeeper.runtime.app import Runtime

LOGGER = logging.getLogger("watchkeeper.acknowledgement")


async def record(type: str | None, body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    """On every change of an Alert: hand it to its policy's notifier (on the leader)."""
    runtime: Runtime = memo.runtime
    if not runtime.leading or type == "DELETED":
        return
    owners = body.metadata.get("ownerReferences") or []
    namespace = str(body.metadata.namespace)
    notifier = None
    for owner in owners:
        if owner.get("kind") == ALERT_POLICY.kind:
            evaluator = runtime.alerting.evaluator(namespace, owner["name"])
            notifier = evaluator.notifier if evaluator else None
        elif owner.get("kind") == SCALING_POLICY.kind:
            warnings = runtime.scaling.warnings(namespace, owner["name"])
            notifier = warnings.notifier if warnings else None
    if notifier is None:
        return  # not (yet) evaluated on this replica: its first round loads the Alert
    try:
        await notifier.acknowledged(body)
    except KubeError as error:  # held in the writer's record; the next write carries it
        LOGGER.debug(
            "Alert %s/%s: acknowledgement not written yet: %s", namespace, body.metadata.name, error
        )


def register(registry: kopf.OperatorRegistry, when: ShardFilter) -> None:
    kopf.on.event(GROUP, VERSION, ALERT.plural, registry=registry, id="acknowledgement", when=when)(
        record
    )
