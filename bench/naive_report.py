"""The straightforward report build the renderer is measured against.

Written the way a first version usually is: a default-size matplotlib figure saved as PNG, and
python-docx tables filled cell by cell with ``table.cell(i, j).text``.
"""

from __future__ import annotations

import io
from collections import defaultdict

from shared.bank import Bank
from shared.grading import GradedSubmission


def render_naive(graded: GradedSubmission, bank: Bank) -> bytes:
    """A readiness report for one graded submission, built naively; returns .docx bytes."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from docx import Document
    from docx.shared import Inches

    by_topic: dict[str, list[float]] = defaultdict(lambda: [0.0, 0.0])
    for item in graded.items:
        by_topic[item.topic][0] += item.points
        by_topic[item.topic][1] += item.max_points
    topics = [(bank.topic(t), got / top * 100 if top else 0.0) for t, (got, top) in by_topic.items()]

    fig, ax = plt.subplots()
    ax.barh([t.name for t, _ in topics], [score for _, score in topics])
    ax.set_xlim(0, 100)
    chart = io.BytesIO()
    fig.savefig(chart, format="png")
    plt.close(fig)

    doc = Document()
    doc.add_heading(f"Readiness report: {graded.candidate.name}", 0)
    doc.add_paragraph(f"Score {graded.points:g} of {graded.max_points:g}")
    doc.add_picture(io.BytesIO(chart.getvalue()), width=Inches(6))
    table = doc.add_table(rows=len(topics) + 1, cols=4)
    for j, heading in enumerate(("Topic", "Area", "Priority", "Score")):
        table.cell(0, j).text = heading
    for i, (topic, score) in enumerate(topics, start=1):
        for j, text in enumerate((topic.name, topic.area.value, topic.priority.value, f"{score:.0f}%")):
            table.cell(i, j).text = text
    items = doc.add_table(rows=len(graded.items) + 1, cols=4)
    for j, heading in enumerate(("Item", "Points", "Status", "Feedback")):
        items.cell(0, j).text = heading
    for i, item in enumerate(graded.items, start=1):
        row = (item.item_id, f"{item.points:g}/{item.max_points:g}", item.status.value, item.feedback)
        for j, text in enumerate(row):
            items.cell(i, j).text = text
    doc.add_heading("Study plan", 1)
    for topic, score in sorted(topics, key=lambda ts: ts[1]):
        if score < 80:
            doc.add_paragraph(f"{topic.name}: {topic.study}", style="List Bullet")
    out = io.BytesIO()
    doc.save(out)
    return out.getvalue()
