"""The operator's in-memory view of the objects it watches, fed by kopf's watch streams
(handlers call `put` and `remove`). Evaluation, notification and scaling read bodies from
here: no GET or LIST per evaluation."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import Any

from watchkeeper.api import ALERT, KindDefinition
from watchkeeper.api.alert import POLICY_LABEL

Body = Mapping[str, Any]

UNREAD_METADATA = ("managedFields",)
UNREAD_ANNOTATIONS = ("kubectl.kubernetes.io/last-applied-configuration",)
"""What the operator never reads of a watched object: dropped from its copy, as they are
often larger than the rest of the object (a copy of the spec, a tree per field manager)."""


def detached(body: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of a watched object to keep (the watch's own body changes under us), without
    what the operator never reads."""
    metadata = {k: v for k, v in body["metadata"].items() if k not in UNREAD_METADATA}
    annotations = metadata.get("annotations")
    if annotations:
        metadata["annotations"] = {
            k: v for k, v in annotations.items() if k not in UNREAD_ANNOTATIONS
        }
    return {
        "apiVersion": body.get("apiVersion"),
        "kind": body.get("kind"),
        "metadata": metadata,
        "spec": dict(body.get("spec") or {}),
        "status": dict(body.get("status") or {}),
    }


def _key(body: Body) -> tuple[str, str]:
    metadata = body["metadata"]
    return str(metadata["namespace"]), str(metadata["name"])


class ObjectCache:
    """The latest body of every watched object, by kind, namespace and name; Alerts also
    by (namespace, policy label value)."""

    def __init__(self) -> None:
        self._bodies: dict[str, dict[str, dict[str, Body]]] = defaultdict(
            lambda: defaultdict(dict)
        )  # plural -> namespace -> name -> body
        self._alerts_by_policy: dict[tuple[str, str], set[str]] = defaultdict(set)

    def put(self, kind: KindDefinition, body: Body) -> None:
        """Remember the newest body (a plain dict copy, safe to keep)."""
        namespace, name = _key(body)
        if kind is ALERT:
            self._unindex(namespace, name)
            policy = (body["metadata"].get("labels") or {}).get(POLICY_LABEL)
            if policy:
                self._alerts_by_policy[namespace, policy].add(name)
        self._bodies[kind.plural][namespace][name] = body

    def remove(self, kind: KindDefinition, namespace: str, name: str) -> None:
        """Forget a deleted object."""
        if kind is ALERT:
            self._unindex(namespace, name)
        in_namespace = self._bodies[kind.plural].get(namespace)
        if in_namespace is not None:
            in_namespace.pop(name, None)
            if not in_namespace:
                del self._bodies[kind.plural][namespace]

    def get(self, kind: KindDefinition, namespace: str, name: str) -> Body | None:
        """The object as last seen, or None if it does not exist (as far as we know)."""
        in_namespace = self._bodies[kind.plural].get(namespace)
        return None if in_namespace is None else in_namespace.get(name)

    def all(self, kind: KindDefinition) -> Iterator[Body]:
        """Every object of a kind."""
        return iter([b for names in self._bodies[kind.plural].values() for b in names.values()])

    def in_namespace(self, kind: KindDefinition, namespace: str) -> list[Body]:
        """Every object of a kind in one namespace."""
        return list(self._bodies[kind.plural].get(namespace, {}).values())

    def alerts_of(self, namespace: str, policy_label: str) -> list[Body]:
        """The Alerts labelled with the policy."""
        names = self._alerts_by_policy.get((namespace, policy_label), set())
        alerts = self._bodies[ALERT.plural].get(namespace, {})
        return [alerts[n] for n in sorted(names) if n in alerts]

    def _unindex(self, namespace: str, name: str) -> None:
        old = self.get(ALERT, namespace, name)
        if old is None:
            return
        policy = (old["metadata"].get("labels") or {}).get(POLICY_LABEL)
        if policy:
            self._alerts_by_policy[namespace, policy].discard(name)
