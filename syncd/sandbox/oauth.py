"""Google's OAuth 2.0 token endpoint for service accounts, emulated.

Follows "Using OAuth 2.0 for Server to Server Applications" (developers.google.com/identity/
protocols/oauth2/service-account): the client POSTs a form with
`grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer` and `assertion=<JWT>`, the JWT being
RS256-signed with the service account's private key and claiming `iss` (the account's email),
`scope` (space-delimited), `aud` (the token endpoint), `iat` and `exp` (at most one hour
later). The answer is `{"access_token", "expires_in": 3600, "token_type": "Bearer"}`; failures
are 400 with RFC 6749's `{"error", "error_description"}`.

The docs say `aud` is always `https://oauth2.googleapis.com/token` (google-auth sends exactly
that even when the key file names another token_uri), so that value is accepted as well as the
sandbox's own token URL.
"""

from __future__ import annotations

import base64
import binascii
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qs, quote

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from syncd.sandbox.server import Handler, Request, Response

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
GOOGLE_TOKEN_URI = "https://oauth2.googleapis.com/token"
TOKEN_LIFETIME = 3600
CLOCK_SKEW = 300  # seconds of iat-in-the-future tolerated, for clients with a fast clock
BAD_TIMES = (
    "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe. "
    "Check your iat and exp values in the JWT claim."
)


@dataclass
class AccessToken:
    """An issued access token."""

    email: str
    scopes: frozenset[str]
    expires_at: float
    revoked: bool = False


def _b64decode(part: str) -> bytes:
    return base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))


