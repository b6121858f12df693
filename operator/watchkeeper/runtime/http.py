"""The operator's own HTTP endpoints on --metrics-port: /metrics (Prometheus text format),
/healthz (the event loop answers) and /readyz (503 while the API server or Prometheus
cannot be reached, saying which and why)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from watchkeeper.runtime.health import Health


class HealthServer:
    def __init__(self, health: Health, leading: Callable[[], bool]) -> None:
        self.health = health
        self.leading = leading

    async def serve(self, port: int, host: str = "0.0.0.0") -> None:
        app = web.Application()
        app.router.add_get("/metrics", self._metrics)
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, host, port)
        await site.start()
        try:
            await _forever()
        finally:
            await runner.cleanup()

    async def _metrics(self, _: web.Request) -> web.Response:
        return web.Response(body=generate_latest(), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _healthz(self, _: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _readyz(self, _: web.Request) -> web.Response:
        role = "leader" if self.leading() else "standby"
        problems = self.health.problems()
        if not problems:
            return web.Response(text=f"ready ({role})\n")
        lines = "".join(f"{component}: {error}\n" for component, error in problems.items())
        return web.Response(status=503, text=f"not ready ({role})\n{lines}")


async def _forever() -> None:
    await asyncio.Event().wait()
