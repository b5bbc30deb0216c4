"""What a worker says about itself, in the ready line and in every Ping response."""

from __future__ import annotations

import os
import platform
import sys
from typing import Dict

__all__ = ["collect_worker_info"]


def _free_threaded() -> bool:
    # True only on a free-threaded build (3.13t+) that actually runs with the GIL disabled.
    is_gil_enabled = getattr(sys, "_is_gil_enabled", None)
    return callable(is_gil_enabled) and not is_gil_enabled()


def collect_worker_info(*, mode: str, capacity: int, adapter: str) -> Dict[str, object]:
    """The fields of `WorkerInfo`, as a JSON-able dict. Imports grpc and protobuf (for versions)."""
    import grpc
    import google.protobuf

    return {
        "pid": os.getpid(),
        "mode": mode,
        "capacity": capacity,
        "python_version": platform.python_version(),
        "python_implementation": platform.python_implementation(),
        "free_threaded": _free_threaded(),
        "adapter": adapter,
        "grpcio_version": grpc.__version__,
        "protobuf_version": google.protobuf.__version__,
    }
