"""`--workers N`: N servers on ports PORT..PORT+N-1, each its own `python -m snakepit_bridge.serve`
child (one port, same settings), kept running by this parent.

- A child that exits while the supervisor is not stopping is restarted after a backoff: 100 ms,
  doubled per restart up to 10 s, ±20 % jitter, back to 100 ms once a child has run 30 s (the
  pool's restart policy for local workers). A child that cannot start at all is retried every
  10 s, never in a loop.
- Each child runs in a session of its own, so a terminal's Ctrl-C reaches the supervisor only,
  which then stops the children itself (one signal each, one drain). It gets
  `--supervisor-pid`: a child whose supervisor vanished (SIGKILL) drains and exits on its own.
- SIGHUP is passed on to every child (each reads its token file again, token_reload.py).
- SIGTERM/SIGINT: every child gets SIGTERM and drains (`--drain-seconds`); a SIGINT after that is
  passed on (the children end their drain at once), a repeated SIGTERM is not. Children still
  running `drain_seconds` + 5 s later are killed with their process group. Then the supervisor
  exits 0.
- Log lines are JSON on stdout, as the children's (which share the supervisor's stdout).
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import signal
import subprocess
import sys
from typing import Any, Dict, List, Optional

from ..observability.logging_setup import FIELDS_ATTRIBUTE
from ..worker.runtime import next_interrupt, stop_signals
from .settings import ServiceSettings, child_arguments

__all__ = ["Supervisor", "restart_delay", "RESTART_INITIAL_SECONDS", "RESTART_MAX_SECONDS", "RESTART_RESET_AFTER_SECONDS"]

RESTART_INITIAL_SECONDS = 0.1
RESTART_FACTOR = 2.0
RESTART_MAX_SECONDS = 10.0
RESTART_JITTER = 0.2
RESTART_RESET_AFTER_SECONDS = 30.0
# Beyond --drain-seconds, before children still running are killed.
KILL_MARGIN_SECONDS = 5.0

_log = logging.getLogger("snakepit_bridge.supervisor")


def restart_delay(restarts: int, rng: Optional[random.Random] = None) -> float:
    """Seconds before restart number `restarts` + 1 (0 = the first restart after a clean run)."""
    base = min(RESTART_MAX_SECONDS, RESTART_INITIAL_SECONDS * RESTART_FACTOR ** min(restarts, 32))
    jitter = (rng or random).uniform(-RESTART_JITTER, RESTART_JITTER)
    return max(0.0, base * (1 + jitter))


def _fields(**fields: Any) -> Dict[str, Any]:
    return {FIELDS_ATTRIBUTE: fields}


def _describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"signal {signal.Signals(-code).name}"
        except ValueError:
            return f"signal {-code}"
    return f"exit code {code}"


class _Seat:
    """One port and the child serving it."""

    def __init__(self, port: int, address: str) -> None:
        self.port = port
        self.address = address
        self.process: Optional["asyncio.subprocess.Process"] = None
        self.restarts = 0


class Supervisor:
    def __init__(self, settings: ServiceSettings) -> None:
        self._settings = settings
        self._seats = [_Seat(settings.port + index, settings.address(settings.port + index)) for index in range(settings.workers)]
        self._stopping: Optional[asyncio.Event] = None

    def run(self) -> int:
        try:
            return asyncio.run(self._run())
        except KeyboardInterrupt:
            return 0

    def _command(self, seat: _Seat) -> List[str]:
        return [sys.executable, "-u", "-m", "snakepit_bridge.serve", *child_arguments(self._settings, seat.port, os.getpid())]

    async def _run(self) -> int:
        settings = self._settings
        signals = stop_signals()
        asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, self._signal_children, signal.SIGHUP)
        self._stopping = asyncio.Event()
        first, last = self._seats[0], self._seats[-1]
        _log.info(
            "supervising %d %s-mode servers of %s on %s..%d",
            len(self._seats), settings.mode.name, settings.adapter, first.address, last.port,
            extra=_fields(event="supervising", pid=os.getpid(), ports=[seat.port for seat in self._seats]),
        )
        seats = [asyncio.ensure_future(self._keep(seat)) for seat in self._seats]
        signum = await signals.get()
        _log.info("stopping the servers (%s): each drains for up to %g s", signal.Signals(signum).name,
                  settings.drain_seconds, extra=_fields(event="stopping"))
        self._stopping.set()
        self._signal_children(signal.SIGTERM)
        passer = asyncio.ensure_future(self._pass_on(signals))
        _, pending = await asyncio.wait(seats, timeout=settings.drain_seconds + KILL_MARGIN_SECONDS)
        passer.cancel()
        if pending:
            _log.warning("%d server(s) still running after the drain; killing them", len(pending),
                         extra=_fields(event="kill"))
            self._signal_children(signal.SIGKILL)
            await asyncio.wait(pending, timeout=5.0)
        _log.info("stopped", extra=_fields(event="stopped"))
        return 0

    async def _pass_on(self, signals: "asyncio.Queue[int]") -> None:
        def already_stopping(signum: int) -> None:
            _log.info("%s again: already stopping (SIGINT ends the drain at once)", signal.Signals(signum).name,
                      extra=_fields(event="already_stopping"))

        while True:
            await next_interrupt(signals, already_stopping)
            _log.warning("SIGINT: the servers end their drain now", extra=_fields(event="drain_cut"))
            self._signal_children(signal.SIGINT)

    def _signal_children(self, signum: int) -> None:
        for seat in self._seats:
            process = seat.process
            if process is None or process.returncode is not None:
                continue
            try:
                if signum == signal.SIGKILL:
                    os.killpg(process.pid, signum)  # with whatever its tools started
                else:
                    process.send_signal(signum)
            except (ProcessLookupError, PermissionError):
                pass

    async def _keep(self, seat: _Seat) -> None:
        """Runs `seat`'s child, restarting it with backoff, until the supervisor stops."""
        stopping = self._stopping
        assert stopping is not None
        loop = asyncio.get_running_loop()
        while not stopping.is_set():
            started = loop.time()
            try:
                seat.process = await asyncio.create_subprocess_exec(
                    *self._command(seat), stdin=subprocess.DEVNULL, start_new_session=True
                )
            except OSError as exc:
                code: Optional[int] = None
                _log.error("cannot start the server for %s: %s", seat.address, exc, extra=_fields(event="spawn_failed", port=seat.port))
            else:
                _log.debug("started the server for %s (pid %d)", seat.address, seat.process.pid,
                           extra=_fields(event="spawned", port=seat.port, child_pid=seat.process.pid))
                if stopping.is_set():  # the stop came while it was being started
                    seat.process.send_signal(signal.SIGTERM)
                code = await seat.process.wait()
            if stopping.is_set():
                return
            if loop.time() - started >= RESTART_RESET_AFTER_SECONDS:
                seat.restarts = 0
            delay = restart_delay(seat.restarts)
            seat.restarts += 1
            how = _describe_exit(code) if code is not None else "no process"
            _log.warning(
                "the server for %s exited (%s); restarting it in %.2f s (restart %d)",
                seat.address, how, delay, seat.restarts,
                extra=_fields(event="worker_exit", port=seat.port, exit_code=code,
                              restart_in_ms=round(delay * 1000), restarts=seat.restarts),
            )
            try:
                await asyncio.wait_for(stopping.wait(), delay)
            except asyncio.TimeoutError:
                pass
