"""``LocalCluster``: etcd + kube-apiserver (+ kube-controller-manager) on loopback.

No kubelet: objects are stored and controllers run, pods stay Pending, unless ``nodes``
asks for fake nodes (kube-scheduler + KWOK, see ``devenv/kwok.py``): then pods are
scheduled and turn Running and Ready ``pod_ready_delay`` seconds later.
Logs and state live under ``workdir``: ``etcd.log``, ``kube-apiserver.log``,
``kube-controller-manager.log``, ``pki/``, ``etcd-data/`` and ``kubeconfig``.
"""

import functools
import ssl
import subprocess
from pathlib import Path

from devenv.binaries import etcd_binary, kube_bin_dir
from devenv.certs import ClusterCerts, generate_cluster_certs
from devenv.errors import DevEnvError
from devenv.kubeconfig import write_kubeconfig
from devenv.kwok import KWOK_WATCH_CACHE_SIZES, add_nodes, start_kwok, start_scheduler
from devenv.metrics import Samples, apiserver_metrics
from devenv.net import LOOPBACK, free_port, http_ok
from devenv.process import ManagedProcess

SERVICE_CLUSTER_IP_RANGE = "10.0.0.0/24"
SERVICE_ACCOUNT_ISSUER = "https://kubernetes.default.svc.cluster.local"


