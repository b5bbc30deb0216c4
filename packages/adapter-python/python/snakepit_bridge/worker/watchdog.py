"""Parent-death watchdog: when stdin reaches EOF, the Node parent is gone, so the worker and
everything it spawned must go too.

Node starts the worker as leader of a new process group; killing the group with SIGKILL takes
grandchildren (subprocesses a tool started) down at once, with no cleanup to hang on. When this
process is not a group leader (started by hand, or by a test runner that shares the group),
killing the group would hit unrelated processes, so it only exits itself.
"""

from __future__ import annotations

import os
import signal
import threading

__all__ = ["start_stdin_watchdog", "kill_own_process_group"]


def kill_own_process_group() -> None:
    """Never returns."""
    if os.getpgrp() == os.getpid():
        os.killpg(os.getpgrp(), signal.SIGKILL)
    os._exit(1)


def _watch(fd: int) -> None:
    try:
        # os.read releases the GIL and returns b"" only at EOF. Anything Node writes after the
        # config line is ignored (reserved for later use).
        while os.read(fd, 65536):
            pass
    except OSError:
        pass  # a broken stdin means the same as EOF: nobody is there any more
    kill_own_process_group()


def start_stdin_watchdog(fd: int = 0) -> threading.Thread:
    """Starts the daemon thread that reads `fd` until EOF, then kills the process group."""
    thread = threading.Thread(target=_watch, args=(fd,), name="snakepit-stdin-watchdog", daemon=True)
    thread.start()
    return thread
