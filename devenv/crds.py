"""Install the project's CustomResourceDefinitions with kubectl and wait until served."""

import json
import subprocess
from pathlib import Path

from devenv.binaries import kubectl_binary
from devenv.errors import DevEnvError
from devenv.net import poll

CRD_PREFIX = "customresourcedefinition."


def apply_crds(kubeconfig: Path, crd_dir: Path, timeout: float = 60.0) -> list[str]:
    """Server-side apply every ``*.yaml``/``*.yml`` in ``crd_dir``; wait for Established.

    Returns the applied CRDs as kubectl names (``customresourcedefinition.../NAME``).
    """
    manifests = sorted(p for p in crd_dir.iterdir() if p.suffix in {".yaml", ".yml"})
    crds: list[str] = []
    for manifest in manifests:
        applied = kubectl(
            kubeconfig,
            "apply",
            "--server-side",
            "--field-manager=watchkeeper-devenv",
            "--output=name",
            f"--filename={manifest}",
        )
        crds += [name for name in applied.split() if name.startswith(CRD_PREFIX)]
    wait_established(kubeconfig, crds, timeout)
    return crds


def wait_established(kubeconfig: Path, crds: list[str], timeout: float = 60.0) -> None:
    """Poll until every CRD in ``crds`` (``crd/NAME`` or bare names) is Established=True.

    ``kubectl wait --for=condition=Established`` cannot be used: a CRD read before the API
    server's establishing controller has run carries ``status.conditions: null``, and kubectl
    fails on that instead of waiting.
    """
    pending = list(crds)

    def all_established() -> bool:
        pending[:] = [crd for crd in pending if not _established(kubeconfig, crd)]
        return not pending

    if not poll(all_established, timeout, interval=0.2):
        raise DevEnvError(f"not Established within {timeout:g}s: {', '.join(pending)}")


def _established(kubeconfig: Path, crd: str) -> bool:
    name = crd if "/" in crd else f"crd/{crd}"
    status = json.loads(kubectl(kubeconfig, "get", name, "--output=json")).get("status") or {}
    return any(
        condition.get("type") == "Established" and condition.get("status") == "True"
        for condition in status.get("conditions") or []
    )


def kubectl(kubeconfig: Path, *args: str) -> str:
    """Run kubectl against ``kubeconfig``; return its stdout, raise with its stderr."""
    argv = [str(kubectl_binary()), f"--kubeconfig={kubeconfig}", *args]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise DevEnvError(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stderr}")
    return result.stdout
