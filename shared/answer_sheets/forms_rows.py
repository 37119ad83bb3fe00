"""Forms rows: a forms export's responses, attributed, deduplicated and kept in columns.

Every question column is read once: its distinct texts are validated once each (exports repeat
the same option texts and ratings thousands of times) and each row keeps only a code into them.
A submission's answers are built from the columns when it is taken from the result (when it is
sent for grading), never all up front.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, overload

from shared.answer_sheets.cells import arrow_cells, filled_cells, read_datetimes, text_cells
from shared.answer_sheets.choices import CHOICE_KINDS, Choices, Rules, rating
from shared.answer_sheets.fast_models import construct_validated, validated_constructor
from shared.answer_sheets.forms_columns import Column, classify_columns
from shared.answer_sheets.forms_locales import ANONYMOUS
from shared.bank import Bank
from shared.errors import Problem, WorkbookRejected
from shared.submission import Answer, Candidate, ParseResult, SheetFormat, Submission, submission_key

if TYPE_CHECKING:
    import pyarrow as pa
    from pandas import DataFrame

_Reading = Choices | int | str | None  # choice keys, a rating, a problem message, or an empty cell


class FormsParser:
    """Reads a forms export: one response per row, question columns matched by their text."""

    def __init__(
        self,
        sheet: str,
        frame: DataFrame,
        header: int,
        headers: Mapping[str, str],
        bank: Bank,
        digest: str,
        fmt: SheetFormat,
    ) -> None:
        self.sheet = sheet
        self.frame = frame
        self.header = header
        self.headers = headers
        self.bank = bank
        self.digest = digest
        self.fmt = fmt
        self.problems: list[Problem] = []

    def parse(self) -> ParseResult:
        """The export's submissions (built when taken) and every located problem."""
        columns, problems = classify_columns(self.headers, self.bank, self.fmt, self.sheet, self.header)
        self.problems.extend(problems)
        metas = {c.target: col for col, c in columns.items() if c.kind == "meta"}
        if "email" not in metas and "name" not in metas:
            raise WorkbookRejected(
                "no candidate identity: the forms export has no Email column (turn on collecting "
                "email addresses) and no Name question",
                self.problems,
            )
        if not any(c.kind in ("item", "topic") for c in columns.values()):
            raise WorkbookRejected(
                f"nothing to grade: no column of sheet '{self.sheet}' matches a question of the bank "
                f"{self.bank.id} {self.bank.version}",
                self.problems,
            )
        body = _FormsBody(self.frame, self.header, columns, Rules(self.bank), self.sheet)
        responses = self._responses(body, metas)
        kept = self._deduplicate(responses)
        everything = list(self.problems)
        for position in kept:
            everything.extend(body.problems.get(position, ()))
            everything.extend(responses.problems.get(position, ()))
        if not kept:
            raise WorkbookRejected(
                f"no response in sheet '{self.sheet}' can be attributed to a candidate", everything
            )
        cohort = _Cohort(kept, responses, body, self.digest, self.fmt)
        return ParseResult(source_format=self.fmt, submissions=cohort, problems=tuple(everything))

    def _responses(self, body: _FormsBody, metas: Mapping[str, str]) -> _Responses:
        """The attributed rows, column by column: identity, candidate, time; answers stay in the columns."""
        import numpy as np
        import pandas as pd

        def meta(name: str) -> list[str]:
            col = metas.get(name)
            return body.meta[col] if col else [""] * len(body.rows)

        email_col = metas.get("email")
        when_texts = [
            c or t or s for c, t, s in zip(meta("completion"), meta("timestamp"), meta("start"), strict=True)
        ]
        # The response times as one column, parsed once: days for the candidates, instants to order by.
        texts = pd.Series(when_texts, dtype=object)
        moments = read_datetimes(texts)
        days = [str(day) for day in moments.dt.strftime("%Y-%m-%d").where(moments.notna(), texts).tolist()]
        instants = moments.to_numpy(dtype="datetime64[us]").astype(np.int64).tolist()
        emails, ids = meta("email"), meta("id")
        # A name "anonymous" (any case) is no name.
        names = [name if name.casefold() != ANONYMOUS else "" for name in meta("name")]
        identities: list[str] = []
        shown: list[str] = []
        responses = _Responses(body.rows, names, meta("target_role"), days, instants)
        for position, (row, answered, email, name, response_id) in enumerate(
            zip(body.rows, body.answered, emails, names, ids, strict=True)
        ):
            if not answered and not (email or name):
                identities.append("")  # a blank row a round trip added, or a row with no answers and no one
                shown.append("")
                continue
            folded = email.casefold()
            problems: list[Problem] = []
            if email and folded != ANONYMOUS:
                identity = folded
                if "@" not in email:
                    problems.append(
                        Problem(
                            self.sheet, row, email_col, f"email {email[:80]!r} does not look like an address"
                        )
                    )
            elif name or response_id:
                # Keys must stay unique per person: fall back to the name, else the response id.
                identity = f"name:{name.casefold()}" if name else f"{ANONYMOUS}#{response_id}"
                kept_by = f"name {name!r}" if name else f"response id {response_id}"
                problems.append(
                    Problem(
                        self.sheet,
                        row,
                        email_col,
                        "identity is anonymous: no email was recorded, so this response is kept apart "
                        f"by its {kept_by}",
                    )
                )
                email = ANONYMOUS
            else:
                self.problems.append(
                    Problem(
                        self.sheet,
                        row,
                        email_col,
                        "no email, name or response id: the response cannot be attributed; skipped",
                    )
                )
                identities.append("")
                shown.append("")
                continue
            if not answered:
                problems.append(Problem(self.sheet, row, None, "the response answers no question"))
            identities.append(identity)
            shown.append(email)
            if problems:
                responses.problems[position] = tuple(problems)
        responses.identities = identities
        responses.emails = shown
        return responses

    def _deduplicate(self, responses: _Responses) -> list[int]:
        """The positions of the responses kept, one per identity: the latest wins (a resubmission)."""
        rows = responses.rows
        attributed = [position for position, identity in enumerate(responses.identities) if identity]
        if len({responses.identities[position] for position in attributed}) == len(attributed):
            return attributed  # no one answered twice
        by_identity: dict[str, list[int]] = {}
        for position in attributed:
            by_identity.setdefault(responses.identities[position], []).append(position)
        kept: list[int] = []
        for group in by_identity.values():
            if len(group) == 1:
                kept.append(group[0])
                continue
            # Latest completion time wins (unreadable times sort first); then the later row.
            ordered = sorted(group, key=lambda position: (responses.instants[position], rows[position]))
            latest = ordered[-1]
            for dropped in ordered[:-1]:
                self.problems.append(
                    Problem(
                        self.sheet,
                        rows[dropped],
                        None,
                        f"{responses.emails[latest]!r} also answered in row {rows[latest]}; that later "
                        "response is kept and this one is ignored",
                    )
                )
            kept.append(latest)
        kept.sort()
        return kept


