"""`python -m sandbox`: run the TikTok sandbox in the foreground."""

from __future__ import annotations

import argparse
import sys
import threading

from sandbox.server import DEFAULT_CLIENT_KEY, DEFAULT_CLIENT_SECRET, start_sandbox


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m sandbox",
        description="Run the local TikTok Login Kit v2 + Display API sandbox in the foreground.",
    )
    parser.add_argument(
        "--host",
        default="127.0.0.1",
        help="interface to bind (default 127.0.0.1; the sandbox has no auth, keep it on loopback)",
    )
    parser.add_argument("--port", type=int, default=8765, help="port (0 = any free port)")
    parser.add_argument("--seed", type=int, default=7, help="world seed (default 7)")
    parser.add_argument(
        "--state",
        metavar="PATH",
        default=None,
        help="SQLite file for durable state shared with other processes (default: in memory)",
    )
    parser.add_argument(
        "--redirect-uri",
        action="append",
        dest="redirect_uris",
        metavar="URI",
        help="registered redirect URI (repeatable; default http://localhost:8501/accounts)",
    )
    parser.add_argument("--client-key", default=DEFAULT_CLIENT_KEY)
    parser.add_argument("--client-secret", default=DEFAULT_CLIENT_SECRET)
    parser.add_argument("--quiet", action="store_true", help="no access log on stderr")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    redirect_uris = tuple(args.redirect_uris or ("http://localhost:8501/accounts",))
    server = start_sandbox(
        host=args.host,
        port=args.port,
        seed=args.seed,
        state_path=args.state,
        client_key=args.client_key,
        client_secret=args.client_secret,
        redirect_uris=redirect_uris,
    )
    server.access_log = not args.quiet
    print(f"TikTok sandbox running at {server.base_url}")
    print(f"  authorize URL : {server.auth_url}")
    print(f"  API base      : {server.base_url}  (e.g. {server.base_url}/v2/user/info/)")
    print(f"  client_key    : {args.client_key}")
    print(f"  client_secret : {args.client_secret}")
    print(f"  redirect URIs : {', '.join(redirect_uris)}")
    print(f"  state         : {args.state or 'in memory'}")
    print(f"  control API   : {server.base_url}/_sandbox/health  (see sandbox/README.md)")
    print(f"  team sign-in  : {server.base_url}/oidc/.well-known/openid-configuration  "
          "(README 'Team access')")
    print("Press Ctrl-C to stop.", flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        print("\nstopping", file=sys.stderr)
    finally:
        server.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
