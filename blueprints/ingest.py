"""Blob trigger (Event Grid source): a workbook in ``answer-sheets`` is ingested."""

from __future__ import annotations

import azure.functions as func

from blueprints import new_blueprint
from bootstrap import app_root

bp = new_blueprint()


@bp.blob_trigger(
    arg_name="blob",
    path="%READYCHECK_ANSWER_SHEETS_CONTAINER%/{name}",
    connection="READYCHECK_STORAGE",
    source=func.BlobSource.EVENT_GRID,
)
def ingest_workbook(blob: func.InputStream) -> None:
    """Parse the workbook and fan grading out; a rejected workbook ends ``rejected``, not retried."""
    from shared.ingest import ingest_blob

    _, _, name = (blob.name or "").partition("/")
    # Service errors propagate: the host retries the event, then parks it (poison).
    ingest_blob(app_root().services, name)


@bp.queue_trigger(arg_name="msg", queue_name="webjobs-blobtrigger-poison", connection="AzureWebJobsStorage")
def fail_poisoned_workbook(msg: func.QueueMessage) -> None:
    """A workbook the host gave up on (parked as poison): its upload ends ``failed`` with the reason."""
    from shared.recovery import fail_poisoned_blob

    fail_poisoned_blob(app_root().services, msg.get_body())
