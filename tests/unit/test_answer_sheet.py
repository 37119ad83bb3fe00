"""Format detection and validation rules over DataFrames (no workbook bytes involved)."""

from __future__ import annotations

import string
from collections.abc import Sequence

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from shared.answer_sheets import parse_sheets
from shared.bank import Bank, load_bank
from shared.errors import Problem, WorkbookRejected
from shared.submission import ParseResult, SheetFormat, submission_key

DIGEST = "0" * 64
Cell = str | None


@pytest.fixture(scope="module")
def bank() -> Bank:
    return load_bank()


def frame(rows: Sequence[Sequence[Cell]]) -> pd.DataFrame:
    """Cells as the adapter delivers them: index = sheet rows from 1, columns = letters."""
    width = max((len(r) for r in rows), default=1)
    padded = [list(r) + [None] * (width - len(r)) for r in rows]
    df = pd.DataFrame(padded, dtype=object)
    df.columns = pd.Index(list(string.ascii_uppercase[:width]))
    df.index = pd.RangeIndex(1, len(padded) + 1)
    return df


def template(
    quiz: Sequence[Sequence[Cell]] = (),
    mapping: Sequence[Sequence[Cell]] = (),
    ratings: Sequence[Sequence[Cell]] = (),
    email: str = "ada@example.com",
    date: str = "2026-11-20",
) -> dict[str, pd.DataFrame]:
    return {
        "Instructions": frame([["Azure Python Technical Architect: readiness answer sheet"]]),
        "Candidate": frame([["Field", "Value"], ["Name", "Ada"], ["Email", email], ["Date", date]]),
        "Self-Assessment": frame([["Topic ID", "Topic", "Priority", "Confidence (1-5)"], *ratings]),
        "Quiz": frame([["Item ID", "Topic", "Question", "Options", "Your answer"], *quiz]),
        "Service Mapping": frame([["Item ID", "Topic", "Question", "Your answer"], *mapping]),
    }


def quiz_row(item_id: str, answer: Cell) -> list[Cell]:
    return [item_id, "topic", "question", "options", answer]


def only(result: ParseResult) -> dict[str, tuple[str, ...] | str]:
    """item id -> choice keys (choice items) or text, for the single submission."""
    (submission,) = result.submissions
    return {a.item_id: a.choices or a.text for a in submission.answers}


def messages(problems: Sequence[Problem]) -> list[str]:
    return [str(p) for p in problems]


# ---------------------------------------------------------------- template


def test_template_rows_are_matched_by_item_id_whatever_their_order(bank: Bank) -> None:
    sheets = template(
        quiz=[quiz_row("pd-vectorise", "C"), quiz_row("py-decorator-wraps", "B")],
        mapping=[["map-iam", "identity", "AWS IAM", "Entra ID"]],
    )
    result = parse_sheets(sheets, bank, content_hash=DIGEST)
    assert result.source_format is SheetFormat.TEMPLATE
    assert only(result) == {"py-decorator-wraps": ("B",), "pd-vectorise": ("C",), "map-iam": "Entra ID"}
    assert result.problems == ()


def test_template_survives_blank_rows_trailing_spaces_and_reordered_sheets(bank: Bank) -> None:
    sheets = template(quiz=[[None] * 5, quiz_row(" py-decorator-wraps  ", " b "), [None] * 5])
    reordered = dict(reversed(list(sheets.items())))
    reordered["My notes"] = frame([["anything", "at all"]])
    result = parse_sheets(reordered, bank, content_hash=DIGEST)
    assert only(result) == {"py-decorator-wraps": ("B",)}
    assert result.problems == ()


def test_template_answer_location_is_recorded(bank: Bank) -> None:
    result = parse_sheets(template(quiz=[quiz_row("pd-vectorise", "C")]), bank, content_hash=DIGEST)
    answer = result.submissions[0].answers[0]
    assert (answer.sheet, answer.row, answer.column) == ("Quiz", 2, "E")


