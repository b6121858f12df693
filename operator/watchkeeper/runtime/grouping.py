"""Grouped notifications: the groups of every channel with grouping, and one scheduler job
that looks at each group when it is due (engine/grouping.py decides).

An Alert's obligation to a grouping channel is settled by `join`, which records the
alert's transition in the group in the channel's `status.groups` first (field manager
`watchkeeper-grouping`); a crash before the obligation is settled joins it again, which
changes nothing. A group notification is owed before it is sent: the look that decides
it writes it as the group's `owed`, then sends it, then records it as the group's `last`
and lets the resolved alerts it covered leave. After a crash the owed notification is
sent again with the same idempotency key, and nothing else of that group is decided
until it is settled: exactly once per group notification, as per transition."""

from __future__ import annotations

import asyncio
import logging
from collections import defaultdict
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from watchkeeper.api import ALERT, ALERT_POLICY, NOTIFICATION_CHANNEL, SCALING_POLICY
from watchkeeper.api.alert import AlertState, NotificationEvent
from watchkeeper.api.grouping import GroupFlush, GroupMember, GroupStatus
from watchkeeper.api.timeinterval import TimeWindows
from watchkeeper.api.timestamps import format_time, parse_time
from watchkeeper.engine.grouping import (
    Covered,
    GroupOptions,
    covered_by,
    decide,
    join,
    next_look,
    settle,
)
from watchkeeper.kube.calls import KubeError
from watchkeeper.notify import amformat
from watchkeeper.notify.dispatch import DeliveryOutcome
from watchkeeper.notify.grouped import group_notification
from watchkeeper.notify.sender import Channel
from watchkeeper.runtime.muting import held_channels, muted
from watchkeeper.runtime.scheduler import Scheduler
from watchkeeper.runtime.services import Services

LOGGER = logging.getLogger("watchkeeper.grouping")
GROUPING_MANAGER = "watchkeeper-grouping"
"""Field manager of a channel's status.groups."""
LOOK_EVERY = timedelta(seconds=1)
"""How often the job looks for due groups (the granularity of groupWait/groupInterval)."""
MAX_GROUPS = 200
MAX_MEMBERS = 1000
"""Per channel: beyond these an alert is notified on its own (status stays well within
the API server's object size); nothing is dropped."""
ChannelKey = tuple[str, str]


