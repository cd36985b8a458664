from __future__ import annotations

import logging

from services.redaction import RedactingFilter, redact


def test_tokens_codes_and_secrets_are_scrubbed():
    line = ("GET /accounts?code=abc*0!6410&state=xyz&scopes=video.list token act.1a2b!*3 "
            "rft.zz9 Authorization: Bearer act.secret client_secret=s3cr3t")
    out = redact(line)
    for secret in ("abc*0!6410", "xyz", "act.1a2b", "rft.zz9", "act.secret", "s3cr3t"):
        assert secret not in out
    assert "scopes=video.list" in out and "code=[redacted]" in out


def test_filter_scrubs_messages_args_and_tracebacks():
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "refresh %s failed", ("rft.abc",),
                               None)
    try:
        raise RuntimeError("token=act.leaked")
    except RuntimeError:
        import sys

        record.exc_info = sys.exc_info()
    RedactingFilter().filter(record)
    assert "rft.abc" not in record.getMessage()
    assert "act.leaked" not in record.exc_text
