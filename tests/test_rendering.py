"""The bounded renderer: user templates run in worker processes with a deadline, a memory
limit and an output cap, and never hold up the event loop."""

from __future__ import annotations

import asyncio
import itertools
import time
from collections.abc import AsyncIterator

import pytest

from watchkeeper.runtime.rendering import BoundedRenderer, RenderLimits

CONTEXT = {"value": 7.4321, "labels": {"service": "checkout"}, "threshold": 5}
BOMB = "{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}"


@pytest.fixture
async def renderer() -> AsyncIterator[BoundedRenderer]:
    bounded = BoundedRenderer()
    yield bounded
    await bounded.aclose()


async def test_a_normal_template_renders(renderer: BoundedRenderer) -> None:
    rendered, errors = await renderer(
        {"summary": "{{ labels.service }} at {{ value | round(1) }}%", "plain": "text"}, CONTEXT
    )
    assert (rendered, errors) == ({"summary": "checkout at 7.4%", "plain": "text"}, [])


async def test_a_runaway_template_is_stopped_without_blocking_the_loop(
    renderer: BoundedRenderer,
) -> None:
    await renderer({"warm": "{{ value }}"}, CONTEXT)  # the worker is started
    ticks: list[float] = []

    async def tick() -> None:
        while True:
            ticks.append(time.monotonic())
            await asyncio.sleep(0.01)

    ticker = asyncio.create_task(tick())
    started = time.monotonic()
    rendered, errors = await renderer({"summary": BOMB, "description": "{{ value }}"}, CONTEXT)
    took = time.monotonic() - started
    ticker.cancel()

    assert took < 10  # stopped (the bomb alone runs for minutes), whatever the machine's load
    assert rendered == {"summary": BOMB, "description": "{{ value }}"}
    assert errors == [
        "summary: TemplateError: rendering exceeded 1s",
        "description: TemplateError: not rendered (summary: rendering exceeded 1s)",
    ]
    during = [t for t in ticks if t <= started + took]
    assert len(during) >= 20, f"the loop ticked {len(during)} times in {took:.2f}s"
    assert max(b - a for a, b in itertools.pairwise(during)) < 1.0  # never the whole render

    # the worker was replaced; the runaway template is not run again for a while
    started = time.monotonic()
    rendered, errors = await renderer({"summary": BOMB, "description": "{{ value }}"}, CONTEXT)
    assert time.monotonic() - started < 0.5
    assert rendered["description"] == "7.4321"
    assert errors == ["summary: TemplateError: rendering exceeded 1s"]


async def test_the_deadline_is_configurable() -> None:
    renderer = BoundedRenderer(RenderLimits(timeout=0.3, workers=1))
    try:
        started = time.monotonic()
        _, errors = await renderer({"x": BOMB}, CONTEXT)
        assert time.monotonic() - started < 10  # stopped; the message names the 0.3 s
    finally:
        await renderer.aclose()
    assert errors == ["x: TemplateError: rendering exceeded 0.3s"]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{% for i in range(10**9) %}{% endfor %}", "OverflowError"),
        ('{% include "x" %}', "TypeError"),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "too deeply nested"),
        ("{% for i in range(99999) %}{{ i }}{% endfor %}", "output exceeded 16384 characters"),
        ("{{ 'x' * 2 ** 31 }}", "out of memory"),
    ],
)
async def test_failures_keep_the_source_and_the_worker(
    renderer: BoundedRenderer, source: str, message: str
) -> None:
    rendered, errors = await renderer({"a": source, "b": "{{ labels.service }}"}, CONTEXT)
    assert rendered == {"a": source, "b": "checkout"}
    assert len(errors) == 1 and errors[0].startswith("a: TemplateError") and message in errors[0]


async def test_concurrent_calls_share_the_workers(renderer: BoundedRenderer) -> None:
    calls = [renderer({"v": "{{ value * 2 }}"}, {"value": n}) for n in range(200)]
    results = await asyncio.gather(*calls)
    assert [r[0]["v"] for r in results] == [str(n * 2) for n in range(200)]


async def test_a_context_that_cannot_be_sent_is_an_error_not_an_exception(
    renderer: BoundedRenderer,
) -> None:
    rendered, errors = await renderer({"a": "{{ value }}"}, {"value": lambda: 1})
    assert rendered == {"a": "{{ value }}"}
    assert len(errors) == 1 and errors[0].startswith("a: TemplateError: could not render (")
    assert await renderer({"a": "{{ value }}"}, {"value": 2}) == ({"a": "2"}, [])
