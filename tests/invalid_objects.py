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
]
