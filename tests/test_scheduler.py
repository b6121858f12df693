"""The one scheduler: jobs start on their own grid instants, at most N at a time, a
failing job harms no other, a job still running misses (never doubles) its next instant,
and nothing runs while the replica does not lead."""

from __future__ import annotations

import asyncio
import itertools
from datetime import UTC, datetime, timedelta

from watchkeeper.engine.schedule import offset_of
from watchkeeper.runtime.metrics import SCHEDULER_MISSED, SCHEDULER_QUEUE
from watchkeeper.runtime.scheduler import MAX_WAKE_SLACK, WAKE_SLACK_SHARE, Scheduler

SECOND = timedelta(seconds=1)


async def _run_for(scheduler: Scheduler, seconds: float) -> None:
    loop = asyncio.create_task(scheduler.run_forever())
    await asyncio.sleep(seconds)
    loop.cancel()
    await asyncio.gather(loop, return_exceptions=True)


async def test_jobs_run_at_their_offset_on_the_grid() -> None:
    scheduler = Scheduler(concurrency=8)
    scheduler.active.set()
    runs: dict[str, list[tuple[datetime, datetime]]] = {}

    def job(key: str):  # type: ignore[no-untyped-def]
        async def run(due: datetime) -> None:
            runs.setdefault(key, []).append((due, datetime.now(UTC)))

        return run

    for i in range(20):
        scheduler.upsert(f"job-{i}", "Test", SECOND, job(f"job-{i}"))
    await _run_for(scheduler, 2.6)
    assert set(runs) == {f"job-{i}" for i in range(20)}
    for key, seen in runs.items():
        offset = offset_of(key, SECOND).total_seconds()
        for due, started in seen:
            assert (
                abs((due.timestamp() - offset) % 1.0) < 1e-3
                or abs((due.timestamp() - offset) % 1.0 - 1.0) < 1e-3
            )
            assert 0 <= (started - due).total_seconds() < 0.25
        dues = [d for d, _ in seen]
        assert dues == sorted(set(dues))  # each instant once


async def test_concurrency_is_bounded_and_a_failing_job_harms_no_other() -> None:
    scheduler = Scheduler(concurrency=3)
    scheduler.active.set()
    running = 0
    peak = 0
    done: list[str] = []

    def job(key: str, fail: bool):  # type: ignore[no-untyped-def]
        async def run(due: datetime) -> None:
            nonlocal running, peak
            running += 1
            peak = max(peak, running)
            try:
                await asyncio.sleep(0.2)
                if fail:
                    raise RuntimeError("boom")
                done.append(key)
            finally:
                running -= 1

        return run

    for i in range(10):
        scheduler.upsert(f"job-{i}", "Test", timedelta(seconds=30), job(f"job-{i}", i == 0))
        scheduler.trigger(f"job-{i}")
    await _run_for(scheduler, 1.5)
    assert peak == 3
    assert set(done) == {f"job-{i}" for i in range(1, 10)}  # a grid instant may also fall due


async def test_a_job_still_running_misses_its_next_instant() -> None:
    scheduler = Scheduler(concurrency=4)
    scheduler.active.set()
    starts: list[datetime] = []
    missed_before = SCHEDULER_MISSED.labels("Slow")._value.get()

    async def slow(due: datetime) -> None:
        starts.append(due)
        await asyncio.sleep(1.5)

    scheduler.upsert("slow", "Slow", timedelta(seconds=0.5), slow)
    await _run_for(scheduler, 2.2)
    assert 1 <= len(starts) <= 2
    assert SCHEDULER_MISSED.labels("Slow")._value.get() > missed_before


async def test_nothing_runs_while_not_leading() -> None:
    scheduler = Scheduler(concurrency=4)
    ran: list[datetime] = []

    async def run(due: datetime) -> None:
        ran.append(due)

    asked: list[datetime] = []

    async def run_asked(due: datetime) -> None:
        asked.append(due)

    scheduler.upsert("job", "Test", timedelta(seconds=0.2), run)
    scheduler.upsert("asked", "Test", timedelta(seconds=30), run_asked)
    loop = asyncio.create_task(scheduler.run_forever())
    await asyncio.sleep(0.1)
    scheduler.trigger("asked")  # e.g. a spec change seen while standing by
    await asyncio.sleep(0.6)
    assert ran == [] and asked == []
    leading = datetime.now(UTC)
    scheduler.lead()
    await asyncio.sleep(0.7)
    loop.cancel()
    await asyncio.gather(loop, return_exceptions=True)
    assert ran
    # what fell due while another replica led was that replica's: the first instant run is
    # after the lead (an evaluation at a past instant would rewrite history, e.g. re-fire
    # an Alert the old leader had resolved since)
    assert min(ran) >= leading
    # a trigger seen while standing by runs at once when leading, at the current instant
    assert len(asked) == 1 and 0 <= (asked[0] - leading).total_seconds() < 0.1


async def test_removed_jobs_stop_and_changed_intervals_move_the_grid() -> None:
    scheduler = Scheduler(concurrency=4)
    scheduler.active.set()
    ran: list[str] = []

    def job(tag: str):  # type: ignore[no-untyped-def]
        async def run(due: datetime) -> None:
            ran.append(tag)

        return run

    scheduler.upsert("a", "Test", timedelta(seconds=0.2), job("a"))
    scheduler.upsert("b", "Test", timedelta(seconds=0.2), job("b"))
    scheduler.remove("b")
    scheduler.upsert("a", "Test", timedelta(seconds=0.3), job("a2"))
    await _run_for(scheduler, 1.0)
    assert "b" not in ran and "a" not in ran and ran.count("a2") >= 2


