"""Renders the daily digest (.docx) byte-for-byte reproducibly: same model, same bytes."""

from __future__ import annotations

import io
import zipfile
from datetime import datetime
from typing import Any

from shared.digest import DigestModel

# Zip entries and core properties carry times; pinning them makes a rerun replace the blob identically.
_ZIP_TIME = (1980, 1, 1, 0, 0, 0)


def _table(document: Any, header: tuple[str, ...], rows: list[tuple[str, ...]]) -> None:
    table = document.add_table(rows=1 + len(rows), cols=len(header))
    table.style = "Light Grid Accent 1"
    for row, values in zip(table.rows, [header, *rows], strict=True):
        for cell, value in zip(row.cells, values, strict=True):
            cell.text = value


def render_digest(model: DigestModel) -> bytes:
    """The digest document of one day."""
    from docx import Document

    document = Document()
    document.add_heading(f"ReadyCheck daily digest: {model.day}", level=0)
    document.add_heading("Uploads and submissions", level=1)
    _table(document, ("What", "How many"), [(k.capitalize(), str(n)) for k, n in model.counts])
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
    _table(document, ("Verdict", "Candidates"), [(str(v), str(n)) for v, n in stats.verdicts])
    _table(document, ("Score band", "Candidates"), [(b.label, str(b.count)) for b in stats.distribution])
    document.add_heading("Weakest topics", level=1)
    names = {t.topic_id: t for t in stats.topics}
    for topic_id in stats.weakest_topics:
        document.add_paragraph(f"{names[topic_id].name}: mean {names[topic_id].mean:g}%", style="List Bullet")
    document.add_heading("Items", level=1)
    document.add_paragraph(
        "Difficulty is the share answering fully correctly; discrimination is how much better the top "
        "quarter did than the bottom quarter (low or negative values deserve a look at the item)."
    )
    items = sorted(stats.items, key=lambda i: (i.difficulty, i.item_id))
    _table(
        document,
        ("Item", "Topic", "Difficulty", "Discrimination"),
        [(i.item_id, i.topic, f"{i.difficulty:.2f}", f"{i.discrimination:+.2f}") for i in items],
    )
    document.add_heading("Who most needs help", level=1)
    _table(
        document,
        ("Candidate", "Overall", "Verdict", "Weakest topics"),
        [(h.name, f"{h.overall:g}%", h.verdict, ", ".join(h.weakest_topics)) for h in model.needs_help],
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
            target.writestr(
                zipfile.ZipInfo(info.filename, _ZIP_TIME), source.read(info), zipfile.ZIP_DEFLATED
            )
    return out.getvalue()
