"""End to end: what one policy gets wrong costs only that policy. A template that would
render 10^10 times is cut off (Evaluated=False, TemplateError) while other policies keep
evaluating and the operator stays live; a query whose series collide once the metric name
is dropped is refused (DuplicateSeries), as Prometheus refuses it, and nothing is merged."""

from __future__ import annotations

import time
import urllib.request

import pytest

from tests.alerting import alerts, apply, policy, policy_condition, wait_states
from tests.waiting import get_object

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

BOMB = "{% for i in range(100000) %}{% for j in range(100000) %}x{% endfor %}{% endfor %}"


def _live(url: str) -> bool:
    with urllib.request.urlopen(url, timeout=2) as response:
        return response.status == 200


def test_a_runaway_template_stalls_nothing_but_its_policy(
    operator, kubeconfig, namespace, custom_objects, exporter
):
    bomb, calm = "wk_template_bomb", "wk_template_calm"
    exporter.set(bomb, 3)
    exporter.set(calm, 1)
    try:
        apply(
            kubeconfig,
            namespace,
            policy("bomb", bomb, annotations={"summary": BOMB}),
            policy("calm", calm),
        )
        condition = policy_condition(custom_objects, namespace, "bomb", "TemplateError")
        assert condition["status"] == "False"
        # the other policy keeps evaluating: a change of its value is acted on at once
        exporter.set(calm, 3)
        started = time.monotonic()
        while time.monotonic() - started < 10:  # /healthz answers all along
            assert _live(operator.liveness_url)
            time.sleep(0.5)
        wait_states(custom_objects, namespace, "calm", [("Firing", "Warning")], timeout=15)
        [alert] = wait_states(custom_objects, namespace, "bomb", [("Firing", "Warning")])
        assert len(alert["status"].get("summary") or "") < 10_000  # the default text
        assert _live(operator.liveness_url)
    finally:
        exporter.remove(bomb)
        exporter.remove(calm)


def test_series_that_collide_without_their_name_are_refused(
    operator, kubeconfig, namespace, custom_objects, exporter
):
    labels = {"shard": "1"}
    exporter.set("wk_dup_a", 3, labels)
    exporter.set("wk_dup_b", 4, labels)
    try:
        apply(kubeconfig, namespace, policy("dup", '{__name__=~"wk_dup_a|wk_dup_b"}'))
        condition = policy_condition(custom_objects, namespace, "dup", "DuplicateSeries")
        assert condition["status"] == "False"
        time.sleep(3)  # several evaluations: none creates an Alert
        assert alerts(custom_objects, namespace, "dup") == []
        status = get_object(custom_objects, "alertpolicies", namespace, "dup")["status"]
        assert status.get("firing", 0) == 0 and status.get("pending", 0) == 0
    finally:
        exporter.remove("wk_dup_a", labels)
        exporter.remove("wk_dup_b", labels)
