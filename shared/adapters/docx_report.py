"""Lays a :class:`~shared.report.ReportModel` out as a .docx, with a matplotlib chart.

python-docx builds a skeleton once per process: page set-up, styles, footer, core properties
and the chart's picture relationship. Each report then writes its body as WordprocessingML text
into a copy of that package, replacing only the footer text, the title and the chart. Building
the same XML through python-docx element by element, and re-compressing parts that never change,
cost several times an empty document's save.

The first pages are a summary a candidate reads in two minutes (verdict, chart, biggest gaps,
tonight's and tomorrow morning's plan); everything else is an appendix in a landscape section,
so wide tables and long answers read as text rather than wrapping every few characters.

Only styles of the default template are used (headings, table and list styles), so the
document restyles cleanly in Word and LibreOffice; one font family throughout. Candidates'
text is inserted as escaped text.
"""

from __future__ import annotations

import io
import re
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from shared.adapters.docx_fonts import FONT_FAMILY, THEME_PART, one_font_family
from shared.report import TOPIC_MOVE, ItemRow, ItemSection, ReportModel, StudyLine, points_text, short_label

_TABLE_STYLE = "Light List Accent 1"
# Colours of the verdict bands in the chart: ready, almost ready, not yet.
_BAND_COLOURS = ("#2e7d32", "#ef8f00", "#c62828")
# Characters XML 1.0 cannot hold; a pasted answer may contain them.
_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")
# The text width of an A4 page with 2 cm margins (landscape appendix: 25.7 cm). Table columns add up
# to a millimetre inside, because Word stores widths in twentieths of a point and rounding must not
# push them over.
_CM_PAGE_WIDTH = 17.0
_CHART_DPI = 110
# The width a 0% bar keeps, in percent points, so the worst gap shows as a bar rather than a hole.
_ZERO_SLIVER = 0.8
# Plan entries the summary spells out for tonight and for tomorrow morning; the rest are named,
# with everything in Appendix B, so the summary stays on two pages.
_TONIGHT_SHOWN = 3
_TOMORROW_SHOWN = 2
# Topics named per line of "Improved" and "Slipped", the biggest moves first.
_MOVES_SHOWN = 5
# Drawing the labels is most of a chart's cost and they depend only on the bank, so drawn
# frames are kept per bank layout. An Agg canvas is not safe to share between threads, and
# the Functions worker renders on several.
_CHART_LOCK = threading.Lock()
_FRAME_CACHE = 8
_FRAMES: dict[tuple[tuple[str, ...], tuple[bool, ...], int, int], _ChartFrame] = {}

_STYLE_NAMES = (
    "Title",
    "Subtitle",
    "Heading 1",
    "Heading 2",
    "Heading 3",
    "List",
    "Intense Quote",
    _TABLE_STYLE,
)
# Stand-ins the skeleton carries where each report's footer text and title go.
_FOOTER_MARK = "READYCHECK-FOOTER-TEXT"
_TITLE_MARK = "READYCHECK-DOCUMENT-TITLE"
_RUN_BREAKS = re.compile(r"([\t\r\n])")
# What python-docx's add_picture writes for an inline picture; the skeleton's relationship id
# and each chart's size are filled in.
_PICTURE = (
    '<w:p><w:r><w:drawing><wp:inline xmlns:a="http://schemas.openxmlformats.org/drawingml/2006/main" '
    'xmlns:pic="http://schemas.openxmlformats.org/drawingml/2006/picture">'
    '<wp:extent cx="{cx}" cy="{cy}"/><wp:docPr id="1" name="Picture 1" title="{title}" descr="{descr}"/>'
    '<wp:cNvGraphicFramePr><a:graphicFrameLocks noChangeAspect="1"/></wp:cNvGraphicFramePr>'
    '<a:graphic><a:graphicData uri="http://schemas.openxmlformats.org/drawingml/2006/picture">'
    '<pic:pic><pic:nvPicPr><pic:cNvPr id="0" name="image.png"/><pic:cNvPicPr/></pic:nvPicPr>'
    '<pic:blipFill><a:blip r:embed="{rid}"/><a:stretch><a:fillRect/></a:stretch></pic:blipFill>'
    '<pic:spPr><a:xfrm><a:off x="0" y="0"/><a:ext cx="{cx}" cy="{cy}"/></a:xfrm>'
    '<a:prstGeom prst="rect"/></pic:spPr></pic:pic></a:graphicData></a:graphic></wp:inline>'
    "</w:drawing></w:r></w:p>"
)
_TABLE_LOOK = (
    '<w:tblLook w:firstColumn="1" w:firstRow="1" w:lastColumn="0" w:lastRow="0" '
    'w:noHBand="0" w:noVBand="1" w:val="04A0"/>'
)
# Zip records (local header, central directory entry, end of directory) with a fixed
# timestamp (1980-01-01), so the same report gives the same bytes.
_ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)


