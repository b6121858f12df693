"""Bounded rendering of user templates: never on the event loop, never unbounded.

`BoundedRenderer` renders with `engine.templating.render` in worker processes (started with
"spawn", each with a memory limit), driven from a small named thread pool. A render call
that takes longer than its deadline has its worker killed (and replaced on next use); the
template that was rendering fails with "TemplateError: rendering exceeded 1s" and keeps its
source text, like any failed template. Output is capped inside the worker.

A template that ran over its deadline is not run again for a while (`penalty`): one
tenant's slow template then costs one deadline per `penalty`, not one per evaluation of
each of its alerts. Identical (templates, context) calls are answered from a small cache.
"""

from __future__ import annotations

import asyncio
import json
import multiprocessing
import resource
import time
from collections import OrderedDict
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from ctypes import c_int
from dataclasses import dataclass
from enum import Enum
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from typing import Any

from watchkeeper.engine.templating import MAX_OUTPUT, TemplateFailed, render

STARTUP_TIMEOUT = 60.0
"""Seconds a new worker may take to import its modules (not counted in a deadline)."""
Result = tuple[str | None, str | None]
"""(rendered text, None) or (None, error) for one template."""


class Stop(Enum):
    """Why a render call stopped short."""

    DEADLINE = "deadline"
    CRASH = "crash"


@dataclass(frozen=True)
class Stopped:
    """A render call stopped at template `index` (the results of the call are lost)."""

    index: int
    reason: Stop


@dataclass(frozen=True)
class RenderLimits:
    """How much one render call may take."""

    timeout: float = 1.0
    """Seconds per render call (all templates of the call together)."""
    max_output: int = MAX_OUTPUT
    """Characters per template."""
    memory: int = 512 * 1024 * 1024
    """Bytes of address space per worker process."""
    workers: int = 2
    """Worker processes (and render threads)."""
    penalty: float = 600.0
    """Seconds a template that ran over its deadline is not run again."""
    cache_size: int = 4096
    """Render calls remembered, most recently used first."""


def _serve(conn: Connection, progress: c_int, memory: int) -> None:
    """A worker process: answer each request with its results, in one message, until the
    pipe closes; `progress` is the index of the template being rendered."""
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    conn.send("ready")
    while True:
        try:
            templates, context, limit = conn.recv()
        except EOFError:
            return
        results: list[Result] = []
        for index, source in enumerate(templates):
            progress.value = index
            try:
                results.append((render(source, context, limit), None))
            except TemplateFailed as error:
                results.append((None, str(error)))
        conn.send(results)


class _Worker:
    """One worker process, used by one render thread at a time."""

    def __init__(self, memory: int) -> None:
        self._memory = memory
        self._process: BaseProcess | None = None
        self._conn: Connection | None = None
        self._context = multiprocessing.get_context("spawn")
        self._progress: c_int = self._context.RawValue("i", 0)

    def _start(self) -> Connection:
        conn, child = self._context.Pipe()
        process = self._context.Process(
            target=_serve,
            args=(child, self._progress, self._memory),
            name="watchkeeper-render",
            daemon=True,
        )
        process.start()
        child.close()
        self._process, self._conn = process, conn
        if not conn.poll(STARTUP_TIMEOUT) or conn.recv() != "ready":
            self.stop()
            raise RuntimeError("the template renderer did not start")
        return conn

    def stop(self) -> None:
        """Kill the process (a new one starts on next use)."""
        if self._process is not None:
            self._process.kill()
            self._process.join(5)
        if self._conn is not None:
            self._conn.close()
        self._process = self._conn = None

    def run(
        self, sources: list[str], context: dict[str, Any], limit: int, timeout: float
    ) -> list[Result] | Stopped:
        """Blocking: the results in order, or where and why the call stopped short."""
        conn = self._conn or self._start()
        deadline = time.monotonic() + timeout
        self._progress.value = 0
        conn.send((sources, context, limit))
        try:
            if conn.poll(max(deadline - time.monotonic(), 0.0)):
                results: list[Result] = conn.recv()
                return results
            reason = Stop.DEADLINE
        except (EOFError, OSError):
            reason = Stop.CRASH
        stopped = Stopped(self._progress.value, reason)
        self.stop()
        return stopped


