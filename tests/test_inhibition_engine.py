"""Inhibition without a cluster: Alertmanager's rule semantics (equal labels, two-sided
exclusion) and cycles."""

from __future__ import annotations

import pytest

from watchkeeper.api.inhibitrule import InhibitRuleSpec
from watchkeeper.engine.inhibition import InhibitRule, Source, inhibited_by


def rule(source: list[str], target: list[str], equal: list[str] = (), name: str = "r"):
    spec = {"sourceMatchers": source, "targetMatchers": target, "equal": list(equal)}
    return InhibitRule.of(name, InhibitRuleSpec.model_validate(spec))


NODE_DOWN = rule(["alertname=NodeDown"], ["alertname=~Pod.*"], ["node"])


@pytest.mark.parametrize(
    ("sources", "target", "expected"),
    [
        (
            [("n1", {"alertname": "NodeDown", "node": "a"})],
            {"alertname": "PodCrash", "node": "a"},
            ["n1"],
        ),
        # another node: equal labels differ
        (
            [("n1", {"alertname": "NodeDown", "node": "a"})],
            {"alertname": "PodCrash", "node": "b"},
            [],
        ),
        # a label missing on both sides counts as equal
        ([("n1", {"alertname": "NodeDown"})], {"alertname": "PodCrash"}, ["n1"]),
        # missing on one side only: not equal
        ([("n1", {"alertname": "NodeDown"})], {"alertname": "PodCrash", "node": "a"}, []),
        # not a target
        (
            [("n1", {"alertname": "NodeDown", "node": "a"})],
            {"alertname": "DiskFull", "node": "a"},
            [],
        ),
        # every inhibiting source is named
        (
            [
                ("n1", {"alertname": "NodeDown", "node": "a"}),
                ("n2", {"alertname": "NodeDown", "node": "a", "dc": "x"}),
            ],
            {"alertname": "PodCrash", "node": "a"},
            ["n1", "n2"],
        ),
    ],
)
def test_a_firing_source_mutes_targets_with_equal_labels(sources, target, expected):
    found = [Source(name, labels) for name, labels in sources]
    assert inhibited_by([NODE_DOWN], found, target) == expected


def test_alerts_matching_both_sides_never_mute_each_other():
    """Alertmanager's two-sided exclusion: severity=~Critical|Warning on both sides."""
    both = rule(["severity=~Critical|Warning"], ["severity=~Critical|Warning"], ["node"])
    a = Source("a", {"severity": "Critical", "node": "x"})
    b = Source("b", {"severity": "Warning", "node": "x"})
    assert inhibited_by([both], [a, b], a.labels) == []
    assert inhibited_by([both], [a, b], b.labels) == []


def test_warning_muted_by_critical_on_the_same_node():
    critical_mutes_warning = rule(["severity=Critical"], ["severity=Warning"], ["node"])
    a = Source("a", {"severity": "Critical", "node": "x"})
    assert inhibited_by([critical_mutes_warning], [a], {"severity": "Warning", "node": "x"}) == [
        "a"
    ]


def test_a_cycle_mutes_both_while_both_fire_as_in_alertmanager():
    a_mutes_b = rule(["alertname=A"], ["alertname=B"], name="ab")
    b_mutes_a = rule(["alertname=B"], ["alertname=A"], name="ba")
    a, b = Source("a", {"alertname": "A"}), Source("b", {"alertname": "B"})
    rules = [a_mutes_b, b_mutes_a]
    assert inhibited_by(rules, [a, b], a.labels) == ["b"]
    assert inhibited_by(rules, [a, b], b.labels) == ["a"]
    # once one resolves, the other is free
    assert inhibited_by(rules, [a], a.labels) == []
