"""AlertPolicy evaluation: the scheduler calls `PolicyEvaluator.evaluate` at each due
instant of the policy's grid; it queries Prometheus at that instant, runs the state
machine, and hands the result to the Alert writer, the notifier and the status writer.

State lives in the evaluator (rebuilt from the policy's Alerts, as watched, on its first
run) and moves on even when the API server cannot be written: what could not be written
is written at a later run, so transitions made during an outage are not lost."""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Awaitable
from datetime import datetime, timedelta

from watchkeeper.api.alertpolicy import AlertPolicySpec
from watchkeeper.api.common import Severity
from watchkeeper.engine.alert_records import label_value
from watchkeeper.engine.alerts import Observation, Rules, evaluate, expired
from watchkeeper.engine.bands import BandSummary, summarize
from watchkeeper.engine.observations import DuplicateSeries, Series, adaptive_queries, observations
from watchkeeper.kube.calls import KubeError
from watchkeeper.kube.secrets import SecretUnavailable
from watchkeeper.prometheus.client import PrometheusError, QueryRejected
from watchkeeper.runtime.alert_writer import AlertWriter
from watchkeeper.runtime.connections import resolve_connection
from watchkeeper.runtime.health import Health
from watchkeeper.runtime.metrics import EVALUATION_SECONDS, EVALUATIONS
from watchkeeper.runtime.notifier import AlertNotifier
from watchkeeper.runtime.policy_status import PolicyStatusWriter
from watchkeeper.runtime.services import PolicyRef, Services

LOGGER = logging.getLogger("watchkeeper.evaluation")


def rules_of(spec: AlertPolicySpec) -> Rules:
    if spec.thresholds:
        top = max(spec.thresholds, key=lambda t: Severity(t.severity).rank)
        level = (Severity(top.severity), top.value)
    else:
        assert spec.adaptive is not None
        top_dev = max(spec.adaptive.deviations, key=lambda d: Severity(d.severity).rank)
        level = (Severity(top_dev.severity), math.nan)
    return Rules(
        for_=spec.for_.delta,
        keep_firing_for=spec.keep_firing_for.delta,
        no_data_state=spec.no_data_state,
        error_state=spec.error_state,
        no_data_level=level,
    )


def bands_of(spec: AlertPolicySpec, observed: list[Observation] | None) -> BandSummary | None:
    """An adaptive policy's bands at this evaluation; None without a band or a result."""
    if spec.adaptive is None or observed is None:
        return None
    return summarize([(o.labels, o.value, o.band) for o in observed if o.band is not None])


class PolicyEvaluator:
    """The evaluations of one policy."""

    def __init__(
        self, services: Services, policy: PolicyRef, conditions: list[dict[str, object]]
    ) -> None:
        self.services = services
        self.policy = policy
        self.health: Health = services.health
        self.alerts = AlertWriter(services, policy)
        self.notifier = AlertNotifier(services, policy, self.alerts)
        self.status = PolicyStatusWriter(
            services.kube,
            policy.namespace,
            policy.name,
            conditions,
            timedelta(seconds=services.config.status_heartbeat),
        )
        self._loaded = False

    def _load(self) -> None:
        if not self._loaded:
            label = label_value(self.policy.name)
            self.alerts.load(self.services.objects.alerts_of(self.policy.namespace, label))
            self._loaded = True

    async def stop(self) -> None:
        await self.notifier.stop()

    async def evaluate(self, spec: AlertPolicySpec, at: datetime, lag: float) -> None:
        """One evaluation at the due instant `at`, started `lag` seconds late."""
        self._load()
        if spec.suspend:
            await self._write_status(self.status.suspended(self.alerts.counts(), at))
            return
        started = time.monotonic()
        error: str | None = None
        reason = "QuerySucceeded"
        try:
            observed = await self._query(spec, at)
        except QueryRejected as rejected:
            observed, error, reason = None, str(rejected), "QueryRejected"
        except DuplicateSeries as duplicates:
            observed, error, reason = None, str(duplicates), duplicates.reason
        except (PrometheusError, SecretUnavailable) as failure:
            observed, error, reason = None, str(failure), "PrometheusUnavailable"
        self.health.report("prometheus", reason != "PrometheusUnavailable", error)
        if observed == []:
            reason = "NoData"
        bands = bands_of(spec, observed)
        result = evaluate(self.alerts.instances, observed, rules_of(spec), at)
        retention = timedelta(seconds=self.services.config.alert_retention)
        gone = expired(result.instances, retention, at)
        try:
            await self.alerts.apply(spec, result, gone, at)
        except KubeError as failure:
            self.health.report("kubernetes", False, str(failure))
            LOGGER.debug("AlertPolicy %s/%s: Alerts not written: %s", *self._name(), failure)
        if self.alerts.instances:
            self.notifier.kick(spec, at)
        duration = time.monotonic() - started
        EVALUATIONS.labels(reason).inc()
        EVALUATION_SECONDS.observe(duration)
        late = lag > spec.evaluation_interval.delta.total_seconds() / 2
        await self._write_status(
            self.status.evaluated(
                self.alerts.counts(),
                at,
                duration,
                reason,
                error,
                self.alerts.template_errors,
                self.alerts.write_errors,
                late,
                bands,
            )
        )

    async def _write_status(self, write: Awaitable[None]) -> None:
        try:
            await write
        except KubeError as failure:
            self.health.report("kubernetes", False, str(failure))

    def _name(self) -> tuple[str, str]:
        return self.policy.namespace, self.policy.name

    async def _query(self, spec: AlertPolicySpec, at: datetime) -> list[Observation]:
        conn = await resolve_connection(
            self.services.kube, self.services.config, self.policy.namespace, spec.prometheus
        )
        prometheus = self.services.prometheus

        async def series(expr: str) -> list[Series]:
            return [(s.labels, s.value) for s in await prometheus.query(conn, expr, at)]

        found = await series(spec.query)
        if spec.adaptive is None:
            return observations(spec, found)
        band = adaptive_queries(spec.query, spec.adaptive)
        return observations(
            spec,
            found,
            await series(band.baseline),
            await series(band.sigma),
            await series(band.points),
        )
