"""``python -m devenv up``: a whole local environment, with the operator in the foreground.

Starts the control plane (with kube-controller-manager), a metrics exporter, Prometheus
scraping it, applies ``crds/``, prints how to reach everything, then runs the operator with
its output on the terminal until Ctrl-C (or SIGTERM); everything stops in reverse order
and the command exits 0. Run by ``make dev``, it takes the terminal's foreground for its
own process group, so that Ctrl-C reaches it and not make (which would otherwise die of
the signal and exit 130 whatever this process returns).

``python -m devenv demo`` (``make demo``) is the same with fake nodes (kube-scheduler +
KWOK) and the closed-loop demo: the operator logs to a file, ``manifests/demo/`` is
applied, and the driver of ``devenv/demo.py`` prints the scripted load until Ctrl-C.
"""

import argparse
import contextlib
import os
import signal
import sys
import tempfile
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path

from devenv.binaries import REPO_ROOT
from devenv.cluster import LocalCluster
from devenv.crds import apply_crds, kubectl
from devenv.demo import MANIFESTS, NAMESPACE, DemoDriver
from devenv.exporter import MetricsExporter
from devenv.operator import OperatorProcess
from devenv.prometheus import LocalPrometheus

EXPORTER_ENV = "WATCHKEEPER_DEV_EXPORTER"  # read by `watchkeeper dev`
DEMO_NODES = 3
DEMO_POD_READY_DELAY = 5.0  # seconds from scheduled to Ready: long enough to see


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the command line and run the chosen command; return the exit code."""
    parser = argparse.ArgumentParser(prog="python -m devenv", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument(
        "--crds", type=Path, default=REPO_ROOT / "crds", help="directory of CRD manifests"
    )
    common.add_argument(
        "operator_args",
        nargs=argparse.REMAINDER,
        help="extra arguments for `watchkeeper run` (after --)",
    )
    commands.add_parser("up", parents=[common], help="run everything locally until Ctrl-C")
    commands.add_parser(
        "demo", parents=[common], help="the closed-loop demo on fake nodes until Ctrl-C"
    )
    args = parser.parse_args(argv)
    operator_args = [arg for arg in args.operator_args if arg != "--"]
    # Ctrl-C and SIGTERM both take the orderly path, even where SIGINT starts out ignored
    # (as for `cmd &` in a script).
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, signal.default_int_handler)
    with _terminal_foreground():
        try:
            return COMMANDS[args.command](args.crds, operator_args)
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
        exporter, prometheus = _start_environment(stack, workdir, cluster, crd_dir)
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


def demo(crd_dir: Path, operator_args: Sequence[str]) -> int:
    """The closed-loop demo: fake nodes, the operator, manifests/demo/ and the driver of
    devenv/demo.py, until Ctrl-C (or the operator exits: its exit code)."""
    with (
        tempfile.TemporaryDirectory(prefix="watchkeeper-demo-") as tmp,
        contextlib.ExitStack() as stack,
    ):
        workdir = Path(tmp)
        cluster = LocalCluster(
            workdir / "cluster", nodes=DEMO_NODES, pod_ready_delay=DEMO_POD_READY_DELAY
        )
        exporter, prometheus = _start_environment(stack, workdir, cluster, crd_dir)
        log = workdir / "watchkeeper.log"
        operator = OperatorProcess(
            kubeconfig=cluster.kubeconfig,
            prometheus_url=prometheus.url,
            log_path=log,
            extra_args=operator_args,
        )
        stack.callback(operator.stop)
        operator.start()
        kubectl(cluster.kubeconfig, "apply", "-f", str(MANIFESTS))
        _announce_demo(cluster, log)
        driver = DemoDriver(cluster.server, cluster.certs, exporter, report=_print)
        stop = threading.Event()
        thread = threading.Thread(target=driver.run, args=(stop,), name="demo-driver")
        thread.start()
        stack.callback(thread.join)
        stack.callback(stop.set)
        return operator.wait()


def _start_environment(
    stack: contextlib.ExitStack, workdir: Path, cluster: LocalCluster, crd_dir: Path
) -> tuple[MetricsExporter, LocalPrometheus]:
    """Start ``cluster``, an exporter and Prometheus scraping it, apply the CRDs; each is
    stopped when ``stack`` closes."""
    stack.callback(cluster.stop)
    cluster.start()
    exporter = stack.enter_context(MetricsExporter())
    prometheus = LocalPrometheus(workdir / "prometheus", exporter.address)
    stack.callback(prometheus.stop)
    prometheus.start()
    apply_crds(cluster.kubeconfig, crd_dir)
    return exporter, prometheus


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


def _announce_demo(cluster: LocalCluster, log: Path) -> None:
    print(
        f"devenv: KUBECONFIG      {cluster.kubeconfig}\n"
        f"devenv: operator log    {log} (the Log channel's notifications)\n"
        f"devenv: applied         {MANIFESTS.relative_to(REPO_ROOT)}/ in namespace {NAMESPACE}\n"
        "\nWatch the loop close, in another shell:\n\n"
        f"    export KUBECONFIG={cluster.kubeconfig}"
        f' PATH="{Path(sys.executable).parent}:$PATH"\n'
        f"    watch -n1 kubectl get scalingpolicies,alerts,pods -n {NAMESPACE}\n"
        f"    kubectl get alerts -n {NAMESPACE} -w     # -w watches one kind per command\n"
        f"    tail -f {log} | grep notification\n\n"
        "devenv: the load below loops (idle, ramp-up, plateau, ramp-down); "
        "Ctrl-C stops everything.",
        flush=True,
    )


def _print(line: str) -> None:
    print(line, flush=True)


COMMANDS = {"up": up, "demo": demo}

if __name__ == "__main__":
    sys.exit(main())
