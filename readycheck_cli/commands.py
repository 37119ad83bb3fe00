"""ReadyCheck's command line: ``readycheck template|grade`` (also ``python -m readycheck_cli``).

Exit status: 0 success, 1 graded with problems, 2 rejected or bad usage. Errors are
plain messages, never tracebacks.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from shared.errors import ReadyCheckError


def _template(args: argparse.Namespace) -> int:
    from readycheck_cli.offline_grader import offline_settings
    from shared.adapters.core_engine import CoreEngine

    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_bytes(CoreEngine(offline_settings(os.environ)).template())
    print(f"wrote blank answer sheet to {out}")
    return 0


def _grade(args: argparse.Namespace) -> int:
    from readycheck_cli.offline_grader import grade_workbook, offline_settings

    return grade_workbook(Path(args.workbook), Path(args.out), sys.stderr, offline_settings(os.environ))


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit status."""
    parser = argparse.ArgumentParser(prog="readycheck", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    template = commands.add_parser("template", help="write the blank answer-sheet workbook")
    template.add_argument("--out", default="answer-sheet-template.xlsx", help="where to write it")
    template.set_defaults(run=_template)
    grade = commands.add_parser("grade", help="grade every submission in a workbook")
    grade.add_argument("workbook", help="an answer sheet, Microsoft Forms or Google Forms export")
    grade.add_argument("--out", default="out", help="folder for the reports and summary.json")
    grade.set_defaults(run=_grade)
    args = parser.parse_args(argv)
    try:
        return int(args.run(args))
    except ReadyCheckError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except OSError as err:
        print(f"error: {err.strerror or err}: {err.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
