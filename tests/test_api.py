"""The pydantic models: examples parse, invalid objects fail with the field named."""

from __future__ import annotations

import math
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.invalid_objects import INVALID
from watchkeeper.api import KINDS
from watchkeeper.api.common import (
    DURATION_PATTERN,
    Duration,
    describe_validation_error,
    parse_duration,
    secret_refs,
)
from watchkeeper.api.crdgen import model_schema

ROOT = Path(__file__).resolve().parent.parent
SPECS = {k.kind: k.spec for k in KINDS}
EXAMPLES = [
    (path.name, doc)
    for path in sorted((ROOT / "manifests" / "examples").glob("*.yaml"))
    for doc in yaml.safe_load_all(path.read_text())
    if doc and doc.get("apiVersion") == "watchkeeper.io/v1alpha1"
]


@pytest.mark.parametrize(
    ("name", "doc"), EXAMPLES, ids=[f"{n}:{d['metadata']['name']}" for n, d in EXAMPLES]
)
def test_examples_parse(name: str, doc: dict) -> None:
    spec = SPECS[doc["kind"]].model_validate(doc.get("spec") or {})
    # and round-trips to the API form, defaults included (so defaults lie within limits)
    assert SPECS[doc["kind"]].model_validate(spec.to_api()) == spec


@pytest.mark.parametrize(("case", "obj", "field"), INVALID, ids=[c for c, _, _ in INVALID])
def test_models_reject_what_the_crd_rejects(case: str, obj: dict, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SPECS[obj["kind"]].model_validate(obj["spec"])
    message = describe_validation_error(caught.value)
    assert all(part in message for part in field.removeprefix("spec.").split(".")), message


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30s", 30), ("5m", 300), ("1h30m", 5400), ("0s", 0), ("250ms", 0.25), ("2h0m5s", 7205)],
)
def test_parse_duration(text: str, expected: float) -> None:
    assert parse_duration(text) == timedelta(seconds=expected)


@pytest.mark.parametrize("text", ["", "5", "m", "5 m", "1m1h", "-5s", "1d6h", "5min"])
def test_parse_duration_rejects(text: str) -> None:
    with pytest.raises(ValueError, match="not a duration"):
        parse_duration(text)


@given(h=st.integers(0, 99), m=st.integers(0, 59), s=st.integers(0, 59))
def test_parse_duration_sums_parts(h: int, m: int, s: int) -> None:
    assert parse_duration(f"{h}h{m}m{s}s") == timedelta(hours=h, minutes=m, seconds=s)


def test_error_names_the_field_without_the_value() -> None:
    spec = SPECS["ScalingPolicy"]
    with pytest.raises(ValidationError) as caught:
        spec.model_validate(
            {
                "targetRef": {"kind": "Deployment", "name": "web"},
                "maxReplicas": 3,
                "metrics": [{"name": "a", "query": "q", "target": {"type": "Value", "value": -7}}],
            }
        )
    message = describe_validation_error(caught.value)
    assert message.startswith("metrics[0].target.value:")
    assert "-7" not in message


def test_secret_refs_are_found_anywhere_in_a_spec() -> None:
    spec = SPECS["NotificationChannel"].model_validate(
        {
            "type": "Email",
            "email": {
                "smtp": {
                    "host": "mail",
                    "usernameSecretRef": {"name": "smtp", "key": "user"},
                    "passwordSecretRef": {"name": "smtp", "key": "pass"},
                },
                "from": "a@b.c",
                "to": ["x@y.z"],
            },
        }
    )
    assert [(r.name, r.key) for r in secret_refs(spec)] == [("smtp", "user"), ("smtp", "pass")]


def test_durations_are_parsed_once_and_kept_as_written() -> None:
    spec = SPECS["AlertPolicy"].model_validate(
        {"query": "up", "thresholds": [{"severity": "Warning", "value": 1}], "for": "90s"}
    )
    assert isinstance(spec.for_, Duration)
    assert spec.for_.delta == timedelta(seconds=90)
    assert spec.evaluation_interval.delta == timedelta(seconds=30)  # a default, typed too
    assert spec.to_api()["for"] == "90s"


@pytest.mark.parametrize("text", ["1s", "1h", "59m59s", "1000ms"])
def test_duration_limits_are_inclusive(text: str) -> None:
    spec = SPECS["AlertPolicy"].model_validate(
        {
            "query": "up",
            "thresholds": [{"severity": "Warning", "value": 1}],
            "evaluationInterval": text,
        }
    )
    assert timedelta(seconds=1) <= spec.evaluation_interval.delta <= timedelta(hours=1)


def test_a_duration_beyond_what_go_represents_is_refused() -> None:
    with pytest.raises(ValueError, match="longer than any duration"):
        parse_duration("2562048h")
    assert parse_duration("2562047h") == timedelta(hours=2562047)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_thresholds_and_targets_are_finite(value: float) -> None:
    with pytest.raises(ValidationError) as caught:
        SPECS["AlertPolicy"].model_validate(
            {"query": "up", "thresholds": [{"severity": "Warning", "value": value}]}
        )
    assert describe_validation_error(caught.value).startswith("thresholds[0].value:")
    with pytest.raises(ValidationError) as caught:
        SPECS["ScalingPolicy"].model_validate(
            {
                "targetRef": {"kind": "Deployment", "name": "web"},
                "maxReplicas": 3,
                "metrics": [
                    {"name": "a", "query": "q", "target": {"type": "Value", "value": value}}
                ],
            }
        )
    assert describe_validation_error(caught.value).startswith("metrics[0].target.value:")


@pytest.mark.parametrize(
    "api_version", ["v1", "apps/v1", "autoscaling/v2beta2", "argoproj.io/v1alpha1", "x.y-z.io/v2"]
)
def test_scale_targets_of_any_group_and_version(api_version: str) -> None:
    spec = SPECS["ScalingPolicy"].model_validate(
        {
            "targetRef": {"apiVersion": api_version, "kind": "Rollout", "name": "web"},
            "maxReplicas": 2**31 - 1,
            "metrics": [{"name": "a", "query": "q", "target": {"type": "Value", "value": 1}}],
        }
    )
    assert spec.references()[0].api_version == api_version


def test_every_duration_field_of_every_spec_has_limits() -> None:
    """A new duration field without `Between` would be unbounded again."""

    def durations(node: dict, path: str) -> Iterator[tuple[str, dict]]:
        if node.get("pattern") == DURATION_PATTERN:
            yield path, node
        for name, prop in node.get("properties", {}).items():
            yield from durations(prop, f"{path}.{name}")
        if isinstance(node.get("items"), dict):
            yield from durations(node["items"], f"{path}[]")

    found = [(path, node) for k in KINDS for path, node in durations(model_schema(k.spec), k.kind)]
    assert len(found) >= 20
    for path, node in found:
        rules = [r["rule"] for r in node.get("x-kubernetes-validations", [])]
        assert any("duration(self)" in r for r in rules), f"{path} has no limits"
        assert "Must be " in node["description"], f"{path} does not document its limits"
