"""``make demo``: the main job on the local stack, end to end.

Brings the stack up, uploads the sample workbooks through both paths (HTTP and straight into
Blob Storage), shows progress until every submission is finished, downloads every report and
today's digest into ``out/demo/``, prints a summary table and brings the stack down.
"""

from __future__ import annotations

import os
import re
import sys
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

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
    status: dict[str, Any] = field(default_factory=dict)

    @property
    def finished(self) -> bool:
        """No longer received or grading."""
        return self.status.get("status") in ("graded", "partially_graded", "rejected")


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
        blobs.get_blob_client("answer-sheets", upload.blob).upload_blob(data, overwrite=True)


def _poll(http: httpx.Client, upload: Upload) -> None:
    if not upload.upload_id:
        found = http.get("/api/uploads", params={"blob": upload.blob})
        if found.status_code == 404:
            return
        found.raise_for_status()
        upload.upload_id = found.json()["upload_id"]
    response = http.get(f"/api/uploads/{upload.upload_id}")
    response.raise_for_status()
    upload.status = response.json()


def _progress(uploads: list[Upload]) -> str:
    submissions = [s for u in uploads for s in u.status.get("submissions", [])]
    done = sum(s["status"] != "grading" for s in submissions)
    states = ", ".join(
        f"{u.sample.removesuffix('.xlsx')}: {u.status.get('status', 'uploading')}" for u in uploads
    )
    return f"  {done}/{len(submissions)} submissions finished | {states}"


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
    return rows


def _table(rows: list[tuple[str, ...]]) -> None:
    header = ("workbook", "path", "report", "overall", "verdict")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, tuple("-" * w for w in widths), *rows]:
        say("  ".join(str(v).ljust(w) for v, w in zip(row, widths, strict=True)))


def run(base_url: str, storage: str) -> int:
    """Upload, wait, download and summarise against a running stack; returns the exit status."""
    blobs = BlobServiceClient.from_connection_string(storage)
    uploads = [Upload(sample, path) for sample, path in UPLOADS]
    run_id = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
    with httpx.Client(base_url=base_url, timeout=60) as http:
        for upload in uploads:
            _send(http, blobs, upload, run_id)
            say(f"uploaded {upload.sample} via {upload.path}")
        deadline = time.monotonic() + TIMEOUT_SECONDS
        while not all(u.finished for u in uploads):
            if time.monotonic() > deadline:
                say(f"\nnot finished after {TIMEOUT_SECONDS} s: {_progress(uploads)}")
                return 1
            for upload in uploads:
                if not upload.finished:
                    _poll(http, upload)
            say("\r" + _progress(uploads), end="")
            time.sleep(0.5)
        say()
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
    ports = stack.StackPorts.from_env(os.environ)
    state = stack.up(ROOT, ports)
    try:
        return run(f"http://127.0.0.1:{ports.http}", ports.azurite.connection_string())
    finally:
        if state.processes:
            stack.down()
            for process in state.processes:
                process.stop()


if __name__ == "__main__":
    sys.exit(main())
