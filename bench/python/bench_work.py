"""The work behind every bench tool, shared by the pool's adapter and python-shell's stdio loop so
that the peers differ only in how a call reaches Python and how its answer gets back."""

from __future__ import annotations

import time
from typing import Any, Dict, Iterator


def spin(iterations: int) -> int:
    """Pure-Python CPU work that holds the GIL; the caller checks the sum to know it ran."""
    total = 0
    for index in range(iterations):
        total += index * index % 7
    return total


def counted_chunks(count: int) -> Iterator[Dict[str, int]]:
    for index in range(count):
        yield {"index": index}


def timed_chunk(index: int) -> Dict[str, Any]:
    """A chunk stamped with the wall clock just before it is handed over, to time its delivery."""
    return {"index": index, "yielded_at": time.time()}


def large_chunks(count: int, size: int) -> Iterator[Dict[str, Any]]:
    """Stamped like timed_chunk, so the consumer can tell how long a chunk waited for it."""
    filler = "x" * size
    for index in range(count):
        yield {"index": index, "yielded_at": time.time(), "text": filler}
