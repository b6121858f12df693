"""User templates (annotations, message titles and bodies) rendered in Jinja2's sandbox:
a template can read the values it is given and nothing else.

Rendering here is bounded in output size (`limit`) but not in time: whoever runs a user's
template on a shared loop runs it through a bounded renderer (`RenderAll`), which calls
`render_all` in a process it can stop."""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any, Protocol

from jinja2 import StrictUndefined, TemplateError
from jinja2.sandbox import SandboxedEnvironment

_ENV = SandboxedEnvironment(undefined=StrictUndefined, autoescape=False, trim_blocks=True)
MAX_OUTPUT = 16 * 1024
"""Characters a template may produce; rendering stops as soon as it has produced more."""


class TemplateFailed(ValueError):
    """A template could not be compiled or rendered; the message says where and why."""


class RenderAll(Protocol):
    """Renders several templates with one context: `render_all`'s contract, asynchronously
    (a bounded renderer running user templates off the event loop)."""

    async def __call__(
        self, templates: Mapping[str, str], context: Mapping[str, Any]
    ) -> tuple[dict[str, str], list[str]]: ...


@lru_cache(maxsize=1024)
def _compile(source: str) -> Any:
    return _ENV.from_string(source)


def _describe(error: Exception) -> str:
    if isinstance(error, TemplateError):
        return f"{type(error).__name__}: {error.message or error}"
    if isinstance(error, RecursionError):
        return "TemplateError: too deeply nested (recursion)"
    if isinstance(error, MemoryError):
        return "TemplateError: out of memory"
    detail = str(error)
    return f"TemplateError: {type(error).__name__}{': ' + detail if detail else ''}"


def render(source: str, context: Mapping[str, Any], limit: int = MAX_OUTPUT) -> str:
    """Render one template with `context` as its variables, at most `limit` characters.

    Raises TemplateFailed for every failure (a template error, but also an overflow, a
    type error, runaway recursion or memory), never anything else.
    """
    try:
        size, parts = 0, []
        for part in _compile(source).generate(**context):
            size += len(part)
            if size > limit:
                raise TemplateFailed(f"TemplateError: output exceeded {limit} characters")
            parts.append(part)
        return "".join(parts)
    except TemplateFailed:
        raise
    except Exception as error:  # user input: any exception is the template's failure
        raise TemplateFailed(_describe(error)) from None


def render_all(
    templates: Mapping[str, str], context: Mapping[str, Any], limit: int = MAX_OUTPUT
) -> tuple[dict[str, str], list[str]]:
    """Render every template; a failing one keeps its source text and adds an error."""
    rendered: dict[str, str] = {}
    errors: list[str] = []
    for name, source in templates.items():
        try:
            rendered[name] = render(source, context, limit)
        except TemplateFailed as error:
            rendered[name] = source
            errors.append(f"{name}: {error}")
    return rendered, errors
