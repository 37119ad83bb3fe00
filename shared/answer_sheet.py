"""Answer-sheet rules over DataFrames: detect the format, attribute rows, validate answers.

The adapter (``shared.adapters.excel``) turns workbook bytes into one DataFrame per sheet:
the index holds 1-based sheet row numbers, the columns hold the sheet's column letters and
every cell is a stripped ``str`` or missing. Everything here is pure pandas and never sees
file bytes, so the same rules serve every format and every round trip through Excel,
LibreOffice or Google Sheets.
"""

from __future__ import annotations

import gc
import math
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from shared.bank import Bank, Item, ItemKind
from shared.errors import Problem, WorkbookRejected
from shared.submission import (
    Answer,
    Candidate,
    ParseResult,
    SheetFormat,
    Submission,
    construct_validated,
    submission_key,
    validated_constructor,
)

if TYPE_CHECKING:
    from pandas import DataFrame

# The template's layout: the builder writes these and the parser looks for them by name,
# never by position, so reordered sheets, rows and columns still parse.
SHEET_INSTRUCTIONS = "Instructions"
SHEET_CANDIDATE = "Candidate"
SHEET_SELF_ASSESSMENT = "Self-Assessment"
SHEET_QUIZ = "Quiz"
SHEET_SERVICE_MAPPING = "Service Mapping"
SHEET_SCENARIOS = "Scenarios"
HEADER_ITEM_ID = "Item ID"
HEADER_TOPIC_ID = "Topic ID"
HEADER_ANSWER = "Your answer"
HEADER_CONFIDENCE = "Confidence (1-5)"
CANDIDATE_FIELDS: tuple[tuple[str, str], ...] = (
    ("name", "Name"),
    ("email", "Email"),
    ("target_role", "Target role"),
    ("date", "Date"),
)
CHOICE_KEYS = "ABCDEFGH"

# Rows searched for a header: round trips may add blank rows or a title above it.
_HEADER_SEARCH_ROWS = 20
# rapidfuzz ratio (0-100) a form question must reach to match a bank prompt that differs
# in small ways (a typo, a dropped word); exact normalised matches are tried first.
_FUZZY_CUTOFF = 92.0
_SELF_ASSESSMENT_PREFIXES = ("confidence", "self assessment", "selfassessment", "self assessment confidence")

# Microsoft Forms headers in English (required) and a few localisations. The values are
# normalised with _norm, so case, accents kept, punctuation and spacing do not matter.
_MS_META: dict[str, tuple[str, ...]] = {
    "id": ("id",),
    "start": ("start time", "startzeit", "heure de début", "hora de inicio", "ora di inizio"),
    "completion": (
        "completion time",
        "fertigstellungszeit",
        "heure de fin",
        "hora de finalización",
        "ora di completamento",
    ),
    "email": ("email", "e mail", "adresse de messagerie", "correo electrónico", "posta elettronica"),
    "name": ("name", "nom", "nombre", "nome"),
    "total": ("total points", "gesamtpunktzahl", "total de points", "puntos totales", "punti totali"),
    "feedback": (
        "quiz feedback",
        "quizfeedback",
        "commentaires sur le questionnaire",
        "comentarios del cuestionario",
        "feedback sul quiz",
    ),
    "modified": ("last modified time", "zuletzt geändert", "heure de dernière modification"),
}
_MS_PER_QUESTION_PREFIXES = (
    "points",
    "feedback",
    "punkte",
    "commentaires",
    "puntos",
    "comentarios",
    "punti",
)
_GOOGLE_META: dict[str, tuple[str, ...]] = {
    "timestamp": ("timestamp", "zeitstempel", "horodateur", "marca temporal", "informazioni cronologiche"),
    "email": (
        "email address",
        "email",
        "e mail adresse",
        "adresse e mail",
        "dirección de correo electrónico",
    ),
    "score": ("score", "punktzahl", "note", "puntuación", "punteggio"),
}
# Questions a form may add to learn who answers; matched in both form formats.
_IDENTITY_QUESTIONS: dict[str, tuple[str, ...]] = {
    "name": ("name", "full name", "your name", "candidate name", "candidate"),
    "target_role": ("target role", "role", "position"),
}
_ANONYMOUS = "anonymous"
_POINTS_SUFFIX = re.compile(r"\(\s*\d+(?:[.,]\d+)?\s*(?:points?|pts?|punkte|puntos|punti)\s*\)\s*$", re.I)
_GOOGLE_PER_QUESTION = re.compile(r"\[\s*(?:score|feedback)\s*\]\s*$", re.I)
_CHOICE_KEY = re.compile(r"^\s*\(?([A-Ha-h])\s*(?:[).:\-]\s*.*)?$", re.S)
_KEY_LIST = re.compile(r"^\s*[A-Ha-h](?:\s*[,;/&+\s]\s*[A-Ha-h])*\s*[,;]?\s*$")
_EXCEL_EPOCH = datetime(1899, 12, 30)
_DATE_FORMATS = (
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S.%f",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d",
    "%Y/%m/%d",
    "%m/%d/%Y %H:%M:%S",
    "%m/%d/%Y %H:%M",
    "%m/%d/%Y",
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y",
)


