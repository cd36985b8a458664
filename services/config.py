"""One frozen Settings object, built from `.streamlit/secrets.toml` and environment variables.

Environment variables win over the secrets file. The app (dashboard/) passes `st.secrets` as a
plain mapping; the CLI lets the loader read the same file itself, so both see one configuration.
With no TikTok client key configured, Reelboard runs in **sandbox mode**: the embedded local
TikTok (see sandbox/README.md) with its own key, secret and URLs.
"""

from __future__ import annotations

import json
import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from services.errors import ConfigError

REPO_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_SECRETS_PATH = REPO_ROOT / ".streamlit" / "secrets.toml"

LIVE_AUTH_URL = "https://www.tiktok.com/v2/auth/authorize/"
LIVE_API_BASE_URL = "https://open.tiktokapis.com"
DEFAULT_APP_URL = "http://localhost:8501"
# : The Accounts page's fixed url_path; TikTok redirects back to it (the architecture notes in
# README.md "Flows").
ACCOUNTS_URL_PATH = "accounts"

Mode = Literal["sandbox", "live"]

LIVE_SHEETS_API_URL = "https://sheets.googleapis.com"
#: Fields google-auth needs from a service-account key (google.oauth2.service_account).
SERVICE_ACCOUNT_FIELDS = ("type", "client_email", "private_key", "token_uri")
_SPREADSHEET_URL_RE = re.compile(r"/spreadsheets/d/([A-Za-z0-9_-]+)")
_SPREADSHEET_KEY_RE = re.compile(r"^[A-Za-z0-9_-]{10,200}$")


@dataclass(frozen=True)
class SheetsSettings:
    """Where the weekly report goes in Google Sheets (None fields: not configured).

    The service-account key never appears in ``repr`` (and so never in logs or tracebacks):
    only its e-mail, which is what a person must share the spreadsheet with.
    """

    spreadsheet_key: str
    api_url: str = LIVE_SHEETS_API_URL
    service_account: Mapping[str, Any] | None = field(default=None, repr=False, compare=False)
    credentials_path: Path | None = None

    @property
    def client_email(self) -> str:
        return str((self.service_account or {}).get("client_email", ""))

    @property
    def configured(self) -> bool:
        return bool(self.spreadsheet_key and self.service_account)


# (environment variable, [section] key in secrets.toml)
_SOURCES: dict[str, tuple[str, str, str]] = {
    "client_key": ("TIKTOK_CLIENT_KEY", "tiktok", "client_key"),
    "client_secret": ("TIKTOK_CLIENT_SECRET", "tiktok", "client_secret"),
    "redirect_uri": ("TIKTOK_REDIRECT_URI", "tiktok", "redirect_uri"),
    "auth_url": ("TIKTOK_AUTH_URL", "tiktok", "auth_url"),
    "api_base_url": ("TIKTOK_API_BASE_URL", "tiktok", "api_base_url"),
    "data_dir": ("REELBOARD_DATA_DIR", "reelboard", "data_dir"),
    "encryption_keys": ("REELBOARD_ENCRYPTION_KEYS", "reelboard", "encryption_keys"),
    "timezone": ("REELBOARD_TIMEZONE", "reelboard", "timezone"),
    "app_url": ("REELBOARD_APP_URL", "reelboard", "app_url"),
    "sync_requests_per_minute": (
        "REELBOARD_SYNC_REQUESTS_PER_MINUTE", "reelboard", "sync_requests_per_minute"
    ),
    "sync_every": ("REELBOARD_SYNC_EVERY", "reelboard", "sync_every"),
}


