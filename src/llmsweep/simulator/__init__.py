"""An OpenAI-compatible chat completions server that behaves like a real LLM API.

Realistic latency (lognormal time to first token, steady output speed), a finite number of
requests generated at once with a FIFO queue behind it, OpenAI's rate limits and error shapes,
and injectable faults — all reproducible from a seed. It imports nothing else from llmsweep: the
prompt token counter is passed in.

The server itself (aiohttp) is imported on first use of ``Simulator`` or ``serve_forever``:
configuring a simulator, or a command that starts none, does not pay for it.
"""

from typing import TYPE_CHECKING

from llmsweep.simulator.config import PromptCounter, SimulatorConfig, published_limits
from llmsweep.simulator.faults import FAULT_KINDS, FaultKind, FaultRates
from llmsweep.simulator.profiles import (
    BUILTIN_PROFILES,
    Profile,
    ProfileChoice,
    RateLimit,
    builtin_profile_for,
    choose_profile,
    load_profile,
)
from llmsweep.simulator.ratelimit import TIER_PRESETS

if TYPE_CHECKING:
    from llmsweep.simulator.server import Simulator, serve_forever

__all__ = [
    "BUILTIN_PROFILES",
    "FAULT_KINDS",
    "TIER_PRESETS",
    "FaultKind",
    "FaultRates",
    "Profile",
    "ProfileChoice",
    "PromptCounter",
    "RateLimit",
    "Simulator",
    "SimulatorConfig",
    "builtin_profile_for",
    "choose_profile",
    "load_profile",
    "published_limits",
    "serve_forever",
]


def __getattr__(name: str) -> object:
    if name in ("Simulator", "serve_forever"):
        from llmsweep.simulator import server

        return getattr(server, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
