"""Scale: N AlertPolicies (or N ScalingPolicies on N Deployments) on one operator replica.

For each N, on a fresh local stack (etcd + kube-apiserver, a Prometheus scraping an
exporter every second, the operator run as ``watchkeeper run --metrics-port``):

AlertPolicies (default mode): N policies over ``--namespaces`` namespaces, each querying
its own series ``wk_scale_value{policy="p-00042"}`` (GreaterThan 5, Critical), routed to
a Log channel, evaluated every ``--interval`` (30s); ``--firing`` of them (10%) breach. The same N
expressions run side by side as one Prometheus rule group with the same interval. Then:

- first evaluation: from operator start until every policy has been evaluated once
  (``status.lastEvaluation``; t50 too);
- a steady window (``--window``): evaluations done vs. expected and their outcomes,
  scheduler lag p50/p99, missed runs, queue depth and in-flight maxima (from the
  scheduler metrics when the operator has them), operator CPU and RSS (/proc), API
  requests by verb (kube-apiserver's ``apiserver_request_total``: writes per policy per
  5 minutes, reads per evaluation, 429s), Prometheus's rule-group evaluation time for the
  same expressions (``prometheus_rule_group_duration_seconds_sum``: the group's wall
  time, which for a sequential group is its CPU time or a little more) and the ratio
  operator CPU / Prometheus rule CPU.

ScalingPolicies (``--scaling N[,N...]``): N Deployments (no controller-manager: /scale
works on spec.replicas), ``--pods-per-workload`` pods of each (1), made Running and Ready
by the benchmark as there is no kubelet, and N ScalingPolicies (AverageValue 10 of their
own series, at 10 per replica: 1 replica, nothing to do). Idle window: operator CPU, RSS,
API traffic; then ``--probes`` series jump to 30 and the time until their Deployment's
spec.replicas changes is measured (bar: one interval + 1 s; it includes up to 1 s of scrape delay).
Before the scheduler's run counter exists, evaluations are estimated from the GETs of
/scale (marked "~"; the reference re-check reads /scale too, so it over-counts).

``--shards N`` runs N operator processes (``--shards N --shard i``) against the one API
server and Prometheus, the objects spread over 8 x N namespaces (their shard is the hash
of the name, so the split is not exactly even: the run prints it); the table sums their
CPU, RSS and evaluations, the details give each process's CPU and RSS.

The benchmark itself sends no API request during a window, so the apiserver's counters
over a window are the operator's (kube-apiserver's own lease and flow-control upkeep is
left out of the write count).

Run:  .venv/bin/python -m benchmarks.scale --policies 50,100 --window 60s
      .venv/bin/python -m benchmarks.scale --policies 500,1000,2500,5000
      .venv/bin/python -m benchmarks.scale --scaling 100,1000 --scaling-interval 15s
      .venv/bin/python -m benchmarks.scale --policies 5000 --window 60s --shards 2
"""

from __future__ import annotations

import contextlib
import signal
import sys
import tempfile
import threading
import time
from collections.abc import Sequence
from functools import partial
from pathlib import Path

from kubernetes import client, watch

from benchmarks.scale_breakdown import operator_env, report
from benchmarks.scale_cli import build_parser
from benchmarks.scale_report import (
    AlertRow,
    ScalingRow,
    print_alert_table,
    print_scaling_table,
    window_stats,
)
from benchmarks.scale_stack import (
    Options,
    Stack,
    create_all,
    create_ready_pods,
    custom,
    duration_text,
    first_evaluations,
    manifest,
    namespaces,
    start_up_tail,
    steady_window,
)
from watchkeeper.kube.access import ALLOW_SCALING_LABEL

VALUE_METRIC, LOAD_METRIC = "wk_scale_value", "wk_scale_load"
THRESHOLD, LOW, HIGH = 5.0, 1.0, 10.0
LOAD_TARGET, LOAD_IDLE, LOAD_HIGH = 10.0, 10.0, 30.0
PROBE_LABEL = "bench.watchkeeper.io/probe"


# --- AlertPolicies --------------------------------------------------------------------


def policy_name(i: int) -> str:
    return f"p-{i:05d}"


BREAKDOWN = "breakdown.jsonl"
"""The operator's in-process timings (--breakdown), in the run's directory."""


