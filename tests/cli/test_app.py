"""The entry point: every error becomes one line on stderr and its exit code."""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import click
import pytest

from llmsweep import __version__
from llmsweep.cli import app
from llmsweep.errors import OutputError, TargetError, UsageError


def exit_of(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], error: BaseException
) -> tuple[int | str | None, str]:
    """(exit code, stderr) of ``main()`` when the command raises ``error``."""

    def command(**_: object) -> None:
        raise error

    monkeypatch.setattr(app.cli, "main", command)
    with pytest.raises(SystemExit) as caught:
        app.main()
    return caught.value.code, capsys.readouterr().err


@pytest.mark.parametrize(
    ("error", "code", "line"),
    [
        (TargetError("cannot reach x"), 1, "llmsweep: error: cannot reach x"),
        (OutputError("out: write failed"), 1, "llmsweep: error: out: write failed"),
        (UsageError("--rpm must be positive"), 2, "llmsweep: error: --rpm must be positive"),
        (click.ClickException("bad"), 1, "llmsweep: error: bad"),
        (click.UsageError("no such option: --fast"), 2, "llmsweep: error: no such option: --fast"),
        (click.exceptions.Abort(), 1, "llmsweep: aborted; nothing was sent"),
        (KeyboardInterrupt(), 130, "llmsweep: interrupted"),
    ],
)
def test_each_error_is_one_line_with_its_exit_code(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    error: BaseException,
    code: int,
    line: str,
) -> None:
    assert exit_of(monkeypatch, capsys, error) == (code, line + "\n")


def test_version(monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setattr(sys, "argv", ["llmsweep", "--version"])
    app.main()  # returns: the process exits 0
    assert capsys.readouterr().out == f"llmsweep, version {__version__}\n"


def test_a_bug_of_ours_is_one_line_naming_its_traceback_file(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))

    def parse(answer: dict[str, object]) -> object:
        return answer["usage"] + 1  # type: ignore[operator]

    key = "-".join(("sk", "not", "in", "the", "log"))  # in a local variable, not in the source
    try:
        parse({"usage": key})
    except TypeError as bug:
        error = bug
    code, stderr = exit_of(monkeypatch, capsys, error)
    (log,) = tmp_path.glob("llmsweep-crash-*.log")
    assert code == 70
    assert stderr == (
        'llmsweep: internal error: TypeError: can only concatenate str (not "int") to str '
        f"(traceback in {log}; please report it)\n"
    )
    text = log.read_text()
    assert "Traceback (most recent call last):" in text and "in parse" in text
    assert key not in text  # the frames, never their local variables
