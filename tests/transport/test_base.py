"""The transport contract's shared parts: redaction of the key from any message."""

from __future__ import annotations

import pytest

from llmsweep.transport.base import redact


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
