"""``llmsweep estimate`` and ``llmsweep prices``: money before anything is sent."""

from __future__ import annotations

import sys

import click

from llmsweep.cli.app import err
from llmsweep.cli.options import (
    positive_int,
)
from llmsweep.cost.pricing import Pricer
from llmsweep.cost.user_prices import pricer_from_flags
from llmsweep.errors import UsageError
from llmsweep.session.target import self_hosted, spec_from_env
from llmsweep.settings import DEFAULT_API_KEY_ENV
from llmsweep.simulator import SimulatorConfig


@click.command("estimate")
@click.argument("prompts")
@click.option(
    "--model", "models", multiple=True, required=True, help="Model to price; repeat for several."
)
@click.option(
    "--output-tokens",
    type=positive_int,
    help="Output tokens to assume per prompt (default: each prompt's max_tokens, else 256).",
)
@click.option(
    "--price-file",
    type=click.Path(dir_okay=False),
    help="TOML prices (USD per million tokens) that add or override models.",
)
@click.option(
    "--price-in",
    type=click.FloatRange(min=0),
    help="Input price, USD per million tokens, for the one --model.",
)
@click.option(
    "--price-out",
    type=click.FloatRange(min=0),
    help="Output price, USD per million tokens, for the one --model.",
)
@click.option(
    "--base-url",
    help="Where the prompts would go (default: $OPENAI_BASE_URL): on this machine or a private "
    "network, a model with no known price is self-hosted and costs $0.",
)
@click.option("--seed", type=int, default=0, show_default=True, help="Seed for synthetic prompts.")
@click.option(
    "--json",
    "as_json",
    is_flag=True,
    help="Print a JSON list, one object per model; money as exact decimal strings.",
)
def estimate_command(
    prompts: str,
    models: tuple[str, ...],
    output_tokens: int | None,
    price_file: str | None,
    price_in: float | None,
    price_out: float | None,
    base_url: str | None,
    seed: int,
    as_json: bool,
) -> None:
    """Estimate what PROMPTS would cost on each --model; sends nothing.

    \b
    Example:
      llmsweep estimate prompts.jsonl --model gpt-4o-mini --model gpt-4o
      llmsweep estimate prompts.jsonl --model qwen2.5-7b --base-url http://localhost:8080/v1
    """
    # Imported here so other commands do not pay for loading tokenizers and table code.
    from rich.console import Console

    from llmsweep.cost.estimate import cost_phrase, estimate, estimate_table, rows_to_json
    from llmsweep.inputs.prompts import load_prompts

    names = list(dict.fromkeys(models))
    # The target as sweep and run resolve it (the key is read, never shown): the same rule
    # decides whether an unpriced model is self-hosted.
    target = spec_from_env(base_url, DEFAULT_API_KEY_ENV, SimulatorConfig())
    pricer = pricer_from_flags(
        names, price_file, price_in, price_out, self_hosted=self_hosted(target)
    )
    rows = estimate(
        load_prompts(prompts, seed=seed), names, pricer=pricer, output_tokens=output_tokens
    )
    for row in rows:
        if row.oversized_prompts:
            err(
                f"llmsweep: warning: {row.oversized_prompts} prompt(s) exceed {row.model}'s "
                f"context window of {row.context_window:,} tokens (first: id "
                f"{row.first_oversized_id}, largest: {row.largest_input_tokens:,} tokens)"
            )
    notes = [
        "ESTIMATES, not bills:",
        *(
            f"  {row.model}: {cost_phrase(row.total_cost_usd, bound=row.bound, basis=row.basis)}"
            for row in rows
        ),
        f"Prices: {pricer.data_date(names)}.",
        *(f"  {row.model}: {row.price_source}" for row in rows),
    ]
    if as_json:
        click.echo(rows_to_json(rows))
        for note in notes:
            err(f"llmsweep: {note}")
        return
    console = Console(width=None if sys.stdout.isatty() else 160)
    console.print(estimate_table(rows))
    for note in notes:
        console.print(note, highlight=False, markup=False)


@click.command("prices")
@click.argument("pattern", required=False)
def prices_command(pattern: str | None) -> None:
    """List models' USD per million tokens: all, or matching PATTERN.

    PATTERN is part of a name or a glob; a model's price is in genai-prices' bundled snapshot.

    \b
    Examples:
      llmsweep prices gpt-4o
      llmsweep prices 'claude-*'
    """
    from rich.console import Console

    from llmsweep.cost.estimate import prices_table

    pricer = Pricer()
    found = pricer.find(pattern)
    if not found:
        raise UsageError(
            f"no model matches {pattern!r} (try part of a name, e.g. 'gpt-4o', "
            "or a glob such as 'claude-*')"
        )
    console = Console(width=None if sys.stdout.isatty() else 160)
    console.print(prices_table(found))
    console.print(
        f"USD per million tokens ('-': no such price; tiered prices show their base "
        f"rate). Prices: {pricer.data_date()}.",
        highlight=False,
        markup=False,
    )
