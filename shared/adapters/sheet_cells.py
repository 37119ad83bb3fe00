"""Plain sheet XML read in bulk: every tag found in a few vectorised passes, strings taken straight to Arrow.

Calamine (through fastexcel) builds a Rust value and then a string for every cell, one at a time,
after parsing the whole shared-strings table. Sheets as Excel, Microsoft Forms and most exporters
write them have a plain form: ``<row r="7">`` elements of ``<c r="B7" s="1" t="s">`` cells, each
holding one ``<v>`` or one inline ``<is><t>``. For that form this module finds every tag of the
verified XML at once (NumPy over the bytes), checks their sequence against the few shapes the form
allows, and reads shared and inline strings into Arrow, decoding the XML as calamine does. The other
valued cells (numbers, dates, booleans, errors) are still converted by calamine, each distinct
(style, type, text) once, from a one-column sheet of just those cells (:func:`mini_sheet`), so their
text is calamine's by construction. XML outside the plain form raises :class:`NotPlain`, and the
workbook is then read by calamine whole.

``tests/unit/test_plain_sheets.py`` pins what this reads to what calamine reads.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from shared.adapters.sheet_extent import column_letter

if TYPE_CHECKING:
    import pyarrow as pa
    from numpy.typing import NDArray
    from pandas import DataFrame

    Ints = NDArray[np.signedinteger[Any]]
    Flags = NDArray[np.bool_]
    Bytes = NDArray[np.uint8]


class NotPlain(Exception):
    """The XML is outside the plain form this module reads: calamine reads the workbook instead."""


class TooManyCells(Exception):
    """A sheet has more cell elements than its reader may hold (its range may be small: cells can repeat)."""

    def __init__(self, count: int) -> None:
        super().__init__(f"{count:,} cell elements")
        self.count = count


# Token kinds: what follows each "<" of the region read.
(
    _ROW,
    _ROW_SELF,
    _ROW_END,
    _CELL,
    _CELL_SELF,
    _CELL_END,
    _V,
    _V_END,
    _IS,
    _IS_END,
    _T,
    _T_KEPT,
    _T_END,
    _SI,
    _SI_SELF,
    _SI_END,
    _OTHER,
    _START,
    _STOP,
) = range(19)
_KINDS = 19
# Each kind's tag as it must be spelled (cell and row tags only up to their reference).
_TAGS: dict[int, bytes] = {
    _ROW: b'<row r="',
    _ROW_END: b"</row>",
    _CELL: b'<c r="',
    _CELL_END: b"</c>",
    _V: b"<v>",
    _V_END: b"</v>",
    _IS: b"<is>",
    _IS_END: b"</is>",
    _T: b"<t>",
    _T_KEPT: b'<t xml:space="preserve">',
    _T_END: b"</t>",
    _SI: b"<si>",
    _SI_SELF: b"<si/>",
    _SI_END: b"</si>",
}
# Which kinds may follow which, in a sheet's <sheetData> and in the shared-strings table.
_SHEET_GRAMMAR = {
    _START: (_ROW, _ROW_SELF, _STOP),
    _ROW: (_CELL, _CELL_SELF, _ROW_END),
    _ROW_SELF: (_ROW, _ROW_SELF, _STOP),
    _ROW_END: (_ROW, _ROW_SELF, _STOP),
    _CELL: (_V, _IS, _CELL_END),
    _CELL_SELF: (_CELL, _CELL_SELF, _ROW_END),
    _CELL_END: (_CELL, _CELL_SELF, _ROW_END),
    _V: (_V_END,),
    _V_END: (_CELL_END,),
    _IS: (_T, _T_KEPT, _IS_END),
    _T: (_T_END,),
    _T_KEPT: (_T_END,),
    _T_END: (_IS_END,),
    _IS_END: (_CELL_END,),
}
_STRINGS_GRAMMAR = {
    _START: (_SI, _SI_SELF, _STOP),
    _SI: (_T, _T_KEPT, _SI_END),
    _SI_SELF: (_SI, _SI_SELF, _STOP),
    _SI_END: (_SI, _SI_SELF, _STOP),
    _T: (_T_END,),
    _T_KEPT: (_T_END,),
    _T_END: (_SI_END,),
}

# Cell types (the ``t`` attribute) as calamine tells them apart.
_NO_TYPE, _SHARED, _NUMBER, _BOOL, _ERROR, _DATE, _FORMULA_TEXT, _INLINE, _IS_TYPE = range(9)
_TYPE_NAMES = {
    _SHARED: b"s",
    _NUMBER: b"n",
    _BOOL: b"b",
    _ERROR: b"e",
    _DATE: b"d",
    _FORMULA_TEXT: b"str",
    _INLINE: b"inlineStr",
    _IS_TYPE: b"is",
}
_TYPE_CODES = 9
_STYLE_CODES = 100_001  # style indices of up to 5 digits, and "none"

_SPACES = b" \t\n\r"
# What may precede the first cell: an XML declaration and tags without prefixes, "<" or ">" inside.
_SHEET_PROLOG = re.compile(
    rb"(?:\xef\xbb\xbf)?(?:<\?xml(?P<declaration>[^<>]*)\?>)?"
    rb"(?P<tags>(?>\s*</?(?!sheetData\b)[A-Za-z][A-Za-z0-9]*(?:\s[^<>]*|/)?>)*)\s*<sheetData>"
)
_STRINGS_PROLOG = re.compile(
    rb"(?:\xef\xbb\xbf)?(?:<\?xml(?P<declaration>[^<>]*)\?>)?\s*<sst(?P<attributes>\s[^<>]*)?>"
)
_ENCODING = re.compile(rb"""\bencoding\s*=\s*["']([^"']*)["']""")
_DIMENSION_TAG = re.compile(rb"<dimension\b[^<>]*>")
_PLAIN_DIMENSION = re.compile(rb'<dimension ref="[A-Z]{1,3}[0-9]{1,7}(?::[A-Z]{1,3}[0-9]{1,7})?"\s*/?>')
_ENTITIES = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
_ENTITY = re.compile(r"&(lt|gt|amp|quot|apos);")
_STRAY_AMPERSAND = re.compile(r"&(?!(?:lt|gt|amp|quot|apos);)")
# Excel's escape of a character as _x00HH_, as calamine's unescape_xml reads it (u8 hex, "+" allowed).
_EXCEL_ESCAPE = re.compile(r"_x00(\+[0-9A-Fa-f]|[0-9A-Fa-f]{2})_")
# Tokens and cells are read this many at a time, so the scratch arrays stay small (and reused).
# Large Arrow buffers come from the C heap (pa.system_memory_pool()), where the NumPy scratch was
# freed: one high-water mark for both, rather than one per allocator.
_CHUNK = 1 << 16
# The fewest bytes a tag of plain XML takes, on average over a part.
_BYTES_PER_TAG = 3
# Texts decoded one by one (entities, line ends, Excel escapes) beyond this many are left to calamine.
_MOST_DECODED = 10_000
# A row tag's attributes are read within this many bytes; a longer tag is left to calamine.
_ROW_TAG_WINDOW = 192


@dataclass(frozen=True, slots=True)
class Texts:
    """Strings as Arrow string views: 16 bytes each, the length then the bytes, or a buffer and offset.

    Strings of the XML are pointed at where they stand, so each is copied once: when a sheet's
    cells are taken into its frame.
    """

    views: NDArray[np.int32]  # (count, 4): length, prefix or inline bytes, buffer, offset
    buffers: tuple[pa.Buffer, ...]
    valid: Flags | None = None  # None: no string is missing

    def __len__(self) -> int:
        return len(self.views)

    @staticmethod
    def of(strings: pa.Array) -> Texts:
        """The strings of an Arrow string array (nulls kept as missing)."""
        import pyarrow as pa
        import pyarrow.compute as pc

        valid = pc.is_valid(strings).to_numpy(zero_copy_only=False) if strings.null_count else None
        pool = pa.system_memory_pool()
        viewed = pc.coalesce(strings, "", memory_pool=pool).cast(pa.string_view(), memory_pool=pool)
        buffers = viewed.buffers()
        views = np.frombuffer(buffers[1], dtype=np.int32).reshape(-1, 4)[
            viewed.offset : viewed.offset + len(viewed)
        ]
        return Texts(views, tuple(buffers[2:]), valid)

    @staticmethod
    def joined(parts: list[Texts]) -> Texts:
        """All the strings of ``parts``, in turn."""
        views: list[NDArray[np.int32]] = []
        buffers: list[pa.Buffer] = []
        valid: list[Flags] = []
        for part in parts:
            shifted = part.views.copy()
            shifted[part.views[:, 0] > 12, 2] += len(buffers)
            views.append(shifted)
            buffers.extend(part.buffers)
            valid.append(np.ones(len(part), dtype=bool) if part.valid is None else part.valid)
        return Texts(np.concatenate(views), tuple(buffers), np.concatenate(valid))

    def replaced(self, rows: Ints, strings: list[str]) -> Texts:
        """These strings, with those at ``rows`` replaced."""
        import pyarrow as pa

        other = Texts.joined(
            [Texts(np.zeros((0, 4), dtype=np.int32), self.buffers), Texts.of(pa.array(strings, pa.string()))]
        )
        views = self.views.copy()
        views[rows] = other.views
        return Texts(views, other.buffers, self.valid)

    def array(self) -> pa.Array:
        """The strings as an Arrow string-view array."""
        import pyarrow as pa

        validity = None if self.valid is None else pa.py_buffer(np.packbits(self.valid, bitorder="little"))
        return pa.Array.from_buffers(
            pa.string_view(), len(self), [validity, pa.py_buffer(self.views), *self.buffers]
        )

    def take(self, indices: Ints) -> pa.Array:
        """The strings at ``indices`` (-1: missing), as one Arrow string array."""
        import pyarrow as pa

        present = indices >= 0
        if not len(self):
            return pa.nulls(len(indices), pa.string())
        # A missing one takes the first view: any view will do under a null.
        at = np.maximum(indices, 0)
        if self.valid is not None:
            present &= np.take(self.valid, at)
        taken = Texts(np.take(self.views, at, axis=0), self.buffers, present)
        strings: pa.Array = taken.array().cast(pa.string(), memory_pool=pa.system_memory_pool())
        return strings


@dataclass(frozen=True, slots=True)
class PlainSheet:
    """The cells of one plain sheet: where each valued one is, and where its text comes from.

    ``source`` indexes one pool of texts: the shared strings, then this sheet's inline strings, then
    the texts of its other valued cells by group: :attr:`numbers` where not null, else the text
    calamine gives the group's cell in :attr:`mini_cells`, in turn.
    """

    span: tuple[int, int, int, int]  # first and last row, first and last column of every cell and row tag
    rows: Ints  # 1-based sheet row of each valued cell
    columns: Ints  # 1-based column of each valued cell
    source: Ints
    inline: Texts
    numbers: pa.Array
    mini_cells: bytes  # one row element per null of ``numbers``, from row 2 on

    @property
    def mini_count(self) -> int:
        """How many cells :attr:`mini_cells` holds."""
        nulls: int = self.numbers.null_count
        return nulls

    def frame(self, shared: Texts, converted: pa.Array) -> DataFrame:
        """The sheet as fastexcel gives it, given the texts calamine converted from :attr:`mini_cells`."""
        import pandas as pd
        import pyarrow as pa
        import pyarrow.compute as pc

        first_row, first_col = int(self.rows.min()), int(self.columns.min())
        height = int(self.rows.max()) - first_row + 1
        width = int(self.columns.max()) - first_col + 1
        # Column-major, so each column is a slice.
        place = (self.columns - first_col).astype(np.int64) * height + (self.rows - first_row)
        grid = np.full(height * width, -1, dtype=np.int32)
        grid[place] = np.arange(len(place), dtype=np.int32)
        if not np.array_equal(grid[place], np.arange(len(place), dtype=np.int32)):
            # Cells sharing a place: the later one wins, as calamine writes them in turn.
            grid[place] = -1
            _, last = np.unique(place[::-1], return_index=True)
            place = place[len(place) - 1 - last]
            grid[place] = self.source[len(self.source) - 1 - last]
        else:
            grid[place] = self.source
        others = pc.replace_with_mask(self.numbers, pc.is_null(self.numbers), converted)
        pool = Texts.joined([shared, self.inline, Texts.of(others)])
        # A column at a time: the views taken stay one column long.
        table = pa.table(
            [pool.take(grid[n * height : (n + 1) * height]) for n in range(width)],
            names=[column_letter(first_col + n) for n in range(width)],
        )
        frame: DataFrame = table.to_pandas(types_mapper=pd.ArrowDtype)
        frame.index = pd.RangeIndex(first_row, first_row + height)
        return frame


def shared_strings(xml: bytes | None) -> Texts:
    """The shared-strings table as calamine reads it, or NotPlain."""
    if xml is None:
        return _no_texts()
    prolog = _STRINGS_PROLOG.match(xml)
    attributes = (prolog["attributes"] or b"") if prolog else b""
    if prolog is None or attributes.endswith(b"/"):
        raise NotPlain("shared strings: an unusual start")
    _check_encoding(prolog["declaration"])
    _check_quotes(attributes)
    start, stop = prolog.end(), xml.rfind(b"</sst>")
    if stop < start:
        raise NotPlain("shared strings: no end")
    data = _Bytes(xml)
    tokens = data.tokens(start, stop)
    kinds = _kinds(data, tokens, strings=True)
    _check_sequence(kinds, _STRINGS_GRAMMAR)
    items = np.flatnonzero((kinds == _SI) | (kinds == _SI_SELF))
    # An item without a <t> is an empty string (calamine, like Excel).
    following = kinds[np.minimum(items + 1, len(kinds) - 1)]
    with_text = (kinds[items] == _SI) & ((following == _T) | (following == _T_KEPT))
    return _texts_or_empty(data, tokens, items + 1, with_text, following == _T_KEPT)


def _no_texts() -> Texts:
    return Texts(np.zeros((0, 4), dtype=np.int32), ())


def _texts_or_empty(data: _Bytes, tokens: Ints, text_tokens: Ints, with_text: Flags, kept: Flags) -> Texts:
    """The text of each token where ``with_text``, else an empty string."""
    texts = _texts(data, tokens, text_tokens[with_text], kept[with_text])
    if with_text.all():
        return texts
    views = np.zeros((len(with_text), 4), dtype=np.int32)
    views[with_text] = texts.views
    return Texts(views, texts.buffers)


def read_sheet(xml: bytes, shared_count: int, max_cells: int) -> PlainSheet:
    """The cells of one worksheet in the plain form; NotPlain, or TooManyCells past ``max_cells``."""
    start, stop = _sheet_data(xml)
    data = _Bytes(xml)
    tokens = data.tokens(start, stop)
    kinds = _kinds(data, tokens)
    row_numbers = _row_tags(data, tokens, kinds)
    cell_tokens = np.flatnonzero(kinds == _CELL).astype(np.int32)
    if not len(cell_tokens):
        raise NotPlain("no cells")
    if len(cell_tokens) > max_cells:
        raise TooManyCells(len(cell_tokens))
    cells = _cell_tags(data, tokens[cell_tokens])
    kinds[cell_tokens[~cells.opened]] = _CELL_SELF
    _check_sequence(kinds, _SHEET_GRAMMAR)
    span = (
        int(min(cells.rows.min(), row_numbers.min(initial=cells.rows.min()))),
        int(max(cells.rows.max(), row_numbers.max(initial=cells.rows.max()))),
        int(cells.columns.min()),
        int(cells.columns.max()),
    )
    # What a cell holds shows in the token after its tag: <v>, <is> or the cell's end.
    next_token = np.minimum(cell_tokens + 1, len(tokens) - 1)
    after = kinds[next_token]
    has_value = cells.opened & (after == _V)
    has_inline = cells.opened & (after == _IS)
    del after
    value_start = tokens[next_token] + len(_TAGS[_V])
    # A <v> is always followed by its </v>, whose token ends the value.
    value_stop = tokens[np.minimum(next_token + 1, len(tokens) - 1)]
    del next_token
    value_length = np.where(has_value, value_stop - value_start, 0)
    kind = cells.kind
    # As calamine reads <v>: ignored in inline-string cells; no value when blank in the types read
    # as numbers or indices; a value even when blank in the others ("str", "d").
    blank_is_empty = np.isin(kind, (_NO_TYPE, _NUMBER, _SHARED, _BOOL, _ERROR))
    valued_text = has_value & ~np.isin(kind, (_INLINE, _IS_TYPE)) & (~blank_is_empty | (value_length > 0))
    del has_value, blank_is_empty
    shared = valued_text & (kind == _SHARED)
    mini = np.flatnonzero(valued_text & ~shared)
    valued = has_inline | valued_text
    del valued_text
    if not valued.any():
        raise NotPlain("no valued cell")
    source = np.full(len(cell_tokens), -1, dtype=np.int32)
    source[shared] = _shared_indices(data, value_start[shared], value_length[shared], shared_count)
    del shared, value_length
    inline_cells = np.flatnonzero(has_inline)
    inline = _inline_strings(data, tokens, kinds, cell_tokens[inline_cells])
    del tokens, kinds, cell_tokens
    source[inline_cells] = shared_count + np.arange(len(inline_cells))
    groups, numbers, mini_xml = _converted_cells(data, cells, mini, value_start[mini], value_stop[mini])
    source[mini] = shared_count + len(inline_cells) + groups
    return PlainSheet(
        span=span,
        rows=cells.rows[valued],
        columns=cells.columns[valued],
        source=source[valued],
        inline=inline,
        numbers=numbers,
        mini_cells=mini_xml,
    )


def mini_sheet(marker: str, cells: bytes) -> bytes:
    """A one-column sheet: ``marker`` in A1 (to prove calamine read this sheet), then ``cells``."""
    return (
        b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
        b'<row r="1"><c r="A1" t="inlineStr"><is><t>'
        + marker.encode()
        + b"</t></is></c></row>"
        + cells
        + b"</sheetData></worksheet>"
    )


def mini_values(batch: pa.RecordBatch, marker: str, count: int) -> pa.Array:
    """The texts calamine gave the cells of a :func:`mini_sheet`, or NotPlain if it read another sheet."""
    import pyarrow as pa

    if batch.num_columns != 1 or batch.num_rows != count + 1 or batch.column(0)[0].as_py() != marker:
        raise NotPlain("calamine read another sheet than the one written for it")
    values: pa.Array = batch.column(0).slice(1).cast(pa.string())
    return values


# ---------------------------------------------------------------- bytes and tokens


class _Bytes:
    """A part's bytes, readable a byte, an 8-byte little-endian word or a few words at any positions.

    Reads past the end see zeros, from a padded copy of just the last bytes (never of the part).
    """

    _TAIL = 256

    def __init__(self, xml: bytes) -> None:
        if len(xml) >= 2**31:
            raise NotPlain("too large for 32-bit string offsets")
        self.xml = xml
        self.array: Bytes = np.frombuffer(xml, dtype=np.uint8)
        self.last_word = len(xml) - 8  # the last position whose 8 bytes are all in the part
        self._words = _overlapping_words(xml)
        self.tail_start = max(len(xml) - self._TAIL, 0)
        self._tail_words = _overlapping_words(xml[self.tail_start :] + bytes(2 * self._TAIL))

    def tokens(self, start: int, stop: int) -> Ints:
        """Where each "<" between ``start`` and ``stop`` is: one token per tag, with the text after it.

        Plain XML spends at least 4 bytes a tag (``<si><t></t></si>``); a part with more than one
        "<" in 3 bytes is not plain, and is refused before its positions (4 bytes each) outgrow it.
        """
        return self.find_all(ord("<"), start, stop, most=(stop - start) // _BYTES_PER_TAG + 1)

    def find_all(self, byte: int, start: int, stop: int, most: int | None = None) -> Ints:
        """Where ``byte`` is between ``start`` and ``stop`` (NotPlain past ``most`` of them)."""
        # In slices, so the comparison's scratch stays small (and its pages warm) however large the part.
        step = 1 << 20
        scratch = np.empty(min(step, max(stop - start, 0)), dtype=bool)
        found = [np.zeros(0, dtype=np.int32)]
        count = 0
        for low in range(start, stop, step):
            chunk = self.array[low : min(low + step, stop)]
            flags = scratch[: len(chunk)]
            np.equal(chunk, byte, out=flags)
            found.append(np.flatnonzero(flags).astype(np.int32) + np.int32(low))
            count += len(found[-1])
            if most is not None and count > most:
                raise NotPlain("denser in tags than any plain part")
        positions: Ints = np.concatenate(found)
        return positions

    def words(self, positions: Ints) -> NDArray[np.uint64]:
        """The 8 bytes at each position, as one number (the first byte lowest)."""
        if not len(positions):
            return np.zeros(0, dtype=np.uint64)
        if positions.max() <= self.last_word:
            words: NDArray[np.uint64] = self._words[positions]
            return words
        near_end = positions > self.last_word
        words = (
            self._words[np.clip(positions, 0, max(self.last_word, 0))]
            if self.last_word >= 0
            else (np.zeros(len(positions), dtype=np.uint64))
        )
        from_tail = np.minimum(positions[near_end] - self.tail_start, len(self._tail_words) - 1)
        words[near_end] = self._tail_words[from_tail]
        return words

    def matrix(self, positions: Ints, width: int = 8) -> Bytes:
        """The ``width`` (a multiple of 8) bytes at each position, one row per position."""
        words = np.stack([self.words(positions + offset) for offset in range(0, width, 8)], axis=1)
        rows: Bytes = words.view(np.uint8).reshape(len(positions), width)
        return rows

    def starts_with(self, positions: Ints, text: bytes) -> Flags:
        """Where ``text`` (up to 8 bytes) starts at each position."""
        return _starts(self.words(positions), text)


def _overlapping_words(data: bytes) -> NDArray[np.uint64]:
    """Every position's 8 bytes as one little-endian number: a view, nothing copied."""
    view: NDArray[np.uint64] = np.ndarray((max(len(data) - 7, 0),), dtype="<u8", buffer=data, strides=(1,))
    return view


