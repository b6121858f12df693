"""Prometheus metrics of notification delivery (the operator serves them on /metrics)."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

NOTIFICATIONS = Counter(
    "watchkeeper_notifications_total",
    "Notifications by channel type, event (Firing, Resolved, ...) and outcome (Delivered, "
    "Failed, RateLimited, Skipped).",
    ["type", "event", "outcome"],
)
DELIVERY_SECONDS = Histogram(
    "watchkeeper_notification_delivery_seconds",
    "Time to deliver one notification to one channel, retries included, by channel type.",
    ["type"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
