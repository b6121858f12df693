"""``watchkeeper history``: what the operator recorded about its alerts, read back from a
Prometheus that scrapes the operator (its `watchkeeper_alert` series and transition
counters), as a timeline and per-policy statistics."""

from __future__ import annotations

import argparse
import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from watchkeeper.api.common import parse_duration


def history_text(report: dict[str, Any]) -> str:
    from watchkeeper.backtest.report import spoken

    w = report["window"]
    lines = [f"History of namespace {report['namespace']}, {w['from']} .. {w['to']}"]
    for policy in report["policies"]:
        s = policy["summary"]
        lines += ["", f"AlertPolicy {policy['policy']}:"]
        for span in policy["timeline"]:
            until = span["to"] or "(still)"
            labels = ", ".join(f'{k}="{v}"' for k, v in sorted(span["labels"].items()))
            lines.append(
                f"  {span['from']} .. {until:<27} {span['state']:<8} {span['severity']:<9} "
                f"{span['alert']} {{{labels}}}"
            )
        mean, longest = s["meanTimeToResolveSeconds"], s["longestTimeToResolveSeconds"]
        counted = s["firedCountedByOperator"]
        lines.append(
            f"  fired {s['fired']} times"
            + (f" (the operator counted {counted})" if counted is not None else "")
            + f", firing for {spoken(s['firingSeconds'])} in all"
            + (f", {s['stillFiring']} still firing" if s["stillFiring"] else "")
        )
        if mean is not None:
            lines.append(f"  time to resolve: mean {spoken(mean)}, longest {spoken(longest)}")
    if not report["policies"]:
        lines += ["", "(no alert was pending or firing)"]
    for failed in report["failedQueries"]:
        lines.append(f"query failed {failed['from']} .. {failed['to']}: {failed['error']}")
    return "\n".join(lines) + "\n"


def _history(args: argparse.Namespace) -> int:
    from watchkeeper.backtest.timeline import history_report
    from watchkeeper.prometheus.ranges import RangeReader

    try:
        end = datetime.now(UTC)
        start = end - parse_duration(args.since)
    except ValueError as error:
        print(f"watchkeeper history: {error}", file=sys.stderr)
        return 2
    reader = RangeReader(args.prometheus)
    report = history_report(reader, args.namespace, args.policy, start, end)
    if args.plot:
        from watchkeeper.backtest.plot import history_plot

        history_plot(Path(args.plot), report)
    if args.output == "json":
        sys.stdout.write(json.dumps(report, indent=2) + "\n")
    elif args.output == "yaml":
        sys.stdout.write(yaml.safe_dump(report, sort_keys=False))
    else:
        sys.stdout.write(history_text(report))
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    history = commands.add_parser(
        "history", help="alert history, from a Prometheus that scrapes the operator"
    )
    history.add_argument("policy", nargs="?", default=None, help="one AlertPolicy (default: all)")
    history.add_argument("--namespace", "-n", default="default", help="the policies' namespace")
    history.add_argument("--since", default="7d", help="how far back (default 7d)")
    history.add_argument(
        "--prometheus",
        default=os.environ.get("WATCHKEEPER_PROMETHEUS_URL", "http://localhost:9090"),
        help="the Prometheus that scrapes the operator (env WATCHKEEPER_PROMETHEUS_URL)",
    )
    history.add_argument("--plot", default=None, help="draw the timeline to this PNG")
    history.add_argument("--output", "-o", choices=("text", "json", "yaml"), default="text")
    history.set_defaults(handler=_history)
