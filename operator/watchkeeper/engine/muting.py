"""What a resolution owes while an alert is muted (silenced or inhibited) or some of its
channels are held by a time window. Pure.

As in Alertmanager, a cycle that ends while muted is never announced: what it still owed
the quiet channels is dropped and they are owed no Resolved. A channel that asks for it
(`resolvedAfterMute`) and was told of the firing is owed the Resolved anyway; it waits
in the outbox like everything else owed while muted, and goes out when the muting ends."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from watchkeeper.api.alert import Obligation, ToldChannel
from watchkeeper.api.timestamps import format_time


def quiet_resolution(
    outbox: Sequence[Obligation],
    told: Sequence[ToldChannel],
    cycle: datetime | None,
    channels: Sequence[str],
    quiet: frozenset[str] | None,
    asks: frozenset[str],
) -> tuple[tuple[Obligation, ...], list[str]]:
    """(the outbox without what the cycle owed the quiet channels, the channels owed the
    Resolved). `quiet` None means every channel (the alert itself is muted)."""
    stamp = format_time(cycle) if cycle else None

    def is_quiet(channel: str) -> bool:
        return quiet is None or channel in quiet

    kept = tuple(o for o in outbox if o.cycle != stamp or not is_quiet(o.channel))
    told_of_it = {t.channel for t in told if t.cycle == stamp}
    owed = [c for c in channels if not is_quiet(c) or (c in asks and c in told_of_it)]
    return kept, owed
