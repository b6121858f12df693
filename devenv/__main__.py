"""``python -m devenv up``: a whole local environment, with the operator in the foreground.

Starts the control plane (with kube-controller-manager), a metrics exporter, Prometheus
scraping it, applies ``crds/``, prints how to reach everything, then runs the operator with
its output on the terminal until Ctrl-C (or SIGTERM); everything stops in reverse order
and the command exits 0. Run by ``make dev``, it takes the terminal's foreground for its
own process group, so that Ctrl-C reaches it and not make (which would otherwise die of
the signal and exit 130 whatever this process returns).
"""

import argparse
import contextlib
import os
import signal
import sys
import tempfile
from collections.abc import Iterator, Sequence
from pathlib import Path

from devenv.binaries import REPO_ROOT
from devenv.cluster import LocalCluster
from devenv.crds import apply_crds
from devenv.exporter import MetricsExporter
from devenv.operator import OperatorProcess
from devenv.prometheus import LocalPrometheus

EXPORTER_ENV = "WATCHKEEPER_DEV_EXPORTER"  # read by `watchkeeper dev`


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
    with _terminal_foreground():
        try:
            return up(args.crds, operator_args)
        except KeyboardInterrupt:
            print("\ndevenv: stopped", file=sys.stderr)
            return 0


@contextlib.contextmanager
def _terminal_foreground() -> Iterator[None]:
    """Make this process's own group the terminal's foreground group while it runs (as a
    shell does for a job), then give the terminal back. No terminal, or started in the
    background: nothing to do."""
    try:
        terminal = os.open("/dev/tty", os.O_RDWR)
    except OSError:
        yield
        return
    previous = os.tcgetpgrp(terminal)
    if previous != os.getpgrp():
        os.close(terminal)
        yield
        return
    signal.signal(signal.SIGTTOU, signal.SIG_IGN)  # a background group may not tcsetpgrp
    try:
        if os.getpgrp() != os.getpid():
            os.setpgid(0, 0)
        os.tcsetpgrp(terminal, os.getpgrp())
        yield
    finally:
        with contextlib.suppress(OSError):
            os.tcsetpgrp(terminal, previous)
        os.close(terminal)


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
        "\nIn another shell, for kubectl and the watchkeeper command of this checkout:\n\n"
        f"    export KUBECONFIG={cluster.kubeconfig}"
        f" {EXPORTER_ENV}=http://{exporter.address}"
        f' PATH="{Path(sys.executable).parent}:$PATH"\n\n'
        "Set metrics for policies to act on: watchkeeper dev set queue_length=50\n"
        "devenv: starting the operator; Ctrl-C stops everything.",
        flush=True,
    )


if __name__ == "__main__":
    sys.exit(main())
