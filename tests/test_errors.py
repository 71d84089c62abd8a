"""The error tree: messages that name their file and line, and the exit code of each kind."""

from __future__ import annotations

from llmsweep.errors import (
    InputError,
    LlmsweepError,
    OutputError,
    PricingError,
    TargetError,
    UsageError,
)


def test_an_input_error_names_the_file_and_the_line_when_there_is_one() -> None:
    error = InputError("p.jsonl", "not valid JSON", 3)
    assert (str(error), error.path, error.line) == ("p.jsonl:3: not valid JSON", "p.jsonl", 3)
    assert str(InputError("p.jsonl", "no such prompt file")) == "p.jsonl: no such prompt file"


def test_what_the_user_gave_wrong_exits_2_and_everything_else_1() -> None:
    assert {kind.exit_code for kind in (UsageError, InputError, PricingError)} == {2}
    assert {kind.exit_code for kind in (LlmsweepError, TargetError, OutputError)} == {1}
    assert issubclass(InputError, UsageError) and issubclass(TargetError, LlmsweepError)
