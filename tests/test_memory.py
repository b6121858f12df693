"""The malloc arena limit: applied on glibc, left alone when the environment sets one.
Freed heap pages are given back (malloc_trim). The collector's freeze: survivors are
exempt from automatic collections, and what died since the last freeze is freed at the
next one."""

from __future__ import annotations

import gc
import platform
import weakref
from datetime import UTC, datetime

import pytest

from watchkeeper.runtime.memory import (
    FREEZE_JOB,
    limit_malloc_arenas,
    refreeze,
    register_memory_upkeep,
    trim_malloc,
)
from watchkeeper.runtime.scheduler import Scheduler


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_the_arena_limit_is_applied_on_glibc(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MALLOC_ARENA_MAX", raising=False)
    assert limit_malloc_arenas()


def test_an_explicit_malloc_arena_max_wins(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MALLOC_ARENA_MAX", "4")
    assert not limit_malloc_arenas()


@pytest.mark.skipif(platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_freed_heap_pages_are_given_back() -> None:
    held = [bytearray(64 * 1024) for _ in range(1_000)]  # in malloc's heap: not mmap'd
    del held[::2]  # free pages between live blocks, which free() never gives back itself
    assert trim_malloc()
    assert len(held) == 500


class _Cycle:
    def __init__(self) -> None:
        self.me = self


async def test_a_refreeze_exempts_survivors_and_frees_what_died_since() -> None:
    try:
        cycle = _Cycle()  # reachable now, garbage after the first freeze
        gone = weakref.ref(cycle)
        await refreeze(datetime.now(UTC))
        assert gc.get_freeze_count() > 0
        del cycle
        gc.collect()  # an automatic or explicit collection leaves frozen objects alone
        assert gone() is not None
        await refreeze(datetime.now(UTC))  # unfreezes first: the full collection frees it
        assert gone() is None
    finally:
        gc.unfreeze()


def test_the_refreeze_is_a_scheduled_job() -> None:
    scheduler = Scheduler(concurrency=1)
    register_memory_upkeep(scheduler)
    assert FREEZE_JOB in scheduler
