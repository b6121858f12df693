"""The ``watchkeeper`` command: run the operator, write the CRDs, acknowledge alerts.

Each subcommand lives in a module of its own with a ``register(commands)`` function;
``COMMANDS`` lists them in the order ``--help`` shows them. A subcommand signals what the
user must fix by raising (``CommandError`` or a Kubernetes error); ``main`` turns that
into one line on stderr and exit code 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from watchkeeper.cli import ack, backtest, crds, dev, history, imports, run, silence
from watchkeeper.cli.crds import render_crds
from watchkeeper.cli.errors import explain

COMMANDS = (run, ack, silence, backtest, history, imports, crds, dev)

__all__ = ["build_parser", "main", "render_crds"]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="watchkeeper",
        description="Watchkeeper: Prometheus alerts, notifications, escalations and scaling.",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    for command in COMMANDS:
        command.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        code: int = args.handler(args)
    except KeyboardInterrupt:
        return 130
    except Exception as error:
        message = explain(error)
        if message is None:
            raise
        print(f"watchkeeper {args.command}: {message}", file=sys.stderr)
        return 1
    return code
