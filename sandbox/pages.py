"""HTML for the browser side of Login Kit: the consent page and the authorize error page.

Self-contained (inline CSS, images from this server only). Every value that came from the
request or the world goes through `esc`.
"""

from __future__ import annotations

from dataclasses import dataclass
from html import escape


def esc(value: object) -> str:
    return escape(str(value), quote=True)


_CSS = """
*{box-sizing:border-box}body{margin:0;font:15px/1.45 -apple-system,BlinkMacSystemFont,"Segoe UI",
Roboto,Helvetica,Arial,sans-serif;background:#f1f1f2;color:#161823}
.card{max-width:480px;margin:32px auto;background:#fff;border-radius:16px;
box-shadow:0 2px 16px rgba(0,0,0,.08);padding:28px 28px 22px}
.brand{display:flex;align-items:center;gap:8px;font-weight:700;font-size:18px}
.note{font-size:12px;color:#fff;background:#fe2c55;border-radius:999px;padding:2px 8px;
font-weight:600}
h1{font-size:20px;margin:18px 0 4px}p.sub{margin:0 0 18px;color:#555}
h2{font-size:13px;text-transform:uppercase;letter-spacing:.04em;color:#8a8b91;margin:18px 0 8px}
label.row{display:flex;align-items:center;gap:12px;padding:10px 12px;border:1px solid #e3e3e4;
border-radius:10px;margin-bottom:8px;cursor:pointer}
label.row:hover{border-color:#c9c9cc}label.row.disabled{cursor:default;background:#fafafa}
.row small{display:block;color:#8a8b91;font-size:12px}
.row img{width:40px;height:40px;border-radius:50%}
.scope code{font-size:12px;color:#8a8b91}
.badge{font-size:11px;background:#e8f3ff;color:#1677ff;border-radius:4px;padding:1px 5px;
margin-left:4px}.badge.priv{background:#f4f4f5;color:#555}
.buttons{display:flex;gap:10px;margin-top:20px}
button{flex:1;border:0;border-radius:8px;padding:12px;font-size:15px;font-weight:600;
cursor:pointer}button.approve{background:#fe2c55;color:#fff}
button.deny{background:#f1f1f2;color:#161823}
.err{background:#fff1f0;border:1px solid #ffccc7;color:#a8071a;border-radius:8px;
padding:10px 12px;margin:12px 0}
.foot{margin-top:16px;font-size:12px;color:#8a8b91}
"""


@dataclass(frozen=True)
class ScopeChoice:
    scope: str
    description: str
    required: bool
    checked: bool


@dataclass(frozen=True)
class CreatorChoice:
    open_id: str
    username: str
    display_name: str
    avatar_url: str
    is_private: bool
    is_verified: bool
    followers: int


def _page(title: str, body: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width,initial-scale=1">'
        f"<title>{esc(title)}</title><style>{_CSS}</style></head><body>{body}</body></html>"
    )


def _followers(n: int) -> str:
    if n >= 1_000_000:
        return f"{n / 1_000_000:.1f}M"
    if n >= 10_000:
        return f"{n / 1000:.0f}K"
    if n >= 1000:
        return f"{n / 1000:.1f}K"
    return str(n)


def consent_page(
    *,
    app_name: str,
    action: str,
    hidden: dict[str, str],
    scopes: list[ScopeChoice],
    creators: list[CreatorChoice],
    selected_open_id: str | None,
    error: str | None = None,
) -> str:
    hidden_inputs = "".join(
        f'<input type="hidden" name="{esc(k)}" value="{esc(v)}">' for k, v in hidden.items()
    )
    scope_rows = []
    for s in scopes:
        if s.required:
            # A disabled checkbox is not submitted; the server always grants it (scope docs).
            box = '<input type="checkbox" checked disabled aria-label="required">'
            extra = ' class="row scope disabled"'
        else:
            box = (
                f'<input type="checkbox" name="granted_scope" value="{esc(s.scope)}"'
                f"{' checked' if s.checked else ''}>"
            )
            extra = ' class="row scope"'
        req = '<span class="badge">required</span>' if s.required else ""
        scope_rows.append(
            f"<label{extra}>{box}<span>{esc(s.description)}{req}"
            f"<small><code>{esc(s.scope)}</code></small></span></label>"
        )
    creator_rows = []
    for i, c in enumerate(creators):
        checked = c.open_id == selected_open_id or (selected_open_id is None and i == 0)
        badges = ('<span class="badge">verified</span>' if c.is_verified else "") + (
            '<span class="badge priv">private account</span>' if c.is_private else ""
        )
        creator_rows.append(
            f'<label class="row"><input type="radio" name="creator" value="{esc(c.open_id)}"'
            f'{" checked" if checked else ""}><img src="{esc(c.avatar_url)}" alt="">'
            f"<span>{esc(c.display_name)}{badges}<small>@{esc(c.username)} · "
            f"{_followers(c.followers)} followers</small></span></label>"
        )
    err = f'<div class="err" role="alert">{esc(error)}</div>' if error else ""
    body = (
        '<main class="card"><div class="brand">TikTok <span class="note">SANDBOX</span></div>'
        f"<h1>{esc(app_name)} would like to access your TikTok account</h1>"
        '<p class="sub">This is the Reelboard sandbox: nothing leaves this computer.</p>'
        f'{err}<form method="post" action="{esc(action)}">{hidden_inputs}'
        f"<h2>Log in as</h2>{''.join(creator_rows)}"
        f"<h2>{esc(app_name)} is requesting permission to</h2>{''.join(scope_rows)}"
        '<div class="buttons"><button class="deny" type="submit" name="action" value="deny">'
        'Cancel</button><button class="approve" type="submit" name="action" value="approve">'
        "Authorize</button></div></form>"
        '<p class="foot">You can change what you share: untick a permission to grant less. '
        "The app receives only the permissions you leave ticked.</p></main>"
    )
    return _page(f"Authorize {app_name} · TikTok sandbox", body)


def error_page(*, error_type: str, err_code: int, message: str) -> str:
    """Like TikTok's own page for a bad client_key/redirect_uri: no redirect happens (Login Kit)."""
    body = (
        '<main class="card"><div class="brand">TikTok <span class="note">SANDBOX</span></div>'
        "<h1>Something went wrong</h1>"
        '<p class="sub">We couldn\'t log in with TikTok. This may be due to specific app '
        "settings.</p>"
        f'<div class="err" role="alert">{esc(message)}</div>'
        f'<p class="foot">error_type={esc(error_type)} · errCode={err_code}</p></main>'
    )
    return _page("TikTok sandbox · error", body)
