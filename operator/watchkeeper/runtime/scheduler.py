"""The one scheduler: every periodic job of the operator (evaluate a policy, scale, check
references, send a rate-limit summary) is an entry here, not a task of its own.

One loop keeps each job's next due instant in a heap. A due job starts when a worker slot
is free (the bound on concurrent work); it is given its due instant, so what it computes
is anchored to the grid however late it starts. Each kind of job has its own slots, so a
burst of reference checks (thousands of new objects) never delays an evaluation. A job
that is still running when it falls due again misses that instant (counted, never queued
twice). Jobs run only while the scheduler is active (this replica leads), from the first
grid instant after it starts leading; nothing a job raises stops the loop.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from watchkeeper.engine.schedule import next_due_seconds, offset_of
from watchkeeper.kube.calls import KubeRejected, KubeUnavailable
from watchkeeper.runtime.health import Health
from watchkeeper.runtime.logcontext import bind_job
from watchkeeper.runtime.metrics import (
    SCHEDULER_IN_FLIGHT,
    SCHEDULER_JOBS,
    SCHEDULER_LAG,
    SCHEDULER_MISSED,
    SCHEDULER_QUEUE,
    SCHEDULER_RUNS,
)

LOGGER = logging.getLogger("watchkeeper.scheduler")
Run = Callable[[datetime], Awaitable[None]]
"""A job's work for one due instant."""
WAKE_SLACK_SHARE = 0.02
MAX_WAKE_SLACK = 0.25
"""A job may start up to its slack late: the share of its interval, at most the maximum
(seconds). The loop wakes on multiples of the earliest due job's slack and starts every job
due by then (so no job starts more than MAX_WAKE_SLACK late), and thousands of jobs spread
over their interval cost a few wake-ups a second, not one each. Waking is most of what a
scheduled run costs besides its own work, and runs started together find the interpreter's
code and data still in the CPU's caches: 1,000 idle ScalingPolicies at 15 s took 5.1-5.9 s
of CPU a minute with 20 ms of slack and 2.4-2.9 s with 250 ms (README, "Scale"). A triggered
job starts at once."""
OUTCOMES = ("ok", "cancelled", "unavailable", "rejected", "error")
"""How a run ended (watchkeeper_scheduler_runs_total's `outcome`)."""


@dataclass
class Job:
    """One periodic piece of work; instants in seconds since the epoch (the loop's clock)."""

    key: str
    kind: str
    interval: timedelta
    run: Run
    offset: timedelta
    due: float
    running: bool = False
    """Started: waiting for a slot or at work."""
    working: bool = False
    """Its run has begun (a trigger now comes too late for this run)."""
    again: bool = False
    """Triggered while working: run once more as soon as this run ends."""
    triggered: bool = False
    """Triggered and not started since (kept across a stand-by: it runs when leading)."""
    version: int = 0

    @property
    def step(self) -> float:
        return self.interval.total_seconds()

    @property
    def slack(self) -> float:
        return min(self.interval.total_seconds() * WAKE_SLACK_SHARE, MAX_WAKE_SLACK)

    def next_due(self, after: float) -> float:
        return next_due_seconds(after, self.interval.total_seconds(), self.offset.total_seconds())


_Entry = tuple[float, int, str, int]
"""A heap entry: (due, sequence, job key, job version); a plain tuple, compared in C."""


class _Kind:
    """A kind of job's worker slots and metric series (looked up once, not per run)."""

    def __init__(self, name: str, limit: int) -> None:
        self.slots = asyncio.Semaphore(limit)
        self.waiting = 0
        """Due jobs of this kind waiting for a slot (the queue depth)."""
        self.queue = SCHEDULER_QUEUE.labels(name)
        self.lag = SCHEDULER_LAG.labels(name)
        self.runs = {outcome: SCHEDULER_RUNS.labels(name, outcome) for outcome in OUTCOMES}


