"""The transport factory: the one place a concrete transport is chosen."""

from __future__ import annotations

import pytest

from llmsweep.errors import UsageError
from llmsweep.transport import make_transport


def test_an_unknown_client_is_a_usage_error() -> None:
    with pytest.raises(UsageError, match="--client 'grpc': expected one of openai, http"):
        make_transport("grpc", base_url="http://x/v1", api_key="k", concurrency=1, timeout_s=1)
