"""An uploaded workbook to submissions: the guarded reader, then the core's answer-sheet rules."""

from __future__ import annotations

import hashlib
import struct
import zipfile
import zlib

from shared.bank import Bank
from shared.errors import WorkbookRejected
from shared.settings import ParseLimits
from shared.submission import ParseResult

# What a damaged or hostile container can make zipfile, zlib, XML parsing and calamine raise.
_CONTAINER_ERRORS: tuple[type[Exception], ...] = (
    zipfile.BadZipFile,
    zipfile.LargeZipFile,
    zlib.error,
    struct.error,
    EOFError,
    OSError,
    NotImplementedError,  # an unsupported compression method
    RuntimeError,  # an encrypted zip entry
    ValueError,
    KeyError,
    SyntaxError,  # xml.etree's ParseError
)


def parse_workbook(data: bytes, bank: Bank, limits: ParseLimits, *, source_name: str = "") -> ParseResult:
    """Parse an uploaded workbook into submissions and located problems, or raise WorkbookRejected."""
    import fastexcel

    from shared.adapters.workbook_reader import read_sheets
    from shared.answer_sheets import parse_sheets

    label = f"{source_name}: " if source_name else ""
    unreadable: tuple[type[Exception], ...] = (*_CONTAINER_ERRORS, fastexcel.FastExcelError)
    try:
        sheets, problems = read_sheets(data, limits)
        result = parse_sheets(sheets, bank, content_hash=hashlib.sha256(data).hexdigest())
    except WorkbookRejected as rejected:
        raise WorkbookRejected(f"{label}{rejected.message}", rejected.problems) from rejected
    except unreadable as err:
        raise WorkbookRejected(
            f"{label}the file could not be read as an .xlsx workbook ({type(err).__name__}): "
            "open it in a spreadsheet application and save it again as .xlsx"
        ) from err
    if not problems:
        return result
    return result.model_copy(update={"problems": (*problems, *result.problems)})
