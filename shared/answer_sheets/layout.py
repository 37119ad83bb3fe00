"""The template's layout: sheet names, headers and candidate fields the builder writes and the parser finds.

The parser looks these up by name, never by position, so reordered sheets, rows and columns still parse.
"""

from __future__ import annotations

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


def choice_label(key: str, text: str) -> str:
    """How the template shows an option: ``A) text``."""
    return f"{key}) {text}"
