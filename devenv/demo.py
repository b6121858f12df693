"""The simulated service of ``make demo``: a scripted total load shared by ready pods.

:class:`DemoDriver` publishes every second, through the metrics exporter that Prometheus
scrapes, ``demo_load{service="web"}`` (the script's total load, requests/s) and
``demo_load_per_pod{service="web"}`` (that total divided by the ready pods the ``web``
Deployment reports in ``status.readyReplicas``; not published while none is ready).
``manifests/demo/`` scales the Deployment on the load per pod and alerts while it is too
high, so the loop closes: the load rises, the alert fires, replicas rise, KWOK turns the
new pods Ready, the load per pod falls, the alert resolves; the load falls, replicas follow.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from devenv.binaries import REPO_ROOT
from devenv.certs import ClusterCerts
from devenv.errors import DevEnvError
from devenv.exporter import MetricsExporter
from devenv.metrics import admin_tls

MANIFESTS = REPO_ROOT / "manifests" / "demo"
NAMESPACE = "demo"
DEPLOYMENT = "web"
TOTAL_METRIC = "demo_load"
PER_POD_METRIC = "demo_load_per_pod"
LABELS = {"service": DEPLOYMENT}


@dataclass(frozen=True)
class LoadScript:
    """One loop of total load, in seconds: ``low`` for ``idle``, a linear ramp up to
    ``high`` over ``ramp_up``, ``high`` for ``plateau``, a ramp back down to ``low`` over
    ``ramp_down``; then it starts again."""

    low: float = 80.0
    high: float = 800.0
    idle: float = 60.0
    ramp_up: float = 10.0
    plateau: float = 90.0
    ramp_down: float = 30.0

    def __post_init__(self) -> None:
        durations = (self.idle, self.ramp_up, self.plateau, self.ramp_down)
        if min(durations) < 0 or self.period <= 0:
            raise DevEnvError(f"a load script needs durations >= 0 and a loop > 0: {self}")
        if not 0 <= self.low <= self.high:
            raise DevEnvError(f"a load script needs 0 <= low <= high: {self}")

    @property
    def period(self) -> float:
        """The length of one loop."""
        return self.idle + self.ramp_up + self.plateau + self.ramp_down

    def at(self, elapsed: float) -> tuple[str, float]:
        """(phase, total load) ``elapsed`` seconds after the script started."""
        t = elapsed % self.period
        if t < self.idle:
            return "idle", self.low
        t -= self.idle
        if t < self.ramp_up:
            return "ramp-up", self.low + (self.high - self.low) * t / self.ramp_up
        t -= self.ramp_up
        if t < self.plateau:
            return "plateau", self.high
        t -= self.plateau
        return "ramp-down", self.high - (self.high - self.low) * t / self.ramp_down


@dataclass(frozen=True)
class Reading:
    """What one step saw and published."""

    elapsed: float
    phase: str
    total: float
    ready: int

    @property
    def per_pod(self) -> float | None:
        """The load per ready pod; None while no pod is ready."""
        return self.total / self.ready if self.ready else None

    def __str__(self) -> str:
        per_pod = "-" if self.per_pod is None else f"{self.per_pod:.0f}"
        return (
            f"demo: {self.elapsed:5.0f}s  {self.phase:<9}  load {self.total:4.0f}/s  "
            f"ready pods {self.ready:2d}  per pod {per_pod}"
        )


class DemoDriver:
    """Steps the script once per ``tick`` against the Deployment of a local cluster."""

    def __init__(
        self,
        server: str,
        certs: ClusterCerts,
        exporter: MetricsExporter,
        script: LoadScript | None = None,
        *,
        tick: float = 1.0,
        report: Callable[[str], None] | None = None,
        report_every: float = 5.0,
    ) -> None:
        """``report`` receives a line every ``report_every`` seconds and on each error."""
        self.url = f"{server}/apis/apps/v1/namespaces/{NAMESPACE}/deployments/{DEPLOYMENT}"
        self.exporter = exporter
        self.script = script or LoadScript()
        self.tick = tick
        self.report = report
        self.report_every = report_every
        self._http = httpx.Client(verify=admin_tls(certs), timeout=5.0)

    def ready_pods(self) -> int:
        """``status.readyReplicas`` of the Deployment (0 until it exists)."""
        try:
            response = self._http.get(self.url)
        except httpx.HTTPError as error:
            raise DevEnvError(f"reading {DEPLOYMENT}: {type(error).__name__}: {error}") from None
        if response.status_code == httpx.codes.NOT_FOUND:
            return 0
        if response.status_code != httpx.codes.OK:
            raise DevEnvError(f"reading {DEPLOYMENT}: HTTP {response.status_code}")
        return int(response.json().get("status", {}).get("readyReplicas") or 0)

    def step(self, elapsed: float) -> Reading:
        """Read the ready pods and publish the load at ``elapsed`` seconds."""
        phase, total = self.script.at(elapsed)
        reading = Reading(elapsed, phase, total, self.ready_pods())
        self.exporter.set(TOTAL_METRIC, total, LABELS)
        if reading.per_pod is None:
            self.exporter.remove(PER_POD_METRIC, LABELS)
        else:
            self.exporter.set(PER_POD_METRIC, reading.per_pod, LABELS)
        return reading

    def run(self, stop: threading.Event) -> None:
        """Step until ``stop`` is set; then stop publishing. An error reading the
        Deployment skips that step (the last values stay published) and is reported."""
        start, last_report = time.monotonic(), -math.inf
        try:
            while not stop.is_set():
                now = time.monotonic()
                try:
                    reading = self.step(now - start)
                except DevEnvError as error:
                    self._say(f"demo: {error}")
                else:
                    if now - last_report >= self.report_every:
                        self._say(str(reading))
                        last_report = now
                stop.wait(self.tick)
        finally:
            self.exporter.remove(TOTAL_METRIC, LABELS)
            self.exporter.remove(PER_POD_METRIC, LABELS)
            self._http.close()

    def _say(self, line: str) -> None:
        if self.report is not None:
            self.report(line)
