"""Where an operator process's CPU goes, timed inside it (the scale benchmark's
``--breakdown``; this directory is on the operator's PYTHONPATH only then).

Each function named in $WATCHKEEPER_BREAKDOWN_TARGETS (``module:Class.method`` or
``module:function``, comma-separated; the module is where the name is looked up) is
wrapped: a coroutine is timed step by step (each resumption, until it suspends), a plain
function call by call, on the CPU clock of the thread that runs it. So a coroutine's time
includes what it calls synchronously and excludes the time it waits. The garbage
collector's runs are timed too, by generation (they count within whatever set them off).
At each SIGUSR1 the totals and the process's CPU time are appended as one JSON line to
$WATCHKEEPER_BREAKDOWN.
A sampling profiler over-weights functions that take a few microseconds; this does not,
but each wrapped call costs about a microsecond itself.
"""

from __future__ import annotations

import functools
import gc
import importlib
import inspect
import json
import os
import signal
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Coroutine, Generator
from types import FrameType
from typing import Any

_SECONDS: defaultdict[str, float] = defaultdict(float)
_CALLS: Counter[str] = Counter()
_CLOCK = time.thread_time


class _Timed:
    """Awaits a coroutine, adding the CPU time of each of its steps to `name`."""

    __slots__ = ("coroutine", "name")

    def __init__(self, coroutine: Coroutine[Any, Any, Any], name: str) -> None:
        self.coroutine, self.name = coroutine, name

    def __await__(self) -> Generator[Any, Any, Any]:
        coroutine, name = self.coroutine, self.name
        _CALLS[name] += 1
        value: Any = None
        error: BaseException | None = None
        while True:
            started = _CLOCK()
            try:
                yielded = coroutine.throw(error) if error is not None else coroutine.send(value)
            except StopIteration as stop:
                return stop.value
            finally:
                _SECONDS[name] += _CLOCK() - started
            try:
                value, error = (yield yielded), None
            except BaseException as thrown:  # delivered into the coroutine at its next step
                value, error = None, thrown


def _wrap(function: Callable[..., Any], name: str) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(function):

        @functools.wraps(function)
        async def timed_coroutine(*args: Any, **kwargs: Any) -> Any:
            return await _Timed(function(*args, **kwargs), name)

        return timed_coroutine

    @functools.wraps(function)
    def timed(*args: Any, **kwargs: Any) -> Any:
        _CALLS[name] += 1
        started = _CLOCK()
        try:
            return function(*args, **kwargs)
        finally:
            _SECONDS[name] += _CLOCK() - started

    return timed


def _install(target: str) -> None:
    module_name, _, path = target.partition(":")
    owner: Any = importlib.import_module(module_name)
    *parents, attribute = path.split(".")
    for parent in parents:
        owner = getattr(owner, parent)
    name = f"{module_name.rsplit('.', 1)[-1]}.{path}"
    setattr(owner, attribute, _wrap(getattr(owner, attribute), name))


_GC_STARTED: list[float] = []


def _time_gc(phase: str, info: dict[str, Any]) -> None:
    """The cyclic garbage collector's runs, whichever code set them off."""
    if phase == "start":
        _GC_STARTED.append(_CLOCK())
    elif _GC_STARTED:
        name = f"gc.generation{info.get('generation')}"
        _SECONDS[name] += _CLOCK() - _GC_STARTED.pop()
        _CALLS[name] += 1


def _dump(signum: int, frame: FrameType | None) -> None:
    record = {
        "wall": time.monotonic(),
        "cpu": time.process_time(),
        "seconds": dict(_SECONDS),
        "calls": dict(_CALLS),
    }
    with open(os.environ["WATCHKEEPER_BREAKDOWN"], "a", encoding="utf-8") as output:
        output.write(json.dumps(record) + "\n")


if os.environ.get("WATCHKEEPER_BREAKDOWN"):
    for each in filter(None, os.environ.get("WATCHKEEPER_BREAKDOWN_TARGETS", "").split(",")):
        _install(each)
    gc.callbacks.append(_time_gc)
    signal.signal(signal.SIGUSR1, _dump)
