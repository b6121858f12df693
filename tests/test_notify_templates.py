"""Channel title/body templates: a failing or runaway override falls back to the default
with a warning, and never costs a notification round its other channels."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest

from tests.notify_support import FIRING, Cluster, channel
from watchkeeper.api.notificationchannel import Templates
from watchkeeper.notify.dispatch import Outcome
from watchkeeper.notify.templates import TITLE, render_message, render_message_bounded
from watchkeeper.runtime.rendering import BoundedRenderer

DEFAULTS = (TITLE, "{{ title }} | {{ description }}")
BOMB = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"
DEFAULT_TITLE = "Firing [Critical]: Error rate of checkout is 7.4%"


@pytest.fixture
async def renderer() -> AsyncIterator[BoundedRenderer]:
    bounded = BoundedRenderer()
    yield bounded
    await bounded.aclose()


@pytest.mark.parametrize(
    ("title", "reason"),
    [
        ("{% for i in range(10**9) %}{% endfor %}", "OverflowError"),
        ('{% include "x" %}', "TypeError"),
        ("{{ nope }}", "'nope' is undefined"),
    ],
)
def test_a_failing_title_falls_back_to_the_default(title: str, reason: str) -> None:
    message, warning = render_message(FIRING, "ops", DEFAULTS, Templates(title=title))
    assert message.title == DEFAULT_TITLE
    assert message.body == f"{DEFAULT_TITLE} | {FIRING.description}"
    assert warning.startswith("templates.title: ") and reason in warning
    assert warning.endswith("; the default was used")


async def test_a_runaway_title_is_stopped_and_the_body_still_renders(
    renderer: BoundedRenderer,
) -> None:
    overrides = Templates(title=BOMB, body="{{ title }} in {{ namespace }}")
    started = time.monotonic()
    message, warning = await render_message_bounded(FIRING, "ops", DEFAULTS, overrides, renderer)
    assert time.monotonic() - started < 10  # stopped (the bomb alone runs for minutes)
    assert message.title == DEFAULT_TITLE
    assert message.body == f"{DEFAULT_TITLE} in shop"
    assert warning == (
        "templates.title: TemplateError: rendering exceeded 1s; the default was used"
    )


async def test_bounded_overrides_render_like_in_place_ones(renderer: BoundedRenderer) -> None:
    overrides = Templates(title="{{ labels.service | upper }}", body="{{ title }}!")
    bounded = await render_message_bounded(FIRING, "ops", DEFAULTS, overrides, renderer)
    assert bounded == render_message(FIRING, "ops", DEFAULTS, overrides)
    assert bounded[0].title == "CHECKOUT" and bounded[0].body == "CHECKOUT!"


async def test_a_renderer_that_raises_costs_only_its_template() -> None:
    async def broken(
        templates: Mapping[str, str], context: Mapping[str, Any]
    ) -> tuple[dict[str, str], list[str]]:
        raise RuntimeError("renderer defect")

    message, warning = await render_message_bounded(
        FIRING, "ops", DEFAULTS, Templates(title="{{ alert }}"), broken
    )
    assert message.title == DEFAULT_TITLE
    assert warning == "templates.title: TemplateError: RuntimeError; the default was used"


async def test_a_failing_title_does_not_abort_the_round(receiver) -> None:
    cluster = Cluster()
    broken = channel(
        "broken",
        {
            "type": "Webhook",
            "webhook": {"url": f"{receiver.url}/broken"},
            "templates": {"title": "{% for i in range(10**9) %}{% endfor %}"},
        },
    )
    fine = channel("fine", {"type": "Webhook", "webhook": {"url": f"{receiver.url}/fine"}})
    dispatcher = cluster.dispatcher()
    try:
        outcomes = await dispatcher.deliver_many([broken, fine], FIRING)
    finally:
        await dispatcher.aclose()
    assert [o.outcome for o in outcomes] == [Outcome.DELIVERED, Outcome.DELIVERED]
    assert "OverflowError" in outcomes[0].error
    assert len(receiver.to("/broken")) == len(receiver.to("/fine")) == 1
    assert receiver.to("/broken")[0].json()["alerts"][0]["annotations"]["summary"] == (
        FIRING.summary
    )
    assert {name for _, name, _ in cluster.writes} == {"broken", "fine"}
