"""TikTok errors: one base class, a few kinds, and a plain-language table for every code.

Modelled on stripe-python's `_error.py` (one base error carrying HTTP status and request id,
mapped from the response in one place) and gspread's picklable API error. Every code listed in
https://developers.tiktok.com/doc/oauth-error-handling (OAuth `error` values), §5 (API `error.code`
values, posting codes included)
and §4.6 (`fail_reason` values) has an entry saying what happened, what to do, and whether the
same request may simply be sent again (the architecture notes in README.md "Quality bars").

Nothing here ever holds a token: messages are built from our own text plus TikTok's `message` /
`error_description`, which is passed through services.redaction first.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from services.errors import ReelboardError
from services.redaction import redact

Kind = Literal[
    "auth", "scope", "rate_limit", "server", "request", "posting", "oauth", "fail_reason"
]


@dataclass(frozen=True)
class ErrorAdvice:
    """What a TikTok code means for the person in front of Reelboard."""

    code: str
    kind: Kind
    explanation: str  # what happened, in the marketer's words
    fix: str  # what to do next
    retry_safe: bool  # sending the same request again may succeed without any change


def _a(code: str, kind: Kind, explanation: str, fix: str, retry_safe: bool) -> ErrorAdvice:
    return ErrorAdvice(code, kind, explanation, fix, retry_safe)


_RECONNECT = "Reconnect the account on the Accounts page."

# https://developers.tiktok.com/doc/tiktok-api-v2-error-handling (master table) and §4.1–§4.7
# (posting references).
API_ERRORS: dict[str, ErrorAdvice] = {
    e.code: e
    for e in (
        _a("access_token_invalid", "auth",
           "TikTok no longer accepts this account's access token (it expired, or the creator "
           "removed Reelboard in TikTok's settings).",
           "Reelboard refreshes the token once by itself; if that fails, " + _RECONNECT, False),
        _a("scope_not_authorized", "scope",
           "The creator did not grant the permission this feature needs.",
           "Use \"Grant more\" on the Accounts page and tick the missing permission.", False),
        _a("scope_permission_missed", "scope",
           "Reelboard asked for profile fields whose permission the creator did not grant.",
           "Use \"Grant more\" on the Accounts page to allow profile or statistics access.",
           False),
        _a("invalid_params", "request",
           "TikTok rejected the request's parameters.",
           "This is a Reelboard bug or a file TikTok cannot accept; check the message and the "
           "file, then try again with a change.", False),
        # The posting reference tables spell it without the s (observed behaviour of public TikTok
        # clients).
        _a("invalid_param", "request",
           "TikTok rejected the request's parameters.",
           "This is a Reelboard bug or a file TikTok cannot accept; check the message and the "
           "file, then try again with a change.", False),
        _a("invalid_file_upload", "request",
           "TikTok rejected the uploaded file (its format, size or chunking is not accepted).",
           "Check the file against TikTok's media rules (MP4/MOV/WebM, H.264, 23–60 fps, "
           "360–4096 px, at most 4 GB) and upload it again.", False),
        _a("rate_limit_exceeded", "rate_limit",
           "TikTok's rate limit for this endpoint was reached.",
           "Wait a minute, then try again: Reelboard paces its requests below the limit and "
           "already retried a few times. If it repeats, another program using this TikTok "
           "app's keys may be sharing the limit.", True),
        _a("internal_error", "server",
           "TikTok had an internal error.",
           "Try again in a few minutes; nothing was changed on your side.", True),
        _a("spam_risk_too_many_posts", "posting",
           "This creator reached TikTok's daily posting limit (about 15 posts a day, shared by "
           "every app that posts for them).",
           "Post again tomorrow, or post from the TikTok app.", False),
        _a("spam_risk_user_banned_from_posting", "posting",
           "TikTok has blocked this creator from posting through apps.",
           "The creator must resolve it with TikTok; Reelboard cannot post for them now.",
           False),
        _a("reached_active_user_cap", "posting",
           "Reelboard's TikTok app reached its daily cap of creators who may post through it.",
           "Try again tomorrow; the app owner can ask TikTok for a higher cap in the developer "
           "portal.", False),
        _a("spam_risk_too_many_pending_share", "posting",
           "This creator already has 5 drafts waiting in the TikTok inbox in the last 24 hours.",
           "Ask the creator to finish or delete pending drafts in the TikTok app, then send "
           "again.", False),
        _a("unaudited_client_can_only_post_to_private_accounts", "posting",
           "Reelboard's TikTok app has not passed TikTok's audit, so it may only post to "
           "private accounts.",
           "Make the TikTok account private (even a private post to a public account is "
           "refused), or have the app audited by TikTok.", False),
        _a("url_ownership_unverified", "posting",
           "The media URL is not on a domain or URL prefix verified for Reelboard's TikTok app.",
           "Upload the file instead, or verify the domain under URL properties in the TikTok "
           "developer portal.", False),
        _a("privacy_level_option_mismatch", "posting",
           "The chosen privacy setting is not one this creator currently allows.",
           "Reload the Post page and pick a privacy option from the list.", False),
        _a("app_version_check_failed", "posting",
           "The creator's TikTok app is too old to receive photo drafts (needs version 31.8 or "
           "later).",
           "Ask the creator to update the TikTok app, then send again.", False),
        _a("invalid_publish_id", "posting",
           "TikTok does not know this post's publish id.",
           "Check the post history; if the post never started, create it again.", False),
        _a("token_not_authorized_for_specified_publish_id", "posting",
           "This post was started with a different account or token than the one asking about "
           "it.",
           "Check the post under the account that created it.", False),
        _a("publish_not_cancellable", "posting",
           "The post can no longer be cancelled (it is already processed or finished).",
           "Check the post's status; delete it in the TikTok app if needed.", False),
    )
}

# https://developers.tiktok.com/doc/oauth-error-handling: OAuth `error` values (callback query and
# token/revoke responses).
OAUTH_ERRORS: dict[str, ErrorAdvice] = {
    e.code: e
    for e in (
        _a("access_denied", "oauth",
           "The creator cancelled or declined the TikTok authorization.",
           "Start connecting again and approve the permissions on TikTok's page.", False),
        _a("invalid_client", "oauth",
           "TikTok rejected Reelboard's client key or client secret.",
           "Check TIKTOK_CLIENT_KEY and TIKTOK_CLIENT_SECRET against the TikTok developer portal "
           "(the secret may have been rotated), then restart Reelboard.", False),
        _a("invalid_grant", "oauth",
           "TikTok refused the authorization: the sign-in code or refresh token expired, was "
           "already used, or was revoked.",
           _RECONNECT, False),
        _a("invalid_request", "oauth",
           "TikTok rejected the sign-in request as malformed (often a redirect URI that does not "
           "match the registered one).",
           "Check that TIKTOK_REDIRECT_URI is exactly the URI registered in the TikTok developer "
           "portal, then connect again.", False),
        _a("invalid_scope", "oauth",
           "Reelboard asked for a permission its TikTok app is not approved for.",
           "Enable the product (Login Kit, Display API, Content Posting API) for the app in the "
           "TikTok developer portal, or connect without that feature.", False),
        _a("unauthorized_client", "oauth",
           "TikTok does not let this app authorize this creator yet (app not approved, creator "
           "not a sandbox target user, or Login Kit / redirect URI not configured).",
           "Check the app's status and target users in the TikTok developer portal.", False),
        _a("unsupported_grant_type", "oauth",
           "TikTok did not accept the kind of token request Reelboard sent.",
           "This is a Reelboard bug; please report it with the log id.", False),
        _a("unsupported_response_type", "oauth",
           "TikTok did not accept the authorization request type.",
           "This is a Reelboard bug; please report it with the log id.", False),
        _a("server_error", "oauth",
           "TikTok's sign-in service had an internal error.",
           "Try again in a few minutes.", True),
        _a("temporarily_unavailable", "oauth",
           "TikTok's sign-in service is temporarily unavailable.",
           "Try again in a few minutes.", True),
    )
}

# https://developers.tiktok.com/doc/content-posting-api-reference-get-video-status: `fail_reason` of
# a FAILED post, with the doc's retry advice.
FAIL_REASONS: dict[str, ErrorAdvice] = {
    e.code: e
    for e in (
        _a("file_format_check_failed", "fail_reason",
           "TikTok could not accept the video's file format.",
           "Export the video as MP4 (H.264) and post it again.", False),
        _a("duration_check_failed", "fail_reason",
           "The video is longer (or shorter) than this creator may post.",
           "Trim the video to the creator's maximum duration and post it again.", False),
        _a("frame_rate_check_failed", "fail_reason",
           "The video's frame rate is outside TikTok's 23–60 fps range.",
           "Re-export the video at 23–60 fps and post it again.", False),
        _a("picture_size_check_failed", "fail_reason",
           "A picture or the video's dimensions are outside TikTok's limits.",
           "Resize (photos: shorter side at most 1080 px; video: 360–4096 px) and post again.",
           False),
        _a("internal", "fail_reason",
           "TikTok failed while processing the post.",
           "Post it again; TikTok says this one is retryable.", True),
        _a("video_pull_failed", "fail_reason",
           "TikTok could not download the video from its URL.",
           "Check that the URL is public, HTTPS and does not redirect, then post again.", True),
        _a("photo_pull_failed", "fail_reason",
           "TikTok could not download a photo from its URL.",
           "Check that the URLs are public, HTTPS and do not redirect, then post again.", True),
        _a("publish_cancelled", "fail_reason",
           "The post was cancelled.",
           "Nothing to do; create a new post if you still want it.", False),
        _a("auth_removed", "fail_reason",
           "The creator removed Reelboard's access while the post was processing.",
           _RECONNECT + " Then post again.", False),
        _a("spam_risk_too_many_posts", "fail_reason",
           "This creator reached TikTok's daily posting limit.",
           "Post it from the TikTok app, or again tomorrow.", False),
        _a("spam_risk_user_banned_from_posting", "fail_reason",
           "TikTok has blocked this creator from posting.",
           "The creator must resolve it with TikTok; do not retry.", False),
        _a("spam_risk_text", "fail_reason",
           "TikTok flagged the caption text as spam.",
           "Change the caption substantially before trying again.", False),
        _a("spam_risk", "fail_reason",
           "TikTok flagged the post as spam risk.",
           "Do not retry automatically; review the content and post from the TikTok app.",
           False),
    )
}


def advice_for_api_code(code: str | None, http_status: int | None = None) -> ErrorAdvice:
    """The table entry for a v2 API `error.code`, or a sensible default for unknown codes."""
    if code and code in API_ERRORS:
        return API_ERRORS[code]
    if http_status == 429:
        return API_ERRORS["rate_limit_exceeded"]
    if http_status is not None and http_status >= 500:
        return API_ERRORS["internal_error"]
    return _a(code or "unknown", "request",
              f"TikTok returned an error Reelboard does not know ({code or 'no code'}).",
              "Try again later; if it keeps happening, report it with the log id.", False)


def advice_for_oauth_error(error: str | None) -> ErrorAdvice:
    if error and error in OAUTH_ERRORS:
        return OAUTH_ERRORS[error]
    return _a(error or "unknown", "oauth",
              f"TikTok's sign-in service returned an unknown error ({error or 'no code'}).",
              "Connect the account again; if it keeps happening, report it with the log id.",
              False)


def advice_for_fail_reason(reason: str | None) -> ErrorAdvice:
    if reason and reason in FAIL_REASONS:
        return FAIL_REASONS[reason]
    return _a(reason or "unknown", "fail_reason",
              f"TikTok could not publish the post ({reason or 'no reason given'}).",
              "Check the post in the TikTok app before posting it again.", False)


class TikTokError(ReelboardError):
    """Any failure talking to TikTok. ``message`` is ours; TikTok's own text is kept apart.

    Attributes: ``http_status``, ``code`` (API ``error.code`` or OAuth ``error``),
    ``tiktok_message`` (redacted), ``log_id`` (give it to TikTok support), ``explanation`` and
    ``fix`` (for the UI), ``retry_safe`` (sending the same request again may work),
    ``retry_after`` (seconds TikTok asked us to wait, if it said).
    """

    step = "tiktok"

    def __init__(
        self,
        message: str | None = None,
        *,
        http_status: int | None = None,
        code: str | None = None,
        tiktok_message: str | None = None,
        log_id: str | None = None,
        explanation: str | None = None,
        fix: str | None = None,
        retry_safe: bool | None = None,
        step: str | None = None,
        retry_after: float | None = None,
    ):
        self.http_status = http_status
        self.retry_after = retry_after  # seconds from TikTok's Retry-After header, if any
        self.code = code
        self.tiktok_message = redact(tiktok_message) if tiktok_message else None
        self.log_id = log_id
        self.explanation = explanation or "TikTok returned an error."
        self.fix = fix or "Try again later."
        if message is None:
            message = _compose(self.explanation, self.fix, code, log_id)
        super().__init__(message, step=step, retry_safe=retry_safe)

    @classmethod
    def from_advice(cls, advice: ErrorAdvice, **kwargs) -> TikTokError:
        kwargs.setdefault("retry_safe", advice.retry_safe)
        kwargs.setdefault("code", advice.code)
        return cls(explanation=advice.explanation, fix=advice.fix, **kwargs)


def _compose(explanation: str, fix: str, code: str | None, log_id: str | None) -> str:
    ref = ", ".join(p for p in (f"code {code}" if code else "",
                                f"log id {log_id}" if log_id else "") if p)
    return f"{explanation} {fix}" + (f" (TikTok {ref})" if ref else "")


class TikTokAuthError(TikTokError):
    """401 `access_token_invalid`: refresh once, then the account needs reconnecting."""

    step = "access_token_invalid"


class TikTokScopeError(TikTokError):
    """`scope_not_authorized` / `scope_permission_missed`: the feature is off for this account."""

    step = "missing_permission"


class TikTokRateLimited(TikTokError):
    """429 `rate_limit_exceeded`; ``retry_after`` says how long TikTok asked us to wait."""

    step = "rate_limited"
    retry_safe = True


class TikTokServerError(TikTokError):
    """5xx / `internal_error`: TikTok's side failed."""

    step = "tiktok_unavailable"
    retry_safe = True


