"""Ready and observedGeneration for every object: parse the spec, resolve what it refers
to, and write the condition only when it changes (one scheduler job per object).

An object is checked when its spec changes, when an object of ours that it references
appears, disappears or changes its Ready status, and when a watched workload (a Deployment
or StatefulSet, see runtime/workloads.py) that it references appears in the watch or leaves
it. Objects that reference Secrets or other kinds are also checked every --recheck-interval
(those are not watched); the others only every RECHECK_SELF_CONTAINED times
--recheck-interval, as a safety net.

References to our own kinds are resolved from the watched objects, with no API call, and
count as missing while the object they name is not Ready itself (reason ReferenceNotReady),
so an AlertPolicy whose channel is broken does not claim to be Ready. Scale targets found in
the watch of opted-in workloads cost nothing either; only Secrets and other targets cost an
API request."""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError

from watchkeeper.api import ALERT, GROUP, KINDS, KindDefinition
from watchkeeper.api.common import (
    Condition,
    ConditionStatus,
    MissingReference,
    ObjectReference,
    describe_validation_error,
    secret_refs,
)
from watchkeeper.engine.conditions import READY, merge_condition, readiness
from watchkeeper.kube.calls import KubeError
from watchkeeper.kube.events import ObjectRef
from watchkeeper.runtime.metrics import NOT_READY, RECONCILES
from watchkeeper.runtime.scheduler import Scheduler
from watchkeeper.runtime.services import Services
from watchkeeper.runtime.workloads import watched_resource

LOGGER = logging.getLogger("watchkeeper.readiness")
FIELD_MANAGER = "watchkeeper-readiness"
JOB_KIND = "Readiness"
_BY_KIND = {kind.kind: kind for kind in KINDS}
RECHECK_SELF_CONTAINED = 10
Identity = tuple[str, str, str]
"""(kind, namespace, name) of an object."""


def job_key(kind: KindDefinition, namespace: str, name: str) -> str:
    return f"readiness/{kind.plural}/{namespace}/{name}"


def _parse(
    kind: KindDefinition, body: Mapping[str, Any]
) -> tuple[list[ObjectReference], list[Any], str | None]:
    """The references of a spec, or why the spec is invalid."""
    try:
        spec = kind.spec.model_validate(dict(body.get("spec") or {}))
    except ValidationError as error:
        return [], [], describe_validation_error(error)
    return list(spec.references()), list(secret_refs(spec)), None


def _conditions(status: Mapping[str, Any]) -> list[Condition]:
    return [Condition.model_validate(c) for c in status.get("conditions") or []]


def _ours(ref: ObjectReference) -> bool:
    return ref.api_version.startswith(f"{GROUP}/")


def _ready_status(body: Mapping[str, Any]) -> str | None:
    """The Ready condition's status as written, what a referencing object's check reads."""
    conditions = (body.get("status") or {}).get("conditions") or []
    return next((c.get("status") for c in conditions if c.get("type") == READY), None)


