"""The README's quick start, as someone new runs it: `make dev` in one terminal, the line it
prints pasted into another shell, then the quick start's commands exactly as written
(`kubectl` and `watchkeeper` found on PATH), and Ctrl-C in the first terminal ending with
exit code 0."""

from __future__ import annotations

import os
import pty
import re
import shlex
import subprocess
import threading
import time
from pathlib import Path

import pytest

from devenv.names import namespace_name
from tests.helm import ROOT
from tests.waiting import eventually

pytestmark = [pytest.mark.cluster, pytest.mark.prometheus]

README = ROOT / "README.md"
EXPORT = re.compile(r"^\s*export (KUBECONFIG=.*)$", re.MULTILINE)


class Terminal:
    """`make dev` on a pseudo-terminal of its own, its output collected."""

    def __init__(self, argv: list[str], cwd: Path) -> None:
        self.pid, self._fd = pty.fork()
        if self.pid == 0:  # the child: becomes make (not a sub-make of a `make test`)
            os.chdir(cwd)
            for variable in ("MAKEFLAGS", "MAKELEVEL", "MFLAGS"):
                os.environ.pop(variable, None)
            os.execvp(argv[0], argv)
        self.output = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                data = os.read(self._fd, 4096)
            except OSError:
                return
            if not data:
                return
            self.output += data.decode(errors="replace")

    def ctrl_c(self) -> None:
        os.write(self._fd, b"\x03")

    def wait(self, timeout: float) -> int | None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                return os.waitstatus_to_exitcode(status)
            time.sleep(0.2)
        return None


def quick_start_commands() -> list[str]:
    """The shell lines of the README's quick start that follow `make dev`."""
    section = README.read_text().split("## Quick start", 1)[1].split("\n## ", 1)[0]
    blocks = re.findall(r"```sh\n(.*?)```", section, re.DOTALL)
    lines = [line.split("  #", 1)[0].strip() for block in blocks[1:] for line in block.splitlines()]
    return [line for line in lines if line]


def test_quick_start_works_as_written(tmp_path: Path) -> None:
    terminal = Terminal(["make", "--no-print-directory", "dev"], ROOT)
    try:
        match = eventually(lambda: EXPORT.search(terminal.output), bool, timeout=240)
        assert match is not None
        env = dict(os.environ)
        for assignment in shlex.split(match.group(1).replace("$PATH", env["PATH"])):
            name, _, value = assignment.partition("=")
            env[name] = value
        env.pop("KUBERNETES_SERVICE_HOST", None)
        namespace = namespace_name("shop")

        def run(line: str) -> subprocess.CompletedProcess[str]:
            line = line.replace("shop", namespace)
            return subprocess.run(
                ["bash", "-c", line], env=env, capture_output=True, text=True, timeout=60
            )

        ack_lines: list[str] = []
        for line in quick_start_commands():
            if line.startswith("watchkeeper ack"):
                ack_lines.append(line)
                continue
            result = run(line)
            assert result.returncode == 0, f"{line}: {result.stderr}"

        def firing_alert() -> str:
            listed = run("kubectl get alerts -n shop -o name").stdout.split()
            return listed[0].split("/", 1)[1] if listed else ""

        alert = eventually(firing_alert, bool, timeout=60)
        assert alert.startswith("queue-backlog-")
        [ack] = ack_lines
        result = run(ack.replace("queue-backlog-<hash>", alert))
        assert result.returncode == 0, result.stderr
        wrong = run(ack.replace("queue-backlog-<hash>", "queue-backlog-nope"))
        assert wrong.returncode == 1 and len(wrong.stderr.strip().splitlines()) == 1
        assert f"kubectl get alerts -n {namespace}" in wrong.stderr

        def replicas() -> str:
            return run(
                "kubectl get deployment example-app -n shop -o jsonpath={.spec.replicas}"
            ).stdout

        eventually(replicas, lambda r: r == "5", timeout=60)
    finally:
        terminal.ctrl_c()
        code = terminal.wait(timeout=90)
    assert code == 0, terminal.output[-3000:]
    assert "Error" not in terminal.output.rsplit("devenv: stopped", 1)[-1]
