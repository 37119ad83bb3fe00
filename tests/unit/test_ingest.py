"""Ingest: workbook blob -> upload, submissions and one grading message per submission."""

from __future__ import annotations

import json

import pytest
from opentelemetry.sdk.trace import TracerProvider

from shared import telemetry
from shared.bank import Section
from shared.errors import Problem, TransientServiceError, WorkbookRejected
from shared.ingest import http_blob_name, ingest_blob, safe_file_name, upload_id_for
from shared.records import (
    INFLIGHT_PARTITION,
    SUBMISSION_ROW,
    UPLOAD_ROW,
    SubmissionStatus,
    done_property,
    load_submission,
    submission_partition,
    upload_partition,
)
from tests.fakes import World, drain


def test_a_cohort_larger_than_a_transaction_is_recorded_and_sent_whole() -> None:
    world = World()
    names = [f"Candidate {n}" for n in range(150)]
    world.stage("cohort.xlsx", *names)
    upload_id = ingest_blob(world.services, "cohort.xlsx")
    assert upload_id is not None
    ids = {json.loads(m.body)["submission_id"] for m in world.sender.sent}
    assert len(ids) == 150
    assert len(world.sender.sent) == 150
    summaries = [
        r for r in world.tables.query_partition(upload_partition(upload_id)) if r.row_key != "upload"
    ]
    assert len(summaries) == 150
    assert {r.row_key for r in world.tables.query_partition(INFLIGHT_PARTITION)} == ids


def test_each_submission_gets_one_message_for_all_its_sections() -> None:
    world = World()
    world.stage("cohort.xlsx", "Ada Lovelace", "Alan Turing")
    upload_id = ingest_blob(world.services, "cohort.xlsx")
    messages = world.sender.sent
    assert len(messages) == 2
    assert {m.correlation_id for m in messages} == {upload_id}
    bodies = [json.loads(m.body) for m in messages]
    assert all(b["sections"] == [s.value for s in Section] for b in bodies)
    assert len({b["submission_id"] for b in bodies}) == 2
    assert all(m.message_id == f"{b['submission_id']}:all" for m, b in zip(messages, bodies, strict=True))


def test_messages_are_sent_in_one_batch_call() -> None:
    world = World()
    world.stage("cohort.xlsx", "Ada Lovelace", "Alan Turing", "Grace Hopper")
    ingest_blob(world.services, "cohort.xlsx")
    assert world.sender.batches == 1


def test_the_same_blob_event_twice_records_and_sends_nothing_new() -> None:
    world = World()
    world.stage("one.xlsx", "Ada Lovelace")
    first = ingest_blob(world.services, "one.xlsx")
    rows_after_first = dict(world.tables.rows)
    second = ingest_blob(world.services, "one.xlsx")
    assert first == second
    assert len(world.sender.sent) == 1
    assert world.sender.batches == 1
    assert {k: v.properties for k, v in world.tables.rows.items()} == {
        k: v.properties for k, v in rows_after_first.items()
    }


def test_a_retry_after_a_crash_before_sending_sends_the_messages() -> None:
    world = World()
    world.stage("one.xlsx", "Ada Lovelace")

    world.sender.fail_next = TransientServiceError("broker unreachable")
    with pytest.raises(TransientServiceError):
        ingest_blob(world.services, "one.xlsx")
    assert world.sender.sent == []
    ingest_blob(world.services, "one.xlsx")
    assert len(world.sender.sent) == 1


def test_a_retry_never_resets_progress_already_recorded() -> None:
    world = World()
    world.stage("one.xlsx", "Ada Lovelace")
    upload_id = ingest_blob(world.services, "one.xlsx")
    assert upload_id is not None
    submission_id = json.loads(world.sender.sent[0].body)["submission_id"]
    record = load_submission(world.tables, submission_id)
    props = {**record.to_properties(), done_property("quiz"): True}
    world.tables.upsert(submission_partition(submission_id), SUBMISSION_ROW, props)
    upload = world.tables.get(upload_partition(upload_id), UPLOAD_ROW)
    world.tables.upsert(upload_partition(upload_id), UPLOAD_ROW, {**upload.properties, "sent": False})
    ingest_blob(world.services, "one.xlsx")
    assert load_submission(world.tables, submission_id).done == {"quiz"}


def test_a_retry_after_grading_finished_brings_back_no_in_flight_marker() -> None:
    world = World()
    world.stage("one.xlsx", "Ada Lovelace", "Alan Turing")
    world.sender.fail_next = TransientServiceError("Service Bus down after the rows were recorded")
    with pytest.raises(TransientServiceError):
        ingest_blob(world.services, "one.xlsx")
    ingest_blob(world.services, "one.xlsx")
    drain(world)
    upload_id = ingest_blob(world.services, "one.xlsx")
    assert upload_id is not None
    upload = world.tables.get(upload_partition(upload_id), UPLOAD_ROW)
    # As if the host retried the blob once more after the fan-out had stored its status.
    world.tables.upsert(upload_partition(upload_id), UPLOAD_ROW, {**upload.properties, "sent": False})
    ingest_blob(world.services, "one.xlsx")
    assert world.tables.query_partition(INFLIGHT_PARTITION) == []


