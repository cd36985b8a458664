"""Publish: post a video directly or send it to the creator's drafts. Not built yet."""

from dashboard.coming_soon import coming_soon

coming_soon(
    "Publish to TikTok", "📤",
    "Post a one-off video to a connected creator account, or send it to their TikTok drafts to "
    "finish in the app — following TikTok's Content Sharing Guidelines.",
    [
        "Shows the creator's nickname and what they can post right now, fresh each time.",
        "Title, privacy (no default — you choose), and comment / duet / stitch settings the "
        "creator allows.",
        "Commercial content disclosure with the labels TikTok requires.",
        "Checks the file before uploading, uploads it in chunks with progress, and tracks the "
        "post until TikTok says it is live (or why not).",
    ],
    "an account connected with the Publishing (video.publish) or Drafts (video.upload) "
    "permission.",
)
