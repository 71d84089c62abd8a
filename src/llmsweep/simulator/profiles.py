"""Latency and throughput profiles of simulated models, built in or loaded from TOML.

Time to first token and output length are lognormal, given by their median and 95th percentile:
both are right-skewed with a long tail in every public measurement, and two quantiles are what
leaderboards publish. A ``fixed`` profile (or p95 equal to the median) has no spread at all.
"""

from __future__ import annotations

import fnmatch
import math
import tomllib
from dataclasses import asdict, dataclass, fields, replace
from pathlib import Path
from statistics import NormalDist

from llmsweep.simulator.ratelimit import TIER_PRESETS

_STANDARD_NORMAL = NormalDist()
_Z95 = _STANDARD_NORMAL.inv_cdf(0.95)
# Quantiles are clamped so one unlucky draw cannot stall a run: z stays within about ±4.75,
# i.e. the slowest draw is roughly (p95/median)**2.9 times the median.
_QUANTILE_EPSILON = 1e-6
DEFAULT_PROFILE = "demo"
# Open-weights families, usually self-hosted (llama.cpp, Ollama, vLLM).
_OPEN_WEIGHTS = ("llama", "mistral", "mixtral", "qwen", "phi", "gemma", "deepseek-r1-distill")

_AA_SOURCE = (
    "approximate medians read off the Artificial Analysis leaderboard (artificialanalysis.ai), "
    "2025; context and output limits from the provider's model page; p95 spreads, output "
    "lengths and capacity are simulator assumptions, not published figures"
)

_REASONING = (
    "simulator assumption for reasoning models (o1, o3, o4...): seconds of hidden thinking "
    "before the first visible token, then a fast stream; not a published figure"
)
_SELF_HOSTED = (
    "simulator assumption for an 8B-class open-weights model on one GPU (llama.cpp-like, 4 "
    "parallel slots); not a published figure"
)


@dataclass(frozen=True)
class RateLimit:
    """A published usage tier's limits for one model, and whose tier it is: what the simulator
    enforces by default (``SimulatorConfig.model_limits``). None: that kind is not limited."""

    rpm: int | None
    tpm: int | None
    tier: str  # e.g. "OpenAI usage tier 1 for gpt-4o"

    def __post_init__(self) -> None:
        for label, limit in (("rpm", self.rpm), ("tpm", self.tpm)):
            if limit is not None and (
                isinstance(limit, bool) or not isinstance(limit, int) or limit < 1
            ):
                raise ValueError(f"rate_limit.{label} must be an integer >= 1, got {limit!r}")
        if not isinstance(self.tier, str) or not self.tier:
            raise ValueError("rate_limit.tier must name whose limits these are")


@dataclass(frozen=True)
class Profile:
    """How a simulated model behaves. Every time is in seconds at ``latency_scale`` 1."""

    name: str
    ttft_median_s: float
    ttft_p95_s: float
    output_tokens_per_s: float
    capacity: int  # requests generated at once; more wait in a FIFO queue
    output_tokens_median: int
    output_tokens_p95: int
    context_window: int
    max_output_tokens: int  # a request's default and largest allowed max_tokens
    source: str
    fixed: bool = False  # no spread: ttft is the median and the length is the median
    rate_limit: RateLimit | None = None  # its published tier's limits; None: none published

    def __post_init__(self) -> None:
        if not self.name:
            raise ValueError("profile name must not be empty")
        for label, value in (
            ("ttft_median_s", self.ttft_median_s),
            ("ttft_p95_s", self.ttft_p95_s),
            ("output_tokens_per_s", self.output_tokens_per_s),
        ):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise ValueError(f"{label} must be a number, got {value!r}")
            if not (math.isfinite(value) and value > 0):
                raise ValueError(f"{label} must be a positive number, got {value!r}")
        for label, count in (
            ("capacity", self.capacity),
            ("output_tokens_median", self.output_tokens_median),
            ("output_tokens_p95", self.output_tokens_p95),
            ("context_window", self.context_window),
            ("max_output_tokens", self.max_output_tokens),
        ):
            if isinstance(count, bool) or not isinstance(count, int) or count < 1:
                raise ValueError(f"{label} must be an integer >= 1, got {count!r}")
        if self.ttft_p95_s < self.ttft_median_s:
            raise ValueError("ttft_p95_s must be >= ttft_median_s")
        if self.output_tokens_p95 < self.output_tokens_median:
            raise ValueError("output_tokens_p95 must be >= output_tokens_median")
        if not isinstance(self.fixed, bool):
            raise ValueError(f"fixed must be true or false, got {self.fixed!r}")
        if self.rate_limit is not None and not isinstance(self.rate_limit, RateLimit):
            raise ValueError("rate_limit must be a table of rpm, tpm and tier")

    def ttft_s_at(self, quantile: float) -> float:
        """Time to first token at ``quantile`` (in [0, 1)) of its distribution."""
        if self.fixed:
            return self.ttft_median_s
        return _lognormal_at(self.ttft_median_s, self.ttft_p95_s, quantile)

    def median_latency_s(self, max_tokens: int | None) -> float:
        """A request's latency at the median time to first token and median answer length
        (capped at ``max_tokens``, else this profile's default), at ``latency_scale`` 1 and with
        no queueing: the typical figure a duration estimate is built from."""
        tokens = min(self.output_tokens_median, max_tokens or self.max_output_tokens)
        return self.ttft_median_s + tokens / self.output_tokens_per_s

    def output_tokens_at(self, quantile: float) -> int:
        """Natural answer length (before any max_tokens cap) at ``quantile`` of its distribution."""
        if self.fixed:
            return self.output_tokens_median
        drawn = _lognormal_at(self.output_tokens_median, self.output_tokens_p95, quantile)
        return max(1, round(drawn))


