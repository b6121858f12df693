"""Install the project's CustomResourceDefinitions with kubectl and wait until served."""

import subprocess
from pathlib import Path

from devenv.binaries import kubectl_binary
from devenv.errors import DevEnvError

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
    if crds:
        kubectl(kubeconfig, "wait", "--for=condition=Established", f"--timeout={timeout:g}s", *crds)
    return crds


def kubectl(kubeconfig: Path, *args: str) -> str:
    """Run kubectl against ``kubeconfig``; return its stdout, raise with its stderr."""
    argv = [str(kubectl_binary()), f"--kubeconfig={kubeconfig}", *args]
    result = subprocess.run(argv, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise DevEnvError(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stderr}")
    return result.stdout
