"""Self-contained kubeconfig files (certificates embedded) for the local cluster."""

import base64
from pathlib import Path

import yaml

from devenv.certs import CertPair

CONTEXT = "watchkeeper-local"


def write_kubeconfig(
    path: Path, *, server: str, ca_cert: Path, client: CertPair, user: str
) -> Path:
    """Write a kubeconfig for ``user`` authenticating with the ``client`` certificate."""
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [
            {
                "name": CONTEXT,
                "cluster": {"server": server, "certificate-authority-data": _b64(ca_cert)},
            }
        ],
        "users": [
            {
                "name": user,
                "user": {
                    "client-certificate-data": _b64(client.cert),
                    "client-key-data": _b64(client.key),
                },
            }
        ],
        "contexts": [{"name": CONTEXT, "context": {"cluster": CONTEXT, "user": user}}],
        "current-context": CONTEXT,
    }
    path.touch(mode=0o600)
    path.write_text(yaml.safe_dump(config, sort_keys=False))
    return path


def _b64(path: Path) -> str:
    return base64.b64encode(path.read_bytes()).decode("ascii")
