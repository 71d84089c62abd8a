"""One worker process of a ``ProcessPool``: ``python -m llmsweep.engine.worker``.

It reads its pickled ``WorkerJob`` from stdin, warms up, says it is ready and waits for the
parent's go (one byte on stdin), runs the ordinary engine on its prompts and sends every record
back, then its harness measurement, as JSON lines on stdout (``[kind, payload]``). The end of
its stdin ends it.
"""

from __future__ import annotations

import asyncio
import json
import os
import pickle
import queue
import random
import signal
import sys
import threading
import traceback

from llmsweep.engine.factory import local_runner
from llmsweep.engine.harness import measure_harness
from llmsweep.engine.processes import STOP_SIGNAL, WorkerJob
from llmsweep.errors import LlmsweepError


class Channel:
    """Messages to the parent, written by a thread as multiprocessing's queue does: a parent
    slow to read never blocks this worker's event loop, whose lag is being measured."""

    def __init__(self) -> None:
        # The real stdout is the channel; anything else printed goes to stderr instead.
        self._out = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8")
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
        self._pending: queue.SimpleQueue[tuple[str, object] | None] = queue.SimpleQueue()
        self._writer = threading.Thread(target=self._write, daemon=True)
        self._writer.start()

    def send(self, kind: str, payload: object) -> None:
        self._pending.put((kind, payload))

    def close(self) -> None:
        self._pending.put(None)
        self._writer.join()

    def _write(self) -> None:
        with self._out:
            while (message := self._pending.get()) is not None:
                self._out.write(json.dumps(message) + "\n")
                if self._pending.empty():
                    self._out.flush()


def main() -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when to stop
    signal.signal(STOP_SIGNAL, signal.SIG_IGN)  # until the engine exists to be stopped
    channel = Channel()
    try:
        job = pickle.load(sys.stdin.buffer)
        if not isinstance(job, WorkerJob):
            raise TypeError(f"expected a WorkerJob on stdin, got {type(job).__name__}")
        asyncio.run(_work(job, channel))
    except LlmsweepError as error:  # a typed error: its one line says it all
        channel.send("error", f"{type(error).__name__}: {error}")
    except Exception as error:  # a bug of ours: the parent raises it, with this traceback
        channel.send("crash", "".join(traceback.format_exception(error)))
    except BaseException as error:  # report, never die silently: the parent waits for us
        channel.send("error", f"{type(error).__name__}: {error}")
    finally:
        channel.close()


async def _work(job: WorkerJob, channel: Channel) -> None:
    rng = random.Random(f"{job.seed}:{job.index}")
    async with local_runner(job.client, job.base_url, job.api_key, job.settings, rng) as runner:
        asyncio.get_running_loop().add_signal_handler(STOP_SIGNAL, runner.stop)
        if job.warm_up:
            await runner.warm_up()
        channel.send("ready", None)
        # Start together: a staggered start skews wall time. No go (the parent is gone): stop.
        if not await asyncio.to_thread(sys.stdin.buffer.read, 1):
            return
        _end_with_input()
        async with measure_harness() as probe:
            async for record in runner.run(job.prompts):
                channel.send("record", record.to_dict())
    measured = probe.result(requests=runner.progress.attempts).to_dict()
    channel.send("done", (measured, runner.progress.stopped))


def _end_with_input() -> None:
    """End (SIGTERM, as multiprocessing ended its daemon children) once stdin ends: the parent
    closes it when the run is over or failed, and the system when the parent is gone, so a
    worker is never left behind sending to no one."""

    def watch() -> None:
        sys.stdin.buffer.read()
        os.kill(os.getpid(), signal.SIGTERM)

    threading.Thread(target=watch, daemon=True).start()


if __name__ == "__main__":
    main()
