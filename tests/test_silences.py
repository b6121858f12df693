"""End to end: a Silence mutes what it matches (still evaluated and shown, nothing sent,
no escalation), notifications resume when it is expired from the CLI, a resolution inside
a silence sends nothing, and an expired Silence is deleted after the retention."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.alerting import alerts, apply, policy, wait_states
from tests.kubectl import kubectl, watchkeeper_object
from tests.waiting import eventually, get_object

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]
WATCHKEEPER = str(Path(sys.executable).parent / "watchkeeper")
QUIET = 4.0
"""How long 'nothing was sent' is watched for: four evaluations of a 1s policy."""


def watchkeeper(kubeconfig: Path, *args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [WATCHKEEPER, *args],
        env={**os.environ, "KUBECONFIG": str(kubeconfig)},
        capture_output=True,
        text=True,
        timeout=60,
    )
    if check:
        assert result.returncode == 0, result.stderr
    return result


def _webhook(receiver, name: str) -> dict:
    spec = {"type": "Webhook", "webhook": {"url": f"{receiver.url}/{name}"}}
    return watchkeeper_object("NotificationChannel", name, spec)


def _silence_state(custom_objects, namespace, name) -> str | None:
    return (get_object(custom_objects, "silences", namespace, name).get("status") or {}).get(
        "state"
    )


def test_a_silenced_alert_is_shown_sends_nothing_and_resumes_when_expired(
    operator, kubeconfig, namespace, custom_objects, exporter, receiver
):
    metric = "wk_silence_checkout"
    created = watchkeeper(
        kubeconfig,
        *("silence", "create", "-n", namespace, "--matcher", "service=checkout"),
        *("--for", "2h", "--comment", "deploying", "--by", "ana"),
    )
    name = created.stdout.split()[1]
    eventually(lambda: _silence_state(custom_objects, namespace, name), lambda s: s == "Active")
    table = kubectl(kubeconfig, "get", "silences", "-n", namespace).stdout
    assert table.split("\n")[0].split() == [
        *("NAME", "MATCHERS", "STATE", "STARTS", "ENDS", "CREATED", "BY", "AGE")
    ]
    assert '["service=checkout"]' in table and "Active" in table and "ana" in table

    apply(
        kubeconfig,
        namespace,
        _webhook(receiver, "hook"),
        _webhook(receiver, "pager"),
        watchkeeper_object(
            "EscalationPolicy", "oncall", {"steps": [{"after": "0s", "channels": ["pager"]}]}
        ),
        policy(
            "checkout-latency",
            metric,
            labels={"service": "checkout"},
            routing={"channels": ["hook"], "escalationPolicyRef": "oncall", "sendResolved": True},
        ),
    )
    exporter.set(metric, 3)
    [alert] = wait_states(custom_objects, namespace, "checkout-latency", [("Firing", "Warning")])
    assert alert["status"]["silencedBy"] == [name]
    listed = kubectl(kubeconfig, "get", "alerts", "-n", namespace).stdout
    assert "SILENCED" in listed.split("\n")[0] and name in listed
    time.sleep(QUIET)
    assert receiver.to("/hook") == [] and receiver.to("/pager") == []
    [alert] = alerts(custom_objects, namespace, "checkout-latency")
    assert "escalation" not in alert["status"]  # the chain did not start

    watchkeeper(kubeconfig, "silence", "expire", name, "-n", namespace)
    [firing] = receiver.wait_for(1, "/hook")
    assert firing.json()["status"] == "firing"
    receiver.wait_for(1, "/pager")  # escalation resumes with the silence's end
    eventually(
        lambda: alerts(custom_objects, namespace, "checkout-latency"),
        lambda found: "silencedBy" not in found[0]["status"],
    )
    eventually(lambda: _silence_state(custom_objects, namespace, name), lambda s: s == "Expired")
    listing = watchkeeper(kubeconfig, "silence", "list", "-n", namespace).stdout
    assert name in listing and "Expired" in listing

    # expired longer than the retention (5s in the test operator): deleted
    eventually(
        lambda: kubectl(kubeconfig, "get", "silences", "-n", namespace, "-o", "name").stdout,
        lambda out: out == "",
        timeout=30,
    )
    time.sleep(QUIET)
    assert len(receiver.to("/hook")) == 1  # told before: nothing more until the repeat


def test_a_resolution_inside_a_silence_sends_nothing_unless_the_channel_asks(
    operator, kubeconfig, namespace, custom_objects, exporter, receiver
):
    metric = "wk_silence_resolve"
    asks = _webhook(receiver, "asks")
    asks["spec"]["resolvedAfterMute"] = True
    routing = {"channels": ["hook", "asks"], "sendResolved": True}
    apply(
        kubeconfig,
        namespace,
        _webhook(receiver, "hook"),
        asks,
        policy("resolves", metric, routing=routing),
    )
    exporter.set(metric, 3)
    receiver.wait_for(1, "/hook")
    receiver.wait_for(1, "/asks")
    silence = {"matchers": ["alertname=resolves"], "duration": "1h", "createdBy": "ana"}
    apply(kubeconfig, namespace, watchkeeper_object("Silence", "quiet", silence))
    eventually(
        lambda: alerts(custom_objects, namespace, "resolves"),
        lambda found: found[0]["status"].get("silencedBy") == ["quiet"],
    )
    exporter.set(metric, 0)
    wait_states(custom_objects, namespace, "resolves", [("Resolved", "Warning")])
    time.sleep(QUIET)
    assert len(receiver.to("/asks")) == 1  # held while the silence lasts
    watchkeeper(kubeconfig, "silence", "expire", "quiet", "-n", namespace)
    eventually(lambda: _silence_state(custom_objects, namespace, "quiet"), lambda s: s == "Expired")
    [_, resolved] = receiver.wait_for(2, "/asks")  # when the silence ends
    assert resolved.json()["status"] == "resolved"
    time.sleep(QUIET)
    assert [r.json()["status"] for r in receiver.to("/hook")] == ["firing"]


def test_the_cli_refuses_a_silence_that_would_mute_everything(kubeconfig, namespace):
    result = watchkeeper(
        kubeconfig, "silence", "create", "-n", namespace, "--matcher", "service=~.*", check=False
    )
    assert result.returncode == 1
    assert result.stderr.count("\n") == 1 and "at least one matcher" in result.stderr


def test_what_a_silence_held_is_sent_once_across_an_operator_kill(
    operator, kubeconfig, namespace, custom_objects, exporter, receiver
):
    """The held Firing lives in the Alert's outbox: killed while silenced, the operator
    sends it once after the silence ends, whether it ended while it was down or not."""
    metric = "wk_silence_kill"
    silence = {"matchers": ["alertname=held"], "duration": "1h", "createdBy": "ana"}
    apply(
        kubeconfig,
        namespace,
        watchkeeper_object("Silence", "held", silence),
        _webhook(receiver, "hook"),
    )
    eventually(lambda: _silence_state(custom_objects, namespace, "held"), lambda s: s == "Active")
    apply(kubeconfig, namespace, policy("held", metric, routing={"channels": ["hook"]}))
    exporter.set(metric, 3)
    eventually(
        lambda: alerts(custom_objects, namespace, "held"),
        lambda found: bool(found) and bool(found[0]["status"].get("outbox")),
    )
    [alert] = alerts(custom_objects, namespace, "held")
    assert alert["status"]["silencedBy"] == ["held"]
    [owed] = alert["status"]["outbox"]
    operator.kill()
    watchkeeper(kubeconfig, "silence", "expire", "held", "-n", namespace)
    operator.start()
    [firing] = receiver.wait_for(1, "/hook", timeout=60)
    assert firing.headers["idempotency-key"] == owed["key"]
    time.sleep(QUIET)
    assert len(receiver.to("/hook")) == 1
