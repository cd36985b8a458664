"""What sharing the pacing window across processes costs per request.

`python -m bench.pacing_bench`: the time of one ``Pacer.acquire`` with the window in memory
(one process only) and in the shared SQLite file (every process of the data dir), over
several runs; the budget is set high enough that nothing waits. Compare the per-request
figure with a sync request's own cost (about 2 ms on loopback, bench/sync_bench.py a.).
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from pathlib import Path

from services.ratelimit import Pacer

CALLS = 2_000
RUNS = 5


def per_call_us(pacer: Pacer) -> float:
    started = time.perf_counter()
    for _ in range(CALLS):
        pacer.acquire("/v2/video/list/", "bench-account")
    return (time.perf_counter() - started) / CALLS * 1e6


def main(argv: list[str]) -> int:
    memory: list[float] = []
    shared: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(RUNS):
            memory.append(per_call_us(Pacer(10 ** 7)))
            pacer = Pacer(10 ** 7, shared_path=Path(tmp) / f"pacing-{run}.db")
            shared.append(per_call_us(pacer))
            pacer.close()
    for name, values in (("in memory", memory), ("shared file", shared)):
        print(f"{name:12} µs/acquire  min {min(values):7.1f}  median "
              f"{statistics.median(values):7.1f}  max {max(values):7.1f}")
    ratio = statistics.median(shared) / statistics.median(memory)
    print(f"shared / in memory (medians): {ratio:.0f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
