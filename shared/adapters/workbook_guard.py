"""The gate every uploaded workbook passes before any reader sees it: zip, XML and size guards.

A zip member's sizes and CRC are claims, made twice (local header and central directory) and
trusted by different readers in different ways: Python's ``zipfile`` stops at the declared size,
calamine inflates the whole stream. So nothing declared is trusted here. Every member is inflated
once, with the inflater never allowed to produce more than the declared size (itself bounded by
the limits) plus one byte; its real size and CRC must equal both headers (and the data descriptor,
if any). The reader is then handed those verified bytes, and calamine only clean zips rebuilt
from them, never the upload itself. Every refusal is a :class:`~shared.errors.WorkbookRejected`
naming the part and the setting involved.
"""

from __future__ import annotations

import io
import re
import struct
import zipfile
import zlib
from collections.abc import Mapping
from dataclasses import dataclass

from shared.errors import WorkbookRejected
from shared.settings import ParseLimits

_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_ZIP_MAGIC = b"PK\x03\x04"
_EXPECTED = "expected an Excel workbook (.xlsx)"
# Small parts compress well legitimately; the ratio limit guards the big ones.
_RATIO_CHECK_FROM_BYTES = 1024 * 1024
_DTD = re.compile(rb"<!(?:DOCTYPE|ENTITY)", re.I)
# Where a DTD could start: "<!" is rare in workbook XML, "!" rarer still, so it is what is searched
# for, one at a time for the first few.
_BANGS_ONE_BY_ONE = 64
_XML_SUFFIXES = (".xml", ".rels", ".vml")
# Local file header: signature, version, flags, method, time, date, CRC, sizes, name and extra lengths.
_LOCAL_HEADER = struct.Struct("<4sHHHHHIIIHH")
_DESCRIPTOR_SIGNATURE = b"PK\x07\x08"
_ZIP64_EXTRA = 0x0001
_UNKNOWN_32 = 0xFFFFFFFF
_ENCRYPTED = 0x0001 | 0x0040
_HAS_DESCRIPTOR = 0x0008
_UTF8_NAME = 0x0800
_STORED, _DEFLATED = zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED
# What zipfile raises on a damaged central directory (NotImplementedError: an unknown zip version).
_UNREADABLE_ZIP = (zipfile.BadZipFile, ValueError, OSError, EOFError, NotImplementedError, struct.error)
_TAMPERED = "refused as a damaged or tampered file; save it again as .xlsx from a spreadsheet application"


@dataclass(frozen=True, slots=True)
class CheckedWorkbook:
    """An upload that passed the guards: its verified parts, from which clean zips are built."""

    parts: Mapping[str, bytes]

    @property
    def clean_zip(self) -> bytes:
        """A clean zip of exactly the verified parts, for a reader."""
        return self.rebuilt({})

    def rebuilt(self, replacing: Mapping[str, bytes | None]) -> bytes:
        """A clean zip of the verified parts, some replaced (None leaves one out), for a reader."""
        parts = {name: replacing.get(name, content) for name, content in self.parts.items()}
        return _rebuilt({name: content for name, content in parts.items() if content is not None})


@dataclass(frozen=True, slots=True)
class _Claims:
    """What one header says about a member's data."""

    crc: int
    compressed: int
    size: int


def check_workbook(data: bytes, limits: ParseLimits) -> CheckedWorkbook:
    """Verify an upload part by part and rebuild it; :class:`WorkbookRejected` with a located reason."""
    _check_file(data, limits)
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except _UNREADABLE_ZIP as err:
        raise WorkbookRejected(f"the file is a damaged zip archive: {_EXPECTED}") from err
    with archive:
        infos = archive.infolist()
    _check_declared_sizes(infos, limits)
    if "xl/workbook.xml" not in {info.filename for info in infos}:
        raise WorkbookRejected(f"the zip archive holds no Excel workbook (no xl/workbook.xml): {_EXPECTED}")
    _check_layout(infos)
    parts: dict[str, bytes] = {}
    for info in infos:
        content = _verified_content(data, info)
        if info.filename.endswith(_XML_SUFFIXES) and _declares_dtd(content):
            raise WorkbookRejected(
                f"the workbook part {info.filename} declares a DTD or entities, which workbooks never "
                "need; refused as a possible XML bomb"
            )
        parts[info.filename] = content
    return CheckedWorkbook(parts=parts)


