"""A 1 GB upload to the sandbox: Reelboard's memory and throughput against a bare PUT loop.

    python -m bench.upload_bench              # 1 GiB file, 5 rounds of each (about a minute)
    python -m bench.upload_bench --quick      # 256 MiB, 2 rounds
    python -m bench.upload_bench --size-mb 2048

What is measured, each round in a fresh child process (so one variant's peak memory cannot hide
in the other's):

* **Reelboard**: ``services.publishing.submit`` of a real MP4 padded to the size with a ``free``
  box (sparse on disk), direct post. Timed from the end of the file's SHA-256 (pre-flight work
  a bare loop does not do) to the last chunk's acknowledgement: intent row, init, every chunk
  streamed from disk with its database acknowledgement. Peak RSS growth: the kernel's peak mark
  (``VmHWM``) is reset to the current RSS just before ``submit`` (``/proc/self/clear_refs``),
  and growth is the peak after the whole submit (probe, hash, init, upload) minus that RSS.
* **Bare loop** (the best simple alternative): the same init, then each chunk read into memory
  with ``f.read(chunk)`` and sent with ``requests.put`` — no pre-flight, no database.

Targets (Publishing issue): Reelboard's peak RSS growth < 100 MB; its upload throughput at
least 0.8 x the bare loop's (ratio = median bare time / median Reelboard time over the
rounds, alternating which goes first). The sandbox runs as a separate process on loopback
(``python -m sandbox``), as TikTok is a separate server. Writes ``bench/results/upload.json``.
"""

from __future__ import annotations

import argparse
import json
import platform
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import requests

RESULTS_PATH = Path(__file__).resolve().parent / "results" / "upload.json"
REDIRECT_URI = "http://localhost:8501/accounts"
ROOT = Path(__file__).resolve().parent.parent
TARGET_RSS_MB = 100
TARGET_RATIO = 0.8
MiB = 1024 * 1024


def _status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024  # kB
    except OSError:
        pass
    return None


