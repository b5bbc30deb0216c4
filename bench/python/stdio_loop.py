"""python-shell's side of the bench: one JSON request per stdin line, JSON answers on stdout.

Requests are {"id", "tool", "args"}. A call answers {"id", "result"} (or {"id", "error"}); a stream
answers {"id", "chunk"} per chunk and then {"id", "done": true}. Every line is flushed as it is
written, so a chunk reaches Node when it is yielded (the same promise the pool makes). The tools
do the work of bench_adapter.py through bench_work.py; only binary data differs, since JSON mode
carries bytes as base64.
"""

from __future__ import annotations

import base64
import json
import sys
import time
from typing import Any, Callable, Dict, Iterator

import bench_work


def echo(**arguments: Any) -> Dict[str, Any]:
    return arguments


def echo_base64(data: str) -> str:
    return base64.b64encode(base64.b64decode(data)).decode("ascii")


def timed_chunks(count: int, interval_ms: float) -> Iterator[Dict[str, Any]]:
    for index in range(count):
        time.sleep(interval_ms / 1000)
        yield bench_work.timed_chunk(index)


CALLS: Dict[str, Callable[..., Any]] = {"echo": echo, "spin": bench_work.spin, "echo_base64": echo_base64}
STREAMS: Dict[str, Callable[..., Iterator[Any]]] = {
    "counted_chunks": bench_work.counted_chunks,
    "timed_chunks": timed_chunks,
    "large_chunks": bench_work.large_chunks,
}


def send(answer: Dict[str, Any]) -> None:
    sys.stdout.write(json.dumps(answer) + "\n")
    sys.stdout.flush()


def serve(request: Dict[str, Any]) -> None:
    identifier, name, arguments = request["id"], request["tool"], request.get("args", {})
    try:
        if name in STREAMS:
            for chunk in STREAMS[name](**arguments):
                send({"id": identifier, "chunk": chunk})
            send({"id": identifier, "done": True})
        else:
            send({"id": identifier, "result": CALLS[name](**arguments)})
    except Exception as error:  # noqa: BLE001 - every tool failure goes back to the caller
        send({"id": identifier, "error": repr(error)})


def main() -> None:
    for line in iter(sys.stdin.readline, ""):
        serve(json.loads(line))


if __name__ == "__main__":
    main()