def run_alerts(n: int, options: Options) -> AlertRow:
    workdir = options.workdir / f"alerts-{n}"
    print(
        f"\n== {n} AlertPolicies (interval {options.interval:g} s), logs in {workdir}", flush=True
    )
    firing_every = max(1, round(1 / options.firing)) if options.firing > 0 else 0
    env = operator_env("AlertPolicy", workdir / BREAKDOWN) if options.breakdown else None
    with Stack(workdir, options.operator_args, options.shards, env).running() as stack:
        assert stack.api is not None and stack.prometheus is not None
        firing = 0
        for i in range(n):
            hot = firing_every and i % firing_every == 0
            firing += bool(hot)
            stack.exporter.set(VALUE_METRIC, HIGH if hot else LOW, {"policy": policy_name(i)})
        stack.prometheus.wait_for_scrape(timeout=60)
        exprs = [f'{VALUE_METRIC}{{policy="{policy_name(i)}"}}' for i in range(n)]
        stack.prometheus.set_rule_file(
            "bench",
            {
                "groups": [
                    {
                        "name": "watchkeeper-scale",
                        "interval": duration_text(options.interval),
                        "rules": [
                            {"alert": f"P{i:05d}", "expr": f"{expr} > {THRESHOLD:g}"}
                            for i, expr in enumerate(exprs)
                        ],
                    }
                ]
            },
        )
        api = stack.api
        spaces = namespaces(api, options.namespaces, options.shards)
        channel = {"type": "Log", "log": {"level": "INFO"}}
        log_channel = manifest("NotificationChannel", "log", channel)
        create_all(
            options.create_threads,
            [partial(custom, api, ns, "notificationchannels", log_channel) for ns in spaces],
            "Log channels",
        )

        def create_policy(i: int) -> object:
            spec = {
                "query": exprs[i],
                "comparison": "GreaterThan",
                "thresholds": [{"severity": "Critical", "value": THRESHOLD}],
                "evaluationInterval": duration_text(options.interval),
                "routing": {"channels": ["log"]},
            }
            body = manifest("AlertPolicy", policy_name(i), spec)
            return custom(api, spaces[i % len(spaces)], "alertpolicies", body)

        create_all(
            options.create_threads,
            [partial(create_policy, i) for i in range(n)],
            "AlertPolicies",
        )

        started_wall = time.time()
        stack.start_operators()
        print(f"  operator up (liveness) after {time.time() - started_wall:.1f} s", flush=True)
        timeout = options.first_eval_timeout or 4 * options.interval + 60
        first = first_evaluations(stack, n, started_wall, timeout, "alertpolicies")
        print(f"  every object evaluated once: {first.describe()}", flush=True)
        start_up_tail(stack, n + firing, timeout)  # the policies and their new Alerts
        before, after, samples = steady_window(stack, options)
        stats = window_stats(before, after, samples, kind="AlertPolicy")
        if options.breakdown:
            report(workdir / BREAKDOWN, int(stats.runs or 0))
        log = stack.operator_log()
        stack.stop_operators()
        log_after = stack.operator_log()
    expected = n * options.window / options.interval
    return AlertRow(
        n=n,
        shards=options.shards,
        firing=firing,
        first=first,
        expected=expected,
        stats=stats,
        window=options.window,
        tracebacks=log.count("Traceback"),
        unprocessed_streams="Unprocessed streams" in log_after,
    )


# --- ScalingPolicies ------------------------------------------------------------------


def deployment_name(i: int) -> str:
    return f"d-{i:05d}"