def _lognormal_at(median: float, p95: float, quantile: float) -> float:
    if p95 == median:
        return float(median)
    sigma = math.log(p95 / median) / _Z95
    q = min(max(quantile, _QUANTILE_EPSILON), 1 - _QUANTILE_EPSILON)
    return median * math.exp(sigma * _STANDARD_NORMAL.inv_cdf(q))


# Each real model's lowest paid tier, as its provider published it (2024-2025): OpenAI's rate-limit
# guide (platform.openai.com/docs/guides/rate-limits), Anthropic's (docs.anthropic.com, "Rate
# limits") and Google's (ai.google.dev/gemini-api/docs/rate-limits). Anthropic limits input and
# output tokens apart and Google counts input tokens only; this simulator charges input +
# max_tokens against one TPM (as OpenAI does), so for those only the RPM is enforced.
_LIMITS = {
    "gpt-4o": RateLimit(*TIER_PRESETS["openai-tier1-gpt-4o"], "OpenAI usage tier 1 for gpt-4o"),
    "gpt-4o-mini": RateLimit(
        *TIER_PRESETS["openai-tier1-gpt-4o-mini"], "OpenAI usage tier 1 for gpt-4o-mini"
    ),
    "claude-sonnet-4": RateLimit(
        50, None, "Anthropic usage tier 1 for Claude Sonnet 4; its token limits not simulated"
    ),
    "gemini-2.0-flash": RateLimit(
        2_000, None, "Gemini API tier 1 for gemini-2.0-flash; its input-token limit not simulated"
    ),
}


BUILTIN_PROFILES: dict[str, Profile] = {
    profile.name: replace(profile, rate_limit=_LIMITS.get(profile.name))
    for profile in (
        Profile("gpt-4o", 0.45, 1.2, 110.0, 64, 300, 900, 128_000, 16_384, _AA_SOURCE),
        Profile("gpt-4o-mini", 0.40, 1.0, 70.0, 64, 300, 900, 128_000, 16_384, _AA_SOURCE),
        Profile("claude-sonnet-4", 1.3, 2.8, 65.0, 32, 350, 1000, 200_000, 64_000, _AA_SOURCE),
        Profile("gemini-2.0-flash", 0.35, 0.9, 190.0, 64, 300, 900, 1_048_576, 8192, _AA_SOURCE),
        # Families with no model of their own here (FAMILY_PROFILES): assumptions, not
        # published figures, so no published tier and no rate limit.
        Profile("reasoning", 5.0, 15.0, 150.0, 64, 500, 1500, 200_000, 100_000, _REASONING),
        Profile("self-hosted-8b", 0.15, 0.6, 60.0, 4, 300, 900, 32_768, 4096, _SELF_HOSTED),
        # Synthetic models have no published tier, so no rate limit.
        # Fast enough for a demo sweep in seconds, and a small capacity so the knee shows early.
        Profile("demo", 0.2, 0.5, 200.0, 16, 80, 250, 128_000, 4096, "synthetic: fast demo model"),
        Profile(
            "fixed",
            0.1,
            0.1,
            1000.0,
            8,
            20,
            20,
            128_000,
            4096,
            "synthetic: deterministic test model",
            fixed=True,
        ),
    )
}


# A model with no profile of its own gets its family's: the built-in profile nearest to how
# such models behave. Patterns are globs on the name without its provider; the first wins.
FAMILY_PROFILES: tuple[tuple[str, str], ...] = (
    ("gpt-*mini*", "gpt-4o-mini"),
    ("gpt-*nano*", "gpt-4o-mini"),
    ("gpt-*", "gpt-4o"),
    ("chatgpt-*", "gpt-4o"),
    ("o[1-9]", "reasoning"),
    ("o[1-9]-*", "reasoning"),
    ("claude-*", "claude-sonnet-4"),
    ("gemini-*", "gemini-2.0-flash"),
    *((f"{family}*", "self-hosted-8b") for family in _OPEN_WEIGHTS),
)


