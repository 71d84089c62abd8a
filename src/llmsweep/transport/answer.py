"""A chat answer read from its bytes: one ``json.loads`` per body or SSE event, plain dicts.

Both transports read answers here (the lean client from aiohttp, the SDK's from its raw
response), so they cannot disagree on what an answer says: its text, each content chunk's
arrival, its usage, the model that answered, and whether it was complete. Every field is checked
before use; a wrong shape is an ``IncompleteAnswer`` (a malformed answer), never a bug of ours.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator

from llmsweep.transport.classify import INCOMPLETE, IncompleteAnswer, content_text, token_count
from llmsweep.transport.tracing import Clock

# After [DONE], how long to wait for the rest of the body (the chunked terminator) so that the
# connection goes back to the pool instead of being closed; the SDK waits the same 0.1 s.
DRAIN_S = 0.1


class Answer:
    """What one attempt has read so far; a mid-stream failure still needs ``first_token_at``."""

    __slots__ = (
        "cached_input_tokens",
        "chunk_at",
        "clock",
        "complete",
        "data",
        "first_token_at",
        "input_tokens",
        "model",
        "output_tokens",
        "parts",
    )

    def __init__(self, clock: Clock) -> None:
        self.clock = clock
        self.parts: list[str] = []
        self.data: list[bytes] = []  # the ``data:`` lines of the SSE event being read
        self.first_token_at: float | None = None
        self.chunk_at: list[float] = []  # each content chunk's arrival
        self.complete = False
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.cached_input_tokens = 0
        self.model: str | None = None  # the model the server says answered

    def usage(self, usage: object) -> None:
        if not isinstance(usage, dict):
            return
        self.input_tokens = token_count(usage.get("prompt_tokens"))
        self.output_tokens = token_count(usage.get("completion_tokens"))
        details = usage.get("prompt_tokens_details")
        cached = details.get("cached_tokens") if isinstance(details, dict) else None
        self.cached_input_tokens = token_count(cached) or 0

    def answered_by(self, model: object) -> None:
        if self.model is None and isinstance(model, str) and model:
            self.model = model

    def completion(self, body: object) -> None:
        """A whole (non-streamed) ``chat.completion`` object."""
        if not isinstance(body, dict):
            raise IncompleteAnswer(INCOMPLETE)
        choices = body.get("choices")
        first = choices[0] if isinstance(choices, list) and choices else None
        message = first.get("message") if isinstance(first, dict) else None
        if not isinstance(message, dict):
            raise IncompleteAnswer(INCOMPLETE)
        self.parts.append(content_text(message.get("content")))
        self.usage(body.get("usage"))
        self.answered_by(body.get("model"))
        self.complete = True

    def line(self, line: bytes) -> bool:
        """One SSE line (without its newline); True once ``[DONE]`` has been read."""
        if line.endswith(b"\r"):
            line = line[:-1]
        if line:
            if line.startswith(b"data:"):
                value = line[5:]
                self.data.append(value[1:] if value.startswith(b" ") else value)
            return False  # other fields (event, id, retry) and ":" comments carry nothing we use
        return self.dispatch()

    def dispatch(self) -> bool:
        """The event whose lines have been read; True when it is ``[DONE]``."""
        if not self.data:
            return False
        data = self.data[0] if len(self.data) == 1 else b"\n".join(self.data)
        self.data = []
        if data.startswith(b"[DONE]"):
            return True
        self.chunk(json.loads(data))
        return False

    def chunk(self, chunk: object) -> None:
        """One ``chat.completion.chunk``; an ``error`` field is a failure reported mid-stream."""
        if not isinstance(chunk, dict):
            raise IncompleteAnswer("stream event is not a JSON object")
        error = chunk.get("error")
        if error:
            message = error.get("message") if isinstance(error, dict) else None
            raise IncompleteAnswer(str(message or "an error occurred during streaming"))
        usage = chunk.get("usage")
        if usage is not None:
            self.usage(usage)
        self.answered_by(chunk.get("model"))
        choices = chunk.get("choices") or ()
        if not isinstance(choices, list | tuple):
            raise IncompleteAnswer("stream event has no list of choices")
        for choice in choices:
            if not isinstance(choice, dict):
                raise IncompleteAnswer("stream event choice is not a JSON object")
            delta = choice.get("delta")
            content = content_text(delta.get("content")) if isinstance(delta, dict) else ""
            if content:
                self.chunk_at.append(self.clock())
                if self.first_token_at is None:
                    self.first_token_at = self.chunk_at[-1]
                self.parts.append(content)
            if choice.get("finish_reason") is not None:
                self.complete = True


async def read_events(chunks: AsyncIterator[bytes], answer: Answer) -> bool:
    """Feed an SSE body to ``answer`` line by line, until ``[DONE]`` or the end of the body.

    True when ``[DONE]`` was read: the rest of the body is then the caller's to drain."""
    pending = b""  # a line not finished in the bytes read so far
    async for chunk in chunks:
        lines = (pending + chunk if pending else chunk).split(b"\n")
        pending = lines.pop()
        for line in lines:
            if answer.line(line):
                return True
    if pending:
        answer.line(pending)
    answer.dispatch()  # a last event the server did not end with a blank line
    return False
