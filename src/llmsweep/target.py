"""Where requests go: a real OpenAI-compatible server, or the built-in simulator by default.

The API key is kept apart from ``TargetInfo`` so that what describes a target in records and
reports can never carry it.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

from llmsweep import tokens
from llmsweep.errors import UsageError
from llmsweep.simulator import Simulator, SimulatorConfig

OPENAI_BASE_URL = "https://api.openai.com/v1"
SIMULATOR_KEY = "sk-llmsweep-simulator"  # the simulator ignores keys except as rate-limit buckets


@dataclass(frozen=True)
class TargetInfo:
    """What a report says about the target: never a key, never credentials in the URL."""

    base_url: str
    simulated: bool
    profile: str | None = None
    latency_scale: float | None = None
    rpm: int | None = None  # the simulator's own limits; unknown for a real target
    tpm: int | None = None

    def to_dict(self) -> dict[str, object]:
        return {
            "kind": "simulator" if self.simulated else "real",
            "base_url": self.base_url,
            "profile": self.profile,
            "latency_scale": self.latency_scale,
            "rpm": self.rpm,
            "tpm": self.tpm,
        }

    def label(self) -> str:
        if self.simulated:
            return (
                f"built-in simulator (profile {self.profile or 'per model'}, "
                f"latency scale {self.latency_scale:g}) at {self.base_url}"
            )
        return f"real target {self.base_url}"


@dataclass(frozen=True)
class TargetSpec:
    """What the user asked for. No base URL and no key means the built-in simulator."""

    base_url: str | None
    api_key: str | None
    simulator: SimulatorConfig

    @property
    def simulated(self) -> bool:
        return self.base_url is None and self.api_key is None


def spec_from_env(
    base_url: str | None,
    api_key_env: str,
    simulator: SimulatorConfig,
    environ: Mapping[str, str] = os.environ,
) -> TargetSpec:
    """Resolve flags and environment: ``--base-url``/OPENAI_BASE_URL, key from ``api_key_env``."""
    url = base_url or environ.get("OPENAI_BASE_URL") or None
    key = environ.get(api_key_env) or None
    if url is not None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UsageError(f"--base-url {url!r} is not an http(s) URL")
    return TargetSpec(url, key, simulator)


def public_url(url: str) -> str:
    """The URL without user:password and query, so a report never leaks credentials."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@asynccontextmanager
async def open_target(spec: TargetSpec) -> AsyncIterator[tuple[TargetInfo, str]]:
    """Yield the target's description and the key to send; start the simulator if needed."""
    if not spec.simulated:
        url = spec.base_url or OPENAI_BASE_URL
        # Local servers (Ollama, llama.cpp, vLLM) accept any key; the SDK insists on one.
        yield TargetInfo(public_url(url), simulated=False), spec.api_key or "none"
        return
    config = spec.simulator
    async with Simulator(config, count_prompt_tokens=count_prompt_tokens) as sim:
        profile = config.profile.name if config.profile is not None else None
        info = TargetInfo(sim.base_url, True, profile, config.latency_scale, config.rpm, config.tpm)
        yield info, SIMULATOR_KEY


def count_prompt_tokens(messages: list[dict[str, object]], model: str) -> int:
    """The counter injected into the simulator: exactly how OpenAI counts chat input."""
    return tokens.tokenizer_for(model).count_chat(messages)
