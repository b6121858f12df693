"""``LocalPrometheus``: a private Prometheus server scraping one target every second.

It can be stopped and started again on the same port with the same data directory, to
simulate an outage, and takes rule files that are hot-reloaded via ``POST /-/reload``.
"""

import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import httpx
import yaml

from devenv.binaries import prometheus_binary
from devenv.errors import DevEnvError
from devenv.net import LOOPBACK, free_port, http_ok, port_open
from devenv.process import ManagedProcess

Result = list[dict[str, Any]]


class LocalPrometheus:
    """Prometheus on ``127.0.0.1:PORT``; config, rules, data and log under ``workdir``."""

    def __init__(
        self,
        workdir: Path,
        scrape_target: str,
        *,
        evaluation_interval: float = 1.0,
        start_timeout: float = 30.0,
        web_config: Mapping[str, Any] | None = None,
        extra_config: Mapping[str, Any] | None = None,
    ) -> None:
        """``web_config`` is Prometheus's --web.config.file (TLS, basic auth users).

        ``extra_config`` adds top-level sections to prometheus.yml (e.g. ``alerting`` with
        an Alertmanager target); it may not replace the generated ``global``, ``rule_files``
        or ``scrape_configs``.
        """
        reserved = {"global", "rule_files", "scrape_configs"} & set(extra_config or {})
        if reserved:
            raise DevEnvError(f"extra_config may not set {', '.join(sorted(reserved))}")
        self.workdir = workdir
        self.web_config = web_config
        self.extra_config = dict(extra_config or {})
        self.scrape_target = scrape_target
        self.evaluation_interval = evaluation_interval
        self.start_timeout = start_timeout
        self.port = free_port()
        self.rules_dir = workdir / "rules"
        self._process = ManagedProcess(
            "prometheus",
            [
                str(prometheus_binary()),
                f"--config.file={self.config_file}",
                f"--storage.tsdb.path={workdir / 'data'}",
                f"--web.listen-address={LOOPBACK}:{self.port}",
                "--web.enable-lifecycle",
                *([f"--web.config.file={workdir / 'web.yml'}"] if web_config else []),
            ],
            workdir / "prometheus.log",
        )

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``; the same across stop() and start()."""
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def config_file(self) -> Path:
        """The generated prometheus.yml."""
        return self.workdir / "prometheus.yml"

    @property
    def running(self) -> bool:
        """Whether the server process is alive."""
        return self._process.running

    @property
    def pid(self) -> int | None:
        """The server's PID (current or last run)."""
        return self._process.pid

    def start(self) -> None:
        """Write the config, start the server and wait for ``/-/ready``."""
        self.rules_dir.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(yaml.safe_dump(self._config(), sort_keys=False))
        if self.web_config:
            (self.workdir / "web.yml").write_text(yaml.safe_dump(dict(self.web_config)))
        self._process.start()
        ready = (
            (lambda: port_open(LOOPBACK, self.port))
            if self.web_config
            else (lambda: http_ok(f"{self.url}/-/ready"))
        )
        self._process.wait_ready(ready, self.start_timeout)

    def stop(self) -> None:
        """Shut down gracefully (SIGKILL after a grace period); data and port are kept."""
        self._process.stop()

    def kill(self) -> None:
        """SIGKILL the server at once, as a crash would; data and port are kept."""
        self._process.kill()

    def set_rule_file(self, name: str, content: str | Mapping[str, Any]) -> None:
        """Write ``rules/NAME.yml`` (text, or a mapping to dump) and reload if running."""
        text = content if isinstance(content, str) else yaml.safe_dump(dict(content))
        self.rules_dir.mkdir(parents=True, exist_ok=True)
        (self.rules_dir / f"{name}.yml").write_text(text)
        self._reload_if_running()

    def remove_rule_file(self, name: str) -> None:
        """Delete ``rules/NAME.yml`` and reload if running."""
        (self.rules_dir / f"{name}.yml").unlink(missing_ok=True)
        self._reload_if_running()

    def reload(self) -> None:
        """``POST /-/reload``; raise with Prometheus' message if the config is rejected."""
        response = httpx.post(f"{self.url}/-/reload", timeout=10.0)
        if response.status_code != httpx.codes.OK:
            raise DevEnvError(f"Prometheus rejected the reload: {response.text.strip()}")

    def query(self, expr: str) -> Result:
        """Evaluate an instant query now; return ``data.result`` (vector, scalar or string)."""
        response = httpx.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=10.0)
        body = response.json()
        if body.get("status") != "success":
            raise DevEnvError(f"query {expr!r} failed: {body.get('error', response.text)}")
        result: Result = body["data"]["result"]
        return result

    def wait_for(
        self,
        expr: str,
        predicate: Callable[[Result], bool] = bool,
        timeout: float = 10.0,
    ) -> Result:
        """Re-run ``query(expr)`` until ``predicate`` holds (default: non-empty); return it."""
        deadline = time.monotonic() + timeout
        while True:
            result = self.query(expr)
            if predicate(result):
                return result
            if time.monotonic() >= deadline:
                raise TimeoutError(f"after {timeout:g} s, {expr!r} still gives {result!r}")
            time.sleep(0.2)

    def wait_for_scrape(self, timeout: float = 15.0) -> None:
        """Wait for a scrape of the exporter newer than this call.

        After every (re)start the first scrape comes only after ~5 s (service discovery
        hands out targets on a 5 s tick), and until then queries see the old data.
        """
        # timestamp() gives a sample's own time only when applied directly to a selector.
        self.wait_for(f'timestamp(up{{job="exporter"}}) > {time.time():.3f}', timeout=timeout)

    def _reload_if_running(self) -> None:
        if self.running:
            self.reload()

    def _config(self) -> dict[str, Any]:
        return {
            "global": {
                "scrape_interval": "1s",
                "scrape_timeout": "1s",
                "evaluation_interval": f"{round(self.evaluation_interval * 1000)}ms",
            },
            "rule_files": [str(self.rules_dir / "*.yml")],
            "scrape_configs": [
                {"job_name": "exporter", "static_configs": [{"targets": [self.scrape_target]}]}
            ],
            **self.extra_config,
        }
