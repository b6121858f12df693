"""``watchkeeper import``: Prometheus alerting rules as AlertPolicies, printed as YAML
ready for ``kubectl apply`` (nothing is sent to the cluster)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

import yaml


class _Dumper(yaml.SafeDumper):
    """Multi-line strings (queries, descriptions) as literal blocks, as written."""


def _string(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _string)


def _prometheusrule(args: argparse.Namespace) -> int:
    from watchkeeper.backtest.manifests import ManifestError, documents
    from watchkeeper.importers.prometheusrule import convert, rule_groups

    try:
        groups = rule_groups(documents(args.filename))
    except ManifestError as error:
        print(f"watchkeeper import: {error}", file=sys.stderr)
        return 2
    result = convert(groups, args.namespace)
    return _print(result.policies, result.notes, result.refused, "no alerting rule")


def _print(
    policies: list[dict[str, Any]],
    notes_by_name: dict[str, list[str]],
    refused: dict[str, str],
    nothing: str,
) -> int:
    """The policies as YAML, each preceded by what did not carry over; what was not
    converted at all on standard error too."""
    if not policies and not refused:
        print(f"watchkeeper import: {nothing} found", file=sys.stderr)
        return 2
    out = []
    for name, reason in refused.items():
        out.append(f"# not converted: {name}: {reason}\n")
        print(f"watchkeeper import: not converted: {name}: {reason}", file=sys.stderr)
    for policy in policies:
        notes = notes_by_name.get(policy["metadata"]["name"], [])
        text = yaml.dump(policy, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
        out.append("---\n" + "".join(f"# {note}\n" for note in notes) + text)
    sys.stdout.write("".join(out))
    return 0


def _hpa(args: argparse.Namespace) -> int:
    from watchkeeper.backtest.manifests import ManifestError, documents
    from watchkeeper.importers.hpa import ConvertedHpa, convert_hpa

    try:
        if args.from_cluster:
            from watchkeeper.kube.autoscalers import list_hpas
            from watchkeeper.kube.client import Kube

            hpas = list_hpas(Kube.connect().api_client, args.namespace)
        elif args.filename:
            docs = documents(args.filename)
            hpas = [d for d in docs if d.get("kind") == "HorizontalPodAutoscaler"]
        else:
            raise ManifestError("give HPA manifests (files or -), or --from-cluster")
    except ManifestError as error:
        print(f"watchkeeper import: {error}", file=sys.stderr)
        return 2
    except Exception as error:  # the cluster: no kubeconfig, unreachable, forbidden
        print(f"watchkeeper import: cannot list HPAs: {type(error).__name__}", file=sys.stderr)
        return 2
    merged = ConvertedHpa()
    for hpa in hpas:
        one = convert_hpa(hpa, None if args.from_cluster else args.namespace)
        merged.policies += one.policies
        merged.notes |= one.notes
        merged.refused |= one.refused
    return _print(merged.policies, merged.notes, merged.refused, "no HorizontalPodAutoscaler")


def register(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    importing = commands.add_parser("import", help="convert Prometheus rules into policies")
    kinds = importing.add_subparsers(dest="source", required=True)
    rules = kinds.add_parser(
        "prometheusrule", help="Prometheus rule files or PrometheusRule objects -> AlertPolicies"
    )
    rules.add_argument(
        "filename", nargs="+", help="rule files, directories of them, or - for standard input"
    )
    rules.add_argument("--namespace", "-n", default=None, help="namespace of the policies")
    rules.set_defaults(handler=_prometheusrule)
    hpa = kinds.add_parser("hpa", help="HorizontalPodAutoscalers -> ScalingPolicies")
    hpa.add_argument("filename", nargs="*", help="HPA manifests, directories, or -")
    hpa.add_argument(
        "--from-cluster", action="store_true", help="read the HPAs from the cluster (kubeconfig)"
    )
    hpa.add_argument(
        "--namespace", "-n", default=None, help="their namespace (default: every namespace)"
    )
    hpa.set_defaults(handler=_hpa)
