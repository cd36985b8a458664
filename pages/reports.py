"""Reports: the weekly report (preview, download, Google Sheets export). Not built yet."""

from dashboard.coming_soon import coming_soon

coming_soon(
    "Weekly report", "🗓️",
    "Every Monday, one report per ISO week for the accounts you choose — the numbers your team "
    "reviews, without copy-pasting from TikTok.",
    [
        "Per account: followers, views, likes, comments and shares gained, week over week.",
        "The week's top videos with links, ready to discuss.",
        "Preview here, download as CSV or Excel.",
        "Export to Google Sheets: one tab per week, replaced in place when re-run, plus a "
        "summary tab — and runnable from cron with `python -m services report`.",
    ],
    "connected accounts with the Analytics permissions and a few synced days of history.",
)