def test_an_overwritten_blob_is_a_new_upload() -> None:
    world = World()
    world.stage("one.xlsx", "Ada Lovelace", data=b"first version")
    first = ingest_blob(world.services, "one.xlsx")
    world.stage("one.xlsx", "Ada Lovelace", data=b"second version")
    second = ingest_blob(world.services, "one.xlsx")
    assert first != second


def test_a_rejected_workbook_ends_rejected_with_its_located_problems() -> None:
    world = World()
    problem = Problem(sheet="Answers", row=4, column="B", message="not a choice key")
    world.engine.parsed[b"bad"] = WorkbookRejected("cannot grade", [problem])
    world.blobs.write(world.settings.answer_sheets_container, "bad.xlsx", b"bad", "x")
    upload_id = ingest_blob(world.services, "bad.xlsx")
    assert upload_id is not None
    upload = world.tables.get(upload_partition(upload_id), UPLOAD_ROW).properties
    assert upload["status"] == "rejected"
    assert json.loads(str(upload["problems"])) == [problem.to_dict()]
    assert world.sender.sent == []


def test_a_rejection_without_located_problems_lists_the_reason_as_one() -> None:
    world = World()
    world.engine.parsed[b"bad"] = WorkbookRejected("the file is not an .xlsx workbook")
    world.blobs.write(world.settings.answer_sheets_container, "bad.xlsx", b"bad", "x")
    upload_id = ingest_blob(world.services, "bad.xlsx")
    assert upload_id is not None
    problems = json.loads(
        str(world.tables.get(upload_partition(upload_id), UPLOAD_ROW).properties["problems"])
    )
    assert [p["message"] for p in problems] == ["the file is not an .xlsx workbook"]


def test_a_rejected_workbook_is_not_parsed_again_on_redelivery() -> None:
    world = World()
    world.engine.parsed[b"bad"] = WorkbookRejected("cannot grade")
    world.blobs.write(world.settings.answer_sheets_container, "bad.xlsx", b"bad", "x")
    ingest_blob(world.services, "bad.xlsx")
    world.engine.parsed[b"bad"] = WorkbookRejected("a different verdict")
    upload_id = ingest_blob(world.services, "bad.xlsx")
    assert upload_id is not None
    assert world.tables.get(upload_partition(upload_id), UPLOAD_ROW).properties["message"] == "cannot grade"


def test_a_file_over_the_size_limit_is_rejected_without_parsing() -> None:
    world = World()
    big = b"x" * (world.settings.limits.max_upload_bytes + 1)
    world.blobs.write(world.settings.answer_sheets_container, "big.xlsx", big, "x")
    upload_id = ingest_blob(world.services, "big.xlsx")
    assert upload_id is not None
    upload = world.tables.get(upload_partition(upload_id), UPLOAD_ROW).properties
    assert upload["status"] == "rejected"
    assert "limit" in str(upload["message"])


def test_a_workbook_without_candidates_is_rejected() -> None:
    world = World()
    world.stage("empty.xlsx")
    upload_id = ingest_blob(world.services, "empty.xlsx")
    assert upload_id is not None
    assert world.tables.get(upload_partition(upload_id), UPLOAD_ROW).properties["status"] == "rejected"


def test_a_vanished_blob_is_ignored() -> None:
    world = World()
    assert ingest_blob(world.services, "gone.xlsx") is None
    assert world.tables.rows == {}


def test_submissions_start_grading_and_in_flight() -> None:
    world = World()
    world.stage("one.xlsx", "Ada Lovelace")
    ingest_blob(world.services, "one.xlsx")
    submission_id = json.loads(world.sender.sent[0].body)["submission_id"]
    assert load_submission(world.tables, submission_id).status is SubmissionStatus.GRADING
    assert [r.row_key for r in world.tables.query_partition(INFLIGHT_PARTITION)] == [submission_id]


def test_messages_carry_the_trace_context_when_tracing_is_on() -> None:
    world = World()
    world.stage("one.xlsx", "Ada Lovelace")
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("upload"):
        ingest_blob(world.services, "one.xlsx")
    assert all(m.application_properties["traceparent"].startswith("00-") for m in world.sender.sent)


def test_pseudonyms_ignore_case_and_spaces_and_hide_the_email() -> None:
    assert telemetry.pseudonym("Ada@Example.com ") == telemetry.pseudonym("ada@example.com")
    assert "ada" not in telemetry.pseudonym("ada@example.com")


def test_upload_ids_are_deterministic_per_blob_version_and_unguessable_in_shape() -> None:
    assert upload_id_for("a.xlsx", '"0x1"') == upload_id_for("a.xlsx", "0x1")
    assert upload_id_for("a.xlsx", "0x1") != upload_id_for("a.xlsx", "0x2")
    assert len(upload_id_for("a.xlsx", "0x1")) == 32


def test_file_names_lose_paths_and_odd_characters() -> None:
    assert safe_file_name("../../etc/passwd") == "passwd"
    assert safe_file_name("..\\..\\win.ini") == "win.ini"
    assert safe_file_name('re"port\r\n.xlsx') == "re-port-.xlsx"
    assert safe_file_name("...") == "answer-sheet.xlsx"


def test_http_blob_names_are_fresh_and_stay_under_their_prefix() -> None:
    first, second = http_blob_name("../x.xlsx"), http_blob_name("../x.xlsx")
    assert first != second
    assert first.startswith("http/")
    assert first.endswith("/x.xlsx")
    assert ".." not in first
