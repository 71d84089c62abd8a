"""A sweep's ``meta.json``: what the report says about itself, typed and versioned.

Everything after a sweep is a pure function of its records and this object. The file carries
``schema_version``; a file of another version is refused with a message, never read wrongly
(as pyperf refuses benchmark files of another format).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields, replace
from decimal import Decimal
from pathlib import Path
from typing import Any

from llmsweep.errors import InputError
from llmsweep.settings import LatencyTarget, SweepConfig

# 3: target kind "local"; config.unique_prompts. 4: estimate bound, basis. 5: config.slo,
# job_size, simulated_as, target.model_limits; config.search, config.max_concurrency.
# 6: config.rates (an open-loop sweep, SweepMeta.mode)
META_SCHEMA_VERSION = 6
SIMULATOR = "simulator"
LOCAL = "local"  # a server on this machine (a loopback base URL): llama.cpp, Ollama, vLLM...
REAL = "real"


@dataclass(frozen=True)
class SimulatedLimit:
    """A model's rate limit in the simulator by default: a published tier's figures."""

    rpm: int | None
    tpm: int | None
    tier: str  # whose figures, e.g. "OpenAI usage tier 1 for gpt-4o"


@dataclass(frozen=True)
class TargetInfo:
    """What a report says about the target: never a key, never credentials in the URL."""

    kind: str  # SIMULATOR, LOCAL or REAL
    base_url: str
    profile: str | None = None  # the simulator's settings; None for a real target
    latency_scale: float | None = None
    rpm: int | None = None  # the simulator's own limits; unknown for a real target
    tpm: int | None = None
    # The simulator's default instead of rpm/tpm: each model's published tier (model -> limit).
    model_limits: dict[str, SimulatedLimit] = field(default_factory=dict)

    @property
    def simulated(self) -> bool:
        return self.kind == SIMULATOR

    def where(self) -> str:
        """What the CLI says it sends to."""
        if self.simulated:
            return f"built-in simulator {self._settings()} at {self.base_url}"
        if self.kind == LOCAL:
            return f"local server {self.base_url}"
        return f"real target {self.base_url}"

    def label(self) -> str:
        """What every report and chart calls the target."""
        if self.simulated:
            return f"simulated target {self._settings()}"
        return "local server" if self.kind == LOCAL else "real API"

    def limits_for(self, model: str) -> tuple[int | None, int | None]:
        """The simulator's (rpm, tpm) for ``model``'s requests; (None, None): none, or unknown."""
        limit = self.model_limits.get(model)
        return (limit.rpm, limit.tpm) if limit is not None else (self.rpm, self.tpm)

    def rate_limit_phrase(self, model: str) -> str:
        """What the simulator limited ``model`` to, and why: the one wording the CLI and the
        report use, e.g. "500 RPM, 30,000 TPM (OpenAI usage tier 1 for gpt-4o)"."""
        rpm, tpm = self.limits_for(model)
        figures = [f"{value:,} {unit}" for value, unit in ((rpm, "RPM"), (tpm, "TPM")) if value]
        if not figures:
            return "none"
        limit = self.model_limits.get(model)
        why = limit.tier if limit is not None else "--sim-rpm/--sim-tpm"
        return f"{', '.join(figures)} ({why})"

    def rate_limit_lines(self, models: Sequence[str]) -> list[str]:
        """What the simulator limited each model to, one line per distinct limit (every model
        shares limits given by flags); none for a target that is not the simulator."""
        if not self.simulated:
            return []
        lines = [f"simulated rate limit: {self.rate_limit_phrase(model)}" for model in models]
        return list(dict.fromkeys(lines))

    def _settings(self) -> str:
        return f"(profile {self.profile or 'per model'}, latency scale {self.latency_scale:g})"


@dataclass(frozen=True)
class SimulatedAs:
    """Which of the simulator's built-in profiles answered a model, and why."""

    profile: str
    family: str | None = None  # the family pattern (claude-*) that chose it; None: not by family
    generic: bool = False  # no profile for the model's name or family: the generic one

    def describe(self) -> str:
        if self.generic:
            return f"{self.profile} (generic: no profile for its name or family)"
        if self.family is not None:
            return f"{self.profile} (by family {self.family})"
        return f"{self.profile} (its own)"


@dataclass(frozen=True)
class ModelEstimate:
    """A model's pre-run estimate for one pass over the prompt set (USD)."""

    model: str
    prompts: int
    input_tokens: int
    output_tokens: int
    input_cost_usd: Decimal
    output_cost_usd: Decimal
    total_cost_usd: Decimal
    cost_per_1k_prompts_usd: Decimal
    batch_total_cost_usd: Decimal | None  # None: the model has no batch price
    tokens_exact: bool
    price_source: str
    bound: bool  # every prompt's output is capped by a max_tokens: the cost is a maximum
    basis: str  # what the figure assumes, in words (cost.estimate.estimate_basis)

    def kept(self) -> ModelEstimate:
        """Just these fields, of an estimate that carries more (``cost.estimate.EstimateRow``)."""
        return ModelEstimate(**{f.name: getattr(self, f.name) for f in fields(ModelEstimate)})


