"""Renders the daily digest (.docx) byte-for-byte reproducibly: same model, same bytes.

Page one is what a reviewer scans: counts, charts of the score distribution, verdicts and topic
means, and today's candidates with their verdicts and report links. Items follow by their question
text, weakest first. Every table has a heading or a paragraph before it: two tables in a row are
joined into one by Word and LibreOffice. One font family throughout (``docx_fonts``).
"""

from __future__ import annotations

import io
import zipfile
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared.adapters.docx_fonts import FONT_FAMILY, THEME_PART, one_font_family
from shared.digest import DigestModel
from shared.readiness import CohortStats
from shared.report import short_label

# Zip entries and core properties carry times; pinning them makes a rerun replace the blob identically.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)
_TABLE_STYLE = "Light Grid Accent 1"
_CHART_DPI = 110
_CM_PAGE_WIDTH = 17.0
# Verdict colours as the report's chart uses them: ready, almost ready, not yet.
_VERDICT_COLOURS = ("#2e7d32", "#ef8f00", "#c62828")
_BAR_COLOUR = "#4f81bd"


def _table(
    document: Any,
    header: Sequence[str],
    rows: Sequence[Sequence[str]],
    widths_cm: Sequence[float],
    small_column: int | None = None,
) -> None:
    """A table in the digest's style; ``small_column`` is set in a smaller size (long links)."""
    from docx.shared import Cm, Pt

    table = document.add_table(rows=1 + len(rows), cols=len(header))
    table.style = _TABLE_STYLE
    table.autofit = False
    # LibreOffice lays a table out by its grid, Word by its cells: both get the widths.
    for column, width in zip(table._tbl.tblGrid.gridCol_lst, widths_cm, strict=True):
        column.w = Cm(width)
    for row in table.rows:
        for cell, width in zip(row.cells, widths_cm, strict=True):
            cell.width = Cm(width)
    for number, (row, values) in enumerate(zip(table.rows, [header, *rows], strict=True)):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value
        if number and small_column is not None:
            for run in row.cells[small_column].paragraphs[0].runs:
                run.font.size = Pt(8)


def _png(figure: Any) -> bytes:
    buffer = io.BytesIO()
    # No "Software" stamp: the same figure gives the same bytes.
    figure.savefig(buffer, format="png", metadata={"Software": None})
    return buffer.getvalue()


def _cohort_chart(stats: CohortStats) -> bytes:
    """Score distribution and verdict counts, side by side, every bar labelled with its count."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    figure = Figure(figsize=(6.6, 2.2), dpi=_CHART_DPI, layout="constrained")
    spread, verdicts = figure.subplots(1, 2, width_ratios=(3, 2))
    labels = [b.label for b in stats.distribution]
    counts = [b.count for b in stats.distribution]
    bars = spread.bar(labels, counts, color=_BAR_COLOUR)
    spread.bar_label(bars, fontsize=7)
    spread.set_title("Overall score (%)", fontsize=8)
    spread.tick_params(axis="x", labelsize=6, rotation=45)
    bars = verdicts.bar(
        [str(v) for v, _ in stats.verdicts], [n for _, n in stats.verdicts], color=_VERDICT_COLOURS
    )
    verdicts.bar_label(bars, fontsize=7)
    verdicts.set_title("Verdicts", fontsize=8)
    verdicts.tick_params(axis="x", labelsize=7)
    for axes in (spread, verdicts):
        axes.yaxis.set_major_locator(MaxNLocator(integer=True))
        axes.tick_params(axis="y", labelsize=7)
        axes.set_ylabel("candidates", fontsize=7)
        axes.spines[["top", "right"]].set_visible(False)
        axes.margins(y=0.2)
    return _png(figure)


def _topic_chart(stats: CohortStats) -> bytes:
    """Each topic's mean score, a bar and a value label per topic (0% shows as 0%)."""
    from matplotlib.figure import Figure

    topics = list(reversed(stats.topics))
    figure = Figure(figsize=(6.6, 0.5 + 0.2 * len(topics)), dpi=_CHART_DPI, layout="constrained")
    axes = figure.subplots()
    bars = axes.barh(
        [short_label(t.name) for t in topics], [max(t.mean, 0.8) for t in topics], color=_BAR_COLOUR
    )
    axes.bar_label(bars, labels=[f"{t.mean:.0f}%" for t in topics], fontsize=7, padding=2)
    axes.set_xlim(0, 110)
    axes.set_xticks(range(0, 101, 20))
    axes.set_xlabel("mean score %", fontsize=7)
    axes.tick_params(labelsize=7)
    axes.spines[["top", "right"]].set_visible(False)
    return _png(figure)


def _picture(document: Any, png: bytes, description: str) -> None:
    from docx.shared import Cm

    document.add_picture(io.BytesIO(png), width=Cm(_CM_PAGE_WIDTH))
    document.inline_shapes[-1]._inline.docPr.set("descr", description)


