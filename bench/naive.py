"""THE ANTI-PATTERN, on purpose: how bulk LLM calls are usually written, for comparison only.

Do not use this code. It is ``bench/bench_engine_vs_naive.py``'s baseline and is meant to be the
pattern people actually write, faithfully, including what is wrong with it:

* ``asyncio.gather`` over *all* prompts at once, with an ``asyncio.Semaphore(concurrency)``
  held for the whole call, retries and sleeps included;
* "retry up to 3 times" on ANY exception (a 400 or a 401 is retried like a 429), sleeping
  1, 2 then 4 seconds, the same for every request: no jitter, so requests that were refused
  together come back together;
* the server's ``retry-after`` hints are ignored, and there is no client-side RPM/TPM pacing.

The one deliberate deviation from copy-pasted code is ``max_retries=0`` on ``openai.AsyncOpenAI``
(everything else is the SDK's default): with the SDK's default of 2 internal retries, every
"attempt" below could be up to 3 HTTP requests that the loop never sees, so its attempt count
would hide real traffic. With 0, one attempt here is one HTTP request, counted honestly.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from dataclasses import dataclass, field

import openai

from llmsweep.inputs.prompts import Prompt

RETRIES = 3  # retries after the first attempt: at most 4 attempts per prompt
FIRST_SLEEP_S = 1.0  # doubled before each further retry: 1, 2, 4 s


@dataclass
class NaiveResult:
    wall_s: float = 0.0
    succeeded: int = 0
    failed: int = 0
    attempts: int = 0  # calls to chat.completions.create (= HTTP requests, max_retries=0)
    errors: Counter[str] = field(default_factory=Counter)  # every failed attempt, by type
    final_errors: Counter[str] = field(default_factory=Counter)  # why prompts finally failed


async def run_naive(
    prompts: list[Prompt], *, base_url: str, api_key: str, model: str, concurrency: int
) -> NaiveResult:
    result = NaiveResult()
    client = openai.AsyncOpenAI(base_url=base_url, api_key=api_key, max_retries=0)
    semaphore = asyncio.Semaphore(concurrency)

    async def call(prompt: Prompt) -> str:
        async with semaphore:  # held while sleeping between retries, as usually written
            delay = FIRST_SLEEP_S
            for attempt in range(RETRIES + 1):
                try:
                    result.attempts += 1
                    response = await client.chat.completions.create(
                        model=model,
                        messages=prompt.messages,  # type: ignore[arg-type]  # validated dicts
                        max_tokens=prompt.max_tokens,
                    )
                    return response.choices[0].message.content or ""
                except Exception as error:  # the anti-pattern: retry everything
                    result.errors[type(error).__name__] += 1
                    if attempt == RETRIES:
                        raise
                    await asyncio.sleep(delay)
                    delay *= 2
        raise AssertionError("unreachable")

    started = time.perf_counter()
    try:
        # return_exceptions=True is the kind version: without it the first prompt to give up
        # would abort the gather while the other tasks kept running unobserved.
        outcomes = await asyncio.gather(*(call(p) for p in prompts), return_exceptions=True)
    finally:
        result.wall_s = time.perf_counter() - started
        await client.close()
    for outcome in outcomes:
        if isinstance(outcome, BaseException):
            result.failed += 1
            result.final_errors[type(outcome).__name__] += 1
        else:
            result.succeeded += 1
    return result
