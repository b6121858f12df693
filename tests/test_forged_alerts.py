"""Only Alerts the operator wrote are notified. Each Alert status it writes carries a proof
(HMAC-SHA256 with a key kept in a Secret of the operator's namespace); an Alert forged by
someone who may write `alerts/status`, while the operator is down, is not taken in at
start: it is never delivered, and the policy's genuine Alerts still are."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta

import pytest

from tests.alerting import apply, policy, wait_states
from tests.kubectl import kubectl, watchkeeper_object
from tests.waiting import eventually, get_object
from watchkeeper.api.timestamps import format_time
from watchkeeper.engine.alert_records import PROVEN, alert_name, proof, proven

KEY = b"k" * 32
STATUS = {
    "state": "Firing",
    "startsAt": "2030-01-01T00:00:00Z",
    "firingSince": "2030-01-01T00:00:10Z",
    "labels": {"instance": "a"},
    "lastRepeatAt": "2030-01-01T01:00:00Z",
    "outbox": [{"id": "hook/Firing/2030-01-01T00:00:10Z", "key": "watchkeeper/ns/x/Firing/t"}],
}
SIGNED = {**STATUS, "proof": proof(KEY, "ns", "x", "uid", STATUS)}


@pytest.mark.parametrize(
    "changed",
    [
        *({field: "2031-01-01T00:00:00Z"} for field in PROVEN if field != "labels"),
        {"labels": {"instance": "b"}},
        {"outbox": [{"id": "hook/Firing/2030-01-01T00:00:10Z", "key": "other"}]},
        {"outbox": [*STATUS["outbox"], {"id": "hook/Repeat/t", "key": "k"}]},
        {"proof": "0" * 64},
    ],
)
def test_changing_what_the_proof_covers_breaks_it(changed) -> None:
    assert proven(KEY, "ns", "x", "uid", SIGNED)
    assert not proven(KEY, "ns", "x", "uid", {**SIGNED, **changed})


def test_the_proof_binds_the_alert_and_the_key() -> None:
    assert not proven(KEY, "ns", "y", "uid", SIGNED)
    assert not proven(KEY, "other", "x", "uid", SIGNED)
    assert not proven(KEY, "ns", "x", "other-uid", SIGNED)
    assert not proven(b"j" * 32, "ns", "x", "uid", SIGNED)
    # what is not covered may change (value, conditions, display history), and unset = empty
    assert proven(KEY, "ns", "x", "uid", {**SIGNED, "value": 7, "notifications": [{}]})
    assert proven(KEY, "ns", "x", "uid", {**SIGNED, "resolvedAt": None, "severity": ""})


def _hook(receiver) -> dict:
    spec = {"type": "Webhook", "webhook": {"url": f"{receiver.url}/hook"}}
    return watchkeeper_object("NotificationChannel", "hook", {**spec, "rateLimit": {"max": 100}})


def _forger(kubeconfig, namespace: str, user: str) -> None:
    """A user who may create Alerts and write their status, nothing more."""
    rules = [
        {
            "apiGroups": ["watchkeeper.io"],
            "resources": ["alerts", "alerts/status"],
            "verbs": ["get", "create", "patch", "update"],
        }
    ]
    ref = {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": "forger"}
    subject = {"apiGroup": "rbac.authorization.k8s.io", "kind": "User", "name": user}
    docs = [
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "Role",
            "metadata": {"name": "forger"},
            "rules": rules,
        },
        {
            "apiVersion": "rbac.authorization.k8s.io/v1",
            "kind": "RoleBinding",
            "metadata": {"name": "forger"},
            "roleRef": ref,
            "subjects": [subject],
        },
    ]
    kubectl(kubeconfig, "apply", "-n", namespace, "-f", "-", manifest=docs)


def _alerts_delivered(receiver) -> list[tuple[str, str]]:
    """(alert name, event) of each delivery, from its idempotency key."""
    keys = [r.headers["idempotency-key"].split("/") for r in receiver.to("/hook")]
    return [(k[2], k[3]) for k in keys]


def test_an_alert_forged_while_the_operator_is_down_is_never_delivered(
    operator, kubeconfig, namespace, custom_objects, exporter, receiver
):
    metric = "wk_forged"
    exporter.set(metric, 3, {"series": "real"})
    apply(
        kubeconfig,
        namespace,
        _hook(receiver),
        policy("guarded", metric, routing={"channels": ["hook"]}),
    )
    [real] = wait_states(custom_objects, namespace, "guarded", [("Firing", "Warning")])
    real_name = real["metadata"]["name"]
    receiver.wait_for(1, "/hook")
    real = eventually(  # settled: a restart must not repeat it
        lambda: get_object(custom_objects, "alerts", namespace, real_name),
        lambda a: a["status"].get("notifications") and not a["status"].get("outbox"),
    )
    assert real["status"]["proof"]
    operator.stop()

    mallory = f"mallory-{namespace}"
    _forger(kubeconfig, namespace, mallory)
    owner = get_object(custom_objects, "alertpolicies", namespace, "guarded")["metadata"]
    labels = {**real["status"]["labels"], "series": "forged"}
    forged = alert_name("guarded", labels)
    since = format_time(datetime.now(UTC) - timedelta(seconds=30))
    metadata = {
        "name": forged,
        "labels": {"watchkeeper.io/policy": "guarded", "watchkeeper.io/severity": "Critical"},
        "ownerReferences": [
            {
                "apiVersion": "watchkeeper.io/v1alpha1",
                "kind": "AlertPolicy",
                "name": "guarded",
                "uid": owner["uid"],
                "controller": True,
            }
        ],
    }
    as_mallory = ("--as", mallory, "-n", namespace)
    alert = {"apiVersion": "watchkeeper.io/v1alpha1", "kind": "Alert", "metadata": metadata}
    kubectl(kubeconfig, *as_mallory, "create", "-f", "-", manifest={**alert, "spec": {}})
    status = {
        "state": "Firing",
        "severity": "Critical",
        "value": 9,
        "threshold": 5,
        "labels": labels,
        "startsAt": since,
        "firingSince": since,
        "outbox": [
            {
                "id": f"hook/Firing/{since}",
                "channel": "hook",
                "event": "Firing",
                "transitionTime": since,
                "cycle": since,
                "key": f"watchkeeper/{namespace}/{forged}/Firing/{since}",
                "severity": "Critical",
                "value": 9,
            }
        ],
        "proof": real["status"]["proof"],  # copied from a genuine Alert: it proves nothing
    }
    patch = json.dumps({"status": status})
    kubectl(
        kubeconfig,
        *as_mallory,
        "patch",
        "alert",
        forged,
        "--subresource=status",
        "--type=merge",
        "-p",
        patch,
    )

    operator.start()
    exporter.set(metric, 3, {"series": "new"})  # a genuine alert of the same policy, after
    try:
        delivered = eventually(
            lambda: _alerts_delivered(receiver),
            lambda d: any(name not in (real_name, forged) for name, _ in d),
        )
        time.sleep(4)  # rounds ran for every Alert the operator took in: more would show now
        delivered = _alerts_delivered(receiver)
        assert not [d for d in delivered if d[0] == forged]
        assert delivered.count((real_name, "Firing")) == 1  # the genuine one was taken in
        log = operator.log_text(since_start=True)
        assert log.count(f"Alert {namespace}/{forged}: status not written by this operator") == 1
        untouched = get_object(custom_objects, "alerts", namespace, forged)["status"]
        assert untouched["outbox"][0]["key"] == status["outbox"][0]["key"]
    finally:
        exporter.remove(metric, {"series": "new"})
        exporter.remove(metric, {"series": "real"})