def render_digest(model: DigestModel) -> bytes:
    """The digest document of one day."""
    from docx import Document
    from docx.shared import Cm

    document = Document()
    document.styles["Normal"].font.name = FONT_FAMILY
    section = document.sections[0]
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.0)
    section.top_margin = section.bottom_margin = Cm(1.8)
    document.add_heading(f"ReadyCheck daily digest: {model.day}", level=0)
    document.add_heading("Uploads and submissions", level=1)
    _table(document, ("What", "How many"), [(k.capitalize(), str(n)) for k, n in model.counts], (12.0, 4.9))
    if model.empty:
        document.add_paragraph("No answer sheets arrived on this day.")
        return _reproducible(document, model.day)
    stats = model.stats
    if stats is None:
        document.add_paragraph("No submission was graded on this day yet.")
        return _reproducible(document, model.day)
    document.add_heading("Readiness", level=1)
    document.add_paragraph(
        f"{stats.count} graded: mean {stats.mean:g}%, median {stats.median:g}%, "
        f"range {stats.minimum:g}-{stats.maximum:g}%, standard deviation {stats.stdev:g}."
    )
    spread = ", ".join(f"{b.label}%: {b.count}" for b in stats.distribution if b.count)
    verdicts = ", ".join(f"{v}: {n}" for v, n in stats.verdicts)
    _picture(
        document,
        _cohort_chart(stats),
        f"Bar charts of the day's overall scores by band ({spread}) and of verdicts ({verdicts}).",
    )
    document.add_heading("Today's candidates", level=1)
    _table(
        document,
        ("Candidate", "Score", "Verdict", "Report"),
        [(c.name, f"{c.overall:g}%", c.verdict, c.report_url or "-") for c in model.candidates],
        (3.4, 1.8, 2.3, 9.4),
        small_column=3,
    )
    if model.moved_up:
        document.add_heading("Moved up a verdict band since their last attempt", level=2)
        for move in model.moved_up:
            document.add_paragraph(f"{move.name}: {move.before} \u2192 {move.now}", style="List Bullet")
    document.add_heading("Topics", level=1)
    means = "; ".join(f"{t.name} {t.mean:.0f}%" for t in stats.topics)
    _picture(document, _topic_chart(stats), f"Bar chart of each topic's mean score: {means}.")
    document.add_paragraph("Weakest topics:")
    names = {t.topic_id: t for t in stats.topics}
    for topic_id in stats.weakest_topics:
        document.add_paragraph(f"{names[topic_id].name}: mean {names[topic_id].mean:g}%", style="List Bullet")
    document.add_heading("Who most needs help", level=1)
    _table(
        document,
        ("Candidate", "Overall", "Verdict", "Weakest topics"),
        [
            (h.name, f"{h.overall:g}%", h.verdict, ", ".join(short_label(t) for t in h.weakest_topics))
            for h in model.needs_help
        ],
        (4.0, 2.0, 2.4, 8.5),
    )
    document.add_heading("Items, weakest first", level=1)
    document.add_paragraph(
        "Difficulty is the share answering fully correctly; discrimination is how much better the top "
        "quarter did than the bottom quarter (low or negative values deserve a look at the item). "
        "The most common wrong answer is shown when at least two candidates gave it."
    )
    _table(
        document,
        ("Question", "Topic", "Difficulty", "Discrimination", "Most common wrong answer"),
        [
            (
                f"{i.number}. {i.question}",
                short_label(i.topic),
                f"{i.difficulty:.2f}",
                f"{i.discrimination:+.2f}",
                f"{i.common_wrong} ({i.common_wrong_count} of {i.answered})" if i.common_wrong else "-",
            )
            for i in model.items
        ],
        (6.4, 3.0, 1.8, 2.2, 3.5),
    )
    document.add_heading("The charts' numbers", level=1)
    document.add_heading("Verdicts", level=2)
    _table(document, ("Verdict", "Candidates"), [(str(v), str(n)) for v, n in stats.verdicts], (8.0, 8.9))
    document.add_heading("Score bands", level=2)
    _table(
        document,
        ("Score band", "Candidates"),
        [(f"{b.label}%", str(b.count)) for b in stats.distribution],
        (8.0, 8.9),
    )
    return _reproducible(document, model.day)


def _reproducible(document: Any, day: str) -> bytes:
    stamp = datetime.fromisoformat(f"{day}T00:00:00")
    props = document.core_properties
    props.created = props.modified = props.last_printed = stamp
    props.revision = 1
    props.author = props.last_modified_by = "ReadyCheck"
    props.title = f"ReadyCheck daily digest {day}"
    raw = io.BytesIO()
    document.save(raw)
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(raw.getvalue())) as source,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target,
    ):
        for info in source.infolist():
            data = source.read(info)
            target.writestr(
                zipfile.ZipInfo(info.filename, _ZIP_TIME),
                one_font_family(data) if info.filename == THEME_PART else data,
                zipfile.ZIP_DEFLATED,
            )
    return out.getvalue()
