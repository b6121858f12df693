"""Every metric the operator serves on /metrics is documented in the README's metrics table
with its type and labels."""

from __future__ import annotations

import re

import httpx
import pytest

from tests.helm import ROOT

pytestmark = pytest.mark.cluster

ROW = re.compile(r"^\| `(watchkeeper_\w+)` \| (\w+) \|([^|]*)\| [^|]+ \|$", re.MULTILINE)
SAMPLE = re.compile(r"^(watchkeeper_\w+)(?:\{(.*)\})? ", re.MULTILINE)
SUFFIXES = ("", "_bucket", "_sum", "_count", "_created")


def _documented() -> dict[str, tuple[str, set[str], bool]]:
    """name: (type, labels, whether the series' own labels come too)."""
    rows = ROW.findall((ROOT / "README.md").read_text())
    return {
        name: (kind, set(re.findall(r"`(\w+)`", labels)), "own labels" in labels)
        for name, kind, labels in rows
    }


def test_every_served_metric_is_in_the_readme(operator) -> None:
    text = httpx.get(operator.metrics_url, timeout=10).text
    served = dict(re.findall(r"^# TYPE (watchkeeper_\w+) (\w+)$", text, re.MULTILINE))
    served = {
        name: kind
        for name, kind in served.items()
        if not (
            name.endswith("_created")  # the client's creation timestamps of counters etc.
            and {name.removesuffix("_created"), name.replace("_created", "_total")} & served.keys()
        )
    }
    documented = _documented()
    assert served.keys() <= documented.keys(), f"undocumented: {served.keys() - documented.keys()}"
    for name, kind in served.items():
        assert documented[name][0] == kind, name
    for name, labels in SAMPLE.findall(text):
        [base] = {
            candidate
            for suffix in SUFFIXES
            if name.endswith(suffix)
            for stem in [name.removesuffix(suffix) if suffix else name]
            for candidate in (stem, f"{stem}_total")
            if candidate in documented
        }
        seen = {pair.split("=", 1)[0] for pair in labels.split(",") if pair} - {"le"}
        _, promised, series_labels_too = documented[base]
        assert (promised <= seen) if series_labels_too else (seen == promised), (name, seen)
