"""How fast exact input-token counting is: 100,000 synthetic prompts per encoding.

Run from the project root:

    .venv/bin/python bench/bench_tokens.py synthetic:100000:200:100

(the argument is optional and defaults to that prompt set).

For gpt-4o (o200k_base) and gpt-4 (cl100k_base) it times ``Tokenizer.count_chats`` over the
prompts in batches of ``estimate.BATCH_SIZE``, with the prompts generated beforehand so only
counting is timed, next to a plain ``encode_ordinary`` loop over the message contents as a
reference; then it times a whole ``estimate()`` (generating, counting and pricing) as
``llmsweep estimate`` runs it. Each result is printed as one Markdown table row.
"""

from __future__ import annotations

import sys
import time
from datetime import UTC, datetime

from llmsweep.cost.estimate import BATCH_SIZE, estimate
from llmsweep.cost.pricing import Pricer
from llmsweep.inputs.prompts import load_prompts
from llmsweep.inputs.tokens import tokenizer_for

MODELS = ("gpt-4o", "gpt-4")


def row(what: str, encoding: str, prompts: int, tokens: int, seconds: float) -> str:
    return (
        f"| {what} | {encoding} | {prompts:,} | {tokens:,} | {seconds:.2f} s "
        f"| {prompts / seconds:,.0f} prompts/s |"
    )


def main(spec: str) -> None:
    prompts = list(load_prompts(spec))
    python = sys.version.split()[0]
    print(f"{len(prompts):,} prompts from {spec}, batches of {BATCH_SIZE:,}, Python {python}")
    print("| what | encoding | prompts | input tokens | time | rate |")
    print("|---|---|---:|---:|---:|---:|")
    for model in MODELS:
        tokenizer = tokenizer_for(model)
        tokenizer.count_text("warm up")  # load the encoding outside the timing
        start = time.perf_counter()
        tokens = 0
        for first in range(0, len(prompts), BATCH_SIZE):
            chunk = prompts[first : first + BATCH_SIZE]
            tokens += sum(tokenizer.count_chats([p.messages for p in chunk]))
        elapsed = time.perf_counter() - start
        print(row(f"count_chats {model}", tokenizer.encoding_name, len(prompts), tokens, elapsed))
        # Reference: the same texts through plain encode_ordinary, no thread pool and no chat
        # overhead, to show how much of the time is tiktoken's batch machinery.
        texts = [str(m["content"]) for p in prompts for m in p.messages]
        start = time.perf_counter()
        raw = sum(len(tokenizer.encoding.encode_ordinary(text)) for text in texts)
        elapsed = time.perf_counter() - start
        print(row(f"reference: encode_ordinary loop, {model}", tokenizer.encoding_name,
                  len(prompts), raw, elapsed))  # fmt: skip
    pricer = Pricer(at=datetime.now(UTC))
    start = time.perf_counter()
    rows = estimate(load_prompts(spec), list(MODELS), pricer=pricer)
    elapsed = time.perf_counter() - start
    tokens = sum(r.input_tokens for r in rows)
    encodings = "+".join(tokenizer_for(m).encoding_name for m in MODELS)
    what = f"estimate() {'+'.join(MODELS)}, incl. generating prompts"
    print(row(what, encodings, rows[0].prompts, tokens, elapsed))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "synthetic:100000:200:100")
