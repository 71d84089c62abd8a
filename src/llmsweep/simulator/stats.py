"""Server-side counters, so tests and users can check what the client saw against the truth."""

from __future__ import annotations

from collections import Counter

from llmsweep.simulator.faults import FAULT_KINDS, FaultKind

RATE_LIMIT_KINDS = ("requests", "tokens", "injected", "injected_nohint", "too_large", "quota")


class ServerStats:
    """Plain attributes, updated inline on the hot path; ``snapshot`` is the ``/stats`` body.

    ``in_flight`` and ``serving`` are gauges, so a reset keeps them and restarts the peaks from
    them (which is zero whenever the server is idle).
    """

    def __init__(self) -> None:
        self.in_flight = 0  # chat requests inside the server, queued or not
        self.serving = 0  # of those, the ones holding a capacity slot
        self.reset()

    def reset(self) -> None:
        self.requests = 0
        self.completed_ok = 0
        self.bad_requests = 0
        self.client_disconnects = 0  # the client went away before the answer was complete
        # Requests that came on a connection which had carried an answer, closed unanswered
        # (close_after_answer); not counted in ``requests``.
        self.closed_after_answer = 0
        self.prompt_tokens_total = 0
        self.completion_tokens_total = 0
        self.by_status: Counter[int] = Counter()
        self.rate_limited: Counter[str] = Counter()
        self.faults: Counter[FaultKind] = Counter()
        self.peak_in_flight = self.in_flight
        self.peak_serving = self.serving

    def enter(self) -> None:
        self.in_flight += 1
        if self.in_flight > self.peak_in_flight:
            self.peak_in_flight = self.in_flight

    def start_serving(self) -> None:
        self.serving += 1
        if self.serving > self.peak_serving:
            self.peak_serving = self.serving

    def snapshot(self) -> dict[str, object]:
        return {
            "requests": self.requests,
            "completed_ok": self.completed_ok,
            "by_status": {str(code): n for code, n in sorted(self.by_status.items())},
            "rate_limited": {kind: self.rate_limited[kind] for kind in RATE_LIMIT_KINDS},
            "faults": {kind: self.faults[kind] for kind in FAULT_KINDS},
            "peak_in_flight": self.peak_in_flight,
            "in_flight": self.in_flight,
            "peak_serving": self.peak_serving,
            "serving": self.serving,
            "prompt_tokens_total": self.prompt_tokens_total,
            "completion_tokens_total": self.completion_tokens_total,
            "bad_requests": self.bad_requests,
            "client_disconnects": self.client_disconnects,
            "closed_after_answer": self.closed_after_answer,
        }
