"""Alerts as the API stores them: deterministic names, the conversion between an engine
Instance and an Alert's status (the part of it that must survive restarts), and the proof
that the operator wrote that status."""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from watchkeeper.api.alert import AlertState, AlertStatus
from watchkeeper.api.common import Severity
from watchkeeper.api.timestamps import format_time, parse_optional_time
from watchkeeper.engine.alerts import Instance, SeriesKey, series_key

MAX_NAME = 253
PROVEN = ("state", "startsAt", "firingSince", "resolvedAt", "labels", "lastRepeatAt")
"""Status fields the proof covers, besides the Alert's identity and its outbox ids and keys:
what decides whether and what the Alert is notified."""


def alert_name(policy: str, labels: Mapping[str, str]) -> str:
    """`<policy>-<8 hex of the label set>`, stable across restarts and operator versions."""
    canonical = "\x00".join(f"{k}\x01{v}" for k, v in series_key(labels))
    digest = hashlib.sha256(canonical.encode()).hexdigest()[:8]
    return f"{policy[: MAX_NAME - 9].rstrip('-.')}-{digest}"


def label_value(text: str) -> str:
    """`text` if it is a valid label value, else a truncated form with a hash suffix."""
    if len(text) <= 63:
        return text
    digest = hashlib.sha256(text.encode()).hexdigest()[:8]
    return f"{text[:54].rstrip('-._')}-{digest}"


def instance_from_status(status: AlertStatus) -> Instance | None:
    """The engine's view of a persisted Alert; None if the status is not (yet) complete."""
    starts_at = parse_optional_time(status.starts_at)
    if status.state is None or starts_at is None:
        return None
    return Instance(
        labels=dict(status.labels),
        state=AlertState(status.state),
        starts_at=starts_at,
        severity=Severity(status.severity) if status.severity else None,
        value=status.value,
        threshold=status.threshold,
        firing_since=parse_optional_time(status.firing_since),
        severity_changed_at=parse_optional_time(status.severity_changed_at),
        keep_firing_since=parse_optional_time(status.keep_firing_since),
        resolved_at=parse_optional_time(status.resolved_at),
    )


def _finite(value: float | None) -> float | None:
    return value if value is not None and math.isfinite(value) else None


def status_from_instance(instance: Instance) -> dict[str, Any]:
    """The persisted fields of an Alert's status (merge-patch form: None clears)."""

    def stamp(moment: datetime | None) -> str | None:
        return format_time(moment) if moment else None

    return {
        "state": instance.state.value,
        "severity": instance.severity.value if instance.severity else None,
        "value": _finite(instance.value),
        "threshold": _finite(instance.threshold),
        "labels": dict(instance.labels),
        "startsAt": stamp(instance.starts_at),
        "firingSince": stamp(instance.firing_since),
        "severityChangedAt": stamp(instance.severity_changed_at),
        "keepFiringSince": stamp(instance.keep_firing_since),
        "resolvedAt": stamp(instance.resolved_at),
        "band": instance.band.to_api() if instance.band else None,
    }


def instances_by_key(statuses: Mapping[str, AlertStatus]) -> dict[SeriesKey, Instance]:
    """Rebuild the engine's state from the Alerts a policy owns (name -> status)."""
    found: dict[SeriesKey, Instance] = {}
    for status in statuses.values():
        instance = instance_from_status(status)
        if instance is not None:
            found[series_key(instance.labels)] = instance
    return found


def proof(key: bytes, namespace: str, name: str, policy_uid: str, status: Mapping[str, Any]) -> str:
    """HMAC-SHA256 (hex) over the Alert's identity (namespace, name, owning policy's UID),
    the PROVEN fields and the outbox's ids and keys, as `status` (API form) holds them.
    Unset, empty and None are the same."""
    outbox = status.get("outbox") or []
    covered = {
        "alert": [namespace, name, policy_uid],
        **{field: status.get(field) or None for field in PROVEN},
        "outbox": sorted([str(o.get("id")), str(o.get("key"))] for o in outbox),
    }
    message = json.dumps(covered, sort_keys=True, separators=(",", ":"))
    return hmac.new(key, message.encode(), hashlib.sha256).hexdigest()


def proven(
    key: bytes, namespace: str, name: str, policy_uid: str, status: Mapping[str, Any]
) -> bool:
    """Whether `status` carries the proof the operator would have written for it."""
    expected = proof(key, namespace, name, policy_uid, status)
    return hmac.compare_digest(str(status.get("proof") or ""), expected)
