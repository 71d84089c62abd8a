"""Heavy libraries load only when used: what ``import llmsweep`` and quick commands import.

Each case runs in a fresh interpreter and reports ``sys.modules`` as it exits. No timings are
asserted here; bench/bench_startup.py measures them.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import click
import pytest

import llmsweep
from llmsweep.cli import app

HEAVY = frozenset({"openai", "httpx", "httpx2", "aiohttp", "matplotlib", "tiktoken"})
ENTRY = "from llmsweep.cli import main; main()"  # what the installed ``llmsweep`` runs

# Writes every module loaded, whatever the code does (a command may exit).
REPORTER = """
import atexit, json, sys
atexit.register(lambda: open({out!r}, "w").write(json.dumps(sorted(sys.modules))))
sys.argv = ["llmsweep", *{argv!r}]
{code}
"""


def _loaded(tmp_path: Path, code: str, *argv: str) -> set[str]:
    out = tmp_path / "modules.json"
    script = REPORTER.format(out=str(out), argv=list(argv), code=code)
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    return set(json.loads(out.read_text()))


def _commands(loaded: set[str]) -> set[str]:
    return {name for name in loaded if name.startswith("llmsweep.cli.")} - {"llmsweep.cli.app"}


def test_import_loads_no_heavy_library(tmp_path: Path) -> None:
    loaded = _loaded(tmp_path, "import llmsweep")
    assert "llmsweep" in loaded
    assert not loaded & HEAVY
    assert "llmsweep.api" not in loaded


@pytest.mark.parametrize("flag", ["--help", "--version"])
def test_help_and_version_load_no_heavy_library_and_no_command(tmp_path: Path, flag: str) -> None:
    loaded = _loaded(tmp_path, ENTRY, flag)
    assert "llmsweep.cli.app" in loaded
    assert not loaded & HEAVY
    assert not _commands(loaded)


def test_prices_loads_no_client_and_no_charts(tmp_path: Path) -> None:
    loaded = _loaded(tmp_path, ENTRY, "prices", "gpt-4o")
    assert "llmsweep.cost.pricing" in loaded
    assert "llmsweep.cli.cost" in loaded
    assert not _commands(loaded) & {
        "llmsweep.cli.run",
        "llmsweep.cli.sweep",
        "llmsweep.cli.simulate",
    }
    # genai-prices imports httpx2 for its network updater (never called): the one heavy library
    # ``prices`` cannot avoid, since the price data is that package's.
    assert "genai_prices.update_prices" in loaded
    assert not loaded & (HEAVY - {"httpx2"})


def test_a_public_name_loads_its_module_on_first_use(tmp_path: Path) -> None:
    loaded = _loaded(tmp_path, "import llmsweep; llmsweep.Record")
    assert "llmsweep.store.records" in loaded
    assert "llmsweep.api" not in loaded
    assert not loaded & HEAVY


def test_every_public_name_resolves() -> None:
    for name in llmsweep.__all__:
        assert getattr(llmsweep, name) is not None
    with pytest.raises(AttributeError):
        _ = llmsweep.no_such_name


def test_the_command_table_matches_each_commands_own_help() -> None:
    """``--help`` lists commands from ``app.COMMANDS``: each line must be its command's own."""
    context = click.Context(app.cli)
    assert app.cli.list_commands(context) == sorted(app.COMMANDS)
    for name, (_, summary) in app.COMMANDS.items():
        command = app.cli.get_command(context, name)
        assert command is not None and command.name == name
        assert (command.help or "").partition("\n\n")[0] == summary, name
    assert app.cli.get_command(context, "no-such-command") is None
