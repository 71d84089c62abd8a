"""Start one of this package's modules as a fresh Python process (``python -m MODULE``).

Not multiprocessing's "spawn": it re-imports the caller's ``__main__`` in every child, which
breaks (or re-runs) a plain script that uses the library without an
``if __name__ == "__main__"`` guard. A fresh interpreter imports only what its module needs.
"""

from __future__ import annotations

import os
import sys


def python_command(module: str) -> list[str]:
    # -P: no working directory first on sys.path; the caller's own path comes from the env.
    return [sys.executable, "-P", "-m", module]


def python_env() -> dict[str, str]:
    """This environment, with this process's sys.path: the child imports the same llmsweep and
    libraries, however this process found them (as "spawn" children did)."""
    return {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
