"""What ``benchmarks.scale`` computes from two snapshots of a window, and its tables."""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import dataclass, field

from devenv.metrics import (
    ApiRequest,
    Samples,
    api_requests,
    buckets,
    delta,
    has,
    histogram_quantile,
    select,
    total,
)
from devenv.procstat import ProcessSample

MIB = 1024 * 1024
# kube-apiserver's own upkeep, not the operator's: leases (apiserver identity),
# flow-control configuration and /openapi/v3 (measured on an idle apiserver: 3 lease PUTs
# and 6 openapi GETs per 30 s).
UPKEEP_RESOURCES = frozenset({"leases"})
UPKEEP_GROUPS = frozenset({"flowcontrol.apiserver.k8s.io"})
FAILED_OUTCOMES = frozenset({"PrometheusUnavailable", "QueryRejected"})
READ_VERBS = frozenset({"GET", "LIST"})

# The scheduler metrics the runtime exports (absent before the scheduler lands).
LAG = "watchkeeper_scheduler_lag_seconds"
QUEUE = "watchkeeper_scheduler_queue_depth"
IN_FLIGHT = "watchkeeper_scheduler_in_flight"
RUNS = "watchkeeper_scheduler_runs_total"
MISSED = "watchkeeper_scheduler_missed_total"
EVALUATIONS = "watchkeeper_alert_evaluations_total"
RULE_GROUP_SECONDS = "prometheus_rule_group_duration_seconds_sum"


@dataclass(frozen=True)
class Snapshot:
    at: float
    operator: Samples
    apiserver: Samples
    prometheus: Samples
    operator_procs: tuple[ProcessSample | None, ...]  # one per operator process (shard)
    prometheus_proc: ProcessSample | None
    apiserver_proc: ProcessSample | None