def parse_sheets(sheets: Mapping[str, DataFrame], bank: Bank, *, content_digest: str) -> ParseResult:
    """Detect the format of a workbook's sheets and return its submissions and located problems."""
    if not sheets:
        raise WorkbookRejected("the workbook has no sheets: expected an answer sheet or a forms export")
    sheets = {name: _clean(frame) for name, frame in sheets.items()}
    if _looks_like_template(sheets):
        return _TemplateParser(sheets, bank, content_digest).parse()
    for name, frame in sheets.items():
        header = _first_filled_row(frame)
        if header is None:
            continue
        labels = {_norm(text) for text in _row_texts(frame, header).values()}
        if _is_ms_forms(labels):
            return _FormsParser(name, frame, header, bank, content_digest, SheetFormat.MS_FORMS).parse()
        if labels & set(_GOOGLE_META["timestamp"]):
            return _FormsParser(name, frame, header, bank, content_digest, SheetFormat.GOOGLE_FORMS).parse()
    raise WorkbookRejected(
        "no known answer-sheet format found: expected the ReadyCheck template (sheets "
        f"{SHEET_CANDIDATE}, {SHEET_QUIZ}, {SHEET_SERVICE_MAPPING}, {SHEET_SCENARIOS} with an "
        f"'{HEADER_ITEM_ID}' column), a Microsoft Forms export (columns ID, Start time, Completion "
        "time, Email, Name, then one column per question) or a Google Forms export (Timestamp, "
        "Email Address, then one column per question)"
    )


def choice_label(key: str, text: str) -> str:
    """How the template shows an option: ``A) text``."""
    return f"{key}) {text}"


# ---------------------------------------------------------------- cells and text


def _clean(frame: DataFrame) -> DataFrame:
    """Every cell as stripped text, empty for missing: whole columns at once, fast on big exports."""
    cleaned: DataFrame = frame.apply(lambda column: column.astype("string").str.strip().fillna(""))
    return cleaned.astype(object)


