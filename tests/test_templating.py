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
