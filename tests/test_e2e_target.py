"""`make e2e KUBECONFIG=...` runs tests/e2e against an existing cluster: proven against a
control plane started separately from this session's own."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from devenv.cluster import LocalCluster
from tests.helm import ROOT, needs_helm

pytestmark = [pytest.mark.cluster, needs_helm]


def _make_e2e(*args: str, basetemp: Path) -> subprocess.CompletedProcess[str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("KUBECONFIG", "MAKEFLAGS", "MAKELEVEL", "MFLAGS")
    }
    return subprocess.run(
        ["make", "--no-print-directory", "e2e", *args, f"PYTEST_ARGS=-q -x --basetemp={basetemp}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=540,
    )


@pytest.mark.timeout(600)
def test_make_e2e_passes_against_a_separately_started_cluster(tmp_path: Path) -> None:
    other = LocalCluster(tmp_path / "other-cluster")
    other.start()
    try:
        result = _make_e2e(f"KUBECONFIG={other.kubeconfig}", basetemp=tmp_path / "pt")
    finally:
        other.stop()
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "2 passed" in result.stdout and "skipped" not in result.stdout


def test_make_e2e_without_a_kubeconfig_says_what_to_set(tmp_path: Path) -> None:
    result = _make_e2e(basetemp=tmp_path / "pt")
    assert result.returncode != 0
    assert "set KUBECONFIG=" in result.stdout + result.stderr