class GoogleOAuthApp:
    """The token endpoint (POST /token) and the service account it trusts."""

    name = "oauth"

    def __init__(
        self,
        client_email: str = "syncd-sandbox@syncd-sandbox.iam.gserviceaccount.com",
        project_id: str = "syncd-sandbox",
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.client_email = client_email
        self.project_id = project_id
        self.clock = clock
        self._key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.private_key_id = secrets.token_hex(20)
        self.client_id = str(100000000000000000000 + secrets.randbelow(10**20))
        self.tokens: dict[str, AccessToken] = {}
        self.token_uris: set[str] = set()  # the sandbox URLs handed out in key files

    def service_account_info(self, token_uri: str) -> dict[str, str]:
        """A service-account key as the Cloud console downloads it, pointing at token_uri."""
        self.token_uris.add(token_uri)
        pem = self._key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        return {
            "type": "service_account",
            "project_id": self.project_id,
            "private_key_id": self.private_key_id,
            "private_key": pem,
            "client_email": self.client_email,
            "client_id": self.client_id,
            "auth_uri": "https://accounts.google.com/o/oauth2/auth",
            "token_uri": token_uri,
            "auth_provider_x509_cert_url": "https://www.googleapis.com/oauth2/v1/certs",
            "client_x509_cert_url": "https://www.googleapis.com/robot/v1/metadata/x509/"
            + quote(self.client_email, safe=""),
            "universe_domain": "googleapis.com",
        }

    def token_valid(self, token: str) -> bool:
        """True for a token this endpoint issued that has neither expired nor been revoked."""
        return self.token_info(token) is not None

    def token_info(self, token: str) -> AccessToken | None:
        """The live token's record (email, scopes), or None."""
        issued = self.tokens.get(token)
        if issued is None or issued.revoked or issued.expires_at <= self.clock():
            return None
        return issued

    def revoke_all(self) -> None:
        """Invalidate every issued token (clients must fetch new ones)."""
        for issued in self.tokens.values():
            issued.revoked = True

    def routes(self) -> list[tuple[str, str, Handler]]:
        """The token endpoint, and the IAM allowedLocations lookup google-auth makes."""
        return [
            ("POST", r"/token", self._token),
            ("GET", r"/v1/projects/-/serviceAccounts/(?P<email>[^/]+)/allowedLocations", self._rab),
        ]

    def _rab(self, req: Request) -> Response:
        """google-auth (2.5x+) looks up a service account's Regional Access Boundary in the
        background after each token refresh; an answer with no locations means unrestricted."""
        token = (req.header("authorization") or "")[7:]
        if not self.token_valid(token):
            return Response(401, {"error": {"code": 401, "status": "UNAUTHENTICATED"}})
        return Response(200, {"locations": [], "encodedLocations": "0x0"})

    def admin_routes(self) -> list[tuple[str, str, Handler]]:
        """POST /revoke (revoke every token), GET /tokens (how many are live)."""

        def revoke(_req: Request) -> Response:
            self.revoke_all()
            return Response(200, {})

        def tokens(_req: Request) -> Response:
            live = sum(1 for t in self.tokens if self.token_valid(t))
            return Response(200, {"issued": len(self.tokens), "live": live})

        return [("POST", r"/revoke", revoke), ("GET", r"/tokens", tokens)]

    def error(self, status: int, message: str) -> Response:
        """An RFC 6749 error body; 5xx/429 use codes google-auth treats as retryable."""
        code = {400: "invalid_request", 401: "invalid_client", 500: "internal_failure"}.get(
            status, "temporarily_unavailable" if status in (429, 503) else "server_error"
        )
        return Response(status, {"error": code, "error_description": message})

    def _grant_error(self, code: str, description: str) -> Response:
        return Response(400, {"error": code, "error_description": description})

    def _token(self, req: Request) -> Response:
        form = {k: v[0] for k, v in parse_qs(req.body.decode("utf-8", "replace")).items()}
        grant_type = form.get("grant_type")
        if not grant_type:
            return self._grant_error("invalid_request", "Missing required parameter: grant_type")
        if grant_type != JWT_BEARER:
            return self._grant_error("unsupported_grant_type", f"Invalid grant_type: {grant_type}")
        assertion = form.get("assertion")
        if not assertion:
            return self._grant_error("invalid_request", "Missing required parameter: assertion")
        claims = self._verify(assertion, f"{req.base_url}/token")
        if isinstance(claims, Response):
            return claims
        scopes = str(claims.get("scope") or "").split()
        if not scopes:
            return self._grant_error("invalid_scope", "Empty or missing scope not allowed.")
        token = "ya29." + secrets.token_urlsafe(48)
        self.tokens[token] = AccessToken(
            email=self.client_email,
            scopes=frozenset(scopes),
            expires_at=self.clock() + TOKEN_LIFETIME,
        )
        return Response(
            200,
            {"access_token": token, "expires_in": TOKEN_LIFETIME, "token_type": "Bearer"},
            {"Cache-Control": "no-cache, no-store, max-age=0, must-revalidate"},
        )

    def _verify(self, assertion: str, own_uri: str) -> dict[str, Any] | Response:
        """The JWT's claims if its signature, issuer, audience and times check out."""
        try:
            header_b64, claims_b64, signature_b64 = assertion.split(".")
            header = json.loads(_b64decode(header_b64))
            claims = json.loads(_b64decode(claims_b64))
            signature = _b64decode(signature_b64)
        except (ValueError, binascii.Error):
            return self._grant_error("invalid_grant", "Invalid JWT: could not be decoded.")
        if not isinstance(header, dict) or not isinstance(claims, dict):
            return self._grant_error("invalid_grant", "Invalid JWT: could not be decoded.")
        if header.get("alg") != "RS256":
            return self._grant_error("invalid_grant", "Invalid JWT Signature.")
        if header.get("kid") not in (None, self.private_key_id):
            return self._grant_error("invalid_grant", "Invalid JWT Signature.")
        try:
            self._key.public_key().verify(
                signature,
                f"{header_b64}.{claims_b64}".encode(),
                padding.PKCS1v15(),
                hashes.SHA256(),
            )
        except InvalidSignature:
            return self._grant_error("invalid_grant", "Invalid JWT Signature.")
        if claims.get("iss") != self.client_email:
            return self._grant_error("invalid_grant", "Invalid grant: account not found")
        audiences = {GOOGLE_TOKEN_URI, own_uri, *self.token_uris}
        if claims.get("aud") not in audiences:
            return self._grant_error(
                "invalid_grant", f"Invalid JWT: Failed audience check. Expected {GOOGLE_TOKEN_URI}"
            )
        now = self.clock()
        iat, exp = claims.get("iat"), claims.get("exp")
        if not isinstance(iat, int | float) or not isinstance(exp, int | float):
            return self._grant_error("invalid_grant", BAD_TIMES)
        if exp <= now or iat > now + CLOCK_SKEW or exp - iat > TOKEN_LIFETIME or exp <= iat:
            return self._grant_error("invalid_grant", BAD_TIMES)
        return claims
