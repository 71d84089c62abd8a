"""A sweep: the same prompts at each concurrency level, per model, repeated.

``plan_sweep`` does everything that can fail before a request is sent (prompts, prices, the
folder, the estimate), and ``expected_cells_s`` how long each cell should take against the
simulator; ``session.cells`` runs the cells. The report is a pure function of the folder.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

from llmsweep import __version__
from llmsweep.analysis.ceiling import model_limits, rate_limit_ceiling_rps
from llmsweep.analysis.search import most_probes, top_level
from llmsweep.cost.estimate import EstimateRow, estimate
from llmsweep.cost.pricing import Pricer
from llmsweep.errors import UsageError
from llmsweep.inputs.prompts import Prompt, load_prompts, salted
from llmsweep.session.run import refuse_spent_budget
from llmsweep.session.target import simulated_as, simulator_info
from llmsweep.settings import SweepConfig, charged_tokens, refuse_unbounded_budget
from llmsweep.simulator import SimulatorConfig, builtin_profile_for
from llmsweep.store.meta import SweepMeta, TargetInfo
from llmsweep.store.records import CellKey
from llmsweep.store.sweepdir import SweepFolder


@dataclass(frozen=True)
class SweepPlan:
    """A sweep checked and estimated, nothing sent yet."""

    config: SweepConfig
    prompts: list[Prompt]
    folder: SweepFolder
    pricer: Pricer
    estimates: list[EstimateRow]  # one pass over the prompts, per model
    created_at: str
    job_size: int | None = None  # the whole job's prompts, for the report's projection
    # --search: each model's most it could send (analysis.search.most_probes), priced as the
    # estimate prices those prompts; None for a grid sweep.
    search_usd: dict[str, Decimal] | None = None
    search_requests: int = 0  # per model, at most

    @property
    def passes(self) -> int:
        """How many times each model is sent the prompts: once per cell (level and repeat,
        or rate)."""
        return len(self.config.cells()) // len(self.config.models)

    def model_usd(self, row: EstimateRow) -> Decimal:
        """What the sweep should cost on ``row``'s model: its passes, or a search's most."""
        if self.search_usd is not None:
            return self.search_usd[row.model]
        return row.total_cost_usd * self.passes

    @property
    def estimated_usd(self) -> Decimal:
        """The whole sweep: every model's pass, at every level and repeat (a search's most)."""
        return sum((self.model_usd(row) for row in self.estimates), Decimal(0))

    @property
    def estimate_bound(self) -> bool:
        """Whether ``estimated_usd`` is a maximum: every model's estimate is."""
        return all(row.bound for row in self.estimates)

    def meta(self, target: TargetInfo, command: str | None) -> SweepMeta:
        """What the report says about itself. ``target`` is already free of secrets."""
        models = list(self.config.models)
        return SweepMeta(
            config=self.config,
            prompt_count=len(self.prompts),
            target=target,
            price_source=self.pricer.source_summary(models),
            price_date=self.pricer.data_date(models),
            estimates={row.model: row.kept() for row in self.estimates},
            created_at=self.created_at,
            tool_version=__version__,
            command=command,
            job_size=self.job_size,
            simulated_as=simulated_as(target, models),
        )


def cell_tag(seed: int, cell: CellKey) -> str:
    """A short tag of ``cell``'s own (``--unique-prompts``): 6 hex digits, the same on every
    resume, another for every cell."""
    return hashlib.blake2b(repr((seed, *cell)).encode(), digest_size=3).hexdigest()


def cell_prompts(config: SweepConfig, prompts: list[Prompt], cell: CellKey) -> list[Prompt]:
    """What ``cell`` sends for ``prompts``: each salted with the cell's tag under
    ``--unique-prompts``."""
    return salted(prompts, cell_tag(config.seed, cell)) if config.unique_prompts else prompts


def select_prompts(config: SweepConfig) -> list[Prompt]:
    """The prompts every cell runs: the whole set, or a seeded random sample of it."""
    return _sampled(config, list(load_prompts(config.prompts, seed=config.seed)))


def _sampled(config: SweepConfig, prompts: list[Prompt]) -> list[Prompt]:
    if config.sample is not None and config.sample < len(prompts):
        chosen = sorted(random.Random(config.seed).sample(range(len(prompts)), config.sample))
        prompts = [prompts[i] for i in chosen]
    return prompts


def refuse_rate_resume(resume: bool) -> None:
    """An open loop's schedule is the load it offers: half a cell sent later would be two
    smaller loads, not the one offered. It is run again, not continued."""
    if resume:
        raise UsageError("--resume does not continue a --rate sweep: run it again with --force")


def refuse_bad_job_size(job_size: int | None) -> None:
    if job_size is not None and job_size < 1:
        raise UsageError(f"--job-size must be at least 1, got {job_size}")


def default_out_dir(prompts: str, created_at: str) -> Path:
    return Path("reports") / f"{created_at[:19].replace(':', '')}-{Path(prompts).stem}"