def _word(text: bytes) -> tuple[int, int]:
    """The value and mask comparing the first (up to 8) bytes of ``text`` with a word of :class:`_Bytes`."""
    head = text[:8]
    return int.from_bytes(head, "little"), (1 << (8 * len(head))) - 1


def _kind_tables() -> tuple[NDArray[np.int8], NDArray[np.uint64], NDArray[np.uint64]]:
    """The kind a token's 2nd and 3rd bytes name, and the value and mask its first 8 bytes must match."""
    by_key = np.full(1 << 16, _OTHER, dtype=np.int8)
    values = np.zeros(_KINDS, dtype=np.uint64)
    masks = np.full(_KINDS, 0xFFFF_FFFF_FFFF_FFFF, dtype=np.uint64)  # _OTHER never matches its zero value
    for kind, tag in _TAGS.items():
        if kind != _SI_SELF:  # "<si/>" shares "si" with "<si>": told apart after the lookup
            by_key[tag[1] | tag[2] << 8] = kind
        values[kind], masks[kind] = _word(tag)
    return by_key, values, masks


_KIND_BY_KEY, _KIND_VALUES, _KIND_MASKS = _kind_tables()


def _kinds(data: _Bytes, tokens: Ints, *, strings: bool = False) -> NDArray[np.int8]:
    """Each token's kind, _OTHER for any tag outside the plain form (of a sheet, or of ``strings``)."""
    kinds = np.empty(len(tokens), dtype=np.int8)
    for low in range(0, len(tokens), _CHUNK):
        kinds[low : low + _CHUNK] = _kinds_of(data, tokens[low : low + _CHUNK], strings)
    return kinds


