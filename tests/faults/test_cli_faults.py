"""Fault suite, issue 11 item 6: the CLI takes every open_id, and every failure ends with a
sentence and the documented exit code (0 ok, 1 the work failed, 2 could not start), never a
traceback."""

from __future__ import annotations

import sqlite3

import pytest

from services import cli
from services.cli import EXIT_FAILED, EXIT_UNUSABLE, parse_args, resolve_account
from services.db import open_db

OPEN_ID = "-000AbCdEfGhIjKlMnOpQrStUvWxYz0123456"  # the shape of every real open_id


@pytest.mark.parametrize("argv", [
    ["sync", "--account", OPEN_ID],
    ["sync", f"--account={OPEN_ID}"],
    ["sync", "--quiet", "--account", OPEN_ID],
    ["sync", "--account", OPEN_ID, "--quiet"],
])
def test_an_open_id_starting_with_a_dash_is_accepted(argv):
    args = parse_args(argv)
    assert args.account == OPEN_ID


def test_a_username_is_accepted():
    assert parse_args(["sync", "--account", "@lunakitchen"]).account == "@lunakitchen"


def test_a_missing_account_value_is_still_a_usage_error(capsys):
    with pytest.raises(SystemExit) as exit_info:
        parse_args(["sync", "--account"])
    assert exit_info.value.code == EXIT_UNUSABLE


class _Acc:
    def __init__(self, open_id, username, display_name="", status="active"):
        self.open_id, self.username, self.display_name, self.status = (
            open_id, username, display_name, status)


ACCOUNTS = [_Acc(OPEN_ID, "lunakitchen", "Luna"), _Acc("-000other", "quietpotter", "Quiet"),
            _Acc("-000twin1", "twin"), _Acc("-000twin2", "Twin")]


@pytest.mark.parametrize("text, expected", [
    (OPEN_ID, OPEN_ID), (f" {OPEN_ID} ", OPEN_ID), ("@lunakitchen", OPEN_ID),
    ("@LunaKitchen", OPEN_ID), ("quietpotter", "-000other"),
])
def test_resolve_account(text, expected):
    assert resolve_account(ACCOUNTS, text) == expected


@pytest.mark.parametrize("text", ["@nobody", "-000nope", "@twin", ""])
def test_unknown_or_ambiguous_accounts_list_the_choices(text):
    with pytest.raises(cli.CliUsageError) as info:
        resolve_account(ACCOUNTS, text)
    message = str(info.value)
    assert "@lunakitchen" in message and OPEN_ID in message and "@quietpotter" in message


def _seed_account(settings_path, open_id=OPEN_ID, username="lunakitchen"):
    with open_db(settings_path, migrate=True) as db:
        db.execute(
            "INSERT INTO accounts (open_id, username, display_name, status, connected_at, "
            "updated_at) VALUES (?, ?, 'Luna', 'active', 0, 0)", [open_id, username])


def test_sync_of_an_unknown_account_exits_2_with_the_list(tmp_path, capsys):
    _seed_account(tmp_path / "data" / "reelboard.db")
    code = cli.main(["sync", "--account", "-000unknown", "--quiet"])
    err = capsys.readouterr().err
    assert code == EXIT_UNUSABLE
    assert "-000unknown" in err and "@lunakitchen" in err and OPEN_ID in err
    assert "Traceback" not in err


def test_a_bad_key_exits_2(monkeypatch, capsys):
    monkeypatch.setenv("REELBOARD_ENCRYPTION_KEYS", "not-a-key")
    assert cli.main(["check"]) == EXIT_UNUSABLE
    err = capsys.readouterr().err
    assert "32-byte key" in err and "Traceback" not in err


def test_a_corrupt_cache_exits_2_and_is_not_overwritten(tmp_path, capsys):
    path = tmp_path / "data" / "reelboard.db"
    path.parent.mkdir(parents=True)
    garbage = b"this is not a database" * 300
    path.write_bytes(garbage)
    assert cli.main(["accounts"]) == EXIT_UNUSABLE
    err = capsys.readouterr().err
    assert "reelboard.db" in err and "Traceback" not in err
    assert path.read_bytes() == garbage


def test_disk_full_mid_command_ends_with_a_sentence_and_exit_1(monkeypatch, capsys):
    import services.accounts

    def full(db):
        raise sqlite3.OperationalError("database or disk is full")
    monkeypatch.setattr(services.accounts, "list_accounts", full)
    assert cli.main(["accounts"]) == EXIT_FAILED
    err = capsys.readouterr().err
    assert "full" in err and "free" in err.lower() and "Traceback" not in err


def test_disk_full_at_start_exits_2(monkeypatch, capsys):
    import services.runtime

    def full(db):
        raise sqlite3.OperationalError("database or disk is full")
    monkeypatch.setattr(services.runtime, "apply_migrations", full)
    assert cli.main(["check"]) == EXIT_UNUSABLE
    err = capsys.readouterr().err
    assert "full" in err and "Traceback" not in err


def test_a_cache_held_by_another_process_at_start_exits_2_with_why(tmp_path, monkeypatch,
                                                                    capsys):
    # E.g. the app upgrading a big cache (a minute or two) when a cron sync starts.
    import services.db

    monkeypatch.setenv("REELBOARD_DATA_DIR", str(tmp_path / "data"))
    assert cli.main(["check"]) == 0
    capsys.readouterr()
    with open_db(tmp_path / "data" / "reelboard.db") as holder:
        holder.conn.execute("BEGIN IMMEDIATE")  # what a migration in progress holds
        monkeypatch.setattr(services.db, "BUSY_TIMEOUT_MS", 100)  # not 5 s in a test
        assert cli.main(["check"]) == EXIT_UNUSABLE
        holder.conn.execute("ROLLBACK")
    err = capsys.readouterr().err
    assert "Another Reelboard process is holding the cache" in err
    assert "Traceback" not in err


def test_an_unexpected_error_is_a_sentence_not_a_traceback(monkeypatch, capsys):
    import services.accounts

    def bug(db):
        raise KeyError("surprise")
    monkeypatch.setattr(services.accounts, "list_accounts", bug)
    assert cli.main(["accounts"]) == EXIT_FAILED
    err = capsys.readouterr().err
    assert "KeyError" in err and "Traceback" not in err
