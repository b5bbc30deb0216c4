"""Token rotation for a worker run as a service: SIGHUP reads `--token-file` again.

The file holds one token per non-empty line and every one is accepted, so clients can move to a
new token while others still present the old one: add the new line, SIGHUP, move the clients,
remove the old line, SIGHUP. (`--workers N`: the supervisor passes the signal on to each server.)

- New RPCs are checked against the tokens read last; RPCs already let in (an open call channel
  among them) go on.
- A file that became unreadable, invalid or empty keeps the tokens in force, with a warning saying
  why: a botched edit must not lock every client out.
- Without `--token-file` the token comes from `$SNAKEPIT_TOKEN`, which cannot change: the signal is
  logged and otherwise ignored (rather than ending the process, SIGHUP's default).

Tokens are never logged, only how many there are.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from typing import TYPE_CHECKING, Optional

from ..observability.logging_setup import FIELDS_ATTRIBUTE
from .settings import TOKEN_ENV, SettingsError, read_token_file

if TYPE_CHECKING:  # pragma: no cover - typing only
    from ..worker.auth_interceptor import TokenInterceptor

__all__ = ["reload_tokens", "reload_tokens_on_sighup"]

_log = logging.getLogger("snakepit_bridge.serve")


def reload_tokens(token_file: Optional[str], interceptor: TokenInterceptor) -> None:
    """Gives `interceptor` the tokens `token_file` holds now, unless it holds none or cannot be read."""
    if token_file is None:
        _log.warning("SIGHUP: the token comes from $%s, which cannot change; nothing to read again", TOKEN_ENV,
                     extra={FIELDS_ATTRIBUTE: {"event": "tokens_kept"}})
        return
    try:
        tokens = read_token_file(token_file)
    except SettingsError as exc:
        _log.warning("SIGHUP: %s; the tokens in force stay", exc, extra={FIELDS_ATTRIBUTE: {"event": "tokens_kept"}})
        return
    if not tokens:
        _log.warning("SIGHUP: --token-file %r holds no token; the tokens in force stay", token_file,
                     extra={FIELDS_ATTRIBUTE: {"event": "tokens_kept"}})
        return
    interceptor.set_tokens(*tokens)
    _log.info("SIGHUP: read --token-file again; %d token(s) accepted", len(tokens),
              extra={FIELDS_ATTRIBUTE: {"event": "tokens_reloaded", "tokens": len(tokens)}})


def reload_tokens_on_sighup(token_file: Optional[str], interceptor: TokenInterceptor) -> None:
    """Calls `reload_tokens` on every SIGHUP, on the running loop."""
    asyncio.get_running_loop().add_signal_handler(signal.SIGHUP, reload_tokens, token_file, interceptor)
