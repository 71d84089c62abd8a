"""The aiohttp application, its lifecycle (``Simulator``) and the blocking ``serve_forever``."""

from __future__ import annotations

import asyncio
import contextlib
import json
import signal
import weakref
from collections.abc import Awaitable, Callable
from types import TracebackType

from aiohttp import web

from llmsweep.simulator.chat import ChatEndpoint, authenticate
from llmsweep.simulator.config import PromptCounter, SimulatorConfig
from llmsweep.simulator.generation import drop_connection
from llmsweep.simulator.profiles import BUILTIN_PROFILES
from llmsweep.simulator.protocol import ApiError
from llmsweep.simulator.stats import ServerStats

# Requests still open at shutdown are simulated work: nothing is lost by cutting them short,
# and a long grace period would only make every test and Ctrl-C slow.
SHUTDOWN_GRACE_S = 0.2


def _json(body: object) -> web.Response:
    return web.Response(body=json.dumps(body).encode(), content_type="application/json")


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def one_answer_per_connection(app: web.Application, stats: ServerStats) -> None:
    """Every answer says keep-alive, yet a connection carries only one: the next request on it
    is closed unanswered (``ServerStats.closed_after_answer``).

    This is what a client meets when a server, llama.cpp's llama-server among them, closes its
    side after each answer and the close arrives after the client's next request went out on
    the pooled connection: no check before reuse can see it coming, only a resend helps.
    """
    answered: weakref.WeakSet[asyncio.BaseTransport] = weakref.WeakSet()

    @web.middleware
    async def close_answered(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.transport in answered:
            stats.closed_after_answer += 1
            drop_connection(request)
            return web.Response()  # never sent: the connection is gone
        response = await handler(request)
        if request.transport is not None:
            answered.add(request.transport)
        return response

    async def advertise_keep_alive(_: web.Request, response: web.StreamResponse) -> None:
        response.headers["Connection"] = (
            "keep-alive"  # implied by HTTP/1.1; said, as llama-server does
        )

    app.middlewares.append(close_answered)
    app.on_response_prepare.append(advertise_keep_alive)


class Simulator:
    """An OpenAI-compatible chat server on ``config.host``:``config.port``.

    ``async with Simulator(config, count_prompt_tokens=...) as sim:`` serves until the block
    ends; ``sim.base_url`` is what an OpenAI client's ``base_url`` should be.
    """

    def __init__(self, config: SimulatorConfig, count_prompt_tokens: PromptCounter) -> None:
        self._config = config
        self._count_prompt_tokens = count_prompt_tokens
        self._stats = ServerStats()
        self._runner: web.AppRunner | None = None
        self._port: int | None = None

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("the simulator is not running")
        return self._port

    @property
    def base_url(self) -> str:
        host = self._config.host
        if ":" in host:  # an IPv6 literal needs brackets in a URL
            host = f"[{host}]"
        return f"http://{host}:{self.port}/v1"

    def stats(self) -> dict[str, object]:
        """A snapshot of the server-side counters (the body of ``GET /stats``)."""
        return self._stats.snapshot()

    def reset_stats(self) -> None:
        self._stats.reset()

    async def start(self) -> None:
        if self._runner is not None:
            raise RuntimeError("the simulator is already running")
        self._warm_up_counter()
        closing = asyncio.Event()
        chat = ChatEndpoint(self._config, self._count_prompt_tokens, self._stats, closing)
        app = web.Application(client_max_size=self._config.max_body_bytes)
        app.router.add_post("/v1/chat/completions", chat.handle)
        app.router.add_get("/v1/models", self._models)
        app.router.add_get("/stats", self._get_stats)
        app.router.add_post("/stats/reset", self._post_stats_reset)
        if self._config.close_after_answer:
            one_answer_per_connection(app, self._stats)

        async def wake_hanging_requests(_: web.Application) -> None:
            closing.set()

        app.on_shutdown.append(wake_hanging_requests)
        runner = web.AppRunner(
            app,
            access_log=None,  # per-request logging would cost more than answering
            handle_signals=False,
            shutdown_timeout=SHUTDOWN_GRACE_S,
            # A client that gives up frees its capacity slot, as a real server's would.
            handler_cancellation=True,
        )
        await runner.setup()
        try:
            # A sweep opens hundreds of connections at once; aiohttp's default backlog (128)
            # overflows, the kernel drops SYNs and the client retries a second later, which a
            # benchmark would misread as server latency. The kernel caps this at somaxconn.
            site = web.TCPSite(runner, self._config.host, self._config.port, backlog=4096)
            await site.start()
        except BaseException:
            await runner.cleanup()
            raise
        self._runner = runner
        self._port = int(runner.addresses[0][1])

    def _warm_up_counter(self) -> None:
        """Count a tiny prompt for every profile's model now, so a tokenizer's one-time load
        (hundreds of milliseconds) does not land in the first measured request's latency."""
        names = set(BUILTIN_PROFILES)
        if self._config.profile is not None:
            names.add(self._config.profile.name)
        for name in sorted(names):
            self._count_prompt_tokens([{"role": "user", "content": "warm-up"}], name)

    async def stop(self) -> None:
        runner, self._runner = self._runner, None
        self._port = None
        if runner is not None:
            await runner.cleanup()

    async def __aenter__(self) -> Simulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _models(self, request: web.Request) -> web.Response:
        try:
            authenticate(self._config, request)
        except ApiError as error:
            return web.Response(
                status=error.status, body=error.body(), content_type="application/json"
            )
        names = list(BUILTIN_PROFILES)
        custom = self._config.profile
        if custom is not None and custom.name not in BUILTIN_PROFILES:
            names.insert(0, custom.name)
        models = [
            {"id": name, "object": "model", "created": 0, "owned_by": "llmsweep-simulator"}
            for name in names
        ]
        return _json({"object": "list", "data": models})

    async def _get_stats(self, _: web.Request) -> web.Response:
        return _json(self._stats.snapshot())

    async def _post_stats_reset(self, _: web.Request) -> web.Response:
        self._stats.reset()
        return _json(self._stats.snapshot())


def serve_forever(
    config: SimulatorConfig,
    count_prompt_tokens: PromptCounter,
    on_ready: Callable[[str], None],
) -> None:
    """Serve until SIGINT or SIGTERM, then shut down cleanly. ``on_ready`` gets the base URL."""
    with contextlib.suppress(KeyboardInterrupt):  # where signal handlers are unavailable
        asyncio.run(_serve_until_signalled(config, count_prompt_tokens, on_ready))


async def _serve_until_signalled(
    config: SimulatorConfig,
    count_prompt_tokens: PromptCounter,
    on_ready: Callable[[str], None],
) -> None:
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    signals = (signal.SIGINT, signal.SIGTERM)
    for sig in signals:
        with contextlib.suppress(NotImplementedError):  # Windows: Ctrl-C raises instead
            loop.add_signal_handler(sig, stop.set)
    try:
        async with Simulator(config, count_prompt_tokens) as simulator:
            on_ready(simulator.base_url)
            await stop.wait()
    finally:
        for sig in signals:
            with contextlib.suppress(NotImplementedError):
                loop.remove_signal_handler(sig)
