"""Alertmanager's aggregation groups, as pure functions over a group's recorded state.

An alert joins the group its labels select (`join`); a new group is first looked at
`groupWait` later, then every `groupInterval` (`decide`). Whether a look sends is
Alertmanager's notification-log rule (`needs_update`): a firing alert not in the last
notification, everything resolved after a notification listed firing alerts, a resolved
alert not yet sent (when resolved alerts are sent), or `repeatInterval` since the last.
Silenced or inhibited members are left out of the notification; inside a mute window
nothing is sent. After a look that ends well, the resolved members it covered leave the
group (`settle`); an empty group goes, unless its last notification listed firing alerts
and a new firing of the same alerts within `repeatInterval` must stay quiet, as in
Alertmanager's notification log.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

from watchkeeper.api.alertpolicy import Routing
from watchkeeper.api.common import Duration
from watchkeeper.api.grouping import (
    DEFAULT_GROUP_INTERVAL,
    DEFAULT_GROUP_WAIT,
    DEFAULT_REPEAT_INTERVAL,
    EVERY_LABEL,
    ChannelGrouping,
    GroupFlush,
    GroupMember,
    GroupStatus,
)
from watchkeeper.api.notificationchannel import NotificationChannelSpec
from watchkeeper.api.timestamps import format_time, parse_time


@dataclass(frozen=True)
class GroupOptions:
    """The grouping of one route on one channel."""

    group_by: tuple[str, ...]
    wait: timedelta
    interval: timedelta
    repeat: timedelta
    send_resolved: bool = True

    def labels_of(self, labels: Mapping[str, str]) -> dict[str, str]:
        """The group's labels: the groupBy labels the alert has (all with `...`)."""
        if self.group_by == (EVERY_LABEL,):
            return dict(labels)
        return {name: labels[name] for name in self.group_by if name in labels}

    def key(self, labels: Mapping[str, str]) -> str:
        """Alertmanager's group key: the route, then the group's labels as Go prints a
        label set. Routes that group alike on a channel share groups."""
        route = hashlib.sha256(repr(self.identity).encode()).hexdigest()[:8]
        pairs = ", ".join(
            f"{name}={json.dumps(labels[name], ensure_ascii=False)}" for name in sorted(labels)
        )
        return f"{{}}/{{route={route}}}:{{{pairs}}}"

    @property
    def identity(self) -> tuple[object, ...]:
        return (self.group_by, self.wait, self.interval, self.repeat, self.send_resolved)


def options_for(routing: Routing, channel: NotificationChannelSpec) -> GroupOptions | None:
    """The route's grouping over the channel's defaults; None without groupBy. Resolved
    alerts are sent when both the route and the channel want them."""
    defaults = channel.grouping or ChannelGrouping()
    group_by = routing.group_by if routing.group_by is not None else defaults.group_by
    if not group_by:
        return None
    wait = routing.group_wait or defaults.group_wait or DEFAULT_GROUP_WAIT
    interval = routing.group_interval or defaults.group_interval or DEFAULT_GROUP_INTERVAL
    explicit = "repeat_interval" in routing.model_fields_set
    repeat = routing.repeat_interval if explicit else defaults.repeat_interval
    repeat = repeat or DEFAULT_REPEAT_INTERVAL
    send_resolved = routing.send_resolved and channel.send_resolved
    return GroupOptions(tuple(group_by), wait.delta, interval.delta, repeat.delta, send_resolved)


def join(
    group: GroupStatus | None, options: GroupOptions, member: GroupMember, now: datetime
) -> GroupStatus | None:
    """The group after `member`'s transition (None: nothing to join, a resolution of an
    alert whose group is gone). An older transition than the one recorded changes nothing."""
    fresh = group is None or not group.members
    if group is None:
        if not member.firing:
            return None
        labels = options.labels_of(member.labels)
        group = GroupStatus(
            key=options.key(labels),
            labels=labels,
            group_wait=_duration(options.wait),
            group_interval=_duration(options.interval),
            repeat_interval=_duration(options.repeat),
            send_resolved=options.send_resolved,
            next_flush=format_time(now + options.wait),
        )
    elif fresh and not member.firing:
        return group
    members = {m.alert: m for m in group.members}
    known = members.get(member.alert)
    if known is not None and parse_time(known.since) >= parse_time(member.since):
        return group
    members[member.alert] = member
    update: dict[str, object] = {"members": list(members.values())}
    if fresh:
        due = now + options.wait
        if parse_time(member.starts_at) + options.wait < now:
            due = now  # its wait is over already (Alertmanager flushes at once)
        update["next_flush"] = format_time(due)
    return group.model_copy(update=update)


