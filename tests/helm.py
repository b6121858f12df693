"""The pinned helm binary (built by hack/build-helm.sh) and the chart rendered with it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "charts" / "watchkeeper"
HELM_VERSION = "v4.3.2"
CACHE = Path(os.environ.get("WATCHKEEPER_CACHE", Path.home() / ".cache" / "watchkeeper"))


def helm_binary() -> Path | None:
    """The pinned helm from the cache, else one on PATH, else None."""
    built = CACHE / "helm" / HELM_VERSION / "helm"
    if built.is_file():
        return built
    found = shutil.which("helm")
    return Path(found) if found else None


HELM = helm_binary()
needs_helm = pytest.mark.skipif(
    HELM is None,
    reason="no helm binary: run hack/build-helm.sh (builds the pinned helm into the cache)",
)


def helm(*args: str, check: bool = True) -> subprocess.CompletedProcess[str]:
    assert HELM is not None
    result = subprocess.run(
        [str(HELM), *args], capture_output=True, text=True, timeout=120, env={**os.environ}
    )
    if check and result.returncode != 0:
        raise AssertionError(f"helm {' '.join(args)} failed: {result.stderr}")
    return result


def values_args(values: dict[str, Any] | None, tmp: Path) -> list[str]:
    if not values:
        return []
    path = tmp / "values.yaml"
    path.write_text(yaml.safe_dump(values))
    return ["-f", str(path)]


def template(
    tmp: Path,
    values: dict[str, Any] | None = None,
    release: str = "watchkeeper",
    namespace: str = "watchkeeper",
) -> list[dict[str, Any]]:
    """The chart's objects as `helm template` renders them."""
    out = helm("template", release, str(CHART), "-n", namespace, *values_args(values, tmp))
    return [doc for doc in yaml.safe_load_all(out.stdout) if doc]


def objects(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [doc for doc in docs if doc["kind"] == kind]