class Scheduler:
    """Runs jobs on their grids with at most `concurrency` of each kind running at once."""

    def __init__(
        self,
        concurrency: int,
        health: Health | None = None,
        limits: Mapping[str, int] | None = None,
    ) -> None:
        """`concurrency`: jobs of one kind running at once; `limits`: a lower bound for
        some kinds (housekeeping that must not take the API client from evaluations)."""
        self.health = health or Health()
        self._jobs: dict[str, Job] = {}
        self._counts: Counter[str] = Counter()  # jobs per kind
        self._heap: list[_Entry] = []
        self._seq = itertools.count()
        self._concurrency = concurrency
        self._limits = dict(limits or {})
        self._kinds: dict[str, _Kind] = {}  # slots per kind: one kind cannot starve another
        self._wake = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self.active = asyncio.Event()

    def upsert(
        self, key: str, kind: str, interval: timedelta, run: Run, offset_key: str | None = None
    ) -> None:
        """Add a job or change its interval/work; an unchanged grid keeps its next instant."""
        offset = offset_of(offset_key or key, interval)
        job = self._jobs.get(key)
        if job is not None and job.interval == interval and job.offset == offset:
            job.run = run
            return
        due = next_due_seconds(time.time(), interval.total_seconds(), offset.total_seconds())
        if job is None:
            job = Job(key, kind, interval, run, offset, due)
            self._jobs[key] = job
            self._counts[kind] += 1
            SCHEDULER_JOBS.labels(kind).set(self._counts[kind])
        else:
            job.interval, job.run, job.offset, job.due = interval, run, offset, due
        self._push(job)

    def remove(self, key: str) -> None:
        """Forget a job; a run in flight finishes."""
        job = self._jobs.pop(key, None)
        if job is not None:
            job.version += 1
            self._counts[job.kind] -= 1
            SCHEDULER_JOBS.labels(job.kind).set(self._counts[job.kind])

    def trigger(self, key: str) -> None:
        """Run the job as soon as possible (e.g. its spec changed), then back on its grid;
        a job triggered while it works (by itself, too) runs again once it ends; one that
        is waiting for a slot will see the change anyway."""
        job = self._jobs.get(key)
        if job is None or (job.running and not job.working):
            return
        if job.working:
            job.again = True
            return
        job.due, job.triggered = time.time(), True
        self._push(job)

    def __contains__(self, key: str) -> bool:
        return key in self._jobs

    def lead(self) -> None:
        """Start running jobs (this replica leads now). A job triggered meanwhile runs now;
        every other job at its next grid instant from now: what fell due before was the old
        leader's to run, and a run at such a past instant would rewrite history (an
        evaluation reading Prometheus then would re-fire an Alert the old leader has
        resolved since)."""
        now = time.time()
        for job in self._jobs.values():
            job.due = now if job.triggered else job.next_due(now)
            self._push(job)
        self.active.set()

    def _push(self, job: Job) -> None:
        job.version += 1
        heapq.heappush(self._heap, (job.due, next(self._seq), job.key, job.version))
        self._wake.set()

    async def run_forever(self) -> None:
        """The loop; cancel it to stop."""
        try:
            while True:
                await self.active.wait()
                entry = self._next_entry()
                if entry is None:
                    await self._sleep(None)
                    continue
                due, _, key, _ = entry
                delay = due - time.time()
                if delay > 0:
                    slack = self._jobs[key].slack  # the entry is current: its job exists
                    await self._sleep(delay + slack - (due % slack))
                    continue
                heapq.heappop(self._heap)
                self._start(self._jobs[key], due)
        finally:
            for task in list(self._tasks):
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)

    def _kind(self, name: str) -> _Kind:
        kind = self._kinds.get(name)
        if kind is None:
            limit = min(self._concurrency, self._limits.get(name, self._concurrency))
            kind = self._kinds[name] = _Kind(name, limit)
        return kind

    def _next_entry(self) -> _Entry | None:
        while self._heap:
            top = self._heap[0]
            job = self._jobs.get(top[2])
            if job is not None and job.version == top[3]:
                return top
            heapq.heappop(self._heap)  # superseded by a newer entry of the same job
        return None

    async def _sleep(self, seconds: float | None) -> None:
        """Until `seconds` pass or something changes (a timer sets the event: cheaper than
        wait_for, which makes a task of each sleep)."""
        self._wake.clear()
        timer = (
            None
            if seconds is None
            else asyncio.get_running_loop().call_later(seconds, self._wake.set)
        )
        try:
            await self._wake.wait()
        finally:
            if timer is not None:
                timer.cancel()

    def _start(self, job: Job, due: float) -> None:
        job.triggered = False
        job.due = job.next_due(max(due, time.time() - job.step / 2))
        self._push(job)
        if job.running:
            SCHEDULER_MISSED.labels(job.kind).inc()
            instant = datetime.fromtimestamp(due, UTC)
            LOGGER.warning(
                "%s is still running from an earlier instant; %s skipped", job.key, instant
            )
            return
        job.running = True
        task = asyncio.create_task(self._execute(job, due), name=job.key)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _execute(self, job: Job, due: float) -> None:
        bind_job(job.key)  # this task's log lines name the object and this run
        kind = self._kind(job.kind)
        if kind.slots.locked():  # saturated: say so while waiting
            kind.waiting += 1
            kind.queue.set(kind.waiting)
            try:
                await kind.slots.acquire()
            except asyncio.CancelledError:
                job.running = False
                raise
            finally:
                kind.waiting -= 1
                kind.queue.set(kind.waiting)
        else:
            await kind.slots.acquire()  # free: returns at once
        kind.lag.observe(max(time.time() - due, 0.0))
        SCHEDULER_IN_FLIGHT.inc()
        outcome = "ok"
        job.working = True
        try:
            await job.run(datetime.fromtimestamp(due, UTC))
        except asyncio.CancelledError:
            outcome = "cancelled"
            raise
        except KubeUnavailable as error:  # said once by the health log, not per job
            outcome = "unavailable"
            self.health.report("kubernetes", False, str(error))
        except KubeRejected as error:
            outcome = "rejected"
            LOGGER.warning("%s: the API server refused a request: %s", job.key, error)
        except Exception:  # a defect in one job must not stop the others
            outcome = "error"
            LOGGER.exception("%s failed at %s", job.key, datetime.fromtimestamp(due, UTC))
        finally:
            job.running = job.working = False
            kind.slots.release()
            SCHEDULER_IN_FLIGHT.dec()
            kind.runs[outcome].inc()
            if job.again:
                job.again = False
                self.trigger(job.key)