def _norm(text: str) -> str:
    """Text for comparison: Unicode-normalised, casefolded, punctuation as spaces, single spaces."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(ch if ch.isalnum() else " " for ch in text)
    return " ".join(text.split())


def _question_key(header: str) -> str:
    """A form header normalised for matching a bank prompt (drops ``(2 points)``-style suffixes)."""
    return _norm(_POINTS_SUFFIX.sub("", header.strip()))


def _row_texts(frame: DataFrame, row: int) -> dict[str, str]:
    """The non-empty cells of one row of a cleaned frame, keyed by column letter."""
    return {str(col): text for col, text in frame.loc[row].items() if text}


def _first_filled_row(frame: DataFrame) -> int | None:
    """The first row (1-based label) within the header search window that has any value."""
    for row in frame.index[:_HEADER_SEARCH_ROWS]:
        if _row_texts(frame, int(row)):
            return int(row)
    return None


def _rows_below(frame: DataFrame, header: int) -> Iterator[tuple[int, dict[str, str]]]:
    """(row number, non-empty cells by column letter) for every non-blank row below the header."""
    columns = [str(c) for c in frame.columns]
    body = frame.loc[frame.index > header]
    for row, line in zip(body.index, body.to_numpy(), strict=True):
        cells = {col: text for col, text in zip(columns, line, strict=True) if text}
        if cells:
            yield int(row), cells


def _as_int(text: str) -> int | None:
    """A whole number written as ``4``, ``4.0`` or ``4 - confident``; None otherwise."""
    match = re.match(r"^\s*([+-]?\d+(?:[.,]0+)?)(?:\s*(?:[-–:)]\s*.*|\s+\D.*))?$", text)
    if not match:
        return None
    return int(match.group(1).replace(",", ".").split(".")[0])


def _as_datetime(text: str) -> datetime | None:
    """A date/time from an Excel serial or a common text form (month first when ambiguous); else None."""
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        pass
    else:
        # Naive UTC, so times with and without an offset still compare when ordering duplicates.
        return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment
    try:
        serial = float(text)
    except ValueError:
        serial = math.nan
    if 1 <= serial < 2_958_466:  # Excel's serial range: 1900-01-01 .. 9999-12-31
        return _EXCEL_EPOCH + timedelta(days=serial)
    for fmt in _DATE_FORMATS:
        try:
            return datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def _as_date(text: str) -> str:
    """An ISO date for a date/time cell in any form we read; the text itself when unreadable."""
    moment = _as_datetime(text)
    return moment.date().isoformat() if moment else text


# ---------------------------------------------------------------- choices


@dataclass(frozen=True, slots=True)
class _Choices:
    """A choice cell read as keys, or the reason it could not be."""

    keys: tuple[str, ...] = ()
    error: str = ""


def _read_choices(item: Item, raw: str) -> _Choices:
    """Normalise a choice answer (keys, ``A) text``, option texts, ``;``/``,`` joined) to keys."""
    keys = [c.key for c in item.choices]
    single = item.kind is ItemKind.SINGLE_CHOICE
    picked = _keys_from_letters(raw, keys) or _keys_from_texts(item, raw)
    if picked is None:
        options = ", ".join(keys)
        return _Choices(
            error=f"answer {raw[:80]!r} is not one of the options ({options}); counted as unanswered"
        )
    if single and len(picked) > 1:
        return _Choices(error=f"answer {raw[:80]!r} picks {len(picked)} options but only one is allowed")
    return _Choices(keys=tuple(sorted(picked)))


def _keys_from_letters(raw: str, keys: Sequence[str]) -> set[str] | None:
    """Keys when the cell is letters (``B``, ``b)``, ``A) text``, ``A, C``, ``A;C;``)."""
    match = _CHOICE_KEY.match(raw)
    if match and len(raw.strip()) > 2:
        # "A) text" or "A. text": the letter decides; the text may be a truncated label.
        letter = match.group(1).upper()
        return {letter} if letter in keys else None
    if _KEY_LIST.match(raw):
        letters = {ch.upper() for ch in raw if ch.isalpha()}
        return letters if letters <= set(keys) else None
    return None


def _keys_from_texts(item: Item, raw: str) -> set[str] | None:
    """Keys when the cell holds option texts, as forms export them (multi picks joined)."""
    remaining = f";{_norm_option(raw)};"
    found: set[str] = set()
    # Longest texts first, so an option that contains a shorter one is taken whole.
    for choice in sorted(item.choices, key=lambda c: len(c.text), reverse=True):
        needle = _norm_option(choice.text)
        for sep_before in (";", ","):
            for sep_after in (";", ","):
                token = f"{sep_before}{needle}{sep_after}"
                if token in remaining:
                    found.add(choice.key)
                    remaining = remaining.replace(token, sep_before + sep_after, 1)
    leftover = re.sub(r"[;,\s]", "", remaining)
    if found and not leftover:
        return found
    if not found:
        return _fuzzy_single(item, raw)
    return None


def _norm_option(text: str) -> str:
    """Option text for matching: casefolded, single spaces, no space around separators."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = " ".join(text.split())
    return re.sub(r"\s*([;,])\s*", r"\1", text).strip(";, ")


def _fuzzy_single(item: Item, raw: str) -> set[str] | None:
    """One option whose text nearly equals the cell (a typo, trailing punctuation)."""
    from rapidfuzz import fuzz, process

    texts = {c.key: _norm(c.text) for c in item.choices}
    best = process.extractOne(_norm(raw), texts, scorer=fuzz.ratio, score_cutoff=_FUZZY_CUTOFF)
    return {str(best[2])} if best else None


# ---------------------------------------------------------------- collected answers


