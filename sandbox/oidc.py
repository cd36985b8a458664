"""A local OpenID Connect provider, so team sign-in (``st.login``) works offline and in tests.

Not part of TikTok: a sign-in service like Google's or Microsoft Entra's, reduced to what an
OIDC relying party uses (https://openid.net/specs/openid-connect-core-1_0.html): discovery,
JWKS, the authorization code flow with PKCE (S256) and nonce, RS256-signed ID tokens, userinfo
and RP-initiated logout. The protocol work is Authlib's server side
(``authlib.oauth2.rfc6749.AuthorizationServer``, ``authlib.oidc.core.grants.OpenIDCode``,
``authlib.oauth2.rfc7636.CodeChallenge``, ``authlib.oidc.rpinitiated.EndSessionEndpoint``);
keys and signatures are joserfc's (the JOSE library Authlib's OIDC grants sign with).

Routes live under ``/oidc/`` on the sandbox's server; the issuer is ``<base_url>/oidc``.
The sign-in page lists demo team members (fake addresses); one is outside the demo allowlist.
State (codes, tokens, the signing key) is in memory: restarting the sandbox signs everyone's
next sign-in with a new key, which is what a key rotation at a real provider looks like.
"""

from __future__ import annotations

import hmac
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import parse_qs, urlencode, urlsplit

from authlib.oauth2 import OAuth2Error
from authlib.oauth2.rfc6749 import (
    AuthorizationServer,
    ClientMixin,
    JsonRequest,
    OAuth2Payload,
    OAuth2Request,
)
from authlib.oauth2.rfc6749.grants import AuthorizationCodeGrant
from authlib.oauth2.rfc6750 import BearerTokenGenerator
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from authlib.oidc.discovery import OpenIDProviderMetadata
from authlib.oidc.rpinitiated import EndSessionEndpoint
from joserfc.jwk import KeySet, RSAKey

from sandbox.pages import _page, esc
from sandbox.web import JSON, Request, Response, html_response, json_response

if TYPE_CHECKING:
    from sandbox.core import Sandbox

OIDC_PREFIX = "/oidc"
DEMO_CLIENT_ID = "reelboard-sandbox"
# A published demo value, like the sandbox's TikTok client secret: it protects nothing real.
DEMO_CLIENT_SECRET = "sandbox-oidc-secret-not-for-production"
SCOPES = ("openid", "profile", "email")
CODE_TTL = 300
TOKEN_TTL = 3600
CALLBACK_PATH = "/oauth2callback"  # where Streamlit's st.login receives the answer


@dataclass(frozen=True)
class TeamMember:
    sub: str
    email: str
    name: str
    note: str  # shown on the sign-in page only
    email_verified: bool = True


#: The demo team. The README's [access] table lists the first three; the last is a stranger.
TEAM: tuple[TeamMember, ...] = (
    TeamMember("demo-admin", "admin@example.com", "Ada Admin", "admin in the demo allowlist"),
    TeamMember("demo-editor", "editor@example.com", "Eddie Editor", "editor in the demo allowlist"),
    TeamMember("demo-viewer", "viewer@example.com", "Vera Viewer", "viewer in the demo allowlist"),
    TeamMember(
        "demo-stranger",
        "stranger@example.net",
        "Sam Stranger",
        "not on the allowlist: Reelboard must refuse",
    ),
)
_BY_SUB = {m.sub: m for m in TEAM}


def _loopback_callback(uri: str) -> bool:
    """RFC 8252 §7.3: a loopback redirect URI may use any port. Only Streamlit's callback path
    on this machine is accepted, so the demo works on whichever port the app runs."""
    parts = urlsplit(uri)
    return (
        parts.scheme == "http"
        and parts.hostname in ("localhost", "127.0.0.1", "::1")
        and parts.path.endswith(CALLBACK_PATH)
        and not parts.fragment
    )


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str
    redirect_uris: tuple[str, ...] = ()

    @property
    def client_metadata(self) -> dict[str, Any]:
        return {"post_logout_redirect_uris": list(self.redirect_uris)}

    def get_client_id(self) -> str:
        return self.client_id

    def get_default_redirect_uri(self) -> str | None:
        return self.redirect_uris[0] if self.redirect_uris else None

    def get_allowed_scope(self, scope: str) -> str:
        return " ".join(s for s in (scope or "").split() if s in SCOPES)

    def check_redirect_uri(self, redirect_uri: str) -> bool:
        return redirect_uri in self.redirect_uris or _loopback_callback(redirect_uri)

    def check_client_secret(self, client_secret: str) -> bool:
        return hmac.compare_digest(client_secret.encode(), self.client_secret.encode())

    def check_endpoint_auth_method(self, method: str, endpoint: str) -> bool:
        return endpoint != "token" or method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type: str) -> bool:
        return response_type == "code"

    def check_grant_type(self, grant_type: str) -> bool:
        return grant_type == "authorization_code"