def needs_update(
    last: GroupFlush | None,
    firing: set[str],
    resolved: set[str],
    send_resolved: bool,
    repeat: timedelta,
    now: datetime,
) -> bool:
    """Alertmanager's DedupStage.needsUpdate against the last notification."""
    if last is None:
        return bool(firing)
    if not firing <= set(last.firing):
        return True
    if not firing:
        return bool(last.firing)
    if send_resolved and not resolved <= set(last.resolved):
        return True
    return parse_time(last.time) < now - repeat


Covered = frozenset[tuple[str, str]]
"""Resolved members a look covered, as (alert, since): they leave once it ends well."""


@dataclass(frozen=True)
class Decision:
    """What a look at a group does: `owed` is the notification to send (None: none);
    `record` is the look become the group's last notification without a send; `covered`
    the resolved members (muted ones too) that leave once the look ends well."""

    owed: GroupFlush | None
    record: GroupFlush | None
    covered: Covered


def decide(
    group: GroupStatus, muted: frozenset[str], window_muted: bool, now: datetime
) -> Decision:
    """The look at `group` due now."""
    covered = frozenset((m.alert, m.since) for m in group.members if not m.firing)
    sendable = [m for m in group.members if m.alert not in muted]
    if window_muted or not sendable:
        return Decision(None, None, covered)
    firing = {m.alert for m in sendable if m.firing}
    resolved = {m.alert for m in sendable if not m.firing}
    repeat = group.repeat_interval.delta
    if not needs_update(group.last, firing, resolved, group.send_resolved, repeat, now):
        return Decision(None, None, covered)
    seq = (group.last.seq if group.last else 0) + 1
    flush = GroupFlush(
        seq=seq, time=format_time(now), firing=sorted(firing), resolved=sorted(resolved)
    )
    if firing or (resolved and group.send_resolved):
        return Decision(flush, None, covered)
    return Decision(None, flush, covered)  # nothing to send, but the log moves on


def covered_by(group: GroupStatus, flush: GroupFlush) -> Covered:
    """The resolved members an owed notification covers (after a restart)."""
    named = set(flush.resolved)
    return frozenset((m.alert, m.since) for m in group.members if m.alert in named and not m.firing)


def next_look(group: GroupStatus, now: datetime) -> GroupStatus:
    """The group with its next look one groupInterval from now."""
    return group.model_copy(update={"next_flush": format_time(now + group.group_interval.delta)})


def settle(
    group: GroupStatus, flush: GroupFlush | None, covered: Covered, now: datetime
) -> GroupStatus | None:
    """The group after a look that ended well (sent, or nothing to send): `flush` becomes
    its last notification, and the covered resolved members leave. None: the group is
    gone (empty, and its last notification no longer matters)."""
    last = flush or group.last
    members = [m for m in group.members if (m.alert, m.since) not in covered]
    kept = group.model_copy(update={"members": members, "last": last, "owed": None})
    if dormant_expired(kept, now):
        return None
    return kept


def dormant_expired(group: GroupStatus, now: datetime) -> bool:
    """An empty group is kept only while its last notification listed firing alerts and
    repeatInterval has not passed since: a new firing of them stays quiet until then."""
    if group.members:
        return False
    last = group.last
    return (
        last is None or not last.firing or parse_time(last.time) < now - group.repeat_interval.delta
    )


def _duration(delta: timedelta) -> Duration:
    millis = delta // timedelta(milliseconds=1)
    return Duration(f"{millis}ms" if millis % 1000 else f"{millis // 1000}s")
