"""The real :class:`~shared.ports.GradingEngine`: the core's parser, grader, assessor and renderers.

Heavy modules (pandas through the Excel adapter, python-docx, matplotlib) are imported inside
the methods, so only the functions that parse or render pay for them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import cached_property
from typing import TYPE_CHECKING

from shared.bank import Bank, Section, load_bank
from shared.ports import FinishedSubmission, Scores
from shared.settings import Settings
from shared.submission import ParseResult, Submission

if TYPE_CHECKING:
    from shared.attempts import Attempt
    from shared.grading import GradedSubmission, GradingPlan
    from shared.readiness import Readiness


class CoreEngine:
    """Parsing, grading and rendering with the shipped question bank and the configured bands."""

    def __init__(self, settings: Settings) -> None:
        self._settings = settings

    @cached_property
    def _bank(self) -> Bank:
        return load_bank()

    def parse(self, data: bytes, source_name: str) -> ParseResult:
        """Parse and validate a workbook within the configured limits."""
        from shared.adapters.workbook_parser import parse_workbook

        return parse_workbook(data, self._bank, self._settings.limits, source_name=source_name)

    @cached_property
    def _plan(self) -> GradingPlan:
        # Compiled on the first grading, once per worker: indexing and HTTP routes never pay for it.
        from shared.grading import GradingPlan

        return GradingPlan.of(self._bank)

    def grade(self, submission: Submission, section: Section) -> str:
        """One section's result as JSON."""
        from shared.grading import grade_section

        return grade_section(submission, section, self._plan).model_dump_json()

    def finish(
        self, submission: Submission, section_results: Sequence[str], history: Sequence[Attempt] = ()
    ) -> FinishedSubmission:
        """Assemble, assess and render one candidate's report, with the trend over ``history``."""
        from shared.adapters.docx_report import render_report
        from shared.report import build_report

        graded, readiness = self._assessed(submission, section_results)
        report = render_report(build_report(submission, graded, readiness, self._bank, history=history))
        scores = Scores(
            percent=readiness.overall,
            verdict=readiness.verdict.value,
            areas={a.area.value: a.percent for a in readiness.areas},
        )
        return FinishedSubmission(report, scores, {t.name: t.percent for t in readiness.topics})

    def digest(
        self,
        day: str,
        finished: Sequence[tuple[Submission, Sequence[str]]],
        counts: Mapping[str, int],
        report_urls: Mapping[str, str] | None = None,
        earlier_verdicts: Mapping[str, str] | None = None,
    ) -> bytes:
        """The day's digest document."""
        from shared.adapters.digest_docx import render_digest
        from shared.digest import build_digest

        pairs = [self._assessed(s, r) for s, r in finished]
        graded, assessments = [g for g, _ in pairs], [a for _, a in pairs]
        model = build_digest(day, counts, graded, assessments, self._bank, report_urls, earlier_verdicts)
        return render_digest(model)

    def template(self) -> bytes:
        """The blank answer sheet (built once per worker: the bank does not change while it runs)."""
        return self._template

    @cached_property
    def _template(self) -> bytes:
        from shared.adapters.template_writer import build_template

        return build_template(self._bank)

    def _assessed(
        self, submission: Submission, section_results: Sequence[str]
    ) -> tuple[GradedSubmission, Readiness]:
        from shared.grading import SectionResult, assemble
        from shared.readiness import assess

        graded = assemble(
            submission, [SectionResult.model_validate_json(r) for r in section_results], self._bank
        )
        return graded, assess(graded, self._bank, self._settings.bands)
