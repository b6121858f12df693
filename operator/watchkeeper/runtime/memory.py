"""Process-wide memory settings, applied once before the operator starts any thread.

glibc gives each thread that allocates its own malloc arena (up to 8 per core), and memory
freed in one arena is not reused by another: with the Kubernetes client's thread pool, the
template workers' feeders and the event loop, an operator's resident size grows by tens of
MiB of free-but-held heap. Two arenas is the common setting for Python services
(MALLOC_ARENA_MAX=2); it is applied here so it holds however the operator is started. An
explicit MALLOC_ARENA_MAX in the environment wins."""

from __future__ import annotations

import ctypes
import ctypes.util
import os

M_ARENA_MAX = -8  # from glibc's malloc.h
ARENAS = 2


def limit_malloc_arenas(arenas: int = ARENAS) -> bool:
    """Limit glibc's malloc arenas; False where there is no glibc (nothing to do)."""
    if "MALLOC_ARENA_MAX" in os.environ:
        return False
    name = ctypes.util.find_library("c")
    if name is None:
        return False
    try:
        libc = ctypes.CDLL(name)
        return bool(libc.mallopt(M_ARENA_MAX, arenas))
    except (OSError, AttributeError):  # not glibc (musl has no mallopt arenas)
        return False
