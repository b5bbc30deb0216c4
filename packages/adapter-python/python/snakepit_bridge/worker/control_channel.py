"""The control fd: one JSON line telling Node whether the worker started.

A dedicated pipe instead of stdout means user code printing at import time cannot corrupt or
fake the readiness signal. The channel is written exactly once and then closed.
"""

from __future__ import annotations

import json
import os
import sys
import traceback
from typing import Dict, Optional

from ..type_names import qualified_type_name

__all__ = ["ControlChannel", "StartupError"]


class StartupError(Exception):
    """A problem with the arguments or the config line, found before the adapter is loaded.

    Defined here rather than in server.py: that module runs as __main__, and the reported type
    name should be stable.
    """


class ControlChannel:
    """`fd` None (started by hand, without --control-fd): the line goes to stdout instead."""

    def __init__(self, fd: Optional[int]) -> None:
        self._fd = fd
        self.sent = False

    def ready(self, port: int, info: Dict[str, object]) -> None:
        self._send({"event": "ready", "port": port, "info": info})

    def failed(self, exc: BaseException, message: Optional[str] = None) -> None:
        error = {
            "type": qualified_type_name(type(exc)),
            "message": message if message is not None else (str(exc) or qualified_type_name(type(exc))),
            "traceback": "".join(traceback.format_exception(type(exc), exc, exc.__traceback__)),
        }
        self._send({"event": "failed", "error": error})

    def _send(self, message: Dict[str, object]) -> None:
        if self.sent:
            return
        self.sent = True
        data = (json.dumps(message, default=str) + "\n").encode("utf-8")
        if self._fd is None:
            sys.stdout.write(data.decode("utf-8"))
            sys.stdout.flush()
            return
        try:
            view = memoryview(data)
            while view:
                written = os.write(self._fd, view)
                view = view[written:]
        except OSError as exc:
            print(f"snakepit_bridge: cannot write to control fd {self._fd}: {exc}", file=sys.stderr)
        finally:
            try:
                os.close(self._fd)
            except OSError:
                pass
