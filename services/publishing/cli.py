"""`python -m services publish …`: the Publish page's service, rules and pre-flight for scripts
and for large files that should not go through a browser upload.

It never picks a privacy level: ``--privacy`` is required for direct and photo posts, as the
Content Sharing Guidelines require a choice by the user
(https://developers.tiktok.com/doc/content-sharing-guidelines).

Exit codes:

* 0 — posted, or in the creator's TikTok drafts (without ``--wait``: TikTok accepted the post
  and is processing it);
* 1 — not posted: TikTok refused it, or processing failed (the message says why and whether
  posting again is safe);
* 2 — bad input or configuration: nothing was sent (form rule, media pre-flight, unknown
  account, the same post already queued);
* 3 — not settled: still processing at the ``--wait`` deadline (ask again later with
  ``--check JOB``), an upload interrupted (resume it with ``--resume JOB``), or an outcome that
  is unknown (never re-sent: check the TikTok app).

Open ids start with ``-000`` and look like options to argparse: write ``--account=-000…`` or use
``--account @username``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from services.access import cli_actor
from services.db import open_db
from services.errors import ReelboardError
from services.publishing.model import (
    PRIVACY_LABELS,
    AlreadyQueued,
    FileSource,
    PhotoUrls,
    PostRequest,
    PublishError,
    PublishJob,
    UrlSource,
    ValidationFailed,
)

EXIT_POSTED, EXIT_FAILED, EXIT_BAD_INPUT, EXIT_NOT_SETTLED = 0, 1, 2, 3
DEFAULT_DEADLINE_S = 600


def add_publish_parser(sub: Any, fn: Any) -> argparse.ArgumentParser:
    """Register ``publish`` on the CLI's subparsers; ``fn`` runs it."""
    help_ = "Post a video or photos to a connected account, or send a video to its drafts."
    p = sub.add_parser("publish", help=help_, description=help_ + " Exit codes: 0 posted or "
                       "in drafts, 1 not posted, 2 bad input (nothing sent), 3 not settled yet.")
    p.set_defaults(fn=fn)
    p.add_argument("--account", metavar="@USERNAME|OPEN_ID",
                   help="the connected account (open ids start with -000: write --account=-000…)")
    what = p.add_mutually_exclusive_group(required=True)
    what.add_argument("--file", type=Path, metavar="PATH", help="a video file on this server")
    what.add_argument("--url", metavar="URL",
                      help="a video URL on a domain verified for the TikTok app (TikTok pulls it)")
    what.add_argument("--photo-url", action="append", metavar="URL", dest="photo_urls",
                      help="a photo URL (repeat for up to 35 photos; --mode photo)")
    what.add_argument("--resume", type=int, metavar="JOB",
                      help="continue an interrupted upload (never starts a new post)")
    what.add_argument("--check", type=int, metavar="JOB",
                      help="ask TikTok how an earlier post is doing (for cron after a deadline)")
    p.add_argument("--mode", choices=("direct", "draft", "photo"), default="direct",
                   help="direct: post now; draft: send to the creator's TikTok drafts; photo")
    p.add_argument("--privacy", choices=sorted(PRIVACY_LABELS), metavar="LEVEL",
                   help="who can see the post (required for direct and photo; one of the "
                        "creator's options: " + ", ".join(PRIVACY_LABELS) + ")")
    p.add_argument("--caption", default="", help="video caption, or the photo description")
    p.add_argument("--title", default="", help="photo post title (at most 90 characters)")
    p.add_argument("--cover-index", type=int, default=0, help="photo post cover (0-based)")
    p.add_argument("--cover-ms", type=int, metavar="MS", help="video cover frame time")
    p.add_argument("--allow-comment", action="store_true")
    p.add_argument("--allow-duet", action="store_true")
    p.add_argument("--allow-stitch", action="store_true")
    p.add_argument("--brand-organic", action="store_true",
                   help="\"Your brand\": promotes yourself or your own business")
    p.add_argument("--brand-content", action="store_true",
                   help="\"Branded content\": promotes another brand (paid partnership)")
    p.add_argument("--ai-generated", action="store_true", help="label as AI-generated")
    p.add_argument("--wait", action="store_true",
                   help="wait for TikTok's verdict (exit 3 if still processing at the deadline)")
    p.add_argument("--deadline", type=int, default=DEFAULT_DEADLINE_S, metavar="SECONDS",
                   help=f"how long --wait waits (default {DEFAULT_DEADLINE_S})")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    return p


