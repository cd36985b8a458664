"""Form rules of TikTok's Content Sharing Guidelines, as pure functions the page and the CLI share.

https://developers.tiktok.com/doc/content-sharing-guidelines — the UX every posting app must
show: privacy chosen by the user from creator_info's options with no default; interactions off
by default and disabled where the creator disabled them; the commercial content disclosure with
"Your brand" / "Branded content" and their labels; branded content never private; the music
usage (and branded content policy) declarations.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from services.publishing.captions import CAPTION_LIMITS, caption_problems
from services.publishing.model import (
    MODE_LABELS,
    CreatorInfo,
    FileSource,
    PhotoUrls,
    PostRequest,
    UrlSource,
)

MUSIC_USAGE_URL = "https://www.tiktok.com/legal/page/global/music-usage-confirmation/en"
BRANDED_CONTENT_POLICY_URL = "https://www.tiktok.com/legal/page/global/bc-policy/en"

#: Hover text when the disclosure toggle is on but neither box is ticked (the guidelines' words).
DISCLOSURE_NEEDS_CHOICE = (
    "You need to indicate if your content promotes yourself, a third party, or both."
)
#: Hover text on "Only me" once Branded content is ticked (the guidelines' words).
BRANDED_NOT_PRIVATE = "Branded content visibility cannot be set to private."
PROCESSING_NOTE = (
    "After you post, TikTok may take a few minutes to process the content before it appears "
    "on the profile."
)
DRAFT_NOTE = (
    "The video goes to the creator's TikTok inbox: they get a notification in the TikTok app, "
    "add the caption and settings there, and post it themselves."
)
MAX_PHOTOS = 35


def disclosure_label(mode: str, brand_organic: bool, brand_content: bool) -> str | None:
    """The label prompt under the disclosure checkboxes, or None (nothing ticked: no label;
    the "Promotional content" label must never show by default)."""
    thing = "photo" if mode == "photo" else "video"
    if brand_content:
        return f"Your {thing} will be labeled as 'Paid partnership'"
    if brand_organic:
        return f"Your {thing} will be labeled as 'Promotional content'"
    return None


def declaration(brand_organic: bool, brand_content: bool) -> tuple[str, list[tuple[str, str]]]:
    """The consent sentence shown above the Post button, and its (link text, URL) pairs."""
    if brand_content:
        return (
            "By posting, you agree to TikTok's Branded Content Policy and Music Usage "
            "Confirmation.",
            [
                ("Branded Content Policy", BRANDED_CONTENT_POLICY_URL),
                ("Music Usage Confirmation", MUSIC_USAGE_URL),
            ],
        )
    return (
        "By posting, you agree to TikTok's Music Usage Confirmation.",
        [("Music Usage Confirmation", MUSIC_USAGE_URL)],
    )


def privacy_choices(creator: CreatorInfo, brand_content: bool) -> dict[str, str | None]:
    """Each of the creator's privacy options → None if selectable, else why it is disabled."""
    return {
        level: (BRANDED_NOT_PRIVATE if brand_content and level == "SELF_ONLY" else None)
        for level in creator.privacy_level_options
    }


def url_problems(url: str, *, what: str = "The media URL") -> list[str]:
    """TikTok pulls only HTTPS URLs on a verified domain or prefix, never by IP address
    (https://developers.tiktok.com/doc/content-posting-api-media-transfer-guide)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return [f"{what} is not a valid URL."]
    if parts.scheme != "https" or not parts.hostname:
        return [f"{what} must start with https:// (TikTok only pulls media over HTTPS)."]
    host = parts.hostname
    if host.replace(".", "").isdigit() or ":" in host:
        return [f"{what} uses an IP address; TikTok only pulls from a verified domain name."]
    if parts.username or parts.password:
        return [f"{what} must not contain a user name or password."]
    return []


def validate(request: PostRequest, creator: CreatorInfo) -> list[str]:
    """Every reason the form cannot be posted yet, in the order the form shows them (empty: the
    Post button may be enabled). Checks that need the file itself are in media.preflight_*."""
    problems: list[str] = []
    mode = request.mode
    if not creator.can_post:
        problems.append(creator.blocked_reason or "This creator cannot post right now.")
    if mode not in MODE_LABELS:
        return [*problems, f"Unknown posting mode {mode!r}."]
    if mode not in creator.allowed_modes:
        problems.append(
            f'"{MODE_LABELS[mode]}" is not allowed for this account\'s TikTok grant; use '
            '"Grant more" on the Accounts page.'
        )
    # Source kind matches the mode.
    source = request.source
    if mode == "photo":
        if not isinstance(source, PhotoUrls):
            problems.append("A photo post needs photo URLs (TikTok pulls photos from a URL).")
        else:
            if not 1 <= len(source.urls) <= MAX_PHOTOS:
                problems.append(
                    f"A photo post takes 1 to {MAX_PHOTOS} photos; this one has {len(source.urls)}."
                )
            if not 0 <= source.cover_index < max(1, len(source.urls)):
                problems.append("The cover photo must be one of the photos.")
            for i, url in enumerate(source.urls, 1):
                problems += url_problems(url, what=f"Photo {i}'s URL")
    elif isinstance(source, UrlSource):
        problems += url_problems(source.url)
    elif not isinstance(source, FileSource):
        problems.append("A video post needs a video file or a video URL.")

    # Caption(s): drafts carry none (the creator writes it in the TikTok app).
    if mode == "direct":
        problems += caption_problems(request.caption, CAPTION_LIMITS["video"])
    elif mode == "photo":
        problems += caption_problems(
            request.photo_title, CAPTION_LIMITS["photo_title"], field="Title"
        )
        problems += caption_problems(
            request.caption, CAPTION_LIMITS["photo_description"], field="Description"
        )

    if mode in ("direct", "photo"):
        # Privacy: chosen by the user, from the creator's options only, no default.
        if not request.privacy_level:
            problems.append("Choose who can see this post (there is no default).")
        elif request.privacy_level not in creator.privacy_level_options:
            problems.append(
                "The chosen privacy setting is not one this creator allows now; pick one from "
                "the list."
            )
        # Interactions the creator switched off cannot be allowed.
        if request.allow_comment and creator.comment_disabled:
            problems.append("This creator has turned comments off; untick Allow comment.")
        if mode == "direct":
            if request.allow_duet and creator.duet_disabled:
                problems.append("This creator has turned Duet off; untick Allow Duet.")
            if request.allow_stitch and creator.stitch_disabled:
                problems.append("This creator has turned Stitch off; untick Allow Stitch.")
        elif request.allow_duet or request.allow_stitch:
            problems.append("Photo posts have no Duet or Stitch; untick them.")
        # Commercial content disclosure.
        if request.disclose and not (request.brand_organic or request.brand_content):
            problems.append(DISCLOSURE_NEEDS_CHOICE)
        if not request.disclose and (request.brand_organic or request.brand_content):
            problems.append("Turn on the commercial content disclosure to tick its boxes.")
        if request.brand_content and request.privacy_level == "SELF_ONLY":
            problems.append(
                BRANDED_NOT_PRIVATE + " Choose another audience, or untick Branded content."
            )
        if (
            mode == "direct"
            and request.cover_timestamp_ms is not None
            and (request.cover_timestamp_ms < 0 or request.cover_timestamp_ms > 2**31 - 1)
        ):
            problems.append("The cover frame time must be within the video.")
    return problems
