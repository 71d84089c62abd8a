"""The one result struct every exporter reads."""

from __future__ import annotations

from factories import make_cell, make_measurement, make_meta, result_of, with_config


def test_the_result_carries_levels_cells_and_a_recommendation_per_model() -> None:
    records = [
        *make_cell("m", 1, prompts=20, wall_s=20.0),
        *make_cell("m", 4, prompts=20, wall_s=5.0),
    ]
    result = result_of(records, make_meta(models=("m",), levels=(1, 4)))
    assert [(c.concurrency, c.requests) for c in result.cells] == [(1, 20), (4, 20)]
    assert [level.speedup for level in result.levels] == [1.0, 4.0]
    assert result.recommended == {"m": 4}
    assert [rec.model for rec in result.recommendations] == ["m"]


def test_the_configured_client_reaches_the_remedy_of_a_client_bound_level() -> None:
    records = [
        *make_cell("m", 1, prompts=20, wall_s=20.0),
        *make_cell("m", 4, prompts=20, wall_s=8.0),  # 2.5x: 62% of ideal
    ]
    busy = {("m", 4, 0): make_measurement(lag_p95_s=0.0, cpu_s=5.0)}  # half a core
    meta = make_meta(models=("m",), levels=(1, 4))
    (sdk,) = result_of(records, with_config(meta, client="openai"), busy).recommendations
    (lean,) = result_of(records, with_config(meta, client="http"), busy).recommendations
    assert any("use the lean client (--client http)" in warning for warning in sdk.warnings)
    assert any("concurrency 4 this machine" in warning for warning in lean.warnings)
    assert not any("--client http" in warning for warning in lean.warnings)
