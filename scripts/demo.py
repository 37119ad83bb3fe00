"""``make demo``: the main job on the local stack, end to end.

Brings the stack up, uploads the sample workbooks through both paths (HTTP and straight into
Blob Storage), shows progress until every submission is finished, downloads every report and
today's digest into ``out/demo/``, prints a summary table and brings the stack down.

Progress suits where it goes: a live bar (rich) on a terminal, one plain line per change when
the output is a file or a pipe (``make demo > log.txt`` reads as a log).
"""

from __future__ import annotations

import os
import re
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import httpx
from azure.storage.blob import BlobServiceClient

from devstack import stack

ROOT = Path(__file__).resolve().parents[1]
SAMPLES = ROOT / "samples"
OUT = ROOT / "out" / "demo"
# (sample file, upload path): both paths for single candidates, the cohort straight into storage.
UPLOADS = (
    ("candidate-amara-okafor.xlsx", "http"),
    ("candidate-ben-carter.xlsx", "blob"),
    ("candidate-chen-wei.xlsx", "http"),
    ("ms-forms-cohort.xlsx", "blob"),
)
TIMEOUT_SECONDS = 600
_FILENAME = re.compile(r'filename="([^"]+)"')


def say(text: str = "", end: str = "\n") -> None:
    """Write a line of the demo's output."""
    sys.stdout.write(text + end)
    sys.stdout.flush()


@dataclass
class Upload:
    """One sample on its way through the pipeline."""

    sample: str
    path: str
    upload_id: str = ""
    blob: str = ""
    etag: str = ""
    status: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        """No longer received or grading."""
        return self.status.get("status") in ("graded", "partially_graded", "rejected", "failed")


def _ensure_samples() -> None:
    if all((SAMPLES / name).exists() for name, _ in UPLOADS):
        return
    from samples.build import build

    say("Building the sample workbooks ...")
    build()


def _send(http: httpx.Client, blobs: BlobServiceClient, upload: Upload, run: str) -> None:
    data = (SAMPLES / upload.sample).read_bytes()
    if upload.path == "http":
        response = http.post("/api/uploads", params={"filename": upload.sample}, content=data)
        response.raise_for_status()
        upload.upload_id = response.json()["upload_id"]
    else:
        upload.blob = f"demo/{run}/{upload.sample}"
        written = blobs.get_blob_client("answer-sheets", upload.blob).upload_blob(data, overwrite=True)
        upload.etag = str(written["etag"])


def _poll(http: httpx.Client, upload: Upload) -> None:
    if not upload.upload_id:
        found = http.get("/api/uploads", params={"blob": upload.blob, "etag": upload.etag})
        if found.status_code == 404:
            return
        found.raise_for_status()
        upload.upload_id = found.json()["upload_id"]
    response = http.get(f"/api/uploads/{upload.upload_id}")
    response.raise_for_status()
    upload.status = response.json()


def _counts(uploads: list[Upload]) -> tuple[int, int, str]:
    """Finished and known submissions, and each workbook's state."""
    submissions = [s for u in uploads for s in u.status.get("submissions", [])]
    done = sum(s["status"] != "grading" for s in submissions)
    states = ", ".join(
        f"{u.sample.removesuffix('.xlsx')}: {u.status.get('status', 'uploading')}" for u in uploads
    )
    return done, len(submissions), states


def _progress(uploads: list[Upload]) -> str:
    done, total, states = _counts(uploads)
    return f"  {done}/{total} submissions finished | {states}"


class ProgressView(Protocol):
    """Where the polling loop reports the uploads' state."""

    def show(self, uploads: list[Upload]) -> None:
        """Report the current state."""
        ...


class PlainLines:
    """One line per change of state: for a log file or a pipe."""

    def __init__(self, stream: Any) -> None:
        self._stream = stream
        self._last = ""

    def show(self, uploads: list[Upload]) -> None:
        """Write the state as a line when it differs from the last one written."""
        line = _progress(uploads)
        if line != self._last:
            self._stream.write(line + "\n")
            self._stream.flush()
            self._last = line


