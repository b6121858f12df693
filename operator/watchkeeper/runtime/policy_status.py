"""The evaluation part of an AlertPolicy's status: counts, the last evaluation and the
Evaluated condition. Written when something a human would notice changed, otherwise at
most once per heartbeat."""

from __future__ import annotations

from datetime import datetime, timedelta

from watchkeeper.api import ALERT_POLICY
from watchkeeper.api.common import Condition, ConditionStatus
from watchkeeper.api.timestamps import format_time
from watchkeeper.engine.conditions import merge_condition
from watchkeeper.kube.client import Kube
from watchkeeper.runtime.config import OperatorConfig

FIELD_MANAGER = "watchkeeper-evaluation"
"""Owns what evaluation writes: this status part and the state in each Alert's status."""
EVALUATED = "Evaluated"

_MESSAGES = {
    "QuerySucceeded": "Prometheus answered the query.",
    "NoData": "The query returned no series; spec.noDataState applies.",
    "Suspended": "spec.suspend is true: evaluation is paused and alerts keep their state.",
}


class PolicyStatusWriter:
    """Writes counts, lastEvaluation and the Evaluated condition of one policy."""

    def __init__(
        self,
        kube: Kube,
        namespace: str,
        name: str,
        config: OperatorConfig,
        conditions: list[dict[str, object]],
    ) -> None:
        self.kube = kube
        self.namespace = namespace
        self.name = name
        self.heartbeat = timedelta(seconds=config.status_heartbeat)
        self.conditions = [
            Condition.model_validate(c) for c in conditions if c.get("type") == EVALUATED
        ]
        self.last_fingerprint: tuple[object, ...] | None = None
        self.last_written: datetime | None = None

    async def evaluated(
        self,
        counts: tuple[int, int],
        at: datetime,
        duration: float,
        reason: str,
        error: str | None,
        template_errors: list[str],
    ) -> None:
        if error is not None:
            state = "Prometheus rejected the query" if reason == "QueryRejected" else "No result"
            message = (
                f"{state}: {error}. Alerts keep their state unless spec.errorState is Alerting."
            )
        else:
            message = _MESSAGES[reason]
        if template_errors:
            message += " Annotation templates failed: " + "; ".join(template_errors)
        healthy = error is None and not template_errors
        last = {
            "time": format_time(at),
            "durationSeconds": round(duration, 4),
            "error": error or "",
        }
        await self._write(
            counts, at, healthy, reason if error or healthy else "TemplateError", message, last
        )

    async def suspended(self, counts: tuple[int, int], at: datetime) -> None:
        await self._write(counts, at, False, "Suspended", _MESSAGES["Suspended"], None)

    async def _write(
        self,
        counts: tuple[int, int],
        at: datetime,
        healthy: bool,
        reason: str,
        message: str,
        last: dict[str, object] | None,
    ) -> None:
        status = ConditionStatus.TRUE if healthy else ConditionStatus.FALSE
        fingerprint = (counts, status, reason, message, (last or {}).get("error"))
        stale = self.last_written is None or at - self.last_written >= self.heartbeat
        if fingerprint == self.last_fingerprint and not stale:
            return
        self.conditions = merge_condition(
            self.conditions, EVALUATED, status, reason, message, None, at
        )
        pending, firing = counts
        await self.kube.apply_status(
            ALERT_POLICY,
            self.namespace,
            self.name,
            {
                "pending": pending,
                "firing": firing,
                "lastEvaluation": last,
                "conditions": [c.to_api() for c in self.conditions],
            },
            manager=FIELD_MANAGER,
        )
        self.last_fingerprint, self.last_written = fingerprint, at
