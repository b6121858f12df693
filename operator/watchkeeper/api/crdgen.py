"""Turn the pydantic models into CustomResourceDefinitions with structural schemas.

Pydantic emits JSON Schema with ``$ref``/``$defs``, ``anyOf`` for optional fields and
draft-2020 keywords; the API server wants a structural OpenAPI v3 schema where every node
is typed and inlined. This module does that translation and nothing else.
"""

from __future__ import annotations

from typing import Any

from .common import CATEGORY, GROUP, LIMITS_KEY, VERSION, KindDefinition

# Keywords a structural schema may carry; anything else pydantic emits is dropped.
_KEPT = {
    "type",
    "description",
    "default",
    "enum",
    "pattern",
    "format",
    "minLength",
    "maxLength",
    "minimum",
    "maximum",
    "minItems",
    "maxItems",
    "required",
    "properties",
    "items",
    "additionalProperties",
    "nullable",
    "x-kubernetes-validations",
    "x-kubernetes-list-type",
    "x-kubernetes-list-map-keys",
    "x-kubernetes-preserve-unknown-fields",
    "x-kubernetes-int-or-string",
}


def _resolve(node: Any, defs: dict[str, Any]) -> Any:
    """Inline every $ref and collapse ``anyOf: [X, null]`` into X, recursively."""
    if isinstance(node, list):
        return [_resolve(n, defs) for n in node]
    if not isinstance(node, dict):
        return node
    node = dict(node)
    if "$ref" in node:
        target = defs[node.pop("$ref").rsplit("/", 1)[-1]]
        node = {**_resolve(target, defs), **{k: v for k, v in node.items()}}
    if "anyOf" in node:
        variants = [v for v in node.pop("anyOf") if v.get("type") != "null"]
        if len(variants) != 1:
            raise ValueError(f"cannot express a union of {variants} in a structural schema")
        node = {**_resolve(variants[0], defs), **node}
        if node.get("default", 0) is None:
            del node["default"]
    return {k: _resolve(v, defs) if k != "default" else v for k, v in node.items()}


def _structural(node: Any) -> Any:
    """Keep only structural keywords and translate draft-2020 exclusive bounds."""
    if isinstance(node, list):
        return [_structural(n) for n in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key == "exclusiveMinimum":
            out["minimum"], out["exclusiveMinimum"] = value, True
        elif key == "exclusiveMaximum":
            out["maximum"], out["exclusiveMaximum"] = value, True
        elif key == "properties":
            out[key] = {name: _structural(prop) for name, prop in value.items()}
        elif key in ("items", "additionalProperties"):
            out[key] = _structural(value)
        elif key in _KEPT:
            out[key] = value
    limits = _limits(node)
    if out.get("type") == "number" and any(_fractional(node.get(k)) for k, _ in _BOUNDS):
        out.setdefault("x-kubernetes-validations", []).append(_bounds_rule(node, limits))
    if limits:
        sentence = f"{limits[0].upper()}{limits[1:]}."
        out["description"] = f"{out.get('description', '')} {sentence}".lstrip()
    if out.get("additionalProperties") is False:
        del out["additionalProperties"]
    if "enum" in out:
        out.setdefault("type", "string")
    if (
        out.get("type") == "object"
        and "properties" not in out
        and "additionalProperties" not in out
    ):
        out["x-kubernetes-preserve-unknown-fields"] = True
    return out


_BOUNDS = (
    ("exclusiveMinimum", ("more than", ">")),
    ("minimum", ("at least", ">=")),
    ("exclusiveMaximum", ("less than", "<")),
    ("maximum", ("at most", "<=")),
)


def _limits(node: dict[str, Any]) -> str:
    """A field's limits in words: a duration's, or a number's bounds."""
    if LIMITS_KEY in node:
        return str(node[LIMITS_KEY])
    words = [f"{word} {_number(node[key])}" for key, (word, _) in _BOUNDS if key in node]
    return f"must be {' and '.join(words)}" if words else ""


def _fractional(bound: Any) -> bool:
    return isinstance(bound, float) and not bound.is_integer()


def _bounds_rule(node: dict[str, Any], message: str) -> dict[str, str]:
    """A number's bounds again in CEL: the API server compares an integer input with the
    bound truncated to an integer, so `0` passes `minimum: 0.001` without this rule."""
    checks = [f"self {op} {float(node[key])!r}" for key, (_, op) in _BOUNDS if key in node]
    return {"rule": " && ".join(checks), "message": message}


def _number(value: float) -> str:
    return str(value) if isinstance(value, int) else f"{value:g}"


def model_schema(model: type[Any]) -> dict[str, Any]:
    """The structural OpenAPI v3 schema of one pydantic model."""
    raw = model.model_json_schema(by_alias=True, mode="validation")
    defs = raw.pop("$defs", {})
    schema: dict[str, Any] = _structural(_resolve(raw, defs))
    return schema


def crd(kind: KindDefinition) -> dict[str, Any]:
    """The CustomResourceDefinition of one kind."""
    spec_schema = model_schema(kind.spec)
    status_schema = model_schema(kind.status)
    root: dict[str, Any] = {
        "type": "object",
        "description": f"{kind.kind}: {spec_schema.get('description', '')}".strip(),
        "properties": {
            "apiVersion": {"type": "string", "description": "APIVersion of the object."},
            "kind": {"type": "string", "description": "Kind of the object."},
            "metadata": {"type": "object"},
            "spec": spec_schema,
            "status": status_schema,
        },
    }
    if kind.spec_required:
        root["required"] = ["spec"]
    return {
        "apiVersion": "apiextensions.k8s.io/v1",
        "kind": "CustomResourceDefinition",
        "metadata": {"name": f"{kind.plural}.{GROUP}"},
        "spec": {
            "group": GROUP,
            "scope": "Namespaced",
            "names": {
                "kind": kind.kind,
                "listKind": f"{kind.kind}List",
                "plural": kind.plural,
                "singular": kind.singular,
                "shortNames": list(kind.short_names),
                "categories": [CATEGORY],
            },
            "versions": [
                {
                    "name": VERSION,
                    "served": True,
                    "storage": True,
                    "subresources": {"status": {}},
                    "additionalPrinterColumns": [c.to_api() for c in kind.printer_columns],
                    "schema": {"openAPIV3Schema": root},
                }
            ],
        },
    }
