"""kopf's index barrier as QuietToggleSet keeps it: objects wait until every toggle is
dropped, and adding or dropping toggles wakes them only when that changes the set's state
(kopf's own set wakes every waiter at every step: N objects, N x N wake-ups)."""

from __future__ import annotations

import asyncio

from kopf._cogs.aiokits import aiotoggles

from watchkeeper.handlers import kopf_toggles
from watchkeeper.handlers.kopf_toggles import QuietToggleSet

KOPF_TOGGLE_SET = aiotoggles.ToggleSet
WAITERS, OBJECTS = 200, 200


def _counting(base: type[aiotoggles.ToggleSet]) -> type[aiotoggles.ToggleSet]:
    class Counting(base):  # type: ignore[valid-type, misc]
        checks = 0

        def is_on(self) -> bool:
            type(self).checks += 1
            return bool(super().is_on())

    return Counting


async def _start_up(toggle_set: aiotoggles.ToggleSet) -> list[asyncio.Task[None]]:
    """kopf's initial listing: each object adds its toggle, is indexed, drops it and waits
    for all the others; returns the waiters once every object has dropped its toggle."""
    blocker = await toggle_set.make_toggle(name="listing")
    waiters = []
    for i in range(OBJECTS):
        toggle = await toggle_set.make_toggle(name=f"object {i}")
        await toggle_set.drop_toggle(toggle)
        if i < WAITERS:
            waiters.append(asyncio.create_task(toggle_set.wait_for(True)))
        await asyncio.sleep(0)  # the waiter starts waiting
    assert not any(w.done() for w in waiters), "an object went on before the listing ended"
    await toggle_set.drop_toggle(blocker)
    await asyncio.wait_for(asyncio.gather(*waiters), timeout=10)
    return waiters


async def test_objects_wait_for_the_whole_listing_and_are_woken_once():
    quiet = _counting(QuietToggleSet)
    await _start_up(quiet(all))
    assert quiet.checks < 4 * (WAITERS + OBJECTS)
    noisy = _counting(KOPF_TOGGLE_SET)
    await _start_up(noisy(all))
    assert noisy.checks > WAITERS * OBJECTS // 2, "kopf's own set: the cost this avoids"


async def test_a_turned_toggle_still_wakes_the_waiters_of_the_set_and_of_the_toggle():
    paused = QuietToggleSet(any)  # kopf's operator_paused
    toggle = await paused.make_toggle(name="peering")
    unpaused = await paused.make_toggle(True, name="conflict")
    assert paused.is_on()
    await paused.drop_toggles([unpaused])
    assert paused.is_off()
    set_waiter = asyncio.create_task(paused.wait_for(True))
    toggle_waiter = asyncio.create_task(toggle.wait_for(True))
    await asyncio.sleep(0)
    await toggle.turn_to(True)
    await asyncio.wait_for(asyncio.gather(set_waiter, toggle_waiter), timeout=5)


def test_install_makes_kopf_build_quiet_sets():
    try:
        kopf_toggles.install()
        assert type(aiotoggles.ToggleSet(all)) is QuietToggleSet
    finally:
        aiotoggles.ToggleSet = KOPF_TOGGLE_SET  # type: ignore[misc]
