"""What Prometheus rules say and AlertPolicies now say too: durations in days, weeks and
years everywhere a duration is (model and the API server's CEL alike), and the comparison
Any, which makes every returned series an alert (`up == 0`, `absent(...)`)."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from tests.kubectl import kubectl, watchkeeper_object
from watchkeeper.api.alertpolicy import AlertPolicySpec
from watchkeeper.api.common import parse_duration
from watchkeeper.engine.alerts import Observation, evaluate, rules_of
from watchkeeper.engine.levels import fixed_levels

ANY = {"query": "up == 0", "comparison": "Any", "thresholds": [{"severity": "Critical"}]}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("1d", timedelta(days=1)),
        ("1w", timedelta(weeks=1)),
        ("1y", timedelta(days=365)),
        ("1h4m5s6ms", timedelta(hours=1, minutes=4, seconds=5, milliseconds=6)),
        ("90s", timedelta(seconds=90)),
    ],
)
def test_prometheus_durations_parse(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["1d1w", "1d12h", "d", "1.5d", "1W"])
def test_malformed_durations_are_refused(text):
    with pytest.raises(ValueError):
        parse_duration(text)


def test_any_makes_every_series_an_alert_whatever_its_value():
    spec = AlertPolicySpec.model_validate({**ANY, "for": "0s"})
    levels = fixed_levels(spec.comparison, spec.thresholds or [])
    observed = [
        Observation({"instance": name}, value, levels)
        for name, value in (("a", 0.0), ("b", 1.0), ("c", math.nan))
    ]
    now = datetime(2026, 1, 1, tzinfo=UTC)
    result = evaluate({}, observed, rules_of(spec), now)
    assert [i.state.value for i in result.instances.values()] == ["Firing"] * 3
    assert {i.severity.value for i in result.instances.values()} == {"Critical"}
    assert all(math.isnan(i.threshold) for i in result.instances.values())


@pytest.mark.parametrize(
    "spec",
    [
        {**ANY, "thresholds": [{"severity": "Critical", "value": 1}]},
        {**ANY, "thresholds": [{"severity": "Warning"}, {"severity": "Critical"}]},
        {"query": "up", "thresholds": [{"severity": "Critical"}]},
    ],
)
def test_the_model_refuses_a_value_with_any_and_none_without(spec):
    with pytest.raises(ValidationError, match="comparison Any"):
        AlertPolicySpec.model_validate(spec)


def _dry_run(kubeconfig, namespace, spec, kind="AlertPolicy"):
    obj = watchkeeper_object(kind, "prom-style", spec)
    return kubectl(
        kubeconfig,
        "apply",
        "--dry-run=server",
        "-n",
        namespace,
        "-f",
        "-",
        manifest=obj,
        check=False,
    )


@pytest.mark.cluster
def test_the_api_server_takes_prometheus_durations_and_any(kubeconfig, namespace):
    spec = {
        **ANY,
        "for": "1d",
        "keepFiringFor": "1d",
        "routing": {"repeatInterval": "1w"},
    }
    accepted = _dry_run(kubeconfig, namespace, spec)
    assert accepted.returncode == 0, accepted.stderr
    band = {
        "query": "rate(x[5m])",
        "adaptive": {
            "window": "1w",
            "step": "1h",
            "deviations": [{"severity": "Warning", "value": 3}],
        },
    }
    accepted = _dry_run(kubeconfig, namespace, band)
    assert accepted.returncode == 0, accepted.stderr


@pytest.mark.cluster
@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({**ANY, "for": "2d"}, "must be at least 0s and at most 24h"),
        ({**ANY, "routing": {"repeatInterval": "2w"}}, "must be at least 1s and at most 168h"),
        ({**ANY, "thresholds": [{"severity": "Critical", "value": 1}]}, "comparison Any"),
        (
            {**ANY, "thresholds": [{"severity": "Warning"}, {"severity": "Critical"}]},
            "comparison Any",
        ),
        ({"query": "up", "thresholds": [{"severity": "Critical"}]}, "comparison Any"),
        (
            {
                "query": "x",
                "adaptive": {
                    "window": "1h",
                    "step": "1d",
                    "deviations": [{"severity": "Warning", "value": 3}],
                },
            },
            "step must be shorter than window",
        ),
    ],
)
def test_the_api_server_refuses_what_the_model_refuses(kubeconfig, namespace, spec, message):
    refused = _dry_run(kubeconfig, namespace, spec)
    assert refused.returncode != 0
    assert message in refused.stderr
