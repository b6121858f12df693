"""Process-wide memory settings: malloc arenas, and the collector's long-lived objects.

**Arenas** (applied once before the operator starts any thread). glibc gives each thread
that allocates its own malloc arena (up to 8 per core), and memory freed in one arena is
not reused by another: with the Kubernetes client's thread pool, the template workers'
feeders and the event loop, an operator's resident size grows by tens of MiB of free-but-
held heap. Two arenas is the common setting for Python services (MALLOC_ARENA_MAX=2); it is
applied here so it holds however the operator is started. An explicit MALLOC_ARENA_MAX in
the environment wins.

**Frozen long-lived objects.** CPython collects its oldest generation whenever a quarter
as many objects again have survived into it. An operator holds every watched object's body
and parsed spec, and its evaluations keep a status per policy for an interval, so it
scanned all of those about once a minute (250 ms each at 1,000 ScalingPolicies: README,
"Scale"). Instead, a scheduler job collects everything once every FREEZE_EVERY and freezes
what survives (`gc.freeze`): the automatic collections in between scan only what was
allocated since. Unfreezing first lets that one full collection free what has died in the
meantime, so nothing is kept for good. The first freeze comes FIRST_FREEZE seconds after
the replica starts leading, once start-up's objects are in.

**Freed pages given back.** After that full collection, malloc_trim hands the free pages
of the heap back to the system: start-up's initial listings (every watched pod's body at
once) leave about 20 MiB free-but-held at 5,000 pods otherwise (README, "Scale")."""

from __future__ import annotations

import ctypes
import ctypes.util
import gc
import os
from datetime import datetime, timedelta

from watchkeeper.runtime.scheduler import Scheduler

M_ARENA_MAX = -8  # from glibc's malloc.h
ARENAS = 2
FREEZE_JOB = "memory/freeze"
FREEZE_EVERY = timedelta(minutes=10)
FIRST_FREEZE = 30.0


def _libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        return None if name is None else ctypes.CDLL(name)
    except OSError:
        return None


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Limit glibc's malloc arenas; False where there is no glibc (nothing to do)."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    try:
        libc = _libc()
        return libc is not None and bool(libc.mallopt(M_ARENA_MAX, arenas))
    except AttributeError:  # not glibc (musl has no mallopt arenas)
        return False


def trim_malloc() -> bool:
    """Give the free pages of malloc's heap back to the system (glibc's malloc_trim);
    False where there is no glibc, or nothing was given back."""
    try:
        libc = _libc()
        return libc is not None and bool(libc.malloc_trim(0))
    except AttributeError:  # not glibc
        return False


async def refreeze(due: datetime) -> None:
    """Collect everything, give the freed pages back, then exempt the survivors from
    automatic collections."""
    gc.unfreeze()
    gc.collect()
    trim_malloc()
    gc.freeze()


def register_memory_upkeep(scheduler: Scheduler) -> None:
    scheduler.upsert(FREEZE_JOB, "Memory", FREEZE_EVERY, refreeze)
