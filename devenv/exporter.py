"""``MetricsExporter``: gauges a test sets, served in Prometheus text format at /metrics.

From outside the process (``watchkeeper dev set`` in ``make dev``), the same gauges are set
over HTTP: ``PUT /series/NAME`` with ``{"value": 3, "labels": {"queue": "orders"}}`` and
``DELETE /series/NAME`` with ``{"labels": {...}}`` (both answer 204, or 400 with the reason).
"""

import json
import math
import re
import threading
from collections.abc import Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Self

from devenv.errors import DevEnvError
from devenv.net import LOOPBACK

LabelKey = tuple[tuple[str, str], ...]
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
SERIES_PATH = "/series/"


class MetricsExporter:
    """A scrape target on 127.0.0.1 whose gauges the test controls. Thread-safe."""

    def __init__(self) -> None:
        self._gauges: dict[str, dict[LabelKey, float]] = {}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def address(self) -> str:
        """``127.0.0.1:PORT``, as a Prometheus scrape target."""
        if self._server is None:
            raise DevEnvError("the exporter is not started")
        return f"{LOOPBACK}:{self._server.server_address[1]}"

    @property
    def url(self) -> str:
        """The full /metrics URL."""
        return f"http://{self.address}/metrics"

    def set(self, name: str, value: float, labels: Mapping[str, str] | None = None) -> None:
        """Create or update one series of gauge ``name``."""
        with self._lock:
            self._gauges.setdefault(name, {})[_key(labels)] = float(value)

    def remove(self, name: str, labels: Mapping[str, str] | None = None) -> None:
        """Stop exposing one series (Prometheus then marks it stale at the next scrape)."""
        with self._lock:
            series = self._gauges.get(name, {})
            series.pop(_key(labels), None)
            if not series:
                self._gauges.pop(name, None)

    def clear(self) -> None:
        """Stop exposing every series."""
        with self._lock:
            self._gauges.clear()

    def exposition(self) -> str:
        """The current /metrics body."""
        with self._lock:
            snapshot = {name: dict(series) for name, series in self._gauges.items()}
        lines: list[str] = []
        for name, series in sorted(snapshot.items()):
            lines.append(f"# TYPE {name} gauge")
            lines += [
                f"{name}{_format_labels(key)} {_format_value(value)}"
                for key, value in sorted(series.items())
            ]
        return "".join(f"{line}\n" for line in lines)

    def start(self) -> None:
        """Listen on a free loopback port and serve from a daemon thread."""
        if self._server is not None:
            raise DevEnvError("the exporter is already started")
        self._server = ThreadingHTTPServer((LOOPBACK, 0), _handler_for(self))
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="metrics-exporter", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        """Stop serving and close the socket. Safe to call more than once."""
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
        if self._thread is not None:
            self._thread.join()
        self._server = None
        self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


def _handler_for(exporter: MetricsExporter) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path.split("?", 1)[0] != "/metrics":
                self.send_error(404)
                return
            body = exporter.exposition().encode("utf-8")
            self.send_response(200)
            self.send_header("Content-Type", CONTENT_TYPE)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def do_PUT(self) -> None:
            self._change(set_value=True)

        def do_DELETE(self) -> None:
            self._change(set_value=False)

        def _change(self, *, set_value: bool) -> None:
            try:
                name, labels, value = _parse_change(self.path, self._body(), set_value)
            except ValueError as error:
                self._answer(400, str(error))
                return
            if set_value:
                exporter.set(name, value, labels)
            else:
                exporter.remove(name, labels)
            self._answer(204, "")

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length") or 0))

        def _answer(self, status: int, text: str) -> None:
            body = text.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", "text/plain; charset=utf-8")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Keep scrapes out of the test output."""

    return Handler


def _parse_change(path: str, body: bytes, needs_value: bool) -> tuple[str, dict[str, str], float]:
    """(name, labels, value) of a PUT or DELETE on /series/NAME; ValueError says what is
    wrong."""
    if not path.startswith(SERIES_PATH):
        raise ValueError(f"use {SERIES_PATH}NAME")
    name = path[len(SERIES_PATH) :]
    if not METRIC_NAME.fullmatch(name):
        raise ValueError(f"{name!r} is not a Prometheus metric name")
    try:
        document = json.loads(body or b"{}")
    except json.JSONDecodeError as error:
        raise ValueError(f"the body is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise ValueError('the body is a JSON object: {"value": 1, "labels": {}}')
    labels = document.get("labels") or {}
    if not isinstance(labels, dict) or not all(
        isinstance(k, str) and LABEL_NAME.fullmatch(k) and isinstance(v, str)
        for k, v in labels.items()
    ):
        raise ValueError("labels are an object of label names to string values")
    value = document.get("value")
    if needs_value and (isinstance(value, bool) or not isinstance(value, int | float)):
        raise ValueError("value is a number")
    return name, labels, float(value or 0)


def _key(labels: Mapping[str, str] | None) -> LabelKey:
    return tuple(sorted((labels or {}).items()))


def _format_labels(key: LabelKey) -> str:
    if not key:
        return ""
    pairs = ",".join(f'{name}="{_escape(value)}"' for name, value in key)
    return f"{{{pairs}}}"


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _format_value(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(value)
