"""Side-by-side parity with a real Alertmanager: one sequence of alert states, silences
(and later inhibitions and time windows) goes to Alertmanager (v2 API, explicit
startsAt/endsAt) and to Watchkeeper (metric values through Prometheus, our objects through
kubectl), each behind the same recording webhook receiver on its own path. What reached
each side is compared per phase, notification by notification: the group key, the set of
firing alerts and the set of resolved alerts (a notification sent by one and not the
other shows up as a difference).

Alertmanager gets each alert with exactly the labels Watchkeeper's webhook carries for it
(`alertname`, the series' labels, `severity`, `watchkeeper_alert`) and groups by
`watchkeeper_alert`, which is what Watchkeeper does without groupBy (one alert per
notification): so the group keys are comparable as they are.

Timing tolerance: a phase is the time after one step until both sides are quiet, at least
SETTLE seconds. Watchkeeper sees a change after a scrape (1s), an evaluation (1s grid) and
a delivery round; Alertmanager after its group_interval (1s). SETTLE leaves more than
twice the slower path on a loaded two-core machine. Within a phase the order of
notifications is not compared (two alerts changing in the same step may go out in either
order on either side); across phases it is."""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kubernetes import client

from devenv.alertmanager import LocalAlertmanager
from devenv.exporter import MetricsExporter
from tests.alerting import alerts, apply
from tests.kubectl import kubectl, watchkeeper_object
from tests.receivers import HttpReceiver, Recorded
from tests.waiting import eventually
from watchkeeper.api.matchers import Matcher, MatchType
from watchkeeper.api.timestamps import format_time

SETTLE = 6.0
AM_PATH, WK_PATH = "/am", "/wk"
GROUP_LABEL = "watchkeeper_alert"
AM_ROUTE = {
    "group_by": [GROUP_LABEL],
    "group_wait": "0s",
    "group_interval": "1s",
    "repeat_interval": "1h",
}
"""Alertmanager's route equivalent to a Watchkeeper channel without groupBy."""


@dataclass(frozen=True)
class Sent:
    """One notification as compared: its group key (the group's labels), firing set and
    resolved set."""

    group_key: str
    firing: frozenset[str]
    resolved: frozenset[str]

    @classmethod
    def of(cls, recorded: Recorded) -> Sent:
        body = recorded.json()

        def named(status: str) -> frozenset[str]:
            return frozenset(
                a["labels"][GROUP_LABEL] for a in body["alerts"] if a["status"] == status
            )

        # the group's labels: Alertmanager prefixes the route's path ({} for the root, {}/{}
        # for a child route, which mute_time_intervals need)
        group = body["groupKey"].split(":", 1)[1]
        return cls(group, named("firing"), named("resolved"))


def _am_matcher(text: str) -> dict[str, Any]:
    matcher = Matcher.parse(text)
    return {
        "name": matcher.name,
        "value": matcher.value,
        "isRegex": matcher.type.regex,
        "isEqual": matcher.type in (MatchType.EQUAL, MatchType.REGEX),
    }


def am_matcher_text(text: str) -> str:
    """A matcher in Alertmanager's config syntax (the value quoted)."""
    matcher = Matcher.parse(text)
    value = matcher.value.replace("\\", "\\\\").replace('"', '\\"')
    return f'{matcher.name}{matcher.type.value}"{value}"'


def am_time_interval(name: str, spec: dict[str, Any]) -> dict[str, Any]:
    """A TimeInterval's spec as an Alertmanager time_intervals entry."""
    keys = {"daysOfMonth": "days_of_month"}
    periods = []
    for period in spec["intervals"]:
        entry = {keys.get(k, k): v for k, v in period.items() if k != "times"}
        if "times" in period:
            entry["times"] = [
                {"start_time": t["startTime"], "end_time": t["endTime"]} for t in period["times"]
            ]
        periods.append(entry)
    return {"name": name, "time_intervals": periods}


def am_inhibit_rule(spec: dict[str, Any]) -> dict[str, Any]:
    """An InhibitRule's spec as an Alertmanager inhibit_rules entry."""
    return {
        "source_matchers": [am_matcher_text(m) for m in spec["sourceMatchers"]],
        "target_matchers": [am_matcher_text(m) for m in spec["targetMatchers"]],
        "equal": list(spec.get("equal") or []),
    }