@dataclass(frozen=True)
class FirstEvaluation:
    n: int
    seen: list[float]  # seconds from operator start to each object's first evaluation
    timeout: float
    by_metrics: dict[str, float] = field(default_factory=dict)  # "t50"/"all" -> seconds

    @property
    def complete(self) -> bool:
        return len(self.seen) >= self.n

    @property
    def all_s(self) -> float | None:
        return max(self.seen) if self.complete and self.seen else None

    @property
    def t50(self) -> float | None:
        return self.seen[self.n // 2] if len(self.seen) > self.n // 2 else None

    def describe(self) -> str:
        if self.complete:
            return f"{_s(self.all_s)} (t50 {_s(self.t50)})"
        if not self.seen and "all" in self.by_metrics:
            return f"~{_s(self.by_metrics['all'])} (t50 ~{_s(self.by_metrics.get('t50'))})"
        t50 = f", t50 {_s(self.t50)}" if self.t50 is not None else ""
        return f"only {len(self.seen)} of {self.n} in {self.timeout:g} s{t50}"


def operator_runs(samples: Samples, kind: str) -> float | None:
    """Evaluations so far of ``kind``: scheduler runs, else the AlertPolicy evaluation
    counter; None when the operator exports neither (yet)."""
    if has(samples, RUNS):
        return total(samples, RUNS, **_kind_filter(samples, RUNS, kind))
    if kind == "AlertPolicy" and has(samples, EVALUATIONS):
        return total(samples, EVALUATIONS)
    return None


@dataclass(frozen=True)
class WindowStats:
    seconds: float
    runs: float | None  # evaluations done (scheduler runs, else the alert evaluation counter)
    runs_estimated: bool  # runs counted from API reads (ScalingPolicies before the scheduler)
    outcomes: dict[str, float]
    failed: float
    missed: float | None
    lag_p50: float | None
    lag_p99: float | None
    queue_max: float | None
    in_flight_max: float | None
    operator_cpu: float | None  # CPU seconds in the window, all operator processes
    operator_rss: float | None  # bytes, maximum seen of the processes' sum
    operator_cpu_each: tuple[float | None, ...]  # per process (shard)
    operator_rss_each: tuple[float | None, ...]  # per process, maximum seen
    prometheus_rule_seconds: float | None
    prometheus_cpu: float | None
    apiserver_cpu: float | None
    requests: dict[ApiRequest, float] = field(default_factory=dict)

    def per_minute(self, seconds: float | None) -> float | None:
        return None if seconds is None else seconds * 60 / self.seconds

    @property
    def operator_requests(self) -> dict[ApiRequest, float]:
        return {
            r: v
            for r, v in self.requests.items()
            if v
            and r.resource not in UPKEEP_RESOURCES
            and r.group not in UPKEEP_GROUPS
            and not (not r.resource and r.subresource.startswith("openapi"))
        }

    @property
    def writes(self) -> float:
        return sum(v for r, v in self.operator_requests.items() if r.write)

    @property
    def reads(self) -> float:
        return sum(v for r, v in self.operator_requests.items() if r.verb in READ_VERBS)

    @property
    def throttled(self) -> float:
        return sum(v for r, v in self.requests.items() if r.code == "429")


def _kind_filter(samples: Samples, name: str, kind: str) -> dict[str, str]:
    """Match ``kind`` when the metric carries that label, in whatever spelling the operator
    uses (``AlertPolicy``, ``alertpolicy``, ``alertpolicies``, ``alert``...)."""
    kinds = {dict(labels)["kind"] for labels in select(samples, name) if "kind" in dict(labels)}
    if not kinds:
        return {}
    stem = kind.lower()[:5]  # "alert" / "scali"
    matching = sorted(k for k in kinds if k.lower().replace("_", "").startswith(stem))
    return {"kind": matching[0] if matching else kind}


def _failed(outcome: str) -> bool:
    """An outcome that is a failure, whatever the exact label value."""
    lowered = outcome.lower()
    return outcome in FAILED_OUTCOMES or any(
        word in lowered for word in ("fail", "error", "unavailable", "timeout", "rejected")
    )


def _cpu(before: ProcessSample | None, after: ProcessSample | None) -> float | None:
    if before is None or after is None:
        return None
    return after.cpu_seconds - before.cpu_seconds


def _peak_rss(seen: Sequence[Snapshot], process: int) -> float | None:
    values = [p.rss_bytes for s in seen if (p := s.operator_procs[process]) is not None]
    return max(values) if values else None


def window_stats(
    before: Snapshot, after: Snapshot, samples: Sequence[Snapshot], kind: str
) -> WindowStats:
    operator = delta(before.operator, after.operator)
    scheduler = has(after.operator, RUNS)
    estimated = False
    if scheduler:
        runs_filter = _kind_filter(after.operator, RUNS, kind)
        outcomes: dict[str, float] = {}
        for labels, value in select(operator, RUNS, **runs_filter).items():
            outcome = dict(labels).get("outcome", "?")
            outcomes[outcome] = outcomes.get(outcome, 0.0) + value
        runs: float | None = sum(outcomes.values())
    elif kind == "AlertPolicy" and has(after.operator, EVALUATIONS):
        outcomes = {
            dict(k).get("outcome", "?"): v for k, v in select(operator, EVALUATIONS).items()
        }
        runs = sum(outcomes.values())
    elif kind == "ScalingPolicy":
        # No evaluation counter before the scheduler: each evaluation reads its target's
        # /scale once, so those GETs stand in for it (marked "~" in the table).
        requests = api_requests(delta(before.apiserver, after.apiserver))
        scale_reads = sum(
            v for r, v in requests.items() if r.verb == "GET" and r.subresource == "scale"
        )
        outcomes, runs, estimated = {}, scale_reads, True
    else:
        outcomes, runs = {}, None
    failed = sum(v for o, v in outcomes.items() if _failed(o))
    missed = (
        total(operator, MISSED, **_kind_filter(after.operator, MISSED, kind))
        if has(after.operator, MISSED)
        else None
    )
    lag = buckets(operator, LAG, **_kind_filter(after.operator, f"{LAG}_bucket", kind))

    def gauge_max(name: str) -> float | None:
        seen = [total(s.operator, name) for s in [*samples, after] if has(s.operator, name)]
        return max(seen) if seen else None

    seen = [*samples, after]
    rss_each = tuple(_peak_rss(seen, i) for i in range(len(after.operator_procs)))
    rss = [sum(p.rss_bytes for p in s.operator_procs if p) for s in seen if all(s.operator_procs)]
    cpu_each = tuple(map(_cpu, before.operator_procs, after.operator_procs))
    rule = (
        total(delta(before.prometheus, after.prometheus), RULE_GROUP_SECONDS)
        if has(after.prometheus, RULE_GROUP_SECONDS)
        else None
    )
    return WindowStats(
        seconds=after.at - before.at,
        runs=runs,
        runs_estimated=estimated,
        outcomes=outcomes,
        failed=failed,
        missed=missed,
        lag_p50=histogram_quantile(0.5, lag),
        lag_p99=histogram_quantile(0.99, lag),
        queue_max=gauge_max(QUEUE),
        in_flight_max=gauge_max(IN_FLIGHT),
        operator_cpu=None if None in cpu_each else sum(c for c in cpu_each if c is not None),
        operator_rss=max(rss) if rss else None,
        operator_cpu_each=cpu_each,
        operator_rss_each=rss_each,
        prometheus_rule_seconds=rule,
        prometheus_cpu=_cpu(before.prometheus_proc, after.prometheus_proc),
        apiserver_cpu=_cpu(before.apiserver_proc, after.apiserver_proc),
        requests=api_requests(delta(before.apiserver, after.apiserver)),
    )


@dataclass(frozen=True)
class AlertRow:
    n: int
    shards: int
    firing: int
    first: FirstEvaluation
    expected: float
    stats: WindowStats
    window: float
    tracebacks: int
    unprocessed_streams: bool


@dataclass(frozen=True)
class ScalingRow:
    n: int
    shards: int
    interval: float
    first: FirstEvaluation
    expected: float
    stats: WindowStats
    window: float
    reactions: list[float]
    probes: int
    tracebacks: int


def _s(value: float | None, unit: str = " s", digits: int = 1) -> str:
    return "-" if value is None else f"{value:.{digits}f}{unit}"


def _mib(size: float | None) -> str:
    return _s(None if size is None else size / MIB, " MiB", 0)


def _objects(n: int, shards: int) -> str:
    return f"{n:,}" if shards == 1 else f"{n:,} on {shards} shards"


def _lag(stats: WindowStats) -> str:
    if stats.lag_p50 is None:
        return "-"
    return f"{_s(stats.lag_p50, ' s', 2)} / {_s(stats.lag_p99, ' s', 2)}"


def _done(stats: WindowStats, expected: float) -> str:
    if stats.runs is None:
        return "-"
    approx = "~" if stats.runs_estimated else ""
    text = f"{approx}{stats.runs:.0f}/{expected:.0f} ({100 * stats.runs / expected:.0f}%)"
    if stats.failed:
        text += f", {stats.failed:.0f} failed"
    if stats.missed:
        text += f", {stats.missed:.0f} missed"
    return text


def _writes(stats: WindowStats, n: int) -> str:
    return f"{stats.writes / n / (stats.seconds / 300):.2f}"


ALERT_HEADER = (
    "| policies | first evaluation of all | lag p50 / p99 | evaluations in window | "
    "operator CPU | Prometheus rule CPU | ratio | RSS | API writes / policy / 5 min | "
    "reads / eval | 429 |\n|" + "---|" * 11
)


def print_alert_table(rows: Sequence[AlertRow], details: bool) -> None:
    print(f"\nAlertPolicies, window {rows[0].window:g} s" if rows else "")
    print(ALERT_HEADER)
    for row in rows:
        s = row.stats
        cpu, rule = s.per_minute(s.operator_cpu), s.per_minute(s.prometheus_rule_seconds)
        ratio = f"{cpu / rule:.0f}x" if cpu is not None and rule else "-"
        reads = f"{s.reads / s.runs:.2f}" if s.runs else "-"
        print(
            f"| {_objects(row.n, row.shards)} | {row.first.describe()} | {_lag(s)} | "
            f"{_done(s, row.expected)} | {_s(cpu, ' s/min', 2)} | {_s(rule, ' s/min', 3)} | "
            f"{ratio} | {_mib(s.operator_rss)} | "
            f"{_writes(s, row.n)} | {reads} | {s.throttled:.0f} |"
        )
    if details:
        for row in rows:
            _details(row.stats)
            print(
                f"  firing series: {row.firing}; operator log: {row.tracebacks} tracebacks; "
                f"'Unprocessed streams' at shutdown: {'yes' if row.unprocessed_streams else 'no'}"
            )


SCALING_HEADER = (
    "| policies | first evaluation of all | lag p50 / p99 | evaluations in window | "
    "idle operator CPU | RSS | metric -> spec.replicas p50 / max | within interval + 1 s | "
    "API writes / policy / 5 min | 429 |\n|" + "---|" * 10
)


def print_scaling_table(rows: Sequence[ScalingRow], details: bool) -> None:
    print(f"\nScalingPolicies, window {rows[0].window:g} s" if rows else "")
    print(SCALING_HEADER)
    for row in rows:
        s = row.stats
        cpu = s.per_minute(s.operator_cpu)
        core = "-" if cpu is None else f"{cpu:.2f} s/min ({100 * cpu / 60:.1f}% of a core)"
        median = statistics.median(row.reactions) if row.reactions else None
        reacted = f"{median:.1f} s / {max(row.reactions):.1f} s" if median is not None else "-"
        within = sum(1 for r in row.reactions if r <= row.interval + 1)
        print(
            f"| {_objects(row.n, row.shards)} | {row.first.describe()} | {_lag(s)} | "
            f"{_done(s, row.expected)} | {core} | {_mib(s.operator_rss)} | "
            f"{reacted} | {within}/{row.probes} | {_writes(s, row.n)} | {s.throttled:.0f} |"
        )
    if details:
        for row in rows:
            _details(row.stats)
            print(f"  operator log: {row.tracebacks} tracebacks")


def _details(s: WindowStats) -> None:
    if s.outcomes:
        outcomes = ", ".join(f"{o} {v:.0f}" for o, v in sorted(s.outcomes.items()))
        print(f"  outcomes: {outcomes}")
    print(
        f"  scheduler: queue depth max {_s(s.queue_max, '', 0)}, "
        f"in flight max {_s(s.in_flight_max, '', 0)}, missed {_s(s.missed, '', 0)}"
    )
    print(
        f"  CPU in the window: operator {_s(s.operator_cpu)}, Prometheus (all) "
        f"{_s(s.prometheus_cpu)}, kube-apiserver {_s(s.apiserver_cpu)}; "
        f"Prometheus rule group {_s(s.prometheus_rule_seconds, ' s', 3)}"
    )
    if len(s.operator_cpu_each) > 1:
        each = zip(s.operator_cpu_each, s.operator_rss_each, strict=True)
        for shard, (cpu, rss) in enumerate(each):
            print(f"  shard {shard}: CPU {_s(s.per_minute(cpu), ' s/min', 2)}, RSS {_mib(rss)}")
    by_verb: dict[str, float] = {}
    for request, value in s.operator_requests.items():
        by_verb[request.verb] = by_verb.get(request.verb, 0.0) + value
    print(
        "  API requests by verb: "
        + (", ".join(f"{v} {c:.0f}" for v, c in sorted(by_verb.items())) or "none")
    )
    top = sorted(s.operator_requests.items(), key=lambda item: -item[1])[:12]
    for request, value in top:
        print(f"    {value:8.0f}  {request.verb:<7} {request.kind:<40} {request.code}")
