"""The HTTP handlers: every status code, problem details, access rules and file names."""

from __future__ import annotations

import dataclasses

import pytest

from shared.access import EVERYONE, Viewer
from shared.api_handlers import (
    accept_upload,
    digest_download,
    health,
    report_download,
    submission_status,
    template_download,
    upload_by_blob,
    upload_status,
)
from shared.errors import AccessDenied
from shared.grading_flow import GradingWork, handle_grading_message, record_dead_letter
from shared.ingest import ingest_blob
from tests.fakes import World, drain

ADA = Viewer(unrestricted=False, emails=frozenset({"ada.lovelace@example.com"}))
ALAN = Viewer(unrestricted=False, emails=frozenset({"alan.turing@example.com"}))
REVIEWER = Viewer(unrestricted=False, reviewer=True)
UNKNOWN = "0" * 32


def _graded(world: World, *names: str) -> tuple[str, list[GradingWork]]:
    world.stage("sheet.xlsx", *names)
    upload_id = ingest_blob(world.services, "sheet.xlsx")
    assert upload_id is not None
    works = [GradingWork.from_json(m.body) for m in world.sender.sent]
    drain(world)
    return upload_id, works


def test_an_upload_moves_from_received_to_graded() -> None:
    world = World()
    content = world.stage("ignored.xlsx", "Ada Lovelace")
    accepted = accept_upload(world.services, content, "ada.xlsx", EVERYONE)
    assert accepted.status == 202
    body = accepted.json()
    assert isinstance(body, dict)
    assert accepted.headers["Location"] == body["status_url"]
    assert upload_status(world.services, body["upload_id"], EVERYONE).json()["status"] == "received"  # type: ignore[index]
    assert ingest_blob(world.services, body["blob"]) == body["upload_id"]
    assert upload_status(world.services, body["upload_id"], EVERYONE).json()["status"] == "grading"  # type: ignore[index]
    drain(world)
    status = upload_status(world.services, body["upload_id"], EVERYONE).json()
    assert isinstance(status, dict)
    assert status["status"] == "graded"
    [submission] = status["submissions"]
    assert submission["report_url"] == f"/api/submissions/{submission['submission_id']}/report"
    assert submission["scores"]["verdict"] == "Not yet"


def test_an_upload_with_a_failed_submission_is_partially_graded() -> None:
    world = World()
    world.stage("sheet.xlsx", "Ada Lovelace", "Alan Turing")
    upload_id = ingest_blob(world.services, "sheet.xlsx")
    assert upload_id is not None
    works = [GradingWork.from_json(m.body) for m in world.sender.take()]
    record_dead_letter(world.services, works[0].to_json(), "m1", "MaxDeliveryCountExceeded", "")
    for work in works:
        handle_grading_message(world.services, work, {})
    status = upload_status(world.services, upload_id, EVERYONE).json()
    assert isinstance(status, dict)
    assert status["status"] == "partially_graded"
    assert sorted(s["status"] for s in status["submissions"]) == ["failed", "graded"]


def test_an_upload_is_found_by_its_blob_name_and_etag() -> None:
    world = World()
    upload_id, _ = _graded(world, "Ada Lovelace")
    etag = world.blobs.info(world.settings.answer_sheets_container, "sheet.xlsx").etag
    found = upload_by_blob(world.services, "sheet.xlsx", etag, EVERYONE).json()
    assert isinstance(found, dict)
    assert found["upload_id"] == upload_id
    assert len(found["submissions"]) == 1
    assert upload_by_blob(world.services, "other.xlsx", etag, EVERYONE).status == 404
    assert upload_by_blob(world.services, "", etag, EVERYONE).status == 400


def test_a_guessable_blob_name_alone_reveals_no_ids_to_a_key_holder() -> None:
    world = World()
    _graded(world, "Ada Lovelace")
    for etag in ("", '"0x8DC000000000000"'):
        hidden = upload_by_blob(world.services, "sheet.xlsx", etag, EVERYONE)
        assert hidden.status == 404
        assert b"upload_id" not in hidden.body
    assert upload_by_blob(world.services, "sheet.xlsx", "", ALAN).status == 404


def test_a_reviewer_finds_a_direct_upload_by_blob_name_alone() -> None:
    world = World()
    upload_id, _ = _graded(world, "Ada Lovelace")
    found = upload_by_blob(world.services, "sheet.xlsx", "", REVIEWER).json()
    assert isinstance(found, dict)
    assert found["upload_id"] == upload_id


