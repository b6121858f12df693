"""The local stack of one ``benchmarks.scale`` run and what it reads from it.

With ``shards > 1`` it runs that many operator processes (``--shards N --shard i``)
against the one API server and Prometheus; their /metrics are summed (counters, histogram
buckets, gauges) and their /proc samples kept per process."""

from __future__ import annotations

import contextlib
import time
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import Any, cast

import httpx
from kubernetes import client
from kubernetes import config as kube_config

from benchmarks.scale_breakdown import mark
from benchmarks.scale_profile import start_profile, summarize
from benchmarks.scale_report import FirstEvaluation, Snapshot, operator_runs
from devenv.binaries import REPO_ROOT
from devenv.cluster import LocalCluster
from devenv.crds import apply_crds
from devenv.exporter import MetricsExporter
from devenv.metrics import Samples, scrape
from devenv.net import poll
from devenv.operator import OperatorProcess
from devenv.procstat import ProcessSample, sample
from devenv.prometheus import LocalPrometheus
from watchkeeper.api.timestamps import parse_time
from watchkeeper.engine.sharding import namespace_shard

GROUP, VERSION = "watchkeeper.io", "v1alpha1"
CRD_DIR = REPO_ROOT / "crds"


@dataclass
class Options:
    interval: float
    window: float
    namespaces: int
    firing: float
    first_eval_timeout: float | None
    operator_args: list[str]
    workdir: Path
    shards: int
    create_threads: int
    probes: int
    sample_every: float = 5.0
    """How often the window samples the operator's /proc (RSS)."""
    scrape_every: float = 30.0
    """How often the window scrapes the operator's /metrics: the chart's ServiceMonitor
    interval, so the exposition costs what it costs in production."""
    profile: bool = False
    breakdown: bool = False
    pods_per_workload: int = 1
    extra: dict[str, Any] = field(default_factory=dict)


