"""``llmsweep simulate`` as a user runs it: a standalone server with the faults asked for."""

from __future__ import annotations

import http.client
import json
import re
import signal
import socket
import urllib.error
import urllib.request

from cli_helpers import llmsweep_here, start

CHAT = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 2}


def post_chat(base_url: str) -> int:
    body = CHAT
    request = urllib.request.Request(
        f"{base_url}/chat/completions",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json", "Authorization": "Bearer sk-test"},
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return int(response.status)
    except urllib.error.HTTPError as error:
        return error.code


def test_error_rate_splits_failures_between_500_and_503_until_ctrl_c() -> None:
    process = start("simulate", "--port", "0", "--latency-scale", "0", "--error-rate", "1")
    assert process.stderr is not None
    match = re.search(r"serving (http://127\.0\.0\.1:\d+/v1)", process.stderr.readline())
    assert match
    statuses = {post_chat(match.group(1)) for _ in range(20)}
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=10)
    assert statuses == {500, 503}  # all failed, both kinds drawn
    assert process.returncode == 0 and "llmsweep: simulator stopped" in stderr


def test_a_port_in_use_and_an_unset_key_variable_are_one_line_errors() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = llmsweep_here("simulate", "--port", str(port))
    assert busy.returncode == 1
    assert (
        busy.stderr.strip()
        .splitlines()[-1]
        .startswith(f"llmsweep: error: cannot listen on 127.0.0.1:{port} (")
    )
    unset = llmsweep_here("simulate", "--port", "0", "--require-key-env", "LLMSWEEP_NO_SUCH_VAR")
    assert unset.returncode == 2
    assert unset.stderr.strip().splitlines() == [
        "llmsweep: error: --require-key-env: $LLMSWEEP_NO_SUCH_VAR is not set"
    ]


def test_close_after_answer_says_keep_alive_then_closes_the_next_request() -> None:
    process = start("simulate", "--port", "0", "--latency-scale", "0", "--close-after-answer")
    assert process.stderr is not None
    match = re.search(r"serving http://127\.0\.0\.1:(\d+)/v1", process.stderr.readline())
    assert match
    connection = http.client.HTTPConnection("127.0.0.1", int(match.group(1)), timeout=10)
    headers = {"Content-Type": "application/json"}
    try:
        connection.request("POST", "/v1/chat/completions", json.dumps(CHAT), headers)
        answer = connection.getresponse()
        answer.read()
        assert (answer.status, answer.getheader("Connection")) == (200, "keep-alive")
        connection.request("POST", "/v1/chat/completions", json.dumps(CHAT), headers)
        try:
            connection.getresponse()
            closed = False
        except (http.client.RemoteDisconnected, ConnectionResetError):
            closed = True
    finally:
        connection.close()
    with urllib.request.urlopen(f"http://127.0.0.1:{match.group(1)}/stats", timeout=10) as got:
        stats = json.loads(got.read())
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=10)
    assert closed
    assert (stats["requests"], stats["closed_after_answer"]) == (1, 1)
