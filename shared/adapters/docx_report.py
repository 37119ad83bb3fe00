"""Lays a :class:`~shared.report.ReportModel` out as a .docx with python-docx and a matplotlib chart.

Only styles of the default template are used (headings, table and list styles), so the
document restyles cleanly in Word and LibreOffice. Candidates' text is inserted as text.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from shared.report import ItemSection, ReportModel, StudyLine, points_text

_TABLE_STYLE = "Light List Accent 1"
# Colours of the verdict bands in the chart: ready, almost ready, not yet.
_BAND_COLOURS = ("#2e7d32", "#ef8f00", "#c62828")
# Characters XML 1.0 cannot hold; a pasted answer may contain them.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# The text width of an A4 page with 2 cm margins. Table columns add up to 16.9 cm, a millimetre
# inside, because Word stores widths in twentieths of a point and rounding must not push them over.
_CM_PAGE_WIDTH = 17.0
_CHART_DPI = 110
_CONCEPTS_SHOWN = 4
# Drawing the labels is most of a chart's cost and they depend only on the bank, so drawn
# frames are kept per bank layout. An Agg canvas is not safe to share between threads, and
# the Functions worker renders on several.
_CHART_LOCK = threading.Lock()
_FRAME_CACHE = 8
_FRAMES: dict[tuple[tuple[str, ...], tuple[bool, ...], int, int], _ChartFrame] = {}


def _text(value: str) -> str:
    return _XML_INVALID.sub("", value)


@dataclass(slots=True)
class _ChartFrame:
    """A drawn chart without its bars: labels, axes and band lines are the same for every candidate."""

    canvas: Any
    axes: Any
    bars: Any
    background: Any


def _frame(labels: tuple[str, ...], areas: tuple[bool, ...], ready_at: int, almost_at: int) -> _ChartFrame:
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(6.6, 0.6 + 0.24 * len(labels)), dpi=_CHART_DPI)
    canvas: Any = FigureCanvasAgg(figure)
    axes = figure.add_axes((0.34, 0.07, 0.6, 0.9))
    positions = list(range(len(labels)))
    bars = axes.barh(positions, [0.0] * len(labels), height=0.7, animated=True)
    axes.set_yticks(positions, labels, fontsize=8)
    for tick, is_area in zip(axes.get_yticklabels(), areas, strict=True):
        if is_area:
            tick.set_fontweight("bold")
    axes.axvline(ready_at, color=_BAND_COLOURS[0], linestyle="--", linewidth=0.8)
    axes.axvline(almost_at, color=_BAND_COLOURS[1], linestyle=":", linewidth=0.8)
    axes.set_xlim(0, 100)
    axes.set_xlabel("score %", fontsize=7)
    axes.tick_params(axis="x", labelsize=7)
    axes.spines[["top", "right"]].set_visible(False)
    canvas.draw()
    return _ChartFrame(canvas, axes, bars, canvas.copy_from_bbox(figure.bbox))


def _chart_png(model: ReportModel) -> bytes:
    """A horizontal bar chart of area and topic scores, coloured by band, thresholds marked."""
    from PIL import Image

    bars = list(reversed(model.bars))
    key = (tuple(b.label for b in bars), tuple(b.is_area for b in bars), model.ready_at, model.almost_at)
    with _CHART_LOCK:
        frame = _FRAMES.get(key)
        if frame is None:
            frame = _FRAMES[key] = _frame(*key)
            while len(_FRAMES) > _FRAME_CACHE:
                _FRAMES.pop(next(iter(_FRAMES)))
        frame.canvas.restore_region(frame.background)
        for patch, bar in zip(frame.bars, bars, strict=True):
            patch.set_width(bar.percent)
            patch.set_color(
                _BAND_COLOURS[0]
                if bar.percent >= model.ready_at
                else _BAND_COLOURS[1 if bar.percent >= model.almost_at else 2]
            )
            frame.axes.draw_artist(patch)
        image = Image.frombuffer("RGBA", frame.canvas.get_width_height(), frame.canvas.buffer_rgba())
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _table(
    document: Any, header: Sequence[str], rows: Sequence[Sequence[str]], widths_cm: Sequence[float]
) -> None:
    from docx.oxml import OxmlElement
    from docx.oxml.ns import qn
    from docx.shared import Cm

    table = document.add_table(rows=len(rows) + 1, cols=len(header))
    table._tbl.tblPr.style = _style_ids()[_TABLE_STYLE]
    table.autofit = False
    widths = [Cm(w) for w in widths_cm]
    for column, width in zip(table.columns, widths, strict=True):
        column.width = width
    # The header row repeats on every page a long table spans.
    header_row = table.rows[0]
    header_row._tr.get_or_add_trPr().append(OxmlElement("w:tblHeader"))
    header_row._tr.trPr.find(qn("w:tblHeader")).set(qn("w:val"), "true")
    # Cells are filled at the XML level: python-docx's cell.text setter walks the text one
    # character at a time and costs most of a report's rendering time.
    for tr, values in zip(table._tbl.tr_lst, [header, *rows], strict=True):
        for tc, value, width in zip(tr.tc_lst, values, widths, strict=True):
            tc.width = width
            run = tc.p_lst[0].add_r()
            for index, line in enumerate(_text(value).split("\n")):
                if index:
                    run.add_br()
                run.add_t(line)


_STYLE_NAMES = (
    "Title",
    "Subtitle",
    "Heading 1",
    "Heading 2",
    "List",
    "List 2",
    "Intense Quote",
    _TABLE_STYLE,
)


@lru_cache(maxsize=1)
def _style_ids() -> dict[str, str]:
    import docx

    styles = docx.Document().styles
    return {name: styles[name].style_id for name in _STYLE_NAMES}


def _para(document: Any, text: str = "", style: str | None = None) -> Any:
    """A paragraph in a template style, set by id: python-docx's style setters scan every style."""
    paragraph = document.add_paragraph(_text(text))
    if style is not None:
        paragraph._p.style = _style_ids()[style]
    return paragraph


