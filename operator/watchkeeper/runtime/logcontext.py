"""Which object and which run a log line belongs to.

The scheduler binds every job run to its task (``bind_job``); ``JobContextFilter`` then adds
to each log record of that run, and of the tasks it spawns, the object (``k8s_ref``, which
kopf's formatters print: a ``[namespace/name]`` prefix in text, an ``object`` field in JSON)
and a ``correlation_id`` that is new for each run (one evaluation of a policy).
"""

from __future__ import annotations

import logging
import secrets
from contextvars import ContextVar
from dataclasses import dataclass

from watchkeeper.api import API_VERSION, KINDS

_KIND_BY_NAME = {name: kind.kind for kind in KINDS for name in (kind.singular, kind.plural)}


@dataclass(frozen=True)
class JobRun:
    key: str  # the scheduler's job key: "<kind or plural>/<namespace>/<name>" for objects
    correlation_id: str


_CURRENT: ContextVar[JobRun | None] = ContextVar("watchkeeper_job_run", default=None)


def bind_job(key: str) -> str:
    """Mark the current task (and those it spawns) as one run of job ``key``; return the
    run's correlation id. Call it at the start of a task of its own: the binding ends with
    the task."""
    run = JobRun(key, secrets.token_hex(8))
    _CURRENT.set(run)
    return run.correlation_id


def object_ref(key: str) -> dict[str, str] | None:
    """The Watchkeeper object a job key names, if it names one."""
    parts = key.split("/")
    if len(parts) < 3 or parts[-3] not in _KIND_BY_NAME:
        return None
    return {
        "apiVersion": API_VERSION,
        "kind": _KIND_BY_NAME[parts[-3]],
        "namespace": parts[-2],
        "name": parts[-1],
    }


class JobContextFilter(logging.Filter):
    """Adds the current job run's object and correlation id to every record."""

    def filter(self, record: logging.LogRecord) -> bool:
        run = _CURRENT.get()
        if run is not None:
            record.correlation_id = run.correlation_id
            record.job = run.key
            ref = object_ref(run.key)
            if ref is not None and not hasattr(record, "k8s_ref"):
                record.k8s_ref = ref
        return True