def _check_file(data: bytes, limits: ParseLimits) -> None:
    """The whole file: not empty, within the upload limit, and a zip rather than .xls or text."""
    if not data:
        raise WorkbookRejected(f"the file is empty (0 bytes): {_EXPECTED}")
    if len(data) > limits.max_upload_bytes:
        raise WorkbookRejected(
            f"the file is {len(data):,} bytes, over the limit of {limits.max_upload_bytes:,} bytes "
            "(setting READYCHECK_MAX_UPLOAD_BYTES)"
        )
    if data.startswith(_OLE_MAGIC):
        raise WorkbookRejected(
            "this is a legacy .xls workbook or a password-protected file: open it in Excel and "
            f"save it as 'Excel Workbook (.xlsx)' without a password; {_EXPECTED}"
        )
    if not data.startswith(_ZIP_MAGIC):
        if _looks_like_text(data):
            raise WorkbookRejected(
                f"this is a text file (CSV or similar), not a workbook, even if named .xlsx: {_EXPECTED}; "
                "open it in a spreadsheet application and save it as .xlsx"
            )
        raise WorkbookRejected(f"the file is not a workbook: {_EXPECTED}")


def _looks_like_text(data: bytes) -> bool:
    sample = data[:4096]
    try:
        sample.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return b"\x00" not in sample


def _check_declared_sizes(infos: list[zipfile.ZipInfo], limits: ParseLimits) -> None:
    """Zip-bomb guards on what the archive declares, before anything is inflated.

    Declared sizes are claims; :func:`_verified_content` then makes them binding by refusing any
    member whose real size differs, so these limits hold for what is actually inflated.
    """
    if len(infos) > limits.max_zip_entries:
        raise WorkbookRejected(
            f"the workbook has {len(infos):,} zip entries, over the limit of {limits.max_zip_entries:,} "
            "(setting READYCHECK_MAX_ZIP_ENTRIES)"
        )
    total = sum(info.file_size for info in infos)
    if total > limits.max_uncompressed_bytes:
        raise WorkbookRejected(
            f"the workbook unpacks to {total:,} bytes, over the limit of {limits.max_uncompressed_bytes:,} "
            "(setting READYCHECK_MAX_UNCOMPRESSED_BYTES)"
        )
    for info in infos:
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size >= _RATIO_CHECK_FROM_BYTES and ratio > limits.max_compression_ratio:
            raise WorkbookRejected(
                f"the workbook part {info.filename} is compressed {ratio:,.0f}:1, over the limit of "
                f"{limits.max_compression_ratio}:1 (setting READYCHECK_MAX_COMPRESSION_RATIO); "
                "this looks like a zip bomb"
            )


def _check_layout(infos: list[zipfile.ZipInfo]) -> None:
    """One entry per name, no encryption, and only the compression methods workbooks use."""
    seen: set[str] = set()
    for info in infos:
        if info.filename in seen:
            raise WorkbookRejected(f"the zip archive lists the part {info.filename} twice; {_TAMPERED}")
        seen.add(info.filename)
        if info.flag_bits & _ENCRYPTED:
            raise WorkbookRejected(
                f"the workbook part {info.filename} is encrypted: remove the password and save it as .xlsx"
            )
        if info.compress_type not in (_STORED, _DEFLATED):
            raise WorkbookRejected(
                f"the workbook part {info.filename} uses zip compression method {info.compress_type}, "
                f"which workbooks never use; {_TAMPERED}"
            )


