"""A worker started as a real subprocess, the way Node starts it: new session, config on stdin,
readiness on a control fd."""

from __future__ import annotations

import json
import os
import select
import signal
import subprocess
import sys
import tempfile
import time
from typing import Any, Dict, List, Optional

from support import PYTHON_ROOT_FOR_SUBPROCESS, TOKEN

SHOWCASE = "snakepit_bridge.adapters.showcase.ShowcaseAdapter"


class Worker:
    def __init__(self, adapter: str, *, extra_args: Optional[List[str]] = None, config: Optional[Dict[str, Any]] = None,
                 extra_path: Optional[str] = None, capture_stdout: bool = False) -> None:
        read_fd, write_fd = os.pipe()
        self.stderr = tempfile.TemporaryFile()
        self.stdout = tempfile.TemporaryFile() if capture_stdout else None
        path = [extra_path] if extra_path else []
        env = dict(os.environ, PYTHONPATH=os.pathsep.join(path + [PYTHON_ROOT_FOR_SUBPROCESS]))
        self.proc = subprocess.Popen(
            [sys.executable, "-u", "-m", "snakepit_bridge.server", "--adapter", adapter,
             "--control-fd", str(write_fd), *(extra_args or ["--mode", "process"])],
            stdin=subprocess.PIPE, stdout=self.stdout or subprocess.DEVNULL, stderr=self.stderr,
            pass_fds=(write_fd,), start_new_session=True, env=env,
        )
        os.close(write_fd)
        full_config = {"worker_id": "w1", "token": TOKEN, "host_address": None, "heartbeat": None,
                       "log_level": "info", "max_message_bytes": 64 * 1024 * 1024}
        full_config.update(config or {})
        assert self.proc.stdin is not None
        self.proc.stdin.write(json.dumps(full_config).encode("utf-8") + b"\n")
        self.proc.stdin.flush()
        self.control = self._read_control(read_fd)

    @staticmethod
    def _read_control(fd: int, timeout: float = 15.0) -> Dict[str, Any]:
        data = b""
        deadline = time.monotonic() + timeout
        try:
            while b"\n" not in data:
                remaining = deadline - time.monotonic()
                assert remaining > 0, "no control line in time"
                ready, _, _ = select.select([fd], [], [], remaining)
                if ready:
                    chunk = os.read(fd, 65536)
                    if not chunk:
                        break
                    data += chunk
        finally:
            os.close(fd)
        return json.loads(data.decode("utf-8").splitlines()[0])

    def stderr_text(self) -> str:
        self.stderr.seek(0)
        return self.stderr.read().decode("utf-8", "replace")

    def stdout_text(self) -> str:
        assert self.stdout is not None, "started without capture_stdout"
        self.stdout.seek(0)
        return self.stdout.read().decode("utf-8", "replace")

    def log_lines(self) -> List[Dict[str, Any]]:
        entries = []
        for line in self.stderr_text().splitlines():
            if line.startswith("{"):
                entry = json.loads(line)
                if entry.get("snakepit") == "log":
                    entries.append(entry)
        return entries

    def kill(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.proc.wait(5)
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        self.stderr.close()
        if self.stdout is not None:
            self.stdout.close()


def gone(pid: int) -> bool:
    """Not running: no such process, or a zombie nobody reaped yet (it no longer runs)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] in ("Z", "X")
    except FileNotFoundError:
        return True


def wait_gone(pid: int, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if gone(pid):
            return True
        time.sleep(0.02)
    return gone(pid)
