"""Access control from the Easy Auth principal header: allowed, denied, forged and malformed."""

from __future__ import annotations

import base64
import dataclasses
import json

import pytest

from shared.access import EVERYONE, viewer_from_header
from shared.errors import NotAuthenticated
from tests.fakes import SETTINGS

ON = dataclasses.replace(SETTINGS, easy_auth_enabled=True, platform_auth_enabled=True)
OID = "http://schemas.microsoft.com/identity/claims/objectidentifier"


def principal(*claims: tuple[str, str], role_typ: str = "roles") -> str:
    body = {
        "auth_typ": "aad",
        "name_typ": "name",
        "role_typ": role_typ,
        "claims": [{"typ": t, "val": v} for t, v in claims],
    }
    return base64.b64encode(json.dumps(body).encode()).decode()


def test_with_access_control_off_every_key_holder_sees_everything() -> None:
    viewer = viewer_from_header(principal(("preferred_username", "x@example.com")), SETTINGS)
    assert viewer is EVERYONE
    assert viewer.may_see("anyone@example.com")
    assert viewer.may_see_digests


def test_a_candidate_sees_only_their_own_email() -> None:
    viewer = viewer_from_header(principal(("preferred_username", "Ada@Example.com")), ON)
    assert viewer.may_see("ada@example.com")
    assert not viewer.may_see("alan@example.com")
    assert not viewer.may_see_digests


def test_a_reviewer_sees_everything_and_the_digests() -> None:
    viewer = viewer_from_header(principal(("email", "rev@example.com"), ("roles", "Reviewer")), ON)
    assert viewer.may_see("ada@example.com")
    assert viewer.may_see_digests


def test_roles_are_read_from_the_declared_role_claim_type() -> None:
    role_typ = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
    viewer = viewer_from_header(
        principal(("upn", "rev@example.com"), (role_typ, "Reviewer"), role_typ=role_typ), ON
    )
    assert viewer.reviewer


def test_the_header_cannot_choose_which_claims_count_as_roles() -> None:
    forged = principal(("email", "eve@example.com"), ("name", "Reviewer"), role_typ="name")
    viewer = viewer_from_header(forged, ON)
    assert not viewer.reviewer
    assert not viewer.may_see_digests


def test_the_header_is_refused_when_the_platform_says_easy_auth_is_off() -> None:
    platform_off = dataclasses.replace(ON, platform_auth_enabled=False)
    with pytest.raises(NotAuthenticated, match="App Service Authentication is off"):
        viewer_from_header(principal(("email", "rev@example.com"), ("roles", "Reviewer")), platform_off)


def test_the_platform_alone_does_not_turn_access_control_on() -> None:
    platform_only = dataclasses.replace(SETTINGS, platform_auth_enabled=True)
    assert viewer_from_header(None, platform_only) is EVERYONE


def test_a_principal_is_identified_by_its_object_id_first() -> None:
    viewer = viewer_from_header(
        principal(("sub", "pairwise-sub"), (OID, "0000-oid"), ("preferred_username", "ada@example.com")), ON
    )
    assert viewer.object_id == "0000-oid"
    assert viewer.identity == "0000-oid"
    assert viewer.uploaded("0000-oid")
    assert not viewer.uploaded("someone-else")


def test_a_principal_with_only_a_subject_is_identified_by_it() -> None:
    viewer = viewer_from_header(principal(("sub", "pairwise-sub")), ON)
    assert viewer.identity == "pairwise-sub"
    assert not viewer.may_see("ada@example.com")


def test_another_role_is_no_reviewer() -> None:
    viewer = viewer_from_header(principal(("email", "x@example.com"), ("roles", "Reader")), ON)
    assert not viewer.may_see_digests


@pytest.mark.parametrize(
    "header",
    [
        None,
        "",
        "not base64!!",
        base64.b64encode(b"not json").decode(),
        base64.b64encode(b"[1, 2]").decode(),
        base64.b64encode(json.dumps({"claims": "all"}).encode()).decode(),
        base64.b64encode(json.dumps({"claims": [{"typ": "email", "val": 7}]}).encode()).decode(),
        principal(("name", "Ada Lovelace")),
        "A" * 20_000,
    ],
    ids=[
        "missing",
        "empty",
        "not-base64",
        "not-json",
        "not-object",
        "claims-not-list",
        "bad-claim",
        "no-email",
        "huge",
    ],
)
def test_a_missing_forged_or_malformed_principal_is_not_authenticated(header: str | None) -> None:
    with pytest.raises(NotAuthenticated):
        viewer_from_header(header, ON)
