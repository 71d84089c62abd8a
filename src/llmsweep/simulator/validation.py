"""Checks a chat completion request the way OpenAI does, raising 400s in OpenAI's shape."""

from __future__ import annotations

import json
from dataclasses import dataclass

from llmsweep.simulator.profiles import Profile
from llmsweep.simulator.protocol import ApiError

ROLES = ("system", "user", "assistant", "developer", "tool")


@dataclass(frozen=True, slots=True)
class ChatRequest:
    model: str
    messages: list[dict[str, object]]
    max_tokens: int | None  # the tighter of max_tokens and max_completion_tokens, if any
    stream: bool
    include_usage: bool


def _kind(value: object) -> str:
    """A JSON value's type the way OpenAI's messages name it."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "an array"
    return "an object"


def _invalid(param: str, message: str) -> ApiError:
    return ApiError(400, message, param=param)


def _wrong_type(param: str, expected: str, value: object) -> ApiError:
    return _invalid(
        param, f"Invalid type for '{param}': expected {expected}, but got {_kind(value)} instead."
    )


def _missing(param: str) -> ApiError:
    return _invalid(param, f"Missing required parameter: '{param}'.")


def parse_chat_request(raw: bytes) -> ChatRequest:
    """The request in ``raw``, or ``ApiError`` (400) saying what is wrong with it."""
    try:
        body = json.loads(raw)
    except ValueError:  # includes bad UTF-8
        raise ApiError(
            400,
            "We could not parse the JSON body of your request. The API expects a JSON payload.",
        ) from None
    if not isinstance(body, dict):
        raise ApiError(400, f"Invalid request body: expected an object, got {_kind(body)}.")
    model = body.get("model")
    if model is None:
        raise _missing("model")
    if not isinstance(model, str) or not model:
        raise _wrong_type("model", "a non-empty string", model)
    messages = body.get("messages")
    if messages is None:
        raise _missing("messages")
    if not isinstance(messages, list):
        raise _wrong_type("messages", "an array", messages)
    if not messages:
        raise _invalid("messages", "Invalid 'messages': empty array. Expected at least 1 message.")
    for index, message in enumerate(messages):
        _check_message(f"messages[{index}]", message)
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise _wrong_type("stream", "a boolean", stream)
    n = body.get("n")
    if n is not None and (isinstance(n, bool) or n != 1):
        raise _invalid("n", f"Invalid 'n': the simulator generates one choice only, got {n!r}.")
    return ChatRequest(
        model=model,
        messages=messages,
        max_tokens=_max_tokens(body),
        stream=bool(stream),
        include_usage=_include_usage(body, bool(stream)),
    )


def _check_message(where: str, message: object) -> None:
    if not isinstance(message, dict):
        raise _wrong_type(where, "an object", message)
    role = message.get("role")
    if role is None:
        raise _missing(f"{where}.role")
    if role not in ROLES:
        supported = ", ".join(f"'{r}'" for r in ROLES)
        raise _invalid(
            f"{where}.role", f"Invalid value: {role!r}. Supported values are: {supported}."
        )
    content = message.get("content")
    if content is None:
        # An assistant turn that only calls tools has no content.
        if role == "assistant" and message.get("tool_calls"):
            return
        raise _missing(f"{where}.content")
    if isinstance(content, list):
        for index, part in enumerate(content):
            _check_part(f"{where}.content[{index}]", part)
    elif not isinstance(content, str):
        raise _wrong_type(f"{where}.content", "a string or an array of content parts", content)
    if role == "tool" and not isinstance(message.get("tool_call_id"), str):
        raise _missing(f"{where}.tool_call_id")


def _check_part(where: str, part: object) -> None:
    if not isinstance(part, dict):
        raise _wrong_type(where, "an object", part)
    if part.get("type") != "text":
        raise _invalid(
            f"{where}.type", "The simulator accepts only text content parts ('type': 'text')."
        )
    if not isinstance(part.get("text"), str):
        raise _wrong_type(f"{where}.text", "a string", part.get("text"))


def _max_tokens(body: dict[str, object]) -> int | None:
    caps: list[int] = []
    for param in ("max_tokens", "max_completion_tokens"):
        value = body.get(param)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int):
            raise _wrong_type(param, "an integer", value)
        if value < 1:
            raise _invalid(
                param,
                f"Invalid '{param}': integer below minimum value. "
                f"Expected a value >= 1, but got {value} instead.",
            )
        caps.append(value)
    return min(caps) if caps else None


def _include_usage(body: dict[str, object], stream: bool) -> bool:
    options = body.get("stream_options")
    if options is None:
        return False
    if not stream:
        raise _invalid(
            "stream_options",
            "The 'stream_options' parameter is only allowed when 'stream' is true.",
        )
    if not isinstance(options, dict):
        raise _wrong_type("stream_options", "an object", options)
    include = options.get("include_usage")
    if include is not None and not isinstance(include, bool):
        raise _wrong_type("stream_options.include_usage", "a boolean", include)
    return bool(include)


def check_max_tokens(profile: Profile, max_tokens: int | None) -> None:
    if max_tokens is not None and max_tokens > profile.max_output_tokens:
        raise ApiError(
            400,
            f"max_tokens is too large: {max_tokens}. This model supports at most "
            f"{profile.max_output_tokens} completion tokens, whereas you provided {max_tokens}.",
            param="max_tokens",
        )


def check_context(profile: Profile, prompt_tokens: int, max_tokens: int | None) -> None:
    """Prompt (plus the completion asked for) must fit the context window, as OpenAI checks."""
    window = profile.context_window
    if max_tokens is None and prompt_tokens >= window:
        message = f"However, your messages resulted in {prompt_tokens} tokens."
    elif max_tokens is not None and prompt_tokens + max_tokens > window:
        message = (
            f"However, you requested {prompt_tokens + max_tokens} tokens ({prompt_tokens} in "
            f"the messages, {max_tokens} in the completion)."
        )
    else:
        return
    raise ApiError(
        400,
        f"This model's maximum context length is {window} tokens. {message} "
        "Please reduce the length of the messages or completion.",
        param="messages",
        code="context_length_exceeded",
    )