class ReadinessService:
    """Checks every watched object; Alerts only when they change."""

    def __init__(self, services: Services, scheduler: Scheduler) -> None:
        self.services = services
        self.scheduler = scheduler
        self._generations: dict[str, int | None] = {}
        self._parsed: dict[str, tuple[Any, list[ObjectReference], list[Any], str | None]] = {}
        """key -> (generation, references, Secret references, why invalid): parsed once."""
        self._conditions: dict[str, tuple[str | None, list[Condition]]] = {}
        """key -> (resourceVersion, its conditions): parsed once per version."""
        self._dependents: dict[Identity, set[str]] = {}
        """An object of ours or a watched workload -> the jobs of the objects that reference
        it."""
        self._workloads: set[Identity] = set()
        """The watched workloads now in the watch."""
        self._depends_on: dict[str, set[Identity]] = {}
        self._ready: dict[Identity, str | None] = {}
        """Each object's Ready status as last seen."""
        self._not_ready: dict[str, set[str]] = {}
        """kind -> the keys of its objects whose last check found them not Ready."""

    def upsert(self, kind: KindDefinition, body: Mapping[str, Any]) -> None:
        """An object was seen; check it now if its spec changed, and periodically."""
        namespace, name = body["metadata"]["namespace"], body["metadata"]["name"]
        key = job_key(kind, namespace, name)
        generation = body["metadata"].get("generation")
        seen_before = key in self._generations
        checked = (body.get("status") or {}).get("observedGeneration") == generation
        changed = self._generations.get(key, -1) != generation and (seen_before or not checked)
        self._generations[key] = generation
        if kind is ALERT:  # nothing references an Alert
            if not changed:
                return
        else:
            self._announce_change((kind.kind, namespace, name), _ready_status(body))

        async def run(due: datetime) -> None:
            await self.check(kind, namespace, name)

        _, refs, secrets, _ = self._parse(kind, key, body)
        self._track(key, namespace, refs)
        recheck = self.services.config.recheck_interval
        if kind is ALERT:
            interval = timedelta(days=365)  # checked on change only
        elif secrets or any(not _ours(r) and watched_resource(r) is None for r in refs):
            interval = timedelta(seconds=recheck)
        else:
            interval = timedelta(seconds=recheck * RECHECK_SELF_CONTAINED)
        self.scheduler.upsert(key, JOB_KIND, interval, run)
        if changed:
            self.scheduler.trigger(key)

    def remove(self, kind: KindDefinition, namespace: str, name: str) -> None:
        key = job_key(kind, namespace, name)
        self.scheduler.remove(key)
        self._generations.pop(key, None)
        self._parsed.pop(key, None)
        self._conditions.pop(key, None)
        self._track(key, namespace, [])
        self._count(kind, key, False)
        self._ready.pop((kind.kind, namespace, name), None)
        for dependent in self._dependents.get((kind.kind, namespace, name), ()):
            self.scheduler.trigger(dependent)

    def _announce_change(self, identity: Identity, ready: str | None) -> None:
        """Check the objects that reference this one if it is new or its Ready changed."""
        if identity in self._ready and self._ready[identity] == ready:
            return
        self._ready[identity] = ready
        for dependent in self._dependents.get(identity, ()):
            self.scheduler.trigger(dependent)

    def workload_seen(self, kind: str, namespace: str, name: str, present: bool) -> None:
        """A watched workload was listed, changed or left the watch: check the objects that
        reference it when it appears or goes."""
        identity = (kind, namespace, name)
        if (identity in self._workloads) == present:
            return
        if present:
            self._workloads.add(identity)
        else:
            self._workloads.discard(identity)
        for dependent in self._dependents.get(identity, ()):
            self.scheduler.trigger(dependent)

    def _count(self, kind: KindDefinition, key: str, not_ready: bool) -> None:
        """Keep watchkeeper_objects_not_ready{kind} equal to the objects last found so."""
        keys = self._not_ready.setdefault(kind.kind, set())
        if not_ready:
            keys.add(key)
        else:
            keys.discard(key)
        NOT_READY.labels(kind.kind).set(len(keys))

    def _track(self, key: str, namespace: str, refs: Sequence[ObjectReference]) -> None:
        """Remember which objects of ours and which watched workloads `key` references."""
        for old in self._depends_on.pop(key, ()):
            self._dependents.get(old, set()).discard(key)
        targets = {(r.kind, namespace, r.name) for r in refs if _ours(r) or watched_resource(r)}
        if targets:
            self._depends_on[key] = targets
        for target in targets:
            self._dependents.setdefault(target, set()).add(key)

    def _parse(
        self, kind: KindDefinition, key: str, body: Mapping[str, Any]
    ) -> tuple[Any, list[ObjectReference], list[Any], str | None]:
        generation = body["metadata"].get("generation")
        parsed = self._parsed.get(key)
        if parsed is None or parsed[0] != generation:
            parsed = (generation, *_parse(kind, body))
            self._parsed[key] = parsed
        return parsed

    async def check(self, kind: KindDefinition, namespace: str, name: str) -> None:
        """Compute Ready for one object and write it (and observedGeneration) if it changed."""
        body = self.services.objects.get(kind, namespace, name)
        if body is None:
            return
        generation = body["metadata"].get("generation")
        key = job_key(kind, namespace, name)
        _, refs, secrets, invalid = self._parse(kind, key, body)
        missing = [] if invalid else await self._missing(namespace, refs, secrets)
        status, reason, message = readiness(invalid, missing)
        RECONCILES.labels(kind.kind, reason).inc()
        self._count(kind, key, status != ConditionStatus.TRUE)
        current = self._current_conditions(key, body)
        now = datetime.now(UTC)
        merged = merge_condition(current, READY, status, reason, message, generation, now)
        observed = (body.get("status") or {}).get("observedGeneration")
        if merged == current and observed == generation:
            return
        mine = [c.to_api() for c in merged if c.type == READY]
        fields = {"observedGeneration": generation, "conditions": mine}
        await self.services.kube.apply_status(kind, namespace, name, fields, FIELD_MANAGER)
        self.services.health.report("kubernetes", True)
        previous = next((c for c in current if c.type == READY), None)
        if previous is None or previous.status != status or previous.reason != reason:
            await self._announce(kind, body, status, reason, message)

    def _current_conditions(self, key: str, body: Mapping[str, Any]) -> list[Condition]:
        version = body["metadata"].get("resourceVersion")
        known = self._conditions.get(key)
        if known is None or known[0] != version:
            known = self._conditions[key] = (version, _conditions(body.get("status") or {}))
        return known[1]

    async def _missing(
        self, namespace: str, refs: Sequence[ObjectReference], secrets: Sequence[Any]
    ) -> list[MissingReference]:
        ours = [r for r in refs if _ours(r)]
        watched = self.services.workloads
        others = [r for r in refs if r not in ours and watched.workload(namespace, r) is None]
        missing = [m for ref in ours if (m := self._check_ours(namespace, ref))]
        if others or secrets:
            missing += await self.services.kube.missing_references(
                namespace, others, secrets, self.services.config.reference_policy
            )
        return missing

    def _check_ours(self, namespace: str, ref: ObjectReference) -> MissingReference | None:
        kind = _BY_KIND.get(ref.kind)
        found = self.services.objects.get(kind, namespace, ref.name) if kind else None
        if found is None:
            return MissingReference(
                "ReferenceNotFound", f"{ref.kind} {ref.name} not found in namespace {namespace}"
            )
        ready = next((c for c in _conditions(found.get("status") or {}) if c.type == READY), None)
        if ready is not None and ready.status == ConditionStatus.FALSE:
            return MissingReference(
                "ReferenceNotReady", f"{ref.kind} {ref.name} is not Ready: {ready.message}"
            )
        return None

    async def _announce(
        self,
        kind: KindDefinition,
        body: Mapping[str, Any],
        status: ConditionStatus,
        reason: str,
        message: str,
    ) -> None:
        metadata = body["metadata"]
        namespace, name = metadata["namespace"], metadata["name"]
        type_ = "Normal" if status == ConditionStatus.TRUE else "Warning"
        log = LOGGER.info if status == ConditionStatus.TRUE else LOGGER.warning
        log("%s %s/%s Ready=%s (%s): %s", kind.kind, namespace, name, status, reason, message)
        about = ObjectRef(
            str(body.get("apiVersion")), kind.kind, namespace, name, metadata.get("uid", "")
        )
        try:
            await self.services.events.post(about, type_, reason, message)
        except KubeError as error:
            LOGGER.warning("%s %s/%s: Event not posted: %s", kind.kind, namespace, name, error)
