"""Grouping like an Alertmanager route: `groupBy`, `groupWait`, `groupInterval` and
`repeatInterval`. An AlertPolicy's routing sets them for its alerts; a NotificationChannel
sets defaults for every policy routing to it. A group is formed per channel, across every
policy whose alerts route there with the same settings; its state (members, the last
notification, a flush in flight) lives in the channel's status."""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, Field

from .common import Between, Duration, WatchkeeperModel, cel
from .matchers import LABEL_NAME_PATTERN

EVERY_LABEL = "..."
"""groupBy: [...] groups by every label (each distinct label set is its own group)."""
DEFAULT_GROUP_WAIT = Duration("30s")
DEFAULT_GROUP_INTERVAL = Duration("5m")
DEFAULT_REPEAT_INTERVAL = Duration("4h")

GroupLabel = Annotated[
    str, Field(min_length=1, max_length=128, pattern=rf"^(\.\.\.|{LABEL_NAME_PATTERN})$")
]
_ALONE = "groupBy: ['...'] (every label) stands alone"


def _check_group_by(labels: list[str]) -> list[str]:
    if EVERY_LABEL in labels and len(labels) > 1:
        raise ValueError(_ALONE)
    return labels


GroupBy = Annotated[
    list[GroupLabel],
    AfterValidator(_check_group_by),
    Field(
        max_length=32,
        json_schema_extra={
            "x-kubernetes-validations": [
                cel("!self.exists(l, l == '...') || size(self) == 1", _ALONE)
            ]
        },
    ),
]
GroupWait = Annotated[Duration, Between("0s", "1h")]
GroupInterval = Annotated[Duration, Between("1s", "24h")]


class GroupingFields(WatchkeeperModel):
    """The fields a route and a channel share; unset ones come from the channel, then from
    Alertmanager's defaults (30s, 5m)."""

    group_by: GroupBy | None = Field(
        default=None,
        description="Label names whose values form a group: one notification per group "
        "lists all its firing and resolved alerts. ['...'] means every label; unset (here "
        "and on the channel) or empty: one alert per notification, as without grouping.",
    )
    group_wait: GroupWait | None = Field(
        default=None,
        description="How long a new group waits for more alerts before its first "
        "notification (default 30s).",
    )
    group_interval: GroupInterval | None = Field(
        default=None,
        description="How long after a group's notification its next one may go out when "
        "alerts join or resolve (default 5m).",
    )


class ChannelGrouping(GroupingFields):
    """A channel's grouping defaults for the policies routing to it."""

    repeat_interval: Annotated[Duration, Between("1s", "168h")] | None = Field(
        default=None,
        description="How often an unchanged group with firing alerts is sent again "
        "(default 4h; a policy's routing.repeatInterval, when set, wins).",
    )


class GroupMember(WatchkeeperModel):
    """One alert in a group, as the group will send it."""

    alert: str = Field(description="The Alert (in the channel's namespace).")
    policy: str = Field(description="Its AlertPolicy.")
    firing: bool = Field(description="Whether it fires (else it resolved).")
    since: str = Field(description="The transition that set this state (RFC 3339).")
    starts_at: str = Field(description="When this firing began (RFC 3339).")
    severity: str | None = Field(default=None, description="Its severity.")
    value: float | None = Field(default=None, description="Its value at the transition.")
    labels: dict[str, str] = Field(default_factory=dict, description="Its labels.")
    summary: str = Field(default="", max_length=1024, description="Its summary.")


class GroupFlush(WatchkeeperModel):
    """One notification of a group: owed (a flush in flight) or sent."""

    seq: int = Field(description="The group's notification number.")
    time: str = Field(description="When it was decided (RFC 3339).")
    firing: list[str] = Field(default_factory=list, description="Alerts listed as firing.")
    resolved: list[str] = Field(default_factory=list, description="Alerts listed as resolved.")
    attempts: int = Field(default=0, description="Requests made so far.")
    error: str = Field(default="", description="Why the latest round failed.")
    outcome: str | None = Field(default=None, description="How it was settled.")


class GroupStatus(WatchkeeperModel):
    """One group of a channel: what it holds, what it sent last, what it owes."""

    key: str = Field(max_length=2048, description="The group key, as Alertmanager writes it.")
    labels: dict[str, str] = Field(default_factory=dict, description="The group's labels.")
    group_wait: Duration = Field(description="Its groupWait.")
    group_interval: Duration = Field(description="Its groupInterval.")
    repeat_interval: Duration = Field(description="Its repeatInterval.")
    send_resolved: bool = Field(default=True, description="Whether resolved alerts are sent.")
    next_flush: str = Field(description="When it is next looked at (RFC 3339).")
    members: list[GroupMember] = Field(
        default_factory=list, max_length=1000, description="Its alerts."
    )
    last: GroupFlush | None = Field(default=None, description="The last notification sent.")
    owed: GroupFlush | None = Field(
        default=None,
        description="A notification decided and not yet settled: sent again, with the same "
        "idempotency key, until it is.",
    )
