"""Acknowledgement state the runtime clears when an alert resolves."""

from __future__ import annotations

from watchkeeper.api import ALERT
from watchkeeper.api.alert import ACK_ANNOTATION
from watchkeeper.kube.alerts import AlertStore
from watchkeeper.kube.client import Kube

FIELD_MANAGER = "watchkeeper-acknowledgement"


async def clear_acknowledgement(kube: Kube, store: AlertStore, namespace: str, name: str) -> None:
    """Forget the acknowledgement of a resolved alert, so that a new firing is unowned."""
    await kube.apply_status(ALERT, namespace, name, {}, FIELD_MANAGER)
    await store.patch(
        namespace,
        name,
        {"spec": {"acknowledgement": None}, "metadata": {"annotations": {ACK_ANNOTATION: None}}},
    )
