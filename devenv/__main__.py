"""``python -m devenv up``: a whole local environment, with the operator in the foreground.

Starts the control plane (with kube-controller-manager), a metrics exporter, Prometheus
scraping it, applies ``crds/``, prints how to reach everything, then runs the operator with
its output on the terminal until Ctrl-C (or SIGTERM); everything stops in reverse order.
"""

import argparse
import contextlib
import signal
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

from devenv.binaries import REPO_ROOT
from devenv.cluster import LocalCluster
from devenv.crds import apply_crds
from devenv.exporter import MetricsExporter
from devenv.operator import OperatorProcess
from devenv.prometheus import LocalPrometheus


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the chosen command; return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m devenv", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    up_parser = commands.add_parser("up", help="run everything locally until Ctrl-C")
    up_parser.add_argument(
        "--crds", type=Path, default=REPO_ROOT / "crds", help="directory of CRD manifests"
    )
    up_parser.add_argument(
        "operator_args",
        nargs=argparse.REMAINDER,
        help="extra arguments for `watchkeeper run` (after --)",
    )
    args = parser.parse_args(argv)
    operator_args = [arg for arg in args.operator_args if arg != "--"]
    # Ctrl-C and SIGTERM both take the orderly path, even where SIGINT starts out ignored
    # (as for `cmd &` in a script).
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.default_int_handler)
    try:
        return up(args.crds, operator_args)
    except KeyboardInterrupt:
        print("\ndevenv: stopped", file=sys.stderr)
        return 130


def up(crd_dir: Path, operator_args: Sequence[str]) -> int:
    """Start everything, run the operator until it exits; return its exit code."""
    with (
        tempfile.TemporaryDirectory(prefix="watchkeeper-dev-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        workdir = Path(tmp)
        cluster = LocalCluster(workdir / "cluster", controller_manager=True)
        stack.callback(cluster.stop)
        cluster.start()
        exporter = stack.enter_context(MetricsExporter())
        prometheus = LocalPrometheus(workdir / "prometheus", exporter.address)
        stack.callback(prometheus.stop)
        prometheus.start()
        apply_crds(cluster.kubeconfig, crd_dir)
        _announce(cluster, prometheus, exporter)
        operator = OperatorProcess(
            kubeconfig=cluster.kubeconfig,
            prometheus_url=prometheus.url,
            log_path=None,
            extra_args=operator_args,
        )
        stack.callback(operator.stop)
        operator.start()
        return operator.wait()


def _announce(
    cluster: LocalCluster, prometheus: LocalPrometheus, exporter: MetricsExporter
) -> None:
    print(
        f"devenv: kube-apiserver  {cluster.server}\n"
        f"devenv: KUBECONFIG      {cluster.kubeconfig}\n"
        f"devenv: Prometheus      {prometheus.url}\n"
        f"devenv: exporter        {exporter.url}\n"
        f"devenv: logs            {cluster.workdir} and {prometheus.workdir}\n"
        f"\n    export KUBECONFIG={cluster.kubeconfig}\n\n"
        "devenv: starting the operator; Ctrl-C stops everything.",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