class TikTokRequestError(TikTokError):
    """Another 4xx (`invalid_params`, unknown codes): the same request will fail again."""

    step = "tiktok_rejected"


class TikTokPostingError(TikTokError):
    """A Content Posting code (spam caps, privacy mismatch, publish id problems; §4, §5)."""

    step = "publish_rejected"


class TikTokNetworkError(TikTokError):
    """No usable HTTP response. ``maybe_sent``: the request may have reached TikTok."""

    step = "network"

    def __init__(self, *args, maybe_sent: bool = True, **kwargs):
        self.maybe_sent = maybe_sent
        super().__init__(*args, **kwargs)


class TikTokProtocolError(TikTokError):
    """TikTok answered with something that is not the documented shape (HTML, bad JSON, …)."""

    step = "bad_response"


class OAuthError(TikTokError):
    """An OAuth `error` (https://developers.tiktok.com/doc/oauth-error-handling), from the callback
    or the token/revoke endpoints.

    ``error`` is TikTok's value (`invalid_grant`, `invalid_client`, …); ``description`` its
    redacted `error_description`.
    """

    step = "authorization"

    def __init__(self, *args, error: str = "unknown", description: str | None = None, **kwargs):
        self.error = error
        self.description = redact(description) if description else None
        super().__init__(*args, **kwargs)