class LocalCluster:
    """A throwaway control plane; ``start()`` takes about 2-3 seconds once binaries exist."""

    def __init__(
        self,
        workdir: Path,
        *,
        controller_manager: bool = False,
        nodes: int = 0,
        pod_ready_delay: float = 2.0,
        bin_dir: Path | None = None,
        start_timeout: float = 60.0,
    ) -> None:
        self.workdir = workdir
        self.controller_manager = controller_manager or nodes > 0  # pods need ReplicaSets
        self.nodes = nodes
        self.pod_ready_delay = pod_ready_delay
        self.bin_dir = bin_dir
        self.start_timeout = start_timeout
        self._processes: list[ManagedProcess] = []
        self._server: str | None = None
        self._apiserver: ManagedProcess | None = None
        self._certs: ClusterCerts | None = None
        self._controller_manager: tuple[ManagedProcess, str] | None = None  # (process, healthz)

    @property
    def server(self) -> str:
        """The apiserver URL, ``https://127.0.0.1:PORT``."""
        if self._server is None:
            raise DevEnvError("the cluster is not started")
        return self._server

    @property
    def kubeconfig(self) -> Path:
        """An admin (``system:masters``) kubeconfig with its certificates embedded."""
        return self.workdir / "kubeconfig"

    @property
    def ca_file(self) -> Path:
        """The CA that signed the apiserver's serving certificate."""
        return self.workdir / "pki" / "ca.crt"

    @property
    def certs(self) -> ClusterCerts:
        """The cluster's PKI (CA, serving and client certificates) on disk."""
        if self._certs is None:
            raise DevEnvError("the cluster is not started")
        return self._certs

    @property
    def apiserver_running(self) -> bool:
        """Whether kube-apiserver is up (False between stop_apiserver and start_apiserver)."""
        return self._apiserver is not None and self._apiserver.running

    @property
    def apiserver_pid(self) -> int | None:
        """kube-apiserver's PID (current or last run)."""
        return self._apiserver.pid if self._apiserver is not None else None

    def start(self) -> None:
        """Start etcd, then kube-apiserver, then optionally kube-controller-manager."""
        if self._processes:
            raise DevEnvError("the cluster is already started")
        self.workdir.mkdir(parents=True, exist_ok=True)
        bin_dir = self.bin_dir or kube_bin_dir()
        try:
            certs = self._certs = generate_cluster_certs(self.workdir / "pki")
            etcd_url = self._start_etcd()
            self._start_apiserver(bin_dir, certs, etcd_url)
            write_kubeconfig(
                self.kubeconfig,
                server=self.server,
                ca_cert=certs.ca.cert,
                client=certs.admin,
                user="admin",
            )
            if self.controller_manager:
                self._start_controller_manager(bin_dir, certs)
            if self.nodes:
                self._start_fake_nodes(bin_dir, certs)
        except BaseException:
            self.stop()
            raise

    def stop(self) -> None:
        """Stop the processes in reverse order. Safe to call more than once."""
        while self._processes:
            self._processes.pop().stop()
        self._server = None
        self._apiserver = None
        self._controller_manager = None

    def stop_apiserver(self, *, kill: bool = False) -> None:
        """Stop kube-apiserver alone (an API outage): etcd, data and certificates are kept.

        ``kill`` sends SIGKILL at once instead of a graceful SIGTERM. ``server`` and the
        kubeconfig stay valid: :meth:`start_apiserver` brings it back on the same port.
        """
        apiserver = self._require_apiserver()
        if kill:
            apiserver.kill()
        else:
            apiserver.stop()

    def start_apiserver(self) -> None:
        """Start kube-apiserver again after :meth:`stop_apiserver`; wait for ``/readyz``.

        Same argv, so the same port, certificates and etcd; the log file is appended to.
        kube-controller-manager is restarted too: it may have given up during the outage
        (it exits when the API goes away while it starts its controllers) or be waiting out
        long watch backoffs, and the tests after an outage need it prompt.
        """
        apiserver = self._require_apiserver()
        if apiserver.running:
            raise DevEnvError("kube-apiserver is already running")
        apiserver.start()
        trust = ssl.create_default_context(cafile=str(self.ca_file))
        apiserver.wait_ready(lambda: http_ok(f"{self.server}/readyz", trust), self.start_timeout)
        if self._controller_manager is not None:
            kcm, healthz = self._controller_manager
            if kcm.running:
                kcm.stop()
            kcm.start()
            kcm.wait_ready(lambda: http_ok(healthz, verify=False), self.start_timeout)

    def _start_fake_nodes(self, bin_dir: Path, certs: ClusterCerts) -> None:
        timeout = self.start_timeout
        start_scheduler(self._launch, self.workdir, self.server, certs, bin_dir, timeout)
        start_kwok(self._launch, self.workdir, self.kubeconfig, self.pod_ready_delay, timeout)
        add_nodes(self.kubeconfig, self.nodes, timeout)

    def metrics(self) -> Samples:
        """kube-apiserver's ``/metrics``, read with the admin client certificate (see
        :func:`devenv.metrics.api_requests` for ``apiserver_request_total`` by verb)."""
        return apiserver_metrics(self.server, self.certs)

    def _require_apiserver(self) -> ManagedProcess:
        if self._apiserver is None or self._server is None:
            raise DevEnvError("the cluster is not started")
        return self._apiserver

    def _launch(self, name: str, argv: list[str]) -> ManagedProcess:
        process = ManagedProcess(name, argv, self.workdir / f"{name}.log")
        self._processes.append(process)
        process.start()
        return process

    def _start_etcd(self) -> str:
        client_url = f"http://{LOOPBACK}:{free_port()}"
        peer_url = f"http://{LOOPBACK}:{free_port()}"
        binary = etcd_binary()
        argv = [
            str(binary),
            "--name=default",
            f"--data-dir={self.workdir / 'etcd-data'}",
            f"--listen-client-urls={client_url}",
            f"--advertise-client-urls={client_url}",
            f"--listen-peer-urls={peer_url}",
            f"--initial-advertise-peer-urls={peer_url}",
            f"--initial-cluster=default={peer_url}",
            "--heartbeat-interval=10",
            "--election-timeout=100",
        ]
        if _etcd_supports_no_fsync(binary):
            argv.append("--unsafe-no-fsync")
        etcd = self._launch("etcd", argv)
        etcd.wait_ready(lambda: http_ok(f"{client_url}/health"), self.start_timeout)
        return client_url

    def _start_apiserver(self, bin_dir: Path, certs: ClusterCerts, etcd_url: str) -> None:
        port = free_port()
        argv = [
            str(bin_dir / "kube-apiserver"),
            f"--etcd-servers={etcd_url}",
            f"--cert-dir={self.workdir / 'apiserver-certs'}",
            f"--tls-cert-file={certs.apiserver.cert}",
            f"--tls-private-key-file={certs.apiserver.key}",
            f"--client-ca-file={certs.ca.cert}",
            f"--secure-port={port}",
            f"--bind-address={LOOPBACK}",
            f"--advertise-address={LOOPBACK}",
            f"--service-cluster-ip-range={SERVICE_CLUSTER_IP_RANGE}",
            f"--service-account-issuer={SERVICE_ACCOUNT_ISSUER}",
            f"--service-account-key-file={certs.service_account_public_key}",
            f"--service-account-signing-key-file={certs.service_account_key}",
            "--authorization-mode=RBAC",
            "--allow-privileged=true",
            "--disable-admission-plugins=ServiceAccount",
            "--endpoint-reconciler-type=none",
        ]
        if self.nodes:
            argv.append(f"--watch-cache-sizes={KWOK_WATCH_CACHE_SIZES}")
        apiserver = self._apiserver = self._launch("kube-apiserver", argv)
        server = f"https://{LOOPBACK}:{port}"
        trust = ssl.create_default_context(cafile=str(certs.ca.cert))
        apiserver.wait_ready(lambda: http_ok(f"{server}/readyz", trust), self.start_timeout)
        self._server = server

    def _start_controller_manager(self, bin_dir: Path, certs: ClusterCerts) -> None:
        kubeconfig = write_kubeconfig(
            self.workdir / "controller-manager.kubeconfig",
            server=self.server,
            ca_cert=certs.ca.cert,
            client=certs.controller_manager,
            user="system:kube-controller-manager",
        )
        port = free_port()
        argv = [
            str(bin_dir / "kube-controller-manager"),
            f"--kubeconfig={kubeconfig}",
            f"--authentication-kubeconfig={kubeconfig}",
            f"--authorization-kubeconfig={kubeconfig}",
            f"--bind-address={LOOPBACK}",
            f"--secure-port={port}",
            f"--cert-dir={self.workdir / 'controller-manager-certs'}",
            "--use-service-account-credentials=true",
            f"--service-account-private-key-file={certs.service_account_key}",
            f"--root-ca-file={certs.ca.cert}",
            f"--cluster-signing-cert-file={certs.ca.cert}",
            f"--cluster-signing-key-file={certs.ca.key}",
            "--leader-elect=false",
        ]
        kcm = self._launch("kube-controller-manager", argv)
        healthz = f"https://{LOOPBACK}:{port}/healthz"
        # Its serving certificate is self-signed, hence no verification of this probe.
        kcm.wait_ready(lambda: http_ok(healthz, verify=False), self.start_timeout)
        self._controller_manager = (kcm, healthz)


@functools.cache
def _etcd_supports_no_fsync(binary: Path) -> bool:
    """``--unsafe-no-fsync`` exists from etcd 3.5 on; older ones refuse unknown flags."""
    usage = subprocess.run([str(binary), "--help"], capture_output=True, text=True, check=False)
    return "--unsafe-no-fsync" in usage.stdout + usage.stderr