def test_unknown_and_malformed_ids_are_404_problem_details() -> None:
    world = World()
    for result in (
        upload_status(world.services, UNKNOWN, EVERYONE),
        upload_status(world.services, "../../etc/passwd", EVERYONE),
        submission_status(world.services, UNKNOWN, EVERYONE),
        report_download(world.services, "..%2f..%2fsecret", None, EVERYONE),
    ):
        assert result.status == 404
        assert result.content_type == "application/problem+json"
        assert result.json()["status"] == 404  # type: ignore[index]


def test_a_report_downloads_with_a_safe_name_and_an_etag_then_304() -> None:
    world = World()
    _, works = _graded(world, 'Ada "../evil" Lovelace')
    report = report_download(world.services, works[0].submission_id, None, EVERYONE)
    assert report.status == 200
    assert report.body.startswith(b"report for Ada")
    assert report.content_type.endswith("wordprocessingml.document")
    disposition = report.headers["Content-Disposition"]
    assert disposition.startswith("attachment; filename=")
    assert "/" not in disposition
    assert disposition.count('"') == 2
    etag = report.headers["ETag"]
    again = report_download(world.services, works[0].submission_id, etag, EVERYONE)
    assert again.status == 304
    assert again.body == b""
    assert report_download(world.services, works[0].submission_id, '"stale"', EVERYONE).status == 200


def test_a_report_is_202_with_retry_after_while_grading() -> None:
    world = World()
    world.stage("sheet.xlsx", "Ada Lovelace")
    ingest_blob(world.services, "sheet.xlsx")
    work = GradingWork.from_json(world.sender.sent[0].body)
    result = report_download(world.services, work.submission_id, None, EVERYONE)
    assert result.status == 202
    assert int(result.headers["Retry-After"]) == world.settings.report_retry_after_seconds


def test_a_failed_submissions_report_is_422_with_the_reason() -> None:
    world = World()
    world.stage("sheet.xlsx", "Ada Lovelace")
    ingest_blob(world.services, "sheet.xlsx")
    work = GradingWork.from_json(world.sender.sent[0].body)
    record_dead_letter(world.services, work.to_json(), "m1", "MaxDeliveryCountExceeded", "")
    result = report_download(world.services, work.submission_id, None, EVERYONE)
    assert result.status == 422
    assert "MaxDeliveryCountExceeded" in str(result.json()["detail"])  # type: ignore[index]


def test_a_rejected_upload_shows_its_problems() -> None:
    from shared.errors import Problem, WorkbookRejected

    world = World()
    problem = Problem(sheet="Answers", row=3, column="C", message="unknown item")
    world.engine.parsed[b"bad"] = WorkbookRejected("cannot grade", [problem])
    world.blobs.write(world.settings.answer_sheets_container, "bad.xlsx", b"bad", "x")
    upload_id = ingest_blob(world.services, "bad.xlsx")
    assert upload_id is not None
    status = upload_status(world.services, upload_id, EVERYONE).json()
    assert isinstance(status, dict)
    assert status["status"] == "rejected"
    assert status["problems"] == [problem.to_dict()]


def test_a_candidate_sees_only_their_own_submissions() -> None:
    world = World()
    upload_id, works = _graded(world, "Ada Lovelace", "Alan Turing")
    body = upload_status(world.services, upload_id, ADA).json()
    assert isinstance(body, dict)
    assert len(body["submissions"]) == 1
    ids = {w.submission_id for w in works}
    mine = body["submissions"][0]["submission_id"]
    [theirs] = ids - {mine}
    assert submission_status(world.services, mine, ADA).status == 200
    assert submission_status(world.services, theirs, ADA).status == 404
    assert report_download(world.services, theirs, None, ADA).status == 404
    assert submission_status(world.services, theirs, REVIEWER).status == 200


def test_a_stranger_cannot_see_an_upload_without_their_submissions() -> None:
    world = World()
    world.stage("sheet.xlsx", "Ada Lovelace")
    upload_id = ingest_blob(world.services, "sheet.xlsx")
    assert upload_id is not None
    stranger = Viewer(unrestricted=False, emails=frozenset({"eve@example.com"}))
    assert upload_status(world.services, upload_id, stranger).status == 404
    assert upload_status(world.services, upload_id, ALAN).status == 404