def resolve_account(db: Any, account: str) -> str:
    """``@username`` or an open id → the open id of a connected account (PublishError if none),
    resolved as every command does (``services.cli.resolve_account``)."""
    from services.accounts import list_accounts
    from services.cli import CliUsageError
    from services.cli import resolve_account as resolve

    try:
        return resolve(list_accounts(db), account)
    except CliUsageError as exc:
        raise PublishError(exc.message, step="unknown_account") from None


def build_request(args: argparse.Namespace, open_id: str) -> PostRequest:
    if args.photo_urls:
        source: Any = PhotoUrls(tuple(args.photo_urls), args.cover_index)
    elif args.url:
        source = UrlSource(args.url)
    else:
        source = FileSource(Path(args.file).expanduser().resolve())
    return PostRequest(
        open_id=open_id, mode=args.mode, source=source, caption=args.caption,
        privacy_level=args.privacy, allow_comment=args.allow_comment,
        allow_duet=args.allow_duet, allow_stitch=args.allow_stitch,
        disclose=bool(args.brand_organic or args.brand_content),
        brand_organic=args.brand_organic, brand_content=args.brand_content,
        is_aigc=args.ai_generated, cover_timestamp_ms=args.cover_ms, photo_title=args.title,
    )


def exit_code(job: PublishJob, *, waited: bool) -> int:
    if job.status in ("published", "inbox"):
        return EXIT_POSTED
    if job.status == "processing" and not waited:
        return EXIT_POSTED  # TikTok accepted it; the verdict was not asked for
    if job.status in ("failed", "cancelled"):
        return EXIT_FAILED
    return EXIT_NOT_SETTLED


def report(job: PublishJob, out=None) -> None:
    from services.publishing.service import describe

    out = out or sys.stdout
    outcome = describe(job)
    print(f"job #{job.id}: {outcome.title}", file=out)
    print(outcome.message, file=out)
    if outcome.post_url:
        print(f"link: {outcome.post_url}", file=out)
    if job.status in ("failed", "unknown"):
        print("posting again is safe" if outcome.retry_safe else
              "do not post it again without checking TikTok first", file=out)
    if outcome.log_id:
        print(f"TikTok log id: {outcome.log_id}", file=out)


def publish_from_cli(rt: Any, args: argparse.Namespace, *, on_progress: Any = None,
                     client: Any = None, sleep: Any = None) -> int:
    """Run ``publish``; prints the outcome and returns the exit code (see module docstring)."""
    from services.publishing import service

    extra: dict[str, Any] = {} if sleep is None else {"sleep": sleep}
    try:
        if args.resume is not None:
            job = service.resume_upload(rt, args.resume, actor=cli_actor(),
                                       on_progress=on_progress, client=client)
        elif args.check is not None:
            job = service.refresh_status(rt, args.check, client=client)
        else:
            if not args.account:
                print("--account is required (@username or --account=OPEN_ID).",
                      file=sys.stderr)
                return EXIT_BAD_INPUT
            with open_db(rt.settings.database_path) as db:
                open_id = resolve_account(db, args.account)
            request = build_request(args, open_id)
            creator = service.fetch_creator_info(rt, open_id, client=client)
            if creator.nickname:
                print(f"Posting as {creator.nickname}"
                      + (f" (@{creator.username})" if creator.username else ""))
            job = service.submit(rt, request, creator=creator, on_progress=on_progress,
                                 actor=cli_actor(), client=client)
        if args.wait and not job.is_final and job.status not in ("unknown",) and not (
                job.status == "uploading" and not job.needs_polling):
            job = service.poll_until_settled(rt, job.id, deadline_s=args.deadline,
                                             client=client, **extra)
    except ValidationFailed as exc:
        print("Not sent:", file=sys.stderr)
        for problem in exc.problems:
            print(f"- {problem}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except AlreadyQueued as exc:
        print(exc.message, file=sys.stderr)
        return EXIT_BAD_INPUT
    except PublishError as exc:
        print(f"error ({exc.step}): {exc.message}", file=sys.stderr)
        return EXIT_BAD_INPUT if exc.step in ("unknown_account", "unknown_job") else \
            EXIT_FAILED
    except ReelboardError as exc:
        print(f"error ({exc.step}): {exc.message}", file=sys.stderr)
        return EXIT_FAILED
    report(job)
    return exit_code(job, waited=bool(args.wait))
