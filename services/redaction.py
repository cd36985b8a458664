"""Keep tokens, codes, states and secrets out of logs (RFC 9700 (OAuth 2.0 Security BCP) R10).

Installed on the root logger by the app and the CLI; every record's message and arguments are
scrubbed before any handler sees them.
"""

from __future__ import annotations

import logging
import re

# (pattern, replacement): each keeps the name of what it hides, never the value.
_RULES: list[tuple[re.Pattern[str], str]] = [
    # TikTok token prefixes (https://developers.tiktok.com/doc/tiktok-api-v2-error-handling) and our
    # own ciphertext envelopes.
    (re.compile(r"\b(act|rft|clt)\.[A-Za-z0-9._*!~%-]+"), "[redacted]"),
    (re.compile(r"\bv1\.[A-Za-z0-9]{8}\.[A-Za-z0-9_-]{16,}"), "[redacted]"),
    # OAuth parameters in query strings or form bodies.
    (re.compile(
        r"(?i)\b(code|state|code_verifier|client_secret|access_token|refresh_token|token"
        r"|upload_token)"
        r"=[^&\s\"']+"), r"\1=[redacted]"),
    (re.compile(r"(?i)(Authorization:\s*Bearer\s+)\S+"), r"\1[redacted]"),
    (re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----.*?-----END [A-Z ]*PRIVATE KEY-----", re.S),
     "[redacted private key]"),
]


def redact(text: str) -> str:
    for pattern, replacement in _RULES:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not kill logging
            message = str(record.msg)
        record.msg = redact(message)
        record.args = None
        if record.exc_info and not record.exc_text:
            record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        return True


def install(level: int = logging.INFO) -> None:
    """Idempotently add redaction to every root handler (and create one if none exists)."""
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(
            level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
        )
    for handler in root.handlers:
        if not any(isinstance(f, RedactingFilter) for f in handler.filters):
            handler.addFilter(RedactingFilter())
