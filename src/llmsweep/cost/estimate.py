"""Estimate what a prompt set would cost on each model, before sending anything.

Input tokens are counted exactly with each model's tokenizer (a stand-in encoding, flagged
``tokens_exact=False``, where tiktoken has none). Output tokens cannot be known in advance, so
each prompt is assumed to produce ``output_tokens`` if given, else its ``max_tokens``, else
``ASSUMED_OUTPUT_TOKENS``. A ``max_tokens`` is a ceiling, not a forecast: when every prompt has
one the estimate is a maximum ("at most $X", ``bound``); otherwise it is an expected cost ("about
$X expected") and says what it assumed. ``estimate_basis`` and ``cost_phrase`` are the only
wording of that: every command and the report use them.

Prompts are streamed in batches of ``BATCH_SIZE`` and counted once per distinct encoding, so
100,000 prompts are never held in memory at once. Only request sizes are kept (as counts of
``(input, output)`` pairs), which is all ``Pricer.total_cost`` needs to price them exactly.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field, fields
from decimal import Decimal
from itertools import islice

from rich.table import Table

from llmsweep.cost.money import format_usd
from llmsweep.cost.pricing import Pricer
from llmsweep.cost.snapshot import ModelPricing
from llmsweep.errors import UsageError
from llmsweep.inputs.prompts import Prompt
from llmsweep.inputs.tokens import FALLBACK_ENCODING, Tokenizer, tokenizer_for
from llmsweep.settings import ASSUMED_OUTPUT_TOKENS
from llmsweep.store.meta import ModelEstimate

BATCH_SIZE = 1_000
# A per-1k-prompt average need not terminate as a decimal; a billionth of a dollar is plenty.
_PER_1K_QUANTUM = Decimal("1e-9")
# The fields of ``rows_to_json``, in order, as a sweep's metadata keeps them; money is a string
# there so it stays exact.
JSON_FIELDS = tuple(f.name for f in fields(ModelEstimate))


@dataclass(frozen=True)
class EstimateRow(ModelEstimate):
    """The estimated cost of a prompt set on one model (USD), with what notes and warnings
    need besides (not in the JSON)."""

    encoding: str = ""
    context_window: int | None = None
    oversized_prompts: int = 0  # prompts whose input exceeds context_window
    first_oversized_id: str | None = None
    largest_input_tokens: int = 0
    default_output_prompts: int = 0  # prompts assumed to produce the default output tokens


@dataclass
class _Tally:
    """Running totals for one model while prompts stream past."""

    sizes: Counter[tuple[int, int]] = field(default_factory=Counter)
    oversized: int = 0
    first_oversized_id: str | None = None
    largest: int = 0


def estimate(
    prompts: Iterable[Prompt],
    models: Sequence[str],
    *,
    pricer: Pricer,
    output_tokens: int | None = None,
    max_tokens: int | None = None,
) -> list[EstimateRow]:
    """One row per model (duplicates dropped), in the order given.

    Each prompt is assumed to produce ``output_tokens`` if given, else its own ``max_tokens``,
    else ``max_tokens`` (the cap sent for prompts that set none, ``--max-tokens``), else
    ``ASSUMED_OUTPUT_TOKENS``.
    """
    for given in (output_tokens, max_tokens):
        if given is not None and given < 1:
            raise UsageError(f"output tokens must be a positive integer, got {given}")
    names = list(dict.fromkeys(models))
    if not names:
        raise UsageError("give at least one model")
    # Every price first, so an unknown model fails before a large prompt file is read.
    pricings = {name: pricer.pricing(name) for name in names}
    tokenizers = {name: tokenizer_for(name) for name in names}
    encodings = {tok.encoding_name: tok for tok in tokenizers.values()}
    tallies = {name: _Tally() for name in names}
    defaulted = 0
    stream = iter(prompts)
    while chunk := list(islice(stream, BATCH_SIZE)):
        cap = max_tokens or ASSUMED_OUTPUT_TOKENS
        outputs = [output_tokens or p.max_tokens or cap for p in chunk]
        defaulted += sum(
            output_tokens is None and (p.max_tokens or max_tokens) is None for p in chunk
        )
        messages = [p.messages for p in chunk]
        # Models sharing an encoding share one count.
        counts = {name: tok.count_chats(messages) for name, tok in encodings.items()}
        for name in names:
            tally = tallies[name]
            inputs = counts[tokenizers[name].encoding_name]
            tally.sizes.update(zip(inputs, outputs, strict=True))
            tally.largest = max(tally.largest, *inputs)
            window = pricings[name].context_window
            if window is not None:
                over = [p.id for p, n in zip(chunk, inputs, strict=True) if n > window]
                tally.oversized += len(over)
                tally.first_oversized_id = tally.first_oversized_id or next(iter(over), None)
    assumed = _Assumed(output_tokens or ASSUMED_OUTPUT_TOKENS, defaulted, output_tokens is not None)
    return [_row(name, tallies[name], tokenizers[name], pricer, assumed) for name in names]


def tokens_label(exact: bool) -> str:
    """How a model's input tokens were counted: the one label every output prints."""
    return "exact" if exact else f"approximate ({FALLBACK_ENCODING} stand-in)"


