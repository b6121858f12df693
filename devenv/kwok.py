"""Fake nodes for the local cluster: kube-scheduler places pods on Nodes that KWOK
simulates, and KWOK turns each scheduled pod Running and Ready after a delay.

Opt-in (``LocalCluster(..., nodes=3)``): without nodes pods stay Pending, as before. Both
processes log under the cluster's workdir (``kube-scheduler.log``, ``kwok.log``); the
stages KWOK plays are in ``kwok_stages.yaml`` beside this module.
"""

import json
from collections.abc import Callable
from pathlib import Path

import yaml

from devenv.binaries import kwok_binary
from devenv.certs import ClusterCerts
from devenv.crds import kubectl
from devenv.errors import DevEnvError
from devenv.kubeconfig import write_kubeconfig
from devenv.net import LOOPBACK, free_port, http_ok, poll
from devenv.process import ManagedProcess

STAGES = Path(__file__).with_name("kwok_stages.yaml")
NODE_ANNOTATION = "kwok.x-k8s.io/node"
NODE_PREFIX = "kwok-node-"

Launch = Callable[[str, list[str]], ManagedProcess]
# KWOK's watches of pods and nodes are refused by the apiserver's watch cache when etcd
# lacks watch progress requests (the local etcd may), and each refusal costs seconds of
# backoff; served from etcd directly they just work.
KWOK_WATCH_CACHE_SIZES = "pods#0,nodes#0"


def start_scheduler(
    launch: Launch, workdir: Path, server: str, certs: ClusterCerts, bin_dir: Path, timeout: float
) -> None:
    """kube-scheduler with its own client certificate (RBAC's system:kube-scheduler)."""
    kubeconfig = write_kubeconfig(
        workdir / "scheduler.kubeconfig",
        server=server,
        ca_cert=certs.ca.cert,
        client=certs.scheduler,
        user="system:kube-scheduler",
    )
    port = free_port()
    argv = [
        str(bin_dir / "kube-scheduler"),
        f"--kubeconfig={kubeconfig}",
        f"--authentication-kubeconfig={kubeconfig}",
        f"--authorization-kubeconfig={kubeconfig}",
        f"--bind-address={LOOPBACK}",
        f"--secure-port={port}",
        "--leader-elect=false",
    ]
    scheduler = launch("kube-scheduler", argv)
    # Its serving certificate is self-signed, hence no verification of this probe.
    scheduler.wait_ready(
        lambda: http_ok(f"https://{LOOPBACK}:{port}/healthz", verify=False), timeout
    )


def write_stages(path: Path, ready_delay: float) -> Path:
    """The stages with pod-ready delayed by ``ready_delay`` seconds."""
    stages = list(yaml.safe_load_all(STAGES.read_text()))
    for stage in stages:
        if stage["metadata"]["name"] == "pod-ready":
            stage["spec"]["delay"]["durationMilliseconds"] = round(ready_delay * 1000)
    path.write_text(yaml.safe_dump_all(stages, sort_keys=False))
    return path


def start_kwok(
    launch: Launch, workdir: Path, kubeconfig: Path, ready_delay: float, timeout: float
) -> ManagedProcess:
    """The KWOK controller for the Nodes carrying the fake-node annotation."""
    port = free_port()
    argv = [
        str(kwok_binary()),
        f"--kubeconfig={kubeconfig}",
        f"--config={write_stages(workdir / 'kwok-stages.yaml', ready_delay)}",
        f"--manage-nodes-with-annotation-selector={NODE_ANNOTATION}=fake",
        f"--server-address={LOOPBACK}:{port}",
        "--node-ip=10.0.1.1",
        "--cidr=10.0.2.0/24",
    ]
    kwok = launch("kwok", argv)
    kwok.wait_ready(lambda: http_ok(f"http://{LOOPBACK}:{port}/healthz"), timeout)
    return kwok


def add_nodes(kubeconfig: Path, count: int, timeout: float) -> list[str]:
    """Create ``count`` fake Nodes and wait until KWOK reports them Ready."""
    names = [f"{NODE_PREFIX}{i}" for i in range(count)]
    nodes = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {
                "apiVersion": "v1",
                "kind": "Node",
                "metadata": {
                    "name": name,
                    "annotations": {NODE_ANNOTATION: "fake"},
                    "labels": {"kubernetes.io/hostname": name, "type": "kwok"},
                },
            }
            for name in names
        ],
    }
    manifest = kubeconfig.parent / "kwok-nodes.json"
    manifest.write_text(json.dumps(nodes))
    kubectl(
        kubeconfig,
        "apply",
        "--server-side",
        "--field-manager=watchkeeper-devenv",
        "-f",
        str(manifest),
    )

    def ready() -> bool:
        out = kubectl(
            kubeconfig,
            "get",
            "nodes",
            "-o",
            'jsonpath={range .items[*]}{.status.conditions[?(@.type=="Ready")].status}{"\\n"}{end}',
        )
        return out.split().count("True") >= count

    if not poll(ready, timeout, interval=0.2):
        raise DevEnvError(f"the {count} fake nodes were not Ready after {timeout:g} s")
    return names