def error_from_api(
    http_status: int | None,
    code: str | None,
    tiktok_message: str | None = None,
    log_id: str | None = None,
    *,
    retry_after: float | None = None,
) -> TikTokError:
    """Map a v2 API error envelope (https://developers.tiktok.com/doc/tiktok-api-v2-error-handling)
    to the right exception, in one place.
    """
    advice = advice_for_api_code(code, http_status)
    common = {"http_status": http_status, "tiktok_message": tiktok_message, "log_id": log_id}
    if code and code not in API_ERRORS:
        # Unknown code: keep TikTok's own code rather than the fallback's name.
        common["code"] = code
    if advice.kind == "auth":
        return TikTokAuthError.from_advice(advice, **common)
    if advice.kind == "scope":
        return TikTokScopeError.from_advice(advice, **common)
    if advice.kind == "rate_limit" or http_status == 429:
        return TikTokRateLimited.from_advice(advice, retry_after=retry_after, **common)
    if advice.kind == "server" or (http_status is not None and http_status >= 500):
        return TikTokServerError.from_advice(
            advice, retry_safe=True, retry_after=retry_after, **common
        )
    if advice.kind == "posting":
        return TikTokPostingError.from_advice(advice, **common)
    return TikTokRequestError.from_advice(advice, **common)


def error_from_oauth(
    http_status: int | None,
    error: str,
    description: str | None = None,
    log_id: str | None = None,
    *,
    single_use: bool = False,
) -> OAuthError:
    """Map an OAuth error body (https://developers.tiktok.com/doc/oauth-error-handling).
    ``single_use``: an authorization code was
    sent, so the same request must never be repeated (the fault catalogue (tests/faults) R7)
    whatever the error."""
    advice = advice_for_oauth_error(error)
    retry_safe = advice.retry_safe and not single_use
    fix = advice.fix
    if single_use and advice.code not in ("invalid_client", "invalid_request", "invalid_scope"):
        fix = "Start connecting the account again (a sign-in code works only once)."
    return OAuthError(
        error=error,
        description=description,
        code=error,
        http_status=http_status,
        tiktok_message=description,
        log_id=log_id,
        explanation=advice.explanation,
        fix=fix,
        retry_safe=retry_safe,
    )