def refuse_unreachable_levels(config: SweepConfig, prompt_count: int) -> None:
    """A level above the prompts a cell sends never has that many requests in flight: its
    numbers would be another level's under its name."""
    # A rate sweep's level is only a cap on requests in flight, never meant to be reached.
    too_high = [level for level in config.levels if level > prompt_count and not config.rates]
    if too_high:
        more = "a larger --sample" if config.sample == prompt_count else "more prompts"
        raise UsageError(
            f"--concurrency {','.join(map(str, too_high))}: above the {prompt_count} prompts "
            f"each cell sends, so never reached; use levels up to {prompt_count}, or {more}"
        )


def plan_sweep(
    config: SweepConfig,
    pricer: Pricer,
    out_dir: Path | None,
    *,
    resume: bool,
    force: bool,
    target: TargetInfo | None = None,
    job_size: int | None = None,
) -> SweepPlan:
    """Read the prompts, check the folder (a sweep it cannot continue is refused: another
    configuration, ``target`` or prices) and the budget, and estimate the cost; sends nothing.

    ``job_size`` is the whole job's prompts, which the report projects to; by default the
    prompt file's size when ``config.sample`` took a sample of it, else none."""
    refuse_bad_job_size(job_size)
    if config.rates:
        refuse_rate_resume(resume)
    for model in config.models:
        pricer.pricing(model)  # an unknown model fails now, with close names
    everything = list(load_prompts(config.prompts, seed=config.seed))
    prompts = _sampled(config, everything)
    if job_size is None and config.sample is not None:
        job_size = len(everything)
    refuse_unreachable_levels(config, len(prompts))
    for prompt in prompts:
        refuse_unbounded_budget(
            config.max_cost_usd, config.max_tokens, prompt.id, prompt.max_tokens
        )
    created = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    folder = SweepFolder(out_dir or default_out_dir(config.prompts, created))
    folder.check(config, len(prompts), resume=resume, force=force, target=target)
    if resume and not force:
        spent = folder.spent_at_these_prices(pricer.cost_fn)
        refuse_spent_budget(config.max_cost_usd, spent, folder.path)
    rows = estimate(
        # One pass, as the first cell sends it: under --unique-prompts, tags and all.
        cell_prompts(config, prompts, config.cells()[0]),
        list(config.models),
        pricer=pricer,
        max_tokens=config.max_tokens,
    )
    plan = SweepPlan(config, prompts, folder, pricer, rows, created, job_size)
    return _with_search_estimate(plan) if config.search else plan


def _with_search_estimate(plan: SweepPlan) -> SweepPlan:
    """A search's most spend per model: each probe round it could run, priced as the estimate
    prices the first prompts that round sends."""
    config, prompts = plan.config, plan.prompts
    sizes = most_probes(top_level(config.max_concurrency, len(prompts)), len(prompts))
    totals = dict.fromkeys(config.models, Decimal(0))
    for size, rounds in Counter(sizes).items():
        first = cell_prompts(config, prompts[:size], config.cells()[0])
        rows = estimate(
            first, list(config.models), pricer=plan.pricer, max_tokens=config.max_tokens
        )
        for row in rows:
            totals[row.model] += row.total_cost_usd * rounds
    return replace(plan, search_usd=totals, search_requests=sum(sizes))


def expected_duration_s(plan: SweepPlan, simulator: SimulatorConfig) -> float:
    """How long the whole sweep should take against the built-in simulator: the sum of
    ``expected_cells_s``."""
    return sum(expected_cells_s(plan, simulator).values())


def expected_cells_s(plan: SweepPlan, simulator: SimulatorConfig) -> dict[CellKey, float]:
    """How long each cell should take against the built-in simulator, the longer of: its
    prompts' median latencies (``Profile.median_latency_s``) shared by ``min(level,
    capacity)`` requests at once, as a closed loop runs them; and its
    prompts at the rate-limit ceiling (``analysis.ceiling``: the tighter of the client's and the
    simulator's limits for the model). An estimate: it leaves out the latency spread, retries
    and the client's own overhead."""
    config = plan.config
    target = simulator_info(simulator)
    rows = {row.model: row for row in plan.estimates}
    cells_s = {}
    for cell in config.cells():
        model, level, _ = cell
        profile = simulator.profile or builtin_profile_for(model)
        latencies_s = sum(
            profile.median_latency_s(prompt.max_tokens or config.max_tokens)
            for prompt in plan.prompts
        )
        busy_s = latencies_s / min(level, profile.capacity) * simulator.latency_scale
        ceiling_rps = rate_limit_ceiling_rps(
            model_limits(config, target, model), _charged_per_request(plan, rows[model])
        )
        limited_s = len(plan.prompts) / ceiling_rps if ceiling_rps else 0.0
        offered_rps = config.offered_rps(cell)
        arrivals_s = len(plan.prompts) / offered_rps if offered_rps else 0.0
        cells_s[cell] = max(busy_s, limited_s, arrivals_s)
    return cells_s


def _charged_per_request(plan: SweepPlan, row: EstimateRow) -> float:
    """The mean tokens a prompt is charged against a TPM limit (``settings.charged_tokens``):
    input + its output allowance, so summed over prompts, the input total plus each allowance."""
    allowances = sum(
        charged_tokens(0, prompt.max_tokens or plan.config.max_tokens) for prompt in plan.prompts
    )
    return (row.input_tokens + allowances) / len(plan.prompts) if plan.prompts else 0.0
