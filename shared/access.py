"""Who is asking: the App Service Authentication (Easy Auth) principal, when it is switched on.

Function keys protect every data route. On top, with Easy Auth and Microsoft Entra ID on, the
platform authenticates the caller and passes ``X-MS-CLIENT-PRINCIPAL`` (base64 JSON of the
token's claims). The platform strips any client-supplied copy of that header before it sets
its own, so the header is trusted only when ``READYCHECK_EASY_AUTH_ENABLED`` says the platform
is in front; with the setting off (local runs) every key holder sees everything.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from shared.errors import NotAuthenticated
from shared.settings import Settings

PRINCIPAL_HEADER = "x-ms-client-principal"
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
    """The caller's rights: everyone (access control off), a reviewer, or a candidate's emails."""

    unrestricted: bool
    reviewer: bool = False
    emails: frozenset[str] = frozenset()

    def may_see(self, email: str) -> bool:
        """Whether the caller may see a submission of this (normalised) email."""
        return self.unrestricted or self.reviewer or email.strip().casefold() in self.emails

    @property
    def may_see_digests(self) -> bool:
        """Digests cover every candidate: reviewers (or everyone, with access control off) only."""
        return self.unrestricted or self.reviewer

    @property
    def identity(self) -> str:
        """A stable identity to record as an uploader (an email), empty when unrestricted."""
        return min(self.emails) if self.emails else ""


EVERYONE = Viewer(unrestricted=True)


def viewer_from_header(header: str | None, settings: Settings) -> Viewer:
    """The viewer for a request; :class:`NotAuthenticated` if Easy Auth is on and the header is bad."""
    if not settings.easy_auth_enabled:
        return EVERYONE
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
    role_type = principal.get("role_typ") or "roles"
    emails: set[str] = set()
    roles: set[str] = set()
    for claim in principal["claims"]:
        if not isinstance(claim, dict) or not isinstance(claim.get("val"), str):
            raise NotAuthenticated("the client principal header is malformed")
        kind, value = claim.get("typ"), claim["val"].strip()
        if kind in (role_type, "roles"):
            roles.add(value)
        elif kind in _EMAIL_CLAIMS and "@" in value:
            emails.add(value.casefold())
    if not emails and settings.reviewer_role not in roles:
        raise NotAuthenticated("the signed-in principal carries no email address")
    return Viewer(unrestricted=False, reviewer=settings.reviewer_role in roles, emails=frozenset(emails))
