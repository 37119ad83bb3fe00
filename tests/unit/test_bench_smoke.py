"""The benchmark harness runs end to end on tiny inputs and writes every output; no timings judged."""

from __future__ import annotations

import json
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bench.__main__ import BENCHMARKS, main, merge_results
from bench.measure import Series, StageResult, percentile
from bench.xlsx import Cell, column_letter, write_xlsx


@pytest.fixture(scope="module")
def quick_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One ``python -m bench --quick`` run; its output folder."""
    out = tmp_path_factory.mktemp("bench")
    assert main(["--quick", "--out", str(out), "--inputs", str(out / "inputs")]) == 0
    return out


def test_quick_run_reports_every_benchmark_measured_or_unavailable(quick_run: Path) -> None:
    results = json.loads((quick_run / "results.json").read_text())
    stages = results["stages"]
    assert {s["stage"] for s in stages} >= {"parse 5,000 rows", "cold start", "digest"}
    assert len(stages) >= len(BENCHMARKS)
    for stage in stages:
        assert stage["series"] or stage["unavailable"], stage["stage"]
        assert stage["targets"], stage["stage"]


def test_quick_run_series_are_positive_and_ordered(quick_run: Path) -> None:
    stages = json.loads((quick_run / "results.json").read_text())["stages"]
    series = [s for stage in stages for s in stage["series"]]
    assert series
    for s in series:
        assert 0 < s["min"] <= s["median"] <= s["max"], s["name"]


def test_quick_run_never_judges_targets_on_tiny_inputs(quick_run: Path) -> None:
    stages = json.loads((quick_run / "results.json").read_text())["stages"]
    verdicts = {t["verdict"] for stage in stages for t in stage["targets"]}
    assert verdicts <= {"not judged (--quick)", "not available"}


def test_markdown_table_has_a_row_per_series_and_target(quick_run: Path) -> None:
    stages = json.loads((quick_run / "results.json").read_text())["stages"]
    table = (quick_run / "results.md").read_text()
    for stage in stages:
        for s in stage["series"]:
            assert f"| {stage['stage']} | {s['name']}" in table
        for t in stage["targets"]:
            assert f"| {stage['stage']} | {t['text']} |" in table


def test_chart_is_a_png(quick_run: Path) -> None:
    assert (quick_run / "pipeline.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(("index", "letters"), [(0, "A"), (25, "Z"), (26, "AA"), (81, "CD"), (701, "ZZ")])
def test_column_letters_follow_spreadsheet_naming(index: int, letters: str) -> None:
    assert column_letter(index) == letters


def test_streamed_workbook_reads_back_identically_in_openpyxl(tmp_path: Path) -> None:
    rows: list[list[Cell]] = [
        ["ID", "Start time", "Email", "Answer"],
        [1, datetime(2026, 3, 2, 8, 0, 37), "a@example.com", "Blob & <Queue>"],
        [2, datetime(2026, 3, 2, 8, 1, 14), "b@example.com", None],
    ]
    path = tmp_path / "export.xlsx"
    write_xlsx(path, "Form1", rows)
    sheet = load_workbook(path)["Form1"]
    assert [list(r) for r in sheet.iter_rows(values_only=True)] == rows
    assert zipfile.is_zipfile(path)


def test_percentile_is_nearest_rank() -> None:
    samples = [float(n) for n in range(1, 101)]
    assert percentile(samples, 0.5) == 50.0
    assert percentile(samples, 0.99) == 99.0
    assert percentile([7.0], 0.99) == 7.0


def test_rerunning_one_benchmark_replaces_only_its_stage_in_place() -> None:
    kept = [StageResult("parse"), StageResult("grade", series=[Series("old", [1.0])]), StageResult("digest")]
    fresh = [StageResult("grade", series=[Series("new", [2.0])]), StageResult("pipeline")]
    merged = merge_results(kept, fresh)
    assert [r.stage for r in merged] == ["parse", "grade", "digest", "pipeline"]
    assert merged[1].series[0].name == "new"


def test_stage_results_survive_a_json_round_trip(quick_run: Path) -> None:
    stages = json.loads((quick_run / "results.json").read_text())["stages"]
    assert [StageResult.from_dict(s).to_dict() for s in stages] == stages
