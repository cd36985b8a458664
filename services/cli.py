"""`python -m services …`: the same behaviour as the app, for terminals and cron.

Exit codes: 0 success, 1 the work failed (e.g. a sync ended failed/partial), 2 the command
could not start (bad arguments or configuration) — so cron mails you when something is wrong.
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
import sys
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TextIO

from services import redaction
from services.config import load_settings
from services.crypto import CryptoError, DecryptionError, UnknownKeyError
from services.db import sqlite_error_sentence
from services.errors import ConfigError, ReelboardError, StorageError
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


class CliUsageError(ReelboardError):
    """The command line names something that does not exist (exit code 2)."""

    step = "usage"


def _runtime() -> Runtime:
    # A corrupt file, a full disk or a held cache shows first here: start_runtime says it as a
    # StorageError, "could not start" (2).
    return start_runtime(load_settings())


def resolve_account(accounts: Iterable[Any], text: str) -> str:
    """The open_id that ``text`` names: an open_id (``-000…``), ``@username`` or a username.

    Raises CliUsageError with every account listed when nothing, or more than one, matches.
    """
    accounts = list(accounts)
    wanted = (text or "").strip()
    by_id = [a for a in accounts if a.open_id == wanted]
    if by_id:
        return by_id[0].open_id
    name = wanted[1:] if wanted.startswith("@") else wanted
    by_name = [a for a in accounts if name and (a.username or "").casefold() == name.casefold()]
    if len(by_name) == 1:
        return by_name[0].open_id
    listing = "; ".join(f"@{a.username or '-'} ({a.open_id}, {a.status})" for a in accounts)
    why = (f"{len(by_name)} accounts are called {wanted!r}: give the open_id instead"
           if by_name else f"no connected account is {wanted!r}")
    raise CliUsageError(
        f"{why}. Accounts in this cache: {listing or 'none (connect one on the Accounts page)'}."
    )


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
        account = None
        if args.account is not None:
            from services.accounts import list_accounts
            from services.db import open_db

            with open_db(rt.settings.database_path) as db:
                account = resolve_account(list_accounts(db), args.account)
        return sync_from_cli(rt, actor=cli_actor(), account=account, all_accounts=args.all,
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


def cmd_compact(args: argparse.Namespace) -> int:
    from services.retention import compact_from_cli

    rt = _runtime()
    try:
        return compact_from_cli(rt, do_vacuum=args.vacuum)
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
    who.add_argument("--account", metavar="ACCOUNT",
                     help="sync one account: its open_id (-000…) or @username")
    who.add_argument("--all", action="store_true", help="sync every active account")
    sync.add_argument("--quiet", action="store_true", help="no progress output")

    compact = add("compact", cmd_compact,
                  "Thin snapshots older than the retention (REELBOARD_RETENTION, default 365 "
                  "days) to one per ISO week; weekly figures are unchanged.")
    compact.add_argument("--vacuum", action="store_true",
                         help="then rewrite the file to give the freed space back to the disk")

    demo = add("demo-history", cmd_demo_history,
               "Sandbox mode only: build daily history by replaying the real sync over the "
               "sandbox's simulated clock.")
    demo.add_argument("--days", type=int, default=90, help="days of history (default 90)")

    from services.reports.cli import add_report_command

    add_report_command(add)
    from services.publishing.cli import add_publish_parser

    add_publish_parser(sub, cmd_publish)  # exit codes in services/publishing/cli.py
    return parser


#: Options whose value may start with "-": every TikTok open_id does ("-000…"), which argparse
#: would otherwise read as an option. ``--account -000…`` is joined into ``--account=-000…``.
_DASH_VALUE_OPTIONS = ("--account",)


def _join_dash_values(argv: Sequence[str]) -> list[str]:
    out: list[str] = []
    items = list(argv)
    i = 0
    while i < len(items):
        arg = items[i]
        value = items[i + 1] if i + 1 < len(items) else ""
        if arg in _DASH_VALUE_OPTIONS and value.startswith("-") and not value.startswith("--") \
                and value != "-h":
            out.append(f"{arg}={value}")
            i += 2
            continue
        out.append(arg)
        i += 1
    return out


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = build_parser()
    args = parser.parse_args(_join_dash_values(sys.argv[1:] if argv is None else argv))
    if getattr(args, "days", 1) is not None and getattr(args, "days", 1) < 1:
        parser.error("--days must be at least 1")
    return args


def _exit_code(exc: ReelboardError) -> int:
    # By class, not by step name: the key's step is "encryption_key", a corrupt cache's
    # "storage_error". A bad row (DecryptionError) is the work failing, not the installation.
    if isinstance(exc, DecryptionError) and not isinstance(exc, UnknownKeyError):
        return EXIT_FAILED
    if isinstance(exc, ConfigError | CryptoError | StorageError | CliUsageError):
        return EXIT_UNUSABLE
    return EXIT_FAILED


def main(argv: Sequence[str] | None = None) -> int:
    redaction.install(logging.WARNING)
    args = parse_args(argv)
    try:
        return args.fn(args)
    except ReelboardError as exc:
        print(f"error ({exc.step}): {exc.message}", file=sys.stderr)
        return _exit_code(exc)
    except sqlite3.Error as exc:
        from services.config import load_settings as _settings

        try:
            path: Any = _settings().database_path
        except ReelboardError:
            path = "reelboard.db"
        print(f"error (storage_error): {sqlite_error_sentence(exc, path)}", file=sys.stderr)
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # a bug: a sentence and the log, never a traceback on the terminal
        logging.getLogger(__name__).debug("unexpected error", exc_info=True)
        print(f"error (unexpected): {type(exc).__name__}: {redaction.redact(str(exc))}. This is a "
              "Reelboard bug; nothing half-written was kept. Run the command again; if it "
              "repeats, report it with this line.", file=sys.stderr)
        return EXIT_FAILED
