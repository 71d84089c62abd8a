"""The one small tree of errors the library raises; the CLI turns each into a one-line message.

Usage errors (bad flags, bad input files) exit with code 2, runtime errors with code 1.
Failed *requests* are never exceptions: they become records (see ``records``); a ``run`` some of
whose prompts failed for good exits with ``PROMPTS_FAILED_EXIT_CODE`` (3). Any other exception is
a bug of ours: the CLI writes its traceback to a file and exits with ``INTERNAL_ERROR_EXIT`` (70,
EX_SOFTWARE in sysexits.h); Ctrl-C exits with ``INTERRUPTED_EXIT`` (130).
"""

from __future__ import annotations

PROMPTS_FAILED_EXIT_CODE = 3
INTERNAL_ERROR_EXIT = 70
INTERRUPTED_EXIT = 130  # 128 + SIGINT, as shells report it


class LlmsweepError(Exception):
    """Base of every error llmsweep raises on purpose. ``str(err)`` is the one-line message."""

    exit_code = 1


class UsageError(LlmsweepError):
    """A flag or value the user gave is wrong."""

    exit_code = 2


class InputError(UsageError):
    """A prompt, profile or price file is missing, unreadable or malformed.

    The message names the file and, where it applies, the line.
    """

    def __init__(self, path: str, message: str, line: int | None = None) -> None:
        where = f"{path}:{line}" if line is not None else path
        super().__init__(f"{where}: {message}")
        self.path = path
        self.line = line


class PricingError(UsageError):
    """No price is known for a model; the message lists close names."""


class TargetError(LlmsweepError):
    """The target server cannot be used at all (unreachable, rejects the key)."""


class OutputError(LlmsweepError):
    """The output location cannot be used (holds another run, disk full, unwritable)."""
