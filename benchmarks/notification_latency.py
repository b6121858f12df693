"""Notification latency: metric over threshold -> webhook receiver, classic stack vs Watchkeeper.

One run, one exporter, one Prometheus scraping it every second, two alerting paths:

(a) classic: Prometheus evaluates the rule ``wk_latency > 5`` (``for: 0s``, group interval
    1s) and sends to a real Alertmanager (Debian's ``prometheus-alertmanager``) whose only
    route has ``group_wait`` as low as it accepts (0s, else 1ms, else 1s),
    ``group_interval`` 1s and a webhook receiver;
(b) Watchkeeper: a local control plane with the CRDs, the operator
    (``WATCHKEEPER_RECHECK_INTERVAL=1s``), an AlertPolicy ``query: wk_latency``,
    GreaterThan 5 (Critical), ``evaluationInterval: 1s``, routed to a Webhook
    NotificationChannel (rate limit raised so that no round is held back).

Each round sets the metric low, waits until both sides are resolved and quiet, waits a
random 0-1 s (so that T0 falls at a random phase of the scrape and evaluation grids), sets
the metric high at T0 and records when each receiver gets its firing notification. A
warm-up round (default 1) is shown but left out of the statistics.

Run: .venv/bin/python -m benchmarks.notification_latency [ROUNDS] [--warmup N]
"""

from __future__ import annotations

import argparse
import contextlib
import random
import signal
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, cast

import httpx
from kubernetes import client
from kubernetes import config as kube_config

from devenv.alertmanager import LocalAlertmanager
from devenv.binaries import REPO_ROOT
from devenv.cluster import LocalCluster
from devenv.crds import apply_crds
from devenv.errors import DevEnvError
from devenv.exporter import MetricsExporter
from devenv.net import LOOPBACK
from devenv.operator import OperatorProcess
from devenv.prometheus import LocalPrometheus
from tests.receivers import HttpReceiver, Recorded
from watchkeeper.api.timestamps import parse_time

METRIC = "wk_latency"
THRESHOLD = 5.0
LOW, HIGH = 1.0, 10.0
ALERT_NAME = "WkLatency"
NAMESPACE = "bench"
POLICY, CHANNEL = "latency", "hook"
GROUP = "watchkeeper.io"
VERSION = "v1alpha1"
GROUP_WAITS = ("0s", "1ms", "1s")  # the lowest Alertmanager accepts is used
ROUND_TIMEOUT = 60.0  # seconds for a firing notification to arrive
QUIET_TIMEOUT = 120.0  # seconds for both sides to resolve and fall silent
QUIET_FOR = 2.0  # seconds without any request before a round starts


class TunedAlertmanager(LocalAlertmanager):
    """devenv's Alertmanager with a chosen ``group_wait`` (the helper hard-codes 0s)."""

    def __init__(self, workdir: Path, webhook_url: str, group_wait: str) -> None:
        super().__init__(workdir, webhook_url)
        self.group_wait = group_wait

    def _config(self) -> dict[str, Any]:
        config = super()._config()
        config["route"]["group_wait"] = self.group_wait
        return config


@dataclass(frozen=True)
class Round:
    """One measurement, in seconds after T0 (None: not found in Prometheus / the Alert).

    ``scraped``: the first scrape that saw the high value (shared by both stacks);
    ``*_eval``: the evaluation instant that found it (Prometheus's rule group, the
    AlertPolicy's tick); ``classic``/``watchkeeper``: the firing webhook's arrival.
    """

    t0: float
    scraped: float | None
    classic_eval: float | None
    classic: float
    watchkeeper_eval: float | None
    watchkeeper: float

    def columns(self) -> list[float | None]:
        return [
            self.scraped,
            self.classic_eval,
            self.classic,
            self.watchkeeper_eval,
            self.watchkeeper,
        ]


HEADER = (
    f"{'':>8} {'':>8}   {'classic':^17}   {'watchkeeper':^17}\n"
    f"{'round':>8} {'scraped':>8}   {'eval':>8} {'webhook':>8}   {'eval':>8} {'webhook':>8}"
)


def start_alertmanager(workdir: Path, webhook_url: str) -> TunedAlertmanager:
    """Start with the lowest group_wait that Alertmanager accepts."""
    errors: list[str] = []
    for group_wait in GROUP_WAITS:
        manager = TunedAlertmanager(workdir / f"gw-{group_wait}", webhook_url, group_wait)
        try:
            manager.start()
        except DevEnvError as error:
            manager.stop()
            errors.append(f"group_wait {group_wait}: {error}")
            continue
        return manager
    raise DevEnvError("Alertmanager accepted none of the group_wait values:\n" + "\n".join(errors))


