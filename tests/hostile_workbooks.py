"""Hostile workbooks built in memory: zip members whose headers lie about what their data inflates to.

``zipfile`` cannot write a lie, so these archives are assembled here from their records: local
headers, data, central directory, end record. Each helper starts from a real workbook, so everything
but the one lie is what a spreadsheet application wrote.
"""

from __future__ import annotations

import io
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, replace

MB = 1024 * 1024
FAR_ROW = b'<row r="1048576"><c r="XFD1048576"><v>1</v></c></row>'


@dataclass(frozen=True)
class Member:
    """One zip member as written: its stored (compressed) data and what each header claims."""

    name: str
    data: bytes
    crc: int
    size: int
    method: int = zipfile.ZIP_DEFLATED
    local_crc: int | None = None  # None: the local header claims what the central directory claims
    local_size: int | None = None


def members_of(workbook: bytes) -> list[Member]:
    """The members of a real workbook, re-deflated, with honest headers."""
    with zipfile.ZipFile(io.BytesIO(workbook)) as archive:
        parts = {name: archive.read(name) for name in archive.namelist()}
    return [
        Member(name, deflated(content), zlib.crc32(content), len(content)) for name, content in parts.items()
    ]


def deflated(content: bytes, spaces_after: int = 0) -> bytes:
    """A raw deflate stream of ``content`` followed by ``spaces_after`` spaces (in whole MB).

    After a full flush the compressor starts afresh, so one compressed megabyte of spaces can be
    repeated: a 1 GB stream costs a millisecond to build and about 1 MB to store.
    """
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    stream = [packer.compress(content), packer.flush(zlib.Z_FULL_FLUSH)]
    if spaces_after:
        megabyte = packer.compress(b" " * MB) + packer.flush(zlib.Z_FULL_FLUSH)
        stream.append(megabyte * (spaces_after // MB))
    stream.append(packer.flush())
    return b"".join(stream)


def assembled(members: list[Member]) -> bytes:
    """A zip archive of exactly these records, lies included."""
    out = io.BytesIO()
    central = []
    for member in members:
        name = member.name.encode()
        local_crc = member.crc if member.local_crc is None else member.local_crc
        local_size = member.size if member.local_size is None else member.local_size
        offset = out.tell()
        out.write(
            struct.pack(
                "<4sHHHHHIIIHH",
                b"PK\x03\x04",
                20,
                0,
                member.method,
                0,
                0x21,
                local_crc,
                len(member.data),
                local_size,
                len(name),
                0,
            )
        )
        out.write(name + member.data)
        central.append(
            struct.pack(
                "<4sHHHHHHIIIHHHHHII",
                b"PK\x01\x02",
                20,
                20,
                0,
                member.method,
                0,
                0x21,
                member.crc,
                len(member.data),
                member.size,
                len(name),
                0,
                0,
                0,
                0,
                0,
                offset,
            )
            + name
        )
    start = out.tell()
    directory = b"".join(central)
    out.write(directory)
    out.write(
        struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, len(members), len(members), len(directory), start, 0)
    )
    return out.getvalue()


def _with_member(workbook: bytes, name: str, change: Callable[[Member, bytes], Member]) -> bytes:
    with zipfile.ZipFile(io.BytesIO(workbook)) as archive:
        content = archive.read(name)
    return assembled([change(m, content) if m.name == name else m for m in members_of(workbook)])


def far_cell_behind_short_headers(workbook: bytes, sheet: str = "xl/worksheets/sheet1.xml") -> bytes:
    """A cell at XFD1048576 past the size both headers declare; they carry the CRC of the short prefix.

    ``zipfile`` reads the declared prefix and its CRC matches; a reader that inflates the whole
    stream meets the far cell and allocates the whole sheet range (about 512 GB).
    """

    def lie(member: Member, content: bytes) -> Member:
        full = content.replace(b"</sheetData>", FAR_ROW + b"</sheetData>")
        prefix = full[: full.index(FAR_ROW)]
        return replace(member, data=deflated(full), crc=zlib.crc32(prefix), size=len(prefix))

    return _with_member(workbook, sheet, lie)


def spaces_beyond_declared_size(
    workbook: bytes, inflated_mb: int, sheet: str = "xl/worksheets/sheet1.xml"
) -> bytes:
    """A sheet whose stream goes on with ``inflated_mb`` MB of spaces that no header declares."""

    def lie(member: Member, content: bytes) -> Member:
        return replace(member, data=deflated(content, spaces_after=inflated_mb * MB))

    return _with_member(workbook, sheet, lie)


def local_header_disagreeing(workbook: bytes, name: str = "xl/workbook.xml") -> bytes:
    """A member whose local header claims another size and CRC than the central directory."""

    def lie(member: Member, content: bytes) -> Member:
        return replace(member, local_size=member.size + 7, local_crc=zlib.crc32(content + b"<!-- -->"))

    return _with_member(workbook, name, lie)


def wrong_crc(workbook: bytes, name: str = "xl/workbook.xml") -> bytes:
    """A member whose data is intact but whose headers (both) carry another CRC."""
    return _with_member(workbook, name, lambda member, _: replace(member, crc=member.crc ^ 1))
