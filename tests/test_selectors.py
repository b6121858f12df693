"""Label selectors as the API server matches them, and what scaling reads of pods and
/scale (the HPA's ready pods: Running and Ready, through the target's selector)."""

from __future__ import annotations

import pytest

from watchkeeper.kube.scale import Scale
from watchkeeper.kube.selectors import SelectorError, from_spec, parse
from watchkeeper.runtime.workloads import pod_entry, scale_status, workload_entry

WEB = {"app": "web", "tier": "front"}


@pytest.mark.parametrize(
    ("text", "labels", "expected"),
    [
        ("app=web", WEB, True),
        ("app==web,tier=front", WEB, True),
        ("app=web,tier=back", WEB, False),
        ("app!=db", WEB, True),
        ("app!=db", {}, True),  # an absent label is "not db"
        ("tier in (front, back)", WEB, True),
        ("tier notin (front)", WEB, False),
        ("canary", WEB, False),
        ("!canary", WEB, True),
        ("app", WEB, True),
        ("", WEB, True),
    ],
)
def test_string_selectors(text, labels, expected):
    assert parse(text).matches(labels) is expected


def test_structured_selectors_and_their_text():
    selector = from_spec(
        {
            "matchLabels": {"app": "web"},
            "matchExpressions": [
                {"key": "tier", "operator": "In", "values": ["front", "edge"]},
                {"key": "canary", "operator": "DoesNotExist"},
            ],
        }
    )
    assert selector.matches(WEB) and not selector.matches({"app": "web", "tier": "x"})
    assert selector.text == "app=web,tier in (edge,front),!canary"
    assert parse(selector.text).matches(WEB)


def test_unreadable_selectors_are_refused():
    with pytest.raises(SelectorError):
        parse("replicas>3")
    with pytest.raises(SelectorError):
        from_spec({"matchExpressions": [{"key": "a", "operator": "Gt", "values": ["1"]}]})


def _pod(phase: str, ready: str) -> dict:
    return {
        "metadata": {"namespace": "shop", "labels": WEB},
        "status": {"phase": phase, "conditions": [{"type": "Ready", "status": ready}]},
    }


def test_a_pod_is_ready_when_running_with_the_ready_condition():
    assert pod_entry(_pod("Running", "True"))["shop"].ready
    assert not pod_entry(_pod("Running", "False"))["shop"].ready
    assert not pod_entry(_pod("Pending", "True"))["shop"].ready
    assert not pod_entry({"metadata": {"namespace": "shop"}})["shop"].ready


def test_scale_status_from_the_watch_or_from_scale():
    body = {
        "metadata": {"namespace": "shop", "name": "web", "resourceVersion": "7"},
        "spec": {"replicas": 6, "selector": {"matchLabels": {"app": "web"}}},
        "status": {"replicas": 4},
    }
    workload = workload_entry(body)["shop", "web"]
    replicas, selector = scale_status(workload.scale("shop", "web"), workload)
    assert replicas == 4 and selector is not None and selector.text == "app=web"
    read = Scale(6, {"spec": {"replicas": 6}, "status": {"replicas": 5, "selector": "app=web"}})
    replicas, selector = scale_status(read, None)
    assert replicas == 5 and selector is not None and selector.matches(WEB)
    assert scale_status(Scale(6, {"spec": {"replicas": 6}}), None) == (None, None)
