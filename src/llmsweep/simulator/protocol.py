"""OpenAI's wire format: error bodies, ``chat.completion`` objects and SSE chunks, as bytes."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

_dumps = json.JSONEncoder(separators=(",", ":")).encode

SSE_DONE = b"data: [DONE]\n\n"


class ApiError(Exception):
    """An error answer in OpenAI's shape; raised anywhere in a request, sent by the handler."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        param: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.param = param
        self.code = code
        self.headers = headers or {}

    def body(self) -> bytes:
        error = {"message": self.message, "type": self.type, "param": self.param, "code": self.code}
        return _dumps({"error": error}).encode()


def quota_error() -> ApiError:
    return ApiError(
        429,
        "You exceeded your current quota, please check your plan and billing details.",
        type="insufficient_quota",
        code="insufficient_quota",
    )


def usage_object(prompt_tokens: int, completion_tokens: int) -> dict[str, Any]:
    return {
        "prompt_tokens": prompt_tokens,
        "completion_tokens": completion_tokens,
        "total_tokens": prompt_tokens + completion_tokens,
        "prompt_tokens_details": {"cached_tokens": 0},
        "completion_tokens_details": {"reasoning_tokens": 0},
    }


@dataclass(frozen=True, slots=True)
class Answer:
    """One generated answer, and what its wire format needs to describe it."""

    completion_id: str
    created: int
    model: str
    words: list[str]
    finish_reason: str
    prompt_tokens: int
    with_usage: bool  # False for the missing_usage fault

    def completion_body(self) -> bytes:
        body: dict[str, Any] = {
            "id": self.completion_id,
            "object": "chat.completion",
            "created": self.created,
            "model": self.model,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": "".join(self.words)},
                    "logprobs": None,
                    "finish_reason": self.finish_reason,
                }
            ],
        }
        if self.with_usage:
            body["usage"] = usage_object(self.prompt_tokens, len(self.words))
        return _dumps(body).encode()


class ChunkEncoder:
    """SSE events of one streamed answer. With ``include_usage`` every chunk carries
    ``"usage": null`` and a last chunk with no choices carries the usage, as OpenAI does."""

    __slots__ = ("_answer", "_usage_field")

    def __init__(self, answer: Answer, include_usage: bool) -> None:
        self._answer = answer
        # The missing_usage fault drops the field altogether, not just the final chunk.
        self._usage_field = include_usage and answer.with_usage

    def _event(self, choices: list[dict[str, Any]], usage: dict[str, Any] | None = None) -> bytes:
        answer = self._answer
        chunk: dict[str, Any] = {
            "id": answer.completion_id,
            "object": "chat.completion.chunk",
            "created": answer.created,
            "model": answer.model,
            "choices": choices,
        }
        if self._usage_field:
            chunk["usage"] = usage
        return b"data: " + _dumps(chunk).encode() + b"\n\n"

    @staticmethod
    def _choice(delta: dict[str, str], finish_reason: str | None = None) -> dict[str, Any]:
        return {"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish_reason}

    def role(self) -> bytes:
        return self._event([self._choice({"role": "assistant", "content": ""})])

    def content(self, text: str) -> bytes:
        return self._event([self._choice({"content": text})])

    def finish(self) -> bytes:
        """The finish_reason chunk, the usage chunk when asked for, and ``[DONE]``."""
        events = self._event([self._choice({}, self._answer.finish_reason)])
        if self._usage_field:
            usage = usage_object(self._answer.prompt_tokens, len(self._answer.words))
            events += self._event([], usage)
        return events + SSE_DONE
