"""The ``llmsweep`` command group and its entry point: every error becomes one line."""

from __future__ import annotations

import sys

import click

from llmsweep import __version__
from llmsweep.errors import LlmsweepError


def err(message: str) -> None:
    """Progress, warnings and notes go to stderr; results go to files (or stdout when asked)."""
    click.echo(message, err=True)


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
        sys.exit(130)
