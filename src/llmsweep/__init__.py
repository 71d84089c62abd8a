"""llmsweep: sweep concurrency against LLM chat APIs and report speedup, failures and cost."""

__version__ = "0.1.0"