@dataclass(frozen=True)
class Settings:
    mode: Mode
    client_key: str
    client_secret: str = field(repr=False)
    redirect_uri: str
    auth_url: str
    api_base_url: str
    data_dir: Path
    encryption_keys: str = field(default="", repr=False)
    timezone: str = "UTC"
    app_url: str = DEFAULT_APP_URL
    # : The Display API's per-endpoint limit that sync paces itself under
    # (https://developers.tiktok.com/doc/tiktok-api-v2-rate-limit:
    #: 600/min); lower it if TikTok granted less, or to match a sandbox started lower.
    sync_requests_per_minute: int = 600
    #: Seconds between automatic syncs in the app (services.schedule); 0 = off (use cron).
    sync_every_s: int = 86_400
    #: Google Sheets export target; None when neither a key nor a spreadsheet is configured
    #: (sandbox mode then exports to the sandbox's fake Sheets, see services.reports.sheets).
    sheets: SheetsSettings | None = None

    @property
    def is_sandbox(self) -> bool:
        return self.mode == "sandbox"

    @property
    def database_path(self) -> Path:
        return self.data_dir / "reelboard.db"

    @property
    def sandbox_state_path(self) -> Path:
        return self.data_dir / "sandbox" / "state.db"

    def with_endpoints(self, *, auth_url: str, api_base_url: str) -> Settings:
        """Point the client at a running server (the embedded sandbox, or a test double)."""
        return replace(self, auth_url=auth_url, api_base_url=api_base_url)


def read_secrets_file(path: Path = DEFAULT_SECRETS_PATH) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{path} is not valid TOML: {exc}. Fix the file and restart."]) from exc


def load_settings(
    secrets: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
    *,
    app_url: str | None = None,
) -> Settings:
    """Build Settings. ``secrets=None`` reads `.streamlit/secrets.toml` (the CLI path).

    ``app_url`` is where this app is served (the dashboard passes its real port); it only
    matters in sandbox mode, where the redirect URI is derived from it.
    Raises ConfigError listing every problem found, so nothing fails mid-flow later.
    """
    environ = os.environ if environ is None else environ
    secrets = read_secrets_file() if secrets is None else secrets

    def get(name: str) -> str:
        env_name, section, key = _SOURCES[name]
        value = environ.get(env_name)
        if value is None:
            table = secrets.get(section) or {}
            value = table.get(key) if isinstance(table, Mapping) else None
        return str(value).strip() if value is not None else ""

    data_dir = Path(get("data_dir") or "data")
    if not data_dir.is_absolute():
        # Relative to Reelboard's own folder, never the current directory: `streamlit run
        # /srv/reelboard/streamlit_app.py` started from $HOME must not make a second cache there.
        data_dir = (REPO_ROOT / data_dir).resolve()
    base_app_url = (get("app_url") or app_url or DEFAULT_APP_URL).rstrip("/")
    rpm_text = get("sync_requests_per_minute")
    rpm = int(rpm_text) if rpm_text.isdigit() and int(rpm_text) > 0 else 600
    client_key = get("client_key")

    if not client_key:
        # Sandbox mode: imported lazily so services never depends on sandbox unless it is used.
        from sandbox import DEFAULT_CLIENT_KEY, DEFAULT_CLIENT_SECRET

        settings = Settings(
            mode="sandbox",
            client_key=DEFAULT_CLIENT_KEY,
            client_secret=DEFAULT_CLIENT_SECRET,
            redirect_uri=f"{base_app_url}/{ACCOUNTS_URL_PATH}",
            auth_url="",  # filled in by services.runtime once the sandbox is listening
            api_base_url="",
            data_dir=data_dir,
            encryption_keys=get("encryption_keys"),
            timezone=get("timezone") or "UTC",
            app_url=base_app_url,
            sync_requests_per_minute=rpm,
        )
    else:
        settings = Settings(
            mode="live",
            client_key=client_key,
            client_secret=get("client_secret"),
            redirect_uri=get("redirect_uri"),
            auth_url=get("auth_url") or LIVE_AUTH_URL,
            api_base_url=(get("api_base_url") or LIVE_API_BASE_URL).rstrip("/"),
            data_dir=data_dir,
            encryption_keys=get("encryption_keys"),
            timezone=get("timezone") or "UTC",
            app_url=base_app_url,
            sync_requests_per_minute=rpm,
        )
    sheets, sheet_problems = load_sheets_settings(secrets, environ)
    settings = replace(settings, sheets=sheets)
    problems = check_settings(settings) + sheet_problems
    from services.schedule import parse_every

    try:
        settings = replace(settings, sync_every_s=parse_every(get("sync_every")))
    except ValueError as exc:
        problems.append(str(exc))
    if rpm_text and rpm_text != str(rpm):
        problems.append(
            f"REELBOARD_SYNC_REQUESTS_PER_MINUTE={rpm_text!r} must be a positive whole number "
            "(TikTok's Display API limit per endpoint; 600 unless TikTok granted otherwise)."
        )
    if problems:
        raise ConfigError(problems)
    return settings


