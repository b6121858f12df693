"""Message texts: the variables a template sees, the default templates the channel types
share, and per-channel title/body overrides rendered in the Jinja2 sandbox."""

from __future__ import annotations

import dataclasses
from typing import Any

from watchkeeper.api.notificationchannel import Templates
from watchkeeper.engine.templating import RenderAll, TemplateFailed, render, render_all
from watchkeeper.notify.message import Event, Notification
from watchkeeper.notify.sender import Message

HEADLINES = {
    Event.FIRING: "Firing",
    Event.SEVERITY_CHANGED: "Severity changed",
    Event.REPEAT: "Still firing",
    Event.RESOLVED: "Resolved",
    Event.ACKNOWLEDGED: "Acknowledged",
    Event.TEST: "Test",
    Event.SUMMARY: "Held back by the rate limit",
}

TITLE = (
    "{{ headline }}{% if severity %} [{{ severity }}]{% endif %}: {{ summary or policy or alert }}"
)
"""Default title: `Firing [Critical]: Error rate of checkout is 7.4%`."""

NL = '{{ "\\n" }}'
"""A line break that survives trim_blocks when it follows a block tag."""
_FACTS = (
    "{% if severity %}{B}Severity{B}: {{ severity }}"
    "{% if previous_severity %} (was {{ previous_severity }}){% endif %}NL{% endif %}"
    "{% if value is not none %}{B}Value{B}: {{ value_text }}"
    "{% if threshold is not none %} (threshold {{ threshold_text }}){% endif %}NL{% endif %}"
    "{% if policy %}{B}Alert{B}: {{ namespace }}/{{ alert }} (policy {{ policy }})NL{% endif %}"
    "{% if labels %}{B}Labels{B}: {% for k, v in labels | dictsort %}{{ k }}={{ v }}"
    "{% if not loop.last %}, {% endif %}{% endfor %}NL{% endif %}"
)
_NOTES = (
    "{% if acknowledged_by %}{B}Acknowledged by{B} {{ acknowledged_by }}"
    "{% if acknowledgement_comment %}: {{ acknowledgement_comment }}{% endif %}NL{% endif %}"
    "{% if resolved_at %}{B}Resolved at{B} {{ resolved_at }}NL{% endif %}"
)
_TEXT = "{% if description or summary %}{{ description or summary }}NL{% endif %}"


def _bold(template: str, marker: str) -> str:
    return template.replace("{B}", marker).replace("NL", NL)


BODY = _bold(_TEXT + _NOTES + _FACTS, "")
"""Default plain-text body: the description, then the facts one per line."""
CHAT_BODY = _bold(_TEXT + _NOTES, "*")
"""Default body where severity, value and labels go into structured fields (Slack mrkdwn)."""
CARD_BODY = _bold(_TEXT + _NOTES, "**")
"""The same for Adaptive Cards (Markdown)."""
SHORT_BODY = "{{ title }} ({{ namespace }}/{{ alert }})"
"""Default for SMS: one line."""
ANNOTATION_TITLE = "{{ summary }}"
ANNOTATION_BODY = "{{ description }}"
"""Defaults for the Alertmanager formats: summary and description annotations as given."""


def _number(value: float | None) -> str:
    return "" if value is None else f"{value:.4g}"


def context(notification: Notification, channel: str) -> dict[str, Any]:
    """The variables of a message template."""
    variables = {f.name: getattr(notification, f.name) for f in dataclasses.fields(notification)}
    variables.update(
        event=notification.event.value,
        headline=HEADLINES[notification.event],
        labels=dict(notification.labels),
        annotations=dict(notification.annotations),
        value_text=_number(notification.value),
        threshold_text=_number(notification.threshold),
        channel=channel,
        dedup_key=notification.dedup_key,
    )
    return variables


def _default(source: str, variables: dict[str, Any], warnings: list[str], name: str) -> str:
    """A default template (ours, trusted to be quick); should it fail, a plain text."""
    try:
        return render(source, variables)
    except TemplateFailed as error:
        warnings.append(f"default {name} template failed: {error}")
        return f"{variables['headline']}: {variables['alert'] or variables['channel']}"


def _compose(
    variables: dict[str, Any],
    name: str,
    default: str,
    outcome: tuple[dict[str, str], list[str]] | None,
    warnings: list[str],
) -> str:
    """The text of `name`: the override's (`outcome`, None if none) if it rendered, else
    the default's."""
    text = None
    if outcome is not None:
        rendered, errors = outcome
        if errors:
            reasons = "; ".join(e.removeprefix(f"{name}: ") for e in errors)
            warnings.append(f"templates.{name}: {reasons}; the default was used")
        else:
            text = rendered[name]
    if text is None:
        text = _default(default, variables, warnings, name)
    return text.strip()


def render_message(
    notification: Notification,
    channel: str,
    defaults: tuple[str, str],
    overrides: Templates | None,
) -> tuple[Message, str]:
    """Title and body, and a warning if an override failed (its default is used instead).

    The body template also sees the rendered `title`. Never raises. Renders on the
    calling thread: for user templates on the event loop, use `render_message_bounded`.
    """
    variables = context(notification, channel)
    warnings: list[str] = []
    for name, default in zip(("title", "body"), defaults, strict=True):
        source = getattr(overrides, name, None) if overrides else None
        outcome = render_all({name: source}, variables) if source is not None else None
        variables[name] = _compose(variables, name, default, outcome, warnings)
    return Message(title=variables["title"], body=variables["body"]), "; ".join(warnings)


async def render_message_bounded(
    notification: Notification,
    channel: str,
    defaults: tuple[str, str],
    overrides: Templates | None,
    render_user: RenderAll,
) -> tuple[Message, str]:
    """`render_message`, with the channel's own templates rendered by `render_user` (a
    bounded renderer); the defaults are ours and render in place. Never raises."""
    variables = context(notification, channel)
    warnings: list[str] = []
    for name, default in zip(("title", "body"), defaults, strict=True):
        source = getattr(overrides, name, None) if overrides else None
        outcome = None
        if source is not None:
            try:
                outcome = await render_user({name: source}, dict(variables))
            except Exception as error:  # a defect of the renderer costs one template only
                outcome = ({}, [f"{name}: TemplateError: {type(error).__name__}"])
        variables[name] = _compose(variables, name, default, outcome, warnings)
    return Message(title=variables["title"], body=variables["body"]), "; ".join(warnings)


def facts(notification: Notification) -> list[tuple[str, str]]:
    """Name/value pairs for structured message fields (Slack fields, a Teams FactSet)."""
    n = notification
    pairs: list[tuple[str, str]] = []
    if n.severity:
        was = f" (was {n.previous_severity})" if n.previous_severity else ""
        pairs.append(("Severity", f"{n.severity}{was}"))
    if n.value is not None:
        pairs.append(("Value", _number(n.value)))
    if n.threshold is not None:
        pairs.append(("Threshold", _number(n.threshold)))
    if n.policy:
        pairs += [("Alert", f"{n.namespace}/{n.alert}"), ("Policy", n.policy)]
    return pairs


def cut(text: str, limit: int) -> str:
    """`text` shortened to `limit` characters, marked with an ellipsis when cut."""
    return text if len(text) <= limit else text[: limit - 1] + "…"
