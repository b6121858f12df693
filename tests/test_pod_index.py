"""The HPA's ready pods, counted from the pod watch's index: a selector's pods are found
through one of its terms, not by going through every pod of the namespace."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from typing import Any

from watchkeeper.kube.access import ReferencePolicy
from watchkeeper.kube.selectors import parse
from watchkeeper.runtime.workloads import PODS, PodCount, PodRecord, WorkloadIndex, pod_entry


def _pod(namespace: str, labels: dict[str, str], ready: bool = True) -> dict[str, Any]:
    condition = {"type": "Ready", "status": "True" if ready else "False"}
    return {
        "metadata": {"namespace": namespace, "labels": labels},
        "status": {"phase": "Running", "conditions": [condition]},
    }


def _index(*pods: dict[str, Any]) -> dict[Any, list[PodRecord]]:
    """What kopf's index holds after these pods' events: key -> every pod's value."""
    index: dict[Any, list[PodRecord]] = defaultdict(list)
    for pod in pods:
        for key, record in pod_entry(pod).items():
            index[key].append(record)
    return dict(index)


PODS_OF_SHOP = (
    _pod("shop", {"app": "web", "tier": "front"}),
    _pod("shop", {"app": "web", "tier": "front"}, ready=False),
    _pod("shop", {"app": "web", "tier": "edge"}),
    _pod("shop", {"app": "api", "tier": "front"}),
    _pod("shop", {"app": "api"}),
    _pod("other", {"app": "web", "tier": "front"}),
)


def _count(index: dict[Any, Any], selector: str, namespace: str = "shop") -> PodCount:
    return WorkloadIndex({PODS.index: index}, ReferencePolicy.LABEL).pods(
        namespace, parse(selector)
    )


def test_a_selector_counts_the_matching_pods_of_its_namespace_and_the_ready_ones():
    index = _index(*PODS_OF_SHOP)
    assert _count(index, "app=web") == PodCount(listed=3, ready=2)
    assert _count(index, "app=web,tier=front") == PodCount(listed=2, ready=1)
    assert _count(index, "tier in (front,edge)") == PodCount(listed=4, ready=3)
    assert _count(index, "app=web,tier notin (edge)") == PodCount(listed=2, ready=1)
    assert _count(index, "tier") == PodCount(listed=4, ready=3)
    assert _count(index, "!tier") == PodCount(listed=1, ready=1)
    assert _count(index, "app=none") == PodCount(listed=0, ready=0)
    assert _count(index, "app=web", namespace="other") == PodCount(listed=1, ready=1)
    assert _count({}, "app=web") == PodCount(listed=0, ready=0)


class _Unlisted(list[PodRecord]):
    """A namespace's pods that must not be gone through."""

    def __iter__(self) -> Iterator[PodRecord]:
        raise AssertionError("went through every pod of the namespace")


def test_a_selector_with_an_in_term_never_goes_through_the_whole_namespace():
    index = _index(*PODS_OF_SHOP, *(_pod("shop", {"app": f"other-{i}"}) for i in range(1000)))
    index["shop"] = _Unlisted(index["shop"])
    assert _count(index, "app=web,tier=front") == PodCount(listed=2, ready=1)
    assert _count(index, "app in (web,api),tier notin (edge)") == PodCount(listed=4, ready=3)


def test_the_narrowest_term_is_the_one_looked_up():
    crowd = (_pod("shop", {"app": "web", "tier": "front", "n": str(i)}) for i in range(50))
    index = _index(*crowd, _pod("shop", {"app": "web", "tier": "front", "canary": "yes"}))
    index["shop", "app", "web"] = _Unlisted(index["shop", "app", "web"])
    index["shop", "tier", "front"] = _Unlisted(index["shop", "tier", "front"])
    assert _count(index, "app=web,tier=front,canary=yes") == PodCount(listed=1, ready=1)


def test_a_pod_is_indexed_once_under_each_label_and_its_namespace():
    entry = pod_entry(_pod("shop", {"app": "web", "tier": "front"}))
    assert set(entry) == {"shop", ("shop", "app", "web"), ("shop", "tier", "front")}
    assert len({id(record) for record in entry.values()}) == 1