def _kinds_of(data: _Bytes, tokens: Ints, strings: bool) -> NDArray[np.int8]:
    words = data.words(tokens)
    spelled = words.view(np.uint8).reshape(len(tokens), 8)
    key = spelled[:, 2].astype(np.uint16)
    key <<= 8
    key |= spelled[:, 1]
    kinds = np.take(_KIND_BY_KEY, key)
    if strings:
        kinds[(kinds == _SI) & (spelled[:, 3] == ord("/"))] = _SI_SELF
    expected = np.take(_KIND_MASKS, kinds)
    expected &= words
    kinds[expected != np.take(_KIND_VALUES, kinds)] = _OTHER
    kept = np.flatnonzero(kinds == _T_KEPT)
    if len(kept):
        rest = _TAGS[_T_KEPT][8:]
        spelled_out = data.starts_with(tokens[kept] + 8, rest[:8]) & data.starts_with(
            tokens[kept] + 16, rest[8:]
        )
        kinds[kept[~spelled_out]] = _OTHER
    return kinds


def _check_sequence(kinds: NDArray[np.int8], grammar: dict[int, tuple[int, ...]]) -> None:
    """Every token may follow the one before it, and the region may start and end as it does."""
    allowed = np.zeros((_KINDS, _KINDS), dtype=bool)
    for before, afters in grammar.items():
        allowed[before, list(afters)] = True
    sequence = np.concatenate(([_START], kinds, [_STOP])).astype(np.int16)
    if not np.take(allowed.ravel(), sequence[:-1] * _KINDS + sequence[1:]).all():
        raise NotPlain("a tag outside the plain form, or in an unusual order")