class _Responses:
    """The attributed rows of a forms export, column by column (by position among the body's rows)."""

    def __init__(
        self, rows: list[int], names: list[str], roles: list[str], days: list[str], instants: list[int]
    ) -> None:
        self.rows = rows
        self.names = names
        self.roles = roles
        self.days = days
        self.instants = instants  # microseconds since the epoch; the smallest int64 when unreadable
        self.identities: list[str] = []  # "" for a row not attributed
        self.emails: list[str] = []  # as shown: the email, or "anonymous"
        self.problems: dict[int, tuple[Problem, ...]] = {}


@dataclass(frozen=True, slots=True)
class _ChoiceCells:
    """A choice column: per row a code into its distinct texts; per code the answer's fields, if valid."""

    codes: list[int]
    fields: list[dict[str, Any] | None]


@dataclass(frozen=True, slots=True)
class _TextCells:
    """An open-answer column: the texts as exported, each read and stripped when its submission is built."""

    item_id: str
    column: str
    texts: pa.Array
    filled: list[bool]


@dataclass(frozen=True, slots=True)
class _RatingCells:
    """A self-assessment column: per row a code into its distinct texts; per code the level, if valid."""

    topic_id: str
    codes: list[int]
    levels: list[int | None]


class _FormsBody:
    """The response rows of a forms export, column by column: only metadata and question columns are read."""

    def __init__(
        self, frame: DataFrame, header: int, columns: Mapping[str, Column], rules: Rules, sheet: str
    ) -> None:
        import numpy as np
        import pyarrow.compute as pc

        # The rows below the header, as a view: no cell is copied.
        body = frame.iloc[int(frame.index.searchsorted(header, side="right")) :]
        self.sheet = sheet
        self.rows: list[int] = body.index.tolist()
        self.meta = {
            col: text_cells(body[col]).to_pylist() for col, column in columns.items() if column.kind == "meta"
        }
        answered = np.zeros(len(body), dtype=bool)
        items: list[tuple[int, _ChoiceCells | _TextCells]] = []
        ratings: list[_RatingCells] = []
        problems: dict[int, list[Problem]] = {}
        for col, column in columns.items():
            if column.kind not in ("item", "topic"):
                continue
            if column.kind == "item" and rules.items[column.target].kind not in CHOICE_KINDS:
                # Any text answers an open question: nothing to validate, and the text is stripped
                # only when its submission is built, so long answers are never copied here.
                raw = arrow_cells(body[col])
                filled = filled_cells(raw).to_numpy(zero_copy_only=False)
                answered |= filled
                cells: _ChoiceCells | _TextCells = _TextCells(column.target, col, raw, filled.tolist())
                items.append((rules.order[column.target], cells))
                continue
            texts = text_cells(body[col])
            answered |= pc.not_equal(texts, "").to_numpy(zero_copy_only=False)
            codes, distinct = _factorize(texts)
            readings = [_read(rules, column, str(raw)) for raw in distinct]
            for position in np.flatnonzero(np.array([isinstance(r, str) for r in readings])[codes]):
                message = readings[codes[position]]
                problems.setdefault(int(position), []).append(
                    Problem(sheet, self.rows[position], col, str(message))
                )
            if column.kind == "topic":
                levels = [r if isinstance(r, int) else None for r in readings]
                ratings.append(_RatingCells(column.target, codes.tolist(), levels))
            else:
                fields = [
                    _answer_fields(column.target, str(raw), r, sheet, col)
                    for raw, r in zip(distinct, readings, strict=True)
                ]
                items.append((rules.order[column.target], _ChoiceCells(codes.tolist(), fields)))
        self.answered: list[bool] = answered.tolist()
        # Answers in bank order, ratings by topic id, problems in column order.
        self.items = [cells for _, cells in sorted(items, key=lambda pair: pair[0])]
        self.ratings = sorted(ratings, key=lambda cells: cells.topic_id)
        self.problems = problems
        self.new_answer = validated_constructor(Answer)

    def answers(self, position: int) -> tuple[Answer, ...]:
        """The valid answers of one response row, in bank order."""
        row = self.rows[position]
        answers = []
        for cells in self.items:
            if isinstance(cells, _TextCells):
                if cells.filled[position]:
                    text = str(cells.texts[position].as_py()).strip()
                    values = {"item_id": cells.item_id, "choices": (), "text": text, "sheet": self.sheet}
                    answers.append(self.new_answer({**values, "row": row, "column": cells.column}))
            elif (fields := cells.fields[cells.codes[position]]) is not None:
                answers.append(self.new_answer({**fields, "row": row}))
        return tuple(answers)

    def confidence(self, position: int) -> tuple[tuple[str, int], ...]:
        """The valid ratings of one response row, by topic id."""
        return tuple(
            (cells.topic_id, level)
            for cells in self.ratings
            if (level := cells.levels[cells.codes[position]]) is not None
        )