class _Rules:
    """Lookups and caches shared by every row of one parse (exports repeat the same option texts)."""

    def __init__(self, bank: Bank) -> None:
        self.items = {item.id: item for item in bank.items}
        self.order = {item.id: index for index, item in enumerate(bank.items)}
        self._choices: dict[tuple[str, str], _Choices] = {}

    def choices(self, item: Item, raw: str) -> _Choices:
        """The choice reading of a cell, computed once per distinct (item, text)."""
        key = (item.id, raw)
        read = self._choices.get(key)
        if read is None:
            read = self._choices[key] = _read_choices(item, raw)
        return read


@dataclass(slots=True)
class _Collected:
    """What one candidate's rows yielded so far."""

    rules: _Rules
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
        if item.kind in (ItemKind.SINGLE_CHOICE, ItemKind.MULTIPLE_CHOICE):
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
        level = _rating(topic_id, raw)
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


def _rating(topic_id: str, raw: str) -> int | str:
    """A confidence cell read as a level 1-5, or the problem message saying why it is not one."""
    level = _as_int(raw)
    if level is None:
        return f"confidence for topic {topic_id} must be a whole number 1-5, got {raw[:40]!r}"
    if not 1 <= level <= 5:
        return f"confidence for topic {topic_id} is {level}, outside 1-5; ignored"
    return level


# ---------------------------------------------------------------- the template


def _sheet_key(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", unicodedata.normalize("NFKC", name).casefold())


def _looks_like_template(sheets: Mapping[str, DataFrame]) -> bool:
    names = {_sheet_key(n) for n in sheets}
    if _sheet_key(SHEET_CANDIDATE) in names:
        return True
    return any(_find_header(frame, HEADER_ITEM_ID) for frame in sheets.values())


def _find_header(frame: DataFrame, label: str) -> tuple[int, dict[str, str]] | None:
    """The header row holding ``label`` and its cells by normalised text -> column letter."""
    want = _norm(label)
    for row in frame.index[:_HEADER_SEARCH_ROWS]:
        cells = _row_texts(frame, int(row))
        by_label = {_norm(text): col for col, text in cells.items()}
        if want in by_label:
            return int(row), by_label
    return None


class _TemplateParser:
    """Reads ReadyCheck's own workbook: one candidate, rows keyed by item and topic ids."""

    def __init__(self, sheets: Mapping[str, DataFrame], bank: Bank, digest: str) -> None:
        self.sheets = sheets
        self.bank = bank
        self.digest = digest
        self.collected = _Collected(_Rules(bank))
        self.items = {item.id.casefold(): item for item in bank.items}
        self.topics = {topic.id.casefold(): topic.id for topic in bank.topics}

    def parse(self) -> ParseResult:
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
        labels = {_norm(label): attr for attr, label in CANDIDATE_FIELDS}
        labels.update(
            {"e mail": "email", "email address": "email", "full name": "name", "role": "target_role"}
        )
        values: dict[str, str] = {}
        where: dict[str, tuple[int, str]] = {}
        columns = [str(c) for c in frame.columns]
        for row, cells in _rows_below(frame, 0):
            ordered = [(col, cells[col]) for col in columns if col in cells]
            attr = labels.get(_norm(ordered[0][1]))
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
            date=_as_date(values.get("date", "")),
        )

    def _items(self, sheet: str, frame: DataFrame) -> None:
        header = _find_header(frame, HEADER_ITEM_ID)
        if header is None:
            return
        header_row, columns = header
        id_col = columns[_norm(HEADER_ITEM_ID)]
        answer_col = columns.get(_norm(HEADER_ANSWER)) or columns.get("answer")
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
        for row, cells in _rows_below(frame, header_row):
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
        id_col = columns[_norm(HEADER_TOPIC_ID)]
        rating_col = next((col for label, col in columns.items() if label.startswith("confidence")), None)
        if rating_col is None:
            self.collected.problems.append(
                Problem(sheet, header_row, None, f"no '{HEADER_CONFIDENCE}' column; ratings skipped")
            )
            return
        for row, cells in _rows_below(frame, header_row):
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


# ---------------------------------------------------------------- Microsoft and Google Forms


def _is_ms_forms(labels: set[str]) -> bool:
    has = {kind for kind, names in _MS_META.items() if labels & set(names)}
    # Forms that record no email still have the response id and the two times.
    return "id" in has and len(has & {"start", "completion", "email", "name"}) >= 2


