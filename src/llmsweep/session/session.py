"""One session against one target, shared by ``run``, ``sweep`` and the library API.

It opens the target (the built-in simulator in its own process, or a real server it probes
first), opens one engine per run or sweep cell over the chosen client and processes, warms the
engine's connections before the clock, measures what the harness cost, and stops whatever is
running when asked (a signal, a budget). Callers only feed it prompts and take records.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Callable, Iterable
from contextlib import AsyncExitStack
from types import TracebackType

from llmsweep.engine.factory import EngineFactory, harness_of
from llmsweep.engine.harness import measure_harness
from llmsweep.engine.progress import RunProgress
from llmsweep.engine.runner import Engine, RunSettings
from llmsweep.errors import LlmsweepError
from llmsweep.inputs.prompts import Prompt
from llmsweep.session.target import TargetSpec, open_target
from llmsweep.settings import ClientOptions, CostFn
from llmsweep.store.harness import HarnessMeasurement
from llmsweep.store.meta import TargetInfo
from llmsweep.store.records import Record
from llmsweep.transport import probe

OnEngine = Callable[[Engine, int], None]  # an engine about to run ``todo`` prompts


class Session:
    """``async with Session(spec, client) as session:`` then ``session.records(...)``."""

    def __init__(self, spec: TargetSpec, client: ClientOptions) -> None:
        self.spec = spec
        self.client = client
        self._stack = AsyncExitStack()
        self._target: TargetInfo | None = None
        self._engines: EngineFactory | None = None
        self._engine: Engine | None = None
        self._stopped: str | None = None
        self._started = False
        # The last records() call's: what the client cost, and the engine's own counters.
        self.harness: HarnessMeasurement | None = None
        self.progress: RunProgress | None = None

    @property
    def target(self) -> TargetInfo:
        if self._target is None:
            raise LlmsweepError("the session is not open")
        return self._target

    async def __aenter__(self) -> Session:
        target, api_key = await self._stack.enter_async_context(open_target(self.spec))
        try:
            url = self.spec.base_url or target.base_url
            if not target.simulated:
                await probe(url, api_key)
        except BaseException:
            await self._stack.aclose()
            raise
        self._target = target
        self._engines = EngineFactory(self.client.client, url, api_key, self.client.processes)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._stack.aclose()

    @property
    def started(self) -> bool:
        """Whether a run or sweep cell has begun (its output may hold records): before, the
        target was starting, nothing was sent and a stop has nothing to wind down."""
        return self._started

    @property
    def stopped(self) -> str | None:
        """Why the session stopped early ("interrupted", "budget", "auth"), or None."""
        return self._stopped

    def stop(self, reason: str = "interrupted") -> None:
        """Stop taking up prompts; requests in flight finish. Later engines start stopped."""
        self._stopped = self._stopped or reason
        if self._engine is not None:
            self._engine.stop(reason)

    async def records(
        self,
        settings: RunSettings,
        prompts: Iterable[Prompt],
        *,
        seed: int | str,
        todo: int = 0,  # how many prompts, for ``on_engine`` (a progress bar's total)
        cost_fn: CostFn | None = None,
        on_engine: OnEngine | None = None,
    ) -> AsyncGenerator[Record, None]:
        """Run ``prompts`` at ``settings`` and yield each record as it completes; afterwards
        ``harness`` holds what the client cost meanwhile."""
        if self._engines is None:
            raise LlmsweepError("the session is not open")
        self._started = True
        self.harness = None
        async with self._engines.open(settings, seed=seed, cost_fn=cost_fn) as engine:
            self._engine, self.progress = engine, engine.progress
            if self._stopped is not None:
                engine.stop(self._stopped)
            if on_engine is not None:
                on_engine(engine, todo)
            if self.client.warm_up:
                await engine.warm_up()
            try:
                async with measure_harness() as probe_:
                    async for record in engine.run(prompts):
                        yield record
                self.harness = harness_of(engine, probe_)
            finally:
                self._engine = None
                self._adopt_stop(engine.progress)

    def _adopt_stop(self, progress: RunProgress) -> None:
        # A budget or a rejected key stops the engine from inside: the session, and so the
        # sweep's later cells, stop with it.
        if progress.stopped is not None and self._stopped is None:
            self._stopped = progress.stopped