def test_header_row_moved_down_by_a_round_trip_is_still_found(bank: Bank) -> None:
    sheets = template()
    sheets["Quiz"] = frame([[None], ["Quiz"], ["Item ID", "Your answer"], ["pd-vectorise", "C"]])
    assert only(parse_sheets(sheets, bank, content_hash=DIGEST)) == {"pd-vectorise": ("C",)}


@pytest.mark.parametrize(
    ("cell", "keys"),
    [
        ("B", ("B",)),
        ("b", ("B",)),
        ("B) It copies the wrapped function's name", ("B",)),
        ("It copies the wrapped function's name, docstring and signature metadata onto the wrapper", ("B",)),
        ("it copies the wrapped functions name docstring and signature metadata onto the wrapper", ("B",)),
    ],
)
def test_single_choice_answers_are_normalised_to_keys(bank: Bank, cell: str, keys: tuple[str, ...]) -> None:
    result = parse_sheets(template(quiz=[quiz_row("py-decorator-wraps", cell)]), bank, content_hash=DIGEST)
    assert only(result) == {"py-decorator-wraps": keys}


@pytest.mark.parametrize("cell", ["A, B, D", "A;B;D;", "a b d", "D,A,B", "A/B/D"])
def test_multiple_choice_letters_in_any_separator_are_normalised(bank: Bank, cell: str) -> None:
    result = parse_sheets(template(quiz=[quiz_row("pd-memory", cell)]), bank, content_hash=DIGEST)
    assert only(result) == {"pd-memory": ("A", "B", "D")}


@pytest.mark.parametrize(
    ("item_id", "cell", "reason"),
    [
        ("py-decorator-wraps", "Z", "is not one of the options"),
        ("py-decorator-wraps", "something else entirely", "is not one of the options"),
        ("py-decorator-wraps", "A, B", "only one is allowed"),
        ("pd-memory", "A, Q", "is not one of the options"),
    ],
)
def test_unrecognised_choice_is_a_located_problem_and_counts_as_unanswered(
    bank: Bank, item_id: str, cell: str, reason: str
) -> None:
    result = parse_sheets(template(quiz=[quiz_row(item_id, cell)]), bank, content_hash=DIGEST)
    assert result.submissions[0].answer_for(item_id) is None
    (problem,) = result.problems
    assert (problem.sheet, problem.row, problem.column) == ("Quiz", 2, "E")
    assert reason in problem.message
    assert item_id in problem.message


def test_unknown_item_id_is_a_located_problem_and_the_rest_still_counts(bank: Bank) -> None:
    sheets = template(quiz=[quiz_row("no-such-item", "A"), quiz_row("pd-vectorise", "C")])
    result = parse_sheets(sheets, bank, content_hash=DIGEST)
    assert only(result) == {"pd-vectorise": ("C",)}
    assert messages(result.problems) == [
        f"sheet 'Quiz', row 2, column 'A': unknown item id 'no-such-item' (bank {bank.id} {bank.version})"
    ]


def test_an_item_answered_twice_keeps_the_first_and_reports_the_second(bank: Bank) -> None:
    sheets = template(quiz=[quiz_row("pd-vectorise", "C"), quiz_row("pd-vectorise", "A")])
    result = parse_sheets(sheets, bank, content_hash=DIGEST)
    assert only(result) == {"pd-vectorise": ("C",)}
    assert "answered again (first in row 2)" in result.problems[0].message


@pytest.mark.parametrize(("cell", "level"), [("4", 4), ("4.0", 4), ("5 - expert", 5), (" 1 ", 1)])
def test_confidence_ratings_stored_as_text_or_numbers_are_read(bank: Bank, cell: str, level: int) -> None:
    result = parse_sheets(
        template(ratings=[["identity", "Identity", "medium", cell]]), bank, content_hash=DIGEST
    )
    assert result.submissions[0].confidence == (("identity", level),)


@pytest.mark.parametrize(
    ("cell", "message"), [("7", "is 7, outside 1-5"), ("four", "must be a whole number 1-5")]
)
def test_a_rating_outside_one_to_five_is_a_located_problem(bank: Bank, cell: str, message: str) -> None:
    result = parse_sheets(
        template(ratings=[["identity", "Identity", "medium", cell]]), bank, content_hash=DIGEST
    )
    assert result.submissions[0].confidence == ()
    (problem,) = result.problems
    assert (problem.sheet, problem.row, problem.column) == ("Self-Assessment", 2, "D")
    assert message in problem.message


