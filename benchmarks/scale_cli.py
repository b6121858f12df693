"""The scale benchmark's command line (``python -m benchmarks.scale --help``)."""

from __future__ import annotations

import argparse
from pathlib import Path

from watchkeeper.api.common import parse_duration


def _counts(text: str) -> list[int]:
    return [int(part) for part in text.split(",") if part.strip()]


def _seconds(text: str) -> float:
    """``30s``, ``3m``, or a bare number of seconds."""
    try:
        return float(text)
    except ValueError:
        return parse_duration(text).total_seconds()


def build_parser(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scale", description=description)
    parser.add_argument(
        "--policies", type=_counts, default=None, help="AlertPolicy counts, e.g. 500,1000"
    )
    parser.add_argument(
        "--scaling", type=_counts, default=None, help="ScalingPolicy counts, e.g. 1000"
    )
    parser.add_argument(
        "--interval", type=_seconds, default=30.0, help="AlertPolicy evaluationInterval (30s)"
    )
    parser.add_argument(
        "--scaling-interval", type=_seconds, default=15.0, help="ScalingPolicy interval (15s)"
    )
    parser.add_argument("--window", type=_seconds, default=180.0, help="steady window (3m)")
    parser.add_argument(
        "--scrape-every",
        type=_seconds,
        default=30.0,
        help="scrape the operator's /metrics this often in the window (30s, as the chart's "
        "ServiceMonitor does)",
    )
    parser.add_argument(
        "--first-eval-timeout", type=_seconds, default=None, help="default: 4 intervals + 60 s"
    )
    parser.add_argument(
        "--namespaces",
        type=int,
        default=None,
        help="spread the objects over this many (default 1; with --shards N, 8 x N)",
    )
    parser.add_argument(
        "--shards",
        type=int,
        default=1,
        help="run N operator processes (--shards N --shard i), summed in the table",
    )
    parser.add_argument(
        "--firing", type=float, default=0.1, help="fraction of policies that breach"
    )
    parser.add_argument(
        "--pods-per-workload",
        type=int,
        default=1,
        help="Running and Ready pods per Deployment (1, as its replicas: 1): what the "
        "HPA's ready-pod count reads, through the pod watch",
    )
    parser.add_argument("--probes", type=int, default=10, help="ScalingPolicies whose metric jumps")
    parser.add_argument("--create-threads", type=int, default=8, help="parallel creates")
    parser.add_argument(
        "--operator-arg", action="append", default=[], help="extra `watchkeeper run` argument"
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="py-spy the operator during each window (costs some CPU; if py-spy is installed)",
    )
    parser.add_argument(
        "--breakdown",
        action="store_true",
        help="time the evaluation's layers inside the operator (benchmarks/breakdown)",
    )
    parser.add_argument(
        "--workdir", type=Path, default=None, help="keep logs here (default: a temp dir)"
    )
    return parser
