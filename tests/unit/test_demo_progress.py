"""``make demo``'s progress: a live bar on a terminal, one plain line per change in a log."""

from __future__ import annotations

import io

from scripts.demo import LiveBar, PlainLines, Upload, progress_view


class Terminal(io.StringIO):
    """A stream that says it is a terminal, as a console's stdout does."""

    def isatty(self) -> bool:
        return True


def _uploads(status: str, submissions: list[str]) -> list[Upload]:
    upload = Upload("candidate-amara-okafor.xlsx", "http")
    upload.status = {"status": status, "submissions": [{"status": s} for s in submissions]}
    return [upload]


def test_a_log_gets_one_plain_line_per_change_and_no_carriage_returns() -> None:
    log = io.StringIO()
    with progress_view(log) as view:
        assert isinstance(view, PlainLines)
        view.show(_uploads("grading", ["grading", "grading"]))
        view.show(_uploads("grading", ["grading", "grading"]))
        view.show(_uploads("grading", ["graded", "grading"]))
        view.show(_uploads("graded", ["graded", "graded"]))
    out = log.getvalue()
    assert "\r" not in out
    assert out.splitlines() == [
        "  0/2 submissions finished | candidate-amara-okafor: grading",
        "  1/2 submissions finished | candidate-amara-okafor: grading",
        "  2/2 submissions finished | candidate-amara-okafor: graded",
    ]


def test_a_terminal_gets_a_live_bar_that_ends_at_the_finished_count() -> None:
    terminal = Terminal()
    with progress_view(terminal) as view:
        assert isinstance(view, LiveBar)
        view.show(_uploads("grading", ["graded", "grading"]))
        view.show(_uploads("graded", ["graded", "graded"]))
    assert "2/2" in terminal.getvalue()
    assert "candidate-amara-okafor: graded" in terminal.getvalue()