class BoundedRenderer:
    """`engine.templating.RenderAll`, bounded in time, memory and output size."""

    def __init__(self, limits: RenderLimits | None = None) -> None:
        self.limits = limits or RenderLimits()
        self._executor = ThreadPoolExecutor(
            self.limits.workers, thread_name_prefix="watchkeeper-render"
        )
        self._workers = [_Worker(self.limits.memory) for _ in range(self.limits.workers)]
        self._idle: asyncio.Queue[_Worker] = asyncio.Queue()
        for worker in self._workers:
            self._idle.put_nowait(worker)
        self._cache: OrderedDict[str, tuple[dict[str, str], list[str]]] = OrderedDict()
        self._over_budget: OrderedDict[str, float] = OrderedDict()

    async def __call__(
        self, templates: Mapping[str, str], context: Mapping[str, Any]
    ) -> tuple[dict[str, str], list[str]]:
        """Render every template; a failing one keeps its source text and adds an error."""
        key = _cache_key(templates, context)
        if key is not None and key in self._cache:
            self._cache.move_to_end(key)
            cached, failures = self._cache[key]
            return dict(cached), list(failures)
        results: dict[str, Result] = {}
        runnable = {}
        for name, source in templates.items():
            if self._penalized(source):
                results[name] = (None, self._exceeded())
            else:
                runnable[name] = source
        complete = len(runnable) == len(templates)  # a skipped template is not cached
        if runnable:
            outcome = await self._run(runnable, dict(context))
            complete = complete and not isinstance(outcome, Stopped)
            results |= self._results(runnable, outcome)
        rendered: dict[str, str] = {}
        errors: list[str] = []
        for name, source in templates.items():
            text, error = results[name]
            rendered[name] = source if text is None else text
            if error is not None:
                errors.append(f"{name}: {error}")
        if key is not None and complete:
            self._remember(key, (dict(rendered), list(errors)))
        return rendered, errors

    async def _run(
        self, templates: dict[str, str], context: dict[str, Any]
    ) -> list[Result] | Stopped | str:
        """Run on an idle worker; the worker is free again only when its thread is done.

        An error text if the call could not run at all."""
        worker = await self._idle.get()
        loop = asyncio.get_running_loop()
        limits = self.limits
        future = loop.run_in_executor(
            self._executor,
            worker.run,
            list(templates.values()),
            context,
            limits.max_output,
            limits.timeout,
        )
        future.add_done_callback(lambda _: self._idle.put_nowait(worker))
        try:
            return await asyncio.shield(future)
        except Exception as error:  # the context does not pickle, the worker cannot start
            return f"TemplateError: could not render ({type(error).__name__})"

    def _results(
        self, templates: dict[str, str], outcome: list[Result] | Stopped | str
    ) -> dict[str, Result]:
        if isinstance(outcome, list):
            return dict(zip(templates, outcome, strict=True))
        names = list(templates)
        if isinstance(outcome, str):
            return {name: (None, outcome) for name in names}
        culprit = names[outcome.index]
        if outcome.reason == Stop.DEADLINE:
            self._penalize(templates[culprit])
            why = self._exceeded()
        else:
            why = "TemplateError: the renderer stopped (out of memory?)"
        others = f"TemplateError: not rendered ({culprit}: {why.removeprefix('TemplateError: ')})"
        return {name: (None, why if name == culprit else others) for name in names}

    def _exceeded(self) -> str:
        return f"TemplateError: rendering exceeded {self.limits.timeout:g}s"

    def _penalized(self, source: str) -> bool:
        until = self._over_budget.get(source)
        if until is None:
            return False
        if until > time.monotonic():
            return True
        del self._over_budget[source]
        return False

    def _penalize(self, source: str) -> None:
        self._over_budget[source] = time.monotonic() + self.limits.penalty
        self._over_budget.move_to_end(source)
        while len(self._over_budget) > 256:
            self._over_budget.popitem(last=False)

    def _remember(self, key: str, value: tuple[dict[str, str], list[str]]) -> None:
        self._cache[key] = value
        while len(self._cache) > self.limits.cache_size:
            self._cache.popitem(last=False)

    async def aclose(self) -> None:
        """Stop the worker processes and the render threads."""
        self._executor.shutdown(wait=False, cancel_futures=True)
        for worker in self._workers:
            worker.stop()


def _cache_key(templates: Mapping[str, str], context: Mapping[str, Any]) -> str | None:
    try:
        return json.dumps([list(templates.items()), context], sort_keys=True, default=repr)
    except (TypeError, ValueError):
        return None