@dataclass
class Parity:
    """Drives both sides with the same steps; `phase()` returns what each sent since.
    `policies` maps each AlertPolicy to its metric; an alert is named by a key of the
    test's choosing and identified by its policy and labels."""

    am: LocalAlertmanager
    receiver: HttpReceiver
    exporter: MetricsExporter
    kubeconfig: Path
    namespace: str
    api: client.CustomObjectsApi
    policies: dict[str, str]
    _seen: dict[str, int] = field(default_factory=lambda: {AM_PATH: 0, WK_PATH: 0})
    _series: dict[str, tuple[str, dict[str, str]]] = field(default_factory=dict)
    _names: dict[str, str] = field(default_factory=dict)
    _silences: dict[str, str] = field(default_factory=dict)

    def key(self, alert: str) -> str:
        """The alert's identity on both sides: `namespace/Alert name`."""
        return f"{self.namespace}/{self._names[alert]}"

    def alert(self, key: str, state: str) -> dict[str, Any]:
        """Watchkeeper's Alert of that key, once it is in that state."""
        policy, labels = self._series[key]

        def find() -> list[dict[str, Any]]:
            return [
                a
                for a in alerts(self.api, self.namespace, policy)
                if labels.items() <= a["status"]["labels"].items()
            ]

        [found] = eventually(find, lambda f: len(f) == 1 and f[0]["status"]["state"] == state)
        return found

    def _post(self, key: str, alert: dict[str, Any], ends: str) -> None:
        self.am.post_alerts([self._am_alert(key, alert, ends)])

    def _am_alert(self, key: str, alert: dict[str, Any], ends: str) -> dict[str, Any]:
        """Watchkeeper's Alert as Alertmanager is given it."""
        policy, _ = self._series[key]
        labels = {
            **alert["status"]["labels"],
            "alertname": policy,
            "severity": alert["status"]["severity"],
            GROUP_LABEL: f"{self.namespace}/{alert['metadata']['name']}",
        }
        starts = alert["status"]["firingSince"]
        return {"labels": labels, "startsAt": starts, "endsAt": ends}

    def fire(self, key: str, policy: str | None = None, **labels: str) -> None:
        """The series goes above its threshold; Alertmanager is told once Watchkeeper's
        Alert fires (within the tolerance), with the same labels. Default: the first
        policy, labels {service: key}."""
        self._series[key] = (policy or next(iter(self.policies)), labels or {"service": key})
        policy, labels = self._series[key]
        self.exporter.set(self.policies[policy], 3, labels)
        alert = self.alert(key, "Firing")
        self._names[key] = alert["metadata"]["name"]
        self._post(key, alert, format_time(_now() + timedelta(hours=1)))

    def resolve(self, *keys: str) -> None:
        """The series go below their thresholds together; Alertmanager is told of them
        together once Watchkeeper's Alerts resolved (so no flush falls between them on
        one side only)."""
        for key in keys:
            policy, labels = self._series[key]
            self.exporter.set(self.policies[policy], 0, labels)
        resolved = [(key, self.alert(key, "Resolved")) for key in keys]
        ended = [self._am_alert(k, a, a["status"]["resolvedAt"]) for k, a in resolved]
        self.am.post_alerts(ended)

    def silence(self, name: str, matchers: list[str]) -> None:
        spec = {"matchers": matchers, "duration": "1h", "createdBy": "parity"}
        apply(self.kubeconfig, self.namespace, watchkeeper_object("Silence", name, spec))
        now = _now()
        ends = now + timedelta(hours=1)
        self._silences[name] = self.am.silence(
            [_am_matcher(m) for m in matchers], format_time(now), format_time(ends)
        )

    def expire(self, name: str) -> None:
        ends = format_time(_now())
        patch = f'{{"spec": {{"endsAt": "{ends}", "duration": null}}}}'
        kubectl(
            self.kubeconfig,
            *("patch", "silence", name, "-n", self.namespace, "--type=merge", "-p", patch),
        )
        self.am.expire_silence(self._silences[name])

    def phase(self, at_least: float = SETTLE) -> tuple[Counter[Sent], Counter[Sent]]:
        """Wait `at_least` seconds (longer while either side is still sending), then what
        each side sent since the last phase."""
        time.sleep(at_least)
        while True:
            counts = (len(self.receiver.to(AM_PATH)), len(self.receiver.to(WK_PATH)))
            time.sleep(1.0)
            if counts == (len(self.receiver.to(AM_PATH)), len(self.receiver.to(WK_PATH))):
                break
        found = []
        for path in (AM_PATH, WK_PATH):
            recorded = self.receiver.to(path)
            found.append(Counter(Sent.of(r) for r in recorded[self._seen[path] :]))
            self._seen[path] = len(recorded)
        return found[0], found[1]

    def grouped(self, labels: str, *firing: str, resolved: tuple[str, ...] = ()) -> Sent:
        """The notification expected for the group with these labels (as Go prints them)."""
        return Sent(
            labels,
            frozenset(self.key(s) for s in firing),
            frozenset(self.key(s) for s in resolved),
        )

    def sent(self, *firing: str, resolved: tuple[str, ...] = ()) -> Sent:
        """The notification expected for one group (the first alert's)."""
        group = firing[0] if firing else resolved[0]
        return Sent(
            f'{{{GROUP_LABEL}="{self.key(group)}"}}',
            frozenset(self.key(s) for s in firing),
            frozenset(self.key(s) for s in resolved),
        )


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)