def rule_group() -> dict[str, Any]:
    return {
        "groups": [
            {
                "name": "bench",
                "interval": "1s",
                "rules": [{"alert": ALERT_NAME, "expr": f"{METRIC} > {THRESHOLD:g}", "for": "0s"}],
            }
        ]
    }


def watchkeeper_objects(webhook_url: str) -> list[tuple[str, dict[str, Any]]]:
    """(plural, body) of the channel and the policy."""
    channel = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "NotificationChannel",
        "metadata": {"name": CHANNEL},
        "spec": {
            "type": "Webhook",
            "webhook": {"url": webhook_url},
            "rateLimit": {"max": 1000, "per": "1m"},
        },
    }
    policy = {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": "AlertPolicy",
        "metadata": {"name": POLICY},
        "spec": {
            "query": METRIC,
            "comparison": "GreaterThan",
            "thresholds": [{"severity": "Critical", "value": THRESHOLD}],
            "evaluationInterval": "1s",
            "routing": {"channels": [CHANNEL]},
        },
    }
    return [("notificationchannels", channel), ("alertpolicies", policy)]


def wait_until(what: str, check: Callable[[], bool], timeout: float, interval: float = 0.1) -> None:
    """Poll ``check`` until true; raise TimeoutError naming ``what`` after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise TimeoutError(f"after {timeout:g} s: {what}")
        time.sleep(interval)


class Bench:
    """The running components and the per-round logic."""

    def __init__(
        self,
        exporter: MetricsExporter,
        prometheus: LocalPrometheus,
        alertmanager: LocalAlertmanager,
        custom: client.CustomObjectsApi,
        classic_receiver: HttpReceiver,
        watchkeeper_receiver: HttpReceiver,
    ) -> None:
        self.exporter = exporter
        self.prometheus = prometheus
        self.alertmanager = alertmanager
        self.custom = custom
        self.receivers = {"classic": classic_receiver, "watchkeeper": watchkeeper_receiver}

    def watchkeeper_alerts(self) -> list[dict[str, Any]]:
        listed = cast(
            "dict[str, Any]",
            self.custom.list_namespaced_custom_object(
                GROUP, VERSION, NAMESPACE, "alerts", label_selector=f"{GROUP}/policy={POLICY}"
            ),
        )
        found: list[dict[str, Any]] = listed["items"]
        return found

    def quiet(self) -> bool:
        """Nothing firing anywhere, every receiver's last word 'resolved', and silence."""
        now = time.time()
        for receiver in self.receivers.values():
            if receiver.requests:
                last = receiver.requests[-1]
                if status(last) != "resolved" or now - last.time < QUIET_FOR:
                    return False
        if self.prometheus.query(f'ALERTS{{alertname="{ALERT_NAME}"}}'):
            return False
        if self.alertmanager.alerts(alertname=ALERT_NAME):
            return False
        return all(
            (a.get("status") or {}).get("state") == "Resolved" for a in self.watchkeeper_alerts()
        )

    def first_firing(self, name: str, since: float) -> float | None:
        for request in list(self.receivers[name].requests):
            if request.time >= since and status(request) == "firing":
                return request.time
        return None

    def first_sample(self, selector: str, since: float, value: float) -> float | None:
        """The timestamp of the first sample of ``selector`` at or after ``since`` equal
        to ``value`` (a scrape's timestamp is its start; an ALERTS sample's is the rule
        group's evaluation instant)."""
        stamps = [
            float(stamp)
            for series in self.prometheus.query(f"{selector}[{ROUND_TIMEOUT + 30:g}s]")
            for stamp, sample in series["values"]
            if float(stamp) >= since and float(sample) == value
        ]
        return min(stamps, default=None)

    def watchkeeper_fired_at(self) -> float | None:
        """The evaluation tick at which the policy's alert last started firing."""
        found = [
            (a.get("status") or {}).get("firingSince")
            for a in self.watchkeeper_alerts()
            if (a.get("status") or {}).get("state") == "Firing"
        ]
        stamps = [parse_time(text).timestamp() for text in found if text]
        return max(stamps, default=None)

    def round(self) -> Round:
        self.exporter.set(METRIC, LOW)
        wait_until("both stacks resolved and quiet", self.quiet, QUIET_TIMEOUT, 0.25)
        time.sleep(random.uniform(0.0, 1.0))
        t0 = time.time()
        self.exporter.set(METRIC, HIGH)
        arrived: dict[str, float] = {}

        def both_fired() -> bool:
            for name in self.receivers:
                if name not in arrived and (at := self.first_firing(name, t0)) is not None:
                    arrived[name] = at
            return len(arrived) == len(self.receivers)

        wait_until("a firing notification at both receivers", both_fired, ROUND_TIMEOUT, 0.02)
        # Both evaluations come before their webhooks: ALERTS and the Alert are written.
        scraped = self.first_sample(METRIC, t0, HIGH)
        rule_fired = self.first_sample(
            f'ALERTS{{alertname="{ALERT_NAME}",alertstate="firing"}}', t0, 1.0
        )
        policy_fired = self.watchkeeper_fired_at()

        def since_t0(moment: float | None) -> float | None:
            return None if moment is None or moment < t0 else moment - t0

        return Round(
            t0=t0,
            scraped=since_t0(scraped),
            classic_eval=since_t0(rule_fired),
            classic=arrived["classic"] - t0,
            watchkeeper_eval=since_t0(policy_fired),
            watchkeeper=arrived["watchkeeper"] - t0,
        )


