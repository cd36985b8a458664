"""The audit checklist: each rule of TikTok's Content Sharing Guidelines and how Publish meets it.

TikTok's reviewers watch a demo video of the posting flow and check these rules in this order
(https://developers.tiktok.com/doc/content-sharing-guidelines). The checklist is shown on the
Publish page so whoever records the demo can walk through it, and the page's tests assert each
"how" against the running page.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st


@dataclass(frozen=True)
class Rule:
    ref: str  # the guideline's own numbering
    rule: str  # what TikTok requires
    how: str  # where and how the Publish page meets it (what to show in the demo)


RULES: tuple[Rule, ...] = (
    Rule(
        "1",
        "Fetch the creator's info every time the posting page renders.",
        "creator_info is queried on every run of the page (no cache); changing any field "
        "re-queries it.",
    ),
    Rule(
        "1a",
        "Show the creator's nickname so the user knows which account receives the post.",
        "“Posting to” box at the top: nickname and @username, shown as plain text.",
    ),
    Rule(
        "1b",
        "If the creator cannot post now, stop and tell the user to try later.",
        "TikTok's reason (too many posts, banned from posting, daily cap of the app) is shown "
        "and the form is not drawn.",
    ),
    Rule(
        "1c",
        "Check the video's duration against max_video_post_duration_sec.",
        "Pre-flight probes the file and lists “too long” with the creator's limit before any "
        "TikTok call; Post stays disabled.",
    ),
    Rule(
        "2a",
        "The title is editable.",
        "Caption field, empty by default, with a counter in UTF-16 units (2200 for video, "
        "90 title / 4000 description for photos).",
    ),
    Rule(
        "2b",
        "Privacy: a dropdown of privacy_level_options only, with no default value.",
        "“Who can see this post” lists only the creator's options and starts empty "
        "(“Choose who can see this post”); Post stays disabled until one is chosen.",
    ),
    Rule(
        "2c",
        "Allow comment / duet / stitch: none checked by default; greyed out where the "
        "creator disabled them; photo posts show only Allow comment.",
        "Three checkboxes, all unticked; disabled with the reason on hover when creator_info "
        "disables them; only “Allow comment” for photos. Drafts: the creator sets them in "
        "TikTok, and the page says so.",
    ),
    Rule(
        "2d",
        "Music Usage Confirmation before the Post button.",
        "“By posting, you agree to TikTok's Music Usage Confirmation” with its link, right "
        "above Post.",
    ),
    Rule(
        "3",
        "Commercial content disclosure toggle, off by default.",
        "“Disclose commercial content” toggle, off; no label is shown while it is off.",
    ),
    Rule(
        "3a",
        "“Your brand” → label 'Promotional content'; “Branded content” → 'Paid "
        "partnership'; both → 'Paid partnership'.",
        "Two checkboxes appear when the toggle is on; the label prompt under them follows the "
        "choice.",
    ),
    Rule(
        "3b",
        "Toggle on with nothing chosen: Post disabled with the hover text “You need to "
        "indicate if your content promotes yourself, a third party, or both.”",
        "Post is disabled and its tooltip is exactly that sentence.",
    ),
    Rule(
        "3c",
        "Branded content cannot be private.",
        "Branded content chosen first: “Only me” leaves the privacy list (hover: “Branded "
        "content visibility cannot be set to private.”). “Only me” chosen first: Branded "
        "content is disabled, with that reason.",
    ),
    Rule(
        "3d",
        "No 'Promotional content' label by default.",
        "The toggle and both checkboxes start off; no label prompt until the user opts in.",
    ),
    Rule(
        "4",
        "Declarations: Branded Content Policy with branded content.",
        "With Branded content the statement becomes “By posting, you agree to TikTok's "
        "Branded Content Policy and Music Usage Confirmation”, linking both policies.",
    ),
    Rule("5a", "Show a preview of the content.", "The video (or the photos) is shown before Post."),
    Rule(
        "5b",
        "No watermarks; preset text stays editable.",
        "Reelboard never alters the media; the caption is empty and fully editable.",
    ),
    Rule(
        "5c",
        "Send content only after explicit consent.",
        "Nothing is uploaded before the Post / Send button is clicked; a second click or tab "
        "shows “already queued” instead of posting twice.",
    ),
    Rule(
        "5d",
        "Tell the user processing may take a few minutes.",
        "A note above Post and on the status panel says so.",
    ),
    Rule(
        "5e",
        "Poll the status so the user sees the outcome.",
        "The status panel polls status/fetch until the post settles (or a deadline), then "
        "says what happened in plain words; the history table keeps every job.",
    ),
)


def render_checklist() -> None:
    """The checklist as an expander: one line per rule, in the guideline's order."""
    with st.expander(
        "TikTok Content Sharing Guidelines — how this page meets them (audit checklist)"
    ):
        st.caption(
            "Walk through these in order when recording the audit demo video. Source: "
            "https://developers.tiktok.com/doc/content-sharing-guidelines"
        )
        for rule in RULES:
            st.markdown(f"**{rule.ref}. {rule.rule}**  \n:green[:material/check:] {rule.how}")