def test_unknown_topic_in_self_assessment_is_reported(bank: Bank) -> None:
    result = parse_sheets(template(ratings=[["cobol", "COBOL", "high", "3"]]), bank, content_hash=DIGEST)
    assert messages(result.problems) == [
        "sheet 'Self-Assessment', row 2, column 'A': unknown topic id 'cobol'"
    ]


@pytest.mark.parametrize(
    ("cell", "iso"), [("46346", "2026-11-20"), ("2026-11-20 00:00:00", "2026-11-20"), ("", "")]
)
def test_candidate_dates_as_serials_or_text_become_iso_dates(bank: Bank, cell: str, iso: str) -> None:
    result = parse_sheets(template(date=cell), bank, content_hash=DIGEST)
    assert result.submissions[0].candidate.date == iso


def test_template_submission_key_is_the_digest_and_email(bank: Bank) -> None:
    result = parse_sheets(template(email="Ada@Example.com "), bank, content_hash=DIGEST)
    assert result.submissions[0].submission_key == submission_key(DIGEST, "ada@example.com")


def test_template_without_an_email_is_rejected_for_want_of_identity(bank: Bank) -> None:
    with pytest.raises(WorkbookRejected, match=r"no candidate identity.*Email row of the 'Candidate' sheet"):
        parse_sheets(template(email=""), bank, content_hash=DIGEST)


def test_unknown_layout_is_rejected_saying_what_was_expected(bank: Bank) -> None:
    with pytest.raises(
        WorkbookRejected, match=r"expected the ReadyCheck template.*Microsoft Forms.*Google Forms"
    ):
        parse_sheets({"Sheet1": frame([["a", "b"], ["1", "2"]])}, bank, content_hash=DIGEST)


# ---------------------------------------------------------------- forms exports

MS_HEADER = ["ID", "Start time", "Completion time", "Email", "Name"]
WRAPS = "Why should a decorator wrap its inner function with functools.wraps?"
WRAPS_B = "It copies the wrapped function's name, docstring and signature metadata onto the wrapper"
MEMORY = "Which changes reduce the memory a pandas DataFrame uses? (choose all that apply)"


def ms(rows: Sequence[Sequence[Cell]], extra: Sequence[str] = (WRAPS,)) -> dict[str, pd.DataFrame]:
    return {"Sheet1": frame([[*MS_HEADER, *extra], *rows])}


def test_ms_forms_rows_become_one_submission_each(bank: Bank) -> None:
    result = parse_sheets(
        ms(
            [
                ["1", "46346.4", "46346.5", "a@x.com", "A", WRAPS_B],
                ["2", "46346.4", "46346.5", "b@x.com", "B", "B"],
            ]
        ),
        bank,
        content_hash=DIGEST,
    )
    assert result.source_format is SheetFormat.MS_FORMS
    assert [s.candidate.email for s in result.submissions] == ["a@x.com", "b@x.com"]
    assert all(s.answers[0].choices == ("B",) for s in result.submissions)
    assert result.submissions[0].candidate.date == "2026-11-20"
    assert len({s.submission_key for s in result.submissions}) == 2


def test_points_suffix_and_small_typos_in_question_headers_still_match(bank: Bank) -> None:
    typo = "Why shuld a decorator wrap its inner function with functools.wraps"
    sheets = ms([["1", "", "", "a@x.com", "A", WRAPS_B, "C"]], extra=[f"{MEMORY} (2 points)", typo])
    sheets["Sheet1"].loc[2, "F"] = (
        "Convert low-cardinality string columns to the category dtype;Call df.copy() after loading;"
    )
    sheets["Sheet1"].loc[2, "G"] = WRAPS_B
    result = parse_sheets(sheets, bank, content_hash=DIGEST)
    assert only(result) == {"py-decorator-wraps": ("B",), "pd-memory": ("A", "C")}


