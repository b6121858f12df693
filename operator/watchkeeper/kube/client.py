"""The Kubernetes adapter: reads references, patches status. The official client is
synchronous, so every call runs in a worker thread, never on the event loop."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from kubernetes import client, config
from kubernetes.client.exceptions import ApiException
from kubernetes.dynamic import DynamicClient
from kubernetes.dynamic.exceptions import NotFoundError, ResourceNotFoundError

from watchkeeper.api import API_VERSION, GROUP, VERSION, KindDefinition
from watchkeeper.api.common import MissingReference, ObjectReference, SecretKeyRef
from watchkeeper.kube.access import (
    DEFAULT_POLICY,
    ReferencePolicy,
    target_allowed,
    target_not_allowed,
)
from watchkeeper.kube.applypatch import APPLY_PATCH, apply_patch_body, with_server_message
from watchkeeper.kube.calls import (
    MAX_THREADS,
    REQUEST_TIMEOUT,
    TimedApiClient,
    run_blocking,
)
from watchkeeper.kube.scale import METADATA_ONLY
from watchkeeper.kube.secrets import check_secret_references


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
        configuration = client.Configuration()
        try:
            config.load_incluster_config(client_configuration=configuration)
        except config.ConfigException:
            config.load_kube_config(client_configuration=configuration)
        configuration.connection_pool_maxsize = MAX_THREADS  # one connection per thread
        return cls(TimedApiClient(configuration))

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
        never overwrite each other; a field a manager stops sending is removed.

        The body is sent as `apply_patch_body` encodes it (the client's own encoding
        breaks on characters outside the Basic Multilingual Plane). A refusal (KubeRejected)
        carries the API server's own explanation."""
        body = {
            "apiVersion": API_VERSION,
            "kind": kind.kind,
            "metadata": {"name": name, "namespace": namespace},
            "status": {k: v for k, v in status.items() if v is not None},
        }
        path = f"/apis/{GROUP}/{VERSION}/namespaces/{namespace}/{kind.plural}/{name}/status"
        await run_blocking(self._apply, path, apply_patch_body(body), manager)

    def _apply(self, path: str, body: bytes, manager: str) -> None:
        method, url, headers, _, _ = self._api.param_serialize(
            "PATCH",
            path,
            query_params=[("fieldManager", manager), ("force", True)],
            header_params={"Content-Type": APPLY_PATCH, "Accept": "application/json"},
            auth_settings=["BearerToken"],
        )
        try:
            response = self._api.call_api(
                method, url, headers, body, _request_timeout=REQUEST_TIMEOUT
            )
            response.read()
            self._api.response_deserialize(response, {"200": "object", "201": "object"})
        except ApiException as error:
            raise with_server_message(error) from None

    async def missing_references(
        self,
        namespace: str,
        objects: Sequence[ObjectReference],
        secrets: Sequence[SecretKeyRef],
        policy: ReferencePolicy = DEFAULT_POLICY,
    ) -> list[MissingReference]:
        """Every reference that does not resolve or did not opt in, explained."""
        return await run_blocking(self._missing_references, namespace, objects, secrets, policy)

    def _missing_references(
        self,
        namespace: str,
        objects: Sequence[ObjectReference],
        secrets: Sequence[SecretKeyRef],
        policy: ReferencePolicy,
    ) -> list[MissingReference]:
        missing = [m for ref in objects if (m := self._check_object(namespace, ref, policy))]
        missing += check_secret_references(self._core, namespace, secrets, policy)
        return list(dict.fromkeys(missing))

    def _check_object(
        self, namespace: str, ref: ObjectReference, policy: ReferencePolicy
    ) -> MissingReference | None:
        reason = "ReferenceNotFound" if ref.api_version.startswith(GROUP) else "TargetNotFound"
        try:
            resource = self._dynamic_client().resources.get(
                api_version=ref.api_version, kind=ref.kind
            )
        except ResourceNotFoundError:
            return MissingReference(
                reason, f"the API server does not serve kind {ref.kind} in {ref.api_version}"
            )
        if ref.needs_scale and "scale" not in resource.subresources:
            return MissingReference(
                "TargetNotScalable", f"kind {ref.kind} has no /scale subresource"
            )
        try:
            found = resource.get(
                name=ref.name, namespace=namespace, header_params={"Accept": METADATA_ONLY}
            )
            if ref.needs_scale:
                resource.subresources["scale"].get(name=ref.name, namespace=namespace)
        except NotFoundError:
            return MissingReference(
                reason, f"{ref.kind} {ref.name} not found in namespace {namespace}"
            )
        labels = (found.to_dict().get("metadata") or {}).get("labels")
        if ref.needs_scale and not target_allowed(labels, policy):
            return MissingReference("TargetNotAllowed", target_not_allowed(ref.kind, ref.name))
        return None
