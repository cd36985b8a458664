"""Narrow screens: our own CSS, injected once per run, hooked on containers' keys.

Streamlit stacks every ``st.columns`` row one column per line below 640 px, so eight KPI cards
become eight screens of scrolling. Containers given a key carry the class ``st-key-<key>``;
the rules below act only inside containers whose key starts with one of our prefixes, so no
other part of the app changes. The CSS is a constant of this module (never built from outside
text).

For pages:

* ``card_grid(key)`` — a container whose ``st.columns`` rows wrap two cards per line on phones.
* ``by_width(key)`` — ``(wide, narrow)`` containers: the first shows above 640 px, the second
  below (e.g. a table with fewer columns for phones). Both are sent; CSS picks one.
"""

from __future__ import annotations

import streamlit as st

#: Streamlit's own breakpoint for stacking columns (its theme's "md" width).
NARROW_MAX_PX = 640
CARD_PREFIX = "rb-cards-"
WIDE_PREFIX = "rb-wide-"
NARROW_PREFIX = "rb-narrow-"

CSS = f"""
<style>
@media (max-width: {NARROW_MAX_PX}px) {{
  [class*="st-key-{CARD_PREFIX}"] [data-testid="stHorizontalBlock"] {{
    flex-direction: row !important;
    flex-wrap: wrap !important;
    gap: 0.5rem !important;
  }}
  [class*="st-key-{CARD_PREFIX}"] [data-testid="stHorizontalBlock"] > [data-testid="stColumn"] {{
    flex: 1 1 calc(50% - 0.25rem) !important;
    width: calc(50% - 0.25rem) !important;
    min-width: calc(50% - 0.25rem) !important;
    max-width: calc(50% - 0.25rem) !important;
  }}
  [class*="st-key-{CARD_PREFIX}"] [data-testid="stMetric"] {{
    padding: 0.5rem 0.6rem !important;
  }}
  [class*="st-key-{CARD_PREFIX}"] [data-testid="stMetricValue"] {{
    font-size: 1.35rem !important;
  }}
  [class*="st-key-{CARD_PREFIX}"] [data-testid="stMetricLabel"] p {{
    font-size: 0.8rem !important;
  }}
  [class*="st-key-{WIDE_PREFIX}"] {{ display: none !important; }}
}}
@media (min-width: {NARROW_MAX_PX + 1}px) {{
  [class*="st-key-{NARROW_PREFIX}"] {{ display: none !important; }}
}}
</style>
"""


def inject_css() -> None:
    """Once per run, from the app shell (the sidebar): the rules above for every page."""
    st.html(CSS)


def card_grid(key: str):
    """A container whose columns wrap two per line on narrow screens."""
    return st.container(key=f"{CARD_PREFIX}{key}")


def by_width(key: str):
    """``(wide, narrow)`` containers; CSS shows the first on wide screens, the second on
    narrow ones."""
    return st.container(key=f"{WIDE_PREFIX}{key}"), st.container(key=f"{NARROW_PREFIX}{key}")
