"""The offline grader: one workbook in, one report per candidate and ``summary.json`` out.

It drives the same :class:`~shared.ports.GradingEngine` as the Functions app (parse, grade each
section, finish), so an offline report is the report the pipeline would render.

Exit status: 0 everything graded cleanly, 1 graded but some submissions (or the file) had
problems, which are listed, 2 the file was rejected. Messages are plain, never tracebacks.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TextIO

from shared.bank import Section, load_bank
from shared.errors import Problem, ReadyCheckError, WorkbookRejected
from shared.grading import ItemResult, SectionResult, assemble
from shared.ports import GradingEngine
from shared.settings import Connection, ParseLimits, ReadinessBands, Settings
from shared.submission import Submission

# Above this many candidates the grader reports progress and verdict counts, not every name.
LIST_LIMIT = 25
PROGRESS_STEPS = 10


def report_name(submission: Submission) -> str:
    """A readable, unique file name for a candidate's report."""
    who = submission.candidate.name or submission.candidate.email.split("@", 1)[0] or "candidate"
    ascii_name = unicodedata.normalize("NFKD", who).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.casefold()).strip("-")[:40] or "candidate"
    return f"{slug}-{submission.submission_key[:8]}.docx"


def item_summary(result: ItemResult) -> dict[str, object]:
    """One item's result as a recruiter's tools load it: points, status, review and the evidence."""
    return {
        "item_id": result.item_id,
        "points": result.points,
        "max_points": result.max_points,
        "status": result.status.value,
        "needs_review": result.needs_review,
        "review_reason": result.review_reason,
        "credited": [
            {"concept": e.concept, "credit": e.state, "quote": e.quote}
            for e in result.evidence
            if e.state != "misstated"
        ],
        "misstatements": [
            {"concept": e.concept, "quote": e.quote} for e in result.evidence if e.state == "misstated"
        ],
    }


def offline_settings(env: Mapping[str, str]) -> Settings:
    """The app's settings for grading without Azure: parse limits and verdict bands from ``env``.

    The offline grader talks to no service, so neither connection is required or configured.
    """
    return Settings(
        storage=Connection(name="READYCHECK_STORAGE"),
        servicebus=Connection(name="READYCHECK_SERVICEBUS"),
        limits=ParseLimits.from_env(env),
        bands=ReadinessBands.from_env(env),
    )


def grade_workbook(
    path: Path,
    out_dir: Path,
    stream: TextIO,
    settings: Settings,
    *,
    engine: GradingEngine | None = None,
    list_limit: int = LIST_LIMIT,
) -> int:
    """Grade every submission in a workbook into reports and summary.json; returns the exit status.

    ``engine`` defaults to the app's own (:class:`~shared.adapters.core_engine.CoreEngine`).
    """
    from shared.adapters.core_engine import CoreEngine

    engine = engine or CoreEngine(settings)
    bank, bands = load_bank(), settings.bands
    try:
        data = path.read_bytes()
    except OSError as err:
        print(f"error: cannot read {path}: {err.strerror or err}", file=stream)
        return 2
    try:
        parsed = engine.parse(data, path.name)
    except WorkbookRejected as err:
        print(f"error: {path} was rejected: {err.message}", file=stream)
        for problem in err.problems:
            print(f"  - {problem}", file=stream)
        return 2
    if not parsed.submissions:
        print(f"error: {path} was rejected: it holds no submission that can be attributed", file=stream)
        for problem in parsed.problems:
            print(f"  - {problem}", file=stream)
        return 2

    # Parsing lists every problem; those of one submission are reported with it, once.
    attributed = {p for s in parsed.submissions for p in s.problems}
    file_problems = tuple(p for p in parsed.problems if p not in attributed)
    out_dir.mkdir(parents=True, exist_ok=True)
    total = len(parsed.submissions)
    print(f"grading {total} submission(s) from {path} ({parsed.source_format.value} format)", file=stream)
    candidates: list[dict[str, Any]] = []
    failed = 0
    step = max(1, total // PROGRESS_STEPS)
    for number, submission in enumerate(parsed.submissions, start=1):
        entry: dict[str, Any] = {
            "id": submission.submission_key,
            "name": submission.candidate.name,
            "email": submission.candidate.email,
            "problems": [str(p) for p in submission.problems],
        }
        try:
            section_results = [engine.grade(submission, section) for section in Section]
            finished = engine.finish(submission, section_results)
            items = assemble(
                submission, [SectionResult.model_validate_json(r) for r in section_results], bank
            ).items
            name = report_name(submission)
            (out_dir / name).write_bytes(finished.report)
        except ReadyCheckError as err:
            failed += 1
            entry["problems"] = [*entry["problems"], f"not graded: {err}"]
            candidates.append(entry)
            continue
        entry.update(
            overall=finished.scores.percent,
            areas=dict(finished.scores.areas),
            verdict=finished.scores.verdict,
            needs_review=[r.item_id for r in items if r.needs_review],
            items=[item_summary(r) for r in items],
            report=name,
        )
        candidates.append(entry)
        if total > list_limit and (number % step == 0 or number == total):
            print(f"  graded {number} of {total}", file=stream)
    summary = {
        "workbook": path.name,
        "format": parsed.source_format.value,
        "bank": {"id": bank.id, "version": bank.version},
        "bands": {"ready": bands.ready, "almost": bands.almost},
        "problems": [str(p) for p in file_problems],
        "candidates": candidates,
    }
    (out_dir / "summary.json").write_text(json.dumps(summary, indent=2, ensure_ascii=False) + "\n", "utf-8")
    _tell(stream, file_problems, candidates, out_dir, list_limit)
    with_problems = [c for c in candidates if c["problems"]]
    return 1 if failed or file_problems or with_problems else 0


def _tell(
    stream: TextIO,
    file_problems: tuple[Problem, ...],
    candidates: list[dict[str, Any]],
    out_dir: Path,
    list_limit: int,
) -> None:
    graded = [c for c in candidates if "verdict" in c]
    if len(candidates) <= list_limit:
        for c in graded:
            print(
                f"  {c['name'] or c['email']}: {c['overall']:.0f}% {c['verdict']} -> {c['report']}",
                file=stream,
            )
    else:
        counts = Counter(str(c["verdict"]) for c in graded)
        print("  " + ", ".join(f"{n} {v}" for v, n in sorted(counts.items())), file=stream)
    for problem in file_problems:
        print(f"problem: {problem}", file=stream)
    for c in candidates:
        for problem in c["problems"]:
            print(f"problem ({c['email']}): {problem}", file=stream)
    print(f"wrote {len(graded)} report(s) and summary.json to {out_dir}", file=stream)
