"""The Publish form: its rules as plain functions, and the widgets that draw them in order.

TikTok's Content Sharing Guidelines (https://developers.tiktok.com/doc/content-sharing-guidelines)
decide what the form shows, what it disables and when Post may be clicked. The decisions are
pure functions over plain values (``mode_problems``, ``privacy_options``, ``interaction_boxes``,
``post_blockers`` …) so tests check each rule directly; the widget functions only draw them.
The rules shared with the CLI (validation, labels, declarations) live in services.publishing.

Text from TikTok or the user (nickname, caption, file names) is drawn with ``st.text`` or
inside widgets, never as Markdown (https://docs.streamlit.io/develop/api-reference/text/st.text).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import streamlit as st

from dashboard.text import is_web_url
from services.publishing import (
    BRANDED_NOT_PRIVATE,
    CAPTION_LIMITS,
    MODE_LABELS,
    MODE_SCOPES,
    MODES,
    PRIVACY_LABELS,
    CreatorInfo,
    PostRequest,
    caption_units,
    declaration,
    disclosure_label,
    has_bidi_controls,
    privacy_choices,
    validate,
)

PRIVACY_PLACEHOLDER = "Choose who can see this post"
KEY = "publish_"  # every widget key of the form starts with this

# ---------------------------------------------------------------- pure decisions


_PERMISSION_WORDS = {
    "video.publish": "post videos directly to the creator's profile",
    "video.upload": "send videos to the creator's TikTok drafts",
}


def mode_problems(granted_scopes: Iterable[str]) -> dict[str, str]:
    """Modes the grant does not allow → why, naming the missing TikTok permission."""
    granted = set(granted_scopes)
    return {
        # In words: the scope codes appear once, in the Accounts card's permissions list.
        mode: f"{MODE_LABELS[mode]} needs permission to "
        f"{_PERMISSION_WORDS.get(MODE_SCOPES[mode], 'do this')}, which this account has not "
        "given. An admin can ask for it with Grant more."
        for mode in MODES
        if MODE_SCOPES[mode] not in granted
    }


def privacy_label(level: str) -> str:
    return PRIVACY_LABELS.get(level, level.replace("_", " ").capitalize())


def privacy_options(creator: CreatorInfo, branded: bool) -> tuple[list[str], list[str]]:
    """(selectable levels, hover lines for the ones removed). Only the creator's own options;
    "Only me" goes once Branded content is ticked (branded content cannot be private)."""
    choices = privacy_choices(creator, branded)
    allowed = [level for level, why in choices.items() if why is None]
    removed = [
        f"“{privacy_label(level)}” is unavailable: {why}"
        for level, why in choices.items()
        if why is not None
    ]
    return allowed, removed


@dataclass(frozen=True)
class Box:
    key: str
    label: str
    disabled_reason: str | None  # None: the user may tick it


def interaction_boxes(creator: CreatorInfo, mode: str) -> list[Box]:
    """Allow comment / duet / stitch as the guidelines want them: photos get comment only; a
    box the creator switched off in TikTok is shown disabled, with the reason."""
    off = "The creator has set {what} to “No one” in TikTok, so it cannot be allowed here."
    boxes = [
        Box(
            "allow_comment",
            "Allow comment",
            off.format(what="comments") if creator.comment_disabled else None,
        )
    ]
    if mode == "direct":
        private = (
            "The creator has a private account or has set {what} to “No one” in TikTok, "
            "so it cannot be allowed here."
        )
        boxes.append(
            Box(
                "allow_duet",
                "Allow Duet",
                private.format(what="Duet") if creator.duet_disabled else None,
            )
        )
        boxes.append(
            Box(
                "allow_stitch",
                "Allow Stitch",
                private.format(what="Stitch") if creator.stitch_disabled else None,
            )
        )
    return boxes


def caption_counter(text: str, limit: int) -> tuple[str, bool]:
    """The counter under a caption field, in TikTok's own unit, and whether it fits."""
    units = caption_units(text)
    return (
        f"{units:,} / {limit:,} characters — counted in UTF-16 units as TikTok does "
        "(most emoji count 2, some 4 or more)",
        units <= limit,
    )