@dataclass
class AuthorizationCode:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    sub: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    auth_time: int
    expires_at: float

    def get_redirect_uri(self) -> str:
        return self.redirect_uri

    def get_scope(self) -> str:
        return self.scope

    def get_nonce(self) -> str | None:
        return self.nonce

    def get_auth_time(self) -> int:
        return self.auth_time

    def get_acr(self) -> None:
        return None

    def get_amr(self) -> None:
        return None


class _Payload(OAuth2Payload):
    def __init__(self, values: dict[str, list[str]]):
        self._values = values

    @property
    def data(self) -> dict[str, str]:
        return {k: v[0] for k, v in self._values.items() if v}

    @property
    def datalist(self) -> dict[str, list[str]]:
        return self._values


class _Request(OAuth2Request):
    """A sandbox Request as Authlib sees it: query and form values together."""

    def __init__(self, base_url: str, req: Request):
        query = urlencode([(k, v) for k, vs in req.query.items() for v in vs])
        uri = f"{base_url}{req.path}" + (f"?{query}" if query else "")
        # Authlib reads "Authorization" / "Content-Type"; the sandbox keeps names lower-case.
        super().__init__(req.method, uri, headers={k.title(): v for k, v in req.headers.items()})
        form: dict[str, list[str]] = {}
        if req.method == "POST" and req.content_type == "application/x-www-form-urlencoded":
            form = parse_qs(req.body.decode("utf-8"), keep_blank_values=True)
        self._args = {k: v[0] for k, v in req.query.items() if v}
        self._form = {k: v[0] for k, v in form.items() if v}
        merged = {k: list(v) for k, v in req.query.items()}
        for k, v in form.items():
            merged.setdefault(k, []).extend(v)
        self.payload = _Payload(merged)

    @property
    def args(self) -> dict[str, str]:
        return self._args

    @property
    def form(self) -> dict[str, str]:
        return self._form


@dataclass
class Provider:
    """One provider per sandbox: clients, codes, tokens and the signing key, in memory."""

    issuer: str
    key: RSAKey = field(
        default_factory=lambda: RSAKey.generate_key(
            2048, parameters={"kid": secrets.token_hex(8), "use": "sig", "alg": "RS256"}
        )
    )
    clients: dict[str, Client] = field(default_factory=dict)
    codes: dict[str, AuthorizationCode] = field(default_factory=dict)
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)  # access token → sub
    lock: threading.Lock = field(default_factory=threading.Lock)
    server: AuthorizationServer = field(init=False)

    def __post_init__(self) -> None:
        self.clients[DEMO_CLIENT_ID] = Client(DEMO_CLIENT_ID, DEMO_CLIENT_SECRET)
        self.server = _Server(self)
        self.server.register_grant(
            _CodeGrant, [_OpenIDCode(self, require_nonce=True), CodeChallenge(required=False)]
        )
        self.server.register_endpoint(_EndSession(self))

    def jwks(self) -> dict[str, Any]:
        return KeySet([self.key]).as_dict(private=False)

    def metadata(self) -> dict[str, Any]:
        meta = OpenIDProviderMetadata(
            {
                "issuer": self.issuer,
                "authorization_endpoint": f"{self.issuer}/authorize",
                "token_endpoint": f"{self.issuer}/token",
                "userinfo_endpoint": f"{self.issuer}/userinfo",
                "jwks_uri": f"{self.issuer}/jwks",
                "end_session_endpoint": f"{self.issuer}/logout",
                "scopes_supported": list(SCOPES),
                "response_types_supported": ["code"],
                "grant_types_supported": ["authorization_code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "token_endpoint_auth_methods_supported": [
                    "client_secret_basic",
                    "client_secret_post",
                ],
                "code_challenge_methods_supported": ["S256"],
                "claims_supported": [
                    "sub",
                    "iss",
                    "aud",
                    "exp",
                    "iat",
                    "auth_time",
                    "nonce",
                    "email",
                    "email_verified",
                    "name",
                ],
            }
        )
        meta.validate()
        return dict(meta)


