"""The workbook guard: sizes and CRCs are claims, so what a member really inflates to is what counts."""

from __future__ import annotations

import io
import subprocess
import sys
import tracemalloc
import zipfile
import zlib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from samples.workbooks import template_workbook
from shared.adapters.workbook_guard import check_workbook
from shared.adapters.workbook_parser import parse_workbook
from shared.bank import Bank, load_bank
from shared.errors import WorkbookRejected
from shared.settings import ParseLimits
from tests.hostile_workbooks import (
    MB,
    deflated,
    far_cell_behind_short_headers,
    local_header_disagreeing,
    spaces_beyond_declared_size,
    wrong_crc,
)

ROOT = Path(__file__).resolve().parents[2]
LIMITS = ParseLimits()


@pytest.fixture(scope="module")
def bank() -> Bank:
    return load_bank()


@pytest.fixture(scope="module")
def filled(bank: Bank) -> bytes:
    return template_workbook(bank, {"py-decorator-wraps": "B"}, {"identity": 3})


def rejection(data: bytes, limits: ParseLimits = LIMITS) -> str:
    with pytest.raises(WorkbookRejected) as caught:
        check_workbook(data, limits)
    return caught.value.message


def test_the_hostile_stream_builder_inflates_to_what_it_promises() -> None:
    stream = deflated(b"<x/>", spaces_after=3 * MB)
    inflated = zlib.decompress(stream, -zlib.MAX_WBITS)
    assert inflated == b"<x/>" + b" " * (3 * MB)
    assert len(stream) < 10_000


def test_a_far_cell_hidden_past_understated_headers_is_refused_naming_the_part(filled: bytes) -> None:
    hostile = far_cell_behind_short_headers(filled)
    assert len(hostile) < 30_000
    with zipfile.ZipFile(io.BytesIO(hostile)) as archive:
        assert archive.testzip() is None  # zipfile alone is fooled: it reads the declared prefix
    message = rejection(hostile)
    assert "xl/worksheets/sheet1.xml inflates past the" in message
    assert "bytes its zip headers declare" in message


