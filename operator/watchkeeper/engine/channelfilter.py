"""Which transitions a channel wants: its minimum severity and sendResolved. Pure.

Events are given by name (Firing, SeverityChanged, Repeat, Resolved, Acknowledged, Test,
Summary) so this module needs nothing from the notification layer.
"""

from __future__ import annotations

from watchkeeper.api.common import Severity

FOLLOW_UPS = frozenset({"SeverityChanged", "Resolved", "Acknowledged"})
"""Events about an alert the channel may already have been told about."""
ALWAYS = frozenset({"Test", "Summary"})


def _rank(severity: str | None) -> int:
    return Severity(severity).rank if severity in set(Severity) else -1


def skip_reason(
    event: str,
    severity: str | None,
    previous_severity: str | None,
    min_severity: str,
    send_resolved: bool,
    notified_before: bool | None = None,
) -> str | None:
    """Why the channel does not get this notification, or None if it does.

    Firing and Repeat need `severity` >= `min_severity`. A follow-up (SeverityChanged,
    Resolved, Acknowledged) goes exactly where the alert was announced: when the caller
    knows (`notified_before`, from the alert's delivery record), that decides; otherwise
    either `severity` or `previous_severity` must reach the minimum. Resolved also needs
    `send_resolved`. Test and Summary always go.
    """
    if event in ALWAYS:
        return None
    if event == "Resolved" and not send_resolved:
        return "the channel has sendResolved: false"
    minimum = Severity(min_severity).rank
    if event in FOLLOW_UPS:
        if notified_before is not None:
            return None if notified_before else "the channel was not notified of this alert"
        reached = max(_rank(severity), _rank(previous_severity))
    else:
        reached = _rank(severity)
    if reached < minimum:
        return f"severity {severity or 'none'} is below the channel's minSeverity {min_severity}"
    return None
