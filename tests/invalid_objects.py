"""Invalid objects, each with the field path its rejection must name.

Shared by the schema test against the real API server and the model test, so that the
CRD (OpenAPI + CEL) and the pydantic models reject the same things."""

from __future__ import annotations

import copy
from typing import Any

_POLICY: dict[str, Any] = {
    "kind": "AlertPolicy",
    "spec": {
        "query": "up",
        "comparison": "LessThan",
        "thresholds": [{"severity": "Critical", "value": 1}],
    },
}
_CHANNEL: dict[str, Any] = {
    "kind": "NotificationChannel",
    "spec": {
        "type": "Slack",
        "slack": {"webhookUrlSecretRef": {"name": "slack", "key": "url"}},
    },
}
_ESCALATION: dict[str, Any] = {
    "kind": "EscalationPolicy",
    "spec": {"steps": [{"after": "0m", "channels": ["a"]}]},
}
_SCALING: dict[str, Any] = {
    "kind": "ScalingPolicy",
    "spec": {
        "targetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": "web"},
        "minReplicas": 1,
        "maxReplicas": 5,
        "metrics": [{"name": "rps", "query": "sum(x)", "target": {"type": "Value", "value": 1}}],
    },
}
_ALERT: dict[str, Any] = {"kind": "Alert", "spec": {}}
_INHIBIT: dict[str, Any] = {
    "kind": "InhibitRule",
    "spec": {"sourceMatchers": ["alertname=NodeDown"], "targetMatchers": ["alertname=~Pod.*"]},
}
_TIMES: dict[str, Any] = {
    "kind": "TimeInterval",
    "spec": {"intervals": [{"weekdays": ["saturday:sunday"]}]},
}


def _window(**fields: Any) -> list[dict[str, Any]]:
    return [{"weekdays": ["monday"], **fields}]


_SILENCE: dict[str, Any] = {
    "kind": "Silence",
    "spec": {"matchers": ["service=checkout"], "duration": "2h", "createdBy": "ana"},
}


def _with(base: dict[str, Any], **changes: Any) -> dict[str, Any]:
    """A copy of `base` with spec fields set (value None removes the field)."""
    obj = copy.deepcopy(base)
    for key, value in changes.items():
        if value is None:
            obj["spec"].pop(key, None)
        else:
            obj["spec"][key] = value
    return obj


_SLACK_BOTH = {
    "webhookUrlSecretRef": {"name": "s", "key": "u"},
    "tokenSecretRef": {"name": "s", "key": "t"},
}
_EMAIL = {"smtp": {"host": "mail", "port": 70000}, "from": "a@b.c", "to": ["x@y.z"]}
_ADAPTIVE = {"window": "1h", "deviations": [{"severity": "Warning", "value": 3}]}
_ALERTMANAGER = {"url": "http://am:9093", "endsAfter": "0s"}


def _metric(target: float) -> dict[str, Any]:
    return {"name": "rps", "query": "sum(x)", "target": {"type": "Value", "value": target}}


def _scale_action(min_replicas: int) -> dict[str, Any]:
    return {"scale": {"scalingPolicyRef": "web", "minReplicas": min_replicas}}


def _target(api_version: str, kind: str = "Deployment") -> dict[str, str]:
    return {"apiVersion": api_version, "kind": kind, "name": "web"}


