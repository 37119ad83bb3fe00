"""Blob trigger (Event Grid source): a workbook in ``answer-sheets`` is ingested."""

from __future__ import annotations

import azure.functions as func

bp = func.Blueprint()


@bp.blob_trigger(
    arg_name="blob",
    path="%READYCHECK_ANSWER_SHEETS_CONTAINER%/{name}",
    connection="READYCHECK_STORAGE",
    source=func.BlobSource.EVENT_GRID,
)
def ingest_workbook(blob: func.InputStream) -> None:
    """Parse the workbook and fan grading out; a rejected workbook ends ``rejected``, not retried."""
    from shared.adapters.clients import services
    from shared.ingest import ingest_blob

    _, _, name = (blob.name or "").partition("/")
    # Service errors propagate: the host retries the event, then parks it (poison).
    ingest_blob(services(), name)
