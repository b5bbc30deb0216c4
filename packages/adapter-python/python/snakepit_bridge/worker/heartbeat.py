"""The worker's side of the heartbeat: a worker whose host stops answering shuts itself down.

The stdin watchdog catches a parent that died; this catches a parent that is alive but wedged
(or no longer recognises the worker). Semantics, with the config's `heartbeat` object:

- one Heartbeat(worker_id) at a time, each with a deadline of `timeout_ms`; the next one starts
  `interval_ms` after the previous one started (at once if that one took longer);
- any failure counts as a miss: no answer in time, connection refused, UNAUTHENTICATED, any error;
- a success resets the count; after `max_missed` misses in a row the worker logs an error and kills
  its own process group, like the stdin watchdog.

So a host that stops answering is detected within about `max_missed × max(interval_ms, timeout_ms)`
after its last answer (Snakepit's defaults, 2 s / 10 s / 3, give up to 30 s; a refused connection
fails at once, so ~6 s). The task runs on the event loop; a loop wedged by a tool delays the beats
rather than counting misses — noticing that is the host's job (it pings the worker).
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Awaitable, Callable, Mapping, Optional, TypeVar

__all__ = ["HeartbeatSettings", "run_heartbeat", "describe_failure"]

_log = logging.getLogger("snakepit_bridge.heartbeat")

T = TypeVar("T")


class HeartbeatConfigError(ValueError):
    pass


def _positive_int(raw: Mapping[str, object], key: str, default: int) -> int:
    value = raw.get(key, default)
    if value is None:
        return default
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise HeartbeatConfigError(f"heartbeat.{key} must be a positive integer, got {value!r}")
    return value


@dataclass(frozen=True)
class HeartbeatSettings:
    interval_ms: int = 2000
    timeout_ms: int = 10000
    max_missed: int = 3

    @classmethod
    def from_config(cls, raw: Optional[Mapping[str, object]]) -> Optional["HeartbeatSettings"]:
        """The settings of the config's `heartbeat` object: null means Snakepit's defaults,
        `"enabled": false` turns the heartbeat off (None)."""
        if raw is None:
            return cls()
        if raw.get("enabled") is False:
            return None
        defaults = cls()
        return cls(
            interval_ms=_positive_int(raw, "interval_ms", defaults.interval_ms),
            timeout_ms=_positive_int(raw, "timeout_ms", defaults.timeout_ms),
            max_missed=_positive_int(raw, "max_missed", defaults.max_missed),
        )


# The RPC has its own deadline; this bounds a beat even if the channel itself is stuck.
_TIMEOUT_MARGIN = 0.05


async def _within(awaitable: Awaitable[T], seconds: float) -> T:
    """Like asyncio.wait_for, which before Python 3.12 can swallow a cancellation that arrives as
    the awaited call completes, and so keep this loop beating through shutdown."""
    task = asyncio.ensure_future(awaitable)
    try:
        done, _ = await asyncio.wait((task,), timeout=seconds)
    except asyncio.CancelledError:
        task.cancel()
        raise
    if not done:
        task.cancel()
        raise asyncio.TimeoutError(f"no answer within {seconds:.2f} s")
    return task.result()


def describe_failure(exc: BaseException) -> str:
    """`Type [code]: message` for logs; the code is the snakepit code of a host-bridge error."""
    code = getattr(exc, "code", None)
    label = f"{type(exc).__name__} [{code}]" if isinstance(code, str) else type(exc).__name__
    return f"{label}: {exc}" if str(exc) else label


async def run_heartbeat(
    beat: Callable[[float], Awaitable[object]],
    settings: HeartbeatSettings,
    on_lost: Callable[[str], None],
) -> None:
    """Beats until cancelled, or until `max_missed` misses in a row, when it calls `on_lost(reason)`.

    `beat(timeout_seconds)` performs one Heartbeat call and raises on failure.
    """
    loop = asyncio.get_running_loop()
    interval = settings.interval_ms / 1000
    timeout = settings.timeout_ms / 1000
    missed = 0
    next_beat = loop.time() + interval
    while True:
        await asyncio.sleep(max(0.0, next_beat - loop.time()))
        started = loop.time()
        next_beat = started + interval
        try:
            await _within(beat(timeout), timeout + _TIMEOUT_MARGIN)
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            missed += 1
            reason = describe_failure(exc)
            _log.warning("heartbeat to the host failed (%d of %d in a row): %s", missed, settings.max_missed, reason)
            if missed >= settings.max_missed:
                on_lost(f"{missed} heartbeats in a row failed, the last one with {reason}")
                return
            continue
        if missed:
            _log.info("heartbeat to the host answered again after %d failures", missed)
        missed = 0
