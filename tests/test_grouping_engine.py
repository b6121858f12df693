"""Alertmanager's aggregation groups as pure decisions: which group an alert joins, when a
group is looked at, whether a look sends (the notification log's rule), what leaves after
it, a simulated timeline of a group's life; and the limits of a channel's groups."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from types import SimpleNamespace

import pytest

from watchkeeper.api import NOTIFICATION_CHANNEL
from watchkeeper.api.alertpolicy import Routing
from watchkeeper.api.grouping import GroupFlush, GroupMember, GroupStatus
from watchkeeper.api.notificationchannel import NotificationChannelSpec
from watchkeeper.api.timestamps import format_time, parse_time
from watchkeeper.engine.grouping import (
    GroupOptions,
    decide,
    join,
    needs_update,
    next_look,
    options_for,
    settle,
)
from watchkeeper.runtime.grouping import MAX_GROUPS, MAX_MEMBERS, GroupService
from watchkeeper.runtime.objects import ObjectCache

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
S, M, H = timedelta(seconds=1), timedelta(minutes=1), timedelta(hours=1)
OPTIONS = GroupOptions(("service",), 30 * S, 5 * M, 4 * H)


def member(alert: str, at: datetime, firing: bool = True, **labels: str) -> GroupMember:
    return GroupMember(
        alert=alert,
        policy="p",
        firing=firing,
        since=format_time(at),
        starts_at=format_time(at),
        labels={"service": "checkout", "alertname": "p", **labels},
    )


def channel(**grouping: object) -> NotificationChannelSpec:
    spec = {"type": "Log", "log": {}, **({"grouping": grouping} if grouping else {})}
    return NotificationChannelSpec.model_validate(spec)


def test_the_route_wins_over_the_channel_and_alertmanager_defaults_fill_the_rest():
    defaults = channel(groupBy=["cluster"], groupInterval="1m", repeatInterval="1h")
    assert options_for(Routing.model_validate({}), channel()) is None
    assert options_for(Routing.model_validate({"groupBy": []}), defaults) is None
    from_channel = options_for(Routing.model_validate({}), defaults)
    assert from_channel == GroupOptions(("cluster",), 30 * S, M, H)
    route = Routing.model_validate({"groupBy": ["service"], "groupWait": "5s"})
    assert options_for(route, defaults) == GroupOptions(("service",), 5 * S, M, H)
    explicit = Routing.model_validate({"groupBy": ["service"], "repeatInterval": "2h"})
    assert options_for(explicit, channel()) == GroupOptions(("service",), 30 * S, 5 * M, 2 * H)
    quiet = Routing.model_validate({"groupBy": ["service"], "sendResolved": False})
    assert options_for(quiet, channel()).send_resolved is False  # type: ignore[union-attr]


def test_group_labels_and_key_as_alertmanager_writes_them():
    labels = {"service": "checkout", "b": "x"}
    assert OPTIONS.labels_of(labels) == {"service": "checkout"}
    assert OPTIONS.labels_of({"other": "1"}) == {}  # a missing label is left out
    every = GroupOptions(("...",), S, S, H)
    assert every.labels_of(labels) == labels
    key = GroupOptions(("b", "service"), S, S, H).key(labels)
    assert key.split(":", 1)[1] == '{b="x", service="checkout"}'
    assert OPTIONS.key(labels) != GroupOptions(("service",), S, S, H).key(labels)


def test_a_new_group_waits_group_wait_and_a_late_starter_goes_at_once():
    group = join(None, OPTIONS, member("a", T0), T0)
    assert group is not None and parse_time(group.next_flush) == T0 + 30 * S
    old = member("b", T0 - M)  # its wait is over already (e.g. after a restart)
    late = join(None, OPTIONS, old, T0)
    assert late is not None and parse_time(late.next_flush) == T0
    assert join(None, OPTIONS, member("c", T0, firing=False), T0) is None


def test_an_older_transition_changes_nothing():
    group = join(None, OPTIONS, member("a", T0 + M), T0 + M)
    assert join(group, OPTIONS, member("a", T0, firing=False), T0 + M) == group


NOTIFIED = GroupFlush(seq=1, time=format_time(T0), firing=["a", "b"], resolved=[])


@pytest.mark.parametrize(
    ("last", "firing", "resolved", "send_resolved", "at", "expected", "why"),
    [
        (None, {"a"}, set(), True, T0, True, "first notification"),
        (None, set(), {"a"}, True, T0, False, "only resolved: nobody heard of it"),
        (NOTIFIED, {"a", "b", "c"}, set(), True, T0, True, "a new firing alert"),
        (NOTIFIED, {"a"}, {"b"}, True, T0, True, "a resolution to send"),
        (NOTIFIED, {"a"}, {"b"}, False, T0, False, "a resolution nobody wants"),
        (NOTIFIED, set(), {"a", "b"}, False, T0, True, "all resolved: the log is cleared"),
        (NOTIFIED, {"a", "b"}, set(), True, T0 + 4 * H, False, "repeat exactly at the interval"),
        (NOTIFIED, {"a", "b"}, set(), True, T0 + 4 * H + S, True, "repeat after the interval"),
    ],
)
def test_needs_update_is_alertmanagers_rule(
    last, firing, resolved, send_resolved, at, expected, why
):
    assert needs_update(last, firing, resolved, send_resolved, 4 * H, at) is expected, why


def _look(group: GroupStatus, at: datetime, muted: frozenset[str] = frozenset()):
    decision = decide(group, muted, False, at)
    group = next_look(group, at)
    return decision, settle(group, decision.owed or decision.record, decision.covered, at)


def test_a_timeline_late_joiner_resolution_repeat_and_the_end():
    group = join(None, OPTIONS, member("a", T0), T0)
    group = join(group, OPTIONS, member("b", T0 + 10 * S), T0 + 10 * S)
    decision, group = _look(group, T0 + 30 * S)  # both in the first notification
    assert decision.owed and (decision.owed.firing, decision.owed.resolved) == (["a", "b"], [])
    group = join(group, OPTIONS, member("c", T0 + M), T0 + M)  # a late joiner
    group = join(group, OPTIONS, member("a", T0 + 2 * M, firing=False), T0 + 2 * M)
    assert parse_time(group.next_flush) == T0 + 30 * S + 5 * M
    decision, group = _look(group, T0 + 30 * S + 5 * M)
    assert decision.owed and (decision.owed.firing, decision.owed.resolved) == (["b", "c"], ["a"])
    assert [m.alert for m in group.members] == ["b", "c"]  # a left after the notification
    decision, group = _look(group, T0 + 30 * S + 10 * M)
    assert decision.owed is None  # nothing changed, repeat not due
    at = T0 + 30 * S + 5 * M + 4 * H + 5 * M
    decision, group = _look(group, at)
    assert decision.owed and decision.owed.firing == ["b", "c"] and decision.owed.seq == 3
    for alert in ("b", "c"):
        group = join(group, OPTIONS, member(alert, at + M, firing=False), at + M)
    decision, after = _look(group, at + 5 * M)
    assert decision.owed and decision.owed.resolved == ["b", "c"]
    assert after is None  # empty, and its last notification listed no firing alert


def test_muted_members_are_left_out_and_a_mute_window_sends_nothing():
    group = join(None, OPTIONS, member("a", T0), T0)
    group = join(group, OPTIONS, member("b", T0), T0)
    decision, _ = _look(group, T0 + 30 * S, muted=frozenset({"b"}))
    assert decision.owed and decision.owed.firing == ["a"]
    assert decide(group, frozenset(), True, T0 + 30 * S).owed is None


def test_a_resolution_that_arrives_after_the_look_is_not_dropped():
    group = join(None, OPTIONS, member("a", T0), T0)
    decision = decide(group, frozenset(), False, T0 + 30 * S)
    # a resolved at T0+10s but its transition joined after the look decided
    group = join(group, OPTIONS, member("a", T0 + 10 * S, firing=False), T0 + 31 * S)
    after = settle(group, decision.owed, decision.covered, T0 + 31 * S)
    assert after is not None and [m.firing for m in after.members] == [False]


def test_an_empty_group_keeps_its_log_so_a_quick_refire_stays_quiet_like_alertmanager():
    """a resolved inside a mute window: nothing sent, the log still lists it firing. Fired
    again before repeatInterval, Alertmanager's new group finds a in its log and is quiet."""
    group = join(None, OPTIONS, member("a", T0), T0)
    _, group = _look(group, T0 + 30 * S)
    group = join(group, OPTIONS, member("a", T0 + M, firing=False), T0 + M)
    muted = decide(group, frozenset(), True, T0 + 30 * S + 5 * M)
    kept = settle(group, muted.record, muted.covered, T0 + 30 * S + 5 * M)
    assert kept is not None and kept.members == []
    again = join(kept, OPTIONS, member("a", T0 + H), T0 + H)
    assert again is not None and parse_time(again.next_flush) == T0 + H + 30 * S
    assert decide(again, frozenset(), False, T0 + H + 30 * S).owed is None
    gone = settle(kept, None, frozenset(), T0 + 5 * H)
    assert gone is None


