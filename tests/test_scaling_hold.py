"""End to end: a ScalingPolicy's holdScaleDown keeps the replicas while a matching Alert
fires (a real AlertPolicy on an exporter metric), lets scale-up through, and scales down
once the Alert resolves; a firing Alert its matchers do not select holds nothing."""

from __future__ import annotations

import time

import pytest

from tests.alerting import policy, wait_states
from tests.test_scalingpolicy import (
    PLURAL,
    apply,
    deployment,
    replicas,
    scaling_policy,
    status,
    wait_condition,
    wait_event,
    wait_replicas,
)
from tests.waiting import condition, eventually, get_object

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

LOAD, LATENCY, DISK = "wk_hold_load", "wk_hold_latency", "wk_hold_disk"


def test_scale_down_waits_for_the_matching_alert_to_resolve(
    operator, kubeconfig, namespace, custom_objects, apps_v1, core_v1, exporter
):
    exporter.set(LOAD, 450)  # 4.5 replicas' worth at 100 each
    exporter.set(LATENCY, 0)
    exporter.set(DISK, 3)  # fires all along, but its team is not selected
    deployment(apps_v1, namespace, "web", 1)
    hold = {"whileAlertsFire": {"matchers": ["team=checkout", "severity=~Warning|Critical"]}}
    try:
        apply(
            kubeconfig,
            namespace,
            policy("latency", LATENCY, labels={"team": "checkout"}),
            policy("disk", DISK, labels={"team": "storage"}),
            scaling_policy(
                "web",
                LOAD,
                behavior={"scaleDown": {"stabilizationWindow": "0s"}},
                holdScaleDown=hold,
            ),
        )
        wait_states(custom_objects, namespace, "disk", [("Firing", "Warning")])
        wait_replicas(apps_v1, namespace, "web", 5)

        exporter.set(LATENCY, 3)
        [alert] = wait_states(custom_objects, namespace, "latency", [("Firing", "Warning")])
        name = alert["metadata"]["name"]
        exporter.set(LOAD, 80)
        held = wait_condition(custom_objects, namespace, "web", "ScalingLimited", "ScaleDownHeld")
        expected = f"scale-down held while Alert {name} fires: 5 → 1 not applied"
        assert condition(held, "ScalingLimited")["message"] == expected
        assert wait_event(core_v1, namespace, "web", "ScaleDownHeld")[2] == expected
        time.sleep(4)
        assert replicas(apps_v1, namespace, "web") == 5

        exporter.set(LOAD, 650)
        wait_replicas(apps_v1, namespace, "web", 7)  # scale-up is never held
        exporter.set(LOAD, 80)
        eventually(
            lambda: condition(
                get_object(custom_objects, PLURAL, namespace, "web"), "ScalingLimited"
            ),
            lambda c: c.get("message") == expected.replace("5 → 1", "7 → 1"),
        )
        assert replicas(apps_v1, namespace, "web") == 7

        exporter.set(LATENCY, 0)
        wait_replicas(apps_v1, namespace, "web", 1, timeout=40)
        assert [(h["from"], h["to"]) for h in status(custom_objects, namespace, "web")["history"]][
            -1
        ] == (7, 1)
        wait_states(custom_objects, namespace, "disk", [("Firing", "Warning")])
    finally:
        for metric in (LOAD, LATENCY, DISK):
            exporter.remove(metric)
