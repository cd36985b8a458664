"""Every CLI command has help (the sqlite-utils habit: tests/test_docs.py)."""

from __future__ import annotations

import subprocess
import sys

import pytest

from services.cli import build_parser


def _commands():
    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name, p in sub.choices.items():
        nested = [a for a in p._actions if getattr(a, "choices", None) and a.dest.endswith(
            "_command")]
        if nested:
            for child in nested[0].choices:
                yield [name, child]
        else:
            yield [name]


@pytest.mark.parametrize("command", list(_commands()), ids=" ".join)
def test_every_command_has_help(command, capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args([*command, "--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    assert "usage:" in out and len(out.splitlines()) >= 3


def test_module_entry_point_runs():
    result = subprocess.run([sys.executable, "-m", "services", "--help"],
                            capture_output=True, text=True, check=False)
    assert result.returncode == 0
    assert "sync" in result.stdout and "demo-history" in result.stdout


def test_bad_arguments_exit_2(capsys):
    with pytest.raises(SystemExit) as exit_info:
        build_parser().parse_args(["sync"])  # needs --account or --all
    assert exit_info.value.code == 2


def test_progress_bar_is_quiet_in_logs():
    import io

    from services.cli import ProgressBar

    out = io.StringIO()
    bar = ProgressBar(out)
    for done in range(0, 101):
        bar(done, 100, f"{done} videos")
    lines = out.getvalue().splitlines()
    assert lines == ["25/100 25 videos", "50/100 50 videos", "75/100 75 videos",
                     "100/100 100 videos"]