def test_a_question_column_matching_no_item_is_a_located_problem(bank: Bank) -> None:
    sheets = ms(
        [["1", "", "", "a@x.com", "A", WRAPS_B, "blue"]], extra=[WRAPS, "What is your favourite colour?"]
    )
    result = parse_sheets(sheets, bank, content_hash=DIGEST)
    assert only(result) == {"py-decorator-wraps": ("B",)}
    (problem,) = result.problems
    assert (problem.sheet, problem.row, problem.column) == ("Sheet1", 1, "G")
    assert "'What is your favourite colour?' matches no question" in problem.message


def test_points_and_feedback_columns_in_any_order_and_last_modified_time_are_ignored(bank: Bank) -> None:
    header = [*MS_HEADER, "Total points", "Quiz feedback", "Last modified time", WRAPS, f"Feedback - {WRAPS}"]
    header += [f"Points - {WRAPS}", MEMORY, f"Points - {MEMORY}"]
    row = [
        "1",
        "",
        "",
        "a@x.com",
        "A",
        "3",
        "",
        "",
        WRAPS_B,
        "well done",
        "1",
        "Call df.copy() after loading",
        "0",
    ]
    result = parse_sheets({"Sheet1": frame([header, row])}, bank, content_hash=DIGEST)
    assert only(result) == {"py-decorator-wraps": ("B",), "pd-memory": ("C",)}
    assert result.problems == ()


def test_localised_ms_forms_headers_are_recognised(bank: Bank) -> None:
    header = [
        "ID",
        "Startzeit",
        "Fertigstellungszeit",
        "E-Mail",
        "Name",
        "Gesamtpunktzahl",
        WRAPS,
        f"Punkte - {WRAPS}",
    ]
    result = parse_sheets(
        {"Tabelle1": frame([header, ["7", "", "", "k@x.de", "K", "1", WRAPS_B, "1"]])},
        bank,
        content_hash=DIGEST,
    )
    assert result.source_format is SheetFormat.MS_FORMS
    assert only(result) == {"py-decorator-wraps": ("B",)}


def test_anonymous_responses_stay_apart_by_response_id_and_say_so(bank: Bank) -> None:
    rows = [["11", "", "", "anonymous", "anonymous", "A"], ["12", "", "", "anonymous", "anonymous", "B"]]
    result = parse_sheets(ms(rows), bank, content_hash=DIGEST)
    assert len({s.submission_key for s in result.submissions}) == 2
    assert [s.candidate.email for s in result.submissions] == ["anonymous", "anonymous"]
    assert "identity is anonymous" in result.submissions[0].problems[0].message
    assert "response id 11" in result.submissions[0].problems[0].message


def test_two_responses_with_one_email_keep_the_latest_and_report_the_other(bank: Bank) -> None:
    rows = [
        ["1", "", "2026-11-21 10:00:00", "a@x.com", "A", "C"],
        ["2", "", "2026-11-20 10:00:00", "A@X.com", "A", "B"],
    ]
    result = parse_sheets(ms(rows), bank, content_hash=DIGEST)
    assert only(result) == {"py-decorator-wraps": ("C",)}
    assert messages(result.problems) == [
        "sheet 'Sheet1', row 3: 'a@x.com' also answered in row 2; "
        "that later response is kept and this one is ignored"
    ]


def test_response_times_with_and_without_offsets_still_order_duplicates(bank: Bank) -> None:
    rows = [
        ["1", "", "2026-11-21T10:00:00+02:00", "a@x.com", "A", "C"],
        ["2", "", "2026-11-21 09:00:00", "a@x.com", "A", "B"],
    ]
    result = parse_sheets(ms(rows), bank, content_hash=DIGEST)
    assert only(result) == {"py-decorator-wraps": ("B",)}
    assert result.problems[0].row == 2


def test_blank_rows_in_an_export_are_skipped_silently(bank: Bank) -> None:
    result = parse_sheets(ms([[None] * 6, ["1", "", "", "a@x.com", "A", "B"]]), bank, content_hash=DIGEST)
    assert len(result.submissions) == 1
    assert result.problems == ()