def _verified_content(data: bytes, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes, inflated at most to its declared size, matching every header's size and CRC."""
    name = info.filename
    central = _Claims(info.CRC, info.compress_size, info.file_size)
    start, local = _local_header(data, info)
    end = start + central.compressed
    if end > len(data):
        raise WorkbookRejected(f"the workbook part {name} runs past the end of the file; {_TAMPERED}")
    if info.flag_bits & _HAS_DESCRIPTOR:
        _check_agrees(name, "data descriptor", _descriptor(data, end, central), central)
        # Writers that stream leave local header fields zero; any field they did fill in must agree.
        written = _Claims(
            local.crc or central.crc, local.compressed or central.compressed, local.size or central.size
        )
        _check_agrees(name, "local header", written, central)
    else:
        _check_agrees(name, "local header", local, central)
    # The hard cap on real size: the inflater never produces more than the declared size plus one
    # byte, and the declared sizes together passed the limits, so what is inflated stays within them.
    stream = memoryview(data)[start:end]
    content = bytes(stream) if info.compress_type == _STORED else _inflate(name, stream, central.size)
    if len(content) > central.size:
        raise WorkbookRejected(
            f"the workbook part {name} inflates past the {central.size:,} bytes its zip headers declare, "
            "like a zip bomb (limits READYCHECK_MAX_UNCOMPRESSED_BYTES, READYCHECK_MAX_COMPRESSION_RATIO); "
            f"{_TAMPERED}"
        )
    if len(content) < central.size:
        raise WorkbookRejected(
            f"the workbook part {name} holds {len(content):,} bytes, not the {central.size:,} its zip "
            f"headers declare; {_TAMPERED}"
        )
    if zlib.crc32(content) != central.crc:
        raise WorkbookRejected(
            f"the workbook part {name} fails its CRC check (its bytes are not the ones its zip headers "
            f"describe); {_TAMPERED}"
        )
    return content


def _local_header(data: bytes, info: zipfile.ZipInfo) -> tuple[int, _Claims]:
    """Where a member's data starts and what its local header claims, checked against the central entry."""
    offset = info.header_offset
    if offset < 0:
        raise WorkbookRejected(f"the workbook part {info.filename} has no local header; {_TAMPERED}")
    try:
        signature, _, flags, method, _, _, crc, compressed, size, name_length, extra_length = (
            _LOCAL_HEADER.unpack_from(data, offset)
        )
    except struct.error as err:
        raise WorkbookRejected(f"the workbook part {info.filename} has no local header; {_TAMPERED}") from err
    name_start = offset + _LOCAL_HEADER.size
    raw_name = data[name_start : name_start + name_length]
    extra = data[name_start + name_length : name_start + name_length + extra_length]
    encoding = "utf-8" if flags & _UTF8_NAME else "cp437"
    if (
        signature != _ZIP_MAGIC
        or raw_name.decode(encoding, errors="replace") != info.orig_filename
        or method != info.compress_type
        or (flags & _ENCRYPTED)
    ):
        raise WorkbookRejected(
            f"the local header of the workbook part {info.filename} disagrees with the zip archive's "
            f"central directory (name, compression or encryption); {_TAMPERED}"
        )
    if _UNKNOWN_32 in (compressed, size):
        size, compressed = _zip64_sizes(extra, size, compressed)
    return name_start + name_length + extra_length, _Claims(crc, compressed, size)


def _zip64_sizes(extra: bytes, size: int, compressed: int) -> tuple[int, int]:
    """The 64-bit sizes of a local header's Zip64 extra field (the header's own when absent)."""
    position = 0
    while position + 4 <= len(extra):
        kind, length = struct.unpack_from("<HH", extra, position)
        if kind == _ZIP64_EXTRA and length >= 16 and position + 20 <= len(extra):
            wide_size, wide_compressed = struct.unpack_from("<QQ", extra, position + 4)
            return int(wide_size), int(wide_compressed)
        position += 4 + length
    return size, compressed


def _descriptor(data: bytes, end: int, central: _Claims) -> _Claims:
    """The data descriptor after a member's data: signature optional, sizes of 32 or (Zip64) 64 bits."""
    start = end + 4 if data[end : end + 4] == _DESCRIPTOR_SIGNATURE else end
    forms = [
        _Claims(*struct.unpack_from(layout, data, start))
        for layout in ("<III", "<IQQ")
        if start + struct.calcsize(layout) <= len(data)
    ]
    if not forms:
        return _Claims(0, 0, 0)
    return next((claims for claims in forms if claims == central), forms[0])


def _check_agrees(name: str, where: str, claims: _Claims, central: _Claims) -> None:
    if claims != central:
        raise WorkbookRejected(
            f"the {where} of the workbook part {name} claims {claims.size:,} bytes (CRC {claims.crc:08x}) "
            f"where the central directory claims {central.size:,} bytes (CRC {central.crc:08x}); {_TAMPERED}"
        )


def _inflate(name: str, stream: memoryview, cap: int) -> bytes:
    """Inflate a raw deflate stream to at most ``cap + 1`` bytes; the stream must end exactly at its end."""
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    try:
        content = inflater.decompress(stream, cap + 1)
    except zlib.error as err:
        raise WorkbookRejected(
            f"the workbook part {name} holds damaged compressed data; {_TAMPERED}"
        ) from err
    if len(content) > cap:
        return content  # the caller names the limit that was crossed
    if not inflater.eof or inflater.unused_data:
        raise WorkbookRejected(
            f"the compressed data of the workbook part {name} does not end where its zip headers say; "
            f"{_TAMPERED}"
        )
    return content


def _declares_dtd(content: bytes) -> bool:
    """Whether ``<!DOCTYPE`` or ``<!ENTITY`` (in any case) occurs anywhere in the part.

    The rule of one case-insensitive regular expression over the whole part, but the scan is for
    "!", which memchr finds at memory speed, rather than for "<", which sheet XML is full of.
    """
    bang = content.find(b"!")
    for _ in range(_BANGS_ONE_BY_ONE):
        if bang < 0:
            return False
        if bang > 0 and _DTD.match(content, bang - 1):
            return True
        bang = content.find(b"!", bang + 1)
    # Text full of exclamation marks: the rest searched as before, with the expression itself.
    return bang >= 0 and _DTD.search(content, max(bang - 1, 0)) is not None


def _rebuilt(parts: Mapping[str, bytes]) -> bytes:
    """A clean zip of the verified parts, stored uncompressed, so a reader sees exactly these bytes."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for name, content in parts.items():
            archive.writestr(zipfile.ZipInfo(name), content)
    return out.getvalue()