def _text(value: str) -> str:
    return _XML_INVALID.sub("", value)


@dataclass(slots=True)
class _ChartFrame:
    """A drawn chart without its bars: labels, axes and band lines are the same for every candidate."""

    canvas: Any
    axes: Any
    bars: Any
    background: Any
    font: Any  # value labels are drawn with PIL: matplotlib's text layout cost a millisecond each


def _frame(labels: tuple[str, ...], areas: tuple[bool, ...], ready_at: int, almost_at: int) -> _ChartFrame:
    from matplotlib import font_manager
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from PIL import ImageFont

    height = 0.5 + 0.17 * len(labels)
    figure = Figure(figsize=(6.6, height), dpi=_CHART_DPI)
    canvas: Any = FigureCanvasAgg(figure)
    # The left margin fits the longest topic name ("Serverless patterns with Azure Functions");
    # the bottom one, in inches, the axis and its label.
    axes = figure.add_axes((0.4, 0.4 / height, 0.56, 1 - 0.45 / height))
    positions = list(range(len(labels)))
    bars = axes.barh(positions, [0.0] * len(labels), height=0.7, animated=True)
    axes.set_yticks(positions, labels, fontsize=8)
    for tick, is_area in zip(axes.get_yticklabels(), areas, strict=True):
        if is_area:
            tick.set_fontweight("bold")
    axes.axvline(ready_at, color=_BAND_COLOURS[0], linestyle="--", linewidth=0.8)
    axes.axvline(almost_at, color=_BAND_COLOURS[1], linestyle=":", linewidth=0.8)
    # Room right of 100% for a full bar's value label.
    axes.set_xlim(0, 110)
    axes.set_xticks(range(0, 101, 20))
    axes.set_xlabel("score %", fontsize=7)
    axes.tick_params(axis="x", labelsize=7)
    axes.spines[["top", "right"]].set_visible(False)
    canvas.draw()
    font = ImageFont.truetype(font_manager.findfont("DejaVu Sans"), round(7 * _CHART_DPI / 72))
    return _ChartFrame(canvas, axes, bars, canvas.copy_from_bbox(figure.bbox), font)


def _chart_png(model: ReportModel) -> bytes:
    """A horizontal bar chart of area and topic scores, coloured by band, values and thresholds marked."""
    from PIL import Image, ImageDraw

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
            # A 0% topic is the worst gap, not missing data: it keeps a sliver of red and its label.
            patch.set_width(max(bar.percent, _ZERO_SLIVER))
            patch.set_color(
                _BAND_COLOURS[0]
                if bar.percent >= model.ready_at
                else _BAND_COLOURS[1 if bar.percent >= model.almost_at else 2]
            )
            frame.axes.draw_artist(patch)
        width, height = frame.canvas.get_width_height()
        ends = [(max(b.percent, _ZERO_SLIVER) + 1.0, y) for y, b in enumerate(bars)]
        anchors = frame.axes.transData.transform(ends)
        image = Image.frombuffer("RGBA", (width, height), frame.canvas.buffer_rgba()).convert("RGB")
        draw = ImageDraw.Draw(image)
        for (x, y), bar in zip(anchors, bars, strict=True):
            # Display coordinates count from the bottom; the label sits on white over any band line.
            position, label = (float(x), height - float(y)), f"{bar.percent:.0f}%"
            draw.rectangle(draw.textbbox(position, label, font=frame.font, anchor="lm"), fill="white")
            draw.text(position, label, fill="black", font=frame.font, anchor="lm")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def chart_description(model: ReportModel) -> str:
    """The chart's alternative text: every bar's label and value, and the band lines."""
    values = "; ".join(f"{bar.label} {bar.percent:.0f}%" for bar in model.bars)
    return (
        f"Bar chart of scores by area and topic: {values}. Dashed line: Ready at {model.ready_at}%; "
        f"dotted line: Almost ready at {model.almost_at}%."
    )


