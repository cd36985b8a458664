"""`python -m services publish`: the same service and rules as the page, exit codes by outcome."""

from __future__ import annotations

import pytest

from services.cli import build_parser
from services.publishing.cli import publish_from_cli
from tests.media import make_not_a_video, make_video
from tests.services.publishing_support import connect, runtime


@pytest.fixture
def rt(settings, keyring):
    return runtime(settings, keyring)


@pytest.fixture
def luna(db, settings, keyring, sandbox):
    return connect(db, settings, keyring, sandbox, "lunakitchen")


@pytest.fixture
def clip(tmp_path):
    return make_video(tmp_path / "clip.mp4", seconds=1)


def run(rt, client, sandbox, *argv):
    args = build_parser().parse_args(["publish", *argv])
    return publish_from_cli(rt, args, client=client, sleep=sandbox.advance)


def inits(sandbox):
    return [e for e in sandbox.requests() if "/init/" in e.get("path", "")]


def test_direct_post_with_wait_exits_0_and_prints_the_outcome(
    rt, luna, clip, client, sandbox, capsys
):
    code = run(
        rt,
        client,
        sandbox,
        "--account",
        "@lunakitchen",
        "--file",
        str(clip),
        "--privacy",
        "PUBLIC_TO_EVERYONE",
        "--caption",
        "From the CLI",
        "--wait",
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "Posting as" in out and "Posted to @lunakitchen" in out
    assert len(inits(sandbox)) == 1


def test_open_id_with_a_leading_dash_and_draft_mode(rt, luna, clip, client, sandbox, capsys):
    code = run(
        rt, client, sandbox, f"--account={luna}", "--file", str(clip), "--mode", "draft", "--wait"
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "drafts" in out and "notification in the TikTok app" in out


def test_it_never_picks_a_privacy_level(rt, luna, clip, client, sandbox, capsys):
    code = run(rt, client, sandbox, "--account", "@lunakitchen", "--file", str(clip))
    assert code == 2
    assert "no default" in capsys.readouterr().err
    assert inits(sandbox) == []


def test_a_png_named_mp4_is_refused_before_any_call(rt, luna, client, sandbox, tmp_path, capsys):
    fake = make_not_a_video(tmp_path / "fake.mp4")
    code = run(
        rt,
        client,
        sandbox,
        "--account",
        "@lunakitchen",
        "--file",
        str(fake),
        "--privacy",
        "SELF_ONLY",
    )
    assert code == 2
    assert "PNG image" in capsys.readouterr().err
    assert inits(sandbox) == []


def test_unknown_account_exits_2(rt, luna, clip, client, sandbox, capsys):
    code = run(
        rt, client, sandbox, "--account", "@nobody", "--file", str(clip), "--privacy", "SELF_ONLY"
    )
    assert code == 2 and "no connected account is" in capsys.readouterr().err


def test_a_second_run_is_already_queued(rt, luna, clip, client, sandbox, capsys):
    sandbox.config(processing_delay_s=3600)
    argv = ("--account", "@lunakitchen", "--file", str(clip), "--privacy", "SELF_ONLY")
    assert run(rt, client, sandbox, *argv) == 0  # accepted, processing (no --wait)
    assert run(rt, client, sandbox, *argv) == 2
    assert "already queued" in capsys.readouterr().err
    assert len(inits(sandbox)) == 1


def test_still_processing_at_the_deadline_exits_3(rt, luna, clip, client, sandbox, capsys):
    sandbox.config(processing_delay_s=3600)
    code = run(
        rt,
        client,
        sandbox,
        "--account",
        "@lunakitchen",
        "--file",
        str(clip),
        "--privacy",
        "SELF_ONLY",
        "--wait",
        "--deadline",
        "30",
    )
    assert code == 3
    assert "processing" in capsys.readouterr().out
    # Later (cron): --check asks once more and settles it, without posting anything again.
    sandbox.advance(3600)
    assert run(rt, client, sandbox, "--check", "1") == 0
    assert "Posted to @lunakitchen" in capsys.readouterr().out
    assert len(inits(sandbox)) == 1


def test_refused_by_tiktok_exits_1(rt, luna, client, sandbox, capsys):
    code = run(
        rt,
        client,
        sandbox,
        "--account",
        "@lunakitchen",
        "--url",
        "https://localhost:1/v.mp4",
        "--privacy",
        "SELF_ONLY",
    )
    out = capsys.readouterr().out
    assert code == 1
    assert "verified" in out and "TikTok log id" in out


def test_account_is_required(rt, luna, clip, client, sandbox, capsys):
    assert run(rt, client, sandbox, "--file", str(clip), "--privacy", "SELF_ONLY") == 2