def check_settings(settings: Settings) -> list[str]:
    """Every reason this configuration cannot work, in words (empty list = fine)."""
    problems: list[str] = []
    try:
        ZoneInfo(settings.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        problems.append(
            f"REELBOARD_TIMEZONE={settings.timezone!r} is not an IANA time zone "
            "(for example 'Europe/Berlin' or 'America/New_York')."
        )
    if settings.mode == "sandbox":
        return problems
    if not settings.client_secret:
        problems.append(
            "TIKTOK_CLIENT_SECRET is missing: a client key is set, so Reelboard runs in live mode "
            "and needs the app's client secret from developers.tiktok.com (Manage apps)."
        )
    problems.extend(check_redirect_uri(settings.redirect_uri))
    for name, url in (("TIKTOK_AUTH_URL", settings.auth_url),
                      ("TIKTOK_API_BASE_URL", settings.api_base_url)):
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            problems.append(f"{name}={url!r} is not an absolute http(s) URL.")
    return problems


def check_redirect_uri(uri: str) -> list[str]:
    """TikTok's redirect URI rules (https://developers.tiktok.com/doc/login-kit-web) plus: it must
    reach our Accounts page.
    """
    if not uri:
        return [
            "TIKTOK_REDIRECT_URI is missing. Set it to this app's Accounts page, for example "
            "https://reelboard.example.com/accounts, and register the same URI in the TikTok "
            "developer portal (Login Kit > Redirect URI)."
        ]
    problems = []
    parts = urlsplit(uri)
    local = parts.hostname in ("localhost", "127.0.0.1")
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        problems.append(
            f"TIKTOK_REDIRECT_URI={uri!r} must use https (TikTok accepts http only for "
            "localhost / 127.0.0.1 desktop-style URIs)."
        )
    if parts.query or parts.fragment:
        problems.append(f"TIKTOK_REDIRECT_URI={uri!r} must not contain a query or fragment.")
    if len(uri) >= 512:
        problems.append("TIKTOK_REDIRECT_URI must be shorter than 512 characters.")
    if parts.path.rstrip("/").rsplit("/", 1)[-1] != ACCOUNTS_URL_PATH or parts.path.endswith("/"):
        problems.append(
            f"TIKTOK_REDIRECT_URI={uri!r} does not point at this app's Accounts page: it must end "
            f"with '/{ACCOUNTS_URL_PATH}' (no trailing slash), e.g. "
            f"https://reelboard.example.com/{ACCOUNTS_URL_PATH}."
        )
    return problems


def spreadsheet_key(text: str) -> str | None:
    """The key from a spreadsheet key or its URL (…/spreadsheets/d/<key>/edit#gid=0)."""
    text = text.strip()
    m = _SPREADSHEET_URL_RE.search(text)
    if m:
        return m.group(1)
    return text if _SPREADSHEET_KEY_RE.match(text) else None


def load_sheets_settings(
    secrets: Mapping[str, Any], environ: Mapping[str, str]
) -> tuple[SheetsSettings | None, list[str]]:
    """The Google Sheets settings (env wins over secrets) and every problem with them.

    GOOGLE_APPLICATION_CREDENTIALS (a key file) or a ``[gcp_service_account]`` table;
    REELBOARD_SHEETS_SPREADSHEET or ``[sheets] spreadsheet`` (key or URL);
    REELBOARD_SHEETS_API_URL or ``[sheets] api_url``. Messages never quote the key's content.
    """
    table = secrets.get("sheets") or {}
    table = table if isinstance(table, Mapping) else {}

    def pick(env: str, key: str) -> str:
        value = environ.get(env)
        if value is None:
            value = table.get(key)
        return str(value).strip() if value is not None else ""

    spreadsheet_text = pick("REELBOARD_SHEETS_SPREADSHEET", "spreadsheet")
    api_url = (pick("REELBOARD_SHEETS_API_URL", "api_url") or LIVE_SHEETS_API_URL).rstrip("/")
    key_path_text = (environ.get("GOOGLE_APPLICATION_CREDENTIALS") or "").strip()
    table_key = secrets.get("gcp_service_account")
    problems: list[str] = []
    info: dict[str, Any] | None = None
    key_path: Path | None = None
    if key_path_text and not spreadsheet_text and not table_key:
        # GOOGLE_APPLICATION_CREDENTIALS is a machine-wide Google convention (often set for
        # gcloud): without a spreadsheet it does not mean "export to Sheets".
        key_path_text = ""
    if key_path_text:
        key_path = Path(key_path_text).expanduser()
        info = _read_key_file(key_path, problems)
    elif isinstance(table_key, Mapping) and table_key:
        info = {str(k): v for k, v in table_key.items()}  # a plain dict, not Streamlit's AttrDict
        where = "The [gcp_service_account] table in secrets.toml"
        problems.extend(check_service_account(info, where))
    if info is None and not spreadsheet_text and not problems:
        if api_url != LIVE_SHEETS_API_URL:
            problems.extend(_check_api_url(api_url))
        return None, problems
    key = spreadsheet_key(spreadsheet_text) if spreadsheet_text else None
    if not spreadsheet_text:
        problems.append(
            "REELBOARD_SHEETS_SPREADSHEET (or [sheets] spreadsheet) is missing: a service-account "
            "key is configured, so set the spreadsheet to export to (its key or its URL). Create "
            "the spreadsheet in Google Sheets and share it with the service account as Editor."
        )
    elif key is None:
        problems.append(
            "REELBOARD_SHEETS_SPREADSHEET is neither a spreadsheet key nor a Google Sheets URL "
            "(https://docs.google.com/spreadsheets/d/<key>/edit)."
        )
    if info is None and not problems:
        problems.append(
            "A spreadsheet is set for the Google Sheets export but no service-account key: set "
            "GOOGLE_APPLICATION_CREDENTIALS to the key file (JSON, mode 600) or add a "
            "[gcp_service_account] table to secrets.toml."
        )
    problems.extend(_check_api_url(api_url))
    if problems:
        return None, problems
    return SheetsSettings(key or "", api_url, info, key_path), problems


def _check_api_url(url: str) -> list[str]:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
        return [f"REELBOARD_SHEETS_API_URL={url!r} is not an absolute http(s) base URL."]
    return []


def _read_key_file(path: Path, problems: list[str]) -> dict[str, Any] | None:
    where = f"The service-account key file {path} (GOOGLE_APPLICATION_CREDENTIALS)"
    try:
        mode = path.stat().st_mode
        raw = path.read_text(encoding="utf-8")
    except OSError as exc:
        problems.append(f"{where} cannot be read ({exc.strerror}). Check the path.")
        return None
    if os.name == "posix" and mode & (stat.S_IRWXG | stat.S_IRWXO):
        problems.append(
            f"{where} is readable by other users of this machine. Run: chmod 600 '{path}'"
        )
    try:
        info = json.loads(raw)
    except ValueError:
        problems.append(f"{where} is not valid JSON. Download the key again from Google Cloud.")
        return None
    if not isinstance(info, dict):
        problems.append(f"{where} is not a service-account key (a JSON object).")
        return None
    problems.extend(check_service_account(info, where))
    return info


def check_service_account(info: Mapping[str, Any], where: str) -> list[str]:
    """Problems with a service-account key's fields; never quotes the private key."""
    missing = [f for f in SERVICE_ACCOUNT_FIELDS if not info.get(f)]
    if missing:
        return [
            f"{where} lacks {', '.join(missing)}: it must be a service-account key as Google "
            "Cloud downloads it (IAM > Service accounts > Keys > Add key > JSON)."
        ]
    if info.get("type") != "service_account":
        return [f"{where} has type {str(info.get('type'))[:40]!r}, not 'service_account'."]
    private_key = str(info.get("private_key"))
    if "\\n" in private_key and "\n" not in private_key:
        return [
            f"{where}: private_key holds the two characters \\n instead of line breaks. In "
            "secrets.toml write it as a basic string in double quotes, not single quotes."
        ]
    try:
        from cryptography.hazmat.primitives.serialization import load_pem_private_key

        # Parse only (the full RSA check costs ~0.2 s; google-auth loads the key again).
        load_pem_private_key(
            private_key.encode(), password=None, unsafe_skip_rsa_key_validation=True
        )
    except (ValueError, TypeError):
        return [
            f"{where}: private_key is not a readable PEM private key. Paste it exactly as in "
            "the downloaded JSON (-----BEGIN PRIVATE KEY----- …)."
        ]
    return []


# -- where the app listens --------------------------------------------------------------------

ALLOW_UNAUTHENTICATED_ENV = "REELBOARD_ALLOW_UNAUTHENTICATED"
_LOOPBACK_NAMES = ("localhost", "ip6-localhost", "ip6-loopback")


def is_loopback(address: str | None) -> bool:
    """True for addresses only this machine can reach. Empty means every interface."""
    import ipaddress

    text = (address or "").strip().strip("[]").lower()
    if not text:
        return False
    if text in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:
        return False


def allow_unauthenticated(environ: Mapping[str, str] | None = None) -> bool:
    environ = os.environ if environ is None else environ
    return environ.get(ALLOW_UNAUTHENTICATED_ENV, "").strip().lower() in ("1", "true", "yes")


def check_bind_address(address: str | None, *, auth_configured: bool,
                       environ: Mapping[str, str] | None = None) -> list[str]:
    """Why this app must not serve on ``address`` (empty list = it may).

    Without sign-in (no ``[auth]``) Reelboard is single-user and holds tokens that can post on
    creators' profiles, so it serves on loopback only, unless the operator says otherwise
    explicitly with REELBOARD_ALLOW_UNAUTHENTICATED=1 (every page then shows a red banner).
    """
    if auth_configured or is_loopback(address) or allow_unauthenticated(environ):
        return []
    where = address or "every network interface"
    return [
        f"Reelboard is set to serve on {where}, but sign-in is not configured, so anyone who "
        "can reach this address could connect, disconnect and post for your TikTok accounts. "
        "Either serve on loopback only (`streamlit run streamlit_app.py` reads Reelboard's "
        ".streamlit/config.toml, which binds to localhost; or pass --server.address localhost) "
        "behind a TLS proxy, or configure team sign-in: "
        "add an [auth] table (redirect_uri, cookie_secret, client_id, client_secret, "
        "server_metadata_url) and an [access] allowlist to .streamlit/secrets.toml — see "
        "README 'Team access'. To run without sign-in anyway, set "
        f"{ALLOW_UNAUTHENTICATED_ENV}=1 (every page then warns that it is open)."
    ]


#: Streamlit options Reelboard's `.streamlit/config.toml` sets for safety. If they are not in
#: force, Streamlit did not read that file (it reads config from the folder it is started in).
REQUIRED_STREAMLIT_OPTIONS: dict[str, Any] = {
    "client.showErrorDetails": "none",
    "server.enableXsrfProtection": True,
    "server.enableStaticServing": False,
}


def check_streamlit_options(options: Mapping[str, Any]) -> list[str]:
    """Problems when Streamlit runs without Reelboard's config (``options``: name → value)."""
    wrong = [name for name, value in REQUIRED_STREAMLIT_OPTIONS.items()
             if options.get(name) != value]
    if not wrong:
        return []
    return [
        f"Streamlit is running without Reelboard's .streamlit/config.toml ({', '.join(wrong)} "
        f"not as configured there): Streamlit reads its config from the folder it is started "
        f"in. Start Reelboard with `streamlit run {REPO_ROOT / 'streamlit_app.py'}` (it finds "
        f"its config from any folder), or `cd {REPO_ROOT}` first."
    ]
