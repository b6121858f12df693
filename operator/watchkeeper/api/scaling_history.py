"""A ScalingPolicy's memory of its decisions, kept in its status: the recommendations of
the stabilization windows, the scale events of the rate limits, and the recent history."""

from __future__ import annotations

from pydantic import Field

from .common import WatchkeeperModel

HISTORY_LIMIT = 50


class Recommendation(WatchkeeperModel):
    """A replica recommendation kept for the stabilization window."""

    time: str = Field(description="When this count was last recommended (RFC 3339).")
    replicas: int = Field(description="Recommended replicas.")


class ReplicaChange(WatchkeeperModel):
    """A change of replicas that the behaviour's rate limits count."""

    time: str = Field(description="When (RFC 3339).")
    change: int = Field(description="Replicas added (positive) or removed (negative).")
    outdated: bool = Field(
        default=False,
        description="Older than its direction's longest period when the next change of that "
        "direction was made: its slot is reused by the next one (a period that grows still "
        "counts it, as the HPA does).",
    )


class ScaleEvent(WatchkeeperModel):
    """A change of replicas."""

    time: str = Field(description="When (RFC 3339).")
    from_: int = Field(alias="from", description="Replicas before.")
    to: int = Field(description="Replicas after.")
    reason: str = Field(description="Why.")