# (id, object, text the API server's message must contain)
INVALID: list[tuple[str, dict[str, Any], str]] = [
    ("policy-no-query", _with(_POLICY, query=None), "spec.query"),
    ("policy-bad-comparison", _with(_POLICY, comparison="Bigger"), "spec.comparison"),
    (
        "policy-thresholds-misordered",
        _with(
            _POLICY,
            comparison="GreaterThan",
            thresholds=[{"severity": "Warning", "value": 5}, {"severity": "Critical", "value": 2}],
        ),
        "spec.thresholds",
    ),
    (
        "policy-lessthan-ascending",
        _with(
            _POLICY,
            thresholds=[{"severity": "Warning", "value": 1}, {"severity": "Critical", "value": 2}],
        ),
        "spec.thresholds",
    ),
    (
        "policy-duplicate-severity",
        _with(
            _POLICY,
            thresholds=[{"severity": "Critical", "value": 1}, {"severity": "Critical", "value": 0}],
        ),
        "spec.thresholds",
    ),
    (
        "policy-unknown-severity",
        _with(_POLICY, thresholds=[{"severity": "Major", "value": 1}]),
        "spec.thresholds[0].severity",
    ),
    ("policy-no-levels", _with(_POLICY, thresholds=None), "one of thresholds, adaptive"),
    (
        "policy-thresholds-and-adaptive",
        _with(
            _POLICY,
            adaptive={"window": "1h", "deviations": [{"severity": "Warning", "value": 3}]},
        ),
        "one of thresholds, adaptive",
    ),
    (
        "policy-equal-two-thresholds",
        _with(
            _POLICY,
            comparison="Equal",
            thresholds=[{"severity": "Warning", "value": 1}, {"severity": "Critical", "value": 2}],
        ),
        "spec.thresholds",
    ),
    ("policy-bad-for", _with(_POLICY, **{"for": "5 minutes"}), "spec.for"),
    ("policy-bad-interval", _with(_POLICY, evaluationInterval="10x"), "spec.evaluationInterval"),
    ("policy-typo-field", _with(_POLICY, threshold=[]), "spec.threshold"),
    (
        "policy-bad-no-data-state",
        _with(_POLICY, noDataState="Resolve"),
        "spec.noDataState",
    ),
    (
        "channel-wrong-block",
        _with(_CHANNEL, slack=None, webhook={"url": "http://x"}),
        "spec.slack",
    ),
    ("channel-no-block", _with(_CHANNEL, type="Email", slack=None), "spec.email"),
    ("channel-unknown-type", _with(_CHANNEL, type="Pager"), "spec.type"),
    ("channel-slack-url-and-token", _with(_CHANNEL, slack=_SLACK_BOTH), "spec.slack"),
    ("channel-email-port", _with(_CHANNEL, type="Email", slack=None, email=_EMAIL), "port"),
    (
        "channel-webhook-not-http",
        _with(_CHANNEL, type="Webhook", slack=None, webhook={"url": "ftp://x"}),
        "spec.webhook.url",
    ),
    ("channel-rate-limit-zero", _with(_CHANNEL, rateLimit={"max": 0}), "spec.rateLimit.max"),
    ("escalation-no-steps", _with(_ESCALATION, steps=[]), "spec.steps"),
    ("escalation-repeat-too-high", _with(_ESCALATION, repeat=11), "spec.repeat"),
    (
        "escalation-bad-after",
        _with(_ESCALATION, steps=[{"after": "ten minutes"}]),
        "spec.steps[0].after",
    ),
    ("scaling-min-above-max", _with(_SCALING, minReplicas=9), "spec.minReplicas"),
    ("scaling-no-metrics", _with(_SCALING, metrics=[]), "spec.metrics"),
    (
        "scaling-bad-target-type",
        _with(
            _SCALING,
            metrics=[{"name": "a", "query": "x", "target": {"type": "Percent", "value": 1}}],
        ),
        "spec.metrics[0].target.type",
    ),
    ("scaling-tolerance", _with(_SCALING, tolerance=1.5), "spec.tolerance"),
    (
        "scaling-direction-tolerance",
        _with(_SCALING, behavior={"scaleDown": {"tolerance": 1.5}}),
        "spec.behavior.scaleDown.tolerance",
    ),
    (
        "scaling-weight-without-weighted-average",
        _with(
            _SCALING,
            metrics=[
                {"name": "a", "query": "x", "target": {"type": "Value", "value": 1}, "weight": 2}
            ],
        ),
        "spec.metrics",
    ),
    (
        "scaling-zero-weight",
        _with(
            _SCALING,
            combine="WeightedAverage",
            metrics=[
                {"name": "a", "query": "x", "target": {"type": "Value", "value": 1}, "weight": 0}
            ],
        ),
        "spec.metrics[0].weight",
    ),
    (
        "scaling-legacy-with-behavior",
        _with(_SCALING, preset="HPALegacy", behavior={"scaleUp": {"stabilizationWindow": "0s"}}),
        "spec.behavior",
    ),
    (
        "scaling-fallback-range",
        _with(_SCALING, fallback={"replicas": 50}),
        "spec.fallback.replicas",
    ),
    (
        "scaling-policy-type",
        _with(
            _SCALING,
            behavior={"scaleUp": {"policies": [{"type": "Nodes", "value": 1, "period": "15s"}]}},
        ),
        "spec.behavior.scaleUp.policies[0].type",
    ),
    ("alert-ack-without-by", _with(_ALERT, acknowledgement={"comment": "x"}), "by"),
    # Durations: each has limits, checked by the model and by the field's CEL rule.
    ("policy-interval-zero", _with(_POLICY, evaluationInterval="0s"), "spec.evaluationInterval"),
    ("policy-interval-1ms", _with(_POLICY, evaluationInterval="1ms"), "spec.evaluationInterval"),
    (
        "policy-interval-1000000h",
        _with(_POLICY, evaluationInterval="1000000h"),
        "spec.evaluationInterval",
    ),
    (
        "policy-interval-beyond-go",
        _with(_POLICY, evaluationInterval="99999999999999999999h"),
        "spec.evaluationInterval",
    ),
    ("policy-for-too-long", _with(_POLICY, **{"for": "25h"}), "spec.for"),
    ("policy-keep-firing-too-long", _with(_POLICY, keepFiringFor="48h"), "spec.keepFiringFor"),
    (
        "policy-repeat-interval-zero",
        _with(_POLICY, routing={"repeatInterval": "0s"}),
        "spec.routing.repeatInterval",
    ),
    (
        "policy-group-by-every-label-and-more",
        _with(_POLICY, routing={"groupBy": ["...", "service"]}),
        "spec.routing.groupBy",
    ),
    (
        "policy-group-by-bad-label",
        _with(_POLICY, routing={"groupBy": ["service-name"]}),
        "spec.routing.groupBy",
    ),
    (
        "policy-group-wait-too-long",
        _with(_POLICY, routing={"groupWait": "2h"}),
        "spec.routing.groupWait",
    ),
    (
        "channel-group-interval-zero",
        _with(_CHANNEL, grouping={"groupBy": ["alertname"], "groupInterval": "0s"}),
        "spec.grouping.groupInterval",
    ),
    (
        "policy-prometheus-timeout-zero",
        _with(_POLICY, prometheus={"timeout": "0s"}),
        "spec.prometheus.timeout",
    ),
    (
        "policy-adaptive-window-too-short",
        _with(_POLICY, thresholds=None, adaptive={**_ADAPTIVE, "window": "30s"}),
        "spec.adaptive.window",
    ),
    (
        "policy-adaptive-step-as-long-as-window",
        _with(_POLICY, thresholds=None, adaptive={**_ADAPTIVE, "window": "1h", "step": "1h"}),
        "spec.adaptive.step",
    ),
    ("channel-timeout-zero", _with(_CHANNEL, timeout="0s"), "spec.timeout"),
    ("channel-timeout-an-hour", _with(_CHANNEL, timeout="1h"), "spec.timeout"),
    ("channel-rate-limit-per-1ms", _with(_CHANNEL, rateLimit={"per": "1ms"}), "spec.rateLimit.per"),
    (
        "channel-backoff-zero",
        _with(_CHANNEL, retry={"initialBackoff": "0s"}),
        "spec.retry.initialBackoff",
    ),
    (
        "channel-backoff-initial-above-max",
        _with(_CHANNEL, retry={"initialBackoff": "2m", "maxBackoff": "1m"}),
        "spec.retry.initialBackoff",
    ),
    ("channel-backoff-max-a-day", _with(_CHANNEL, retry={"maxBackoff": "24h"}), "spec.retry"),
    (
        "channel-alertmanager-ends-after-zero",
        _with(_CHANNEL, type="Alertmanager", slack=None, alertmanager=_ALERTMANAGER),
        "spec.alertmanager.endsAfter",
    ),
    (
        "escalation-after-too-long",
        _with(_ESCALATION, steps=[{"after": "1000h"}]),
        "spec.steps[0].after",
    ),
    ("escalation-ack-timeout-zero", _with(_ESCALATION, ackTimeout="0s"), "spec.ackTimeout"),
    ("escalation-loop-interval-1ms", _with(_ESCALATION, loopInterval="1ms"), "spec.loopInterval"),
    ("scaling-interval-zero", _with(_SCALING, evaluationInterval="0s"), "spec.evaluationInterval"),
    ("scaling-cooldown-two-days", _with(_SCALING, cooldown="48h"), "spec.cooldown"),
    (
        "scaling-lookback-too-long",
        _with(_SCALING, predictive={"mode": "Shadow", "lookback": "25h"}),
        "spec.predictive.lookback",
    ),
    # Numbers: bounded by what their consumer takes (replicas are int32 in /scale).
    ("scaling-max-replicas-int32", _with(_SCALING, maxReplicas=2**31), "spec.maxReplicas"),
    (
        "scaling-override-int32",
        _with(_SCALING, override={"replicas": 2**31, "reason": "x"}),
        "spec.override.replicas",
    ),
    (
        "scaling-rule-value-int32",
        _with(
            _SCALING,
            behavior={"scaleUp": {"policies": [{"type": "Pods", "value": 2**31, "period": "1m"}]}},
        ),
        "spec.behavior.scaleUp.policies[0].value",
    ),
    ("scaling-target-zero", _with(_SCALING, metrics=[_metric(0)]), "spec.metrics[0].target.value"),
    (
        "scaling-target-too-large",
        _with(_SCALING, metrics=[_metric(1e16)]),
        "spec.metrics[0].target.value",
    ),
    (
        "scaling-hold-no-matchers",
        _with(_SCALING, holdScaleDown={"whileAlertsFire": {"matchers": []}}),
        "spec.holdScaleDown.whileAlertsFire.matchers",
    ),
    (
        "scaling-hold-matches-all",
        _with(_SCALING, holdScaleDown={"whileAlertsFire": {"matchers": ["team=~.*"]}}),
        "spec.holdScaleDown.whileAlertsFire.matchers",
    ),
    (
        "scaling-hold-bad-regex",
        _with(_SCALING, holdScaleDown={"whileAlertsFire": {"matchers": ["team=~(a"]}}),
        "spec.holdScaleDown.whileAlertsFire.matchers[0]",
    ),
    (
        "scaling-schedule-no-intervals",
        _with(_SCALING, schedules=[{"timeIntervals": [], "minReplicas": 2}]),
        "spec.schedules[0].timeIntervals",
    ),
    (
        "scaling-schedule-negative-min",
        _with(_SCALING, schedules=[{"timeIntervals": ["peak"], "minReplicas": -1}]),
        "spec.schedules[0].minReplicas",
    ),
    (
        "scaling-rightsizing-percentile",
        _with(_SCALING, rightsizing={"percentile": 1.5}),
        "spec.rightsizing.percentile",
    ),
    (
        "scaling-rightsizing-resolution-beyond-lookback",
        _with(_SCALING, rightsizing={"lookback": "5m", "resolution": "10m"}),
        "spec.rightsizing.resolution",
    ),
    (
        "scaling-rightsizing-recheck-too-often",
        _with(_SCALING, rightsizing={"recheckInterval": "10s"}),
        "spec.rightsizing.recheckInterval",
    ),
    (
        "escalation-scale-floor-int32",
        _with(_ESCALATION, steps=[{"after": "0s", "actions": [_scale_action(2**31)]}]),
        "spec.steps[0].actions[0].scale.minReplicas",
    ),
    (
        "policy-deviation-too-large",
        _with(
            _POLICY,
            thresholds=None,
            adaptive={**_ADAPTIVE, "deviations": [{"severity": "Warning", "value": 1000}]},
        ),
        "spec.adaptive.deviations[0].value",
    ),
    # Adaptive bands: every level reachable, warm-up within the window (issue 16).
    (
        "policy-adaptive-unreachable-without-gap",  # 60 points: z <= sqrt(59) < 8
        _with(
            _POLICY,
            thresholds=None,
            adaptive={
                "window": "1h",
                "step": "1m",
                "baselineGap": "0s",
                "deviations": [{"severity": "Warning", "value": 8}],
            },
        ),
        "spec.adaptive.deviations",
    ),
    (
        "policy-adaptive-min-points-beyond-window",
        _with(_POLICY, thresholds=None, adaptive={**_ADAPTIVE, "minPoints": 61}),
        "spec.adaptive.minPoints",
    ),
    (
        "policy-adaptive-window-longer-than-season",
        _with(
            _POLICY, thresholds=None, adaptive={**_ADAPTIVE, "window": "2h", "seasonality": "1h"}
        ),
        "spec.adaptive.seasonality",
    ),
    (
        "policy-adaptive-gap-and-season",
        _with(
            _POLICY,
            thresholds=None,
            adaptive={**_ADAPTIVE, "baselineGap": "5m", "seasonality": "24h"},
        ),
        "baselineGap",
    ),
    (
        "policy-adaptive-negative-floor",
        _with(_POLICY, thresholds=None, adaptive={**_ADAPTIVE, "sigmaFloor": {"absolute": -1}}),
        "spec.adaptive.sigmaFloor.absolute",
    ),
    # The scale target: `version` or `group/version`, and a Kind.
    ("scaling-api-version-x-y-z", _with(_SCALING, targetRef=_target("x/y/z")), "apiVersion"),
    ("scaling-api-version-empty-group", _with(_SCALING, targetRef=_target("/v1")), "apiVersion"),
    ("scaling-api-version-upper", _with(_SCALING, targetRef=_target("Apps/V1")), "apiVersion"),
    (
        "scaling-kind-with-group",
        _with(_SCALING, targetRef=_target("apps/v1", "apps/Deployment")),
        "spec.targetRef.kind",
    ),
    (
        "scaling-kind-with-space",
        _with(_SCALING, targetRef=_target("apps/v1", "Deploy ment")),
        "spec.targetRef.kind",
    ),
    # Silences: nothing that could mute everything, no regex the matcher cannot compile.
    ("silence-no-matchers", _with(_SILENCE, matchers=[]), "spec.matchers"),
    ("silence-bad-regex", _with(_SILENCE, matchers=["service=~(a"]), "spec.matchers[0]"),
    ("silence-bad-matcher", _with(_SILENCE, matchers=["service"]), "spec.matchers[0]"),
    ("silence-bad-label-name", _with(_SILENCE, matchers=["se-rv=a"]), "spec.matchers[0]"),
    ("silence-matches-all", _with(_SILENCE, matchers=["service=~.*"]), "spec.matchers"),
    ("silence-matches-all-2", _with(_SILENCE, matchers=["a=", "b!=x", "c!~x"]), "spec.matchers"),
    (
        "silence-ends-before-start",
        _with(
            _SILENCE,
            duration=None,
            startsAt="2026-12-04T10:00:00Z",
            endsAt="2026-12-04T09:00:00Z",
        ),
        "spec.endsAt",
    ),
    ("silence-no-end", _with(_SILENCE, duration=None), "one of endsAt, duration"),
    (
        "silence-end-and-duration",
        _with(_SILENCE, endsAt="2026-12-04T09:00:00Z"),
        "one of endsAt, duration",
    ),
    ("silence-no-author", _with(_SILENCE, createdBy=None), "spec.createdBy"),
    ("inhibit-no-source", _with(_INHIBIT, sourceMatchers=[]), "spec.sourceMatchers"),
    ("inhibit-bad-target", _with(_INHIBIT, targetMatchers=["a=~)"]), "spec.targetMatchers[0]"),
    ("inhibit-bad-equal", _with(_INHIBIT, equal=["no-de"]), "spec.equal[0]"),
    (
        "inhibit-target-matches-everything",
        _with(_INHIBIT, targetMatchers=["pod=~.*"]),
        "spec.targetMatchers",
    ),
    ("times-no-intervals", _with(_TIMES, intervals=[]), "spec.intervals"),
    (
        "times-unknown-zone",
        _with(_TIMES, intervals=_window(location="Mars/Olympus_Mons")),
        "spec.intervals[0].location",
    ),
    (
        "times-end-before-start",
        _with(_TIMES, intervals=_window(times=[{"startTime": "17:00", "endTime": "09:00"}])),
        "spec.intervals[0].times[0]",
    ),
    (
        "times-bad-weekday",
        _with(_TIMES, intervals=_window(weekdays=["mon:fri"])),
        "spec.intervals[0].weekdays[0]",
    ),
    (
        "times-day-zero",
        _with(_TIMES, intervals=_window(daysOfMonth=["0:5"])),
        "spec.intervals[0].daysOfMonth[0]",
    ),
]