def test_a_full_channel_lets_alerts_go_one_by_one():
    """The limits of a channel's groups (status stays well within an object's size): a new
    group beyond 200, or a new alert beyond 1,000 in all, is notified on its own; an alert
    already in its group stays there."""
    objects = ObjectCache()
    objects.put(NOTIFICATION_CHANNEL, {"metadata": {"namespace": "ns", "name": "c"}})
    scheduler = SimpleNamespace(upsert=lambda *args, **kwargs: None)
    service = GroupService(SimpleNamespace(objects=objects), scheduler)

    def labels(service_name: str, alert: str) -> dict[str, str]:
        return {"service": service_name, "watchkeeper_alert": f"ns/{alert}"}

    groups = {}
    for index in range(MAX_GROUPS):
        group = join(None, OPTIONS, member(f"a{index}", T0, service=f"s{index}"), T0)
        assert group is not None
        groups[group.key] = group
    service._groups[("ns", "c")] = groups
    assert not service.has_room("ns", "c", OPTIONS, labels("new", "x"))
    assert service.has_room("ns", "c", OPTIONS, labels("s1", "x"))  # an existing group

    crowded = join(None, OPTIONS, member("m0", T0), T0)
    assert crowded is not None
    many = [member(f"m{i}", T0) for i in range(MAX_MEMBERS)]
    service._groups[("ns", "c")] = {crowded.key: crowded.model_copy(update={"members": many})}
    assert not service.has_room("ns", "c", OPTIONS, labels("checkout", "x"))
    assert service.has_room("ns", "c", OPTIONS, labels("checkout", "m5"))  # already in it
