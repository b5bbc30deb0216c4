"""The showcase for threaded mode: the same tools as `ShowcaseAdapter`, declared thread-safe,
plus `hash_work`, CPU work that really runs in parallel on a GIL build.

The shared showcase state (counters, cancellation and stream bookkeeping) is guarded by the
showcase module's lock, which is what makes the class-level declaration honest. The inherited
tools are deliberately *not* marked `thread_safe=True`, so a worker started with
`--thread-safety-checks` warns when e.g. `sleep_sync` runs on two threads at once; `hash_work` is
marked and never warns.
"""

from __future__ import annotations

import hashlib
import threading
import time
from typing import TypedDict

from ..base_adapter import ThreadSafeAdapter, tool
from .showcase import ShowcaseAdapter

_MIB = 1024 * 1024


class HashWork(TypedDict):
    digest: str
    elapsed_ms: float
    bytes: int
    thread: str


class ThreadedShowcaseAdapter(ThreadSafeAdapter, ShowcaseAdapter):
    @tool(description="SHA-256 over a size_mb MiB buffer, rounds times (hashlib releases the GIL).", thread_safe=True)
    def hash_work(self, size_mb: int = 8, rounds: int = 4) -> HashWork:
        if size_mb < 0 or rounds < 0:
            raise ValueError("size_mb and rounds must not be negative")
        buffer = bytes(size_mb * _MIB)  # per call: nothing shared between threads
        started = time.perf_counter()
        digest = hashlib.sha256()
        for _ in range(rounds):
            digest.update(buffer)
        return {
            "digest": digest.hexdigest(),
            "elapsed_ms": round((time.perf_counter() - started) * 1000, 3),
            "bytes": size_mb * _MIB * rounds,
            "thread": threading.current_thread().name,
        }
