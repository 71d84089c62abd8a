"""llmsweep: sweep concurrency against LLM chat APIs and report speedup, failures and cost.

The public names are imported on first use (``llmsweep.run_prompts_sync`` loads the engine
then), so that ``import llmsweep`` and the command line's ``--help`` and ``--version`` stay fast.
"""

import importlib
from typing import TYPE_CHECKING

__version__ = "0.1.0"

if TYPE_CHECKING:
    from llmsweep.analysis.result import SweepResult
    from llmsweep.api import iter_prompts, run_prompts, run_prompts_sync, sweep
    from llmsweep.errors import LlmsweepError
    from llmsweep.inputs.prompts import Prompt, load_prompts
    from llmsweep.store.records import Record

__all__ = [
    "LlmsweepError",
    "Prompt",
    "Record",
    "SweepResult",
    "__version__",
    "iter_prompts",
    "load_prompts",
    "run_prompts",
    "run_prompts_sync",
    "sweep",
]

# Public name -> the module that defines it.
_HOMES = {
    "LlmsweepError": "llmsweep.errors",
    "Prompt": "llmsweep.inputs.prompts",
    "Record": "llmsweep.store.records",
    "SweepResult": "llmsweep.analysis.result",
    "iter_prompts": "llmsweep.api",
    "load_prompts": "llmsweep.inputs.prompts",
    "run_prompts": "llmsweep.api",
    "run_prompts_sync": "llmsweep.api",
    "sweep": "llmsweep.api",
}


def __getattr__(name: str) -> object:
    if name not in _HOMES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(_HOMES[name]), name)
    globals()[name] = value  # later look-ups skip this function
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *__all__})
