"""A sweep's typed metadata: what it says about the target (never a key), its exact JSON, and
files of another schema refused."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from decimal import Decimal

import pytest

from factories import make_estimate, make_meta
from llmsweep.errors import InputError
from llmsweep.settings import parse_slo
from llmsweep.store.meta import (
    LOCAL,
    META_SCHEMA_VERSION,
    REAL,
    SIMULATOR,
    SweepMeta,
    TargetInfo,
    config_changes,
    target_changes,
)


def test_target_info_never_carries_a_key() -> None:
    info = TargetInfo(SIMULATOR, "http://127.0.0.1:5/v1", "gpt-4o", 0.5, rpm=60)
    described = {
        "kind": "simulator",
        "base_url": "http://127.0.0.1:5/v1",
        "profile": "gpt-4o",
        "latency_scale": 0.5,
        "rpm": 60,
        "tpm": None,
        "model_limits": {},
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
    local = TargetInfo(LOCAL, "http://127.0.0.1:8080/v1")
    assert local.where() == "local server http://127.0.0.1:8080/v1"
    assert local.label() == "local server"


def test_target_changes_name_what_differs_but_not_the_simulators_port() -> None:
    sim = TargetInfo(SIMULATOR, "http://127.0.0.1:5/v1", None, 0.5)
    assert target_changes(sim, replace(sim, base_url="http://127.0.0.1:6/v1")) == []
    assert target_changes(sim, replace(sim, latency_scale=1.0, rpm=60)) == [
        "target latency_scale 0.5 -> 1.0",
        "target rpm None -> 60",
    ]
    local = TargetInfo(LOCAL, "http://127.0.0.1:8080/v1")
    assert target_changes(local, replace(local, base_url="http://127.0.0.1:8081/v1")) == [
        "target base_url 'http://127.0.0.1:8080/v1' -> 'http://127.0.0.1:8081/v1'"
    ]


def test_meta_round_trips_through_its_json_with_money_exact() -> None:
    meta = make_meta(
        max_cost_usd=Decimal("1.50"),
        estimates={"gpt-4o": make_estimate("gpt-4o", "0.04", "0.02", 20)},
        slo=parse_slo(["p95=2,p50=0.75"]),
        stream=True,
    )
    meta = replace(meta, command="llmsweep sweep demo", stopped="budget")
    text = meta.to_json()
    assert SweepMeta.from_json(text, "meta.json") == meta
    data = json.loads(text)
    assert data["config"]["max_cost_usd"] == "1.50"  # a string: no binary float in between
    assert data["config"]["levels"] == [1, 2, 4, 8]
    assert data["config"]["slo"] == [
        {"metric": "p50", "max_s": 0.75},
        {"metric": "p95", "max_s": 2.0},
    ]
    assert data["estimates"]["gpt-4o"]["batch_total_cost_usd"] == "0.02"
    assert data["schema_version"] == META_SCHEMA_VERSION


def test_metadata_of_another_schema_or_malformed_is_refused_with_advice() -> None:
    data = json.loads(make_meta().to_json())
    older = META_SCHEMA_VERSION - 1
    data["schema_version"] = older
    advice = (
        f"meta.json: written with metadata schema {older}; this llmsweep reads schema "
        f"{META_SCHEMA_VERSION}: rerun the sweep into a new --out-dir"
    )
    with pytest.raises(InputError) as caught:
        SweepMeta.from_json(json.dumps(data), "meta.json")
    assert str(caught.value) == advice
    with pytest.raises(InputError, match=r"^meta\.json: unreadable"):
        SweepMeta.from_json("{", "meta.json")
    data["schema_version"] = META_SCHEMA_VERSION
    del data["target"]
    with pytest.raises(InputError, match=r"^meta\.json: not valid sweep metadata"):
        SweepMeta.from_json(json.dumps(data), "meta.json")


def test_config_changes_name_each_field_but_never_the_budget_or_latency_targets() -> None:
    before = make_meta(max_cost_usd=Decimal(1)).config
    assert config_changes(before, replace(before, max_cost_usd=Decimal(5))) == []
    assert config_changes(before, replace(before, slo=parse_slo(["p95=2"]))) == []
    assert config_changes(before, replace(before, levels=(1, 8), rpm=60.0)) == [
        "rpm None -> 60.0",
        "levels [1, 2, 4, 8] -> [1, 8]",
    ]


def test_a_rate_sweeps_meta_keeps_its_mode_and_rates() -> None:
    meta = make_meta(levels=(8,), max_concurrency=8, rates=(0.5, 2.0))
    again = SweepMeta.from_json(meta.to_json(), "meta.json")
    assert again == meta and again.mode == "rate" and again.config.rates == (0.5, 2.0)
    assert again.config.cells() == [("gpt-4o", 8, 0), ("gpt-4o", 8, 1)]
    assert make_meta().mode == "concurrency"