def test_a_forms_row_with_no_identity_is_skipped_with_a_problem(bank: Bank) -> None:
    rows = [["", "", "", "", "", "B"], ["2", "", "", "a@x.com", "A", "B"]]
    sheets = {"Sheet1": frame([["Timestamp", "Email Address", WRAPS], *[[r[0], r[3], r[5]] for r in rows]])}
    result = parse_sheets(sheets, bank, content_hash=DIGEST)
    assert [s.candidate.email for s in result.submissions] == ["a@x.com"]
    assert "cannot be attributed" in result.problems[0].message
    assert result.problems[0].row == 2


def test_google_forms_multi_picks_joined_by_commas_are_split_on_option_texts(bank: Bank) -> None:
    picks = (
        "Convert low-cardinality string columns to the category dtype, "
        "Read only the needed columns with usecols"
    )
    sheets = {
        "Form Responses 1": frame(
            [["Timestamp", "Email Address", "Score", MEMORY], ["", "g@x.com", "1 / 2", picks]]
        )
    }
    result = parse_sheets(sheets, bank, content_hash=DIGEST)
    assert result.source_format is SheetFormat.GOOGLE_FORMS
    assert only(result) == {"pd-memory": ("A", "D")}


def test_confidence_columns_in_forms_are_matched_to_topics(bank: Bank) -> None:
    sheets = {"Sheet1": frame([["Timestamp", "Email Address", "Confidence: Identity"], ["", "g@x.com", "4"]])}
    assert parse_sheets(sheets, bank, content_hash=DIGEST).submissions[0].confidence == (("identity", 4),)


def test_google_export_without_email_or_name_is_rejected_for_want_of_identity(bank: Bank) -> None:
    with pytest.raises(WorkbookRejected, match=r"no candidate identity.*Email column"):
        parse_sheets({"S": frame([["Timestamp", WRAPS], ["", "B"]])}, bank, content_hash=DIGEST)


def test_forms_export_matching_no_question_is_rejected(bank: Bank) -> None:
    with pytest.raises(WorkbookRejected, match="nothing to grade") as err:
        parse_sheets(
            {"S": frame([["Timestamp", "Email Address", "Colour?"], ["", "g@x.com", "red"]])},
            bank,
            content_hash=DIGEST,
        )
    assert err.value.problems[0].column == "C"


# ---------------------------------------------------------------- any cells at all

_WORDS = st.sampled_from(
    [
        "Item ID", "Your answer", "Topic ID", "Confidence (1-5)", "Email", "Name", "ID", "Start time",
        "Completion time", "Timestamp", "Email Address", "anonymous", "py-decorator-wraps", "pd-memory",
        "identity", "A", "B, C", "7", "46346", WRAPS, MEMORY, "nan", "", " ", "=1+1", "Points - x",
    ]
)  # fmt: skip
_CELLS = st.one_of(st.none(), _WORDS, st.text(max_size=30))
_SHEET_NAMES = st.sampled_from(["Candidate", "Quiz", "Self-Assessment", "Sheet1", "Form Responses 1", "x"])


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        _SHEET_NAMES,
        st.lists(st.lists(_CELLS, min_size=1, max_size=6), min_size=0, max_size=8),
        max_size=3,
    )
)
def test_random_cells_never_raise_anything_but_a_rejection(sheets: dict[str, list[list[Cell]]]) -> None:
    bank = load_bank()
    frames = {name: frame(rows) if rows else pd.DataFrame() for name, rows in sheets.items()}
    outcome = _parse_or_rejection(frames, bank)
    if isinstance(outcome, WorkbookRejected):
        assert outcome.message
    else:
        assert all(s.submission_key for s in outcome.submissions)


def _parse_or_rejection(frames: dict[str, pd.DataFrame], bank: Bank) -> ParseResult | WorkbookRejected:
    try:
        return parse_sheets(frames, bank, content_hash=DIGEST)
    except WorkbookRejected as rejected:
        return rejected
