"""Backtest replays: the engine over recorded answers, with golden text and JSON reports.

The answers are scripted (a Prometheus window moves with the wall clock, a golden file
cannot); test_backtest_live.py proves on a real Prometheus that the replay is the operator.
Set UPDATE_GOLDEN=1 to rewrite the golden files after an intended change."""

from __future__ import annotations

import itertools
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from watchkeeper.api.alertpolicy import AlertPolicySpec
from watchkeeper.backtest import runs
from watchkeeper.backtest.alerts import Answer
from watchkeeper.backtest.history import evaluation_grid
from watchkeeper.backtest.manifests import Bundle, ManifestError, documents
from watchkeeper.backtest.scaling import ScalingAnswer
from watchkeeper.cli import main
from watchkeeper.cli.backtest import render
from watchkeeper.engine.scaling_metrics import Reading
from watchkeeper.engine.schedule import next_due, offset_of
from watchkeeper.prometheus.ranges import MAX_POINTS, RangeFailure, RangeReader, chunks, to_millis

HERE = Path(__file__).parent
FIXTURES = HERE / "backtest_fixtures.yaml"
GOLDEN = HERE / "golden"
START = datetime(2026, 1, 1, tzinfo=UTC)
END = START + timedelta(minutes=40)
OUTAGE = (40, 41)


def _orders(k: int) -> float | None:
    if k < 4 or k > 30:
        return 10
    return 60 if k <= 12 else 120


def _emails(k: int) -> float | None:
    return 70 if k >= 20 else None


def scripted(spec: AlertPolicySpec, grid: list[datetime]) -> runs.Answers:
    answers = []
    for k, at in enumerate(grid):
        if OUTAGE[0] <= k <= OUTAGE[1]:
            answers.append(Answer(at, None, error="Prometheus unreachable: ConnectionError"))
            continue
        series = [({"queue": "orders"}, _orders(k)), ({"queue": "emails"}, _emails(k))]
        if 50 <= k <= 53:
            series = []  # the exporter was gone
        answers.append(Answer(at, [(labels, v) for labels, v in series if v is not None]))
    failed = [RangeFailure(grid[OUTAGE[0]], grid[OUTAGE[1]], answers[OUTAGE[0]].error)]
    return answers, failed


def _report() -> dict:
    bundle = Bundle.of(documents([str(FIXTURES)]), "default")
    return runs.alert_policy(bundle.policies[0], bundle, scripted, START, END, "default")


def _golden(name: str, text: str) -> None:
    path = GOLDEN / name
    if os.environ.get("UPDATE_GOLDEN"):
        path.write_text(text)
    assert text == path.read_text(), f"{name} differs from the golden file"


def test_text_report_is_golden():
    _golden("backtest_alert.txt", render([_report()], "text"))


def test_json_report_is_golden():
    _golden("backtest_alert.json", render([_report()], "json"))


def test_the_replay_applies_the_engine_to_every_instant():
    report = _report()
    changes = [(t["labels"]["queue"], t["change"]) for t in report["transitions"]]
    assert changes[:3] == [
        ("orders", "Pending"),
        ("orders", "Firing"),
        ("orders", "SeverityChanged"),
    ]
    assert ("orders", "Resolved") in changes and ("emails", "Firing") in changes
    summary = report["summary"]
    assert summary["evaluations"] == 80
    assert summary["fired"] == 3
    assert summary["stillFiring"] == 1  # emails keeps firing past the end of the window
    sent = {(n["channel"], n["event"], n["outcome"]) for n in report["notifications"]}
    # pagerduty wants Critical: the Warning firing is filtered, the escalation to Critical
    # pages it through its escalation step; Slack's 2 per 5m limit holds the third message
    assert ("pagerduty-payments", "Firing", "Skipped") in sent
    assert ("slack-oncall", "Firing", "RateLimited") in sent or (
        "slack-oncall",
        "Summary",
        "Delivered",
    ) in sent
    assert any(e["step"] == 2 for e in report["escalations"])
    assert any(n["event"] == "Repeat" for n in report["notifications"])
    problems = report["dataProblems"]
    assert problems["failedQueries"][0]["error"].startswith("Prometheus unreachable")
    assert len(problems["noData"]) == 1


def test_the_grid_is_the_schedulers():
    interval = timedelta(seconds=30)
    grid = evaluation_grid(START, END, interval, "some query")
    offset = offset_of("some query", interval)
    assert grid[0] == next_due(START - timedelta(microseconds=1), interval, offset)
    assert all(next_due(a, interval, offset) == b for a, b in itertools.pairwise(grid))
    assert grid[-1] <= END < grid[-1] + interval


