"""The Kubernetes adapter: reads references, patches status. The official client is
synchronous, so every call runs in a worker thread, never on the event loop."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, cast

from kubernetes import client, config
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

from watchkeeper.api import API_VERSION, GROUP, VERSION, KindDefinition
from watchkeeper.api.common import MissingReference, ObjectReference, SecretKeyRef
from watchkeeper.kube.calls import KubeError, TimedApiClient, run_blocking
from watchkeeper.kube.secrets import find_secret, no_key, not_found


class Kube:
    """Typed access to the API server for the operator."""

    def __init__(self, api_client: client.ApiClient) -> None:
        self._api = api_client
        self._core = client.CoreV1Api(api_client)
        self._custom = client.CustomObjectsApi(api_client)
        self._dynamic: DynamicClient | None = None

    @classmethod
    def connect(cls) -> Kube:
        """In-cluster credentials when running in a Pod, else the kubeconfig."""
        try:
            config.load_incluster_config()
        except config.ConfigException:
            config.load_kube_config()
        return cls(TimedApiClient())

    @property
    def api_client(self) -> client.ApiClient:
        """The underlying client, for the other modules of this adapter."""
        return self._api

    def _dynamic_client(self) -> DynamicClient:
        if self._dynamic is None:
            self._dynamic = DynamicClient(self._api)
        return self._dynamic

    async def ping(self) -> None:
        """Ask the API server for its version; raises KubeError when it does not answer."""
        await run_blocking(client.VersionApi(self._api).get_code)

    async def apply_status(
        self,
        kind: KindDefinition,
        namespace: str,
        name: str,
        status: dict[str, Any],
        manager: str,
    ) -> None:
        """Server-side apply of the status fields one part of the operator owns.

        Each part (readiness, evaluation, delivery, ...) applies with its own field manager,
        so conditions (a list map keyed by type) and other fields written by different parts
        never overwrite each other; a field a manager stops sending is removed."""
        body = {
            "apiVersion": API_VERSION,
            "kind": kind.kind,
            "metadata": {"name": name, "namespace": namespace},
            "status": {k: v for k, v in status.items() if v is not None},
        }
        await run_blocking(
            self._custom.patch_namespaced_custom_object_status,
            GROUP,
            VERSION,
            namespace,
            kind.plural,
            name,
            body,
            field_manager=manager,
            force=True,
            _content_type="application/apply-patch+yaml",
        )

    async def get(self, kind: KindDefinition, namespace: str, name: str) -> dict[str, Any] | None:
        """One of our objects as the API server has it, or None if it does not exist."""
        try:
            found = await run_blocking(
                self._custom.get_namespaced_custom_object,
                GROUP,
                VERSION,
                namespace,
                kind.plural,
                name,
            )
        except KubeError as error:
            if error.status == 404:
                return None
            raise
        return cast(dict[str, Any], found)

    async def missing_references(
        self,
        namespace: str,
        objects: Sequence[ObjectReference],
        secrets: Sequence[SecretKeyRef],
    ) -> list[MissingReference]:
        """Every reference that does not resolve, explained."""
        return await run_blocking(self._missing_references, namespace, objects, secrets)

    def _missing_references(
        self,
        namespace: str,
        objects: Sequence[ObjectReference],
        secrets: Sequence[SecretKeyRef],
    ) -> list[MissingReference]:
        missing = [m for ref in objects if (m := self._check_object(namespace, ref))]
        secret_keys: dict[str, set[str] | None] = {}
        for ref in secrets:
            if ref.name not in secret_keys:
                secret_keys[ref.name] = self._secret_keys(namespace, ref.name)
            keys = secret_keys[ref.name]
            if keys is None:
                missing.append(MissingReference("SecretNotFound", not_found(ref.name, namespace)))
            elif ref.key not in keys:
                missing.append(MissingReference("SecretKeyNotFound", no_key(ref.name, ref.key)))
        return list(dict.fromkeys(missing))

    def _secret_keys(self, namespace: str, name: str) -> set[str] | None:
        """The keys of a Secret (never its values), or None when it does not exist."""
        secret = find_secret(self._core, namespace, name)
        return None if secret is None else set(secret.data or {})

    def _check_object(self, namespace: str, ref: ObjectReference) -> MissingReference | None:
        reason = "ReferenceNotFound" if ref.api_version.startswith(GROUP) else "TargetNotFound"
        try:
            resource = self._dynamic_client().resources.get(
                api_version=ref.api_version, kind=ref.kind
            )
        except ResourceNotFoundError:
            return MissingReference(
                reason, f"the API server does not serve kind {ref.kind} in {ref.api_version}"
            )
        if ref.needs_scale:
            if "scale" not in resource.subresources:
                return MissingReference(
                    "TargetNotScalable", f"kind {ref.kind} has no /scale subresource"
                )
            resource = resource.subresources["scale"]
        try:
            resource.get(name=ref.name, namespace=namespace)
        except NotFoundError:
            return MissingReference(
                reason, f"{ref.kind} {ref.name} not found in namespace {namespace}"
            )
        return None