class Stack:
    """Exporter, Prometheus, control plane and operator(s) of one run; all stopped on exit."""

    def __init__(
        self,
        workdir: Path,
        operator_args: Sequence[str],
        shards: int = 1,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.workdir = workdir
        self.operator_env = dict(env or {})
        self.exporter = MetricsExporter()
        self.cluster = LocalCluster(workdir / "cluster")
        self.operator_args = list(operator_args)
        self.shards = shards
        self.prometheus: LocalPrometheus | None = None
        self.operators: list[OperatorProcess] = []
        self.api: client.ApiClient | None = None

    @contextlib.contextmanager
    def running(self) -> Iterator[Stack]:
        with contextlib.ExitStack() as stack:
            self.exporter.start()
            stack.callback(self.exporter.stop)
            self.prometheus = LocalPrometheus(self.workdir / "prometheus", self.exporter.address)
            stack.callback(self.prometheus.stop)
            self.prometheus.start()
            stack.callback(self.cluster.stop)
            self.cluster.start()
            apply_crds(self.cluster.kubeconfig, CRD_DIR)
            configuration = client.Configuration()
            kube_config.load_kube_config(  # type: ignore[no-untyped-call]
                config_file=str(self.cluster.kubeconfig), client_configuration=configuration
            )
            configuration.connection_pool_maxsize = 32
            self.api = client.ApiClient(configuration)
            stack.callback(self.api.close)
            for index in range(self.shards):
                args, log = self.operator_args, "watchkeeper.log"
                if self.shards > 1:
                    args = [*args, "--shards", str(self.shards), "--shard", str(index)]
                    log = f"watchkeeper-shard-{index}.log"
                self.operators.append(
                    OperatorProcess(
                        kubeconfig=self.cluster.kubeconfig,
                        prometheus_url=self.prometheus.url,
                        log_path=self.workdir / log,
                        extra_args=args,
                        env=self.operator_env,
                        ready_timeout=300.0,
                    )
                )
                stack.callback(self.operators[-1].stop, 30.0)
            yield self

    def start_operators(self) -> None:
        """Start every operator process at once; return when all are live."""
        with ThreadPoolExecutor(len(self.operators), thread_name_prefix="start") as pool:
            for future in [pool.submit(o.start) for o in self.operators]:
                future.result()

    def stop_operators(self) -> None:
        for operator in self.operators:
            operator.stop(30.0)

    def operator_log(self) -> str:
        return "".join(operator.log_text() for operator in self.operators)

    def operator_samples(self) -> Samples:
        """The operators' /metrics, summed over the processes."""
        summed: Samples = {}
        for operator in self.operators:
            for key, value in _scrape_or_empty(operator.metrics_url).items():
                summed[key] = summed.get(key, 0.0) + value
        return summed

    def operator_procs(self) -> tuple[ProcessSample | None, ...]:
        return tuple(_proc(operator.pid) for operator in self.operators)

    def snapshot(self) -> Snapshot:
        assert self.prometheus is not None
        return Snapshot(
            at=time.monotonic(),
            operator=self.operator_samples(),
            apiserver=self.cluster.metrics(),
            prometheus=scrape(f"{self.prometheus.url}/metrics"),
            operator_procs=self.operator_procs(),
            prometheus_proc=_proc(self.prometheus.pid),
            apiserver_proc=_proc(self.cluster.apiserver_pid),
        )


def _proc(pid: int | None) -> ProcessSample | None:
    if pid is None:
        return None
    try:
        return sample(pid)
    except OSError:
        return None


def _scrape_or_empty(url: str) -> Samples:
    try:
        return scrape(url)
    except Exception:  # the operator's endpoint not up (yet): no samples
        return {}


def create_all(
    threads: int, calls: Sequence[Callable[[], object]], what: str, verbose: bool = True
) -> float:
    """Run the create calls on a few threads; return how long it took."""
    started = time.monotonic()
    with ThreadPoolExecutor(threads, thread_name_prefix="create") as pool:
        for future in [pool.submit(call) for call in calls]:
            future.result()
    took = time.monotonic() - started
    if verbose:
        print(f"  created {len(calls)} {what} in {took:.1f} s", flush=True)
    return took


def namespaces(api: client.ApiClient, count: int, shards: int = 1) -> list[str]:
    core = client.CoreV1Api(api)
    names = [f"bench-{i}" for i in range(count)]
    for name in names:
        core.create_namespace(client.V1Namespace(metadata=client.V1ObjectMeta(name=name)))
    if shards > 1:
        spread = Counter(namespace_shard(name, shards) for name in names)
        print(f"  namespaces per shard: {' / '.join(str(spread[i]) for i in range(shards))}")
    return names


def create_ready_pods(
    options: Options, api: client.ApiClient, workloads: Sequence[tuple[str, str]]
) -> None:
    """`options.pods_per_workload` Running and Ready pods of each (namespace, name)
    Deployment, labelled ``app=<name>`` as its selector is."""
    count = options.pods_per_workload
    calls = [
        partial(ready_pod, api, namespace, f"{name}-{k}", {"app": name})
        for namespace, name in workloads
        for k in range(count)
    ]
    create_all(options.create_threads, calls, "Running and Ready pods")


def ready_pod(api: client.ApiClient, namespace: str, name: str, labels: dict[str, str]) -> object:
    """Create a bare pod and mark it Running and Ready, as a kubelet would (there is none)."""
    core = client.CoreV1Api(api)
    container = client.V1Container(name="app", image="registry.invalid/app")
    body = client.V1Pod(
        metadata=client.V1ObjectMeta(name=name, labels=labels),
        spec=client.V1PodSpec(containers=[container]),
    )
    core.create_namespaced_pod(namespace, body)
    ready = {"type": "Ready", "status": "True"}
    status = {"status": {"phase": "Running", "conditions": [ready]}}
    return core.patch_namespaced_pod_status(name, namespace, status)


def custom(api: client.ApiClient, namespace: str, plural: str, body: dict[str, Any]) -> object:
    return client.CustomObjectsApi(api).create_namespaced_custom_object(
        GROUP, VERSION, namespace, plural, body
    )


def manifest(kind: str, name: str, spec: dict[str, Any]) -> dict[str, Any]:
    return {
        "apiVersion": f"{GROUP}/{VERSION}",
        "kind": kind,
        "metadata": {"name": name},
        "spec": spec,
    }


def duration_text(seconds: float) -> str:
    return f"{seconds:g}s"


def _sampling(stack: Stack, until: float, every: float, scrape_every: float) -> list[Snapshot]:
    """Light samples of the operator during a window: its /proc every `every` seconds, its
    /metrics every `scrape_every` seconds."""
    found: list[Snapshot] = []
    scraped = time.monotonic()
    while (now := time.monotonic()) < until:
        time.sleep(min(every, until - now))
        scrape = time.monotonic() - scraped >= scrape_every
        if scrape:
            scraped = time.monotonic()
        found.append(
            Snapshot(
                time.monotonic(),
                stack.operator_samples() if scrape else {},
                {},
                {},
                stack.operator_procs(),
                None,
                None,
            )
        )
    return found


def _describe_exposition(urls: Sequence[str]) -> None:
    """How big one scrape of each operator's /metrics is and how long it takes."""
    for url in urls:
        started = time.monotonic()
        response = httpx.get(url, timeout=30.0)
        elapsed = time.monotonic() - started
        lines = response.text.splitlines()
        series = sum(1 for line in lines if line and not line.startswith("#"))
        print(
            f"  operator /metrics: {series} series, {len(response.content) / 1024:.0f} KiB, "
            f"{elapsed * 1000:.0f} ms per scrape"
        )


def start_up_tail(stack: Stack, n: int, timeout: float) -> None:
    """Wait until `n` objects' references were checked once (their first Ready written):
    that one-off write per new object belongs to start-up, not to the steady window."""
    started = time.monotonic()
    checked = poll(
        lambda: (operator_runs(stack.operator_samples(), "Readiness") or 0) >= n,
        timeout=timeout,
        interval=1.0,
    )
    state = "done" if checked else "not done"
    print(f"  start-up tail (first Ready of all): {state} after {time.monotonic() - started:.1f} s")


def steady_window(stack: Stack, options: Options) -> tuple[Snapshot, Snapshot, list[Snapshot]]:
    print(f"  steady window of {options.window:g} s ...", flush=True)
    first = stack.operators[0]  # with shards, --profile follows shard 0's process
    assert first.pid is not None
    output = stack.workdir / "profile.txt"
    profiler = start_profile(first.pid, options.window, output) if options.profile else None
    if options.breakdown:  # one process: the command line refuses it with --shards
        mark(first.pid)
    before = stack.snapshot()
    samples = _sampling(
        stack, before.at + options.window, options.sample_every, options.scrape_every
    )
    after = stack.snapshot()
    if options.breakdown:
        mark(first.pid)
    _describe_exposition([operator.metrics_url for operator in stack.operators])
    if profiler is not None:
        poll(lambda: not profiler.running, timeout=30.0, interval=0.2)  # it writes, then exits
        profiler.stop()
        summarize(output)
    return before, after, samples


def first_evaluations(
    stack: Stack, n: int, started_wall: float, timeout: float, kind: str
) -> FirstEvaluation:
    """Poll (LIST) until every object shows an evaluation, or ``timeout`` passes.

    Per object, the first of: ``status.lastEvaluation.time``, the lastTransitionTime of a
    condition only an evaluation writes (AlertPolicy ``Evaluated``, ScalingPolicy
    ``AbleToScale``/``ScalingActive``), else the time of the LIST that first shows
    ``status.desiredReplicas``. In case status carries none of these, the operator's run
    counter reaching N/2 and N gives approximate t50 and t100 (marked "~").
    """
    assert stack.api is not None
    objects = client.CustomObjectsApi(stack.api)
    first: dict[tuple[str, str], float] = {}
    by_metrics: dict[str, float] = {}
    deadline = time.monotonic() + timeout
    period = max(2.0, n / 500)
    while time.monotonic() < deadline:
        listed = cast(dict[str, Any], objects.list_cluster_custom_object(GROUP, VERSION, kind))
        now = time.time()
        for item in listed["items"]:
            key = (item["metadata"]["namespace"], item["metadata"]["name"])
            if key not in first and (at := _evaluated_at(item.get("status") or {}, now)):
                first[key] = at - started_wall
        runs = operator_runs(stack.operator_samples(), KINDS[kind])
        for label, count in (("t50", n / 2), ("all", n)):
            if runs is not None and runs >= count and label not in by_metrics:
                by_metrics[label] = now - started_wall
        if len(first) >= n or (not first and "all" in by_metrics):
            break
        time.sleep(period)
    return FirstEvaluation(n, sorted(first.values()), timeout, by_metrics)


KINDS = {"alertpolicies": "AlertPolicy", "scalingpolicies": "ScalingPolicy"}
EVALUATION_CONDITIONS = ("Evaluated", "AbleToScale", "ScalingActive")


def _evaluated_at(status: dict[str, Any], now: float) -> float | None:
    """When (epoch seconds) an object's status says it was first evaluated."""
    if evaluated := status.get("lastEvaluation"):
        return parse_time(evaluated["time"]).timestamp()
    for condition in status.get("conditions") or []:
        if condition.get("type") in EVALUATION_CONDITIONS and condition.get("lastTransitionTime"):
            return parse_time(condition["lastTransitionTime"]).timestamp()
    if status.get("desiredReplicas") is not None:
        return now
    return None
