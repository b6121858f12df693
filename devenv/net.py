"""Loopback networking helpers: free ports, readiness polling, HTTP probes."""

import random
import socket
import ssl
import time
from collections.abc import Callable
from pathlib import Path

import httpx

LOOPBACK = "127.0.0.1"


def _ephemeral_start() -> int:
    """The first port the kernel hands out to outgoing connections (Linux; else 32768)."""
    try:
        return int(Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return 32768


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that nothing listens on right now, below the
    ephemeral range: a port the kernel picked for a listener could be taken by any
    process's outgoing connection before our server binds it (seen: an operator's
    /metrics port in a full parallel test run)."""
    low, high = 20000, _ephemeral_start()
    for _ in range(100):
        port = random.randrange(low, high) if high > low else 0
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            try:
                sock.bind((LOOPBACK, port))
            except OSError:
                continue
            chosen: int = sock.getsockname()[1]
            return chosen
    raise OSError("no free port below the ephemeral range")


def poll(check: Callable[[], bool], timeout: float, interval: float = 0.05) -> bool:
    """Call ``check`` until it returns true or ``timeout`` seconds pass; return the outcome."""
    deadline = time.monotonic() + timeout
    while True:
        if check():
            return True
        if time.monotonic() >= deadline:
            return False
        time.sleep(interval)


def http_ok(url: str, verify: ssl.SSLContext | bool = True) -> bool:
    """Whether a GET of ``url`` answers 200 (connection errors count as no)."""
    try:
        return httpx.get(url, verify=verify, timeout=2.0).status_code == httpx.codes.OK
    except httpx.HTTPError:
        return False


def port_open(host: str, port: int) -> bool:
    """Whether something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=1.0):
            return True
    except OSError:
        return False