def run_scaling(n: int, options: Options) -> ScalingRow:
    workdir = options.workdir / f"scaling-{n}"
    interval = options.extra["scaling_interval"]
    print(
        f"\n== {n} ScalingPolicies on {n} Deployments (interval {interval:g} s), logs in {workdir}"
    )
    probes = sorted(
        {i * n // max(1, min(options.probes, n)) for i in range(min(options.probes, n))}
    )
    env = operator_env("ScalingPolicy", workdir / BREAKDOWN) if options.breakdown else None
    with Stack(workdir, options.operator_args, options.shards, env).running() as stack:
        assert stack.api is not None and stack.prometheus is not None
        for i in range(n):
            stack.exporter.set(LOAD_METRIC, LOAD_IDLE, {"target": deployment_name(i)})
        stack.prometheus.wait_for_scrape(timeout=60)
        api = stack.api
        spaces = namespaces(api, options.namespaces, options.shards)
        apps = client.AppsV1Api(stack.api)

        def create_deployment(i: int) -> object:
            labels = {"app": deployment_name(i)}
            opt_in = {ALLOW_SCALING_LABEL: "true"}  # README "Security model"
            meta = client.V1ObjectMeta(
                name=deployment_name(i),
                labels={**opt_in, PROBE_LABEL: "true"} if i in probes else opt_in,
            )
            body = client.V1Deployment(
                metadata=meta,
                spec=client.V1DeploymentSpec(
                    replicas=1,
                    selector=client.V1LabelSelector(match_labels=labels),
                    template=client.V1PodTemplateSpec(
                        metadata=client.V1ObjectMeta(labels=labels),
                        spec=client.V1PodSpec(
                            containers=[
                                client.V1Container(name="app", image="registry.invalid/app")
                            ]
                        ),
                    ),
                ),
            )
            return apps.create_namespaced_deployment(spaces[i % len(spaces)], body)

        def create_policy(i: int) -> object:
            spec = {
                "targetRef": {
                    "apiVersion": "apps/v1",
                    "kind": "Deployment",
                    "name": deployment_name(i),
                },
                "minReplicas": 1,
                "maxReplicas": 10,
                "metrics": [
                    {
                        "name": "load",
                        "query": f'{LOAD_METRIC}{{target="{deployment_name(i)}"}}',
                        "target": {"type": "AverageValue", "value": LOAD_TARGET},
                    }
                ],
                "evaluationInterval": duration_text(interval),
            }
            body = manifest("ScalingPolicy", deployment_name(i), spec)
            return custom(api, spaces[i % len(spaces)], "scalingpolicies", body)

        create_all(
            options.create_threads,
            [partial(create_deployment, i) for i in range(n)],
            "Deployments",
        )
        workloads = [(spaces[i % len(spaces)], deployment_name(i)) for i in range(n)]
        create_ready_pods(options, api, workloads)
        create_all(
            options.create_threads,
            [partial(create_policy, i) for i in range(n)],
            "ScalingPolicies",
        )

        started_wall = time.time()
        stack.start_operators()
        timeout = options.first_eval_timeout or 4 * interval + 60
        first = first_evaluations(stack, n, started_wall, timeout, "scalingpolicies")
        print(f"  every object evaluated once: {first.describe()}", flush=True)
        start_up_tail(stack, n, timeout)
        before, after, samples = steady_window(stack, options)
        stats = window_stats(before, after, samples, kind="ScalingPolicy")
        if options.breakdown:
            report(workdir / BREAKDOWN, int(stats.runs or 0))
        reactions = react(stack, apps, probes, timeout=interval * 3 + 10)
        log = stack.operator_log()
    return ScalingRow(
        n=n,
        shards=options.shards,
        interval=interval,
        first=first,
        expected=n * options.window / interval,
        stats=stats,
        window=options.window,
        reactions=reactions,
        probes=len(probes),
        tracebacks=log.count("Traceback"),
    )


def react(
    stack: Stack, apps: client.AppsV1Api, probes: Sequence[int], timeout: float
) -> list[float]:
    """Raise the probes' load; seconds until each Deployment's spec.replicas changes."""
    names = {deployment_name(i) for i in probes}
    listed = apps.list_deployment_for_all_namespaces(label_selector=f"{PROBE_LABEL}=true")
    changed: dict[str, float] = {}
    done = threading.Event()
    stream = watch.Watch()  # type: ignore[no-untyped-call]
    started = 0.0

    def follow() -> None:
        for event in stream.stream(  # type: ignore[no-untyped-call]
            apps.list_deployment_for_all_namespaces,
            label_selector=f"{PROBE_LABEL}=true",
            resource_version=listed.metadata.resource_version if listed.metadata else None,
            timeout_seconds=int(timeout) + 5,
        ):
            deployment = event["object"]
            name = deployment.metadata.name
            if started and name in names and name not in changed and deployment.spec.replicas != 1:
                changed[name] = time.monotonic() - started
                if len(changed) == len(names):
                    break
        done.set()

    follower = threading.Thread(target=follow, name="watch-deployments", daemon=True)
    follower.start()
    time.sleep(1.0)  # the watch is established
    started = time.monotonic()
    for name in names:
        stack.exporter.set(LOAD_METRIC, LOAD_HIGH, {"target": name})
    done.wait(timeout)
    stream.stop()  # type: ignore[no-untyped-call]
    return sorted(changed.values())


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser(__doc__.split("\n")[0])
    args = parser.parse_args(argv)
    if args.breakdown and args.shards > 1:
        parser.error("--breakdown times one operator process: use it without --shards")
    # SIGTERM unwinds like Ctrl-C, so every child is stopped by its PID on the way out.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    if args.policies is None and args.scaling is None:
        args.policies = [500, 1000, 2500, 5000]
    modes = [("--interval", args.interval, args.policies)]
    modes.append(("--scaling-interval", args.scaling_interval, args.scaling))
    for name, interval, counts in modes:
        if counts and args.window % interval:
            print(
                f"note: the window ({args.window:g} s) is not a multiple of {name} "
                f"({interval:g} s): policies that all run on one instant (an epoch-aligned "
                "grid) then show more or fewer evaluations than expected"
            )
    with contextlib.ExitStack() as stack:
        workdir = args.workdir or Path(
            stack.enter_context(tempfile.TemporaryDirectory(prefix="wk-scale-"))
        )
        options = Options(
            interval=args.interval,
            window=args.window,
            namespaces=args.namespaces or (8 * args.shards if args.shards > 1 else 1),
            firing=args.firing,
            first_eval_timeout=args.first_eval_timeout,
            operator_args=args.operator_arg,
            workdir=workdir,
            shards=args.shards,
            create_threads=args.create_threads,
            probes=args.probes,
            scrape_every=args.scrape_every,
            profile=args.profile,
            breakdown=args.breakdown,
            pods_per_workload=args.pods_per_workload,
            extra={"scaling_interval": args.scaling_interval},
        )
        alert_rows: list[AlertRow] = []
        for n in args.policies or []:
            alert_rows.append(run_alerts(n, options))
            print_alert_table(alert_rows[-1:], details=True)
        scaling_rows: list[ScalingRow] = []
        for n in args.scaling or []:
            scaling_rows.append(run_scaling(n, options))
            print_scaling_table(scaling_rows[-1:], details=True)
        print()
        if alert_rows:
            print_alert_table(alert_rows, details=False)
        if scaling_rows:
            print_scaling_table(scaling_rows, details=False)
    return 0


if __name__ == "__main__":
    sys.exit(main())
