"""What the operator can reach now, for readiness, metrics and the log: one line when a
component goes down (with the first error) and one when it is back, never a line per
failed attempt."""

from __future__ import annotations

import logging
import time

from watchkeeper.runtime.metrics import COMPONENT_UP

LOGGER = logging.getLogger("watchkeeper.health")
COMPONENTS = ("kubernetes", "prometheus")


class Health:
    """Up/down per component, changed by whoever last talked to it."""

    def __init__(self) -> None:
        self._down_since: dict[str, float] = {}
        self._errors: dict[str, str] = {}
        for component in COMPONENTS:
            COMPONENT_UP.labels(component).set(1)

    def report(self, component: str, up: bool, error: str | None = None) -> None:
        """Record the outcome of talking to `component`."""
        if up and component in self._down_since:
            outage = time.monotonic() - self._down_since.pop(component)
            self._errors.pop(component, None)
            COMPONENT_UP.labels(component).set(1)
            LOGGER.warning("%s is reachable again after %.0fs", component, outage)
        elif not up and component not in self._down_since:
            self._down_since[component] = time.monotonic()
            self._errors[component] = error or "unreachable"
            COMPONENT_UP.labels(component).set(0)
            LOGGER.error(
                "%s is failing: %s (holding state and retrying; logged again when it is back)",
                component,
                self._errors[component],
            )

    def problems(self) -> dict[str, str]:
        """Component -> the error that took it down, for components down now."""
        return dict(self._errors)
