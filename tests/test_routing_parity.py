"""Watchkeeper and a real Alertmanager, given the same alerts and silences, send the same
notifications (tests/parity.py explains the harness and its timing tolerance)."""

from __future__ import annotations

from collections import Counter

import pytest

from devenv.alertmanager import LocalAlertmanager
from tests.alerting import apply, policy
from tests.kubectl import watchkeeper_object
from tests.parity import AM_PATH, AM_ROUTE, WK_PATH, Parity

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]


@pytest.fixture
def parity(tmp_path, operator, kubeconfig, namespace, custom_objects, exporter, receiver):
    name, metric = "checkout-latency", f"wk_parity_{namespace.replace('-', '_')}"
    channel = {
        "type": "Webhook",
        "webhook": {"url": f"{receiver.url}{WK_PATH}"},
        "rateLimit": {"max": 100, "per": "1m"},  # Alertmanager has none
    }
    routing = {"channels": ["hook"], "repeatInterval": "1h", "sendResolved": True}
    apply(
        kubeconfig,
        namespace,
        watchkeeper_object("NotificationChannel", "hook", channel),
        policy(name, metric, routing=routing),
    )
    with LocalAlertmanager(tmp_path / "am", f"{receiver.url}{AM_PATH}", route=AM_ROUTE) as am:
        yield Parity(am, receiver, exporter, kubeconfig, namespace, custom_objects, name, metric)


def test_a_silence_that_starts_and_ends_while_firing(parity):
    """a fires before the silence and fires throughout; c fires before it and resolves
    inside it; b fires inside it. When it ends: b is announced (never told), a is not
    (told already; the next is its repeat), c never is."""
    parity.fire("a")
    parity.fire("c")
    am, wk = parity.phase()
    assert am == wk == Counter([parity.sent("a"), parity.sent("c")])

    parity.silence("deploy", ["service=~a|b|c"])
    am, wk = parity.phase()
    assert am == wk == Counter()

    parity.fire("b")
    parity.resolve("c")
    am, wk = parity.phase()
    assert am == wk == Counter()

    parity.expire("deploy")
    am, wk = parity.phase()
    assert am == wk == Counter([parity.sent("b")])

    parity.resolve("a")
    parity.resolve("b")
    am, wk = parity.phase()
    assert am == wk == Counter([parity.sent(resolved=("a",)), parity.sent(resolved=("b",))])
