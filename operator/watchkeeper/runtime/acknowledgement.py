"""Acknowledgements: what a user asked for on an Alert (spec.acknowledgement, also what
`watchkeeper ack` sets, or the annotation watchkeeper.io/ack=WHO), and withdrawing the
request once the alert resolves or the acknowledgement expires. The recorded
acknowledgement (status.acknowledged) is part of the alert's ledger (runtime/alert_writer.py)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from watchkeeper.api.alert import ACK_ANNOTATION, Acknowledgement
from watchkeeper.kube.alerts import AlertStore


def wanted(body: Mapping[str, Any]) -> Acknowledgement | None:
    """The acknowledgement the user asked for: the spec wins over the annotation."""
    spec_ack = (body.get("spec") or {}).get("acknowledgement")
    if spec_ack and spec_ack.get("by"):
        return Acknowledgement(by=spec_ack["by"], comment=spec_ack.get("comment", ""))
    by = ((body.get("metadata") or {}).get("annotations") or {}).get(ACK_ANNOTATION)
    return Acknowledgement(by=by) if by else None


async def clear_acknowledgement(store: AlertStore, namespace: str, name: str) -> None:
    """Withdraw the request, so that a new firing is unowned."""
    await store.patch(
        namespace,
        name,
        {"spec": {"acknowledgement": None}, "metadata": {"annotations": {ACK_ANNOTATION: None}}},
    )
