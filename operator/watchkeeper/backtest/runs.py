"""One backtest of one policy document, from its manifest to its report."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from watchkeeper.api.alertpolicy import AlertPolicySpec
from watchkeeper.api.scalingpolicy import ScalingPolicySpec
from watchkeeper.api.timestamps import format_time
from watchkeeper.backtest.alerts import Answer, replay_alerts
from watchkeeper.backtest.delivery import Outlets
from watchkeeper.backtest.history import evaluation_grid
from watchkeeper.backtest.manifests import (
    Bundle,
    ManifestError,
    first_problem,
    name_of,
    namespace_of,
)
from watchkeeper.backtest.report import alert_report
from watchkeeper.backtest.rightsizing import AdviceHistory, rightsizing_advice
from watchkeeper.backtest.scaling import ScalingAnswer, replay_scaling
from watchkeeper.backtest.scaling_report import scaling_report
from watchkeeper.prometheus.ranges import RangeFailure

Answers = tuple[list[Answer], list[RangeFailure]]
AlertHistory = Callable[[AlertPolicySpec, Sequence[datetime]], Answers]
"""What Prometheus answered for a policy at each instant of a grid (history.alert_answers
bound to a reader), and the spans whose queries failed."""
ScalingHistory = Callable[
    [ScalingPolicySpec, Sequence[datetime]], tuple[list[ScalingAnswer], list[RangeFailure]]
]
"""The same for a ScalingPolicy (history.scaling_answers bound to a reader)."""


def header(kind: str, doc: Mapping[str, Any], namespace: str, **window: str) -> dict[str, Any]:
    return {
        "kind": kind,
        "namespace": namespace_of(doc, namespace),
        "name": name_of(doc),
        "window": window,
    }


def alert_policy(
    doc: Mapping[str, Any],
    bundle: Bundle,
    history: AlertHistory,
    start: datetime,
    end: datetime,
    namespace: str,
    plot_to: Path | None = None,
) -> dict[str, Any]:
    """Replay one AlertPolicy over [start, end]; its report as plain data (and a plot)."""
    name, ns = name_of(doc), namespace_of(doc, namespace)
    try:
        spec = AlertPolicySpec.model_validate(dict(doc.get("spec") or {}))
    except ValidationError as error:
        raise ManifestError(f"AlertPolicy {name}: invalid spec: {first_problem(error)}") from None
    interval = spec.evaluation_interval
    grid = evaluation_grid(start, end, interval.delta, spec.query)
    answers, failures = history(spec, grid)
    channels = {n: c for (cns, n), c in bundle.channels.items() if cns == ns}
    ref = spec.routing.escalation_policy_ref
    chain = bundle.chains.get((ns, ref)) if ref else None
    outlets = Outlets(ns, channels, (ref, chain) if ref and chain else None)
    replay = replay_alerts(name, spec, answers, outlets)
    if plot_to is not None:
        from watchkeeper.backtest.plot import alert_plot

        alert_plot(plot_to, f"AlertPolicy {ns}/{name}", spec, answers, replay)
    head = header(
        "AlertPolicy",
        doc,
        namespace,
        **{"from": format_time(start), "to": format_time(end), "interval": str(interval)},
    )
    report = alert_report(head, replay, outlets, failures, start, end, interval.delta)
    if ref and chain is None:
        report["dataProblems"]["escalationPolicyWithoutManifest"] = ref
    return report


def scaling_policy(
    doc: Mapping[str, Any],
    history: ScalingHistory,
    start: datetime,
    end: datetime,
    namespace: str,
    replicas: int | None,
    plot_to: Path | None = None,
    advice: AdviceHistory | None = None,
) -> dict[str, Any]:
    """Replay one ScalingPolicy over [start, end] from `replicas` (default: its minimum).

    Its grid is keyed by the policy's UID, as the scheduler keys it; a manifest without
    one (not read from the cluster) gets a grid keyed by its namespace and name. With a
    rightsizing block and `advice`, the report carries the advice at `end`, at the replica
    count the replay ends with."""
    name, ns = name_of(doc), namespace_of(doc, namespace)
    try:
        spec = ScalingPolicySpec.model_validate(dict(doc.get("spec") or {}))
    except ValidationError as error:
        raise ManifestError(f"ScalingPolicy {name}: invalid spec: {first_problem(error)}") from None
    interval = spec.evaluation_interval
    uid = str((doc.get("metadata") or {}).get("uid") or f"{ns}/{name}")
    grid = evaluation_grid(start, end, interval.delta, uid)
    answers, failures = history(spec, grid)
    first = spec.min_replicas if replicas is None else replicas
    replay = replay_scaling(spec, answers, first)
    if plot_to is not None:
        from watchkeeper.backtest.plot import scaling_plot

        scaling_plot(plot_to, f"ScalingPolicy {ns}/{name}", spec, answers, replay)
    window = {
        "from": format_time(start),
        "to": format_time(end),
        "interval": str(interval),
        "replicas": str(first),
    }
    report = scaling_report(
        header("ScalingPolicy", doc, namespace, **window), spec, replay, failures, end
    )
    if advice is not None and spec.rightsizing is not None:
        final = replay.timeline[-1][1] if replay.timeline else first
        report["rightsizing"] = rightsizing_advice(spec, advice, ns, end, final)
    return report
