"""EscalationPolicy status: how many alerts are escalating through it now (the Alerts
carry the label watchkeeper.io/escalation=<policy> while their chain has steps to go)."""

from __future__ import annotations

from typing import Any

import kopf

from watchkeeper.api import ESCALATION_POLICY, GROUP, VERSION
from watchkeeper.kube.alerts import AlertStore
from watchkeeper.runtime.config import OperatorConfig
from watchkeeper.runtime.escalator import ESCALATION_LABEL, FIELD_MANAGER


async def count_escalating(body: kopf.Body, memo: kopf.Memo, **_: Any) -> None:
    namespace, name = str(body.metadata.namespace), str(body.metadata.name)
    store = AlertStore(memo.kube.api_client)
    escalating = len(await store.list_labelled(namespace, f"{ESCALATION_LABEL}={name}"))
    if (body.get("status") or {}).get("escalating") != escalating:
        await memo.kube.apply_status(
            ESCALATION_POLICY, namespace, name, {"escalating": escalating}, FIELD_MANAGER
        )


def register(registry: kopf.OperatorRegistry, config: OperatorConfig) -> None:
    kopf.timer(
        GROUP,
        VERSION,
        ESCALATION_POLICY.plural,
        registry=registry,
        id="count-escalating",
        interval=config.recheck_interval,
    )(count_escalating)
