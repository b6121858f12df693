"""``LocalAlertmanager``: Debian's Alertmanager on ``127.0.0.1:PORT``, clustering off, with
its own config and storage under ``workdir``, stopped by PID like every managed process.

Its one receiver can forward to a webhook URL (group_wait 0s), so a test can see what
Alertmanager itself sends; ``alerts()`` reads ``GET /api/v2/alerts``. A test may change the
route (``route=``) and add inhibit rules or time intervals (``extra=``), post alerts with
explicit startsAt/endsAt and create or expire silences through the v2 API.
"""

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import yaml

from devenv.binaries import _on_path
from devenv.net import LOOPBACK, free_port, http_ok
from devenv.process import ManagedProcess

RECEIVER = "watchkeeper-test"


def alertmanager_binary() -> Path:
    """Debian's ``prometheus-alertmanager`` package installs /usr/bin/prometheus-alertmanager."""
    return _on_path("prometheus-alertmanager", "apt-get install -y prometheus-alertmanager")


class LocalAlertmanager:
    """Start, stop and query a private Alertmanager."""

    def __init__(
        self,
        workdir: Path,
        webhook_url: str | None = None,
        *,
        start_timeout: float = 30.0,
        route: Mapping[str, Any] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        self.workdir = workdir
        self.webhook_url = webhook_url
        self.route = dict(route or {})
        self.extra = dict(extra or {})
        self.start_timeout = start_timeout
        self.port = free_port()
        self._process = ManagedProcess(
            "alertmanager",
            [
                str(alertmanager_binary()),
                f"--config.file={self.config_file}",
                f"--storage.path={workdir / 'data'}",
                f"--web.listen-address={LOOPBACK}:{self.port}",
                "--cluster.listen-address=",  # no gossip port: a single, private instance
            ],
            workdir / "alertmanager.log",
        )

    @property
    def url(self) -> str:
        return f"http://{LOOPBACK}:{self.port}"

    @property
    def config_file(self) -> Path:
        return self.workdir / "alertmanager.yml"

    @property
    def running(self) -> bool:
        return self._process.running

    def start(self) -> None:
        """Write the config, start, and wait for ``/-/ready``."""
        self.workdir.mkdir(parents=True, exist_ok=True)
        self.config_file.write_text(yaml.safe_dump(self._config(), sort_keys=False))
        self._process.start()
        self._process.wait_ready(lambda: http_ok(f"{self.url}/-/ready"), self.start_timeout)

    def stop(self) -> None:
        self._process.stop()

    def alerts(self, **filters: str) -> list[dict[str, Any]]:
        """``GET /api/v2/alerts``; keyword arguments become ``filter=name="value"``."""
        params = {"filter": [f'{k}="{v}"' for k, v in filters.items()]}
        response = httpx.get(f"{self.url}/api/v2/alerts", params=params, timeout=10.0)
        response.raise_for_status()
        found: list[dict[str, Any]] = response.json()
        return found

    def post_alerts(self, alerts: list[dict[str, Any]]) -> None:
        """``POST /api/v2/alerts``: each with labels and explicit startsAt/endsAt."""
        response = httpx.post(f"{self.url}/api/v2/alerts", json=alerts, timeout=10.0)
        response.raise_for_status()

    def silence(self, matchers: list[dict[str, Any]], starts: str, ends: str) -> str:
        """``POST /api/v2/silences``; matchers as the API writes them (name, value,
        isRegex, isEqual). Returns the silence's id."""
        body = {
            "matchers": matchers,
            "startsAt": starts,
            "endsAt": ends,
            "createdBy": "devenv",
            "comment": "test",
        }
        response = httpx.post(f"{self.url}/api/v2/silences", json=body, timeout=10.0)
        response.raise_for_status()
        return str(response.json()["silenceID"])

    def expire_silence(self, silence_id: str) -> None:
        """``DELETE /api/v2/silence/{id}``: the silence ends now."""
        response = httpx.delete(f"{self.url}/api/v2/silence/{silence_id}", timeout=10.0)
        response.raise_for_status()

    def log_text(self) -> str:
        return self._process.log_text()

    def _config(self) -> dict[str, Any]:
        receiver: dict[str, Any] = {"name": RECEIVER}
        if self.webhook_url:
            receiver["webhook_configs"] = [{"url": self.webhook_url, "send_resolved": True}]
        route = {
            "receiver": RECEIVER,
            "group_by": ["..."],
            "group_wait": "0s",
            "group_interval": "1s",
            "repeat_interval": "1h",
            **self.route,
        }
        return {"route": route, "receivers": [receiver], **self.extra}

    def __enter__(self) -> "LocalAlertmanager":
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