# ---------------------------------------------------------------- the parts of a sheet


def _sheet_data(xml: bytes) -> tuple[int, int]:
    """Where the cells start (after ``<sheetData>``) and end (at ``</sheetData>``)."""
    prolog = _SHEET_PROLOG.match(xml)
    if prolog is None:
        raise NotPlain("an unusual start of the sheet")
    _check_encoding(prolog["declaration"])
    tags = prolog["tags"]
    _check_quotes(tags)
    for dimension in _DIMENSION_TAG.finditer(tags):
        if not _PLAIN_DIMENSION.fullmatch(dimension.group(0)):
            raise NotPlain("an unusual dimension")
    # The last end tag: calamine stops at the first, and any earlier one is a tag the plain form lacks.
    start, stop = prolog.end(), xml.rfind(b"</sheetData>")
    if stop < start:
        raise NotPlain("no end of the cells")
    return start, stop


def _check_encoding(declaration: bytes | None) -> None:
    encoding = _ENCODING.search(declaration or b"")
    if encoding and encoding.group(1).lower() not in (b"utf-8", b"utf8"):
        raise NotPlain("not UTF-8")


def _check_quotes(tags: bytes) -> None:
    """Attribute values hold no ">": every tag matched up to its first ">" has its quotes paired."""
    if b"'" in tags or tags.count(b'"') % 2:
        raise NotPlain("unusual quoting")