@dataclass(frozen=True, slots=True)
class _Column:
    """What a forms column holds: metadata, an item's answers, a topic's rating, or nothing we use."""

    kind: str  # "meta", "item", "topic", "ignored"
    target: str = ""


class _FormsParser:
    """Reads a forms export: one response per row, question columns matched by their text."""

    def __init__(
        self, sheet: str, frame: DataFrame, header: int, bank: Bank, digest: str, fmt: SheetFormat
    ) -> None:
        self.sheet = sheet
        self.frame = frame
        self.header = header
        self.bank = bank
        self.digest = digest
        self.fmt = fmt
        self.problems: list[Problem] = []
        self.lookup = _prompt_lookup(bank)
        self.rules = _Rules(bank)

    def parse(self) -> ParseResult:
        columns = self._classify(_row_texts(self.frame, self.header))
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
        body = _FormsBody(self.frame, self.header, columns, self.rules, self.sheet)
        submissions = self._deduplicate(self._responses(body, metas), body)
        everything = list(self.problems)
        for submission in submissions:
            everything.extend(submission.problems)
        if not submissions:
            raise WorkbookRejected(
                f"no response in sheet '{self.sheet}' can be attributed to a candidate", everything
            )
        return ParseResult(source_format=self.fmt, submissions=tuple(submissions), problems=tuple(everything))

    def _classify(self, headers: Mapping[str, str]) -> dict[str, _Column]:
        meta_names = _MS_META if self.fmt is SheetFormat.MS_FORMS else _GOOGLE_META
        meta = {name: kind for kind, names in meta_names.items() for name in names}
        identity = {name: kind for kind, names in _IDENTITY_QUESTIONS.items() for name in names}
        columns: dict[str, _Column] = {}
        claimed: dict[str, str] = {}
        for col, header in headers.items():
            label = _norm(header)
            if label in meta and meta[label] not in claimed:
                columns[col] = _Column("meta", meta[label])
                claimed[meta[label]] = col
                continue
            if label in identity and identity[label] not in claimed:
                columns[col] = _Column("meta", identity[label])
                claimed[identity[label]] = col
                continue
            if self._per_question_extra(header, label):
                columns[col] = _Column("ignored")
                continue
            target = _match_prompt(self.lookup, header)
            if target is None:
                self.problems.append(
                    Problem(
                        self.sheet,
                        self.header,
                        col,
                        f"column {header[:80]!r} matches no question of the bank "
                        f"({self.bank.id} {self.bank.version}); its answers are ignored",
                    )
                )
                columns[col] = _Column("ignored")
            elif target in claimed:
                self.problems.append(
                    Problem(
                        self.sheet,
                        self.header,
                        col,
                        f"column {header[:80]!r} repeats the question of column {claimed[target]}; ignored",
                    )
                )
                columns[col] = _Column("ignored")
            else:
                kind, _, target_id = target.partition(":")
                columns[col] = _Column(kind, target_id)
                claimed[target] = col
        return columns

    def _per_question_extra(self, header: str, label: str) -> bool:
        """MS Forms ``Points - Q`` / ``Feedback - Q`` and Google's ``Q [Score]`` columns."""
        if _GOOGLE_PER_QUESTION.search(header):
            return True
        prefix, sep, _ = header.partition(" - ")
        return bool(sep) and _norm(prefix) in _MS_PER_QUESTION_PREFIXES and label not in self.lookup.exact

    def _responses(self, body: _FormsBody, metas: Mapping[str, str]) -> Iterator[_Response]:
        """The attributed rows: identity, candidate and time per row; answers are read later."""

        def meta(name: str) -> list[str]:
            col = metas.get(name)
            return body.values[col] if col else [""] * len(body.rows)

        email_col = metas.get("email")
        when_texts = [
            c or t or s for c, t, s in zip(meta("completion"), meta("timestamp"), meta("start"), strict=True)
        ]
        # Response times repeat in big exports, and a blank one is common: read each text once.
        moments = {text: _as_datetime(text) for text in set(when_texts)}
        rows = zip(
            body.rows,
            body.answered,
            meta("email"),
            meta("name"),
            meta("id"),
            meta("target_role"),
            when_texts,
            strict=True,
        )
        for position, (row, answered, email, name, response_id, role, when) in enumerate(rows):
            if name.casefold() == _ANONYMOUS:
                name = ""
            if not answered and not (email or name):
                continue  # a blank row a round trip added, or a row with no answers and no one
            problems: list[Problem] = []
            if email and email.casefold() != _ANONYMOUS:
                identity = email.casefold()
                if "@" not in email:
                    problems.append(
                        Problem(
                            self.sheet, row, email_col, f"email {email[:80]!r} does not look like an address"
                        )
                    )
            elif name or response_id:
                # Keys must stay unique per person: fall back to the name, else the response id.
                identity = f"name:{name.casefold()}" if name else f"{_ANONYMOUS}#{response_id}"
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
                email = _ANONYMOUS
            else:
                self.problems.append(
                    Problem(
                        self.sheet,
                        row,
                        email_col,
                        "no email, name or response id: the response cannot be attributed; skipped",
                    )
                )
                continue
            if not answered:
                problems.append(Problem(self.sheet, row, None, "the response answers no question"))
            moment = moments[when]
            day = moment.date().isoformat() if moment else when
            candidate = construct_validated(Candidate, name=name, email=email, target_role=role, date=day)
            yield _Response(row, position, identity, candidate, moment, tuple(problems))

    def _deduplicate(self, responses: Iterable[_Response], body: _FormsBody) -> list[Submission]:
        """One submission per identity: the latest response wins (a candidate's resubmission)."""
        by_identity: dict[str, list[_Response]] = {}
        for response in responses:
            by_identity.setdefault(response.identity, []).append(response)
        kept: list[_Response] = []
        for group in by_identity.values():
            # Latest completion time wins; without readable times the later row wins.
            ordered = (
                group if len(group) == 1 else sorted(group, key=lambda r: (r.when or datetime.min, r.row))
            )
            latest = ordered[-1]
            for dropped in ordered[:-1]:
                self.problems.append(
                    Problem(
                        self.sheet,
                        dropped.row,
                        None,
                        f"{latest.candidate.email!r} also answered in row {latest.row}; that later response "
                        "is kept and this one is ignored",
                    )
                )
            kept.append(latest)
        kept.sort(key=lambda response: response.row)
        # Answers are built only for the kept rows; a million small objects of one build would
        # otherwise trigger full garbage collections that find nothing to free.
        collecting = gc.isenabled()
        gc.disable()
        try:
            return [self._submission(response, body) for response in kept]
        finally:
            if collecting:
                gc.enable()

    def _submission(self, response: _Response, body: _FormsBody) -> Submission:
        answers, confidence, problems = body.read(response.position)
        return construct_validated(
            Submission,
            submission_key=submission_key(self.digest, response.identity),
            candidate=response.candidate,
            source_format=self.fmt,
            answers=answers,
            confidence=confidence,
            problems=(*problems, *response.problems),
        )


