"""Command line: parse, call the library, print. The only package that prints or exits."""

from llmsweep.cli import cost, run, simulate, sweep
from llmsweep.cli.app import cli, main

__all__ = ["cli", "cost", "main", "run", "simulate", "sweep"]
