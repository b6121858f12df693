"""``watchkeeper backtest``: replay AlertPolicies (and ScalingPolicies) over what
Prometheus recorded, with the operator's own engine, and print what would have happened."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import yaml

from watchkeeper.api.common import parse_duration
from watchkeeper.api.timestamps import parse_time


def _window(args: argparse.Namespace) -> tuple[datetime, datetime]:
    if bool(args.start) != bool(args.end):
        raise ValueError("give both --from and --to, or neither (then --since applies)")
    if args.start:
        start, end = parse_time(args.start), parse_time(args.end)
    else:
        end = datetime.now(UTC)
        start = end - parse_duration(args.since)
    if end <= start:
        raise ValueError("the window is empty: --from must be before --to")
    return start, end


def progress_bar() -> Callable[[str, int, int], None] | None:
    """On a terminal, a line that shows how far a long window's range queries got."""
    if not sys.stderr.isatty():
        return None

    def show(expr: str, done: int, total: int) -> None:
        if total < 2:
            return
        width = 30
        bar = "#" * (width * done // total)
        label = " ".join(expr.split())[:40]
        end = "\n" if done == total else ""
        sys.stderr.write(f"\r[{bar:<{width}}] {done}/{total} {label}{end}")
        sys.stderr.flush()

    return show


def plot_path(base: str, index: int, doc: dict[str, Any]) -> Path:
    """The first policy's plot goes to `base`; the others beside it, named after them."""
    path = Path(base)
    if index == 0:
        return path
    name = str((doc.get("metadata") or {}).get("name") or index)
    return path.with_name(f"{path.stem}-{name}{path.suffix or '.png'}")


def render(reports: list[dict[str, Any]], output: str) -> str:
    """The reports as text, JSON or YAML."""
    from watchkeeper.backtest.report import alert_text
    from watchkeeper.backtest.scaling_report import scaling_text

    if output == "json":
        return json.dumps({"reports": reports}, indent=2) + "\n"
    if output == "yaml":
        return yaml.safe_dump({"reports": reports}, sort_keys=False, allow_unicode=True)
    texts = {"AlertPolicy": alert_text, "ScalingPolicy": scaling_text}
    return "\n".join(texts[r["kind"]](r) for r in reports)


def _backtest(args: argparse.Namespace) -> int:
    from watchkeeper.backtest import runs
    from watchkeeper.backtest.history import alert_answers, scaling_answers
    from watchkeeper.backtest.manifests import Bundle, ManifestError, documents
    from watchkeeper.backtest.rightsizing import rightsizing_answers
    from watchkeeper.prometheus.ranges import RangeReader

    try:
        start, end = _window(args)
        bundle = Bundle.of(documents(args.filename), args.namespace)
        if not bundle.policies:
            raise ValueError("no AlertPolicy or ScalingPolicy in the given manifests")
        reader = RangeReader(args.prometheus, progress=progress_bar())
        alerting, scaling = partial(alert_answers, reader), partial(scaling_answers, reader)
        advice = partial(rightsizing_answers, reader)
        reports = []
        for index, doc in enumerate(bundle.policies):
            plot = plot_path(args.plot, index, doc) if args.plot else None
            if doc["kind"] == "AlertPolicy":
                reports.append(
                    runs.alert_policy(doc, bundle, alerting, start, end, args.namespace, plot)
                )
            else:
                reports.append(
                    runs.scaling_policy(
                        doc, scaling, start, end, args.namespace, args.replicas, plot, advice
                    )
                )
    except (ManifestError, ValueError) as error:
        print(f"watchkeeper backtest: {error}", file=sys.stderr)
        return 2
    sys.stdout.write(render(reports, args.output))
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    backtest = commands.add_parser(
        "backtest", help="replay policies over Prometheus history with the operator's engine"
    )
    backtest.add_argument(
        "--filename",
        "-f",
        action="append",
        required=True,
        help="a manifest file, a directory of them, or - for standard input (repeatable); "
        "NotificationChannels and EscalationPolicies given too are applied",
    )
    backtest.add_argument("--since", default="24h", help="replay this far back (default 24h)")
    backtest.add_argument("--from", dest="start", default=None, help="window start (RFC 3339)")
    backtest.add_argument("--to", dest="end", default=None, help="window end (RFC 3339)")
    backtest.add_argument(
        "--prometheus",
        default=os.environ.get("WATCHKEEPER_PROMETHEUS_URL", "http://localhost:9090"),
        help="Prometheus URL (env WATCHKEEPER_PROMETHEUS_URL)",
    )
    backtest.add_argument(
        "--namespace", "-n", default="default", help="namespace of manifests that name none"
    )
    backtest.add_argument(
        "--replicas",
        type=int,
        default=None,
        help="the scaling target's replicas at the window's start (default: minReplicas)",
    )
    backtest.add_argument(
        "--plot", default=None, help="draw each policy's replay to this PNG (1000x400)"
    )
    backtest.add_argument("--output", "-o", choices=("text", "json", "yaml"), default="text")
    backtest.set_defaults(handler=_backtest)