class _Server(AuthorizationServer):
    def __init__(self, provider: Provider):
        super().__init__(scopes_supported=list(SCOPES))
        self.provider = provider
        # Opaque bearer tokens, no refresh token: sign-in needs the ID token only.
        self.register_token_generator(
            "default",
            BearerTokenGenerator(
                lambda **_: secrets.token_urlsafe(32), expires_generator=lambda *_: TOKEN_TTL
            ),
        )

    def query_client(self, client_id: str) -> Client | None:
        return self.provider.clients.get(client_id)

    def save_token(self, token: dict[str, Any], request: OAuth2Request) -> None:
        with self.provider.lock:
            self.provider.tokens[token["access_token"]] = (
                request.user.sub,
                time.time() + TOKEN_TTL,
            )

    def create_oauth2_request(self, request: Any) -> OAuth2Request:
        if isinstance(request, OAuth2Request):
            return request
        return _Request(self.provider.issuer.removesuffix(OIDC_PREFIX), request)

    def create_json_request(self, request: Any) -> JsonRequest:  # no JSON endpoints here
        raise NotImplementedError

    def handle_response(self, status: int, body: Any, headers: list) -> Response:
        headers = list(headers or [])
        content_type = next((v for k, v in headers if k.lower() == "content-type"), None)
        headers = [(k, v) for k, v in headers if k.lower() != "content-type"]
        if isinstance(body, dict):
            data = json.dumps(body).encode()
            content_type = JSON
        else:
            data = (body or "").encode()
        return Response(status, data, content_type if data else None, headers)

    def send_signal(self, name: str, *args: Any, **kwargs: Any) -> None:
        return None


class _CodeGrant(AuthorizationCodeGrant):
    TOKEN_ENDPOINT_AUTH_METHODS: ClassVar[list[str]] = ["client_secret_basic", "client_secret_post"]

    @property
    def provider(self) -> Provider:
        return self.server.provider

    def save_authorization_code(self, code: str, request: OAuth2Request) -> None:
        data = request.payload.data
        with self.provider.lock:
            self.provider.codes[code] = AuthorizationCode(
                code=code,
                client_id=request.client.get_client_id(),
                redirect_uri=request.payload.redirect_uri,
                scope=request.payload.scope,
                sub=request.user.sub,
                nonce=data.get("nonce"),
                code_challenge=data.get("code_challenge"),
                code_challenge_method=data.get("code_challenge_method"),
                auth_time=int(time.time()),
                expires_at=time.time() + CODE_TTL,
            )

    def query_authorization_code(self, code: str, client: Client) -> AuthorizationCode | None:
        with self.provider.lock:
            found = self.provider.codes.get(code)
        if found and found.client_id == client.get_client_id() and found.expires_at > time.time():
            return found
        return None

    def delete_authorization_code(self, authorization_code: AuthorizationCode) -> None:
        with self.provider.lock:  # one use only (RFC 6749 §4.1.2)
            self.provider.codes.pop(authorization_code.code, None)

    def authenticate_user(self, authorization_code: AuthorizationCode) -> TeamMember | None:
        return _BY_SUB.get(authorization_code.sub)


class _OpenIDCode(OpenIDCode):
    def __init__(self, provider: Provider, require_nonce: bool):
        super().__init__(require_nonce=require_nonce)
        self.provider = provider

    def resolve_client_private_key(self, client: Client) -> RSAKey:
        return self.provider.key

    def get_client_algorithm(self, client: Client) -> str:
        return "RS256"

    def get_encode_header(self, client: Client) -> dict[str, str]:
        return {"alg": "RS256", "kid": self.provider.key.kid}

    def get_client_claims(self, client: Client) -> dict[str, Any]:
        return {"iss": self.provider.issuer, "aud": client.get_client_id()}

    def exists_nonce(self, nonce: str, request: OAuth2Request) -> bool:
        """A nonce already bound to an issued code is a replay (OIDC Core §3.1.2.1)."""
        with self.provider.lock:
            return any(c.nonce == nonce for c in self.provider.codes.values())

    def generate_user_info(self, user: TeamMember, scope: str) -> UserInfo:
        return user_info(user, scope)


class _EndSession(EndSessionEndpoint):
    def __init__(self, provider: Provider):
        super().__init__()
        self.provider = provider

    def get_server_jwks(self) -> dict[str, Any]:
        return self.provider.jwks()

    def _is_valid_post_logout_redirect_uri(self, client: Client, uri: str) -> bool:
        return client.check_redirect_uri(uri)  # same rule as sign-in (loopback callback)

    def end_session(self, end_session_request: Any) -> None:
        sub = (end_session_request.id_token_claims or {}).get("sub")
        if sub:
            with self.provider.lock:
                for token in [t for t, (s, _) in self.provider.tokens.items() if s == sub]:
                    del self.provider.tokens[token]


def user_info(user: TeamMember, scope: str) -> UserInfo:
    info = UserInfo(sub=user.sub)
    if "profile" in scope.split():
        info["name"] = user.name
    if "email" in scope.split():
        info["email"] = user.email
        info["email_verified"] = user.email_verified
    return info


