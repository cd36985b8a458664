"""`python -m bench` (make bench): every benchmark, results in bench/results/*.json."""

from __future__ import annotations

import sys

from bench import queries_bench, report_bench, sync_bench, upload_bench


def main(argv: list[str]) -> int:
    quick = ["--quick"] if "--quick" in argv else []
    codes = [sync_bench.main(quick)]
    codes.append(queries_bench.main(["--videos", "2000", "--days", "90"] if quick else []))
    codes.append(report_bench.main(["--videos", "1000", "--days", "60"] if quick else []))
    codes.append(upload_bench.main(quick))
    return max(codes)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
