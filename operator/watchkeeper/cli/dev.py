"""``watchkeeper dev``: drive the metrics exporter of ``make dev`` from the command line.

``make dev`` prints ``export WATCHKEEPER_DEV_EXPORTER=http://127.0.0.1:PORT``; then
``watchkeeper dev set queue_length=50 --label queue=orders`` sets a gauge that its
Prometheus scrapes, so an AlertPolicy or ScalingPolicy has something to act on.
"""

from __future__ import annotations

import argparse
import os

import httpx

from watchkeeper.cli.errors import CommandError

EXPORTER_ENV = "WATCHKEEPER_DEV_EXPORTER"


def _assignment(text: str) -> tuple[str, float]:
    name, equals, value = text.partition("=")
    try:
        number = float(value)
    except ValueError:
        number = None
    if not (name and equals) or number is None:
        raise argparse.ArgumentTypeError(f"{text!r}: write NAME=NUMBER, e.g. queue_length=50")
    return name, number


def _label(text: str) -> tuple[str, str]:
    name, equals, value = text.partition("=")
    if not (name and equals):
        raise argparse.ArgumentTypeError(f"{text!r}: write NAME=VALUE, e.g. queue=orders")
    return name, value


def _exporter(args: argparse.Namespace) -> str:
    if not args.exporter:
        raise CommandError(
            f"no exporter: start `make dev` and paste the `export {EXPORTER_ENV}=...` line "
            "it prints (or pass --exporter URL)"
        )
    return str(args.exporter).rstrip("/")


def _send(args: argparse.Namespace, method: str, name: str, body: dict[str, object]) -> None:
    url = f"{_exporter(args)}/series/{name}"
    try:
        response = httpx.request(method, url, json=body, timeout=5)
    except httpx.HTTPError as error:
        raise CommandError(
            f"cannot reach the dev exporter at {_exporter(args)} ({type(error).__name__}): "
            f"is `make dev` running, and is {EXPORTER_ENV} the URL it printed?"
        ) from None
    if response.status_code != 204:
        raise CommandError(f"the dev exporter refused {name}: {response.text}")


def _set(args: argparse.Namespace) -> int:
    labels = dict(args.label)
    for name, value in args.assignments:
        _send(args, "PUT", name, {"value": value, "labels": labels})
        print(f"{name}{_format(labels)} = {value:g}")
    return 0


def _unset(args: argparse.Namespace) -> int:
    labels = dict(args.label)
    for name in args.names:
        _send(args, "DELETE", name, {"labels": labels})
        print(f"{name}{_format(labels)} removed")
    return 0


def _format(labels: dict[str, str]) -> str:
    return "{" + ",".join(f'{k}="{v}"' for k, v in labels.items()) + "}" if labels else ""


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dev = commands.add_parser("dev", help="set metrics in the local `make dev` environment")
    actions = dev.add_subparsers(dest="action", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--exporter",
        default=os.environ.get(EXPORTER_ENV),
        help=f"the exporter `make dev` printed (env {EXPORTER_ENV})",
    )
    common.add_argument(
        "--label",
        "-l",
        type=_label,
        action="append",
        default=[],
        help="a label of the series, NAME=VALUE (repeatable)",
    )
    set_parser = actions.add_parser("set", parents=[common], help="set gauges: NAME=NUMBER ...")
    set_parser.add_argument("assignments", nargs="+", type=_assignment, metavar="NAME=NUMBER")
    set_parser.set_defaults(handler=_set)
    unset = actions.add_parser("unset", parents=[common], help="stop exposing gauges: NAME ...")
    unset.add_argument("names", nargs="+", metavar="NAME")
    unset.set_defaults(handler=_unset)
