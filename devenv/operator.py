"""``OperatorProcess``: the operator run exactly as a user runs it, in a child process.

``python -m watchkeeper run --all-namespaces --liveness http://127.0.0.1:PORT/healthz``
with ``KUBECONFIG`` and ``WATCHKEEPER_PROMETHEUS_URL`` set; ready once the liveness
endpoint (kopf's standard one) answers 200.
"""

import os
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path

from devenv.net import LOOPBACK, free_port, http_ok
from devenv.process import ManagedProcess

# Inherited from a CI pod, these would make the Kubernetes clients prefer the in-cluster
# service account over KUBECONFIG and talk to the wrong cluster.
IN_CLUSTER_VARIABLES = ("KUBERNETES_SERVICE_HOST", "KUBERNETES_SERVICE_PORT")


class OperatorProcess:
    """Start, stop, crash (``kill``) and restart the operator; read what it logged."""

    def __init__(
        self,
        *,
        kubeconfig: Path,
        prometheus_url: str,
        log_path: Path | None,
        extra_args: Sequence[str] = (),
        env: Mapping[str, str] | None = None,
        ready_timeout: float = 60.0,
    ) -> None:
        """``log_path=None`` sends the output to the terminal instead of a file."""
        self.liveness_url = f"http://{LOOPBACK}:{free_port()}/healthz"
        port = free_port()
        self.metrics_url = f"http://{LOOPBACK}:{port}/metrics"
        self.readiness_url = f"http://{LOOPBACK}:{port}/readyz"
        self.ready_timeout = ready_timeout
        argv = [sys.executable, "-m", "watchkeeper", "run", "--all-namespaces"]
        argv += ["--liveness", self.liveness_url, *extra_args]
        argv += ["--metrics-port", str(port), "--metrics-address", LOOPBACK]
        child_env = {k: v for k, v in os.environ.items() if k not in IN_CLUSTER_VARIABLES}
        child_env |= {
            "PYTHONUNBUFFERED": "1",
            "KUBECONFIG": str(kubeconfig),
            "WATCHKEEPER_PROMETHEUS_URL": prometheus_url,
            **(env or {}),
        }
        self._process = ManagedProcess("watchkeeper", argv, log_path, child_env)

    @property
    def pid(self) -> int | None:
        """The PID of the current (or last) operator process."""
        return self._process.pid

    @property
    def running(self) -> bool:
        """Whether the operator process is alive."""
        return self._process.running

    def start(self) -> None:
        """Start the operator and wait until its liveness endpoint answers 200."""
        self._process.start()
        self._process.wait_ready(lambda: http_ok(self.liveness_url), self.ready_timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM (a graceful kopf shutdown), then SIGKILL after ``timeout`` seconds."""
        self._process.stop(timeout)

    def kill(self) -> None:
        """SIGKILL at once, to simulate a crash: no cleanup, no finalizer handling."""
        self._process.kill()

    def restart(self) -> None:
        """Stop gracefully (if running) and start again, on the same liveness port."""
        self.stop()
        self.start()

    def wait(self) -> int:
        """Block until the operator exits by itself; return its exit code."""
        return self._process.wait()

    def log_text(self, since_start: bool = False) -> str:
        """The operator's output: all runs, or only the current one with ``since_start``."""
        return self._process.log_text(since_start)