class _FormsBody:
    """The response rows of a forms export, read column by column.

    Every distinct cell text of a question column is validated once (exports repeat the same
    option texts and ratings thousands of times); a row then only looks its cells up.
    """

    def __init__(
        self, frame: DataFrame, header: int, columns: Mapping[str, _Column], rules: _Rules, sheet: str
    ) -> None:
        body = frame.loc[frame.index > header]
        filled = body.to_numpy() != ""
        # Blank rows (any column) are skipped, as a round trip through a spreadsheet can add them.
        body = body[filled.any(axis=1)]
        used = [col for col, column in columns.items() if column.kind in ("item", "topic")]
        self.sheet = sheet
        self.rules = rules
        self.rows: list[int] = body.index.tolist()
        self.values: dict[str, list[str]] = {
            col: body[col].tolist() for col, column in columns.items() if column.kind != "ignored"
        }
        # Every non-empty item or rating cell yields an answer, a rating or a problem.
        self.answered: list[bool] = (body[used].to_numpy() != "").any(axis=1).tolist()
        readings = {col: self._read_column(col, columns[col]) for col in used}
        # Per column: its values and readings side by side, so a row is read with list indexing.
        # Answers in bank order, ratings by topic id, problems in column order.
        self.item_cells = [
            (self.values[col], self._answer_fields(item, col, readings[col]))
            for col, item in sorted(
                ((col, rules.items[columns[col].target]) for col in used if columns[col].kind == "item"),
                key=lambda pair: rules.order[pair[1].id],
            )
        ]
        self.topic_cells = sorted(
            (
                (columns[col].target, self.values[col], readings[col])
                for col in used
                if columns[col].kind == "topic"
            ),
            key=lambda cell: cell[0],
        )
        self.problem_cells = [(col, self.values[col], readings[col]) for col in used]
        self.new_answer = validated_constructor(Answer)

    def _answer_fields(
        self, item: Item, col: str, readings: Mapping[str, _Choices | int | str]
    ) -> dict[str, dict[str, object]]:
        """Per valid text of an item column, the fields of its answers, to copy with each row's number."""
        # In field order, with a placeholder row: the serialised JSON follows this order.
        return {
            raw: {
                "item_id": item.id,
                "choices": read.keys,
                "text": raw,
                "sheet": self.sheet,
                "row": 0,
                "column": col,
            }
            for raw, read in readings.items()
            if isinstance(read, _Choices)
        }

    def _read_column(self, col: str, column: _Column) -> dict[str, _Choices | int | str]:
        """Each distinct text of the column read once: choice keys, a rating, or a problem message."""
        read: dict[str, _Choices | int | str] = {}
        for raw in set(self.values[col]):
            if not raw:
                continue
            if column.kind == "topic":
                read[raw] = _rating(column.target, raw)
                continue
            item = self.rules.items[column.target]
            if item.kind in (ItemKind.SINGLE_CHOICE, ItemKind.MULTIPLE_CHOICE):
                choices = self.rules.choices(item, raw)
                read[raw] = f"item {item.id}: {choices.error}" if choices.error else choices
            else:
                read[raw] = _Choices()
        return read

    def read(self, position: int) -> tuple[tuple[Answer, ...], tuple[tuple[str, int], ...], list[Problem]]:
        """The answers, ratings and cell problems of one response row."""
        row = self.rows[position]
        sheet = self.sheet
        new_answer = self.new_answer
        # An empty cell has no reading, so .get() skips it like a cell that failed validation.
        answers = [
            new_answer({**fields, "row": row})
            for values, answer_fields in self.item_cells
            if (fields := answer_fields.get(values[position])) is not None
        ]
        confidence = [
            (topic_id, level)
            for topic_id, values, readings in self.topic_cells
            if isinstance(level := readings.get(values[position]), int)
        ]
        problems = [
            Problem(sheet, row, col, message)
            for col, values, readings in self.problem_cells
            if isinstance(message := readings.get(values[position]), str)
        ]
        return tuple(answers), tuple(confidence), problems


