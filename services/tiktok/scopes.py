"""Login Kit v2 scopes, the user fields each unlocks, and Reelboard's feature bundles.

The marketer chooses features (Analytics, Publishing, Drafts), not scopes; this module turns
features into the scopes to request and, after partial consent (the fault catalogue (tests/faults)
R6, C8), turns the
granted scopes back into which features work and why the others do not.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

BASE_SCOPE = "user.info.basic"

# https://developers.tiktok.com/doc/tiktok-api-scopes: the public TT4D v2 scopes a Login Kit web app
# can request.
LOGIN_KIT_SCOPES: dict[str, str] = {
    "user.info.basic": "Read the account's avatar and display name",
    "user.info.profile": "Read the account's username, bio, profile links and verified badge",
    "user.info.stats": "Read the account's follower, following, like and video counts",
    "video.list": "Read the account's public videos and their view, like, comment and share "
                  "counts",
    "video.publish": "Post videos and photos directly to the account's profile",
    "video.upload": "Send videos and photos to the account's TikTok inbox as drafts",
}

# https://developers.tiktok.com/doc/tiktok-api-scopes: what the missing scope costs, shown next to a
# degraded feature.
_WITHOUT: dict[str, str] = {
    "user.info.basic": "the account's name and avatar cannot be read",
    "user.info.profile": "username, bio and verified badge are not shown",
    "user.info.stats": "follower, like and video counts are not tracked",
    "video.list": "videos and their views are not synced",
    "video.publish": "videos cannot be posted directly",
    "video.upload": "videos cannot be sent to TikTok drafts",
}

# https://developers.tiktok.com/doc/tiktok-api-scopes: other TT4D products on the same scopes page;
# not Login Kit for our use.
OTHER_TT4D_SCOPE_PREFIXES: dict[str, str] = {
    "research.": "the Research API (client token, academic access)",
    "portability.": "the Data Portability API",
    "local.": "TikTok Local (shops, products, vouchers)",
    "artist.": "artist certification",
}

# https://developers.tiktok.com/doc/tiktok-api-scopes: "Not in the public TT4D v2 scope list":
# TikTok API for Business scopes
# (business-api.tiktok.com, Accounts API), which a Login Kit app cannot request.
BUSINESS_API_SCOPES: frozenset[str] = frozenset({
    "video.insights", "comment.list", "comment.manage", "comment.list.manage",
    "user.insights", "user.account.type", "user.info.username",
})

# https://developers.tiktok.com/doc/tiktok-api-v2-get-user-info: user object fields and the scope
# each needs. Asking for a field without
# its scope gives `scope_permission_missed`, so fields are always chosen from the granted set.
USER_FIELD_SCOPES: dict[str, str] = {
    "open_id": "user.info.basic",
    "union_id": "user.info.basic",
    "avatar_url": "user.info.basic",
    "avatar_url_100": "user.info.basic",
    "avatar_large_url": "user.info.basic",
    "display_name": "user.info.basic",
    "bio_description": "user.info.profile",
    "profile_deep_link": "user.info.profile",
    "profile_web_link": "user.info.profile",
    "is_verified": "user.info.profile",
    "username": "user.info.profile",
    "follower_count": "user.info.stats",
    "following_count": "user.info.stats",
    "likes_count": "user.info.stats",
    "video_count": "user.info.stats",
}

#: The profile fields the accounts table keeps (services.migrations 0001).
ACCOUNT_PROFILE_FIELDS: tuple[str, ...] = (
    "open_id", "union_id", "avatar_url", "display_name",
    "bio_description", "profile_deep_link", "is_verified", "username",
    "follower_count",
)


@dataclass(frozen=True)
class Feature:
    name: str
    label: str
    scopes: tuple[str, ...]


# The bundles the Accounts page offers (the architecture notes in README.md "Flows: Connect").
# user.info.basic is added
# to every request by scopes_for(), because TikTok grants it by default (§9).
ANALYTICS = ("user.info.basic", "user.info.profile", "user.info.stats", "video.list")
PUBLISHING = ("video.publish",)
DRAFTS = ("video.upload",)

FEATURES: dict[str, Feature] = {
    "analytics": Feature("analytics", "Analytics", ANALYTICS),
    "publishing": Feature("publishing", "Publishing", PUBLISHING),
    "drafts": Feature("drafts", "Drafts", DRAFTS),
}


def _canonical(scopes: Iterable[str]) -> tuple[str, ...]:
    wanted = set(scopes)
    known = [s for s in LOGIN_KIT_SCOPES if s in wanted]
    return tuple(known + sorted(wanted - set(known)))


def parse_scopes(raw: str | None) -> frozenset[str]:
    """TikTok's comma-separated scope string (https://developers.tiktok.com/doc/login-kit-web,
    https://developers.tiktok.com/doc/oauth-user-access-token-management) as a set.
    """
    return frozenset(s.strip() for s in (raw or "").split(",") if s.strip())


def format_scopes(scopes: Iterable[str]) -> str:
    """Comma-separated, in catalogue order (what TikTok expects and what we store)."""
    return ",".join(_canonical(scopes))


def scopes_for(features: Iterable[str]) -> tuple[str, ...]:
    """The scopes to request for ``features`` (names from FEATURES), user.info.basic included."""
    scopes = {BASE_SCOPE}
    for name in features:
        if name not in FEATURES:
            raise ValueError(f"unknown feature {name!r}; expected one of {sorted(FEATURES)}")
        scopes.update(FEATURES[name].scopes)
    return _canonical(scopes)


def user_fields_for(granted: Iterable[str], wanted: Iterable[str] | None = None) -> tuple[str, ...]:
    """The user/info fields (of ``wanted``, default the ones we store) the grant allows."""
    granted = set(granted)
    fields = ACCOUNT_PROFILE_FIELDS if wanted is None else tuple(wanted)
    return tuple(f for f in fields if USER_FIELD_SCOPES.get(f) in granted)


@dataclass(frozen=True)
class FeatureStatus:
    feature: str
    label: str
    available: bool
    missing: tuple[str, ...]
    reason: str  # one sentence for the UI; empty when available


def feature_status(granted: Iterable[str]) -> dict[str, FeatureStatus]:
    """Which features work with ``granted`` scopes, and a sentence for those that do not."""
    granted = set(granted)
    result: dict[str, FeatureStatus] = {}
    for name, feature in FEATURES.items():
        missing = tuple(s for s in feature.scopes if s not in granted)
        if missing:
            costs = "; ".join(_WITHOUT[s] for s in missing)
            # Neutral wording: the account may never have been asked for this feature.
            verb = "is off" if len(missing) == len(feature.scopes) else "is limited"
            # Plain words only: the scope codes appear once, in the permissions detail.
            reason = f"{feature.label} {verb}: {costs}. Use \"Grant more\" to ask the creator."
        else:
            reason = ""
        result[name] = FeatureStatus(name, feature.label, not missing, missing, reason)
    return result


def permission_words(scope: str) -> str:
    """What a Login Kit scope lets Reelboard do, in words (the code itself is not repeated)."""
    return LOGIN_KIT_SCOPES.get(scope) or explain_scope(scope)


def explain_scope(scope: str) -> str:
    """Why a scope can or cannot be requested through Login Kit v2
    (https://developers.tiktok.com/doc/tiktok-api-scopes).
    """
    if scope in LOGIN_KIT_SCOPES:
        return f"{scope}: {LOGIN_KIT_SCOPES[scope]}."
    if scope in BUSINESS_API_SCOPES:
        return (
            f"{scope} is a TikTok API for Business scope (business-api.tiktok.com, Accounts "
            "API), not a Login Kit v2 scope: a TikTok for Developers app cannot request it "
            "(https://developers.tiktok.com/doc/tiktok-api-scopes). Per-video views, likes, "
            "comments and shares come from video.list instead."
        )
    for prefix, product in OTHER_TT4D_SCOPE_PREFIXES.items():
        if scope.startswith(prefix):
            return f"{scope} belongs to {product}, which Reelboard does not use."
    return f"{scope} is not a TikTok v2 scope Reelboard knows (https://developers.tiktok.com/doc/tiktok-api-scopes)."


def check_bundles(
    bundles: Mapping[str, Sequence[str]] | None = None,
) -> tuple[bool, list[str]]:
    """Validate feature bundles against the Login Kit v2 catalogue (`python -m services scopes
    check`). Returns (ok, report lines); lines explain every problem in words."""
    if bundles is None:
        bundles = {name: f.scopes for name, f in FEATURES.items()}
    ok = True
    lines: list[str] = []
    for name, scopes in bundles.items():
        bad = [s for s in scopes if s not in LOGIN_KIT_SCOPES]
        if bad:
            ok = False
            lines.append(f"FAIL {name}: {', '.join(bad)} cannot be requested.")
            lines.extend(f"     {explain_scope(s)}" for s in bad)
        else:
            request = scopes_for_bundle(scopes)
            lines.append(f"ok   {name}: requests {','.join(request)}")
    lines.append(
        "note video.insights, comment.list, comment.manage, comment.list.manage and "
        "user.insights are TikTok API for Business scopes, not Login Kit v2 scopes "
        "(https://developers.tiktok.com/doc/tiktok-api-scopes); Reelboard does not request them."
    )
    return ok, lines


def scopes_for_bundle(scopes: Iterable[str]) -> tuple[str, ...]:
    return _canonical({BASE_SCOPE, *scopes})