def _row_tags(data: _Bytes, tokens: Ints, kinds: NDArray[np.int8]) -> Ints:
    """The ``r`` of each row tag, the rest of the tag checked; self-closing rows marked in ``kinds``."""
    row_tokens = np.flatnonzero(kinds == _ROW)
    start = tokens[row_tokens] + len(_TAGS[_ROW])
    numbers, digits = _number_before(data.words(start), ord('"'))
    if not ((digits > 0) & (digits < 8) & (numbers > 0)).all():
        raise NotPlain("a row without a plain reference")
    after = data.words(start + digits + 1)
    self_closing = _starts(after, b"/>")
    # Most row tags end at their reference; the others' attributes are checked in a window.
    attributed = np.flatnonzero(~(_starts(after, b">") | self_closing))
    if len(attributed):
        self_closing[attributed] = _attributes_end_row(
            data, tokens, row_tokens[attributed], start[attributed] + digits[attributed] + 1
        )
    kinds[row_tokens[self_closing]] = _ROW_SELF
    return numbers


def _attributes_end_row(data: _Bytes, tokens: Ints, row_tokens: Ints, start: Ints) -> Flags:
    """Check the attributes of row tags from just after their reference; whether each closes itself.

    Each must be plain (double quotes, no ">" inside, no second ``r``) and end within the window.
    """
    window = data.matrix(start, _ROW_TAG_WINDOW)
    rows = np.arange(len(window))
    is_end = window == ord(">")
    end = is_end.argmax(axis=1)
    token_length = np.append(tokens[1:], len(data.xml))[row_tokens] - start
    if not (is_end.any(axis=1) & (end < token_length)).all():
        raise NotPlain("a row tag too long or unclosed")
    attributes = window * (np.arange(_ROW_TAG_WINDOW)[None, :] < end[:, None])
    spaces = np.isin(attributes, np.frombuffer(_SPACES, dtype=np.uint8))
    # Another "r" attribute (any spacing) would be a reference calamine could read instead.
    second_r = (
        (attributes[:, 1:-1] == ord("r")) & spaces[:, :-2] & (spaces[:, 2:] | (attributes[:, 2:] == ord("=")))
    )
    quotes = (attributes == ord('"')).sum(axis=1)
    unusual = (quotes % 2).any() or (attributes == ord("'")).any() or second_r.any() or not spaces[:, 0].all()
    if unusual:
        raise NotPlain("an unusual row tag")
    closes: Flags = window[rows, np.maximum(end - 1, 0)] == ord("/")
    return closes


