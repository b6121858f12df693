"""User templates (annotations, message titles and bodies) rendered in Jinja2's sandbox:
a template can read the values it is given and nothing else."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, trim_blocks=True)


class TemplateFailed(ValueError):
    """A template could not be compiled or rendered; the message says where and why."""


@lru_cache(maxsize=1024)
def _compile(source: str) -> Any:
    return _ENV.from_string(source)


def render(source: str, context: Mapping[str, Any]) -> str:
    """Render one template with `context` as its variables."""
    try:
        return str(_compile(source).render(**context))
    except TemplateError as error:
        raise TemplateFailed(f"{type(error).__name__}: {error.message or error}") from None


def render_all(
    templates: Mapping[str, str], context: Mapping[str, Any]
) -> tuple[dict[str, str], list[str]]:
    """Render every template; a failing one keeps its source text and adds an error."""
    rendered: dict[str, str] = {}
    errors: list[str] = []
    for name, source in templates.items():
        try:
            rendered[name] = render(source, context)
        except TemplateFailed as error:
            rendered[name] = source
            errors.append(f"{name}: {error}")
    return rendered, errors