@dataclass(frozen=True, slots=True)
class _Response:
    """One attributed row of a forms export; its answers are read only if it is kept."""

    row: int
    position: int
    identity: str
    candidate: Candidate
    when: datetime | None
    problems: tuple[Problem, ...]


@dataclass(frozen=True, slots=True)
class _Lookup:
    """Normalised question texts -> ``item:<id>`` or ``topic:<id>``."""

    exact: dict[str, str]


def _prompt_lookup(bank: Bank) -> _Lookup:
    keys: dict[str, set[str]] = {}

    def add(text: str, target: str) -> None:
        keys.setdefault(_norm(text), set()).add(target)

    for item in bank.items:
        add(item.prompt, f"item:{item.id}")
        label, sep, rest = item.prompt.partition(": ")
        if sep and len(label.split()) <= 3:
            add(rest, f"item:{item.id}")
    for topic in bank.topics:
        short = topic.name.split(" (")[0]
        for name in {topic.name, short, topic.id}:
            for prefix in _SELF_ASSESSMENT_PREFIXES:
                add(f"{prefix} {name}", f"topic:{topic.id}")
    # A text two items share (e.g. "what is the Azure equivalent?") identifies neither.
    return _Lookup(exact={text: next(iter(t)) for text, t in keys.items() if len(t) == 1})


def _match_prompt(lookup: _Lookup, header: str) -> str | None:
    """The bank target of a form question: exact normalised text first, then a close fuzzy match."""
    key = _question_key(header)
    if not key:
        return None
    if key in lookup.exact:
        return lookup.exact[key]
    from rapidfuzz import fuzz, process

    best = process.extractOne(key, list(lookup.exact), scorer=fuzz.ratio, score_cutoff=_FUZZY_CUTOFF)
    return lookup.exact[str(best[0])] if best else None
