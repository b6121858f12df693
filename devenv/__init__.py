"""Local test infrastructure for Watchkeeper: a real control plane, Prometheus, the operator.

Everything runs as plain processes on 127.0.0.1 with ports picked at random; nothing needs
Docker. Each component is a small class with ``start()``/``stop()``:

- :class:`~devenv.cluster.LocalCluster` -- etcd, kube-apiserver, optional controller-manager;
- :class:`~devenv.exporter.MetricsExporter` -- gauges a test controls, served at ``/metrics``;
- :class:`~devenv.prometheus.LocalPrometheus` -- Prometheus scraping that exporter;
- :class:`~devenv.operator.OperatorProcess` -- ``python -m watchkeeper run`` against them.

``python -m devenv up`` wires them all together for manual use; ``python -m devenv demo``
adds fake nodes and the closed-loop demo of :mod:`devenv.demo`.
"""

from devenv.cluster import LocalCluster
from devenv.crds import apply_crds
from devenv.errors import DevEnvError
from devenv.exporter import MetricsExporter
from devenv.operator import OperatorProcess
from devenv.prometheus import LocalPrometheus

__all__ = [
    "DevEnvError",
    "LocalCluster",
    "LocalPrometheus",
    "MetricsExporter",
    "OperatorProcess",
    "apply_crds",
]