def _start_peak() -> float:
    """Reset the kernel's peak-RSS mark to the current RSS (Linux ``clear_refs`` 5) and return
    the current RSS, so the peak read afterwards belongs to the measured work alone."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    current = _status_mb("VmRSS")
    return current if current is not None else _peak_rss_mb()


def _peak_rss_mb() -> float:
    peak = _status_mb("VmHWM")
    if peak is not None:
        return peak
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # Linux: KiB


def make_media(path: Path, size: int) -> Path:
    """A real 1 s H.264 MP4 followed by a sparse `free` box up to ``size`` bytes."""
    sys.path.insert(0, str(ROOT))
    from tests.media import make_video

    make_video(path, seconds=1)
    pad = size - path.stat().st_size
    with path.open("ab") as fh:
        fh.write(pad.to_bytes(4, "big") + b"free")
        fh.truncate(size)
    return path


# -- children ----------------------------------------------------------------------------------


def _settings(spec: dict[str, Any]):
    from services.config import Settings

    return Settings(
        mode="sandbox",
        client_key=spec["client_key"],
        client_secret=spec["client_secret"],
        redirect_uri=REDIRECT_URI,
        auth_url=spec["base"] + "/v2/auth/authorize/",
        api_base_url=spec["base"],
        data_dir=Path(spec["data_dir"]),
    )


def child_reelboard(spec: dict[str, Any]) -> dict[str, Any]:
    from services.access import LOCAL_ACTOR
    from services.crypto import load_keyring
    from services.db import open_db
    from services.publishing import FileSource, PostRequest, fetch_creator_info, submit
    from services.runtime import Runtime

    settings = _settings(spec)
    with open_db(settings.database_path) as db:
        keyring = load_keyring(settings, db)
    rt = Runtime(settings=settings, keyring=keyring)
    creator = fetch_creator_info(rt, spec["open_id"])
    marks: dict[str, float] = {}

    def on_progress(done: int, total: int | None, message: str) -> None:
        now = time.perf_counter()
        if message == "Checking the file" and done == total:
            marks["hashed"] = now
        if message.startswith("Uploaded part") and done == total:
            marks["uploaded"] = now

    request = PostRequest(
        open_id=spec["open_id"],
        mode="direct",
        source=FileSource(Path(spec["path"])),
        caption=f"bench round {spec['round']}",
        privacy_level="SELF_ONLY",
    )
    before = _start_peak()
    started = time.perf_counter()
    job = submit(rt, request, creator=creator, on_progress=on_progress, actor=LOCAL_ACTOR)
    total_s = time.perf_counter() - started
    growth = _peak_rss_mb() - before
    if job.status != "processing" or "uploaded" not in marks:
        raise SystemExit(f"upload did not complete: {job.status} {job.error_message}")
    return {
        "upload_s": marks["uploaded"] - marks["hashed"],
        "submit_s": total_s,
        "rss_growth_mb": growth,
        "bytes": job.uploaded_bytes,
    }


def child_bare(spec: dict[str, Any]) -> dict[str, Any]:
    from services.accounts import get_access_token
    from services.crypto import load_keyring
    from services.db import open_db
    from services.publishing import plan_chunks
    from services.tiktok.client import TikTokClient

    settings = _settings(spec)
    with open_db(settings.database_path) as db:
        keyring = load_keyring(settings, db)
        token = get_access_token(db, TikTokClient.from_settings(settings), keyring, spec["open_id"])
    path = Path(spec["path"])
    size = path.stat().st_size
    plan = plan_chunks(size)
    http = requests.Session()
    before = _start_peak()
    started = time.perf_counter()
    answer = http.post(
        spec["base"] + "/v2/post/publish/video/init/",
        timeout=60,
        json={
            "post_info": {"privacy_level": "SELF_ONLY", "title": f"bare {spec['round']}"},
            "source_info": {
                "source": "FILE_UPLOAD",
                "video_size": size,
                "chunk_size": plan.chunk_size,
                "total_chunk_count": plan.total_chunk_count,
            },
        },
        headers={"Authorization": f"Bearer {token}"},
    ).json()
    url = answer["data"]["upload_url"]
    with path.open("rb") as fh:
        for chunk in plan.chunks():
            body = fh.read(chunk.length)
            r = http.put(
                url,
                data=body,
                timeout=600,
                headers={"Content-Type": "video/mp4", "Content-Range": chunk.content_range},
            )
            if r.status_code not in (201, 206):
                raise SystemExit(f"bare PUT failed: {r.status_code}")
            del body
    upload_s = time.perf_counter() - started
    return {"upload_s": upload_s, "rss_growth_mb": _peak_rss_mb() - before, "bytes": size}


# -- driver ------------------------------------------------------------------------------------


class Sandbox:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "sandbox",
                "--port",
                "0",
                "--quiet",
                "--redirect-uri",
                REDIRECT_URI,
            ],
            stdout=subprocess.PIPE,
            text=True,
            cwd=ROOT,
        )
        assert self.process.stdout is not None
        first = self.process.stdout.readline()
        match = re.search(r"running at (\S+)", first)
        if not match:
            self.process.kill()
            raise RuntimeError(f"the sandbox did not start: {first!r}")
        self.base = match.group(1)
        self.http = requests.Session()

    def control(self, method: str, path: str, body: Any = None) -> Any:
        response = self.http.request(method, self.base + path, json=body, timeout=60)
        response.raise_for_status()
        return response.json()

    def close(self) -> None:
        self.http.close()
        self.process.terminate()
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()


def connect(sb: Sandbox, data_dir: Path) -> tuple[dict[str, Any], str]:
    from sandbox import DEFAULT_CLIENT_KEY, DEFAULT_CLIENT_SECRET
    from services.access import LOCAL_ACTOR
    from services.accounts import complete_connect, start_connect
    from services.crypto import load_keyring
    from services.db import open_db
    from services.tiktok.client import TikTokClient

    spec = {
        "client_key": DEFAULT_CLIENT_KEY,
        "client_secret": DEFAULT_CLIENT_SECRET,
        "base": sb.base,
        "data_dir": str(data_dir),
    }
    settings = _settings(spec)
    scopes = ["user.info.basic", "video.publish", "video.upload"]
    with open_db(settings.database_path, migrate=True) as db:
        keyring = load_keyring(settings, db)
        url = start_connect(db, settings, keyring, scopes=scopes, actor=LOCAL_ACTOR)
        answer = sb.control(
            "POST",
            "/_sandbox/consent",
            {"authorize_url": url, "creator": "lunakitchen", "approve": True, "scopes": scopes},
        )
        params = parse_qs(urlsplit(answer["redirect_url"]).query, keep_blank_values=True)
        client = TikTokClient.from_settings(settings)
        account = complete_connect(
            db, client, keyring, params, redirect_uri=REDIRECT_URI, actor=LOCAL_ACTOR
        )
        client.session.close()
    return spec, account.open_id


def run_child(kind: str, spec: dict[str, Any]) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, "-m", "bench.upload_bench", "--child", kind, "--spec", json.dumps(spec)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"{kind} child failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m bench.upload_bench",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--quick", action="store_true", help="256 MiB, 2 rounds")
    parser.add_argument("--size-mb", type=int, default=None, help="file size in MiB (1024)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds of each (5)")
    parser.add_argument("--output", type=Path, default=RESULTS_PATH)
    parser.add_argument("--child", choices=("reelboard", "bare"), help=argparse.SUPPRESS)
    parser.add_argument("--spec", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        spec = json.loads(args.spec)
        result = (child_reelboard if args.child == "reelboard" else child_bare)(spec)
        print(json.dumps(result))
        return 0
    size = (args.size_mb or (256 if args.quick else 1024)) * MiB
    rounds = args.rounds or (2 if args.quick else 5)

    reelboard: list[dict[str, Any]] = []
    bare: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="reelboard-upload-bench-") as tmp:
        sb = Sandbox()
        try:
            sb.control(
                "POST",
                "/_sandbox/config",
                {
                    "post_init_per_minute": 100_000,
                    "creator_info_per_minute": 100_000,
                    "status_per_minute": 100_000,
                    "posts_per_day": 100_000,
                },
            )
            spec, open_id = connect(sb, Path(tmp) / "data")
            media = make_media(Path(tmp) / "big.mp4", size)
            for n in range(rounds):
                child_spec = {**spec, "open_id": open_id, "path": str(media), "round": n}
                order = ("reelboard", "bare") if n % 2 == 0 else ("bare", "reelboard")
                for kind in order:
                    result = run_child(kind, child_spec)
                    (reelboard if kind == "reelboard" else bare).append(result)
                    print(
                        f"round {n + 1} {kind:<9} {result['upload_s']:.2f} s "
                        f"({size / MiB / result['upload_s']:.0f} MiB/s), "
                        f"peak RSS +{result['rss_growth_mb']:.1f} MB",
                        flush=True,
                    )
        finally:
            sb.close()

    ratios = [b["upload_s"] / r["upload_s"] for r, b in zip(reelboard, bare, strict=True)]
    # Median time over median time: one slow round (a neighbour taking the shared cores) moves
    # a per-pair ratio a lot and this one little.
    ratio = statistics.median(b["upload_s"] for b in bare) / statistics.median(
        r["upload_s"] for r in reelboard
    )
    rss = max(r["rss_growth_mb"] for r in reelboard)
    summary = {
        "size_bytes": size,
        "rounds": rounds,
        "reelboard_upload_s": [round(r["upload_s"], 3) for r in reelboard],
        "reelboard_submit_s": [round(r["submit_s"], 3) for r in reelboard],
        "bare_upload_s": [round(b["upload_s"], 3) for b in bare],
        "throughput_ratio": round(ratio, 3),
        "per_round_ratio": {
            "min": round(min(ratios), 3),
            "median": round(statistics.median(ratios), 3),
            "max": round(max(ratios), 3),
        },
        "reelboard_rss_growth_mb": [round(r["rss_growth_mb"], 1) for r in reelboard],
        "bare_rss_growth_mb": [round(b["rss_growth_mb"], 1) for b in bare],
        "meets_rss_target": rss < TARGET_RSS_MB,
        "meets_ratio_target": ratio >= TARGET_RATIO,
    }
    print(
        f"\nthroughput ratio (median bare time / median Reelboard time): {ratio:.2f}  "
        f"target >= {TARGET_RATIO}  {'ok' if ratio >= TARGET_RATIO else 'MISSED'}  "
        f"(per round: min {min(ratios):.2f}, median {statistics.median(ratios):.2f}, "
        f"max {max(ratios):.2f})"
    )
    print(
        f"Reelboard peak RSS growth: max {rss:.1f} MB  target < {TARGET_RSS_MB} MB  "
        f"{'ok' if rss < TARGET_RSS_MB else 'MISSED'}"
    )
    document = {
        "benchmark": "upload",
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "sandbox": "separate process on loopback",
        "results": summary,
        "python": platform.python_version(),
        "machine": platform.machine(),
    }
    args.output.parent.mkdir(parents=True, exist_ok=True)
    args.output.write_text(json.dumps(document, indent=2) + "\n")
    print(f"Wrote {args.output}")
    return 0 if summary["meets_rss_target"] and summary["meets_ratio_target"] else 1


if __name__ == "__main__":
    sys.exit(main())