def _factorize(texts: pa.Array) -> tuple[Any, list[str]]:
    """Per row a code into the column's distinct texts (Arrow's dictionary encoding), and those texts."""
    encoded = texts.dictionary_encode()
    return encoded.indices.to_numpy(zero_copy_only=False), [
        str(raw) for raw in encoded.dictionary.to_pylist()
    ]


def _read(rules: Rules, column: Column, raw: str) -> _Reading:
    """One distinct text of a question column: choice keys, a rating, or a problem message."""
    if not raw:
        return None
    if column.kind == "topic":
        return rating(column.target, raw)
    item = rules.items[column.target]
    choices = rules.choices(item, raw)
    return f"item {item.id}: {choices.error}" if choices.error else choices


def _answer_fields(item_id: str, raw: str, reading: _Reading, sheet: str, col: str) -> dict[str, Any] | None:
    """The fields of the answers a valid text gives, to copy with each row's number."""
    if not isinstance(reading, Choices):
        return None
    # In field order, with a placeholder row: the serialised JSON follows this order.
    return {"item_id": item_id, "choices": reading.keys, "text": raw, "sheet": sheet, "row": 0, "column": col}


class _Cohort(Sequence[Submission]):
    """A forms export's submissions, each built from the columns when it is taken."""

    def __init__(
        self, kept: list[int], responses: _Responses, body: _FormsBody, digest: str, fmt: SheetFormat
    ) -> None:
        self._kept = kept
        self._responses = responses
        self._body = body
        self._digest = digest
        self._fmt = fmt

    def __len__(self) -> int:
        return len(self._kept)

    @overload
    def __getitem__(self, index: int) -> Submission: ...

    @overload
    def __getitem__(self, index: slice) -> tuple[Submission, ...]: ...

    def __getitem__(self, index: int | slice) -> Submission | tuple[Submission, ...]:
        if isinstance(index, slice):
            return tuple(self._build(position) for position in self._kept[index])
        return self._build(self._kept[index])

    def _build(self, position: int) -> Submission:
        body, responses = self._body, self._responses
        candidate = construct_validated(
            Candidate,
            name=responses.names[position],
            email=responses.emails[position],
            target_role=responses.roles[position],
            date=responses.days[position],
        )
        return construct_validated(
            Submission,
            submission_key=submission_key(self._digest, responses.identities[position]),
            candidate=candidate,
            source_format=self._fmt,
            answers=body.answers(position),
            confidence=body.confidence(position),
            problems=(*body.problems.get(position, ()), *responses.problems.get(position, ())),
        )
