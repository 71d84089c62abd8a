"""The built-in simulator's own process: ``python -m llmsweep.session.serve``.

Started by ``session.target`` (a fresh interpreter: see ``llmsweep.child``). It reads the
pickled ``SimulatorConfig`` from stdin, prints the server's base URL on stdout once it listens,
and serves until SIGTERM (or SIGINT), then shuts down cleanly; or until its parent is gone.
"""

from __future__ import annotations

import os
import pickle
import signal
import sys
import threading
import time

from llmsweep.inputs import tokens
from llmsweep.simulator import SimulatorConfig, serve_forever


def count_prompt_tokens(messages: list[dict[str, object]], model: str) -> int:
    """The counter injected into the simulator: exactly how OpenAI counts chat input."""
    return tokens.tokenizer_for(model).count_chat(messages)


def main() -> None:
    config = pickle.load(sys.stdin.buffer)
    if not isinstance(config, SimulatorConfig):
        raise SystemExit(f"expected a SimulatorConfig on stdin, got {type(config).__name__}")
    threading.Thread(target=_stop_when_orphaned, args=(os.getppid(),), daemon=True).start()
    serve_forever(config, count_prompt_tokens, lambda base_url: print(base_url, flush=True))


def _stop_when_orphaned(parent_pid: int) -> None:
    # Out of the terminal's process group, nothing would stop this server if llmsweep were
    # killed outright (SIGKILL runs no cleanup): notice the parent is gone, and stop.
    while os.getppid() == parent_pid:
        time.sleep(0.5)
    os.kill(os.getpid(), signal.SIGTERM)


if __name__ == "__main__":
    main()
