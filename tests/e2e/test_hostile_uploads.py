"""Hostile workbooks over HTTP: each ends rejected with a located reason, and the host keeps grading."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from tests.e2e.conftest import FUNCTION_KEY, Stack
from tests.hostile_workbooks import (
    far_cell_behind_short_headers,
    local_header_disagreeing,
    spaces_beyond_declared_size,
)

pytestmark = pytest.mark.e2e
SAMPLE = (Path(__file__).resolve().parents[2] / "samples" / "candidate-amara-okafor.xlsx").read_bytes()
HOSTILE: dict[str, Callable[[bytes], bytes]] = {
    "far-cell-behind-short-headers": far_cell_behind_short_headers,
    "gigabyte-past-declared-size": lambda sample: spaces_beyond_declared_size(sample, inflated_mb=1100),
    "local-header-disagreeing": local_header_disagreeing,
}
REASONS = {
    "far-cell-behind-short-headers": "xl/worksheets/sheet1.xml inflates past the",
    "gigabyte-past-declared-size": "xl/worksheets/sheet1.xml inflates past the",
    "local-header-disagreeing": "the local header of the workbook part xl/workbook.xml claims",
}


def _upload(stack: Stack, data: bytes, filename: str) -> str:
    response = stack.http.post(
        "/api/uploads", params={"filename": filename}, content=data, headers={"x-functions-key": FUNCTION_KEY}
    )
    assert response.status_code == 202, response.text
    return str(response.json()["upload_id"])


@pytest.mark.parametrize("kind", list(HOSTILE))
def test_a_hostile_workbook_is_rejected_with_its_reason_and_the_next_upload_is_graded(
    stack: Stack, kind: str
) -> None:
    hostile = HOSTILE[kind](SAMPLE)
    status = stack.wait_finished(_upload(stack, hostile, f"{kind}.xlsx"))
    assert status["status"] == "rejected"
    assert REASONS[kind] in status["message"]
    assert status["submissions"] == []
    graded = stack.wait_finished(_upload(stack, SAMPLE, "amara.xlsx"))
    assert graded["status"] == "graded"
    assert stack.get("/api/health").status_code == 200