def post_blockers(
    request: PostRequest, creator: CreatorInfo, media_problems: Sequence[str]
) -> list[str]:
    """Why Post cannot be clicked yet; [] means it may be. ``request.source`` is None until
    media is chosen (validate then asks for it). The list is the Post button's hover text,
    one full sentence per reason."""
    blockers = ["Fix the media problems listed above first."] if media_problems else []
    return blockers + [p for p in validate(request, creator) if p not in blockers]


def post_help(blockers: Sequence[str], mode: str) -> str:
    """The Post button's tooltip: the reasons it is disabled, or what clicking does."""
    if blockers:
        return "\n\n".join(blockers)
    if mode == "draft":
        return "Uploads the video to the creator's TikTok inbox. Nothing is sent before you click."
    return "Sends the post to TikTok. Nothing is sent before you click."


# ---------------------------------------------------------------- widgets, in guideline order


#: Free-text and on/off fields the form keeps even when a run does not draw them (Streamlit
#: forgets an undrawn widget's value): a moment where TikTok cannot be asked (e.g. its 20
#: creator_info calls a minute) must not wipe the form. Checkboxes and toggles start off
#: (Streamlit's default), as the guidelines require.
KEPT_KEYS = tuple(
    f"{KEY}{name}"
    for name in (
        "caption",
        "photo_title",
        "allow_comment",
        "allow_duet",
        "allow_stitch",
        "disclose",
        "your_brand",
        "branded",
        "aigc",
        "url",
        "photo_urls",
    )
)


def keep_form_values() -> None:
    for key in KEPT_KEYS:
        if key in st.session_state:
            st.session_state[key] = st.session_state[key]


def creator_header(creator: CreatorInfo) -> None:
    """Guideline 1a: who receives the post, prominently, as plain text."""
    with st.container(border=True):
        left, right = st.columns([1, 8], vertical_alignment="center")
        # TikTok's avatar link is outside data: never let st.image open it as a server file.
        if creator.avatar_url and is_web_url(creator.avatar_url):
            left.image(creator.avatar_url, width=64)
        with right:
            st.caption("Posting to")
            handle = f" (@{creator.username})" if creator.username else ""
            st.text(f"{creator.nickname}{handle}")


def mode_picker(creator: CreatorInfo) -> str:
    """The mode, offering only what the grant allows (the page says why others are missing)."""
    allowed = [m for m in MODES if m in creator.allowed_modes]
    mode = st.radio(
        "What do you want to do?",
        allowed,
        format_func=MODE_LABELS.__getitem__,
        key=f"{KEY}mode",
        horizontal=True,
    )
    return mode or allowed[0]


def caption_fields(mode: str) -> tuple[str, str]:
    """Guideline 2a: editable caption(s), empty by default, with a counter in UTF-16 units."""
    if mode == "draft":
        st.info(
            "Drafts carry no caption: the creator writes it, and picks who can see the "
            "post and its comment, Duet and Stitch settings, in the TikTok app before "
            "posting.",
            icon=":material/inbox:",
        )
        return "", ""
    title = ""
    if mode == "photo":
        title = st.text_input(
            "Title",
            key=f"{KEY}photo_title",
            help="Shown above the photos. Hashtags and mentions work.",
        )
        _counter(title, CAPTION_LIMITS["photo_title"])
    label = "Description" if mode == "photo" else "Caption"
    limit = CAPTION_LIMITS["photo_description" if mode == "photo" else "video"]
    caption = st.text_area(
        label,
        key=f"{KEY}caption",
        height=110,
        help="Hashtags (#) and mentions (@) are parsed by TikTok. The counter "
        "updates when you click outside the box or press Ctrl+Enter.",
    )
    _counter(caption, limit)
    return caption, title


def _counter(text: str, limit: int) -> None:
    words, fits = caption_counter(text, limit)
    st.caption(words if fits else f":red[{words} — too long]")
    if has_bidi_controls(text):
        st.caption(
            ":orange[:material/warning:] Contains right-to-left control characters: "
            "the caption may read differently on TikTok than it looks here."
        )


