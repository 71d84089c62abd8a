"""Where requests go: a real OpenAI-compatible server, or the built-in simulator by default.

The API key is kept apart from ``store.meta.TargetInfo`` so that what describes a target in
records and reports can never carry it.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import pickle
import re
import subprocess
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from typing import IO
from urllib.parse import urlsplit, urlunsplit

from llmsweep.child import python_command, python_env
from llmsweep.errors import TargetError, UsageError
from llmsweep.settings import DEFAULT_API_KEY_ENV
from llmsweep.simulator import SimulatorConfig, choose_profile
from llmsweep.store.meta import LOCAL, REAL, SIMULATOR, SimulatedAs, SimulatedLimit, TargetInfo

OPENAI_BASE_URL = "https://api.openai.com/v1"
SIMULATOR_KEY = "sk-llmsweep-simulator"  # the simulator ignores keys except as rate-limit buckets
START_TIMEOUT_S = 30.0
_ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_CONVENTIONAL_NAME = re.compile(r"[A-Z_][A-Z0-9_]*")  # how variables are named, unlike keys


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
    """Resolve flags and environment: ``--base-url``/OPENAI_BASE_URL, key from ``api_key_env``.

    A variable the user named must exist: falling back to the simulator (or to no key) would
    measure something else without a word. A value that is no variable name is most likely the
    key itself, so it is never echoed.
    """
    if not _ENV_NAME.fullmatch(api_key_env):
        raise UsageError(
            "--api-key-env takes the NAME of an environment variable holding the key, not the "
            "key itself (put the key in a variable: command lines end up in shell history)"
        )
    if api_key_env != DEFAULT_API_KEY_ENV and not environ.get(api_key_env):
        # Named only when it looks like a variable's name: a key (mixed case) is never echoed.
        named = f" {api_key_env}" if _CONVENTIONAL_NAME.fullmatch(api_key_env) else ""
        raise UsageError(f"--api-key-env{named}: no such environment variable is set")
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
    if ":" in host:  # an IPv6 literal keeps its brackets
        host = f"[{host}]"
    netloc = f"{host}:{parts.port}" if parts.port else host
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


def describe(spec: TargetSpec) -> TargetInfo:
    """What the target is, known before anything starts; a simulator's address is not known
    yet (``open_target`` adds it)."""
    if not spec.simulated:
        url = public_url(spec.base_url or OPENAI_BASE_URL)
        return TargetInfo(LOCAL if is_local(url) else REAL, url)
    return simulator_info(spec.simulator)


def simulator_info(config: SimulatorConfig) -> TargetInfo:
    """What a report says about the built-in simulator ``config`` sets up (no address yet)."""
    profile = config.profile.name if config.profile is not None else None
    limits = {
        model: SimulatedLimit(limit.rpm, limit.tpm, limit.tier)
        for model, limit in config.model_limits.items()
    }
    return TargetInfo(SIMULATOR, "", profile, config.latency_scale, config.rpm, config.tpm, limits)


def simulated_as(target: TargetInfo, models: list[str]) -> dict[str, SimulatedAs]:
    """Which built-in profile the simulator answers each model with; none to name for a real
    target, or when one profile was given for all (``target.profile``)."""
    if not target.simulated or target.profile is not None:
        return {}
    chosen = {model: choose_profile(model) for model in models}
    return {
        model: SimulatedAs(choice.profile.name, choice.family, choice.generic)
        for model, choice in chosen.items()
    }


def self_hosted(spec: TargetSpec) -> bool:
    """Whether the target is a server on this machine or a private network, where a model
    with no known price is self-hosted and costs nothing per token."""
    return describe(spec).kind == LOCAL


# Private networks (RFC 1918, and IPv6 unique local addresses): a server there is self-hosted.
_PRIVATE_NETWORKS = tuple(
    ipaddress.ip_network(net)
    for net in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "fc00::/7")
)


def is_local(url: str) -> bool:
    """A server on this machine or a private network: localhost, 127.0.0.0/8, ::1, 10/8,
    172.16/12, 192.168/16 or fc00::/7."""
    host = urlsplit(url).hostname or ""
    if host == "localhost" or host.endswith(".localhost"):
        return True
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return False
    return address.is_loopback or any(address in net for net in _PRIVATE_NETWORKS)


@asynccontextmanager
async def open_target(spec: TargetSpec) -> AsyncIterator[tuple[TargetInfo, str]]:
    """Yield the target's description and the key to send; start the simulator if needed."""
    info = describe(spec)
    if not spec.simulated:
        # Local servers (Ollama, llama.cpp, vLLM) accept any key; the SDK insists on one.
        yield info, spec.api_key or "none"
        return
    async with simulator_process(spec.simulator) as base_url:
        yield replace(info, base_url=base_url), SIMULATOR_KEY


@asynccontextmanager
async def simulator_process(config: SimulatorConfig) -> AsyncIterator[str]:
    """Run the simulator in a child process and yield its base URL.

    Its own process, not this event loop: a server sharing the client's loop and CPU would be
    measured as part of the client (latency, loop lag, CPU per request) and would slow it down.
    A fresh interpreter (``session.serve``; see ``llmsweep.child``), not a multiprocessing
    child. In its own process group: a Ctrl-C meant for llmsweep must not stop the server while
    the requests in flight are given their grace period.
    """
    process = subprocess.Popen(
        python_command("llmsweep.session.serve"),
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        process_group=0,
        env=python_env(),
    )
    assert process.stdin is not None and process.stdout is not None
    try:
        await asyncio.to_thread(_send_config, process.stdin, config)
        try:
            line = await asyncio.wait_for(
                asyncio.to_thread(process.stdout.readline), START_TIMEOUT_S
            )
        except TimeoutError:
            raise TargetError(
                f"the built-in simulator did not start within {START_TIMEOUT_S} s"
            ) from None
        if not line.strip():
            raise TargetError("the built-in simulator failed to start")
        yield line.decode().strip()
    finally:
        process.terminate()  # SIGTERM: the simulator shuts down cleanly
        try:
            await asyncio.to_thread(process.wait, 10)
        except subprocess.TimeoutExpired:
            process.kill()
            await asyncio.to_thread(process.wait)
        process.stdout.close()


def _send_config(stdin: IO[bytes], config: SimulatorConfig) -> None:
    # A child that died first is reported when its URL does not come.
    with contextlib.suppress(BrokenPipeError), stdin:
        pickle.dump(config, stdin)
