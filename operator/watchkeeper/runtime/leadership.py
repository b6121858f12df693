"""Leader election over a coordination.k8s.io Lease, with client-go's semantics: the
leader renews every `retry` seconds; a standby takes over once the Lease has not changed
for `duration` seconds of its own clock (no trust in other machines' clocks); a leader
that cannot renew within `renew_deadline` stops leading before anyone else may start.

Every replica watches and keeps its caches warm; only the leader runs the scheduler."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime

from watchkeeper.kube.calls import KubeError
from watchkeeper.kube.leases import LeaseRecord, Leases
from watchkeeper.runtime.metrics import LEADER

LOGGER = logging.getLogger("watchkeeper.leadership")


@dataclass(frozen=True)
class LeaseTiming:
    duration: float = 10.0
    renew_deadline: float = 7.0
    retry: float = 2.0


class LeaderElector:
    """Calls `on_start` when this replica starts leading and `on_stop` when it stops."""

    def __init__(
        self,
        leases: Leases,
        identity: str,
        on_start: Callable[[], Awaitable[None]],
        on_stop: Callable[[], Awaitable[None]],
        timing: LeaseTiming = LeaseTiming(),
    ) -> None:
        self.leases = leases
        self.identity = identity
        self.timing = timing
        self._on_start = on_start
        self._on_stop = on_stop
        self.leading = False
        self._seen: tuple[str, str] | None = None  # (resourceVersion, holder) last observed
        self._seen_at = 0.0
        self._renewed_at = 0.0

    async def run_forever(self) -> None:
        try:
            while True:
                await self._attempt()
                await asyncio.sleep(self.timing.retry)
        finally:
            if self.leading:
                await self._set_leading(False)

    async def _attempt(self) -> None:
        won: bool | None  # None: the API server did not say
        try:
            won = await self._try_acquire_or_renew()
        except KubeError as error:
            won = None
            LOGGER.debug("Lease %s: %s", self.leases.name, error)
        now = time.monotonic()
        if won:
            self._renewed_at = now
            if not self.leading:
                await self._set_leading(True)
        elif self.leading and (won is False or now - self._renewed_at > self.timing.renew_deadline):
            await self._set_leading(False)

    async def _try_acquire_or_renew(self) -> bool:
        record = await self.leases.read()
        now = time.monotonic()
        if record is not None and (record.resource_version, record.holder) != self._seen:
            self._seen, self._seen_at = (record.resource_version, record.holder), now
        if record is None:
            return await self._write(None, 0)
        if record.holder == self.identity:
            return await self._write(record, record.transitions)
        if record.holder and now - self._seen_at < max(record.duration_seconds, 1):
            return False  # someone else holds a live lease
        LOGGER.warning(
            "Lease %s of %s expired; taking over as %s",
            self.leases.name,
            record.holder or "nobody",
            self.identity,
        )
        return await self._write(record, record.transitions + 1)

    async def _write(self, record: LeaseRecord | None, transitions: int) -> bool:
        try:
            await self.leases.write(
                self.identity,
                datetime.now(UTC),
                int(self.timing.duration),
                transitions,
                record.resource_version if record else None,
            )
        except KubeError as error:
            if error.status == 409:
                return False  # another replica won the race
            raise
        return True

    async def _set_leading(self, leading: bool) -> None:
        self.leading = leading
        LEADER.set(1 if leading else 0)
        if leading:
            LOGGER.warning("%s leads now (Lease %s)", self.identity, self.leases.name)
            await self._on_start()
        else:
            LOGGER.warning("%s stopped leading (Lease %s)", self.identity, self.leases.name)
            await self._on_stop()
