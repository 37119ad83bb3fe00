"""The template parser: ReadyCheck's own workbook, one candidate, rows keyed by item and topic ids."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from shared.answer_sheets.cells import HEADER_SEARCH_ROWS, as_date, norm, row_texts, rows_below
from shared.answer_sheets.choices import CHOICE_KINDS, Rules, rating
from shared.answer_sheets.layout import (
    CANDIDATE_FIELDS,
    HEADER_ANSWER,
    HEADER_CONFIDENCE,
    HEADER_ITEM_ID,
    HEADER_TOPIC_ID,
    SHEET_CANDIDATE,
)
from shared.bank import Bank, Item
from shared.errors import Problem, WorkbookRejected
from shared.submission import Answer, Candidate, ParseResult, SheetFormat, Submission, submission_key

if TYPE_CHECKING:
    from pandas import DataFrame


def looks_like_template(sheets: Mapping[str, DataFrame]) -> bool:
    """Whether the sheets are ReadyCheck's template: a Candidate sheet, or an ``Item ID`` header."""
    names = {_sheet_key(n) for n in sheets}
    if _sheet_key(SHEET_CANDIDATE) in names:
        return True
    return any(_find_header(frame, HEADER_ITEM_ID) for frame in sheets.values())


def _sheet_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", unicodedata.normalize("NFKC", name).casefold())


def _find_header(frame: DataFrame, label: str) -> tuple[int, dict[str, str]] | None:
    """The header row holding ``label`` and its cells by normalised text -> column letter."""
    want = norm(label)
    for row in frame.index[:HEADER_SEARCH_ROWS]:
        cells = row_texts(frame, int(row))
        by_label = {norm(text): col for col, text in cells.items()}
        if want in by_label:
            return int(row), by_label
    return None


@dataclass(slots=True)
class _Collected:
    """What one candidate's rows yielded so far."""

    rules: Rules
    answers: dict[str, Answer] = field(default_factory=dict)
    confidence: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)

    def answer(self, item: Item, raw: str, sheet: str, row: int, column: str) -> None:
        """Record the answer to an item, validating choice answers."""
        if item.id in self.answers:
            first = self.answers[item.id]
            self.problems.append(
                Problem(
                    sheet,
                    row,
                    column,
                    f"item {item.id} is answered again (first in row {first.row}); ignored",
                )
            )
            return
        if item.kind in CHOICE_KINDS:
            read = self.rules.choices(item, raw)
            if read.error:
                self.problems.append(Problem(sheet, row, column, f"item {item.id}: {read.error}"))
                return
            choices = read.keys
        else:
            choices = ()
        self.answers[item.id] = Answer(
            item_id=item.id, choices=choices, text=raw, sheet=sheet, row=row, column=column
        )

    def rate(self, topic_id: str, raw: str, sheet: str, row: int, column: str) -> None:
        """Record a 1-5 confidence rating for a topic."""
        level = rating(topic_id, raw)
        if isinstance(level, str):
            self.problems.append(Problem(sheet, row, column, level))
        elif topic_id in self.confidence:
            self.problems.append(Problem(sheet, row, column, f"topic {topic_id} is rated again; ignored"))
        else:
            self.confidence[topic_id] = level

    def submission(self, key: str, candidate: Candidate, fmt: SheetFormat) -> Submission:
        """The submission, answers in bank order."""
        order = self.rules.order
        return Submission(
            submission_key=key,
            candidate=candidate,
            source_format=fmt,
            answers=tuple(sorted(self.answers.values(), key=lambda a: order[a.item_id])),
            confidence=tuple(sorted(self.confidence.items())),
            problems=tuple(self.problems),
        )


