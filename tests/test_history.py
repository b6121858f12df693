"""`watchkeeper history`: the operator exports its alerts (`watchkeeper_alert`, like
ALERTS) and transition counters; a second Prometheus scrapes the operator during the
test, and the history read back from it matches what the Alert objects recorded."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from urllib.parse import urlsplit

import httpx
import pytest

from devenv.prometheus import LocalPrometheus
from tests.alerting import apply, policy, wait_states
from tests.waiting import eventually
from watchkeeper.api.timestamps import parse_time
from watchkeeper.cli import main

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

METRIC = "wk_history_value"


@pytest.fixture
def scraper(operator, tmp_path):
    """A Prometheus that scrapes the operator's own /metrics."""
    server = LocalPrometheus(tmp_path / "scraper", urlsplit(operator.metrics_url).netloc)
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_history_reads_back_what_the_operator_exported(
    operator, exporter, prometheus, scraper, kubeconfig, custom_objects, namespace, capsys, tmp_path
):
    exporter.set(METRIC, 1, {"queue": "orders"})
    prometheus.wait_for(METRIC, timeout=20)
    apply(kubeconfig, namespace, policy("depth", METRIC, **{"for": "2s"}))
    try:
        exporter.set(METRIC, 7, {"queue": "orders"})
        [firing] = wait_states(custom_objects, namespace, "depth", [("Firing", "Critical")])
        exported = httpx.get(operator.metrics_url, timeout=10).text
        assert f'alert="{firing["metadata"]["name"]}"' in exported
        time.sleep(4)
        exporter.set(METRIC, 1, {"queue": "orders"})
        [resolved] = wait_states(custom_objects, namespace, "depth", [("Resolved", "Critical")])
        time.sleep(3)  # the scraper sees the alert gone
    finally:
        exporter.remove(METRIC, {"queue": "orders"})
    where = f'policy_namespace="{namespace}"'
    eventually(
        lambda: scraper.query(f'watchkeeper_alert_transitions_total{{{where},change="Resolved"}}'),
        bool,
        timeout=20,
    )

    capsys.readouterr()
    args = ["history", "depth", "-n", namespace, "--since", "5m", "--prometheus", scraper.url]
    plot = tmp_path / "history.png"
    assert main([*args, "-o", "json", "--plot", str(plot)]) == 0
    assert plot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and plot.stat().st_size > 5_000
    report = json.loads(capsys.readouterr().out)
    [depth] = report["policies"]
    summary = depth["summary"]
    assert summary["fired"] == 1 and summary["firedCountedByOperator"] == 1
    assert summary["stillFiring"] == 0
    [span] = [s for s in depth["timeline"] if s["state"] == "firing"]
    assert span["alert"] == firing["metadata"]["name"] and span["severity"] == "Critical"
    assert span["labels"]["queue"] == "orders"  # with the scrapes' own job and instance
    status = resolved["status"]
    fired_at, resolved_at = parse_time(status["firingSince"]), parse_time(status["resolvedAt"])
    # the scraper samples every second; the history reads it at 1s steps
    assert abs((parse_time(span["from"]) - fired_at).total_seconds()) <= 5
    assert abs((parse_time(span["to"]) - resolved_at).total_seconds()) <= 5
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "AlertPolicy depth:" in text and "fired 1 times" in text
    assert datetime.now(UTC) > resolved_at
