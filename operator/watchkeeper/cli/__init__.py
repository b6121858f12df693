"""The ``watchkeeper`` command: run the operator, write the CRDs, acknowledge alerts.

Each subcommand lives in a module of its own with a ``register(commands)`` function;
``COMMANDS`` lists them in the order ``--help`` shows them.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from watchkeeper.cli import ack, crds, run, silence
from watchkeeper.cli.crds import render_crds

COMMANDS = (run, ack, silence, crds)

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
    code: int = args.handler(args)
    return code
