"""Faults on the local stack: each submission ends graded or visibly failed, one report each, none stuck."""

from __future__ import annotations

import time
from datetime import UTC, datetime

import pytest

from shared.records import INGESTING_PARTITION
from tests.e2e.conftest import eventually
from tests.faults.conftest import SAMPLES, SETTLE_SECONDS, FaultStack, graded_count, submission_states

pytestmark = pytest.mark.faults
COHORT = (SAMPLES / "ms-forms-cohort.xlsx").read_bytes()
BEN = (SAMPLES / "candidate-ben-carter.xlsx").read_bytes()


def _unique(name: str) -> str:
    return f"faults/{datetime.now(UTC):%H%M%S%f}/{name}"


def _mid_cohort(faults: FaultStack, upload_id: str) -> None:
    """Wait until the cohort is fanned out and some of it is still grading."""

    def grading() -> bool:
        # Fanned out: the upload has left the ingesting index, so every grading message was sent.
        if any(row["RowKey"] == upload_id for row in faults.rows(INGESTING_PARTITION)):
            return False
        states = submission_states(faults.stack, upload_id)
        return bool(states) and "grading" in states

    eventually(grading, timeout=SETTLE_SECONDS, interval=0.05)


def test_identical_uploads_on_one_day_are_graded_each_and_the_digest_counts_them_once(
    faults: FaultStack,
) -> None:
    first = faults.post_upload(BEN, "ben.xlsx")
    second = faults.post_upload(BEN, "ben.xlsx")
    assert first.status_code == second.status_code == 202
    by_blob = faults.blob_upload(BEN, _unique("ben.xlsx"))
    ids = [first.json()["upload_id"], second.json()["upload_id"], by_blob]
    assert len(set(ids)) == 3
    statuses = faults.assert_settled(ids)
    assert graded_count(statuses) == 3
    today = datetime.now(UTC).date().isoformat()
    built = faults.admin_post(f"/api/digests/{today}")
    assert built.status_code == 201, built.text
    again = faults.admin_post(f"/api/digests/{today}")
    assert again.status_code == 201, again.text


def test_a_host_killed_mid_cohort_finishes_the_cohort_after_restart(faults: FaultStack) -> None:
    upload_id = faults.blob_upload(COHORT, _unique("cohort.xlsx"))
    _mid_cohort(faults, upload_id)
    assert faults.host.process is not None
    faults.host.process.process.kill()  # SIGKILL: no drain, locks and half-done work left behind
    faults.host.process.process.wait(timeout=10)
    faults.host.start()
    # Messages the killed host held come back when their 60 s locks expire (LockDuration PT1M).
    [status] = faults.assert_settled([upload_id], timeout=SETTLE_SECONDS + 60)
    assert graded_count([status]) == len(status["submissions"]) == 20


def test_the_emulator_killed_and_restarted_on_its_data_loses_no_grading(faults: FaultStack) -> None:
    upload_id = faults.blob_upload(COHORT, _unique("cohort.xlsx"))
    _mid_cohort(faults, upload_id)
    faults.emulator.kill()
    time.sleep(3)
    faults.emulator.start()
    [status] = faults.assert_settled([upload_id])
    assert len(status["submissions"]) == 20


def test_azurite_down_for_20_seconds_answers_503_fast_and_every_submission_settles(
    faults: FaultStack,
) -> None:
    upload_id = faults.blob_upload(COHORT, _unique("cohort.xlsx"))
    _mid_cohort(faults, upload_id)
    faults.azurite.stop()
    down_at = time.monotonic()
    try:
        started = time.monotonic()
        refused = faults.post_upload(BEN, "ben.xlsx")
        elapsed = time.monotonic() - started
        assert refused.status_code == 503, refused.text
        assert int(refused.headers["Retry-After"]) > 0
        # A retry budget of seconds (the SDK defaults took 82 s): a behaviour, not a speed target.
        assert elapsed < 20, elapsed
        print(f"POST during the storage outage: {refused.status_code} after {elapsed:.1f} s")
        health = faults.stack.http.get("/api/health")
        assert health.status_code == 503
        assert health.json()["checks"]["storage"].startswith("unavailable")
        assert health.json()["checks"]["servicebus"] == "ok"
        time.sleep(max(0.0, 20 - (time.monotonic() - down_at)))
    finally:
        faults.azurite.start()
    [status] = faults.assert_settled([upload_id])
    assert len(status["submissions"]) == 20
    assert faults.stack.http.get("/api/health").status_code == 200


def test_a_servicebus_outage_during_ingest_fails_the_upload_and_a_reingest_grades_it(
    faults: FaultStack,
) -> None:
    faults.emulator.stop()
    try:
        health = faults.stack.http.get("/api/health")
        assert health.status_code == 503
        assert health.json()["checks"]["servicebus"].startswith("unavailable")
        upload_id = faults.blob_upload(BEN, _unique("ben.xlsx"))

        def failed() -> dict[str, object] | None:
            status = faults.stack.upload_status(upload_id)
            return status if status["status"] == "failed" else None

        status = eventually(failed, timeout=SETTLE_SECONDS)
        message = str(status["message"])
        assert "ben.xlsx" in message
        assert "Service Bus" in message
        assert f"/api/uploads/{upload_id}/reingest" in message
    finally:
        faults.emulator.start()
    assert faults.admin_post(f"/api/uploads/{upload_id}/reingest").status_code == 200
    [settled] = faults.assert_settled([upload_id])
    assert graded_count([settled]) == 1
    assert faults.admin_post(f"/api/uploads/{upload_id}/reingest").status_code == 409


def test_the_sweeper_runs_on_its_own_timer(faults: FaultStack) -> None:
    def swept() -> bool:
        return "Executed 'Functions.sweep_stuck_work' (Succeeded" in faults.host.log()

    eventually(swept, timeout=30)
