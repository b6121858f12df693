"""``watchkeeper ack``: acknowledge an Alert."""

from __future__ import annotations

import argparse
import asyncio
import getpass
from pathlib import Path

from kubernetes import config

from watchkeeper.cli.errors import CommandError

IN_CLUSTER_NAMESPACE = Path("/var/run/secrets/kubernetes.io/serviceaccount/namespace")


def context_namespace() -> str:
    """The namespace kubectl would use: the kubeconfig's current context's, else the Pod's
    own inside a cluster, else ``default``."""
    try:
        _, active = config.list_kube_config_contexts()  # type: ignore[no-untyped-call]
    except config.ConfigException:
        if IN_CLUSTER_NAMESPACE.is_file():
            return IN_CLUSTER_NAMESPACE.read_text().strip()
        return "default"
    namespace: str = (active.get("context") or {}).get("namespace") or "default"
    return namespace


def _ack(args: argparse.Namespace) -> int:
    from watchkeeper.kube.alerts import AlertStore
    from watchkeeper.kube.calls import KubeRejected
    from watchkeeper.kube.client import Kube

    namespace = args.namespace or context_namespace()
    store = AlertStore(Kube.connect().api_client)
    acknowledgement = {"by": args.by, "comment": args.comment}
    try:
        asyncio.run(
            store.patch(namespace, args.name, {"spec": {"acknowledgement": acknowledgement}})
        )
    except KubeRejected as error:
        if error.status != 404:
            raise
        raise CommandError(
            f"no Alert {args.name!r} in namespace {namespace!r}: "
            f"list them with `kubectl get alerts -n {namespace}` (or pass -n NAMESPACE)"
        ) from None
    print(f"alert {args.name} in {namespace} acknowledged by {args.by}")
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ack = commands.add_parser("ack", help="acknowledge an Alert")
    ack.add_argument("name", help="the Alert's name (kubectl get alerts)")
    ack.add_argument(
        "--namespace",
        "-n",
        default=None,
        help="its namespace (default: the kubeconfig context's, as for kubectl)",
    )
    ack.add_argument("--by", default=getpass.getuser(), help="who acknowledges (default: you)")
    ack.add_argument("--comment", default="", help="why, or what is being done")
    ack.set_defaults(handler=_ack)