# -- routes --------------------------------------------------------------------------------

_PROVIDERS: dict[int, Provider] = {}
_PROVIDERS_LOCK = threading.Lock()


def provider_for(sb: Sandbox) -> Provider:
    with _PROVIDERS_LOCK:
        found = _PROVIDERS.get(id(sb))
        if found is None or found.issuer != sb.base_url + OIDC_PREFIX:
            found = _PROVIDERS[id(sb)] = Provider(issuer=sb.base_url + OIDC_PREFIX)
        return found


def handle(sb: Sandbox, req: Request) -> Response:
    provider = provider_for(sb)
    route = req.path.removeprefix(OIDC_PREFIX)
    try:
        if route == "/.well-known/openid-configuration" and req.method == "GET":
            return json_response(200, provider.metadata())
        if route == "/jwks" and req.method == "GET":
            return json_response(200, provider.jwks())
        if route == "/authorize" and req.method in ("GET", "POST"):
            return _authorize(provider, req)
        if route == "/token" and req.method == "POST":
            return provider.server.create_token_response(req)
        if route == "/userinfo" and req.method in ("GET", "POST"):
            return _userinfo(provider, req)
        if route == "/logout" and req.method in ("GET", "POST"):
            response = provider.server.create_endpoint_response("end_session", req)
            return response or html_response(200, _signed_out_page())
    except OAuth2Error as error:
        return provider.server.handle_error_response(None, error)
    return json_response(
        404, {"error": "not_found", "error_description": f"No OIDC endpoint at {req.path}."}
    )


def _authorize(provider: Provider, req: Request) -> Response:
    server = provider.server
    chosen = None
    if req.method == "POST":
        form = parse_qs(req.body.decode("utf-8"), keep_blank_values=True)
        sub = (form.get("person") or [""])[0]
        chosen = _BY_SUB.get(sub)
        if sub and chosen is None:
            return html_response(400, _error_page("Unknown person."))
    try:
        grant = server.get_consent_grant(req, end_user=chosen)
    except OAuth2Error as error:
        if error.redirect_uri:  # the client is known and its redirect URI checked
            return server.handle_error_response(None, error)
        return html_response(400, _error_page(f"{error.error}: {error.description or ''}"))
    if req.method == "GET":
        return html_response(200, _sign_in_page(grant.request.payload.data))
    # POST without a person = "Cancel": access_denied back to the client (RFC 6749 §4.1.2.1)
    return server.create_authorization_response(grant.request, grant_user=chosen, grant=grant)


def _userinfo(provider: Provider, req: Request) -> Response:
    auth = req.header("authorization") or ""
    token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
    with provider.lock:
        found = provider.tokens.get(token)
    if not found or found[1] < time.time():
        return Response(401, b"", None, [("WWW-Authenticate", 'Bearer error="invalid_token"')])
    return json_response(200, dict(user_info(_BY_SUB[found[0]], " ".join(SCOPES))))


def _sign_in_page(params: dict[str, str]) -> str:
    hidden = "".join(
        f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">'
        for k, v in params.items()
        if k != "person"
    )
    rows = "".join(
        f'<button class="person" type="submit" name="person" value="{esc(m.sub)}" '
        f'data-email="{esc(m.email)}"><b>{esc(m.name)}</b><small>{esc(m.email)} · '
        f"{esc(m.note)}</small></button>"
        for m in TEAM
    )
    body = (
        '<div class="card"><div class="brand">Sandbox sign-in <span class="note">SANDBOX'
        "</span></div><h1>Choose who you are</h1>"
        '<p class="sub">A local OpenID Connect provider for trying team mode. Demo people '
        "only; no passwords.</p>"
        f'<form method="post" action="authorize">{hidden}<div class="people">{rows}</div>'
        '<div class="buttons"><button class="deny" type="submit" name="person" value="">'
        "Cancel</button></div></form></div>"
        "<style>.person{display:block;width:100%;text-align:left;margin-bottom:8px;"
        "background:#fff;border:1px solid #e3e3e4;font-weight:400}.person small{display:block;"
        "color:#8a8b91;font-size:12px}</style>"
    )
    return _page("Sign in — Reelboard sandbox", body)


def _signed_out_page() -> str:
    return _page(
        "Signed out",
        '<div class="card"><h1>You are signed out</h1><p class="sub">'
        "You can close this tab.</p></div>",
    )


def _error_page(message: str) -> str:
    return _page(
        "Sign-in error",
        f'<div class="card"><h1>Sign-in error</h1><div class="err">{esc(message)}</div></div>',
    )