def test_an_uploader_sees_their_upload_before_it_is_parsed() -> None:
    world = World()
    content = world.stage("ignored.xlsx", "Ada Lovelace")
    uploader = Viewer(unrestricted=False, emails=frozenset({"recruiter@example.com"}))
    upload_id = accept_upload(world.services, content, "a.xlsx", uploader).json()["upload_id"]  # type: ignore[index]
    assert upload_status(world.services, upload_id, uploader).status == 200
    assert upload_status(world.services, upload_id, ALAN).status == 404


def test_an_uploader_is_known_by_object_id_not_by_a_mutable_email() -> None:
    world = World()
    content = world.stage("ignored.xlsx", "Ada Lovelace")
    uploader = Viewer(
        unrestricted=False, object_id="oid-recruiter", emails=frozenset({"recruiter@example.com"})
    )
    upload_id = accept_upload(world.services, content, "a.xlsx", uploader).json()["upload_id"]  # type: ignore[index]
    renamed = Viewer(
        unrestricted=False, object_id="oid-recruiter", emails=frozenset({"new.name@example.com"})
    )
    assert upload_status(world.services, upload_id, renamed).status == 200
    taken_over = Viewer(
        unrestricted=False, object_id="oid-other", emails=frozenset({"recruiter@example.com"})
    )
    assert upload_status(world.services, upload_id, taken_over).status == 404


def test_an_uploader_sees_the_submissions_of_their_own_upload() -> None:
    world = World()
    content = world.stage("ignored.xlsx", "Ada Lovelace")
    uploader = Viewer(unrestricted=False, object_id="oid-recruiter")
    accepted = accept_upload(world.services, content, "a.xlsx", uploader).json()
    assert isinstance(accepted, dict)
    ingest_blob(world.services, accepted["blob"])
    drain(world)
    [submission] = upload_status(world.services, accepted["upload_id"], uploader).json()["submissions"]  # type: ignore[index]
    assert submission_status(world.services, submission["submission_id"], uploader).status == 200
    assert submission_status(world.services, submission["submission_id"], ALAN).status == 404


def test_uploads_reject_empty_oversized_and_non_workbook_bodies() -> None:
    world = World()
    small = dataclasses.replace(world.settings.limits, max_upload_bytes=10)
    world.settings = dataclasses.replace(world.settings, limits=small)
    assert accept_upload(world.services, b"", "a.xlsx", EVERYONE).status == 400
    assert accept_upload(world.services, b"PK\x03\x04" + b"x" * 20, "a.xlsx", EVERYONE).status == 413
    assert accept_upload(world.services, b"hello", "a.xlsx", EVERYONE).status == 415
    assert world.blobs.writes == []


def test_an_uploaded_file_name_cannot_escape_its_folder() -> None:
    world = World()
    result = accept_upload(world.services, b"PK\x03\x04data", "../../reports/x.docx", EVERYONE)
    blob = result.json()["blob"]  # type: ignore[index]
    assert blob.startswith("http/")
    assert ".." not in blob
    assert blob.endswith("/x.docx")


def test_digests_are_for_reviewers_and_dates_are_validated() -> None:
    world = World()
    world.blobs.write(world.settings.digests_container, "2026-03-01.docx", b"digest", "x")
    assert digest_download(world.services, "2026-03-01", REVIEWER).status == 200
    with pytest.raises(AccessDenied, match="digests are for reviewers"):
        digest_download(world.services, "2026-03-01", ADA)
    assert digest_download(world.services, "2026-03-02", REVIEWER).status == 404
    assert digest_download(world.services, "2026-02-30", REVIEWER).status == 400
    assert digest_download(world.services, "../../x", REVIEWER).status == 400


def test_the_template_is_an_xlsx_attachment() -> None:
    result = template_download(b"PK\x03\x04")
    assert result.content_type.endswith("spreadsheetml.sheet")
    assert result.headers["Content-Disposition"].startswith("attachment;")


def test_health_is_503_naming_the_dependency_that_fails() -> None:
    from shared.errors import ServiceError

    def broken() -> None:
        raise ServiceError("connection refused")

    result = health({"storage": lambda: None, "servicebus": broken})
    assert result.status == 503
    body = result.json()
    assert isinstance(body, dict)
    assert body["checks"]["storage"] == "ok"
    assert "connection refused" in body["checks"]["servicebus"]
    assert health({"storage": lambda: None}).status == 200