@dataclass(frozen=True, slots=True)
class _CellTags:
    rows: Ints
    columns: Ints
    style: Ints  # -1 when absent
    kind: Ints  # _NO_TYPE .. _IS_TYPE
    opened: Flags  # False for a self-closing tag


def _type_tables() -> tuple[NDArray[np.int8], dict[int, bytes]]:
    """Cell types named by one letter, by the two bytes letter and quote; the longer names apart."""
    short = np.full(1 << 16, -1, dtype=np.int8)
    longer = {}
    for code, name in _TYPE_NAMES.items():
        if len(name) == 1:
            short[name[0] | ord('"') << 8] = code
        else:
            longer[code] = name + b'"'
    return short, longer


_SHORT_TYPES, _LONGER_TYPES = _type_tables()


def _cell_tags(data: _Bytes, starts: Ints) -> _CellTags:
    """Each ``<c r="B7" s="1" t="s">`` tag: its reference, style and type (no other attribute allowed)."""
    count = len(starts)
    tags = _CellTags(
        np.empty(count, dtype=np.int32),
        np.empty(count, dtype=np.int32),
        np.empty(count, dtype=np.int32),
        np.empty(count, dtype=np.int8),
        np.empty(count, dtype=bool),
    )
    for low in range(0, count, _CHUNK):
        part = _cell_tags_of(data, starts[low : low + _CHUNK])
        for name in _CellTags.__slots__:
            getattr(tags, name)[low : low + _CHUNK] = getattr(part, name)
    return tags


def _cell_tags_of(data: _Bytes, starts: Ints) -> _CellTags:
    count = len(starts)
    at = starts + len(_TAGS[_CELL])
    head = data.words(at).view(np.uint8).reshape(count, 8)
    columns = np.zeros(count, dtype=np.int64)
    letters = np.zeros(count, dtype=np.int64)
    reading = np.ones(count, dtype=bool)
    for offset in range(3):
        letter = head[:, offset] - np.uint8(ord("A") - 1)
        reading &= (letter >= 1) & (letter <= 26)
        columns = np.where(reading, columns * 26 + letter, columns)
        letters += reading
    at += letters
    rows, digits = _number_before(data.words(at), ord('"'))
    if not ((letters > 0) & (digits > 0) & (digits < 8) & (rows > 0)).all():
        raise NotPlain("a cell without a plain reference")
    at += digits + 1
    style = np.full(count, -1, dtype=np.int64)
    styled = np.flatnonzero(_starts(data.words(at), b' s="'))
    if len(styled):
        value, length = _number_before(data.words(at[styled] + 4), ord('"'))
        if not ((length > 0) & (length < 6)).all():
            raise NotPlain("an unusual cell style")
        style[styled] = value
        at[styled] += 4 + length + 1
    kind = np.full(count, _NO_TYPE, dtype=np.int64)
    typed = np.flatnonzero(_starts(data.words(at), b' t="'))
    if len(typed):
        name = data.words(at[typed] + 4)
        short = np.take(_SHORT_TYPES, (name & np.uint64(0xFFFF)).astype(np.intp)).astype(np.int64)
        length = np.where(short >= 0, 2, 0)
        for code, quoted in _LONGER_TYPES.items():
            named = (short < 0) & _starts(name, quoted[:8])
            if len(quoted) > 8 and named.any():
                named[named] = data.starts_with(at[typed][named] + 12, quoted[8:])
            short[named] = code
            length[named] = len(quoted)
        if (short < 0).any():
            raise NotPlain("an unusual cell type")
        kind[typed] = short
        at[typed] += 4 + length
    end = data.words(at)
    opened = _starts(end, b">")
    if not (opened | _starts(end, b"/>")).all():
        raise NotPlain("a cell tag with other attributes")
    return _CellTags(
        rows.astype(np.int32), columns.astype(np.int32), style.astype(np.int32), kind.astype(np.int8), opened
    )


def _starts(words: NDArray[np.uint64], text: bytes) -> Flags:
    """Where each word starts with ``text`` (up to 8 bytes)."""
    value, mask = _word(text)
    found: Flags = (words & np.uint64(mask)) == np.uint64(value)
    return found


