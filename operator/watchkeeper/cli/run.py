"""``watchkeeper run``: run the operator."""

from __future__ import annotations

import argparse
import os

from watchkeeper.api.common import parse_duration
from watchkeeper.api.destinations import DestinationPolicy
from watchkeeper.engine.sharding import Shard
from watchkeeper.kube.access import ReferencePolicy
from watchkeeper.runtime.config import OperatorConfig


def _positive_duration(text: str) -> float:
    """A command-line duration in seconds; at least one second."""
    try:
        seconds = parse_duration(text).total_seconds()
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None
    if seconds < 1:
        raise argparse.ArgumentTypeError(f"{text} is shorter than 1s")
    return seconds


def _run(args: argparse.Namespace) -> int:
    from watchkeeper.handlers.runner import run_operator
    from watchkeeper.runtime.memory import limit_malloc_arenas

    limit_malloc_arenas()  # before any thread exists

    try:
        destinations = DestinationPolicy.from_flags(args.allow_destination, args.deny_destination)
        shard = Shard(args.shard, args.shards)
    except ValueError as error:
        args.parser.error(str(error))
    config = OperatorConfig(
        prometheus_url=args.prometheus_url,
        recheck_interval=args.recheck_interval,
        namespaces=tuple(args.namespace),
        liveness_endpoint=args.liveness,
        metrics_port=args.metrics_port,
        metrics_address=args.metrics_address,
        max_concurrent_jobs=args.max_concurrent_jobs,
        max_prometheus_queries=args.max_prometheus_queries,
        leader_elect=args.leader_elect,
        lease_namespace=args.lease_namespace,
        shard=shard,
        alert_retention=args.alert_retention,
        silence_retention=args.silence_retention,
        status_heartbeat=args.status_heartbeat,
        destinations=destinations,
        template_timeout=args.template_timeout,
        reference_policy=ReferencePolicy(args.reference_policy),
    )
    run_operator(config, verbose=args.verbose, log_format=args.log_format)
    return 0


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = commands.add_parser("run", help="run the operator")
    scope = run.add_mutually_exclusive_group()
    scope.add_argument(
        "--namespace", "-n", action="append", default=[], help="watch this namespace (repeatable)"
    )
    scope.add_argument(
        "--all-namespaces", "-A", action="store_true", help="watch every namespace (default)"
    )
    run.add_argument(
        "--prometheus-url",
        default=os.environ.get("WATCHKEEPER_PROMETHEUS_URL", "http://localhost:9090"),
        help="operator-wide Prometheus URL (env WATCHKEEPER_PROMETHEUS_URL)",
    )
    run.add_argument(
        "--recheck-interval",
        type=_positive_duration,
        default=os.environ.get("WATCHKEEPER_RECHECK_INTERVAL", "30s"),
        help="how often references (Secrets, channels, targets) are checked again",
    )
    run.add_argument(
        "--liveness", default=None, help="liveness endpoint, e.g. http://0.0.0.0:8080/healthz"
    )
    run.add_argument(
        "--alert-retention",
        type=_positive_duration,
        default=os.environ.get("WATCHKEEPER_ALERT_RETENTION", "24h"),
        help="how long resolved Alerts stay visible before they are deleted",
    )
    run.add_argument(
        "--silence-retention",
        type=_positive_duration,
        default=os.environ.get("WATCHKEEPER_SILENCE_RETENTION", "120h"),
        help="how long expired Silences stay visible before they are deleted "
        "(Alertmanager's --data.retention default)",
    )
    run.add_argument(
        "--status-heartbeat",
        type=_positive_duration,
        default=os.environ.get("WATCHKEEPER_STATUS_HEARTBEAT", "5m"),
        help="refresh unchanged status (values, last evaluation) at most this often",
    )
    run.add_argument(
        "--metrics-port",
        type=int,
        default=None,
        help="serve /metrics, /healthz and /readyz on this port",
    )
    run.add_argument("--metrics-address", default="0.0.0.0", help="the address to serve them on")
    run.add_argument(
        "--max-concurrent-jobs",
        type=int,
        default=int(os.environ.get("WATCHKEEPER_MAX_CONCURRENT_JOBS", "64")),
        help="evaluations, scaling and checks running at once (the rest queue)",
    )
    run.add_argument(
        "--max-prometheus-queries",
        type=int,
        default=int(os.environ.get("WATCHKEEPER_MAX_PROMETHEUS_QUERIES", "32")),
        help="queries in flight to Prometheus at once (the rest wait in the operator)",
    )
    run.add_argument(
        "--leader-elect",
        action="store_true",
        default=os.environ.get("WATCHKEEPER_LEADER_ELECT", "") == "true",
        help="several replicas: one leads (a Lease), the others stand by and take over",
    )
    run.add_argument(
        "--lease-namespace",
        default=os.environ.get("POD_NAMESPACE", "default"),
        help="namespace of the leader-election Lease (default: env POD_NAMESPACE)",
    )
    run.add_argument(
        "--shards",
        type=int,
        default=int(os.environ.get("WATCHKEEPER_SHARDS", "1")),
        help="split the namespaces over this many shards (hash of the namespace name); "
        "each shard runs its own replicas, with its own Lease",
    )
    run.add_argument(
        "--shard",
        type=int,
        default=int(os.environ.get("WATCHKEEPER_SHARD", "0")),
        help="the shard this replica carries, 0 .. --shards - 1",
    )
    run.add_argument(
        "--allow-destination",
        action="append",
        default=[],
        metavar="CIDR",
        help="allow requests (webhooks, Prometheus) to this range (repeatable); link-local "
        "(169.254.0.0/16, fe80::/10) and cloud metadata addresses are refused by default",
    )
    run.add_argument(
        "--deny-destination",
        action="append",
        default=[],
        metavar="CIDR",
        help="refuse requests to this range (repeatable)",
    )
    run.add_argument(
        "--template-timeout",
        type=float,
        default=1.0,
        help="seconds one render of a user template may take",
    )
    run.add_argument(
        "--reference-policy",
        choices=[p.value for p in ReferencePolicy],
        default=os.environ.get("WATCHKEEPER_REFERENCE_POLICY", ReferencePolicy.LABEL.value),
        help="label (default): use only Secrets labelled watchkeeper.io/allow-reference=true "
        "and scale targets labelled watchkeeper.io/allow-scaling=true; any: trust every "
        "namespace user with every Secret and workload of their namespace",
    )
    run.add_argument(
        "--log-format",
        choices=("text", "json"),
        default=os.environ.get("WATCHKEEPER_LOG_FORMAT", "text"),
        help="text lines, or one JSON object a line with the object and a correlation id "
        "per evaluation (env WATCHKEEPER_LOG_FORMAT)",
    )
    run.add_argument("--verbose", "-v", action="store_true", help="debug logging")
    run.set_defaults(handler=_run, parser=run)
