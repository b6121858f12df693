"""The committed CRDs are exactly what the models generate, and they are structural."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml

from watchkeeper.api import KINDS
from watchkeeper.api.crdgen import crd
from watchkeeper.cli import render_crds

ROOT = Path(__file__).resolve().parent.parent
GENERATED = render_crds()


@pytest.mark.parametrize("directory", ["crds", "charts/watchkeeper/crds"])
def test_committed_crds_match_the_models(directory: str) -> None:
    committed = {p.name: p.read_text() for p in (ROOT / directory).glob("*.yaml")}
    assert committed == GENERATED, f"{directory} drifted: run `make crds`"


def test_committed_reference_matches_the_models() -> None:
    from watchkeeper.api.reference import reference

    assert (ROOT / "docs" / "reference.md").read_text() == reference(KINDS), "run `make crds`"


def test_readme_limits_table_matches_the_models() -> None:
    from watchkeeper.api.reference import limits_table

    assert limits_table(KINDS) in (ROOT / "README.md").read_text(), "copy it from docs/reference.md"


def _walk(node: dict[str, Any], path: str):
    yield path, node
    for name, prop in node.get("properties", {}).items():
        yield from _walk(prop, f"{path}.{name}")
    if isinstance(node.get("items"), dict):
        yield from _walk(node["items"], f"{path}[]")
    if isinstance(node.get("additionalProperties"), dict):
        yield from _walk(node["additionalProperties"], f"{path}{{}}")


@pytest.mark.parametrize("kind", KINDS, ids=lambda k: k.kind)
def test_schema_is_structural_and_documented(kind) -> None:
    schema = crd(kind)["spec"]["versions"][0]["schema"]["openAPIV3Schema"]
    assert "$ref" not in yaml.safe_dump(schema)
    for path, node in _walk(schema, kind.kind):
        typed = "type" in node or node.get("x-kubernetes-int-or-string") is True
        assert typed, f"{path} has no type"
        assert "anyOf" not in node and "allOf" not in node, path
        if path.count(".") >= 2 and not path.endswith("{}") and not path.endswith("[]"):
            assert node.get("description"), f"{path} has no description (kubectl explain)"


def test_every_kind_is_in_the_watchkeeper_category_with_unique_short_names() -> None:
    seen: set[str] = set()
    for kind in KINDS:
        names = crd(kind)["spec"]["names"]
        assert names["categories"] == ["watchkeeper"]
        assert "ep" not in names["shortNames"], "ep belongs to Endpoints"
        assert not seen & set(names["shortNames"])
        seen |= set(names["shortNames"])


def test_alert_printer_columns() -> None:
    from watchkeeper.api import ALERT

    columns = [c["name"] for c in crd(ALERT)["spec"]["versions"][0]["additionalPrinterColumns"]]
    assert columns[:6] == ["Severity", "State", "Value", "Policy", "Ack", "Age"]
