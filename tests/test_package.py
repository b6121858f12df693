"""The image's contents without Docker: the wheel `pip wheel` builds, installed into a clean
venv together with exactly the hashed dependencies of requirements.lock (as the Dockerfile
does), runs `watchkeeper run --help` and `watchkeeper crds` from outside the checkout."""

from __future__ import annotations

import re
import subprocess
import sys
import tomllib
from pathlib import Path

from tests.helm import ROOT

LOCK = ROOT / "requirements.lock"
DOCKERFILE = ROOT / "Dockerfile"


def _run(*argv: str | Path, cwd: Path) -> str:
    result = subprocess.run(
        [str(a) for a in argv], cwd=cwd, capture_output=True, text=True, timeout=600
    )
    assert result.returncode == 0, f"{argv}: {result.stdout[-2000:]}{result.stderr[-2000:]}"
    return result.stdout


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _locked() -> dict[str, str]:
    return dict(re.findall(r"^([a-z0-9][a-z0-9._-]*)==(\S+) \\$", LOCK.read_text(), re.MULTILINE))


def test_the_lock_pins_every_dependency_with_hashes() -> None:
    locked = _locked()
    declared = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["dependencies"]
    for requirement in declared:
        name, version = requirement.split("==")
        assert locked.get(name.lower()) == version, f"{requirement}: run make lock"
    blocks = re.split(r"\n(?=[a-z0-9])", LOCK.read_text().split("\n\n", 1)[-1])
    assert all("--hash=sha256:" in block for block in blocks if "==" in block)


def test_dockerfile_is_multi_stage_locked_non_root_and_labelled() -> None:
    text = DOCKERFILE.read_text()
    assert len(re.findall(r"^FROM ", text, re.MULTILINE)) == 2
    assert "--require-hashes" in text and "requirements.lock" in text
    [user] = re.findall(r"^USER (\S+)$", text, re.MULTILINE)
    assert user.split(":")[0] not in ("0", "root")
    for label in ("title", "version", "revision", "created", "licenses", "source"):
        assert f"org.opencontainers.image.{label}=" in text
    assert "PYTHONDONTWRITEBYTECODE=1" in text  # nothing written under a read-only root


def test_wheel_runs_from_a_clean_venv(tmp_path: Path) -> None:
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "-w",
        tmp_path,
        ROOT,
        cwd=tmp_path,
    )
    [wheel] = tmp_path.glob("watchkeeper-*.whl")
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", venv, cwd=tmp_path)
    pip = venv / "bin" / "pip"
    _run(
        pip,
        "install",
        "--quiet",
        "--require-hashes",
        "--only-binary=:all:",
        "-r",
        LOCK,
        cwd=tmp_path,
    )
    _run(pip, "install", "--quiet", "--no-deps", wheel, cwd=tmp_path)
    help_text = _run(venv / "bin" / "watchkeeper", "run", "--help", cwd=tmp_path)
    assert "--log-format" in help_text and "--prometheus-url" in help_text
    crds = _run(venv / "bin" / "watchkeeper", "crds", cwd=tmp_path)
    assert "name: alertpolicies.watchkeeper.io" in crds
    where = _run(
        venv / "bin" / "python",
        "-c",
        "import watchkeeper; print(watchkeeper.__file__)",
        cwd=tmp_path,
    )
    assert where.startswith(str(venv))  # the wheel's copy, not the checkout's
    installed = _run(pip, "list", "--format=freeze", cwd=tmp_path)
    names = {_normal(line.split("==")[0]) for line in installed.splitlines()}
    assert names - {"pip", "setuptools", "watchkeeper"} <= {_normal(n) for n in _locked()}
