"""What a CLI user sees when a command fails: one line that says what to do."""

from __future__ import annotations

from kubernetes.config import ConfigException

from watchkeeper.kube.calls import KubeError, KubeUnavailable


class CommandError(Exception):
    """A failure the user can fix; its message says how."""


def explain(error: Exception) -> str | None:
    """The one-line message for an error a user can act on; None for a bug (the caller
    lets it raise with its traceback)."""
    if isinstance(error, CommandError):
        return str(error)
    if isinstance(error, ConfigException):
        return (
            "no usable Kubernetes configuration: set KUBECONFIG to a kubeconfig file "
            f"(or run inside a cluster); the client said: {error}"
        )
    if isinstance(error, KubeUnavailable) and error.status is None:
        return (
            f"{error}: check that the cluster is up and that KUBECONFIG (or kubectl's "
            "current context) points at it"
        )
    if isinstance(error, KubeError) and error.status in (401, 403):
        return f"{error}: check your credentials and rights (kubectl auth can-i ...)"
    if isinstance(error, KubeError):
        return f"{error}"
    if isinstance(error, OSError):
        return f"{error.strerror or error}: {error.filename or ''}".rstrip(": ")
    return None