def estimate_basis(
    tokens_exact: bool, *, assumed_output_tokens: int, assumed_prompts: int, by_flag: bool = False
) -> str:
    """What an estimate rests on, in words. With no prompt assumed (``assumed_prompts`` 0) every
    prompt has a max_tokens, taken as its output: a bound. Else ``assumed_prompts`` prompts were
    assumed to produce ``assumed_output_tokens`` each (every prompt, ``by_flag``:
    ``--output-tokens``)."""
    tokens = f"input tokens {tokens_label(tokens_exact)}"
    if by_flag:
        return (
            f"assuming {assumed_output_tokens:,} output tokens a prompt (--output-tokens); {tokens}"
        )
    if assumed_prompts == 0:
        approximate = "" if tokens_exact else ", so the bound is approximate too"
        return f"a bound: output at each prompt's max_tokens; {tokens}{approximate}"
    return (
        f"assuming {assumed_output_tokens:,} output tokens a prompt where no max_tokens is set "
        f"({assumed_prompts:,} prompt(s)); {tokens}"
    )


def cost_phrase(total_usd: Decimal, *, bound: bool, basis: str | None = None) -> str:
    """An estimated cost as every output says it: a maximum only when ``bound``."""
    figure = (
        f"at most {format_usd(total_usd)}" if bound else f"about {format_usd(total_usd)} expected"
    )
    return f"{figure} ({basis})" if basis else figure


@dataclass(frozen=True)
class _Assumed:
    """What output was assumed where no max_tokens caps it."""

    output_tokens: int
    prompts: int  # how many prompts that applies to
    by_flag: bool  # --output-tokens: to every prompt, capped or not

    def basis(self, tokens_exact: bool, prompts: int) -> str:
        return estimate_basis(
            tokens_exact,
            assumed_output_tokens=self.output_tokens,
            assumed_prompts=prompts if self.by_flag else self.prompts,
            by_flag=self.by_flag,
        )


def _row(
    name: str, tally: _Tally, tokenizer: Tokenizer, pricer: Pricer, assumed: _Assumed
) -> EstimateRow:
    pricing = pricer.pricing(name)
    prompts = sum(tally.sizes.values())
    cost = pricer.total_cost(name, tally.sizes)
    has_batch = pricing.batch_input_per_mtok_usd is not None
    batch = pricer.total_cost(name, tally.sizes, batch=True).total_usd if has_batch else None
    per_1k = cost.total_usd * 1000 / prompts if prompts else Decimal(0)
    return EstimateRow(
        model=name,
        prompts=prompts,
        input_tokens=sum(i * n for (i, _), n in tally.sizes.items()),
        output_tokens=sum(o * n for (_, o), n in tally.sizes.items()),
        input_cost_usd=cost.input_usd,
        output_cost_usd=cost.output_usd,
        total_cost_usd=cost.total_usd,
        cost_per_1k_prompts_usd=per_1k.quantize(_PER_1K_QUANTUM).normalize(),
        batch_total_cost_usd=batch,
        tokens_exact=tokenizer.exact,
        price_source=pricing.source,
        bound=not assumed.by_flag and assumed.prompts == 0,
        basis=assumed.basis(tokenizer.exact, prompts),
        encoding=tokenizer.encoding_name,
        context_window=pricing.context_window,
        oversized_prompts=tally.oversized,
        first_oversized_id=tally.first_oversized_id,
        largest_input_tokens=tally.largest,
        default_output_prompts=assumed.prompts,
    )


def row_to_dict(row: EstimateRow) -> dict[str, object]:
    """``JSON_FIELDS`` of a row, ready for ``json.dumps``; money as decimal strings (exact)."""
    return {
        key: format(value, "f") if isinstance(value, Decimal) else value
        for key, value in asdict(row).items()
        if key in JSON_FIELDS
    }


def rows_to_json(rows: Sequence[EstimateRow]) -> str:
    """A JSON list with one ``row_to_dict`` object per row."""
    return json.dumps([row_to_dict(row) for row in rows], indent=2)


def _usd(value: Decimal | None) -> str:
    return "no batch price" if value is None else format_usd(value)


def estimate_table(rows: Sequence[EstimateRow]) -> Table:
    table = Table(title="ESTIMATED cost (nothing was sent)", title_justify="left")
    for header in ("model", "prompts", "input tok", "output tok", "input", "output", "total"):
        table.add_column(header, justify="left" if header == "model" else "right")
    for header in ("per 1k prompts", "batch total", "tokens"):
        table.add_column(header, justify="right" if header != "tokens" else "left")
    for row in rows:
        table.add_row(
            row.model,
            f"{row.prompts:,}",
            f"{row.input_tokens:,}",
            f"{row.output_tokens:,}",
            _usd(row.input_cost_usd),
            _usd(row.output_cost_usd),
            _usd(row.total_cost_usd),
            _usd(row.cost_per_1k_prompts_usd),
            _usd(row.batch_total_cost_usd),
            tokens_label(row.tokens_exact),
        )
    return table


def prices_table(pricings: Sequence[ModelPricing]) -> Table:
    """``llmsweep prices``: USD per million tokens; tiered prices show their base rate."""

    def usd(value: Decimal | None) -> str:
        return "-" if value is None else f"${value:f}"

    table = Table()
    for header in ("provider", "model", "input", "cached input", "output"):
        table.add_column(header, justify="right" if header not in ("provider", "model") else "left")
    for header in ("batch input", "batch output", "context window"):
        table.add_column(header, justify="right")
    for p in pricings:
        table.add_row(
            p.provider or "(yours)",
            p.model,
            usd(p.input_per_mtok_usd),
            usd(p.cached_input_per_mtok_usd),
            usd(p.output_per_mtok_usd),
            usd(p.batch_input_per_mtok_usd),
            usd(p.batch_output_per_mtok_usd),
            "-" if p.context_window is None else f"{p.context_window:,}",
        )
    return table