@dataclass(frozen=True)
class SweepMeta:
    config: SweepConfig
    prompt_count: int  # prompts in each cell
    target: TargetInfo
    price_source: str
    price_date: str
    estimates: dict[str, ModelEstimate]
    created_at: str
    tool_version: str
    command: str | None = None
    stopped: str | None = None  # why the sweep stopped early ("budget", ...); None: it did not
    # The whole job's prompts, for the report's projection (analysis.projection); None: none.
    job_size: int | None = None
    # Per model, the simulator's built-in profile that answered it; empty for a real target or
    # when --sim-profile gave every model one (``target.profile`` names it).
    simulated_as: dict[str, SimulatedAs] = field(default_factory=dict)
    schema_version: int = field(default=META_SCHEMA_VERSION)

    @property
    def mode(self) -> str:
        """What the sweep varied: settings.CONCURRENCY_MODE or RATE_MODE (``config.rates``)."""
        return self.config.mode

    def with_stop(self, reason: str | None) -> SweepMeta:
        return replace(self, stopped=reason)

    def to_json(self) -> str:
        return json.dumps(_plain(asdict(self)), indent=2, sort_keys=True) + "\n"

    @classmethod
    def from_json(cls, text: str, path: str) -> SweepMeta:
        """Parse ``meta.json``; another schema version or a malformed file is an InputError."""
        try:
            data = json.loads(text)
        except ValueError as error:
            raise InputError(path, f"unreadable ({error})") from None
        version = data.get("schema_version") if isinstance(data, dict) else None
        if version != META_SCHEMA_VERSION:
            raise InputError(
                path,
                f"written with metadata schema {version}; this llmsweep reads schema "
                f"{META_SCHEMA_VERSION}: rerun the sweep into a new --out-dir",
            )
        try:
            return cls(
                config=_config(data["config"]),
                prompt_count=int(data["prompt_count"]),
                target=target_info(data["target"]),
                price_source=str(data["price_source"]),
                price_date=str(data["price_date"]),
                estimates={k: _estimate(v) for k, v in data["estimates"].items()},
                created_at=str(data["created_at"]),
                tool_version=str(data["tool_version"]),
                command=data.get("command"),
                stopped=data.get("stopped"),
                job_size=None if data["job_size"] is None else int(data["job_size"]),
                simulated_as={k: SimulatedAs(**v) for k, v in data["simulated_as"].items()},
            )
        except (KeyError, TypeError, ValueError, ArithmeticError) as error:
            raise InputError(path, f"not valid sweep metadata ({error!r})") from None

    @classmethod
    def load(cls, path: Path) -> SweepMeta:
        try:
            text = path.read_text("utf-8")
        except FileNotFoundError:
            raise InputError(str(path), "missing: not a sweep folder") from None
        except OSError as error:
            raise InputError(str(path), f"unreadable ({error.strerror})") from None
        return cls.from_json(text, str(path))


# What a resume may change: after a budget stop, raising it is exactly what a resume must be
# allowed to do; latency targets judge the records, they change none of them.
_RESUMABLE_CHANGES = frozenset({"max_cost_usd", "slo"})


def config_changes(before: SweepConfig, now: SweepConfig) -> list[str]:
    """What differs between two configs, less what a resume may change (the budget, the
    latency targets)."""
    return [
        f"{f.name} {_plain(getattr(before, f.name))!r} -> {_plain(getattr(now, f.name))!r}"
        for f in fields(SweepConfig)
        if f.name not in _RESUMABLE_CHANGES and getattr(before, f.name) != getattr(now, f.name)
    ]


def target_changes(before: TargetInfo, now: TargetInfo) -> list[str]:
    """What differs between the targets of two sessions of one sweep or run. The simulator's
    address is not part of it: each session starts one on a port of its own."""
    both_simulated = before.simulated and now.simulated
    return [
        f"target {f.name} {getattr(before, f.name)!r} -> {getattr(now, f.name)!r}"
        for f in fields(TargetInfo)
        if not (f.name == "base_url" and both_simulated)
        and getattr(before, f.name) != getattr(now, f.name)
    ]


def _plain(value: Any) -> Any:
    """JSON values: money as exact decimal strings, tuples as lists."""
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, dict):
        return {key: _plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return value


def _config(data: dict[str, Any]) -> SweepConfig:
    cost = data.get("max_cost_usd")
    return SweepConfig(
        **{
            **data,
            "models": tuple(data["models"]),
            "levels": tuple(data["levels"]),
            "rates": tuple(float(rate) for rate in data["rates"]),
            "max_cost_usd": None if cost is None else Decimal(cost),
            "slo": tuple(LatencyTarget(**target) for target in data["slo"]),
        }
    )


def target_info(data: dict[str, Any]) -> TargetInfo:
    """A ``TargetInfo`` from its JSON form (``asdict``); a run's target file written before
    ``model_limits`` existed has none."""
    given = data.get("model_limits", {})
    limits = {model: SimulatedLimit(**limit) for model, limit in given.items()}
    return TargetInfo(**{**data, "model_limits": limits})


def _estimate(data: dict[str, Any]) -> ModelEstimate:
    money = {f.name for f in fields(ModelEstimate) if f.name.endswith("_usd")}
    values: dict[str, Any] = {
        k: (None if v is None else Decimal(v)) if k in money else v for k, v in data.items()
    }
    return ModelEstimate(**values)