def _heading(document: Any, text: str, level: int) -> Any:
    return _para(document, text, "Title" if level == 0 else f"Heading {level}")


def _study(document: Any, entries: Sequence[StudyLine]) -> None:
    for entry in entries:
        paragraph = _para(document, style="List")
        paragraph.add_run(f"\u2610 {_text(entry.topic)}").bold = True
        paragraph.add_run(f" ({entry.priority}, {entry.percent:.0f}%): {_text(entry.study)}")
        details = []
        if entry.missed_questions:
            details.append(f"Questions to revisit: {', '.join(str(n) for n in entry.missed_questions)}.")
        if entry.missing_concepts:
            shown = entry.missing_concepts[:_CONCEPTS_SHOWN]
            more = len(entry.missing_concepts) - len(shown)
            details.append(
                f"Not yet in your answers: {'; '.join(shown)}{f' and {more} more' if more else ''}."
            )
        if details:
            _para(document, " ".join(details), "List 2")


def _items(document: Any, section: ItemSection) -> None:
    _heading(document, f"{section.title} ({points_text(section.points, section.max_points)})", 2)
    rows = [
        (
            f"{row.number}. {row.prompt}",
            row.answer or "-",
            row.key,
            f"{points_text(row.points, row.max_points)}\n{row.status}"
            + ("\nreview" if row.needs_review else ""),
            row.feedback,
        )
        for row in section.items
    ]
    _table(
        document, ("Question", "Your answer", "Key", "Points", "Feedback"), rows, (3.6, 3.4, 3.0, 1.7, 5.2)
    )


def render_report(model: ReportModel) -> bytes:
    """The report as .docx bytes."""
    import docx
    from docx.enum.section import WD_ORIENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    document = docx.Document()
    document.styles[_TABLE_STYLE].font.size = Pt(8.5)
    document.styles["Normal"].font.name = "Calibri"
    document.styles["Normal"].font.size = Pt(10.5)
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.0)
    section.top_margin = section.bottom_margin = Cm(1.8)
    footer = section.footer.paragraphs[0]
    footer.text = (
        f"Question bank {model.bank_id} version {model.bank_version} \u00b7 submission {model.submission_key}"
    )
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    document.core_properties.title = f"Readiness report: {_text(model.candidate_name)}"

    _heading(document, "Interview readiness report", 0)
    _para(document, model.role, "Subtitle")
    _heading(document, _text(model.candidate_name), 1)
    details = [_text(model.candidate_email), _text(model.date)]
    _para(document, " \u00b7 ".join(d for d in details if d))
    score = _para(document, style="Title")
    score.add_run(f"{model.overall:.0f}% \u2013 {model.verdict.value}")
    _para(document, model.verdict_note, "Intense Quote")
    bands = f"Ready at {model.ready_at}% or more; Almost ready at {model.almost_at}% or more."
    _para(document, f"{bands} Critical topics weigh three times, high twice, medium once.")
    if model.review_items:
        numbers = ", ".join(str(n) for n in model.review_items)
        _para(
            document,
            f"A reviewer will look again at question(s) {numbers}: the grader was unsure, "
            "so these scores may change.",
        )

    _heading(document, "Scores by area and topic", 1)
    document.add_picture(io.BytesIO(_chart_png(model)), width=Cm(_CM_PAGE_WIDTH))
    _table(
        document,
        ("Topic", "Area", "Priority", "Points", "Score"),
        [
            (t.name, t.area, t.priority, points_text(t.points, t.max_points), f"{t.percent:.0f}%")
            for t in model.topics
        ],
        (6.6, 2.8, 2.4, 2.8, 2.3),
    )

    _heading(document, "Study plan", 1)
    if not model.tonight and not model.tomorrow:
        _para(document, "Every topic is at or above the Ready bar. Keep it fresh.")
    if model.tonight:
        _heading(document, "Tonight", 2)
        _study(document, model.tonight)
    if model.tomorrow:
        _heading(document, "Tomorrow morning", 2)
        _study(document, model.tomorrow)

    _heading(document, "Self-assessment calibration", 1)
    if model.calibration:
        _table(
            document,
            ("Topic", "Your confidence", "Expected", "Shown", "Calibration"),
            [(c.topic, c.confidence, c.expected, c.shown, c.label) for c in model.calibration],
            (6.0, 2.8, 2.4, 2.4, 3.3),
        )
    else:
        _para(document, "No self-assessment was given.")

    _heading(document, "AWS to Azure corrections", 1)
    if model.corrections:
        _table(
            document,
            ("AWS", "You wrote", "Azure", "Why"),
            [(c.aws, c.answer, c.azure, c.why) for c in model.corrections],
            (2.8, 3.2, 3.4, 7.5),
        )
    else:
        _para(document, "Every service mapping was right.")

    _heading(document, "Question by question", 1)
    for item_section in model.sections:
        _items(document, item_section)

    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