def test_range_queries_stay_under_the_points_limit():
    runs_ = chunks(1000, 2 * MAX_POINTS + 5, 15_000)
    assert [len(r) for r in runs_] == [MAX_POINTS, MAX_POINTS, 5]
    assert runs_[1][0] == runs_[0][-1] + 15_000


def test_unreadable_input_is_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text("kind: AlertPolicy\nmetadata: {name: x}\nspec: {query: up, thresholds: []}\n")
    with pytest.raises(ManifestError):
        runs.alert_policy(documents([str(bad)])[0], Bundle(), scripted, START, END, "default")
    assert main(["backtest", "-f", str(tmp_path / "missing.yaml")]) == 2
    assert main(["backtest", "-f", str(bad), "--from", "2026-01-01T00:00:00Z"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all(line.startswith("watchkeeper backtest: ") for line in err)


def _rps(k: int) -> float:
    if k < 8:
        return 150
    if k < 30:
        return 1200 if k < 20 else 700
    return 120


def scripted_scaling(spec, grid) -> tuple[list[ScalingAnswer], list[RangeFailure]]:
    answers = []
    for k, at in enumerate(grid):
        if 60 <= k <= 64:
            reading = Reading(error="Prometheus unreachable: ConnectionError")
        else:
            reading = Reading(values=(_rps(k),))
        answers.append(ScalingAnswer(at, {"rps": reading}))
    return answers, [RangeFailure(grid[60], grid[64], "Prometheus unreachable: ConnectionError")]


def _scaling_report() -> dict:
    bundle = Bundle.of(documents([str(FIXTURES)]), "default")
    doc = next(p for p in bundle.policies if p["kind"] == "ScalingPolicy")
    return runs.scaling_policy(
        doc, scripted_scaling, START, START + timedelta(minutes=30), "default", 3
    )


def test_scaling_text_report_is_golden():
    _golden("backtest_scaling.txt", render([_scaling_report()], "text"))


def test_scaling_json_report_is_golden():
    _golden("backtest_scaling.json", render([_scaling_report()], "json"))


def test_the_scaling_replay_follows_its_own_decisions():
    report = _scaling_report()
    events = report["scaleEvents"]
    assert events[0]["from"] == 3 and events[0]["to"] > 3
    assert max(e["to"] for e in events) == 10  # capped at maxReplicas
    assert events[-1]["to"] == 2  # back to minReplicas once the load is gone
    chained = all(a["to"] == b["from"] for a, b in itertools.pairwise(events))
    assert chained, "each scale starts where the previous one left the target"
    summary = report["summary"]
    assert summary["secondsAtMax"] > 0 and summary["secondsAtMin"] > 0
    assert summary["replicaHours"] > 0
    assert report["dataProblems"]["failedQueries"]


def _png_size(path: Path) -> tuple[int, int]:
    header = path.read_bytes()[:24]
    assert header[:8] == b"\x89PNG\r\n\x1a\n" and header[12:16] == b"IHDR"
    return int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")


def test_plots_are_drawn(tmp_path):
    bundle = Bundle.of(documents([str(FIXTURES)]), "default")
    alert_png, scaling_png = tmp_path / "alert.png", tmp_path / "scaling.png"
    runs.alert_policy(bundle.policies[0], bundle, scripted, START, END, "default", alert_png)
    doc = next(p for p in bundle.policies if p["kind"] == "ScalingPolicy")
    end = START + timedelta(minutes=30)
    runs.scaling_policy(doc, scripted_scaling, START, end, "default", 3, scaling_png)
    for png in (alert_png, scaling_png):
        assert _png_size(png) == (1000, 400)
        assert 10_000 < png.stat().st_size < 500_000  # lines and shading, not a blank canvas


@pytest.mark.prometheus
def test_a_long_window_is_split_under_the_points_limit(prometheus):
    """13,000 one-second instants: one request would be refused by Prometheus."""
    seen: list[tuple[int, int]] = []
    reader = RangeReader(
        prometheus.url, progress=lambda expr, done, total: seen.append((done, total))
    )
    grid = [START + timedelta(seconds=k) for k in range(13_000)]
    data = reader.fetch("vector(1)", grid, timedelta(seconds=1))
    assert not data.failures
    assert seen == [(1, 2), (2, 2)]
    assert sorted(data.values) == [to_millis(at) for at in grid]
    assert all(at.value == 1 for at in data.at(grid[-1]) or [])
    refused = RangeReader(prometheus.url).fetch("rate(up[1m]", grid[:3], timedelta(seconds=1))
    assert refused.failures and refused.at(grid[0]) is None
    assert "HTTP Status Code 400" in refused.failures[0].error
