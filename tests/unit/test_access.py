"""Access control from the Easy Auth principal header: allowed, denied, forged and malformed."""

from __future__ import annotations

import base64
import dataclasses
import json

import pytest

from shared.access import EVERYONE, viewer_from_header
from shared.errors import NotAuthenticated
from tests.fakes import SETTINGS

ON = dataclasses.replace(SETTINGS, easy_auth_enabled=True)


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