class TemplateParser:
    """Reads ReadyCheck's own workbook: one candidate, rows keyed by item and topic ids."""

    def __init__(self, sheets: Mapping[str, DataFrame], bank: Bank, digest: str) -> None:
        self.sheets = sheets
        self.bank = bank
        self.digest = digest
        self.collected = _Collected(Rules(bank))
        self.items = {item.id.casefold(): item for item in bank.items}
        self.topics = {topic.id.casefold(): topic.id for topic in bank.topics}

    def parse(self) -> ParseResult:
        """The candidate's submission and its located problems."""
        candidate = self._candidate()
        for name, frame in self.sheets.items():
            self._items(name, frame)
            self._ratings(name, frame)
        key = submission_key(self.digest, candidate.email)
        submission = self.collected.submission(key, candidate, SheetFormat.TEMPLATE)
        return ParseResult(
            source_format=SheetFormat.TEMPLATE, submissions=(submission,), problems=submission.problems
        )

    def _candidate(self) -> Candidate:
        found = [n for n in self.sheets if _sheet_key(n) == _sheet_key(SHEET_CANDIDATE)]
        if not found:
            raise WorkbookRejected(
                f"no candidate identity: the answer sheet has no '{SHEET_CANDIDATE}' sheet with the "
                "candidate's name and email"
            )
        sheet = found[0]
        frame = self.sheets[sheet]
        labels = {norm(label): attr for attr, label in CANDIDATE_FIELDS}
        labels.update(
            {"e mail": "email", "email address": "email", "full name": "name", "role": "target_role"}
        )
        values: dict[str, str] = {}
        where: dict[str, tuple[int, str]] = {}
        columns = [str(c) for c in frame.columns]
        for row, cells in rows_below(frame, 0):
            ordered = [(col, cells[col]) for col in columns if col in cells]
            attr = labels.get(norm(ordered[0][1]))
            if attr and attr not in values and len(ordered) > 1:
                values[attr] = ordered[1][1]
                where[attr] = (row, ordered[1][0])
        email = values.get("email", "")
        if not email:
            raise WorkbookRejected(
                f"no candidate identity: fill in the Email row of the '{sheet}' sheet "
                "(the cell next to 'Email')",
                [Problem(sheet, None, None, "the candidate's email is missing")],
            )
        if "@" not in email:
            row, col = where["email"]
            self.collected.problems.append(
                Problem(sheet, row, col, f"email {email[:80]!r} does not look like an address")
            )
        return Candidate(
            name=values.get("name", ""),
            email=email,
            target_role=values.get("target_role", ""),
            date=as_date(values.get("date", "")),
        )

    def _items(self, sheet: str, frame: DataFrame) -> None:
        header = _find_header(frame, HEADER_ITEM_ID)
        if header is None:
            return
        header_row, columns = header
        id_col = columns[norm(HEADER_ITEM_ID)]
        answer_col = columns.get(norm(HEADER_ANSWER)) or columns.get("answer")
        if answer_col is None:
            self.collected.problems.append(
                Problem(
                    sheet,
                    header_row,
                    None,
                    f"no '{HEADER_ANSWER}' column next to '{HEADER_ITEM_ID}'; sheet skipped",
                )
            )
            return
        for row, cells in rows_below(frame, header_row):
            item_id = cells.get(id_col, "")
            raw = cells.get(answer_col, "")
            if not item_id:
                if raw:
                    self.collected.problems.append(
                        Problem(
                            sheet,
                            row,
                            answer_col,
                            "an answer without an item id cannot be attributed; ignored",
                        )
                    )
                continue
            item = self.items.get(item_id.casefold())
            if item is None:
                self.collected.problems.append(
                    Problem(
                        sheet,
                        row,
                        id_col,
                        f"unknown item id {item_id[:64]!r} (bank {self.bank.id} {self.bank.version})",
                    )
                )
            elif raw:
                self.collected.answer(item, raw, sheet, row, answer_col)

    def _ratings(self, sheet: str, frame: DataFrame) -> None:
        header = _find_header(frame, HEADER_TOPIC_ID)
        if header is None:
            return
        header_row, columns = header
        id_col = columns[norm(HEADER_TOPIC_ID)]
        rating_col = next((col for label, col in columns.items() if label.startswith("confidence")), None)
        if rating_col is None:
            self.collected.problems.append(
                Problem(sheet, header_row, None, f"no '{HEADER_CONFIDENCE}' column; ratings skipped")
            )
            return
        for row, cells in rows_below(frame, header_row):
            topic_id = cells.get(id_col, "")
            raw = cells.get(rating_col, "")
            if not topic_id:
                continue
            known = self.topics.get(topic_id.casefold())
            if known is None:
                self.collected.problems.append(
                    Problem(sheet, row, id_col, f"unknown topic id {topic_id[:64]!r}")
                )
            elif raw:
                self.collected.rate(known, raw, sheet, row, rating_col)
