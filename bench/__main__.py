"""`python -m bench` (make bench): every benchmark, results in bench/results/*.json, then one
summary of the issue's targets with ✓/✗ (bench.targets: a benchmark adds its rows with
``targets.record``; add a new benchmark to BENCHES)."""

from __future__ import annotations

import sys
from collections.abc import Callable

from bench import (
    browser_bench,
    disk_bench,
    memory_bench,
    pages_bench,
    report_bench,
    sync_bench,
    targets,
    upload_bench,
)

#: (name, full arguments, --quick arguments, main)
BENCHES: list[tuple[str, list[str], list[str], Callable[[list[str]], int]]] = [
    ("sync", [], ["--quick"], sync_bench.main),
    ("disk", [], ["--quick"], disk_bench.main),
    ("pages", [], ["--videos", "1000,5000", "--days", "60", "--runs", "3"], pages_bench.main),
    ("report", [], ["--videos", "1000", "--days", "60"], report_bench.main),
    ("upload", [], ["--quick"], upload_bench.main),
    # A real server in Chromium. Memory: the shipped runner.postScriptGC only (both settings
    # side by side are `python -m bench.memory_bench`, twice as long); --quick compares both.
    ("memory", ["--only", "gc_off"], ["--quick"], memory_bench.main),
    ("browser", [], ["--quick"], browser_bench.main),
]


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    codes = []
    for name, full, fast, run in BENCHES:
        print(f"\n=== {name} ({targets.load_average()}) ===", flush=True)
        codes.append(run(fast if quick else full))
    print("\n=== targets ===")
    print(targets.summary())
    return max(codes)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