def privacy_select(creator: CreatorInfo, branded: bool) -> str | None:
    """Guideline 2b: only the creator's options, chosen by the user — no default."""
    allowed, removed = privacy_options(creator, branded)
    key = f"{KEY}privacy"
    if st.session_state.get(key) not in (*allowed, None):
        st.session_state[key] = None  # e.g. "Only me" after Branded content was ticked
    choice = st.selectbox(
        "Who can see this post",
        allowed,
        index=None,
        key=key,
        format_func=privacy_label,
        placeholder=PRIVACY_PLACEHOLDER,
        help="\n\n".join(removed) or "The options TikTok offers this creator.",
    )
    for line in removed:
        st.caption(line)
    return choice


def interaction_checks(creator: CreatorInfo, mode: str) -> dict[str, bool]:
    """Guideline 2c: unticked by default; disabled (with why) where the creator disabled them."""
    values = {"allow_comment": False, "allow_duet": False, "allow_stitch": False}
    boxes = interaction_boxes(creator, mode)
    for col, box in zip(st.columns(len(boxes)), boxes, strict=True):
        key = f"{KEY}{box.key}"
        if box.disabled_reason:
            st.session_state[key] = False
        values[box.key] = col.checkbox(
            box.label,
            key=key,
            disabled=box.disabled_reason is not None,
            help=box.disabled_reason,
        )
        if box.disabled_reason:
            col.caption(box.disabled_reason)
    return values


def disclosure(mode: str, privacy: str | None) -> dict[str, bool]:
    """Guideline 3: the commercial content disclosure, off by default; its two boxes and label."""
    disclose = st.toggle(
        "Disclose commercial content",
        key=f"{KEY}disclose",
        help="Turn on if this post promotes yourself, a brand, a product or a service.",
    )
    organic = branded = False
    if disclose:
        st.caption(
            "This content promotes yourself, a brand, product or service. Choose what "
            "applies (at least one):"
        )
        organic = st.checkbox(
            "Your brand",
            key=f"{KEY}your_brand",
            help="You are promoting yourself or your own business.",
        )
        blocked = privacy == "SELF_ONLY"
        if blocked:
            st.session_state[f"{KEY}branded"] = False
        branded = st.checkbox(
            "Branded content",
            key=f"{KEY}branded",
            disabled=blocked,
            help=BRANDED_NOT_PRIVATE
            if blocked
            else "You are promoting another brand or a third party.",
        )
        if blocked:
            st.caption(
                f"{BRANDED_NOT_PRIVATE} Choose another audience above to tick Branded content."
            )
        prompt = disclosure_label(mode, organic, branded)
        if prompt:
            st.info(prompt, icon=":material/sell:")
    return {"disclose": disclose, "brand_organic": organic, "brand_content": branded}


def extras(mode: str) -> dict:
    """Extras of the Direct Post API: the AI-generated label and, for video, the cover frame."""
    values: dict = {
        "is_aigc": st.toggle(
            "Label as AI-generated",
            key=f"{KEY}aigc",
            help="Adds TikTok's “Creator labeled as AI-generated” tag to the post.",
        )
    }
    if mode == "direct":
        values["cover_timestamp_ms"] = st.number_input(
            "Cover frame (milliseconds into the video)",
            min_value=0,
            value=None,
            step=500,
            key=f"{KEY}cover_ms",
            placeholder="First frame",
            help="Which frame TikTok shows as the cover; empty means the first frame.",
        )
    return values


def declaration_markdown(organic: bool, branded: bool) -> str:
    """The consent statement with each policy's name linked where the sentence names it."""
    sentence, links = declaration(organic, branded)
    for name, url in links:
        sentence = sentence.replace(name, f"[{name}]({url})", 1)
    return sentence


def declaration_text(organic: bool, branded: bool) -> None:
    """Guideline 2/4: the consent statement right above Post (our own text and TikTok's URLs)."""
    st.markdown(declaration_markdown(organic, branded))
