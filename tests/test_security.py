"""Nobody borrows the operator's rights: a user who may write Watchkeeper objects makes the
operator read only Secrets labelled watchkeeper.io/allow-reference=true, and scale only
workloads labelled watchkeeper.io/allow-scaling=true (README, "Security model")."""

from __future__ import annotations

import time

import pytest

from tests.kubectl import ALLOW_SCALING, create_deployment, create_secret, kubectl
from tests.kubectl import watchkeeper_object as obj
from tests.test_scalingpolicy import (
    deployment,
    replicas,
    scaling_policy,
    status,
    wait_condition,
    wait_replicas,
)
from tests.waiting import condition, eventually, get_object, wait_ready
from watchkeeper.kube.access import ReferencePolicy, secret_allowed, target_allowed

SECRET_VALUE = "borrowed-7c1e-do-not-send"
NOT_LABELLED = "Secret stolen is not labelled watchkeeper.io/allow-reference=true"


@pytest.mark.parametrize(
    ("labels", "policy", "allowed"),
    [
        (None, ReferencePolicy.LABEL, False),
        ({}, ReferencePolicy.LABEL, False),
        ({"watchkeeper.io/allow-reference": "false"}, ReferencePolicy.LABEL, False),
        ({"watchkeeper.io/allow-reference": "True"}, ReferencePolicy.LABEL, False),
        ({"watchkeeper.io/allow-scaling": "true"}, ReferencePolicy.LABEL, False),
        ({"watchkeeper.io/allow-reference": "true"}, ReferencePolicy.LABEL, True),
        (None, ReferencePolicy.ANY, True),
    ],
)
def test_only_the_exact_opt_in_label_lets_a_secret_be_read(labels, policy, allowed) -> None:
    assert secret_allowed(labels, policy) is allowed


def test_the_scaling_label_is_its_own() -> None:
    assert target_allowed(ALLOW_SCALING, ReferencePolicy.LABEL)
    assert not target_allowed({"watchkeeper.io/allow-reference": "true"}, ReferencePolicy.LABEL)
    assert target_allowed(None, ReferencePolicy.ANY)


def _hook(receiver_url: str) -> dict:
    header = {"name": "X-Token", "valueSecretRef": {"name": "stolen", "key": "token"}}
    return obj(
        "NotificationChannel",
        "hook",
        {"type": "Webhook", "webhook": {"url": f"{receiver_url}/hook", "headers": [header]}},
    )


def _test_send(kubeconfig, custom_objects, namespace: str, value: str) -> dict:
    kubectl(
        kubeconfig,
        "annotate",
        "--overwrite",
        "-n",
        namespace,
        "notificationchannels/hook",
        f"watchkeeper.io/test={value}",
    )
    found = eventually(
        lambda: get_object(custom_objects, "notificationchannels", namespace, "hook"),
        lambda o: ((o.get("status") or {}).get("lastTest") or {}).get("value") == value,
    )
    return dict(found["status"]["lastTest"])


@pytest.mark.cluster
def test_an_unlabelled_secret_is_never_sent(
    operator, kubeconfig, namespace, custom_objects, core_v1, receiver
):
    create_secret(core_v1, namespace, "stolen", {"token": SECRET_VALUE}, allow_reference=False)
    kubectl(kubeconfig, "apply", "-n", namespace, "-f", "-", manifest=_hook(receiver.url))

    last = _test_send(kubeconfig, custom_objects, namespace, "one")
    assert last["outcome"] == "Failed"
    assert NOT_LABELLED in last["error"]
    time.sleep(1.0)
    assert receiver.to("/hook") == []  # nothing was sent, so nothing could leak
    channel = get_object(custom_objects, "notificationchannels", namespace, "hook")
    assert SECRET_VALUE not in str(channel)
    assert SECRET_VALUE not in operator.log_text()

    # The Secret's owner opts in: the same channel now works.
    kubectl(
        kubeconfig,
        "label",
        "secret",
        "stolen",
        "watchkeeper.io/allow-reference=true",
        "-n",
        namespace,
    )
    last = _test_send(kubeconfig, custom_objects, namespace, "two")
    assert last["outcome"] == "Delivered", last
    (request,) = receiver.wait_for(1, "/hook")
    assert request.headers["x-token"] == SECRET_VALUE


@pytest.mark.cluster
def test_readiness_says_which_secret_did_not_opt_in(
    operator, kubeconfig, namespace, custom_objects, core_v1, receiver
):
    create_secret(core_v1, namespace, "stolen", {"token": SECRET_VALUE}, allow_reference=False)
    kubectl(kubeconfig, "apply", "-n", namespace, "-f", "-", manifest=_hook(receiver.url))
    found = wait_ready(
        custom_objects, "notificationchannels", namespace, "hook", "False", "SecretNotAllowed"
    )
    assert condition(found)["message"] == NOT_LABELLED
    kubectl(
        kubeconfig,
        "label",
        "secret",
        "stolen",
        "watchkeeper.io/allow-reference=true",
        "-n",
        namespace,
    )
    wait_ready(custom_objects, "notificationchannels", namespace, "hook", "True")


@pytest.mark.cluster
def test_an_unlabelled_deployment_is_not_scaled(
    operator, kubeconfig, namespace, custom_objects, apps_v1, exporter
):
    metric = "wk_sec_unlabelled"
    exporter.set(metric, 4200)  # asks for 42 replicas
    create_deployment(kubeconfig, namespace, "victim", allow_scaling=False)
    kubectl(
        kubeconfig,
        "apply",
        "-n",
        namespace,
        "-f",
        "-",
        manifest=scaling_policy("borrow", metric, target="victim", maxReplicas=50),
    )
    found = wait_condition(custom_objects, namespace, "borrow", "AbleToScale", "FailedGetScale")
    message = condition(found, "AbleToScale")["message"]
    assert "Deployment victim is not labelled watchkeeper.io/allow-scaling=true" in message
    time.sleep(2.0)  # several evaluations
    assert replicas(apps_v1, namespace, "victim") == 1
    assert not status(custom_objects, namespace, "borrow").get("history")

    # The workload's owner opts in: the policy takes over.
    kubectl(
        kubeconfig,
        "label",
        "deployment",
        "victim",
        "watchkeeper.io/allow-scaling=true",
        "-n",
        namespace,
    )
    eventually(lambda: replicas(apps_v1, namespace, "victim"), lambda count: count > 1)


@pytest.mark.cluster
def test_removing_the_label_stops_scaling(
    operator, kubeconfig, namespace, custom_objects, apps_v1, exporter
):
    metric = "wk_sec_unlabel"
    exporter.set(metric, 300)
    deployment(apps_v1, namespace, "web", 1)
    kubectl(kubeconfig, "apply", "-n", namespace, "-f", "-", manifest=scaling_policy("web", metric))
    wait_replicas(apps_v1, namespace, "web", 3)
    kubectl(
        kubeconfig, "label", "deployment", "web", "watchkeeper.io/allow-scaling-", "-n", namespace
    )
    wait_condition(custom_objects, namespace, "web", "AbleToScale", "FailedGetScale")
    exporter.set(metric, 800)
    time.sleep(2.0)
    assert replicas(apps_v1, namespace, "web") == 3
