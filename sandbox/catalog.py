"""The demo creators and the text pools their captions are drawn from.

The numbers are chosen to look like real accounts of each size; the point of each creator is in
its comment. All randomness downstream is seeded from (seed, username), so editing one creator
never changes another.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class TextPool:
    subjects: tuple[str, ...]
    templates: tuple[str, ...]  # "{s}" is replaced by a subject, "{n}" by a small number
    hashtags: tuple[str, ...]  # about 15 per creator


@dataclass(frozen=True)
class CreatorSpec:
    username: str
    display_name: str
    bio: str
    is_verified: bool
    is_private: bool
    following_count: int
    # posting schedule, in days relative to the world anchor
    history_days: float  # first post this many days before the anchor
    future_days: float  # keeps posting this long after the anchor (advancing the clock)
    mean_interval_days: float
    private_videos: int  # extra SELF_ONLY videos: never listed
    deleted_videos: int  # public videos that get deleted at some point
    # engagement
    median_views: float
    views_sigma: float  # lognormal spread of final sizes
    hit_rate: float  # chance that a video is a hit (20-100x the median)
    forced_hits: tuple[float, ...] = ()  # multipliers for hits placed on purpose
    yearly_growth: float = 1.6  # median views grow with the account
    base_followers: int = 100
    organic_followers_per_day: float = 2.0
    followers_per_view: float = 0.004
    colors: tuple[str, str] = ("#ff6b6b", "#845ef7")
    text: TextPool = field(default_factory=lambda: GENERIC_TEXT)
    # Content Posting: what creator_info reports (https://developers.tiktok.com/doc/
    # content-posting-api-reference-query-creator-info). A private account also has duet and
    # stitch disabled. `unaudited_app` makes every app act unaudited for this creator (the demo
    # scenario of an app before TikTok's audit).
    comment_disabled: bool = False
    duet_disabled: bool = False
    stitch_disabled: bool = False
    max_video_post_duration_sec: int = 180
    unaudited_app: bool = False


GENERIC_TEXT = TextPool(
    subjects=(
        "my morning routine",
        "a tiny life update",
        "this week's favourite find",
        "the thing nobody tells you",
        "a quick tip",
        "behind the scenes",
        "what I learned this month",
        "a day in my life",
        "my desk setup",
        "the best advice I got",
    ),
    templates=(
        "{s}",
        "Day {n}: {s}",
        "{s} (part {n})",
        "Honest thoughts on {s}",
        "POV: {s}",
        "{s} in {n} seconds",
    ),
    hashtags=(
        "#fyp",
        "#foryou",
        "#dayinmylife",
        "#vlog",
        "#tips",
        "#lifehacks",
        "#routine",
        "#motivation",
        "#storytime",
        "#relatable",
        "#trend",
        "#viral",
        "#weekend",
        "#creator",
        "#behindthescenes",
    ),
)

KITCHEN_TEXT = TextPool(
    subjects=(
        "creamy garlic pasta",
        "one-pan lemon chicken",
        "crispy smashed potatoes",
        "miso glazed salmon",
        "5-ingredient brownies",
        "spicy peanut noodles",
        "sourdough focaccia",
        "tomato confit",
        "chickpea curry",
        "breakfast burritos",
        "homemade ramen",
        "cinnamon rolls",
        "shakshuka",
        "pesto gnocchi",
        "banana bread",
        "korean fried cauliflower",
        "french onion soup",
        "mango sticky rice",
    ),
    templates=(
        "{s} in {n} minutes",
        "My grandma's {s}",
        "The {s} you need this week",
        "{s} but make it easy",
        "Meal prep: {s}",
        "I tried the viral {s}",
        "{s} for under $10",
        "Sunday reset: {s}",
        "You're making {s} wrong",
        "{s} (no oven needed)",
    ),
    hashtags=(
        "#cooking",
        "#recipe",
        "#foodtok",
        "#easyrecipe",
        "#homecooking",
        "#dinnerideas",
        "#baking",
        "#pasta",
        "#mealprep",
        "#comfortfood",
        "#quickrecipes",
        "#kitchenhacks",
        "#foodie",
        "#vegetarian",
        "#fyp",
    ),
)

TRAIL_TEXT = TextPool(
    subjects=(
        "a 30 km ridge run",
        "hill repeats",
        "my first ultra",
        "trail shoe review",
        "a sunrise long run",
        "fueling on the trail",
        "downhill technique",
        "race day nerves",
        "a muddy 10k",
        "recovery week",
        "night running with a headlamp",
        "the summit push",
        "training for 50 miles",
    ),
    templates=(
        "{s}",
        "Week {n} of training: {s}",
        "What {s} taught me",
        "{s} — worth it?",
        "Come with me on {s}",
        "{n} things about {s}",
    ),
    hashtags=(
        "#trailrunning",
        "#running",
        "#ultrarunning",
        "#runtok",
        "#mountains",
        "#outdoors",
        "#hiking",
        "#marathontraining",
        "#runner",
        "#fitness",
        "#adventure",
        "#getoutside",
        "#trail",
        "#endurance",
        "#fyp",
    ),
)

POTTERY_TEXT = TextPool(
    subjects=(
        "a speckled mug",
        "trimming a bowl",
        "glaze test tiles",
        "centering clay",
        "a wonky vase",
        "kiln opening",
        "pulling handles",
        "a set of plates",
        "reclaiming clay",
        "a tiny bud vase",
    ),
    templates=(
        "{s}",
        "Slow evening: {s}",
        "Attempt {n} at {s}",
        "{s}, start to finish",
        "Quiet studio hours: {s}",
    ),
    hashtags=(
        "#pottery",
        "#ceramics",
        "#wheelthrowing",
        "#clay",
        "#handmade",
        "#potterytok",
        "#glaze",
        "#studiolife",
        "#slowliving",
        "#mug",
        "#kiln",
        "#makersgonnamake",
        "#craft",
        "#asmr",
        "#calm",
    ),
)

# Text a hostile or careless creator can type into TikTok: Markdown and HTML (links, a tracking
# pixel, inline styles), LaTeX, Streamlit's colour/icon/emoji shortcodes, a spreadsheet formula
# and a right-to-left override. The app must show every character of it as text.
HOSTILE_TEXT = TextPool(
    subjects=(
        '<a href="//evil.example">x</a> tutorial',
        '<span style="font-size:90px">X</span> big reveal',
        "$x$ and $$y$$ math tricks",
        ":red[x] :material/home: :smile: shortcodes",
        "**b** __u__ ~~s~~ `c` formatting",
        '=HYPERLINK("https://evil.example","x")',
        "\u202eevil.exe\u202c renamed",
        "[Login](https://evil.example) now",
        "![](https://evil.example/p.png) pixel",
        "<b>bold</b><br>new line & more",
        "# heading | a | b |",
        "1) list -> arrow <- www.evil.example",
    ),
    templates=("{s}",),
    hashtags=("#__bold__", "#fyp", "#md_test", "#x_y_z"),
)

DEMO_CREATORS: tuple[CreatorSpec, ...] = (
    # 1. The large, verified public account: ~600 public posts in the 20 months before the
    #    anchor, roughly daily, and two more years of posts after it; private and deleted videos
    #    exercise the "public, live videos only" rules of video/list and video/query.
    CreatorSpec(
        username="lunakitchen",
        display_name="Luna's Kitchen",
        bio="Easy dinners, honest baking fails. New recipe every day 🍝",
        is_verified=True,
        is_private=False,
        following_count=187,
        history_days=608.0,
        future_days=730.0,
        mean_interval_days=1.0,
        private_videos=15,
        deleted_videos=6,
        median_views=38_000.0,
        views_sigma=0.95,
        hit_rate=0.012,
        yearly_growth=1.8,
        base_followers=24_000,
        organic_followers_per_day=35.0,
        followers_per_view=0.0055,
        colors=("#ff922b", "#e64980"),
        text=KITCHEN_TEXT,
        max_video_post_duration_sec=600,
    ),
    # 2. The small private account: few videos, small numbers; is_private drives the privacy
    #    options of a private account in later posting work (creator info docs).
    CreatorSpec(
        username="quietpotter",
        display_name="quiet potter",
        bio="wheel-thrown things, slowly. studio diary.",
        is_verified=False,
        is_private=True,
        following_count=64,
        history_days=365.0,
        future_days=730.0,
        mean_interval_days=12.0,
        private_videos=2,
        deleted_videos=1,
        median_views=140.0,
        views_sigma=0.6,
        hit_rate=0.0,
        yearly_growth=1.2,
        base_followers=85,
        organic_followers_per_day=0.3,
        followers_per_view=0.01,
        colors=("#69db7c", "#1098ad"),
        text=POTTERY_TEXT,
    ),
    # 3. The mid-size account with two viral hits: outliers against the account median.
    CreatorSpec(
        username="trailrunnerjo",
        display_name="Jo on the Trails",
        bio="Ultra runner. Mountains, mud and honest training logs.",
        is_verified=False,
        is_private=False,
        following_count=412,
        history_days=600.0,
        future_days=730.0,
        mean_interval_days=4.0,
        private_videos=3,
        deleted_videos=2,
        median_views=3_200.0,
        views_sigma=0.8,
        hit_rate=0.0,
        forced_hits=(65.0, 95.0),
        yearly_growth=1.4,
        base_followers=2_100,
        organic_followers_per_day=4.0,
        followers_per_view=0.008,
        colors=("#4dabf7", "#5c7cfa"),
        text=TRAIL_TEXT,
        comment_disabled=True,
        stitch_disabled=True,
        max_video_post_duration_sec=300,
    ),
    # 4. The unaudited-app scenario: a public account seen through an app that has not passed
    #    TikTok's audit. creator_info still offers PUBLIC_TO_EVERYONE; every init is refused with
    #    unaudited_client_can_only_post_to_private_accounts, as TikTok does for public accounts.
    CreatorSpec(
        username="freshbrand.lab",
        display_name="Fresh Brand Lab",
        bio="A new brand account, posting through an app that is still in review.",
        is_verified=False,
        is_private=False,
        following_count=12,
        history_days=60.0,
        future_days=730.0,
        mean_interval_days=7.0,
        private_videos=0,
        deleted_videos=0,
        median_views=450.0,
        views_sigma=0.7,
        hit_rate=0.0,
        yearly_growth=1.2,
        base_followers=310,
        organic_followers_per_day=1.0,
        followers_per_view=0.006,
        colors=("#fab005", "#40c057"),
        unaudited_app=True,
    ),
    # 4. The hostile creator: its display name (35 characters) is a tracking pixel plus a
    #    phishing link in Markdown, the username is Markdown bold, and every title is markup of
    # some kind (HOSTILE_TEXT). Every page is tested against it (the fault catalogue (tests/faults)
    # X5).
    CreatorSpec(
        username="__h4x__.md",
        display_name="![x](https://e.vl/p)[Login](//e.vl)",
        bio='<img src="https://evil.example/p.png"> $x$ :red[bio]',
        is_verified=False,
        is_private=False,
        following_count=13,
        history_days=120.0,
        future_days=730.0,
        mean_interval_days=3.0,
        private_videos=1,
        deleted_videos=1,
        median_views=900.0,
        views_sigma=0.7,
        hit_rate=0.0,
        forced_hits=(30.0,),
        yearly_growth=1.2,
        base_followers=300,
        organic_followers_per_day=1.0,
        followers_per_view=0.01,
        colors=("#495057", "#f03e3e"),
        text=HOSTILE_TEXT,
    ),
)


def synthetic_spec(username: str, display_name: str) -> CreatorSpec:
    """A benchmark creator: N public videos about one a day before the anchor (no future posts,
    no private or deleted ones, so video/list returns exactly N)."""
    return CreatorSpec(
        username=username,
        display_name=display_name,
        bio="Synthetic sandbox creator for benchmarks.",
        is_verified=False,
        is_private=False,
        following_count=42,
        history_days=0.0,  # set from N by the world builder
        future_days=0.0,
        mean_interval_days=1.0,
        private_videos=0,
        deleted_videos=0,
        median_views=5_000.0,
        views_sigma=1.0,
        hit_rate=0.01,
        yearly_growth=1.0,
        base_followers=1_000,
        organic_followers_per_day=1.0,
        followers_per_view=0.005,
        colors=("#748ffc", "#f783ac"),
        text=GENERIC_TEXT,
    )
