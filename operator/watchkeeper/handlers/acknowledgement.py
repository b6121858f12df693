"""Acknowledgement of Alerts: by the Alert's spec.acknowledgement (also what
`watchkeeper ack` sets) or by the annotation watchkeeper.io/ack=WHO. Recorded in status
with the time; cleared when the alert resolves."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime
from typing import Any

import kopf

from watchkeeper.api import ALERT, API_VERSION, GROUP, VERSION
from watchkeeper.api.alert import ACK_ANNOTATION, Acknowledgement
from watchkeeper.api.timestamps import format_time
from watchkeeper.kube.calls import KubeError
from watchkeeper.kube.events import ObjectRef
from watchkeeper.runtime.acknowledgement import FIELD_MANAGER
from watchkeeper.runtime.app import Runtime
from watchkeeper.runtime.config import OperatorConfig


def wanted(body: kopf.Body) -> Acknowledgement | None:
    """The acknowledgement the user asked for: the spec wins over the annotation."""
    spec_ack = (body.get("spec") or {}).get("acknowledgement")
    if spec_ack and spec_ack.get("by"):
        return Acknowledgement(by=spec_ack["by"], comment=spec_ack.get("comment", ""))
    by = (body.metadata.annotations or {}).get(ACK_ANNOTATION)
    return Acknowledgement(by=by) if by else None


async def record(
    type: str | None, body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, **_: Any
) -> None:
    """On every change of an Alert: record or withdraw the acknowledgement in status."""
    runtime: Runtime = memo.runtime
    status = body.get("status") or {}
    if not runtime.leading or type == "DELETED" or status.get("state") in (None, "Resolved"):
        return
    kube = runtime.services.kube
    ack = wanted(body)
    recorded = status.get("acknowledged")
    namespace, name = str(body.metadata.namespace), str(body.metadata.name)
    if ack is None:
        if recorded:
            await kube.apply_status(ALERT, namespace, name, {}, FIELD_MANAGER)
        return
    if recorded and (recorded.get("by"), recorded.get("comment", "")) == (ack.by, ack.comment):
        return
    stamp = format_time(datetime.now(UTC).replace(microsecond=0))
    await kube.apply_status(
        ALERT, namespace, name, {"acknowledged": {**ack.to_api(), "time": stamp}}, FIELD_MANAGER
    )
    about = ObjectRef(API_VERSION, ALERT.kind, namespace, name, str(body.metadata.uid))
    with contextlib.suppress(KubeError):
        await runtime.services.events.post(
            about, "Normal", "Acknowledged", f"Acknowledged by {ack.by}"
        )
    logger.info("Alert %s/%s acknowledged by %s", namespace, name, ack.by)


def register(registry: kopf.OperatorRegistry, config: OperatorConfig) -> None:
    kopf.on.event(GROUP, VERSION, ALERT.plural, registry=registry, id="acknowledgement")(record)
