"""A sweep's typed metadata: what it says about the target, never a key."""

from __future__ import annotations

import json
from dataclasses import asdict

from factories import make_meta
from llmsweep.store.meta import REAL, SIMULATOR, TargetInfo


def test_target_info_never_carries_a_key() -> None:
    info = TargetInfo(SIMULATOR, "http://127.0.0.1:5/v1", "gpt-4o", 0.5, rpm=60)
    described = {
        "kind": "simulator",
        "base_url": "http://127.0.0.1:5/v1",
        "profile": "gpt-4o",
        "latency_scale": 0.5,
        "rpm": 60,
        "tpm": None,
    }
    assert asdict(info) == described
    assert json.loads(make_meta(target=info).to_json())["target"] == described
    assert info.where() == (
        "built-in simulator (profile gpt-4o, latency scale 0.5) at http://127.0.0.1:5/v1"
    )
    assert info.label() == "simulated target (profile gpt-4o, latency scale 0.5)"
    real = TargetInfo(REAL, "https://api.example.com/v1")
    assert real.where() == "real target https://api.example.com/v1"
    assert real.label() == "real API"
