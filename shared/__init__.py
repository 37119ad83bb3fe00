"""ReadyCheck's core: question bank, answer sheets, grading, readiness and reports."""