class LiveBar:
    """A live progress bar redrawn in place: for a terminal."""

    def __init__(self, progress: Any) -> None:
        self._progress = progress
        self._task = progress.add_task("grading", total=None)

    def show(self, uploads: list[Upload]) -> None:
        """Move the bar to the finished count and show each workbook's state beside it."""
        done, total, states = _counts(uploads)
        self._progress.update(self._task, completed=done, total=total or None, description=states)


@contextmanager
def progress_view(stream: Any = None) -> Iterator[ProgressView]:
    """A live bar when ``stream`` (stdout by default) is a terminal, plain lines otherwise."""
    stream = stream or sys.stdout
    if not stream.isatty():
        yield PlainLines(stream)
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.description}"))
    with Progress(*columns, console=Console(file=stream)) as progress:
        yield LiveBar(progress)


def _download(http: httpx.Client, uploads: list[Upload], today: str) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for upload in uploads:
        folder = OUT / upload.sample.removesuffix(".xlsx")
        folder.mkdir(parents=True, exist_ok=True)
        for submission in upload.status.get("submissions", []):
            scores = submission.get("scores") or {}
            name = "-"
            if submission.get("report_url"):
                report = http.get(submission["report_url"])
                report.raise_for_status()
                match = _FILENAME.search(report.headers.get("content-disposition", ""))
                name = match.group(1) if match else f"{submission['submission_id']}.docx"
                (folder / name).write_bytes(report.content)
            percent = f"{scores['percent']:g}%" if "percent" in scores else "-"
            rows.append(
                (upload.sample, upload.path, name, percent, scores.get("verdict", submission["status"]))
            )
    built = http.post(f"/api/digests/{today}")
    built.raise_for_status()
    digest = http.get(f"/api/digests/{today}")
    digest.raise_for_status()
    (OUT / f"digest-{today}.docx").write_bytes(digest.content)
    # By workbook, then report name: submission ids differ between runs, so their order does too.
    order = {u.sample: i for i, u in enumerate(uploads)}
    return sorted(rows, key=lambda r: (order[r[0]], r[2]))


def _table(rows: Sequence[tuple[str, ...]]) -> None:
    header = ("workbook", "path", "report", "overall", "verdict")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        say("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)))


def _wait(http: httpx.Client, uploads: list[Upload]) -> bool:
    """Poll until every upload is finished (True) or the time runs out (False), showing progress."""
    deadline = time.monotonic() + TIMEOUT_SECONDS
    with progress_view() as view:
        while not all(u.finished for u in uploads):
            if time.monotonic() > deadline:
                return False
            for upload in uploads:
                if not upload.finished:
                    _poll(http, upload)
            view.show(uploads)
            time.sleep(0.5)
    return True


def run(base_url: str, storage: str) -> int:
    """Upload, wait, download and summarise against a running stack; returns the exit status."""
    blobs = BlobServiceClient.from_connection_string(storage)
    uploads = [Upload(sample, path) for sample, path in UPLOADS]
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    with httpx.Client(base_url=base_url, timeout=60) as http:
        for upload in uploads:
            _send(http, blobs, upload, run_id)
            say(f"uploaded {upload.sample} via {upload.path}")
        if not _wait(http, uploads):
            say(f"not finished after {TIMEOUT_SECONDS} s: {_progress(uploads)}")
            return 1
        today = datetime.now(UTC).date().isoformat()
        rows = _download(http, uploads, today)
    say()
    _table(rows)
    where = OUT.relative_to(ROOT)
    say(f"\nreports: {where}/<workbook>/*.docx   digest: {where}/digest-{today}.docx")
    return 0 if all(u.status["status"] == "graded" for u in uploads) else 1


def main() -> int:
    """Stack up, demo, stack down (unless the stack was already running)."""
    _ensure_samples()
    variables = stack.port_variables("READYCHECK")
    ports = stack.StackPorts.from_env(os.environ, variables)
    config = ROOT / "infra" / "local" / "servicebus-config.json"
    state = stack.up(ROOT, ports, servicebus_config=config, variables=variables)
    try:
        return run(f"http://127.0.0.1:{ports.http}", ports.azurite.connection_string())
    finally:
        if state.processes:
            stack.down(stack.default_state_file(ROOT))
            for process in state.processes:
                process.stop()


if __name__ == "__main__":
    sys.exit(main())