async def test_a_kind_with_a_limit_runs_fewer_at_once_and_never_holds_up_another_kind() -> None:
    scheduler = Scheduler(concurrency=6, limits={"Housekeeping": 2})
    scheduler.active.set()
    running: dict[str, int] = {"Housekeeping": 0, "Evaluation": 0}
    peak = dict(running)
    done: list[str] = []

    def job(kind: str, key: str):  # type: ignore[no-untyped-def]
        async def run(due: datetime) -> None:
            running[kind] += 1
            peak[kind] = max(peak[kind], running[kind])
            try:
                await asyncio.sleep(0.3)
                done.append(key)
            finally:
                running[kind] -= 1

        return run

    for kind in running:
        for i in range(8):
            key = f"{kind}-{i}"
            scheduler.upsert(key, kind, timedelta(seconds=60), job(kind, key))
            scheduler.trigger(key)
    await _run_for(scheduler, 1.0)
    assert peak == {"Housekeeping": 2, "Evaluation": 6}
    assert {f"Evaluation-{i}" for i in range(8)} <= set(done)  # 2 rounds of 6 in 0.6 s


async def test_a_job_triggered_while_it_works_runs_once_more_right_after() -> None:
    """A job triggered mid-run (its spec changed while it worked) runs again as soon as
    it ends, not skipped as "still running" until its next grid instant."""
    scheduler = Scheduler(concurrency=2)
    scheduler.active.set()
    runs: list[datetime] = []
    missed_before = SCHEDULER_MISSED.labels("Again")._value.get()

    async def run(due: datetime) -> None:
        runs.append(datetime.now(UTC))
        if len(runs) == 1:
            scheduler.trigger("again")
        await asyncio.sleep(0.05)

    scheduler.upsert("again", "Again", timedelta(seconds=60), run)
    scheduler.trigger("again")
    await _run_for(scheduler, 0.5)
    assert len(runs) == 2
    assert runs[1] - runs[0] < timedelta(seconds=0.3)
    assert SCHEDULER_MISSED.labels("Again")._value.get() == missed_before


async def test_jobs_waiting_for_a_slot_show_in_the_queue_depth() -> None:
    """A saturated replica says so in watchkeeper_scheduler_queue_depth, per kind."""
    scheduler = Scheduler(concurrency=1)
    scheduler.active.set()
    release = asyncio.Event()
    depth = SCHEDULER_QUEUE.labels("Saturated")

    async def blocked(due: datetime) -> None:
        await release.wait()

    for i in range(3):
        scheduler.upsert(f"busy-{i}", "Saturated", timedelta(seconds=60), blocked)
        scheduler.trigger(f"busy-{i}")
    loop = asyncio.create_task(scheduler.run_forever())
    await asyncio.sleep(0.3)
    waiting = depth._value.get()
    release.set()
    await asyncio.sleep(0.3)
    loop.cancel()
    await asyncio.gather(loop, return_exceptions=True)
    assert (waiting, depth._value.get()) == (2, 0)


async def _spread(interval: timedelta, jobs: int, seconds: float) -> tuple[int, list[float]]:
    """Run `jobs` jobs spread over `interval` for `seconds`: the loop's wake-ups (a start is
    a wake-up when the one before was more than 1 ms earlier) and each start's lateness."""
    scheduler = Scheduler(concurrency=500)
    scheduler.active.set()
    loop_times: list[float] = []
    lateness: list[float] = []

    async def run(due: datetime) -> None:
        loop_times.append(asyncio.get_running_loop().time())
        lateness.append((datetime.now(UTC) - due).total_seconds())

    for i in range(jobs):
        scheduler.upsert(f"spread-{i}", "Spread", interval, run)
    await _run_for(scheduler, seconds)
    times = sorted(loop_times)
    wake_ups = 1 + sum(later - earlier > 0.001 for earlier, later in itertools.pairwise(times))
    return wake_ups, lateness


async def test_jobs_due_close_together_start_on_one_wake_up() -> None:
    """400 jobs spread over a 1 s interval: the loop wakes on multiples of their slack, 2% of
    the interval (about 50 times a second), not once per job, and no job starts early or
    more than that late."""
    wake_ups, lateness = await _spread(SECOND, 400, 2.5)
    assert len(lateness) >= 800
    assert wake_ups < len(lateness) / 3, wake_ups  # about 125 wake-ups; one a job: 1,000
    assert min(lateness) >= 0 and max(lateness) < WAKE_SLACK_SHARE + 0.1


async def test_long_intervals_wake_the_loop_a_few_times_a_second_at_most() -> None:
    """Jobs on a 60 s interval have 1.2 s of slack by the share, capped at MAX_WAKE_SLACK:
    the loop wakes about 4 times a second whatever their number, and none starts more than
    the cap late."""
    wake_ups, lateness = await _spread(timedelta(seconds=60), 6000, 3.0)
    assert len(lateness) >= 250  # about 300 due in 3 s
    assert wake_ups <= 3.0 / MAX_WAKE_SLACK + 2, wake_ups  # one a job: about 300
    assert min(lateness) >= 0 and max(lateness) < MAX_WAKE_SLACK + 0.1
