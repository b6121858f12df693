"""Real receivers on 127.0.0.1 for the notification tests.

- :class:`HttpReceiver`: a threaded HTTP server that records every request and answers
  from a script: a status, headers (``Retry-After``), a body and a delay (slow answers).
  A refused connection is a port nothing listens on (:func:`refused_url`).
- :class:`SmtpReceiver`: a real SMTP server (aiosmtpd) with AUTH LOGIN/PLAIN and STARTTLS
  or implicit TLS, using a self-signed certificate made here; it records every message and
  can answer the next DATA with a temporary failure.

Both run in a background thread, so the operator (another process) and async tests in
the same process can talk to them alike; both are context managers that always stop.
"""

from __future__ import annotations

import datetime
import email
import email.policy
import ipaddress
import json
import ssl
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from devenv.net import LOOPBACK, free_port


@dataclass(frozen=True)
class Reply:
    """One scripted answer."""

    status: int = 200
    body: Any = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


@dataclass(frozen=True)
class Recorded:
    """One request as received."""

    method: str
    target: str  # the raw request target: path and query, percent-encoding kept
    headers: dict[str, str]  # lower-case names
    body: bytes
    time: float
    status: int  # what the receiver answered

    @property
    def path(self) -> str:
        return urlsplit(self.target).path

    @property
    def query(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(urlsplit(self.target).query).items()}

    def json(self) -> Any:
        return json.loads(self.body)

    def form(self) -> dict[str, str]:
        return {k: v[0] for k, v in parse_qs(self.body.decode()).items()}


class HttpReceiver:
    """Records requests; answers by script (`queue`), by path (`route`), else `default`."""

    def __init__(self) -> None:
        self.default = Reply()
        self.requests: list[Recorded] = []
        self._routes: dict[str, Reply] = {}
        self._queue: deque[Reply] = deque()
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        return f"http://{LOOPBACK}:{self._server.server_address[1]}"

    def queue(self, *replies: Reply) -> None:
        """Answer the next requests (any path) with these, in order."""
        with self._lock:
            self._queue.extend(replies)

    def route(self, path: str, reply: Reply) -> None:
        """Answer every request whose path starts with `path` with `reply`."""
        with self._lock:
            self._routes[path] = reply

    def to(self, path: str) -> list[Recorded]:
        """The requests whose path starts with `path`."""
        with self._lock:
            return [r for r in self.requests if r.path.startswith(path)]

    def wait_for(self, count: int, path: str = "/", timeout: float = 30.0) -> list[Recorded]:
        deadline = time.monotonic() + timeout
        while len(found := self.to(path)) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(found)} of {count} requests to {path} arrived")
            time.sleep(0.05)
        return found

    def _answer(self, path: str) -> Reply:
        with self._lock:
            if self._queue:
                return self._queue.popleft()
            for prefix, reply in sorted(self._routes.items(), key=lambda i: -len(i[0])):
                if path.startswith(prefix):
                    return reply
            return self.default

    def _record(self, request: Recorded) -> None:
        with self._lock:
            self.requests.append(request)

    def start(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                reply = receiver._answer(urlsplit(self.path).path)
                headers = {k.lower(): v for k, v in self.headers.items()}
                receiver._record(
                    Recorded(self.command, self.path, headers, body, time.time(), reply.status)
                )
                if reply.delay:
                    time.sleep(reply.delay)
                payload = reply.body
                if not isinstance(payload, str | bytes):
                    payload = json.dumps(payload)
                data = payload.encode() if isinstance(payload, str) else payload
                try:
                    self.send_response(reply.status)
                    for name, value in reply.headers.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up (its timeout): that is the point of a delay

            do_POST = do_PUT = do_GET = _handle

        self._server = ThreadingHTTPServer((LOOPBACK, 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> HttpReceiver:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()


def refused_url() -> str:
    """A URL on a loopback port nothing listens on: connections are refused."""
    return f"http://{LOOPBACK}:{free_port()}"


def self_signed_certificate(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and localhost that is its own CA; (cert, key) paths."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "watchkeeper-test-smtp")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(hours=1))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(LOOPBACK))]
            ),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp.crt", directory / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass(frozen=True)
class Mail:
    """One message as the SMTP server received it."""

    mail_from: str
    rcpt_tos: list[str]
    login: str | None
    tls: bool
    message: email.message.EmailMessage


class SmtpReceiver:
    """aiosmtpd on 127.0.0.1: `tls` is "StartTLS" (required), "TLS" (implicit) or "None"."""

    def __init__(self, directory: Path, tls: str, username: str, password: str) -> None:
        self.tls = tls
        self.cert, key = self_signed_certificate(directory)
        self.ca_pem = self.cert.read_text()
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, key)
        self.port = free_port()
        self.mails: list[Mail] = []
        self.failures: deque[str] = deque()
        self.attempts = 0
        receiver = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
                receiver.attempts += 1
                if receiver.failures:
                    return receiver.failures.popleft()
                parsed = email.message_from_bytes(envelope.content, policy=email.policy.default)
                login = session.auth_data.login.decode() if session.auth_data else None
                receiver.mails.append(
                    Mail(
                        envelope.mail_from,
                        list(envelope.rcpt_tos),
                        login,
                        server.transport.get_extra_info("ssl_object") is not None,
                        parsed,
                    )
                )
                return "250 OK"

        def authenticate(
            server: Any, session: Any, envelope: Any, mechanism: str, data: Any
        ) -> AuthResult:
            ok = isinstance(data, LoginPassword) and (
                data.login.decode(),
                data.password.decode(),
            ) == (username, password)
            return AuthResult(success=ok, handled=False, auth_data=data if ok else None)

        options: dict[str, Any] = {"authenticator": authenticate, "auth_required": True}
        if tls == "StartTLS":
            options |= {"tls_context": context, "require_starttls": True}
        elif tls == "TLS":
            # the connection is TLS from the first byte, which aiosmtpd's check cannot see
            options |= {"ssl_context": context, "auth_require_tls": False}
        else:
            options |= {"auth_require_tls": False}
        self._controller = Controller(Handler(), hostname=LOOPBACK, port=self.port, **options)

    def fail_next(self, *replies: str) -> None:
        """Answer the next DATA commands with these (e.g. "451 4.3.0 try again later")."""
        self.failures.extend(replies)

    def start(self) -> None:
        self._controller.start()

    def stop(self) -> None:
        self._controller.stop()

    def __enter__(self) -> SmtpReceiver:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()
