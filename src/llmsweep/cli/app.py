"""The ``llmsweep`` command group and its entry point: every error becomes one line (a bug of
ours also leaves its traceback in a file, see ``crash_log``).

The group is lazy: it knows each command's name, where it is defined and its one-line help, and
imports a command's module only when that command runs or shows its own ``--help``. So
``llmsweep --help`` and ``--version`` load no HTTP client, no charts and no tokenizer, and a
command loads only what it uses.
"""

from __future__ import annotations

import importlib
import sys
import tempfile
import time
import traceback
from pathlib import Path

import click

from llmsweep import __version__
from llmsweep.errors import INTERNAL_ERROR_EXIT, INTERRUPTED_EXIT, LlmsweepError

# Command name -> ("module:attribute" of its click command, its help's first line). A test
# holds each line to the command's own help.
COMMANDS: dict[str, tuple[str, str]] = {
    "estimate": (
        "llmsweep.cli.cost:estimate_command",
        "Estimate what PROMPTS would cost on each --model; sends nothing.",
    ),
    "prices": (
        "llmsweep.cli.cost:prices_command",
        "List models' USD per million tokens: all, or matching PATTERN.",
    ),
    "report": (
        "llmsweep.cli.sweep:report",
        "Re-render a sweep folder's report from its records.",
    ),
    "run": (
        "llmsweep.cli.run:run",
        "Process PROMPTS at one setting, writing one record per prompt.",
    ),
    "simulate": (
        "llmsweep.cli.simulate:simulate",
        "Serve the built-in OpenAI-compatible simulator until Ctrl-C.",
    ),
    "sweep": (
        "llmsweep.cli.sweep:sweep",
        "Run PROMPTS at each level for each model; write a report folder.",
    ),
}


def err(message: str) -> None:
    """Progress, warnings and notes go to stderr; results go to files (or stdout when asked)."""
    click.echo(message, err=True)


class LazyGroup(click.Group):
    """A group whose commands are imported from ``COMMANDS`` when first needed."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        if cmd_name not in COMMANDS:
            return None
        module, attribute = COMMANDS[cmd_name][0].split(":")
        command = getattr(importlib.import_module(module), attribute)
        if not isinstance(command, click.Command):
            raise TypeError(f"{COMMANDS[cmd_name][0]} is not a click command")
        return command

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # click's own layout and shortening, from the table: listing commands imports none.
        limit = formatter.width - 6 - max(len(name) for name in COMMANDS)
        rows = [
            (name, click.Command(name, help=summary).get_short_help_str(limit))
            for name, (_, summary) in sorted(COMMANDS.items())
        ]
        with formatter.section("Commands"):
            formatter.write_dl(rows)


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="llmsweep")
def cli() -> None:
    """Measure how much parallelism buys against LLM chat APIs, and what it costs."""


def main() -> None:
    try:
        cli.main(standalone_mode=False)
    except click.exceptions.Abort:  # a declined confirmation (or Ctrl-C / EOF at it)
        err("llmsweep: aborted; nothing was sent")
        sys.exit(1)
    except click.ClickException as error:
        # Usage errors from click: one line, naming the flag, exit 2.
        err(f"llmsweep: error: {error.format_message()}")
        sys.exit(error.exit_code)
    except LlmsweepError as error:
        err(f"llmsweep: error: {error}")
        sys.exit(error.exit_code)
    except KeyboardInterrupt:
        err("llmsweep: interrupted")
        sys.exit(INTERRUPTED_EXIT)
    except Exception as error:  # none of the above: a bug of ours, never a server's fault
        where = crash_log(error)
        message = " ".join(f"{type(error).__name__}: {error}".split())  # one line
        err(f"llmsweep: internal error: {message} (traceback in {where}; please report it)")
        sys.exit(INTERNAL_ERROR_EXIT)


def crash_log(error: BaseException) -> Path:
    """Write ``error``'s traceback to a new file in the temporary directory; return its path.

    The traceback only, with no local variables: those could hold the API key."""
    stamp = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime())
    with tempfile.NamedTemporaryFile(
        "w", prefix=f"llmsweep-crash-{stamp}-", suffix=".log", delete=False, encoding="utf-8"
    ) as log:
        log.write(f"llmsweep {__version__}, Python {sys.version.split()[0]}\n")
        log.writelines(traceback.format_exception(error))
    return Path(log.name)
