"""`python -m services …`: the same behaviour as the app, for terminals and cron.

Exit codes: 0 success, 1 the work failed (e.g. a sync ended failed/partial), 2 the command
could not start (bad arguments or configuration) — so cron mails you when something is wrong.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Callable, Sequence
from typing import TextIO

from services import redaction
from services.config import load_settings
from services.errors import ReelboardError
from services.runtime import Runtime, start_runtime

EXIT_OK, EXIT_FAILED, EXIT_UNUSABLE = 0, 1, 2


class ProgressBar:
    """A terminal bar for ``on_progress(done, total, message)`` callbacks (plain lines if not a
    TTY, so cron logs stay readable)."""

    def __init__(self, stream: TextIO | None = None, width: int = 30):
        self.stream = stream or sys.stderr
        self.width = width
        self.tty = self.stream.isatty()
        self._quarter = 0

    def __call__(self, done: int, total: int | None, message: str = "") -> None:
        if self.tty and total:
            filled = int(self.width * min(done, total) / total)
            bar = "█" * filled + "·" * (self.width - filled)
            self.stream.write(f"\r[{bar}] {done}/{total} {message[:60]:<60}")
            if done >= total:
                self.stream.write("\n")
            self.stream.flush()
        elif not self.tty:
            # Cron logs: a line per quarter of the work, not one per page.
            quarter = int(4 * min(done, total) / total) if total else 0
            if quarter > self._quarter or (total and done >= total and quarter == 4):
                self._quarter = quarter
                count = f"{done}/{total}" if total else str(done)
                self.stream.write(f"{count} {message}\n")
                self.stream.flush()


def _runtime() -> Runtime:
    return start_runtime(load_settings())


def cmd_scopes_check(args: argparse.Namespace) -> int:
    from services.tiktok.scopes import check_bundles

    ok, lines = check_bundles()
    for line in lines:
        print(line)
    return EXIT_OK if ok else EXIT_FAILED


def cmd_generate_key(args: argparse.Namespace) -> int:
    from services.crypto import generate_key

    print(generate_key())
    return EXIT_OK


def cmd_rotate_key(args: argparse.Namespace) -> int:
    from services.access import audited, cli_actor
    from services.crypto import generate_key, load_keyring, rotate_key
    from services.db import open_db

    rt = _runtime()
    try:
        with open_db(rt.settings.database_path) as db, \
                audited(db, cli_actor(), "rotate_key") as event:
            keyring = load_keyring(rt.settings, db)
            if keyring.key_file is None and not args.new_key:
                # Keys from REELBOARD_ENCRYPTION_KEYS: Reelboard cannot save a new key there,
                # so it re-encrypts to the first key of the variable (put the new one first).
                new_key = None
            else:
                new_key = args.new_key or generate_key()  # saved to secret.key before use
            result = rotate_key(db, keyring, new_key, on_progress=ProgressBar())
            event.details["summary"] = result.summary()
        print(result.summary())
        return EXIT_OK
    finally:
        rt.stop()


def cmd_sync(args: argparse.Namespace) -> int:
    from services.access import cli_actor
    from services.sync import sync_from_cli

    rt = _runtime()
    try:
        return sync_from_cli(rt, actor=cli_actor(), account=args.account, all_accounts=args.all,
                             on_progress=None if args.quiet else ProgressBar())
    finally:
        rt.stop()


def cmd_demo_history(args: argparse.Namespace) -> int:
    from services.access import cli_actor
    from services.demo_history import demo_history_from_cli

    rt = _runtime()
    try:
        return demo_history_from_cli(rt, actor=cli_actor(), days=args.days,
                                     on_progress=ProgressBar())
    finally:
        rt.stop()


def cmd_accounts(args: argparse.Namespace) -> int:
    from services.accounts import list_accounts
    from services.db import open_db

    rt = _runtime()
    try:
        with open_db(rt.settings.database_path) as db:
            accounts = list_accounts(db)
        if not accounts:
            print("No accounts connected. Connect one on the app's Accounts page.")
        for a in accounts:
            print(f"{a.open_id}\t@{a.username or '-'}\t{a.display_name}\t{a.status}\t"
                  f"{','.join(sorted(a.granted_scopes))}")
        return EXIT_OK
    finally:
        rt.stop()


def cmd_check(args: argparse.Namespace) -> int:
    rt = _runtime()
    try:
        s = rt.settings
        print(f"mode: {s.mode}\ndata dir: {s.data_dir}\nAPI: {s.api_base_url}\n"
              f"redirect URI: {s.redirect_uri}\ntimezone: {s.timezone}\nconfiguration OK")
        return EXIT_OK
    finally:
        rt.stop()


def cmd_publish(args: argparse.Namespace) -> int:
    from services.publishing.cli import publish_from_cli

    rt = _runtime()
    try:
        return publish_from_cli(rt, args, on_progress=None if args.quiet else ProgressBar())
    finally:
        rt.stop()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m services",
        description="Reelboard from the command line (same configuration as the app).",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def add(name: str, fn: Callable[[argparse.Namespace], int], help_: str):
        p = sub.add_parser(name, help=help_, description=help_)
        p.set_defaults(fn=fn)
        return p

    scopes = sub.add_parser("scopes", help="Inspect the TikTok scopes Reelboard requests.",
                            description="Inspect the TikTok scopes Reelboard requests.")
    scopes_sub = scopes.add_subparsers(dest="scopes_command", required=True, metavar="ACTION")
    check = scopes_sub.add_parser(
        "check", help="Validate the feature scope bundles against TikTok's v2 catalogue.",
        description="Validate the feature scope bundles against TikTok's v2 catalogue.")
    check.set_defaults(fn=cmd_scopes_check)

    add("check", cmd_check, "Check the configuration and the cache, then exit.")
    add("accounts", cmd_accounts, "List connected accounts and their status.")
    add("generate-key", cmd_generate_key,
        "Print a new random encryption key for REELBOARD_ENCRYPTION_KEYS.")
    rotate = add("rotate-key", cmd_rotate_key,
                 "Re-encrypt every stored token under a new key (resumable: re-run if stopped).")
    rotate.add_argument("--new-key", help="base64 32-byte key to rotate to (default: generate)")

    sync = add("sync", cmd_sync, "Snapshot stats and videos of connected accounts (cron-safe).")
    who = sync.add_mutually_exclusive_group(required=True)
    who.add_argument("--account", metavar="OPEN_ID", help="sync one account")
    who.add_argument("--all", action="store_true", help="sync every active account")
    sync.add_argument("--quiet", action="store_true", help="no progress output")

    demo = add("demo-history", cmd_demo_history,
               "Sandbox mode only: build daily history by replaying the real sync over the "
               "sandbox's simulated clock.")
    demo.add_argument("--days", type=int, default=90, help="days of history (default 90)")

    from services.reports.cli import add_report_command

    add_report_command(add)
    from services.publishing.cli import add_publish_parser

    add_publish_parser(sub, cmd_publish)  # exit codes in services/publishing/cli.py
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    redaction.install(logging.WARNING)
    parser = build_parser()
    args = parser.parse_args(argv)
    if getattr(args, "days", 1) is not None and getattr(args, "days", 1) < 1:
        parser.error("--days must be at least 1")
    try:
        return args.fn(args)
    except ReelboardError as exc:
        print(f"error ({exc.step}): {exc.message}", file=sys.stderr)
        return EXIT_UNUSABLE if exc.step in ("configuration", "encryption") else EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