def status(request: Recorded) -> str | None:
    """The webhook body's ``status`` (both stacks send Alertmanager's webhook format)."""
    try:
        body = request.json()
    except ValueError:
        return None
    return body.get("status") if isinstance(body, dict) else None


def percentile(values: Sequence[float], q: float) -> float:
    """The q-th percentile (0-100), linear between closest ranks."""
    ordered = sorted(values)
    position = (len(ordered) - 1) * q / 100
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def prepare_watchkeeper(kubeconfig: Path, webhook_url: str) -> client.CustomObjectsApi:
    """Create the namespace, the channel and the policy; wait until the policy is Ready."""
    api = kube_config.new_client_from_config(config_file=str(kubeconfig))  # type: ignore[no-untyped-call]
    client.CoreV1Api(api).create_namespace(
        client.V1Namespace(metadata=client.V1ObjectMeta(name=NAMESPACE))
    )
    custom = client.CustomObjectsApi(api)
    for plural, body in watchkeeper_objects(webhook_url):
        custom.create_namespaced_custom_object(GROUP, VERSION, NAMESPACE, plural, body)

    def policy_ready() -> bool:
        policy = cast(
            "dict[str, Any]",
            custom.get_namespaced_custom_object(GROUP, VERSION, NAMESPACE, "alertpolicies", POLICY),
        )
        conditions = (policy.get("status") or {}).get("conditions") or []
        return any(c["type"] == "Ready" and c["status"] == "True" for c in conditions)

    wait_until("the AlertPolicy Ready", policy_ready, 60.0, 0.25)
    return custom


def alertmanager_discovered(prometheus: LocalPrometheus) -> bool:
    response = httpx.get(f"{prometheus.url}/api/v1/alertmanagers", timeout=5.0)
    return bool(response.json()["data"]["activeAlertmanagers"])


