"""The evaluation part of an AlertPolicy's status: counts, the last evaluation that changed
something, and the Evaluated condition; for an adaptive band, how many series are still
learning and the band of the series nearest to breaching. Written only when something a
human would notice changed (counts, condition, error), and the nearest band at most once
per heartbeat: a healthy, quiet policy costs few API writes. Per evaluation timing is in
the operator's metrics."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from watchkeeper.api import ALERT_POLICY
from watchkeeper.api.common import Condition, ConditionStatus
from watchkeeper.api.timestamps import format_time
from watchkeeper.engine.bands import BandSummary
from watchkeeper.engine.conditions import merge_condition
from watchkeeper.kube.client import Kube

FIELD_MANAGER = "watchkeeper-evaluation"
"""Owns what evaluation writes: this status part and the state in each Alert's status."""
EVALUATED = "Evaluated"
SHOWN_ERRORS = 3
"""Refused Alert writes named in the condition's message; the rest are counted."""

_MESSAGES = {
    "QuerySucceeded": "Prometheus answered the query.",
    "NoData": "The query returned no series; spec.noDataState applies.",
    "Suspended": "spec.suspend is true: evaluation is paused and alerts keep their state.",
    "Learning": "Every series is learning: its baseline window holds fewer than minPoints "
    "points, so none can breach yet.",
}
LEARNING_NOTE = (
    " {learning} of {series} series are learning (fewer than minPoints points in the "
    "baseline window) and cannot breach yet."
)


class PolicyStatusWriter:
    """Writes counts, lastEvaluation and the Evaluated condition of one policy."""

    def __init__(
        self,
        kube: Kube,
        namespace: str,
        name: str,
        conditions: list[dict[str, object]],
        heartbeat: timedelta,
    ) -> None:
        self.kube = kube
        self.heartbeat = heartbeat
        self.namespace = namespace
        self.name = name
        self.conditions = [
            Condition.model_validate(c) for c in conditions if c.get("type") == EVALUATED
        ]
        self.last_fingerprint: tuple[object, ...] | None = None
        self.last_nearest: dict[str, Any] | None = None
        self.last_written: datetime | None = None

    async def evaluated(
        self,
        counts: tuple[int, int],
        at: datetime,
        duration: float,
        reason: str,
        error: str | None,
        template_errors: list[str],
        write_errors: list[str],
        late: bool = False,
        bands: BandSummary | None = None,
    ) -> None:
        """`write_errors`: Alert writes the API server refused (each names its Alert).
        `late`: the evaluation started more than half an interval after its due instant
        (the operator, not Prometheus, is behind). `bands`: an adaptive policy's bands."""
        learning = bands.learning if bands else 0
        if reason == "QuerySucceeded" and bands and bands.series and learning == bands.series:
            reason = "Learning"
        if error is not None:
            state = {
                "QueryRejected": "Prometheus rejected the query",
                "DuplicateSeries": "The result cannot be evaluated (Prometheus refuses it too)",
            }.get(reason, "No result")
            message = (
                f"{state}: {error}. Alerts keep their state unless spec.errorState is Alerting."
            )
        else:
            message = _MESSAGES[reason]
        if bands and 0 < learning < bands.series:
            message += LEARNING_NOTE.format(learning=learning, series=bands.series)
        if late:
            message += (
                " Evaluations start more than half an interval after their due instant: the "
                "operator is saturated (see watchkeeper_scheduler_queue_depth), not Prometheus."
            )
        if write_errors:
            message += (
                " The API server refused Alert writes (they are retried at every evaluation): "
                + "; ".join(write_errors[:SHOWN_ERRORS])
                + (
                    f"; and {len(write_errors) - SHOWN_ERRORS} more"
                    if len(write_errors) > SHOWN_ERRORS
                    else ""
                )
            )
        if template_errors:
            message += " Annotation templates failed: " + "; ".join(template_errors)
        healthy = error is None and not template_errors and not write_errors
        if not healthy and error is None:
            reason = "AlertWriteFailed" if write_errors else "TemplateError"
        last = {
            "time": format_time(at),
            "durationSeconds": round(duration, 4),
            "error": error or "",
        }
        nearest = bands.nearest.to_api() if bands and bands.nearest else None
        await self._write(counts, at, healthy, reason, message, last, learning, nearest)

    async def suspended(self, counts: tuple[int, int], at: datetime) -> None:
        await self._write(counts, at, False, "Suspended", _MESSAGES["Suspended"], None)

    def _nearest_due(self, nearest: dict[str, Any] | None, at: datetime) -> bool:
        """The nearest band changed and was last written a heartbeat ago (or never)."""
        if nearest == self.last_nearest:
            return False
        return self.last_written is None or at - self.last_written >= self.heartbeat

    async def _write(
        self,
        counts: tuple[int, int],
        at: datetime,
        healthy: bool,
        reason: str,
        message: str,
        last: dict[str, object] | None,
        learning: int = 0,
        nearest: dict[str, Any] | None = None,
    ) -> None:
        status = ConditionStatus.TRUE if healthy else ConditionStatus.FALSE
        fingerprint = (counts, learning, status, reason, message, (last or {}).get("error"))
        if fingerprint == self.last_fingerprint and not self._nearest_due(nearest, at):
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
                "learning": learning,
                "nearest": nearest,
                "conditions": [c.to_api() for c in self.conditions],
            },
            manager=FIELD_MANAGER,
        )
        self.last_fingerprint = fingerprint
        self.last_nearest, self.last_written = nearest, at
