"""AlertPolicy evaluation: one daemon per policy queries Prometheus on a fixed grid of
`evaluationInterval`, runs the state machine, and writes what changed to Alert objects,
Events and the policy's status."""

from __future__ import annotations

import math
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import kopf
from pydantic import ValidationError

from watchkeeper.api import ALERT_POLICY, GROUP, VERSION
from watchkeeper.api.alertpolicy import AlertPolicySpec
from watchkeeper.api.common import Severity, parse_duration
from watchkeeper.engine.alert_records import label_value
from watchkeeper.engine.alerts import Observation, Rules, evaluate, expired
from watchkeeper.engine.observations import Series, adaptive_queries, observations
from watchkeeper.handlers.objects import services_of
from watchkeeper.kube.calls import KubeError
from watchkeeper.kube.secrets import SecretUnavailable
from watchkeeper.prometheus.client import PrometheusError, QueryRejected
from watchkeeper.runtime.alert_writer import AlertWriter
from watchkeeper.runtime.config import OperatorConfig
from watchkeeper.runtime.connections import resolve_connection
from watchkeeper.runtime.metrics import EVALUATION_SECONDS, EVALUATIONS
from watchkeeper.runtime.notifier import AlertNotifier
from watchkeeper.runtime.policy_status import PolicyStatusWriter
from watchkeeper.runtime.services import PolicyRef


def next_tick(now: datetime, interval: timedelta) -> datetime:
    """The next multiple of `interval` since the epoch: policies with the same interval
    evaluate at the same instants, so identical queries are sent once."""
    step = interval.total_seconds()
    return datetime.fromtimestamp(math.floor(now.timestamp() / step + 1) * step, UTC)


def rules_of(spec: AlertPolicySpec) -> Rules:
    if spec.thresholds:
        top = max(spec.thresholds, key=lambda t: Severity(t.severity).rank)
        level = (Severity(top.severity), top.value)
    else:
        assert spec.adaptive is not None
        top_dev = max(spec.adaptive.deviations, key=lambda d: Severity(d.severity).rank)
        level = (Severity(top_dev.severity), math.nan)
    return Rules(
        for_=parse_duration(spec.for_),
        keep_firing_for=parse_duration(spec.keep_firing_for),
        no_data_state=spec.no_data_state,
        error_state=spec.error_state,
        no_data_level=level,
    )


class PolicyEvaluator:
    """The evaluation loop of one policy; its state is rebuilt from the Alerts on start."""

    def __init__(self, body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger) -> None:
        self.body = body
        self.memo = memo
        self.logger = logger
        self.config: OperatorConfig = memo.config
        self.namespace = str(body.metadata.namespace)
        self.name = str(body.metadata.name)
        self.services = services_of(memo)
        ref = PolicyRef(self.namespace, self.name, str(body.metadata.uid))
        self.alerts = AlertWriter(self.services, ref)
        self.notifier = AlertNotifier(self.services, ref, self.alerts)
        memo.notifiers[self.namespace, label_value(self.name)] = self.notifier
        self.status = PolicyStatusWriter(
            memo.kube,
            self.namespace,
            self.name,
            self.config,
            list((body.get("status") or {}).get("conditions") or []),
        )

    async def run(self, stopped: kopf.DaemonStopped) -> None:
        label = label_value(self.name)
        self.alerts.load(await self.services.alerts.list_for_policy(self.namespace, label))
        try:
            await self._loop(stopped)
        finally:
            self.memo.notifiers.pop((self.namespace, label_value(self.name)), None)
            await self.notifier.stop()

    async def _loop(self, stopped: kopf.DaemonStopped) -> None:
        while not stopped:
            spec = self._spec()
            interval = (
                parse_duration(spec.evaluation_interval)
                if spec
                else timedelta(seconds=self.config.recheck_interval)
            )
            now = datetime.now(UTC)
            tick = next_tick(now, interval)
            if await stopped.wait((tick - now).total_seconds()):
                break
            if spec is None:
                continue
            try:
                if spec.suspend:
                    await self.status.suspended(self.alerts.counts(), tick)
                else:
                    await self.evaluate(spec, tick)
            except KubeError as error:  # the next tick tries again from the same state
                self.logger.warning("evaluation at %s not fully written: %s", tick, error)

    def _spec(self) -> AlertPolicySpec | None:
        try:
            return AlertPolicySpec.model_validate(dict(self.body.get("spec") or {}))
        except ValidationError:
            return None  # the Ready condition says why

    async def _query(self, spec: AlertPolicySpec, at: datetime) -> list[Observation]:
        conn = await resolve_connection(
            self.memo.kube, self.config, self.namespace, spec.prometheus
        )
        prometheus = self.memo.prometheus

        async def series(expr: str) -> list[Series]:
            return [(s.labels, s.value) for s in await prometheus.query(conn, expr, at)]

        found = await series(spec.query)
        if spec.adaptive is None:
            return observations(spec, found)
        baseline_expr, stddev_expr = adaptive_queries(spec.query, spec.adaptive)
        return observations(spec, found, await series(baseline_expr), await series(stddev_expr))

    async def evaluate(self, spec: AlertPolicySpec, at: datetime) -> None:
        started = time.monotonic()
        error: str | None = None
        reason = "QuerySucceeded"
        try:
            observed = await self._query(spec, at)
        except QueryRejected as rejected:
            observed, error, reason = None, str(rejected), "QueryRejected"
        except (PrometheusError, SecretUnavailable) as failure:
            observed, error, reason = None, str(failure), "PrometheusUnavailable"
        if observed == []:
            reason = "NoData"
        result = evaluate(self.alerts.instances, observed, rules_of(spec), at)
        gone = expired(result.instances, timedelta(seconds=self.config.alert_retention), at)
        await self.alerts.apply(spec, result, gone, at)
        if self.alerts.instances:
            self.notifier.kick(spec, at)
        duration = time.monotonic() - started
        EVALUATIONS.labels(reason).inc()
        EVALUATION_SECONDS.observe(duration)
        await self.status.evaluated(
            self.alerts.counts(), at, duration, reason, error, self.alerts.template_errors
        )


async def evaluate_policy(
    body: kopf.Body, memo: kopf.Memo, logger: kopf.Logger, stopped: kopf.DaemonStopped, **_: Any
) -> None:
    await PolicyEvaluator(body, memo, logger).run(stopped)


def register(registry: kopf.OperatorRegistry, config: OperatorConfig) -> None:
    """One evaluation daemon per AlertPolicy."""
    kopf.daemon(
        GROUP,
        VERSION,
        ALERT_POLICY.plural,
        registry=registry,
        id="evaluate",
        cancellation_timeout=10,
    )(evaluate_policy)
