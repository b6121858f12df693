"""``watchkeeper ack``: acknowledge an Alert."""

from __future__ import annotations

import argparse
import asyncio
import getpass


def _ack(args: argparse.Namespace) -> int:
    from watchkeeper.kube.alerts import AlertStore
    from watchkeeper.kube.client import Kube

    store = AlertStore(Kube.connect().api_client)
    acknowledgement = {"by": args.by, "comment": args.comment}
    asyncio.run(
        store.patch(args.namespace, args.name, {"spec": {"acknowledgement": acknowledgement}})
    )
    print(f"alert {args.name} acknowledged by {args.by}")
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    ack = commands.add_parser("ack", help="acknowledge an Alert")
    ack.add_argument("name", help="the Alert's name (kubectl get alerts)")
    ack.add_argument("--namespace", "-n", default="default", help="its namespace")
    ack.add_argument("--by", default=getpass.getuser(), help="who acknowledges (default: you)")
    ack.add_argument("--comment", default="", help="why, or what is being done")
    ack.set_defaults(handler=_ack)
