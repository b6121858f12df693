"""``watchkeeper import``: Prometheus alerting rules as AlertPolicies, printed as YAML
ready for ``kubectl apply`` (nothing is sent to the cluster)."""

from __future__ import annotations

import argparse
import sys

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
    if not result.policies and not result.refused:
        print("watchkeeper import: no alerting rules found", file=sys.stderr)
        return 2
    out = []
    for name, reason in result.refused.items():
        out.append(f"# not converted: {name}: {reason}\n")
        print(f"watchkeeper import: not converted: {name}: {reason}", file=sys.stderr)
    for policy in result.policies:
        notes = result.notes.get(policy["metadata"]["name"], [])
        text = yaml.dump(policy, Dumper=_Dumper, sort_keys=False, allow_unicode=True, width=100)
        out.append("---\n" + "".join(f"# {note}\n" for note in notes) + text)
    sys.stdout.write("".join(out))
    return 0


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
