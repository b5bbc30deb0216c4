"""The JSON config line a worker reads from stdin (the token never appears in argv)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from typing import List, Optional

from .control_channel import StartupError
from .heartbeat import HeartbeatConfigError, HeartbeatSettings

__all__ = ["WorkerConfig", "read_config_line", "DEFAULT_MAX_MESSAGE_BYTES"]

DEFAULT_MAX_MESSAGE_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True)
class WorkerConfig:
    worker_id: str
    token: str
    host_address: Optional[str]
    # None: no heartbeat (turned off, or no host to beat to).
    heartbeat: Optional[HeartbeatSettings]
    log_level: str
    max_message_bytes: int

    @classmethod
    def from_json(cls, line: bytes) -> "WorkerConfig":
        try:
            data = json.loads(line.decode("utf-8"))
        except ValueError as exc:
            raise StartupError(f"the config line on stdin is not valid JSON: {exc}") from None
        if not isinstance(data, dict):
            raise StartupError("the config line on stdin must be a JSON object")
        token = data.get("token")
        if not isinstance(token, str) or not token:
            # Never serve unauthenticated.
            raise StartupError("the config has no token")
        max_bytes = data.get("max_message_bytes")
        if max_bytes is None:
            max_bytes = DEFAULT_MAX_MESSAGE_BYTES
        if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes <= 0:
            raise StartupError(f"max_message_bytes must be a positive integer, got {max_bytes!r}")
        host_address = data.get("host_address") or None
        if host_address is not None and not isinstance(host_address, str):
            raise StartupError(f"host_address must be a string like 127.0.0.1:PORT, got {host_address!r}")
        heartbeat = data.get("heartbeat")
        if heartbeat is not None and not isinstance(heartbeat, dict):
            raise StartupError(f"heartbeat must be an object or null, got {heartbeat!r}")
        try:
            settings = HeartbeatSettings.from_config(heartbeat) if host_address else None
        except HeartbeatConfigError as exc:
            raise StartupError(str(exc)) from None
        return cls(
            worker_id=str(data.get("worker_id") or ""),
            token=token,
            host_address=host_address,
            heartbeat=settings,
            log_level=str(data.get("log_level") or "info"),
            max_message_bytes=max_bytes,
        )


def read_config_line(fd: int = 0) -> bytes:
    """Reads stdin up to the first newline with raw reads, so nothing is left in a Python buffer
    for the watchdog to miss."""
    chunks: List[bytes] = []
    while True:
        chunk = os.read(fd, 65536)
        if not chunk:
            if not chunks:
                raise StartupError("stdin closed before the config line arrived")
            break
        newline = chunk.find(b"\n")
        if newline >= 0:
            chunks.append(chunk[:newline])
            break
        chunks.append(chunk)
    return b"".join(chunks)