def _package(parts: Iterable[tuple[str, bytes]], stored: str) -> bytes:
    """The .docx zip: a fixed timestamp keeps equal reports byte-identical; the PNG is stored as is."""
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as package:
        for name, data in parts:
            info = zipfile.ZipInfo(name, date_time=_ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_STORED if name == stored else zipfile.ZIP_DEFLATED
            # Level 1: the parts are small XML; stronger levels cost time and save little.
            package.writestr(info, data, compresslevel=1)
    return buffer.getvalue()


@dataclass(frozen=True, slots=True)
class _Skeleton:
    """The package every report shares, split where each report's own content goes."""

    entries: tuple[tuple[str, bytes | None], ...]  # None where the report writes its own part
    document_head: str
    section_break: str  # the paragraph ending the portrait summary; the appendix is landscape
    document_tail: str
    templates: dict[str, str]  # parts that carry a mark to replace
    image_name: str
    image_rid: str
    style_ids: dict[str, str]


@lru_cache(maxsize=1)
def _skeleton() -> _Skeleton:
    import zipfile

    import docx
    from docx.enum.section import WD_ORIENT, WD_SECTION
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt
    from PIL import Image

    document = docx.Document()
    styles = document.styles
    styles[_TABLE_STYLE].font.size = Pt(8.5)
    styles["Normal"].font.name = FONT_FAMILY
    styles["Normal"].font.size = Pt(10.5)
    section = document.sections[0]
    section.orientation = WD_ORIENT.PORTRAIT
    section.page_width, section.page_height = Cm(21.0), Cm(29.7)
    section.left_margin = section.right_margin = Cm(2.0)
    section.top_margin = section.bottom_margin = Cm(1.8)
    footer = section.footer.paragraphs[0]
    footer.text = _FOOTER_MARK
    footer.alignment = WD_ALIGN_PARAGRAPH.CENTER
    document.core_properties.title = _TITLE_MARK
    placeholder = io.BytesIO()
    Image.new("RGB", (1, 1), "white").save(placeholder, format="PNG")
    document.add_picture(placeholder, width=Cm(_CM_PAGE_WIDTH))
    rid = document.inline_shapes[0]._inline.graphic.graphicData.pic.blipFill.blip.embed
    image_name = document.part.related_parts[rid].partname.lstrip("/")
    appendix = document.add_section(WD_SECTION.NEW_PAGE)
    appendix.orientation = WD_ORIENT.LANDSCAPE
    appendix.page_width, appendix.page_height = Cm(29.7), Cm(21.0)
    buffer = io.BytesIO()
    document.save(buffer)

    entries: list[tuple[str, bytes | None]] = []
    templates: dict[str, str] = {}
    with zipfile.ZipFile(buffer) as package:
        for name in package.namelist():
            data = package.read(name)
            if name == "word/document.xml":
                xml = data.decode()
                body = xml.index("<w:body>") + len("<w:body>")
                inner = xml.index("<w:sectPr", body)
                start = xml.rindex("<w:p>", body, inner)
                head, tail = xml[:body], xml[xml.rindex("<w:sectPr") :]
                section_break = xml[start : xml.index("</w:p>", inner) + len("</w:p>")]
            elif name != image_name and (_FOOTER_MARK.encode() in data or _TITLE_MARK.encode() in data):
                templates[name] = data.decode()
            elif name != image_name:
                entries.append((name, one_font_family(data) if name == THEME_PART else data))
                continue
            entries.append((name, None))
    return _Skeleton(
        tuple(entries),
        head,
        section_break,
        tail,
        templates,
        image_name,
        rid,
        {name: styles[name].style_id for name in _STYLE_NAMES},
    )


def _escape(text: str) -> str:
    """Text as XML character data, as lxml writes it."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def _t(text: str) -> str:
    space = ' xml:space="preserve"' if len(text.strip()) < len(text) else ""
    return f"<w:t{space}>{_escape(text)}</w:t>"


def _run(text: str, *, bold: bool = False) -> str:
    """A run as python-docx's ``Run.text`` writes it: tabs and line breaks become elements."""
    parts = []
    for piece in _RUN_BREAKS.split(_text(text)):
        if piece == "\t":
            parts.append("<w:tab/>")
        elif piece in ("\r", "\n"):
            parts.append("<w:br/>")
        elif piece:
            parts.append(_t(piece))
    return f"<w:r>{'<w:rPr><w:b/></w:rPr>' if bold else ''}{''.join(parts)}</w:r>"


class _Body:
    """The document body as WordprocessingML text, in the template's styles."""

    def __init__(self, style_ids: dict[str, str]) -> None:
        self._style_ids = style_ids
        self.xml: list[str] = []

    def para(self, text: str = "", style: str | None = None, runs: Sequence[str] = ()) -> None:
        """A paragraph of plain text (or the given runs) in a template style."""
        content = "".join(runs) if runs else (_run(text) if text else "")
        if style is not None:
            content = f'<w:pPr><w:pStyle w:val="{self._style_ids[style]}"/></w:pPr>{content}'
        self.xml.append(f"<w:p>{content}</w:p>" if content else "<w:p/>")

    def heading(self, text: str, level: int) -> None:
        """A title (level 0) or a heading."""
        self.para(text, "Title" if level == 0 else f"Heading {level}")

    def table(self, header: Sequence[str], rows: Sequence[Sequence[str]], widths_cm: Sequence[float]) -> None:
        """A fixed-layout table whose header row repeats on every page it spans."""
        grid, cells = _columns(tuple(widths_cm))
        xml = self.xml
        xml.append(
            f'<w:tbl><w:tblPr><w:tblStyle w:val="{self._style_ids[_TABLE_STYLE]}"/>'
            f'<w:tblW w:type="auto" w:w="0"/><w:tblLayout w:type="fixed"/>{_TABLE_LOOK}</w:tblPr>{grid}'
        )
        for index, values in enumerate((header, *rows)):
            xml.append('<w:tr><w:trPr><w:tblHeader w:val="true"/></w:trPr>' if index == 0 else "<w:tr>")
            for value, cell in zip(values, cells, strict=True):
                lines = "<w:br/>".join(_t(line) for line in _text(value).split("\n"))
                xml.append(f"{cell}<w:p><w:r>{lines}</w:r></w:p></w:tc>")
            xml.append("</w:tr>")
        xml.append("</w:tbl>")


@lru_cache(maxsize=16)
def _columns(widths_cm: tuple[float, ...]) -> tuple[str, tuple[str, ...]]:
    """A table's grid and the opening of each column's cells, widths in twips as python-docx sets them."""
    from docx.oxml.simpletypes import ST_TwipsMeasure
    from docx.shared import Cm

    twips = [ST_TwipsMeasure.convert_to_xml(Cm(w)) for w in widths_cm]
    grid = "".join(f'<w:gridCol w:w="{w}"/>' for w in twips)
    cells = tuple(f'<w:tc><w:tcPr><w:tcW w:type="dxa" w:w="{w}"/></w:tcPr>' for w in twips)
    return f"<w:tblGrid>{grid}</w:tblGrid>", cells


def _picture(png: bytes, rid: str, description: str) -> str:
    from docx.image.image import Image
    from docx.shared import Cm

    cx, cy = Image.from_blob(png).scaled_dimensions(Cm(_CM_PAGE_WIDTH), None)
    descr = _escape(_text(description)).replace('"', "&quot;")
    return _PICTURE.format(cx=cx, cy=cy, rid=rid, title="Scores by area and topic", descr=descr)


def _plan(body: _Body, entries: Sequence[StudyLine], shown: int) -> None:
    for entry in entries[:shown]:
        runs = (
            _run(f"\u2610 {entry.topic}", bold=True),
            _run(f" ({entry.priority}, {entry.percent:.0f}%): {entry.study}"),
        )
        body.para(style="List", runs=runs)
    if len(entries) > shown:
        rest = "; ".join(f"{short_label(e.topic)} ({e.percent:.0f}%)" for e in entries[shown:])
        body.para(style="List", runs=(_run("Then: ", bold=True), _run(f"{rest}.")))


def _summary(body: _Body, model: ReportModel, picture: str) -> None:
    """Pages 1-2: verdict, chart, the biggest gaps and the plan."""
    body.heading("Interview readiness report", 0)
    body.para(model.role, "Subtitle")
    body.para(runs=(_run(model.candidate_name, bold=True),))
    body.para(" \u00b7 ".join(d for d in (_text(model.candidate_email), _text(model.date)) if d))
    body.heading(f"{model.overall:.0f}% \u2013 {model.verdict.value}", 1)
    if model.provisional:
        which = (
            f"question(s) {', '.join(str(n) for n in model.review_items)}"
            if model.review_items
            else "some of your answers"
        )
        body.para(
            style="Intense Quote",
            runs=(
                _run("Provisional verdict. ", bold=True),
                _run(f"A reviewer will look again at {which}: the grader was unsure, so scores may change."),
            ),
        )
    bands = f"Ready at {model.ready_at}% or more; Almost ready at {model.almost_at}% or more."
    body.para(
        runs=(
            _run(f"{model.verdict_note} ", bold=True),
            _run(f"{bands} Critical topics weigh three times, high twice, medium once."),
        )
    )

    body.heading("Scores by area and topic", 1)
    body.xml.append(picture)

    if model.attempts:
        _progress(body, model)

    if model.gaps:
        body.heading("Your biggest gaps" if len(model.gaps) > 1 else "Your biggest gap", 1)
        for rank, gap in enumerate(model.gaps, start=1):
            body.para(
                style="List",
                runs=(
                    _run(f"{rank}. {gap.topic} \u2013 {gap.percent:.0f}% ({gap.priority}). ", bold=True),
                    _run(gap.why),
                ),
            )

    body.heading("Your plan", 1)
    if not model.tonight and not model.tomorrow:
        body.para("Every topic is at or above the Ready bar. Keep it fresh.")
    if model.tonight:
        body.heading("Tonight", 2)
        _plan(body, model.tonight, _TONIGHT_SHOWN)
    if model.tomorrow:
        body.heading("Tomorrow morning", 2)
        _plan(body, model.tomorrow, _TOMORROW_SHOWN)
    body.para("Each topic's questions to revisit and concepts to learn: Appendix B.")


def _progress(body: _Body, model: ReportModel) -> None:
    """The trend over the candidate's attempts, and the topics that moved since the last one."""
    body.heading("Since your last attempt", 1)
    areas = [name for name, _ in model.attempts[-1].areas]
    body.table(
        ("Attempt", "Overall", *(a.capitalize() for a in areas), "Verdict"),
        [
            (
                line.label,
                f"{line.overall:.0f}%",
                *(f"{dict(line.areas)[a]:.0f}%" if a in dict(line.areas) else "-" for a in areas),
                line.verdict,
            )
            for line in model.attempts
        ],
        (4.3, *[(_CM_PAGE_WIDTH - 0.1 - 4.3 - 2.6) / (len(areas) + 1)] * (len(areas) + 1), 2.6),
    )
    for word, changes in (("Improved", model.improved), ("Slipped", model.slipped)):
        if changes:
            moved = "; ".join(
                f"{short_label(c.topic)} {c.before:.0f}% \u2192 {c.now:.0f}%" for c in changes[:_MOVES_SHOWN]
            )
            more = f" and {len(changes) - _MOVES_SHOWN} more" if len(changes) > _MOVES_SHOWN else ""
            body.para(runs=(_run(f"{word}: ", bold=True), _run(f"{moved}{more}.")))
    if not model.improved and not model.slipped:
        body.para(f"No topic moved by {TOPIC_MOVE:g} points or more since the last attempt.")


def _study_details(body: _Body, entries: Sequence[StudyLine]) -> None:
    body.heading("Appendix B \u2013 Study details", 1)
    body.table(
        ("Topic", "What to study", "Questions to revisit", "Not yet in your answers"),
        [
            (
                f"{entry.topic}\n{entry.priority}, {entry.percent:.0f}%",
                entry.study,
                ", ".join(str(n) for n in entry.missed_questions) or "-",
                "; ".join(entry.missing_concepts) or "-",
            )
            for entry in entries
        ],
        (5.0, 10.0, 3.0, 7.6),
    )


_EVIDENCE_WORDS = {"credited": "Credited", "partial": "Partly credited", "misstated": "Misstated"}


def _open_item(body: _Body, row: ItemRow) -> None:
    """An open answer explained: what earned credit (quoted), what was misstated, what was missing."""
    body.heading(
        f"Question {row.number} \u00b7 {points_text(row.points, row.max_points)} \u00b7 {row.status}", 3
    )
    body.para(row.prompt)
    body.table(("Your answer", "What the key looks for"), [(row.answer or "-", row.key)], (12.8, 12.8))
    for evidence in row.evidence:
        word = _EVIDENCE_WORDS.get(evidence.state, evidence.state.capitalize())
        said = "you wrote " if evidence.state == "misstated" else ""
        body.para(
            style="List",
            runs=(
                _run(f"{word}: {evidence.concept}", bold=True),
                _run(f" \u2013 {said}\u201c{evidence.quote}\u201d"),
            ),
        )
    if row.missing:
        body.para(style="List", runs=(_run("Missing: ", bold=True), _run(f"{'; '.join(row.missing)}.")))
    if row.feedback:
        body.para(row.feedback)
    if row.needs_review:
        body.para(
            style="Intense Quote",
            runs=(_run("A reviewer will look at this. ", bold=True), _run(row.review_reason)),
        )


def _items(body: _Body, section: ItemSection) -> None:
    body.heading(f"{section.title} ({points_text(section.points, section.max_points)})", 2)
    closed = [
        (
            f"{row.number}. {row.prompt}",
            row.answer or "-",
            row.key,
            f"{points_text(row.points, row.max_points)}\n{row.status}"
            + ("\nreview" if row.needs_review else ""),
            row.feedback,
        )
        for row in section.items
        if not row.open_answer
    ]
    if closed:
        body.table(
            ("Question", "Your answer", "Key", "Result", "Feedback"), closed, (7.0, 4.4, 4.4, 2.2, 7.6)
        )
    for row in section.items:
        if row.open_answer:
            _open_item(body, row)


def _appendix(body: _Body, model: ReportModel) -> None:
    """The landscape appendix: every table and every answer, laid out for reading."""
    body.heading("Appendix A \u2013 Topic scores", 1)
    body.table(
        ("Topic", "Area", "Priority", "Points", "Score"),
        [
            (t.name, t.area, t.priority, points_text(t.points, t.max_points), f"{t.percent:.0f}%")
            for t in model.topics
        ],
        (11.6, 4.0, 3.4, 3.6, 3.0),
    )
    if model.tonight or model.tomorrow:
        _study_details(body, (*model.tonight, *model.tomorrow))

    body.heading("Appendix C \u2013 Self-assessment calibration", 1)
    if model.calibration:
        body.table(
            ("Topic", "Your confidence", "Expected", "Shown", "Calibration"),
            [(c.topic, c.confidence, c.expected, c.shown, c.label) for c in model.calibration],
            (11.0, 3.6, 3.4, 3.4, 4.2),
        )
    else:
        body.para("No self-assessment was given.")

    body.heading("Appendix D \u2013 AWS to Azure corrections", 1)
    if model.corrections:
        body.table(
            ("AWS", "You wrote", "Azure", "Why"),
            [(c.aws, c.answer, c.azure, c.why) for c in model.corrections],
            (4.0, 5.0, 5.6, 11.0),
        )
    else:
        body.para("Every service mapping was right.")

    body.heading("Appendix E \u2013 Question by question", 1)
    for item_section in model.sections:
        _items(body, item_section)


def render_report(model: ReportModel) -> bytes:
    """The report as .docx bytes."""
    skeleton = _skeleton()
    png = _chart_png(model)
    body = _Body(skeleton.style_ids)
    _summary(body, model, _picture(png, skeleton.image_rid, chart_description(model)))
    body.xml.append(skeleton.section_break)
    _appendix(body, model)
    document = skeleton.document_head + "".join(body.xml) + skeleton.document_tail
    footer = _escape(
        f"Question bank {model.bank_id} version {model.bank_version} \u00b7 submission {model.submission_key}"
    )
    title = _escape(f"Readiness report: {_text(model.candidate_name)}")
    own = {"word/document.xml": document.encode(), skeleton.image_name: png}
    for name, xml in skeleton.templates.items():
        own[name] = xml.replace(_FOOTER_MARK, footer).replace(_TITLE_MARK, title).encode()
    parts = ((name, own[name] if data is None else data) for name, data in skeleton.entries)
    return _package(parts, stored=skeleton.image_name)
