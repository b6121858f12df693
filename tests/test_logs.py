"""`--log-format json`: every line is one JSON object; a policy's evaluation logs name the
object (namespace, name, kind) and carry a correlation id of that run; and no secret value
appears, even when a receiver echoes the secret URL back in its error."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from devenv.operator import OperatorProcess
from tests.kubectl import create_secret, kubectl, watchkeeper_object
from tests.receivers import Reply
from tests.waiting import eventually

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

SECRET_TOKEN = "T0KEN-json-log-very-secret-9191"


def _records(process: OperatorProcess) -> list[dict]:
    lines = [line for line in process.log_text(since_start=True).splitlines() if line.strip()]
    records = []
    for line in lines:
        try:
            records.append(json.loads(line))
        except json.JSONDecodeError:
            pytest.fail(f"not a JSON line: {line!r}")
    return records


def test_json_logs_name_the_object_and_the_evaluation_and_never_a_secret(
    operator, cluster, prometheus, kubeconfig, namespace, core_v1, receiver, tmp_path: Path
) -> None:
    operator.stop()  # this test's operator does the work, logging JSON
    json_operator = OperatorProcess(
        kubeconfig=cluster.kubeconfig,
        prometheus_url=prometheus.url,
        log_path=tmp_path / "operator.log",
        extra_args=["--log-format", "json"],
        env={"WATCHKEEPER_RECHECK_INTERVAL": "1s"},
    )
    json_operator.start()
    try:
        secret_url = f"{receiver.url}/services/{SECRET_TOKEN}"
        receiver.default = Reply(500, body=f"hook {secret_url} is broken")
        create_secret(core_v1, namespace, "hook", {"url": secret_url})
        manifest = [
            watchkeeper_object(
                "NotificationChannel",
                "hook",
                {
                    "type": "Webhook",
                    "webhook": {"urlSecretRef": {"name": "hook", "key": "url"}},
                    "retry": {"maxAttempts": 1},
                },
            ),
            watchkeeper_object(
                "NotificationChannel", "log", {"type": "Log", "log": {"level": "INFO"}}
            ),
            watchkeeper_object(
                "AlertPolicy",
                "always",
                {
                    "query": "vector(5)",
                    "comparison": "GreaterThan",
                    "thresholds": [{"severity": "Warning", "value": 1}],
                    "evaluationInterval": "1s",
                    "routing": {"channels": ["hook", "log"]},
                },
            ),
        ]
        kubectl(kubeconfig, "apply", "-n", namespace, "-f", "-", manifest=manifest)
        receiver.wait_for(1, "/services/")

        def evaluations() -> list[dict]:
            return [
                r
                for r in _records(json_operator)
                if r.get("object")
                == {
                    "apiVersion": "watchkeeper.io/v1alpha1",
                    "kind": "AlertPolicy",
                    "namespace": namespace,
                    "name": "always",
                }
                and r.get("job", "").startswith("alertpolicy/")
            ]

        def failed(records: list[dict]) -> list[dict]:
            return [r for r in records if "/hook: Firing" in r["message"]]

        records = eventually(evaluations, lambda rs: len(failed(rs)) >= 2, timeout=30)
        [firing] = [r for r in records if "is firing" in r["message"]]
        delivered = [r for r in records if "/log: Firing" in r["message"]]
        # the evaluation that fired and the deliveries it started share one correlation id
        assert delivered and delivered[0]["correlation_id"] == firing["correlation_id"]
        # the failed delivery is retried by later evaluations, each with an id of its own
        assert len({r["correlation_id"] for r in failed(records)}) == len(failed(records))
        for record in _records(json_operator):
            assert {"message", "severity", "timestamp"} <= record.keys()
    finally:
        json_operator.stop()
    assert SECRET_TOKEN not in (tmp_path / "operator.log").read_text()