@dataclass(frozen=True)
class ProfileChoice:
    """Which built-in profile simulates a model, and why."""

    profile: Profile
    family: str | None  # the FAMILY_PROFILES pattern that chose it; None: not by family
    generic: bool  # neither the model's own profile nor its family's: DEFAULT_PROFILE


def choose_profile(model: str) -> ProfileChoice:
    """The built-in profile for a request's ``model``: its own, else its family's, else the
    generic ``demo``.

    ``openai/gpt-4o`` and dated names such as ``gpt-4o-2024-08-06`` have ``gpt-4o``'s own; the
    longest matching name wins, so ``gpt-4o-mini-2024-07-18`` is ``gpt-4o-mini``. A provider
    prefix (``anthropic:``, ``meta-llama/``) is ignored when matching a family.
    """
    bare = model.rsplit("/", 1)[-1].lower()
    exact = BUILTIN_PROFILES.get(bare)
    if exact is not None:
        return ProfileChoice(exact, None, generic=False)
    prefixes = [name for name in BUILTIN_PROFILES if bare.startswith(name + "-")]
    if prefixes:
        return ProfileChoice(BUILTIN_PROFILES[max(prefixes, key=len)], None, generic=False)
    # "anthropic:claude-3-5-sonnet" is a Claude; "llama3.1:8b" (an Ollama tag) is a Llama.
    names = (bare, bare.partition(":")[2])
    for pattern, name in FAMILY_PROFILES:
        if any(fnmatch.fnmatchcase(candidate, pattern) for candidate in names):
            return ProfileChoice(BUILTIN_PROFILES[name], pattern, generic=False)
    return ProfileChoice(BUILTIN_PROFILES[DEFAULT_PROFILE], None, generic=True)


def builtin_profile_for(model: str) -> Profile:
    """The built-in profile that simulates ``model`` (``choose_profile``)."""
    return choose_profile(model).profile


_FLOAT_KEYS = frozenset({"ttft_median_s", "ttft_p95_s", "output_tokens_per_s"})
_STR_KEYS = frozenset({"name", "source"})
_KNOWN_KEYS = frozenset(f.name for f in fields(Profile)) | {"base"}


def load_profile(path: str | Path) -> Profile:
    """A profile from a TOML file of top-level keys named like ``Profile``'s fields.

    ``base = "gpt-4o"`` starts from a built-in profile so a file can change just a few keys;
    without it every number must be given. ``name`` defaults to the file's stem. Every problem
    raises ``ValueError`` with a one-line message that names the file.
    """
    where = str(path)
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except OSError as err:
        raise ValueError(f"{where}: cannot read profile: {err.strerror or err}") from err
    except UnicodeDecodeError as err:
        raise ValueError(f"{where}: profile is not UTF-8 text") from err
    except tomllib.TOMLDecodeError as err:
        raise ValueError(f"{where}: not valid TOML: {err}") from err
    unknown = sorted(set(data) - _KNOWN_KEYS)
    if unknown:
        raise ValueError(f"{where}: unknown profile key(s): {', '.join(unknown)}")
    values: dict[str, object] = {"name": Path(path).stem, "source": f"user profile {where}"}
    base = data.pop("base", None)
    if base is not None:
        if not isinstance(base, str) or base not in BUILTIN_PROFILES:
            names = ", ".join(BUILTIN_PROFILES)
            raise ValueError(f"{where}: base must be one of {names}, got {base!r}")
        values |= {k: v for k, v in asdict(BUILTIN_PROFILES[base]).items() if k not in _STR_KEYS}
    for key, value in data.items():
        if key in _FLOAT_KEYS and isinstance(value, int) and not isinstance(value, bool):
            value = float(value)
        if key in _STR_KEYS and not isinstance(value, str):
            raise ValueError(f"{where}: {key} must be a string, got {value!r}")
        values[key] = value
    optional = ("fixed", "rate_limit")
    missing = sorted(f.name for f in fields(Profile) if f.name not in {*values, *optional})
    if missing:
        raise ValueError(f"{where}: missing profile key(s): {', '.join(missing)}")
    try:
        limit = values.get("rate_limit")
        if isinstance(limit, dict):  # a [rate_limit] table: rpm, tpm (each optional) and tier
            values["rate_limit"] = _rate_limit(limit)
        return Profile(**values)  # type: ignore[arg-type]  # types are checked by Profile
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from err


def _rate_limit(table: dict[str, object]) -> RateLimit:
    unknown = sorted(set(table) - {"rpm", "tpm", "tier"})
    if unknown:
        raise ValueError(f"unknown rate_limit key(s): {', '.join(unknown)}")
    return RateLimit(table.get("rpm"), table.get("tpm"), table.get("tier", ""))  # type: ignore[arg-type]  # checked by RateLimit
