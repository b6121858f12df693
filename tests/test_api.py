"""The pydantic models: examples parse, invalid objects fail with the field named."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st
from pydantic import ValidationError

from tests.invalid_objects import INVALID
from watchkeeper.api import KINDS
from watchkeeper.api.common import describe_validation_error, parse_duration, secret_refs

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
    assert spec.to_api()  # and round-trips to the API form


@pytest.mark.parametrize(("case", "obj", "field"), INVALID, ids=[c for c, _, _ in INVALID])
def test_models_reject_what_the_crd_rejects(case: str, obj: dict, field: str) -> None:
    with pytest.raises(ValidationError) as caught:
        SPECS[obj["kind"]].model_validate(obj["spec"])
    assert describe_validation_error(caught.value)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("30s", 30), ("5m", 300), ("1h30m", 5400), ("0s", 0), ("250ms", 0.25), ("2h0m5s", 7205)],
)
def test_parse_duration(text: str, expected: float) -> None:
    assert parse_duration(text) == timedelta(seconds=expected)


@pytest.mark.parametrize("text", ["", "5", "m", "5 m", "1m1h", "-5s", "1d", "5min"])
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
