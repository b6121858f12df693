"""kopf's start-up barrier for indexes, without waking every waiting object at every step.

On start, kopf holds every object's handlers until all indexes are filled: each object of
an indexed kind adds a toggle to one set while its index entry is made and drops it after,
and every object then waits for the set to be empty (kopf 1.45, `ToggleSet`). kopf wakes
every waiter at each add and each drop, although the set's state only changes at the
last drop; with N objects that is N x N wake-ups. At 1,000 ScalingPolicies, 1,000
Deployments and 5,000 pods it kept a core busy for minutes before the first evaluation.

`QuietToggleSet` wakes the waiters of the set only when adding or dropping toggles
changes its state. Waiters on one toggle of the set wait for that toggle's own state,
which only `Toggle.turn_to` changes, and that still wakes everyone as before."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from kopf._cogs.aiokits import aiotoggles

Edit = Callable[[set[aiotoggles.Toggle]], object]


class QuietToggleSet(aiotoggles.ToggleSet):
    """kopf's ToggleSet, notifying only when adding or dropping toggles changes its state."""

    async def make_toggle(
        self, state: bool = False, /, *, name: str | None = None
    ) -> aiotoggles.Toggle:
        toggle = aiotoggles.Toggle(state, name=name, condition=self._condition)
        await self._change(lambda toggles: toggles.add(toggle))
        return toggle

    async def drop_toggle(self, toggle: aiotoggles.Toggle) -> None:
        await self._change(lambda toggles: toggles.discard(toggle))

    async def drop_toggles(self, toggles: Iterable[aiotoggles.Toggle]) -> None:
        dropped = list(toggles)
        await self._change(lambda current: current.difference_update(dropped))

    async def _change(self, edit: Edit) -> None:
        async with self._condition:
            before = self.is_on()
            edit(self._toggles)
            if self.is_on() != before:
                self._condition.notify_all()


def install() -> None:
    """Make kopf build its toggle sets (the index barrier, pausing) as QuietToggleSets."""
    aiotoggles.ToggleSet = QuietToggleSet  # type: ignore[misc]