class GroupService:
    """Every channel's groups, in memory and in the channel's status."""

    def __init__(self, services: Services, scheduler: Scheduler) -> None:
        self.services = services
        self._groups: dict[ChannelKey, dict[str, GroupStatus]] = {}
        self._locks: defaultdict[ChannelKey, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._sending: set[tuple[ChannelKey, str]] = set()
        scheduler.upsert("channels/groups", "Group", LOOK_EVERY, self._look_all)

    def forget(self, namespace: str, name: str) -> None:
        """A deleted channel's groups."""
        self._groups.pop((namespace, name), None)

    def stand_down(self) -> None:
        """Another replica leads: its groups are read again from status when leading."""
        self._groups.clear()

    def _of(self, channel: ChannelKey) -> dict[str, GroupStatus]:
        """The channel's groups: from memory, else as its status records them."""
        if channel not in self._groups:
            body = self.services.objects.get(NOTIFICATION_CHANNEL, *channel) or {}
            groups: dict[str, GroupStatus] = {}
            for item in (body.get("status") or {}).get("groups") or []:
                try:
                    group = GroupStatus.model_validate(item)
                except ValidationError:
                    LOGGER.warning("NotificationChannel %s/%s: a group is unreadable", *channel)
                    continue
                groups[group.key] = group
            self._groups[channel] = groups
        return self._groups[channel]

    async def _write(self, channel: ChannelKey, groups: dict[str, GroupStatus]) -> None:
        """Record the groups in the channel's status, then in memory (KubeError: neither)."""
        items = [g.to_api() for g in groups.values()]
        await self.services.kube.apply_status(
            NOTIFICATION_CHANNEL, *channel, {"groups": items}, GROUPING_MANAGER
        )
        self._groups[channel] = groups

    def has_room(
        self, namespace: str, channel: str, options: GroupOptions, labels: Mapping[str, str]
    ) -> bool:
        """Whether an alert with these labels can join its group on this channel."""
        groups = self._of((namespace, channel))
        group = groups.get(options.key(options.labels_of(labels)))
        if group is None and len(groups) >= MAX_GROUPS:
            return False
        alert = labels.get(amformat.ALERT_LABEL, "").rpartition("/")[2]
        if group is not None and any(m.alert == alert for m in group.members):
            return True
        return sum(len(g.members) for g in groups.values()) < MAX_MEMBERS

    async def join(
        self, namespace: str, channel: str, options: GroupOptions, member: GroupMember
    ) -> None:
        """Record `member`'s transition in its group (KubeError: not recorded)."""
        key = (namespace, channel)
        async with self._locks[key]:
            groups = self._of(key)
            group_key = options.key(options.labels_of(member.labels))
            before = groups.get(group_key)
            after = join(before, options, member, datetime.now(UTC))
            if after is not None and after != before:
                await self._write(key, {**groups, group_key: after})

    async def _look_all(self, due: datetime) -> None:
        channels = {
            (str(c["metadata"]["namespace"]), str(c["metadata"]["name"]))
            for c in self.services.objects.all(NOTIFICATION_CHANNEL)
            if (c.get("status") or {}).get("groups")
        }
        channels |= {k for k, groups in self._groups.items() if groups}
        await asyncio.gather(*(self._look(channel) for channel in channels))

    async def _look(self, key: ChannelKey) -> None:
        now = datetime.now(UTC)
        groups = self._of(key)
        due = [
            k
            for k, g in groups.items()
            if (key, k) not in self._sending
            and (parse_time(g.next_flush) <= now or (g.owed is not None and not g.owed.attempts))
        ]  # owed and never tried: decided before a restart, sent at once
        body = self.services.objects.get(NOTIFICATION_CHANNEL, *key)
        if not due or body is None:
            return
        try:
            channel = Channel.from_object(body)
        except ValidationError:
            return  # Ready says why; the groups wait for a valid spec
        window_muted = key[1] in held_channels(self.services, key[0], TimeWindows(), now)
        await asyncio.gather(*(self._flush(key, k, channel, window_muted) for k in due))

    async def _flush(
        self, key: ChannelKey, group_key: str, channel: Channel, window_muted: bool
    ) -> None:
        self._sending.add((key, group_key))
        try:
            owed = await self._decide(key, group_key, window_muted)
            if owed is not None:
                await self._send(key, group_key, channel, owed)
        except KubeError as error:
            LOGGER.warning(
                "NotificationChannel %s/%s: group %s not recorded: %s", *key, group_key, error
            )
        finally:
            self._sending.discard((key, group_key))

    async def _decide(
        self, key: ChannelKey, group_key: str, window_muted: bool
    ) -> tuple[GroupFlush, Covered] | None:
        """The notification the group owes now, written down first; or the group settled
        without one."""
        async with self._locks[key]:
            groups, now = self._of(key), datetime.now(UTC)
            group = groups.get(group_key)
            if group is None:
                return None
            group = self._reconciled(key, group, now)
            if group.owed is not None:  # owed before: sent again as it was
                return group.owed, covered_by(group, group.owed)
            decision = decide(group, self._muted(key[0], group), window_muted, now)
            group = next_look(group, now)
            if decision.owed is not None:
                await self._write(
                    key, {**groups, group_key: group.model_copy(update={"owed": decision.owed})}
                )
                return decision.owed, decision.covered
            await self._replace(
                key, group_key, settle(group, decision.record, decision.covered, now)
            )
            return None

    async def _send(
        self, key: ChannelKey, group_key: str, channel: Channel, owed: tuple[GroupFlush, Covered]
    ) -> None:
        flush, covered = owed
        notification = group_notification(key[0], self._of(key)[group_key], flush)
        outcome = await self.services.dispatcher.deliver(
            channel, notification, notified_before=True
        )
        async with self._locks[key]:
            group = self._of(key).get(group_key)
            if group is None:
                return
            if not outcome.final:
                attempts = flush.attempts + outcome.attempts
                kept = flush.model_copy(update={"attempts": attempts, "error": outcome.error})
                await self._replace(key, group_key, group.model_copy(update={"owed": kept}))
                return
            done = _settled(flush, outcome)
            await self._replace(key, group_key, settle(group, done, covered, datetime.now(UTC)))

    async def _replace(self, key: ChannelKey, group_key: str, group: GroupStatus | None) -> None:
        groups = dict(self._of(key))
        if group is None:
            groups.pop(group_key, None)
        else:
            groups[group_key] = group
        if groups != self._of(key):
            await self._write(key, groups)

    def _muted(self, namespace: str, group: GroupStatus) -> frozenset[str]:
        """Members whose Alert is silenced or inhibited now (left out of a notification)."""
        found = set()
        for member in group.members:
            alert = self.services.objects.get(ALERT, namespace, member.alert) or {}
            if muted(alert.get("status") or {}):
                found.add(member.alert)
        return frozenset(found)

    def _owner_gone(self, namespace: str, policy: str) -> bool:
        """Whether the alert's policy is gone (an AlertPolicy, or the ScalingPolicy of a
        budget warning)."""
        kinds = (ALERT_POLICY, SCALING_POLICY)
        return all(self.services.objects.get(k, namespace, policy) is None for k in kinds)

    def _reconciled(self, key: ChannelKey, group: GroupStatus, now: datetime) -> GroupStatus:
        """Firing members whose policy is gone count as resolved now. A firing member
        whose Alert resolved owing this channel no Resolved (it resolved while silenced,
        inhibited or in a mute window, or the route does not send resolved alerts) leaves
        without a word, as Alertmanager drops it."""
        members = []
        for member in group.members:
            if member.firing and self._owner_gone(key[0], member.policy):
                member = member.model_copy(update={"firing": False, "since": format_time(now)})
            elif member.firing and _resolved_quietly(
                self.services.objects.get(ALERT, key[0], member.alert), key[1], member
            ):
                continue
            members.append(member)
        if members == group.members:
            return group
        return group.model_copy(update={"members": members})


def _resolved_quietly(alert: Mapping[str, Any] | None, channel: str, member: GroupMember) -> bool:
    status = (alert or {}).get("status") or {}
    if status.get("state") != AlertState.RESOLVED or not status.get("resolvedAt"):
        return False
    if parse_time(str(status["resolvedAt"])) < parse_time(member.since):
        return False
    owed = status.get("outbox") or []
    return not any(
        o.get("channel") == channel and o.get("event") == NotificationEvent.RESOLVED for o in owed
    )


def _settled(flush: GroupFlush, outcome: DeliveryOutcome) -> GroupFlush:
    return flush.model_copy(
        update={
            "attempts": flush.attempts + outcome.attempts,
            "error": outcome.error,
            "outcome": outcome.outcome.value,
        }
    )
