"""The API reference (Markdown) generated from the same schemas as the CRDs."""

from __future__ import annotations

import json
from typing import Any

from .common import API_VERSION, KindDefinition
from .crdgen import model_schema


def _type_of(node: dict[str, Any]) -> str:
    if node.get("x-kubernetes-int-or-string"):
        return "integer or string"
    kind = str(node.get("type", "object"))
    if kind == "array":
        return f"[]{_type_of(node.get('items', {}))}"
    if kind == "object" and isinstance(node.get("additionalProperties"), dict):
        return f"map[string]{_type_of(node['additionalProperties'])}"
    if "enum" in node:
        return " \\| ".join(f"`{v}`" for v in node["enum"])
    return kind


def _rows(node: dict[str, Any], prefix: str) -> list[str]:
    rows = []
    required = set(node.get("required", []))
    for name, prop in node.get("properties", {}).items():
        path = f"{prefix}.{name}"
        default = f" Default `{json.dumps(prop['default'])}`." if "default" in prop else ""
        need = "yes" if name in required else ""
        description = str(prop.get("description", "")).replace("\n", " ").replace("|", "\\|")
        rows.append(f"| `{path}` | {_type_of(prop)} | {need} | {description}{default} |")
        child = prop.get("items", prop) if prop.get("type") == "array" else prop
        rows += _rows(child, path + ("[]" if prop.get("type") == "array" else ""))
    return rows


def kind_reference(kind: KindDefinition) -> str:
    """One kind's section: its fields, types, defaults and rules."""
    lines = [f"## {kind.kind}", "", f"`apiVersion: {API_VERSION}`, plural `{kind.plural}`"]
    if kind.short_names:
        lines[-1] += ", short names " + ", ".join(f"`{n}`" for n in kind.short_names)
    for part, model in (("spec", kind.spec), ("status", kind.status)):
        schema = model_schema(model)
        lines += ["", f"### {part}", "", str(schema.get("description", "")), ""]
        lines += ["| field | type | required | description |", "|---|---|---|---|"]
        lines += _rows(schema, part)
        rules = [r for r in _all_rules(schema)]
        if rules:
            lines += ["", "Rules checked at `kubectl apply`:", ""]
            lines += [f"- {r}" for r in rules]
    return "\n".join(lines) + "\n"


def _all_rules(node: dict[str, Any]) -> list[str]:
    found = [str(r["message"]) for r in node.get("x-kubernetes-validations", [])]
    for prop in node.get("properties", {}).values():
        found += _all_rules(prop.get("items", prop) if prop.get("type") == "array" else prop)
    return found


def _limited(node: dict[str, Any], prefix: str) -> list[tuple[str, str]]:
    """(field, limits) for every field whose description ends in its limits."""
    found = []
    for name, prop in node.get("properties", {}).items():
        path = f"{prefix}.{name}".lstrip(".")
        _, said, limits = str(prop.get("description", "")).rpartition(" Must be ")
        if said:
            found.append((path, limits.rstrip(".")))
        if prop.get("type") == "array":
            found += _limited(prop.get("items", {}), f"{path}[]")
        else:
            found += _limited(prop, path)
    return found


def limits_table(kinds: tuple[KindDefinition, ...]) -> str:
    """The limits of every bounded spec field; fields of a kind with the same limits share
    a row. Part of this reference and of the README."""
    lines = ["| kind | fields | must be |", "|---|---|---|"]
    for kind in kinds:
        rows: dict[str, list[str]] = {}
        for path, limits in _limited(model_schema(kind.spec), ""):
            rows.setdefault(limits, []).append(f"`{path}`")
        lines += [f"| {kind.kind} | {', '.join(f)} | {limits} |" for limits, f in rows.items()]
    return "\n".join(lines) + "\n"


def reference(kinds: tuple[KindDefinition, ...]) -> str:
    """The whole API reference."""
    head = (
        "# API reference\n\nGenerated from the models by `make crds`; do not edit by hand.\n"
        "Durations are strings such as `30s`, `5m`, `1h30m` (units h, m, s, ms).\n"
        "Secrets are referenced as `{name, key}` in the object's namespace.\n"
    )
    limits = "## Limits\n\n" + limits_table(kinds)
    return head + "\n" + limits + "\n" + "\n".join(kind_reference(k) for k in kinds)