def run(rounds: int, warmup: int, keep: Path | None) -> list[Round]:
    """Start everything, measure ``warmup + rounds`` rounds, stop everything; print rows.

    Logs and data go to ``keep`` if given (left there), else to a temporary directory.
    """
    with contextlib.ExitStack() as outer:
        if keep is None:
            workdir = Path(outer.enter_context(tempfile.TemporaryDirectory(prefix="wk-bench-")))
        else:
            workdir = keep
            workdir.mkdir(parents=True, exist_ok=True)
        # Entered last, so it exits first: every process stops before the directory goes.
        stack = outer.enter_context(contextlib.ExitStack())
        classic_receiver = stack.enter_context(HttpReceiver())
        watchkeeper_receiver = stack.enter_context(HttpReceiver())
        alertmanager = start_alertmanager(
            workdir / "alertmanager", f"{classic_receiver.url}/alertmanager"
        )
        stack.callback(alertmanager.stop)
        exporter = stack.enter_context(MetricsExporter())
        exporter.set(METRIC, LOW)
        alerting = {
            "alertmanagers": [
                {"static_configs": [{"targets": [f"{LOOPBACK}:{alertmanager.port}"]}]}
            ]
        }
        prometheus = LocalPrometheus(
            workdir / "prometheus", exporter.address, extra_config={"alerting": alerting}
        )
        stack.callback(prometheus.stop)
        prometheus.start()
        prometheus.set_rule_file("bench", rule_group())
        prometheus.wait_for_scrape(timeout=60.0)
        wait_until(
            "Prometheus to find Alertmanager", lambda: alertmanager_discovered(prometheus), 30.0
        )

        cluster = LocalCluster(workdir / "cluster")
        stack.callback(cluster.stop)
        cluster.start()
        apply_crds(cluster.kubeconfig, REPO_ROOT / "crds")
        operator = OperatorProcess(
            kubeconfig=cluster.kubeconfig,
            prometheus_url=prometheus.url,
            log_path=workdir / "watchkeeper.log",
            env={"WATCHKEEPER_RECHECK_INTERVAL": "1s"},
        )
        stack.callback(operator.stop)
        operator.start()
        custom = prepare_watchkeeper(cluster.kubeconfig, f"{watchkeeper_receiver.url}/watchkeeper")

        bench = Bench(
            exporter, prometheus, alertmanager, custom, classic_receiver, watchkeeper_receiver
        )
        group_wait = alertmanager.group_wait
        print(
            "Seconds after T0 (metric set above the threshold): 'scraped' the first scrape "
            "that saw it, 'eval' the evaluation that found it, 'webhook' the firing "
            "notification's arrival.\n"
            "Both totals include up to 1 s to the next scrape (scrape_interval 1s) and up to "
            "1 s to the next evaluation (rule group interval / evaluationInterval 1s); classic "
            f"adds Prometheus -> Alertmanager and group_wait {group_wait} (group_interval 1s); "
            "Watchkeeper adds writing the Alert to the API server and the notifier round.\n",
            flush=True,
        )
        print(HEADER, flush=True)
        measured: list[Round] = []
        for index in range(warmup + rounds):
            result = bench.round()
            label = "warm-up" if index < warmup else str(index - warmup + 1)
            print(row(label, result.columns()), flush=True)
            if index >= warmup:
                measured.append(result)
        return measured


def row(label: str, values: Sequence[float | None]) -> str:
    cells = ["-" if v is None else f"{v:.3f}" for v in values]
    return f"{label:>8} {cells[0]:>8}   {cells[1]:>8} {cells[2]:>8}   {cells[3]:>8} {cells[4]:>8}"


def summarize(measured: Sequence[Round]) -> None:
    """Median and p90 per column; the part after evaluation; the grid phases of the run."""
    columns = list(zip(*(r.columns() for r in measured), strict=True))
    for name, q in (("median", 50.0), ("p90", 90.0)):
        values = [
            percentile(known, q) if (known := [v for v in column if v is not None]) else None
            for column in columns
        ]
        print(row(name, values))
    for stack, evaluated, arrived in (
        ("classic", [r.classic_eval for r in measured], [r.classic for r in measured]),
        ("watchkeeper", [r.watchkeeper_eval for r in measured], [r.watchkeeper for r in measured]),
    ):
        after = [a - e for a, e in zip(arrived, evaluated, strict=True) if e is not None]
        if after:
            print(
                f"{stack:>11}: evaluation -> webhook median {statistics.median(after):.3f} s, "
                f"max {max(after):.3f} s"
            )
    last = measured[-1]
    phases = [
        ("scrape", last.scraped),
        ("rule group", last.classic_eval),
        ("AlertPolicy", last.watchkeeper_eval),
    ]
    offsets = ", ".join(f"{n} {(last.t0 + v) % 1:.3f}" for n, v in phases if v is not None)
    print(
        f"Grid phases of this run (s past each whole second): {offsets}. They are fixed for a "
        "run (Prometheus hashes the target and the rule group; AlertPolicies tick on whole "
        "seconds), so the difference between the two totals depends on them; "
        "'evaluation -> webhook' does not."
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.notification_latency", description=__doc__
    )
    parser.add_argument("rounds", nargs="?", type=int, default=10, help="measured rounds")
    parser.add_argument("--warmup", type=int, default=1, help="unmeasured rounds first")
    parser.add_argument(
        "--workdir", type=Path, help="keep logs and data here (default: a temporary directory)"
    )
    args = parser.parse_args(argv)
    if args.rounds < 1 or args.warmup < 0:
        parser.error("rounds must be at least 1 and --warmup at least 0")
    # SIGTERM takes the same path as Ctrl-C, so every process is still stopped.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        measured = run(args.rounds, args.warmup, args.workdir)
    except KeyboardInterrupt:
        print("\nnotification_latency: interrupted", file=sys.stderr)
        return 130
    summarize(measured)
    return 0


if __name__ == "__main__":
    sys.exit(main())
