"""llmsweep: sweep concurrency against LLM chat APIs and report speedup, failures and cost."""

__version__ = "0.1.0"

from llmsweep.api import iter_prompts, run_prompts, run_prompts_sync
from llmsweep.errors import LlmsweepError
from llmsweep.inputs.prompts import Prompt, load_prompts
from llmsweep.store.records import Record

__all__ = [
    "LlmsweepError",
    "Prompt",
    "Record",
    "__version__",
    "iter_prompts",
    "load_prompts",
    "run_prompts",
    "run_prompts_sync",
]
