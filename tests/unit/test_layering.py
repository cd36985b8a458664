"""the architecture notes in README.md layer rules, checked on the source: services/ never imports
streamlit; pages/
never talk HTTP or SQL directly; there is no dashboard/pages/ folder."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_services_never_import_streamlit():
    offenders = [
        str(p.relative_to(ROOT)) for p in (ROOT / "services").rglob("*.py")
        if "streamlit" in _imports(p)
    ]
    assert offenders == []


def test_pages_do_not_talk_http_or_sql():
    banned = {"requests", "sqlite3", "sqlite_utils", "urllib", "http"}
    offenders = {
        str(p.relative_to(ROOT)): sorted(_imports(p) & banned)
        for p in (ROOT / "pages").glob("*.py")
        if _imports(p) & banned
    }
    assert offenders == {}


def test_no_dashboard_pages_folder():
    # A dashboard/pages/ folder would switch Streamlit to its legacy auto-discovery.
    assert not (ROOT / "dashboard" / "pages").exists()


def test_layering_check_detects_a_violation(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("import streamlit as st\nfrom streamlit import session_state\n")
    assert "streamlit" in _imports(bad)