def test_the_offline_grader_rejects_the_far_cell_workbook_with_exit_two(
    filled: bytes, tmp_path: Path
) -> None:
    hostile = tmp_path / "hostile.xlsx"
    hostile.write_bytes(far_cell_behind_short_headers(filled))
    done = subprocess.run(
        [sys.executable, "-m", "readycheck_cli", "grade", str(hostile), "--out", str(tmp_path / "out")],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 2, done.stderr[-2000:]
    assert "xl/worksheets/sheet1.xml inflates past the" in done.stderr
    assert "Traceback" not in done.stderr


def test_a_gigabyte_hidden_in_a_megabyte_is_refused_without_inflating_it(filled: bytes) -> None:
    bomb = spaces_beyond_declared_size(filled, inflated_mb=1100)
    assert len(bomb) < 2 * MB
    tracemalloc.start()
    try:
        message = rejection(bomb)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "xl/worksheets/sheet1.xml inflates past the" in message
    assert "zip bomb" in message
    # The inflater is never allowed past the declared size: memory stays near the upload's size.
    assert peak < 16 * MB


def test_the_whole_parse_refuses_the_hidden_gigabyte(filled: bytes, bank: Bank) -> None:
    with pytest.raises(WorkbookRejected, match="inflates past the"):
        parse_workbook(spaces_beyond_declared_size(filled, inflated_mb=1100), bank, LIMITS)


def test_a_member_inflating_past_the_uncompressed_cap_is_stopped_at_its_declared_size(filled: bytes) -> None:
    limits = ParseLimits(max_uncompressed_bytes=2 * MB)
    tracemalloc.start()
    try:
        message = rejection(spaces_beyond_declared_size(filled, inflated_mb=40), limits)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert "inflates past the" in message
    assert peak < 2 * MB


def test_a_local_header_disagreeing_with_the_central_directory_is_refused(filled: bytes) -> None:
    message = rejection(local_header_disagreeing(filled))
    assert "the local header of the workbook part xl/workbook.xml claims" in message
    assert "where the central directory claims" in message


def test_a_member_whose_crc_does_not_match_its_bytes_is_refused(filled: bytes) -> None:
    assert "xl/workbook.xml fails its CRC check" in rejection(wrong_crc(filled))


def test_the_reader_is_given_a_clean_zip_of_exactly_the_verified_parts(filled: bytes) -> None:
    checked = check_workbook(filled, LIMITS)
    with zipfile.ZipFile(io.BytesIO(checked.clean_zip)) as clean:
        assert {info.filename: clean.read(info) for info in clean.infolist()} == dict(checked.parts)
        assert {info.compress_type for info in clean.infolist()} == {zipfile.ZIP_STORED}
    with zipfile.ZipFile(io.BytesIO(filled)) as original:
        assert {name: original.read(name) for name in original.namelist()} == dict(checked.parts)


class _Unseekable(io.RawIOBase):
    """A write-only stream, so zipfile writes data descriptors as streaming writers do."""

    def __init__(self) -> None:
        self.written = bytearray()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        self.written += data
        return len(data)


def test_a_workbook_written_with_data_descriptors_is_accepted(filled: bytes, bank: Bank) -> None:
    with zipfile.ZipFile(io.BytesIO(filled)) as original:
        parts = {name: original.read(name) for name in original.namelist()}
    sink = _Unseekable()
    with zipfile.ZipFile(sink, "w", zipfile.ZIP_DEFLATED) as streamed:
        for name, content in parts.items():
            with streamed.open(name, "w") as member:
                member.write(content)
    data = bytes(sink.written)
    with zipfile.ZipFile(io.BytesIO(data)) as written:
        assert all(info.flag_bits & 0x08 for info in written.infolist())
    assert dict(check_workbook(data, LIMITS).parts) == parts
    assert parse_workbook(data, bank, LIMITS).submissions


def test_a_data_descriptor_disagreeing_with_the_central_directory_is_refused(filled: bytes) -> None:
    sink = _Unseekable()
    with zipfile.ZipFile(io.BytesIO(filled)) as original, zipfile.ZipFile(sink, "w") as streamed:
        for name in original.namelist():
            with streamed.open(name, "w") as member:
                member.write(original.read(name))
    data = bytearray(sink.written)
    descriptor = data.index(b"PK\x07\x08")
    data[descriptor + 4] ^= 0xFF  # the first descriptor's CRC
    assert "data descriptor of the workbook part" in rejection(bytes(data))


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_damaged_hostile_archives_never_raise_anything_but_a_rejection(data: st.DataObject) -> None:
    original = bytearray(_HOSTILE[data.draw(st.integers(0, len(_HOSTILE) - 1))])
    for _ in range(data.draw(st.integers(1, 8))):
        # Bias towards the records at either end, where the headers are.
        position = data.draw(
            st.one_of(st.integers(0, 200), st.integers(len(original) - 400, len(original) - 1))
        )
        original[position] = data.draw(st.integers(0, 255))
    try:
        check_workbook(bytes(original), LIMITS)
    except WorkbookRejected as rejected:
        assert rejected.message  # noqa: PT017 - the property is about which exception type escapes


def _hostile_set() -> list[bytes]:
    base = template_workbook(load_bank(), {"py-decorator-wraps": "B"}, {"identity": 3})
    return [far_cell_behind_short_headers(base), local_header_disagreeing(base), base]


_HOSTILE = _hostile_set()


def _with_sheet_text(workbook: bytes, text: bytes) -> bytes:
    """The workbook with ``text`` added just inside its first sheet's root element."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(workbook)) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            content = source.read(info)
            if info.filename == "xl/worksheets/sheet1.xml":
                root_end = content.index(b">", content.index(b"<worksheet")) + 1
                content = content[:root_end] + text + content[root_end:]
            target.writestr(info.filename, content)
    return out.getvalue()


@pytest.mark.parametrize(
    ("text", "refused"),
    [
        (b"<!DOCTYPE x>", True),
        (b"<!doctype x>", True),
        (b"<!EnTiTy x 'y'>", True),
        (b"Wow! " * 300 + b"<!ENTITY x 'y'>", True),  # past the first few exclamation marks
        (b"Wow! " * 300 + b"<!-- fine -->", False),
        (b"<! DOCTYPE x>", False),
    ],
    ids=[
        "doctype",
        "lowercase",
        "entity-any-case",
        "after-many-bangs",
        "many-bangs-no-dtd",
        "not-a-declaration",
    ],
)
def test_a_dtd_is_found_wherever_it_stands_in_a_part(filled: bytes, text: bytes, refused: bool) -> None:
    data = _with_sheet_text(filled, text)
    if refused:
        assert "xl/worksheets/sheet1.xml declares a DTD or entities" in rejection(data)
    else:
        assert check_workbook(data, LIMITS).parts
