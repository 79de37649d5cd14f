"""Timing and memory for the benchmarks: medians of repeated runs, a process's PSS and RSS."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable, Sequence
from pathlib import Path

__all__ = ["median_seconds", "memory_mb", "paired_medians"]


def median_seconds(fn: Callable[[], object], repeat: int) -> float:
    """The median wall-clock seconds of ``repeat`` calls of ``fn``."""
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def paired_medians(fns: Sequence[Callable[[], object]], repeat: int) -> tuple[list, list]:
    """The median seconds of each of ``fns``, and each one's last result.

    Each is called once untimed first (a cold call loads compiled code and builds
    lazy parts); then the calls take turns, one of each per round, so that both
    sides of a comparison see the same moments of a shared, noisy machine.
    """
    results = [fn() for fn in fns]
    times = [[] for _ in fns]
    for _ in range(repeat):
        for k, fn in enumerate(fns):
            start = time.perf_counter()
            results[k] = fn()
            times[k].append(time.perf_counter() - start)
    return [statistics.median(t) for t in times], results


def memory_mb(pid: int, field: str = "Pss") -> float:
    """``field`` (``Pss``, ``Rss``) of process ``pid`` in MB; 0 if it is gone.

    PSS divides shared pages among the processes that map them, so summing it over
    the processes of a host counts a memory-mapped index once.
    """
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0
