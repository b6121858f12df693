"""Child processes that are always stopped: by their owner, at interpreter exit, or in bulk.

Every :class:`ManagedProcess` runs in its own session, so a Ctrl-C in the terminal reaches
only the Python parent, which then stops the children itself, newest first, each by its PID:
SIGTERM, a grace period, then SIGKILL.
"""

import atexit
import subprocess
import threading
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path

from devenv.errors import DevEnvError
from devenv.net import poll

_running: dict[int, "ManagedProcess"] = {}  # id(process) -> process, in start order
_running_lock = threading.Lock()


class ManagedProcess:
    """One child process; its stdout+stderr go to ``log_path``, or to the terminal if None."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path | None,
        env: Mapping[str, str] | None = None,
    ) -> None:
        self.name = name
        self.argv = [str(arg) for arg in argv]
        self.log_path = log_path
        self.env = dict(env) if env is not None else None
        self._popen: subprocess.Popen[bytes] | None = None
        self._log_offset = 0

    @property
    def pid(self) -> int | None:
        """The PID of the current (or last) child, if it was ever started."""
        return self._popen.pid if self._popen is not None else None

    @property
    def running(self) -> bool:
        """Whether the child has been started and has not exited yet."""
        return self._popen is not None and self._popen.poll() is None

    def start(self) -> None:
        """Spawn the child; its log file is appended to, so earlier runs stay readable."""
        if self.running:
            raise DevEnvError(f"{self.name} is already running (pid {self.pid})")
        if self.log_path is None:
            self._popen = self._spawn(None)
        else:
            self.log_path.parent.mkdir(parents=True, exist_ok=True)
            with self.log_path.open("ab") as log:
                self._log_offset = log.tell()
                self._popen = self._spawn(log.fileno())
        with _running_lock:
            _running[id(self)] = self

    def _spawn(self, log_fd: int | None) -> "subprocess.Popen[bytes]":
        return subprocess.Popen(
            self.argv,
            stdin=subprocess.DEVNULL,
            stdout=log_fd,
            stderr=subprocess.STDOUT if log_fd is not None else None,
            env=self.env,
            start_new_session=True,
        )

    def stop(self, timeout: float = 10.0) -> None:
        """SIGTERM the child, wait up to ``timeout`` seconds, then SIGKILL it."""
        if self._popen is not None and self._popen.poll() is None:
            self._popen.terminate()
            try:
                self._popen.wait(timeout)
            except subprocess.TimeoutExpired:
                self._popen.kill()
                self._popen.wait()
        self._forget()

    def kill(self) -> None:
        """SIGKILL the child at once, as a crash or an OOM kill would."""
        if self._popen is not None and self._popen.poll() is None:
            self._popen.kill()
            self._popen.wait()
        self._forget()

    def wait(self) -> int:
        """Block until the child exits on its own; return its exit code."""
        if self._popen is None:
            raise DevEnvError(f"{self.name} was never started")
        code = self._popen.wait()
        self._forget()
        return code

    def _forget(self) -> None:
        with _running_lock:
            _running.pop(id(self), None)

    def wait_ready(self, probe: Callable[[], bool], timeout: float) -> None:
        """Poll ``probe`` until it is true; fail fast, with the log tail, if the child dies."""

        def ready() -> bool:
            if not self.running:
                code = self._popen.returncode if self._popen is not None else None
                raise DevEnvError(
                    f"{self.name} exited with code {code} while starting\n{self.log_tail()}"
                )
            return probe()

        if not poll(ready, timeout):
            self.stop()
            raise DevEnvError(f"{self.name} was not ready after {timeout:g} s\n{self.log_tail()}")

    def log_text(self, since_start: bool = False) -> str:
        """The log file's text: all runs, or only the current one with ``since_start``."""
        if self.log_path is None:
            raise DevEnvError(f"{self.name} writes to the terminal, not to a log file")
        if not self.log_path.exists():
            return ""
        with self.log_path.open("rb") as log:
            log.seek(self._log_offset if since_start else 0)
            return log.read().decode("utf-8", errors="replace")

    def log_tail(self, lines: int = 40) -> str:
        """The last lines of the current run's log, labelled for an error message."""
        if self.log_path is None:
            return f"({self.name} wrote its output to the terminal)"
        tail = "\n".join(self.log_text(since_start=True).splitlines()[-lines:])
        return f"--- last {lines} lines of {self.log_path} ---\n{tail}"


def stop_all() -> None:
    """Stop every child still running, newest first. Safe to call more than once."""
    with _running_lock:
        processes = list(_running.values())
    for process in reversed(processes):
        process.stop()


atexit.register(stop_all)
