"""Who is asking: the App Service Authentication (Easy Auth) principal, when it is switched on.

Function keys protect every data route; with access control off (the default deployment) a key
holder sees every upload, submission, report and digest whose id they know (docs/api.md). With
Easy Auth and Microsoft Entra ID on, the platform authenticates the caller and passes
``X-MS-CLIENT-PRINCIPAL`` (base64 JSON of the token's claims), stripping any client-supplied copy.
An app setting alone cannot prove that the platform is in front, so the header is trusted only
when ``READYCHECK_EASY_AUTH_ENABLED`` asks for access control AND the platform's own
``WEBSITE_AUTH_ENABLED`` says Easy Auth is on; if they disagree every data request is refused.
Roles are read only from the claim types Entra ID uses (the header's ``role_typ`` is the caller's
word, not the platform's); people are matched by their immutable object id first (``oid``, else
``sub``) and by email claims second.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from shared.errors import NotAuthenticated
from shared.records import candidate_id_for
from shared.settings import Settings

PRINCIPAL_HEADER = "x-ms-client-principal"
# Fixed on purpose: a principal cannot choose which of its claims count as roles.
_ROLE_CLAIMS = ("roles", "http://schemas.microsoft.com/ws/2008/06/identity/claims/role")
# Immutable per user (oid) or per user and app (sub), unlike names and email addresses.
_OBJECT_ID_CLAIMS = ("http://schemas.microsoft.com/identity/claims/objectidentifier", "oid")
_SUBJECT_CLAIMS = ("sub", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier")
_EMAIL_CLAIMS = (
    "preferred_username",
    "email",
    "emails",
    "upn",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/emailaddress",
    "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn",
)
# Easy Auth headers are a few KB at most; anything larger is not the platform's.
_MAX_HEADER = 16_384


@dataclass(frozen=True, slots=True)
class Viewer:
    """The caller's rights: everyone (access control off), a reviewer, or one person (object id, emails)."""

    unrestricted: bool
    reviewer: bool = False
    object_id: str = ""
    emails: frozenset[str] = frozenset()

    def may_see(self, email: str, uploaded_by: str = "") -> bool:
        """Whether the caller may see a submission: they uploaded it, or it carries one of their emails."""
        return (
            self.unrestricted
            or self.reviewer
            or self.uploaded(uploaded_by)
            or email.strip().casefold() in self.emails
        )

    def uploaded(self, uploaded_by: str) -> bool:
        """Whether an upload recorded as made by ``uploaded_by`` is the caller's (object id, else email)."""
        if not uploaded_by:
            return False
        return uploaded_by == self.object_id or uploaded_by.casefold() in self.emails

    def may_see_candidate(self, candidate_id: str) -> bool:
        """Whether the caller may see a candidate's history: reviewers, or the candidate themselves."""
        return (
            self.unrestricted
            or self.reviewer
            or any(candidate_id_for(e) == candidate_id for e in self.emails)
        )

    @property
    def may_see_digests(self) -> bool:
        """Digests cover every candidate: reviewers (or everyone, with access control off) only."""
        return self.unrestricted or self.reviewer

    @property
    def may_review(self) -> bool:
        """The review queue and point overrides: reviewers (or everyone, with access control off)."""
        return self.unrestricted or self.reviewer

    @property
    def identity(self) -> str:
        """Who to record as an uploader: the object id (an email if none), empty when unrestricted."""
        return self.object_id or (min(self.emails) if self.emails else "")


EVERYONE = Viewer(unrestricted=True)


def viewer_from_header(header: str | None, settings: Settings) -> Viewer:
    """The viewer for a request; :class:`NotAuthenticated` if Easy Auth is on and the header is bad."""
    if not settings.easy_auth_enabled:
        return EVERYONE
    if not settings.platform_auth_enabled:
        # Asked for access control, yet nothing in front strips a forged header: refuse everyone.
        raise NotAuthenticated("sign-in is not available: App Service Authentication is off for this app")
    if not header:
        raise NotAuthenticated("sign in first: no authenticated principal on the request")
    if len(header) > _MAX_HEADER:
        raise NotAuthenticated("the client principal header is malformed")
    try:
        principal = json.loads(base64.b64decode(header, validate=True))
    except (binascii.Error, ValueError) as err:
        raise NotAuthenticated("the client principal header is malformed") from err
    if not isinstance(principal, dict) or not isinstance(principal.get("claims"), list):
        raise NotAuthenticated("the client principal header is malformed")
    emails: set[str] = set()
    roles: set[str] = set()
    ids: dict[str, str] = {}
    for claim in principal["claims"]:
        if not isinstance(claim, dict) or not isinstance(claim.get("val"), str):
            raise NotAuthenticated("the client principal header is malformed")
        kind, value = claim.get("typ"), claim["val"].strip()
        if kind in _ROLE_CLAIMS:
            roles.add(value)
        elif kind in _OBJECT_ID_CLAIMS or kind in _SUBJECT_CLAIMS:
            ids.setdefault("oid" if kind in _OBJECT_ID_CLAIMS else "sub", value)
        elif kind in _EMAIL_CLAIMS and "@" in value:
            emails.add(value.casefold())
    object_id = ids.get("oid") or ids.get("sub", "")
    reviewer = settings.reviewer_role in roles
    if not object_id and not emails and not reviewer:
        raise NotAuthenticated("the signed-in principal carries no object id or email address")
    return Viewer(unrestricted=False, reviewer=reviewer, object_id=object_id, emails=frozenset(emails))