def _number_before(words: NDArray[np.uint64], end: int) -> tuple[Ints, Ints]:
    """The canonical decimal number each word starts with, up to the byte ``end``; and its length.

    The length is 0 when there is no such number (a non-digit before ``end``, a leading zero) and
    8 when ``end`` is not among the 8 bytes. Branch-free over all words at once: the digits are
    right-aligned, padded with "0" and combined by the classic 8-digit multiply-and-shift.
    """
    u = np.uint64
    lengths = _first_byte(words, end)
    digits = np.maximum(lengths, 1).astype(np.uint64)
    chunk = words << ((u(8) - digits) * u(8))
    chunk |= u(0x3030303030303030) & ((u(1) << ((u(8) - digits) * u(8))) - u(1))
    all_digits = ((chunk & u(0xF0F0F0F0F0F0F0F0)) == u(0x3030303030303030)) & (
        ((chunk + u(0x0606060606060606)) & u(0xF0F0F0F0F0F0F0F0)) == u(0x3030303030303030)
    )
    value = chunk - u(0x3030303030303030)
    value = value * u(10) + (value >> u(8))
    value = (
        (value & u(0x000000FF000000FF)) * u(100 + (1_000_000 << 32))
        + ((value >> u(16)) & u(0x000000FF000000FF)) * u(1 + (10_000 << 32))
    ) >> u(32)
    leading_zero = ((words & u(0xFF)) == u(ord("0"))) & (lengths > 1)
    valid = all_digits & (lengths > 0) & (lengths < 8) & ~leading_zero
    return value.astype(np.int64), np.where(valid, lengths, np.where(lengths == 8, 8, 0))


