"""Command line: parse, call the library, print. The only package that prints or exits.

Commands are imported when used (see ``app.COMMANDS``), not here.
"""

from llmsweep.cli.app import cli, main

__all__ = ["cli", "main"]
