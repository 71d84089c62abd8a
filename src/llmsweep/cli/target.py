"""What the commands say about the target, and ask before sending to it: where requests go,
each model's simulator profile, consent to spend, and the other models that answered."""

from __future__ import annotations

import sys
from collections.abc import Sequence

import click

from llmsweep.cli.app import err
from llmsweep.errors import UsageError
from llmsweep.report.warnings import generic_profile_warning, other_model_warning
from llmsweep.session.target import OPENAI_BASE_URL, TargetSpec, describe, public_url, simulated_as
from llmsweep.store.meta import TargetInfo
from llmsweep.store.records import Record


def say_profiles(target: TargetSpec, models: Sequence[str]) -> None:
    """Which simulator profile each model gets, and a warning for the generic one (the words
    the report uses)."""
    profiles = simulated_as(describe(target), list(models))
    for model, chosen in profiles.items():
        err(f"llmsweep: simulator profile for {model}: {chosen.describe()}")
    if generic := generic_profile_warning(profiles):
        err(f"llmsweep: warning: {generic}")


def confirm_spending(target: TargetSpec, spending: str, yes: bool) -> None:
    """Ask before sending to a target that may bill (the caller decides which); ``--yes``
    skips. Declining (or EOF) aborts: nothing was sent."""
    if yes:
        return
    if not sys.stdin.isatty():  # nobody to answer: a pipe's "y" is no person's consent
        raise UsageError(
            "a real target needs confirmation, but stdin is not a terminal: "
            "pass --yes to send without asking"
        )
    click.confirm(
        f"Send these requests to {public_url(target.base_url or OPENAI_BASE_URL)}, "
        f"spending {spending}?",
        abort=True,
        err=True,
    )


def say_target(target: TargetInfo, models: Sequence[str]) -> None:
    """Where requests go, and against the simulator what it limits each model to."""
    err(f"llmsweep: target: {target.where()}")
    for line in target.rate_limit_lines(models):
        err(f"llmsweep: {line}")


class AnsweredModels:
    """Which other models answered each model's requests (``Record.other_model``): said once
    per model when the run or sweep ends, since the prices applied are the model asked for's."""

    def __init__(self) -> None:
        self._other: dict[str, set[str]] = {}

    def add(self, record: Record) -> None:
        other = record.other_model
        if other is not None:
            self._other.setdefault(record.model, set()).add(other)

    def warn(self) -> None:
        for model, names in self._other.items():
            err(f"llmsweep: warning: {other_model_warning(model, names)}")
