"""The upkeep of Silences: one scheduler job that
writes each Silence's state (Pending, Active, Expired) and its resolved times when they
change, and deletes a Silence expired for longer than --silence-retention."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from watchkeeper.api import SILENCE
from watchkeeper.api.timestamps import format_time
from watchkeeper.engine.silences import Silence
from watchkeeper.kube.calls import KubeError
from watchkeeper.kube.silences import SilenceStore
from watchkeeper.runtime.scheduler import Scheduler
from watchkeeper.runtime.services import Services

LOGGER = logging.getLogger("watchkeeper.silences")
FIELD_MANAGER = "watchkeeper-silences"
"""Field manager of a Silence's state, startsAt and endsAt."""
JOB_KEY = "silences/upkeep"
UPKEEP_INTERVAL = timedelta(seconds=5)
"""How late a Silence's shown state may be (its effect on alerts is computed from its
times at each evaluation, never from the shown state)."""


def register_silence_upkeep(services: Services, scheduler: Scheduler) -> None:
    """The upkeep as a scheduler job (it runs while this replica leads)."""
    scheduler.upsert(JOB_KEY, "Silences", UPKEEP_INTERVAL, SilenceUpkeep(services).run)


class SilenceUpkeep:
    """Shows each Silence's state and deletes those expired past the retention."""

    def __init__(self, services: Services) -> None:
        self.services = services
        self.store = SilenceStore(services.kube.api_client)

    async def run(self, due: datetime) -> None:
        retention = timedelta(seconds=self.services.config.silence_retention)
        book = self.services.silences
        for body in self.services.objects.all(SILENCE):
            silence = book.parsed(body)
            if silence is None:
                continue
            namespace = str(body["metadata"]["namespace"])
            try:
                if silence.removable(due, retention):
                    await self._delete(namespace, silence)
                else:
                    await self._show(namespace, silence, body.get("status") or {}, due)
            except KubeError as error:  # the next run tries again
                LOGGER.warning("Silence %s/%s: %s", namespace, silence.name, error)

    async def _show(
        self, namespace: str, silence: Silence, status: Mapping[str, Any], now: datetime
    ) -> None:
        fields = {
            "state": silence.state(now).value,
            "startsAt": format_time(silence.starts_at),
            "endsAt": format_time(silence.ends_at),
        }
        if all(status.get(k) == v for k, v in fields.items()):
            return
        await self.services.kube.apply_status(
            SILENCE, namespace, silence.name, fields, FIELD_MANAGER
        )

    async def _delete(self, namespace: str, silence: Silence) -> None:
        ended = format_time(silence.ends_at)
        LOGGER.info(
            "Silence %s/%s (ended %s): retention over, deleted", namespace, silence.name, ended
        )
        await self.store.delete(namespace, silence.name)
