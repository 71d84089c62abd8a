"""The transport contract's shared parts: redaction of the key from any message."""

from __future__ import annotations

import pytest

from llmsweep.transport.base import Attempt, redact


@pytest.mark.parametrize(
    ("text", "secret", "expected"),
    [
        ("Bad key sk-abc123; sk-abc123 again", "sk-abc123", "Bad key ***; *** again"),
        ("nothing to hide", "sk-abc123", "nothing to hide"),
        (
            "a key of abc is too short to find safely",
            "abc",
            "a key of abc is too short to find safely",
        ),
    ],
)
def test_redact_removes_every_copy_of_the_key(text: str, secret: str, expected: str) -> None:
    assert redact(text, secret) == expected


def attempt(
    kind: str, http_status: int | None, *, sent: bool = True, usage: bool = False
) -> Attempt:
    return Attempt(
        kind=kind,
        retryable=kind != "ok",
        http_status=http_status,
        error=None if kind == "ok" else kind,
        hint_s=None,
        text=None,
        input_tokens=10 if usage else None,
        output_tokens=5 if usage else None,
        cached_input_tokens=0,
        started_at_s=0.0,
        first_token_at_s=None,
        ended_at_s=1.0,
        sent_at_s=0.1 if sent else None,
    )


@pytest.mark.parametrize(
    ("value", "billed"),
    [
        (attempt("timeout", None), True),  # sent, then no answer in time
        (attempt("stream_cut", None), True),  # cut after part of the answer
        (attempt("connection", None), True),  # dropped after the request went out
        (attempt("malformed", 200), True),  # answered 200, unreadable: generated all the same
        (attempt("connection", None, sent=False), False),  # never went out
        (attempt("rate_limited", 429), False),  # refused with a status
        (attempt("server_error", 500), False),
        (attempt("timeout", 408), False),
        (attempt("stream_cut", None, usage=True), False),  # its usage says what it cost
        (attempt("ok", 200, usage=True), False),
    ],
)
def test_which_attempts_may_have_been_billed(value: Attempt, billed: bool) -> None:
    assert value.possibly_billed is billed
