"""Forms locales: the header texts of Microsoft and Google Forms exports in English and a few other languages.

The values are normalised with :func:`shared.answer_sheets.cells.norm`, so case, punctuation and
spacing do not matter (accents are kept).
"""

from __future__ import annotations

MS_META: dict[str, tuple[str, ...]] = {
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
# ``Points - <question>`` / ``Feedback - <question>`` column prefixes.
MS_PER_QUESTION_PREFIXES = (
    "points",
    "feedback",
    "punkte",
    "commentaires",
    "puntos",
    "comentarios",
    "punti",
)
GOOGLE_META: dict[str, tuple[str, ...]] = {
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
IDENTITY_QUESTIONS: dict[str, tuple[str, ...]] = {
    "name": ("name", "full name", "your name", "candidate name", "candidate"),
    "target_role": ("target role", "role", "position"),
}
# How a self-assessment question may start: "Confidence: <topic>".
SELF_ASSESSMENT_PREFIXES = ("confidence", "self assessment", "selfassessment", "self assessment confidence")
# ``(2 points)``-style suffixes Forms adds to question headers.
POINTS_SUFFIX = r"\(\s*\d+(?:[.,]\d+)?\s*(?:points?|pts?|punkte|puntos|punti)\s*\)\s*$"
# Google's ``<question> [Score]`` / ``[Feedback]`` columns.
GOOGLE_PER_QUESTION = r"\[\s*(?:score|feedback)\s*\]\s*$"
ANONYMOUS = "anonymous"


def is_ms_forms(labels: set[str]) -> bool:
    """Whether a header row's normalised labels are a Microsoft Forms export's."""
    has = {kind for kind, names in MS_META.items() if labels & set(names)}
    # Forms that record no email still have the response id and the two times.
    return "id" in has and len(has & {"start", "completion", "email", "name"}) >= 2


def is_google_forms(labels: set[str]) -> bool:
    """Whether a header row's normalised labels are a Google Forms export's."""
    return bool(labels & set(GOOGLE_META["timestamp"]))
