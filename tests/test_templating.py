"""Sandboxed templates."""

from __future__ import annotations

import pytest

from watchkeeper.engine.templating import TemplateFailed, render, render_all

CONTEXT = {
    "value": 7.4321,
    "labels": {"service": "checkout"},
    "severity": "Critical",
    "threshold": 5,
}


def test_renders_values_labels_and_filters() -> None:
    text = render(
        "{{ labels.service }} is failing {{ value | round(1) }}% (> {{ threshold }})", CONTEXT
    )
    assert text == "checkout is failing 7.4% (> 5)"


@pytest.mark.parametrize(
    "source",
    [
        "{{ ''.__class__.__mro__[1].__subclasses__() }}",
        "{{ labels.__class__.__init__.__globals__ }}",
        "{{ cycler.__init__.__globals__.os }}",
    ],
)
def test_sandbox_blocks_escapes(source: str) -> None:
    with pytest.raises(TemplateFailed):
        render(source, CONTEXT)


def test_unknown_variable_is_an_error_not_an_empty_string() -> None:
    with pytest.raises(TemplateFailed, match="UndefinedError"):
        render("{{ labels.pod }}", CONTEXT)


def test_render_all_keeps_the_source_of_a_failing_template() -> None:
    rendered, errors = render_all({"summary": "{{ value }}", "description": "{{ nope }}"}, CONTEXT)
    assert rendered == {"summary": "7.4321", "description": "{{ nope }}"}
    assert errors == ["description: UndefinedError: 'nope' is undefined"]


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{% for i in range(10**9) %}{% endfor %}", "OverflowError: Range too big"),
        ('{% include "other" %}', "TypeError: no loader"),
        ('{% import "other" as o %}', "TypeError: no loader"),
        ("{% macro f() %}{{ f() }}{% endmacro %}{{ f() }}", "too deeply nested"),
        ("{{ 1 / 0 }}", "ZeroDivisionError"),
        ("{% for x in 5 %}{% endfor %}", "TypeError"),
    ],
)
def test_every_failure_is_a_template_failure(source: str, message: str) -> None:
    with pytest.raises(TemplateFailed, match=message):
        render(source, CONTEXT)


def test_output_stops_at_the_limit() -> None:
    with pytest.raises(TemplateFailed, match="output exceeded 100 characters"):
        render("{% for i in range(100000) %}{{ i }}{% endfor %}", CONTEXT, limit=100)
    assert render("{{ 'x' * 100 }}", CONTEXT, limit=100) == "x" * 100


def test_render_all_reports_every_failure_and_renders_the_rest() -> None:
    rendered, errors = render_all(
        {"a": "{{ range(10**9) | list }}", "b": "{{ labels.service }}"}, CONTEXT
    )
    assert rendered == {"a": "{{ range(10**9) | list }}", "b": "checkout"}
    assert [e.split(":")[0] for e in errors] == ["a"]