def _first_byte(words: NDArray[np.uint64], byte: int) -> Ints:
    """Per word, the index of the first byte equal to ``byte`` (8 when none is)."""
    u = np.uint64
    diff = words ^ u(byte * 0x0101010101010101)
    zero = (diff - u(0x0101010101010101)) & ~diff & u(0x8080808080808080)
    lowest = zero & (~zero + u(1))
    index: Ints = (np.bitwise_count(lowest - u(1)) // 8).astype(np.int64)
    index[zero == 0] = 8
    return index


def _shared_indices(data: _Bytes, starts: Ints, lengths: Ints, count: int) -> Ints:
    """The shared-string index each ``<v>`` of a ``t="s"`` cell holds (canonical, up to 7 digits)."""
    numbers, digits = _number_before(data.words(starts), ord("<"))
    if not np.array_equal(digits, lengths) or (numbers >= count).any():
        raise NotPlain("an unusual shared-string index")
    return numbers


def _inline_strings(data: _Bytes, tokens: Ints, kinds: NDArray[np.int8], cell_tokens: Ints) -> Texts:
    """The text of each inline-string cell: its ``<t>`` follows its ``<is>``; empty without one."""
    text_tokens = cell_tokens + 2
    following = kinds[np.minimum(text_tokens, len(kinds) - 1)]
    return _texts_or_empty(
        data, tokens, text_tokens, (following == _T) | (following == _T_KEPT), following == _T_KEPT
    )


def _texts(data: _Bytes, tokens: Ints, text_tokens: Ints, kept: Flags) -> Texts:
    """The text of each ``<t>`` token (up to the ``</t>`` after it), decoded as calamine decodes it.

    The raw bytes are pointed at where they stand; the few texts needing more (an entity, a
    carriage return, Excel's ``_x00HH_`` escapes, spaces to trim) are decoded one by one.
    """
    import pyarrow as pa

    starts = tokens[text_tokens] + np.where(kept, len(_TAGS[_T_KEPT]), len(_TAGS[_T]))
    stops = tokens[text_tokens + 1]
    texts = Texts(_string_views(data, starts, stops - starts), (pa.py_buffer(data.xml),))
    try:
        texts.array().validate(full=True)
    except pa.ArrowInvalid as err:
        raise NotPlain("not UTF-8") from err
    special = _with_specials(data, starts, stops)
    trimmed = ~kept & (stops > starts)
    if trimmed.any():
        spaces = np.frombuffer(_SPACES, dtype=np.uint8)
        edges = np.isin(data.array[starts], spaces) | np.isin(data.array[np.maximum(stops - 1, 0)], spaces)
        special |= trimmed & edges
    fixes = np.flatnonzero(special)
    if not len(fixes):
        return texts
    if len(fixes) > _MOST_DECODED:
        raise NotPlain("too many texts to decode one by one")
    return texts.replaced(fixes, [_decode(data.xml[starts[n] : stops[n]], bool(kept[n])) for n in fixes])


def _string_views(data: _Bytes, starts: Ints, lengths: Ints) -> NDArray[np.int32]:
    """Arrow string views of byte ranges of the part: up to 12 bytes held inline, longer ones pointed at."""
    u = np.uint64
    views = np.zeros((len(starts), 4), dtype=np.int32)
    views[:, 0] = lengths
    # The first 8 bytes: a long string's prefix (its first 4), or a short one's bytes, cut at its length.
    head = data.words(starts)
    kept_bits = (np.minimum(lengths, 8) * 8).astype(np.uint64)
    head &= np.where(kept_bits == 64, u(0xFFFF_FFFF_FFFF_FFFF), (u(1) << (kept_bits & u(63))) - u(1))
    as_pairs = head.view(np.int32).reshape(len(starts), 2)
    short = lengths <= 12
    views[:, 1] = as_pairs[:, 0]
    views[short, 2] = as_pairs[short, 1]
    ninth_on = np.flatnonzero(short & (lengths > 8))
    if len(ninth_on):
        rest = data.words(starts[ninth_on] + 8) & (
            (u(1) << ((lengths[ninth_on] - 8) * 8).astype(np.uint64)) - u(1)
        )
        views[ninth_on, 3] = rest.view(np.int32).reshape(len(ninth_on), 2)[:, 0]
    long_ones = ~short  # buffer 0 (the part), at the string's offset
    views[long_ones, 3] = starts[long_ones]
    return views


def _with_specials(data: _Bytes, starts: Ints, stops: Ints) -> Flags:
    """Which texts hold "&", a carriage return or "_x00" (searched for only when the XML has any)."""
    special = np.zeros(len(starts), dtype=bool)
    if not len(starts):
        return special
    low, high = int(starts.min()), int(stops.max())
    for needle in (b"&", b"\r", b"_x00"):
        if data.xml.find(needle[:1], low, high) < 0:
            continue
        found = data.find_all(needle[0], low, high)
        if len(needle) > 1:
            found = found[data.starts_with(found, needle)]
        owner = np.searchsorted(starts, found, side="right") - 1
        inside = (owner >= 0) & (found < stops[np.maximum(owner, 0)])
        special[owner[inside]] = True
    return special


def _decode(raw: bytes, kept: bool) -> str:
    """One ``<t>`` text as calamine decodes it: line ends, entities, trimming, then Excel's escapes."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        raise NotPlain("not UTF-8") from err
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    if "&" in text:
        if _STRAY_AMPERSAND.search(text):
            raise NotPlain("a character reference or an unknown entity")
        text = _ENTITY.sub(lambda match: _ENTITIES[match.group(1)], text)
    if not kept:
        text = text.strip(" \t\r\n")
    if "_x00" in text:
        text = _EXCEL_ESCAPE.sub(lambda match: chr(int(match.group(1), 16)), text)
    return text


# ---------------------------------------------------------------- cells left to calamine


def _converted_cells(
    data: _Bytes, cells: _CellTags, which: Ints, starts: Ints, stops: Ints
) -> tuple[Ints, pa.Array, bytes]:
    """The cells of ``which`` (valued ``<v>`` cells but shared strings), grouped by (style, type, text).

    Per cell, its group; per group, its text when it is a plain number (null when calamine is to
    convert it); and one row element, from row 2 on, per group calamine converts. The text in those
    is copied as written (entities and all), so calamine reads each as it would in the sheet.
    """
    import pandas as pd
    import pyarrow as pa
    import pyarrow.compute as pc

    if not len(which):
        return np.zeros(0, dtype=np.int64), pa.array([], pa.string()), b""
    pool = pa.system_memory_pool()
    views = Texts(_string_views(data, starts, stops - starts), (pa.py_buffer(data.xml),))
    encoded = pc.dictionary_encode(views.array().cast(pa.binary(), memory_pool=pool), memory_pool=pool)
    text_code = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64)
    key = (text_code * _STYLE_CODES + cells.style[which] + 1) * _TYPE_CODES + cells.kind[which]
    groups, distinct = pd.factorize(key)
    kinds = distinct % _TYPE_CODES
    styles = (distinct // _TYPE_CODES) % _STYLE_CODES - 1
    text = pc.take(encoded.dictionary, pa.array(distinct // _TYPE_CODES // _STYLE_CODES), memory_pool=pool)
    plain = _plain_numbers(text, styles, kinds)
    mini = np.flatnonzero(~pc.is_valid(plain).to_numpy(zero_copy_only=False))
    row = pc.cast(pa.array(np.arange(2, 2 + len(mini))), pa.string(), memory_pool=pool).cast(pa.binary())
    style_text = pc.cast(pa.array(styles[mini]), pa.string(), memory_pool=pool).cast(pa.binary())
    styled = pc.binary_join_element_wise(b' s="', style_text, b'"', b"", memory_pool=pool)
    style_attribute = pc.if_else(
        pa.array(styles[mini] >= 0), styled, pa.scalar(b"", pa.binary()), memory_pool=pool
    )
    type_names = [b""] + [b' t="' + _TYPE_NAMES[code] + b'"' for code in range(1, _TYPE_CODES)]
    type_attribute = pc.take(pa.array(type_names, pa.binary()), pa.array(kinds[mini]), memory_pool=pool)
    elements = pc.binary_join_element_wise(
        b'<row r="',
        row,
        b'"><c r="A',
        row,
        b'"',
        style_attribute,
        type_attribute,
        b"><v>",
        pc.take(text, pa.array(mini), memory_pool=pool),
        b"</v></c></row>",
        b"",
        memory_pool=pool,
    )
    offsets = np.frombuffer(elements.buffers()[1], dtype=np.int32)[elements.offset :]
    joined = elements.buffers()[2].to_pybytes()[offsets[0] : offsets[len(elements)]] if len(mini) else b""
    return groups.astype(np.int64), plain, joined


# Numbers whose text fastexcel gives back unchanged but for trailing fraction zeros: it prints a
# float to 9 decimals, so the nearest double of such a decimal (within 2**-32 of it below 2**22)
# prints as the decimal itself, and integers of up to 15 digits are exact.
_PLAIN_INTEGER = r"^-?(?:0|[1-9][0-9]{0,14})$"
_PLAIN_DECIMAL = r"^-?(?:0|[1-9][0-9]{0,5})\.[0-9]{1,9}$"


def _plain_numbers(texts: pa.Array, styles: Ints, kinds: Ints) -> pa.Array:
    """Each text's value as fastexcel prints it when it is a plain number of an unstyled cell; else null.

    An unstyled cell has calamine's "other" format, so it is a float, never a date.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    pool = pa.system_memory_pool()
    unstyled_number = pa.array((styles < 0) & np.isin(kinds, (_NO_TYPE, _NUMBER)))
    decimal = pc.match_substring_regex(texts, _PLAIN_DECIMAL, memory_pool=pool)
    integer = pc.match_substring_regex(texts, _PLAIN_INTEGER, memory_pool=pool)
    plain = pc.and_(unstyled_number, pc.or_(integer, decimal, memory_pool=pool), memory_pool=pool)
    stripped = pc.replace_substring_regex(texts, r"\.?0+$", "", memory_pool=pool)
    printed = pc.if_else(decimal, stripped, texts, memory_pool=pool)
    numbers: pa.Array = pc.cast(
        pc.if_else(plain, printed, pa.scalar(None, pa.binary()), memory_pool=pool),
        pa.string(),
        memory_pool=pool,
    )
    return numbers
