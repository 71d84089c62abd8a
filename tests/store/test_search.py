"""A --search sweep's trace file: written and read back alike, another schema refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from llmsweep.errors import InputError
from llmsweep.store.search import SEARCH_SCHEMA_VERSION, SearchStep, read_search, write_search


def test_the_trace_reads_back_as_written_and_is_absent_for_a_grid(tmp_path: Path) -> None:
    path = tmp_path / "search.json"
    assert read_search(path) is None
    steps = [
        SearchStep("m", 1, 2, 8, 10.0, 9.0, 11.0, 1.0, "doubling to 2"),
        SearchStep("m", 2, 3, 8, 19.5, None, None, None, "the search stopped here", 5),
    ]
    write_search(path, steps)
    assert read_search(path) == steps
    assert steps[1].prompts_sent == 24
    assert json.loads(path.read_text())["schema_version"] == SEARCH_SCHEMA_VERSION


def test_a_trace_of_another_schema_or_malformed_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "search.json"
    path.write_text(json.dumps({"schema_version": SEARCH_SCHEMA_VERSION + 1, "steps": []}))
    with pytest.raises(InputError, match="search-trace schema 3; this llmsweep reads schema 2"):
        read_search(path)
    path.write_text(json.dumps({"schema_version": SEARCH_SCHEMA_VERSION, "steps": [{"x": 1}]}))
    with pytest.raises(InputError, match="not a valid search trace"):
        read_search(path)
