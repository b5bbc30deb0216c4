"""A worker run as a service, for systemd, a container or a Kubernetes pod:

    python -m snakepit_bridge.serve --adapter pkg.module.ClassName --listen HOST:PORT \
        [--workers N | --mode threaded [--threads N]] [--tls-cert PEM --tls-key PEM [--tls-client-ca PEM]] \
        [--token-file PATH] [--drain-seconds S] [--admission-queue N] [--admission-timeout-ms MS] ...

It serves the same WorkerService as a worker a Node pool starts (`snakepit_bridge.server`), to any
client that presents a token (one per line of `--token-file`, read again on SIGHUP; else
`$SNAKEPIT_TOKEN`), over TLS when it listens beyond loopback (refused otherwise: exit code 2, the
reason on stderr). Tools reach the host through the call channel of a client that opened a host
link (`x-snakepit-host-link`). Settings come from flags and the environment only: nothing is
read from stdin and no control fd is used. Log lines are JSON on stdout. SIGTERM drains (new
calls refused, calls in flight finish within `--drain-seconds`), then the process exits 0. The
README (*Service mode*) and proto/PROTOCOL.md (*Service mode (remote workers)*, *Host requests on
the call channel*) describe the contract.
"""

from __future__ import annotations

import logging
import sys
from typing import List, Optional

from .observability.logging_setup import configure_logging
from .service.settings import EXIT_REFUSED, SettingsError, parse_settings

__all__ = ["main"]

_log = logging.getLogger("snakepit_bridge.serve")


def main(argv: Optional[List[str]] = None) -> int:
    try:
        settings = parse_settings(argv)
    except SettingsError as exc:
        print(f"snakepit_bridge.serve: {exc}", file=sys.stderr)
        return EXIT_REFUSED
    if settings.workers > 1:
        listen = f"{settings.address()}-{settings.port + settings.workers - 1}"
    else:
        listen = settings.address()
    configure_logging(settings.log_level, sys.stdout, static_fields={"listen": listen})
    for warning in settings.warnings:
        _log.warning("%s", warning)
    if settings.supervised:
        from .service.supervisor import Supervisor

        return Supervisor(settings).run()
    from .service.runner import run_service

    return run_service(settings)


if __name__ == "__main__":
    sys.exit(main())
