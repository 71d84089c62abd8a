"""Answering an admitted request: holding a capacity slot, pacing tokens, late faults."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiohttp import web

from llmsweep.simulator.faults import FaultKind
from llmsweep.simulator.gate import FifoGate
from llmsweep.simulator.protocol import Answer, ChunkEncoder
from llmsweep.simulator.stats import ServerStats

# Stream content in groups of tokens, one event per ~15 ms of generation: token-by-token
# events would cost the server more CPU than the client it is measuring.
CHUNK_INTERVAL_S = 0.015
MAX_CHUNK_TOKENS = 32


@dataclass(frozen=True, slots=True)
class Plan:
    """How one admitted request is answered."""

    answer: Answer
    fault: FaultKind | None  # only faults that happen while answering (not EARLY_FAULTS)
    cut_q: float  # where stream_cut or malformed_json strikes, as a fraction of the answer
    ttft_s: float
    token_s: float  # seconds per output token after the first
    gate: FifoGate
    headers: dict[str, str]


def drop_connection(request: web.BaseRequest) -> None:
    """Close the connection at once: the client gets no (more) bytes."""
    if request.transport is not None:
        request.transport.abort()


async def _sleep_until(loop: asyncio.AbstractEventLoop, deadline_s: float) -> None:
    # Absolute deadlines, so a late wake-up is caught up by the next event instead of drifting.
    delay_s = deadline_s - loop.time()
    if delay_s > 0:
        await asyncio.sleep(delay_s)


async def answer_whole(request: web.Request, plan: Plan, stats: ServerStats) -> web.StreamResponse:
    """A non-streaming answer, sent once the whole generation time has passed."""
    answer, fault, headers = plan.answer, plan.fault, plan.headers
    async with plan.gate:
        stats.start_serving()
        try:
            delay_s = plan.ttft_s + len(answer.words) * plan.token_s
            if delay_s > 0:
                await asyncio.sleep(delay_s)
        finally:
            stats.serving -= 1
    body = answer.completion_body()
    stats.completion_tokens_total += len(answer.words)
    stats.by_status[200] += 1
    # A strict prefix of a JSON object is never valid JSON.
    cut_bytes = max(1, int(plan.cut_q * len(body)))
    if fault == "stream_cut":
        response = web.StreamResponse(headers=headers)
        response.content_type = "application/json"
        response.content_length = len(body)
        await response.prepare(request)
        await response.write(body[:cut_bytes])
        drop_connection(request)
        return response
    if fault == "malformed_json":
        body = body[:cut_bytes]
    else:
        stats.completed_ok += 1
    return web.Response(body=body, content_type="application/json", headers=headers)


async def answer_stream(
    request: web.Request, plan: Plan, stats: ServerStats, include_usage: bool
) -> web.StreamResponse:
    """A streamed answer: headers at once, then events as the tokens are generated."""
    response = web.StreamResponse(headers=plan.headers)
    response.content_type = "text/event-stream"
    response.headers["Cache-Control"] = "no-cache"
    encoder = ChunkEncoder(plan.answer, include_usage)
    words = plan.answer.words
    token_s = plan.token_s
    # Event i carries tokens [ends[i-1], ends[i]): the first token alone, at exactly the
    # time to first token, then groups of about CHUNK_INTERVAL_S of generation each.
    per_event = MAX_CHUNK_TOKENS
    if token_s > 0:
        per_event = min(MAX_CHUNK_TOKENS, max(1, round(CHUNK_INTERVAL_S / token_s)))
    ends = [*range(1, len(words), per_event), len(words)]
    cut_after = 1 + int(plan.cut_q * len(ends)) if plan.fault == "stream_cut" else -1
    bad_event = int(plan.cut_q * len(ends)) if plan.fault == "malformed_json" else -1
    loop = asyncio.get_running_loop()
    try:
        await response.prepare(request)
        stats.by_status[200] += 1
        async with plan.gate:
            stats.start_serving()
            try:
                start_s = loop.time() + plan.ttft_s
                sent = 0
                for index, end in enumerate(ends):
                    await _sleep_until(loop, start_s + (end - 1) * token_s)
                    event = encoder.content("".join(words[sent:end]))
                    if index == 0:
                        event = encoder.role() + event
                    if index == bad_event:
                        event = event[: len(event) // 2] + b"\n\n"
                    await response.write(event)
                    stats.completion_tokens_total += end - sent
                    sent = end
                    if index + 1 == cut_after:
                        drop_connection(request)
                        return response
                await _sleep_until(loop, start_s + len(words) * token_s)
                await response.write(encoder.finish())
            finally:
                stats.serving -= 1
        await response.write_eof()
    except ConnectionError:
        stats.client_disconnects += 1
        return response
    if plan.fault != "malformed_json":
        stats.completed_ok += 1
    return response
