"""The SDK client the SDK transport sends with: ``openai.AsyncOpenAI``, its chat request built
by the SDK once per client and then given each prompt's body.

For every request the SDK builds its ``httpx2.Request`` anew from the client's configuration and
the request's options: the auth and platform headers merged and normalised five times over, the
URL parsed three times, the options' defaults deep-copied. For one client and options that
differ only in their JSON body, all of it but the body comes out the same each time, and it was
about a quarter of the SDK path's CPU per request (reports/benchmarks.md, issue 14). So
``ChatClient`` keeps the request the SDK built for the first prompt and builds each later one
from it with that prompt's body, serialised by the SDK's own encoder; everything else a request
goes through stays the SDK's: its auth hooks before and after the request is built, its send
(auth retry, httpx client, aiohttp backend), its error statuses and exceptions. A test holds the
bytes each request puts on the wire equal to what ``chat.completions.create`` sends.
"""

from __future__ import annotations

from typing import Any

import httpx2
import openai
from openai._compat import model_copy
from openai._models import FinalRequestOptions
from openai._utils._json import openapi_dumps

# What ``chat.completions.create`` asks of the client, but the body: a POST, the API key as a
# bearer token, no other option. Built once: its defaults are deep-copied on every construct.
_CHAT = FinalRequestOptions.construct(
    method="post", url="/chat/completions", security={"bearer_auth": True}
)

# The headers a request's body sets (httpx puts them back for each body) or its client's cookie
# jar (httpx sets it from the jar for each request, as ``ChatClient`` does): never reused.
_PER_REQUEST = frozenset({b"content-length", b"transfer-encoding", b"cookie"})


def chat_options(body: dict[str, Any]) -> FinalRequestOptions:
    """The options ``create`` hands the client for this body (``AsyncOpenAI.request`` copies
    them again before it changes anything, so the shared values are never mutated)."""
    options = model_copy(_CHAT)
    options.json_data = body
    return options


class _Built:
    """The SDK's request for one set of options, less what depends on the body."""

    def __init__(self, options: FinalRequestOptions, request: httpx2.Request) -> None:
        self.options = _but_body(options)
        self.method = request.method
        self.url = request.url  # parsed once; httpx2.Request keeps a URL as it is given
        self.headers = httpx2.Headers(
            [(key, value) for key, value in request.headers.raw if key.lower() not in _PER_REQUEST]
        )
        self.extensions = request.extensions  # the timeouts; httpx copies, never changes them


class ChatClient(openai.AsyncOpenAI):
    """``openai.AsyncOpenAI`` that builds its request once per set of options but the body.

    Safe because what ``_build_request`` reads besides the options is the client's own
    configuration (key, base URL, default headers and query, timeouts, the platform it found
    once), which nothing changes after the client is made: ``with_options`` makes a new client,
    with nothing built. Anything it cannot reuse exactly goes to the SDK's own
    ``_build_request``: options that differ in more than the body (an API-key provider's
    per-request header, say), a body that is not a JSON object, a retry's count header, an
    idempotency header. Cookies are the one state that changes: set from the client's jar for
    each request, as httpx's ``build_request`` does.
    """

    _built: _Built | None = None

    @property
    def user_agent(self) -> str:
        # The SDK names its User-Agent after the client's class: this one's is AsyncOpenAI's.
        return super().user_agent.replace(type(self).__name__, openai.AsyncOpenAI.__name__, 1)

    def _build_request(
        self, options: FinalRequestOptions, *, retries_taken: int = 0
    ) -> httpx2.Request:
        built = self._built
        reusable = (
            retries_taken == 0
            and self._idempotency_header is None
            and isinstance(options.json_data, dict)
            and options.extra_json is None
        )
        if built is None or not reusable or _but_body(options) != built.options:
            request = super()._build_request(options, retries_taken=retries_taken)
            if built is None and reusable:
                self._built = _Built(options, request)
            return request
        return httpx2.Request(
            built.method,
            built.url,
            headers=built.headers,
            cookies=self._client.cookies,  # empty unless the server set any: then as httpx
            content=openapi_dumps(options.json_data),  # the SDK's encoder, as it serialises it
            extensions=built.extensions,
        )


def _but_body(options: FinalRequestOptions) -> dict[str, Any]:
    """The options but the body and the idempotency key (used only with an idempotency header,
    which ``ChatClient`` leaves to the SDK); a default no value was given for is a NotGiven
    instance of its own in each set of options, so all compare alike."""
    return {
        name: openai.NOT_GIVEN if isinstance(value, openai.NotGiven) else value
        for name, value in vars(options).items()
        if name not in ("json_data", "idempotency_key")
    }
