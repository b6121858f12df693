"""`watchkeeper import prometheusrule`: node-exporter's and kube-state-metrics' standard
alerts (tests/rules/, written from their published form) become AlertPolicies. Every
alerting rule either converts, and the real API server accepts the policy and the real
Prometheus accepts its query, or is reported with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from tests.kubectl import kubectl
from watchkeeper.api.alertpolicy import AlertPolicySpec, Comparison
from watchkeeper.backtest.manifests import documents
from watchkeeper.cli import main
from watchkeeper.importers.prometheusrule import convert, policy_name, rule_groups, translate
from watchkeeper.importers.promql import split

RULES = Path(__file__).parent / "rules"
FIXTURES = [RULES / "node-exporter.yaml", RULES / "kube-state-metrics.yaml"]


def _converted(path: Path):
    groups = rule_groups(documents([str(path)]))
    alerts = [r for g in groups for r in g["rules"] if "alert" in r]
    return alerts, convert(groups, "monitoring")


@pytest.mark.parametrize(
    ("expr", "query", "comparison", "threshold"),
    [
        ("up == 0", "up", Comparison.EQUAL, 0),
        ("rate(x[5m]) > 0.5", "rate(x[5m])", Comparison.GREATER_THAN, 0.5),
        ("(a / b * 100 < 5 and c == 0)", "(a / b * 100) and c == 0", Comparison.LESS_THAN, 5),
        ('sum by (a) (y{c=">"}) >= 1e3', 'sum by (a) (y{c=">"})', Comparison.GREATER_OR_EQUAL, 1e3),
        ("(a) / (b) > 3", "(a) / (b)", Comparison.GREATER_THAN, 3),
        ('absent(up{job="x"})', 'absent(up{job="x"})', Comparison.ANY, None),
        ("a > 1 or b > 2", "a > 1 or b > 2", Comparison.ANY, None),
        ("x > bool 5", "x > bool 5", Comparison.ANY, None),
        ("a unless b > 3", "a unless b > 3", Comparison.ANY, None),
        ("a > b", "a > b", Comparison.ANY, None),
    ],
)
def test_an_expression_splits_only_where_the_meaning_is_kept(expr, query, comparison, threshold):
    found = split(expr)
    assert (found.query, found.comparison, found.threshold) == (query, comparison, threshold)


@pytest.mark.parametrize(
    ("text", "expected", "problems"),
    [
        ("{{ $labels.pod }} at {{$value}}", "{{ labels.pod }} at {{ value }}", []),
        ('{{ printf "%.2f" $value }}%', '{{ "%.2f" | format(value) }}%', []),
        ("{{ $value | humanizePercentage }}", "{{ (value * 100) | round(1) }}%", []),
        (
            "{{ $externalLabels.cluster }}",
            "{{ $externalLabels.cluster }}",
            ["{{ $externalLabels.cluster }}"],
        ),
        ('{{ with query "up" }}x{{ end }}', None, ['{{ with query "up" }}', "{{ end }}"]),
    ],
)
def test_templates_are_translated_or_flagged(text, expected, problems):
    translated, found = translate(text)
    assert found == problems
    if expected is not None:
        assert translated == expected


def test_names_follow_the_alert():
    assert policy_name("NodeFilesystemAlmostOutOfSpace") == "node-filesystem-almost-out-of-space"
    assert policy_name("KubeHPAMaxedOut") == "kube-hpa-maxed-out"


@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_every_rule_converts_or_is_reported(path):
    alerts, result = _converted(path)
    assert result.policies
    names = {p["metadata"]["name"] for p in result.policies} | set(result.refused)
    covered = sum(
        len(p["spec"].get("thresholds") or [None]) if p["spec"]["comparison"] != "Any" else 1
        for p in result.policies
    )
    assert covered + len(result.refused) == len(alerts), names
    for policy in result.policies:
        AlertPolicySpec.model_validate(policy["spec"])


def test_rules_differing_in_severity_and_threshold_become_one_policy():
    _, result = _converted(RULES / "node-exporter.yaml")
    policies = {p["metadata"]["name"]: p["spec"] for p in result.policies}
    merged = policies["node-filesystem-almost-out-of-space"]
    assert merged["thresholds"] == [
        {"severity": "Warning", "value": 5},
        {"severity": "Critical", "value": 3},
    ]
    assert (
        merged["annotations"]["summary"] == "Filesystem has less than {{ threshold }}% space left."
    )
    # the same alert name with different predictions stays two policies, one per severity
    assert {
        "node-filesystem-space-filling-up-warning",
        "node-filesystem-space-filling-up-critical",
    } <= set(policies)
    fds = policies["node-file-descriptor-limit"]
    assert [t["value"] for t in fds["thresholds"]] == [70, 90]


def test_what_cannot_carry_over_is_reported():
    _, result = _converted(RULES / "kube-state-metrics.yaml")
    notes = result.notes["kube-node-not-ready-for-long"]
    assert any("$externalLabels.cluster" in n for n in notes)
    spec = next(
        p for p in result.policies if p["metadata"]["name"] == "kube-node-not-ready-for-long"
    )["spec"]
    assert spec["for"] == "1d" and spec["keepFiringFor"] == "10m"
    assert "summary" not in spec.get("annotations", {})
    down = next(p for p in result.policies if p["metadata"]["name"] == "kube-state-metrics-down")[
        "spec"
    ]
    assert down["comparison"] == "Any" and down["thresholds"] == [{"severity": "Critical"}]
    _, nodes = _converted(RULES / "node-exporter.yaml")
    assert any("'info' has no equal" in n for n in nodes.notes["node-cpu-high-usage"])


def test_the_command_prints_applicable_yaml(capsys):
    assert main(["import", "prometheusrule", str(RULES / "node-exporter.yaml"), "-n", "ops"]) == 0
    printed = capsys.readouterr().out
    docs = [d for d in yaml.safe_load_all(printed) if d]
    assert docs and all(d["kind"] == "AlertPolicy" for d in docs)
    assert "# severity label 'info' has no equal: Warning" in printed


@pytest.mark.cluster
@pytest.mark.prometheus
@pytest.mark.parametrize("path", FIXTURES, ids=[p.stem for p in FIXTURES])
def test_the_api_server_and_prometheus_accept_every_converted_policy(
    path, kubeconfig, namespace, prometheus
):
    _, result = _converted(path)
    for policy in result.policies:
        policy = {**policy, "metadata": {"name": policy["metadata"]["name"]}}
        applied = kubectl(
            kubeconfig,
            "apply",
            "--dry-run=server",
            "-n",
            namespace,
            "-f",
            "-",
            manifest=policy,
            check=False,
        )
        assert applied.returncode == 0, (policy["metadata"]["name"], applied.stderr)
        prometheus.query(policy["spec"]["query"])  # raises if Prometheus refuses the PromQL
