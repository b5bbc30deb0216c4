"""The settings of a worker run as a service, from its flags and environment, checked before
anything starts. A refusal (`SettingsError`) is printed on stderr and ends the process with exit
code 2, like a usage error; nothing is read from stdin and no control fd is used in this mode.

The one security rule: every call carries a token (as with a pool-spawned worker), and a worker
that listens beyond loopback must also use TLS, so that neither the token nor the calls cross a
network in clear text. There is no flag to waive it.

Tokens: `$SNAKEPIT_TOKEN` holds one; `--token-file` holds one per non-empty line, every one
accepted, and is read again on SIGHUP (service/token_reload.py), so tokens can be rotated without
a restart.
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import stat
import sys
from dataclasses import dataclass, field
from typing import List, Mapping, Optional, Sequence, Tuple

from ..worker.config import DEFAULT_MAX_MESSAGE_BYTES
from ..worker.control_channel import StartupError
from ..worker.mode import WorkerMode

__all__ = [
    "ServiceSettings",
    "SettingsError",
    "TlsFiles",
    "parse_settings",
    "build_parser",
    "parse_listen",
    "is_loopback",
    "read_token_file",
    "TOKEN_ENV",
    "LOG_LEVEL_ENV",
    "EXIT_REFUSED",
    "DEFAULT_DRAIN_SECONDS",
    "ADMISSION_QUEUE_PER_SLOT",
    "DEFAULT_ADMISSION_TIMEOUT_MS",
    "MAX_WORKERS",
]

PROG = "python -m snakepit_bridge.serve"
TOKEN_ENV = "SNAKEPIT_TOKEN"
LOG_LEVEL_ENV = "SNAKEPIT_LOG_LEVEL"
EXIT_REFUSED = 2
DEFAULT_DRAIN_SECONDS = 30.0
# Places in the admission queue per call slot, by default: a worker shared by up to five Node
# processes then queues what they send at once instead of refusing it (each pool sends at most the
# worker's capacity), which the capacity model and the two-pool measurement in BENCHMARKS.md show
# is what keeps refusals (and their retries) off the tail latency.
ADMISSION_QUEUE_PER_SLOT = 4
DEFAULT_ADMISSION_TIMEOUT_MS = 1000
MAX_WORKERS = 256


class SettingsError(Exception):
    """The flags or environment cannot be served as given; the message says why."""


@dataclass(frozen=True)
class TlsFiles:
    cert_path: str
    key_path: str
    client_ca_path: Optional[str]
    cert: bytes
    key: bytes
    client_ca: Optional[bytes]


@dataclass(frozen=True)
class ServiceSettings:
    adapter: str
    host: str
    port: int
    mode: WorkerMode
    workers: int
    # True with --workers (even 1): the servers run under the supervisor, which restarts them.
    supervised: bool
    # Every token a call may present: one from the environment, one per line of the token file.
    tokens: Tuple[str, ...]
    token_file: Optional[str]
    tls: Optional[TlsFiles]
    drain_seconds: float
    admission_queue: int
    admission_timeout_ms: int
    max_message_bytes: int
    log_level: str
    python_path: Tuple[str, ...]
    # Set by the supervisor for its children: they drain and exit when it is gone.
    supervisor_pid: Optional[int]
    # Things worth a warning once logging is set up (e.g. a token file others can read).
    warnings: Tuple[str, ...] = field(default=())

    def address(self, port: Optional[int] = None) -> str:
        """`host:port` as gRPC takes it (IPv6 in brackets)."""
        return format_address(self.host, self.port if port is None else port)

    @property
    def loopback(self) -> bool:
        return is_loopback(self.host)


def format_address(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def is_loopback(host: str) -> bool:
    """127.0.0.0/8, ::1 and `localhost`; any other name counts as beyond loopback."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def parse_listen(text: str) -> Tuple[str, int]:
    """`HOST:PORT`, `[IPv6]:PORT`; port 0 lets the OS choose (one server only)."""
    if text.startswith("["):
        host, closed, rest = text[1:].partition("]")
        if not closed or not rest.startswith(":"):
            raise SettingsError(f"--listen {text!r}: an IPv6 address goes in brackets, as [::1]:50051")
        port_text = rest[1:]
    else:
        host, colon, port_text = text.rpartition(":")
        if not colon:
            raise SettingsError(f"--listen {text!r}: expected HOST:PORT, e.g. 127.0.0.1:50051 or 0.0.0.0:50051")
        if ":" in host:
            raise SettingsError(f"--listen {text!r}: an IPv6 address goes in brackets, as [{host}]:{port_text}")
    if not host:
        raise SettingsError(f"--listen {text!r}: the host is missing (0.0.0.0 listens on every IPv4 interface)")
    try:
        port = int(port_text)
    except ValueError:
        raise SettingsError(f"--listen {text!r}: the port must be a number") from None
    if not 0 <= port <= 65535:
        raise SettingsError(f"--listen {text!r}: the port must be between 0 and 65535")
    return host, port


def build_parser() -> argparse.ArgumentParser:
    # argparse's own refusals: the usage and the reason on stderr, exit code 2 (EXIT_REFUSED).
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Serve a Snakepit adapter's WorkerService on its own (systemd, a container, a Kubernetes pod).",
    )
    parser.add_argument("--adapter", required=True, help="adapter class as package.module.ClassName")
    parser.add_argument("--listen", required=True, metavar="HOST:PORT", help="address to serve on ([::]:PORT for IPv6)")
    parser.add_argument("--workers", type=int, default=None, metavar="N",
                        help="N servers on ports PORT..PORT+N-1 under a supervisor that restarts them "
                             "(default: one server, unsupervised)")
    parser.add_argument("--mode", choices=("process", "threaded"), default="process",
                        help="process: one call at a time (capacity 1); threaded: --threads calls at once")
    parser.add_argument("--threads", type=int, default=None, metavar="N", help="threaded mode: capacity (default 4)")
    parser.add_argument("--thread-safety-checks", action="store_true", help="warn about unsafe concurrent use")
    parser.add_argument("--tls-cert", metavar="PEM", help="server certificate chain (PEM); with --tls-key")
    parser.add_argument("--tls-key", metavar="PEM", help="server private key (PEM)")
    parser.add_argument("--tls-client-ca", metavar="PEM", help="require client certificates signed by this CA (mTLS)")
    parser.add_argument("--token-file", metavar="PATH",
                        help=f"file holding the tokens, one per line, all accepted; re-read on SIGHUP (else ${TOKEN_ENV})")
    parser.add_argument("--drain-seconds", type=float, default=DEFAULT_DRAIN_SECONDS, metavar="S",
                        help=f"on SIGTERM, how long calls in flight may still run (default {DEFAULT_DRAIN_SECONDS:g})")
    parser.add_argument("--admission-queue", type=int, default=None, metavar="N",
                        help="calls that may wait for a slot when all are taken; beyond: worker_busy "
                             f"(default {ADMISSION_QUEUE_PER_SLOT} per call slot)")
    parser.add_argument("--admission-timeout-ms", type=int, default=DEFAULT_ADMISSION_TIMEOUT_MS, metavar="MS",
                        help=f"how long a queued call waits before worker_busy (default {DEFAULT_ADMISSION_TIMEOUT_MS})")
    parser.add_argument("--max-message-bytes", type=int, default=DEFAULT_MAX_MESSAGE_BYTES, metavar="N",
                        help=f"largest message sent or accepted (default {DEFAULT_MAX_MESSAGE_BYTES})")
    parser.add_argument("--log-level", default=None,
                        help=f"trace, debug, info, warn, error, fatal, silent (default ${LOG_LEVEL_ENV} or info)")
    parser.add_argument("--python-path", action="append", default=[], metavar="DIR",
                        help="put DIR on sys.path before the adapter is imported (repeatable)")
    parser.add_argument("--supervisor-pid", type=int, default=None, help=argparse.SUPPRESS)
    return parser


def _read_file(path: str, what: str) -> bytes:
    try:
        with open(path, "rb") as handle:
            return handle.read()
    except OSError as exc:
        raise SettingsError(f"cannot read {what} {path!r}: {exc.strerror or exc}") from None


def _pem(path: str, what: str) -> bytes:
    data = _read_file(path, what)
    if b"-----BEGIN " not in data:
        raise SettingsError(f"{what} {path!r} is not a PEM file (no -----BEGIN line)")
    return data


def _tls(args: argparse.Namespace) -> Optional[TlsFiles]:
    cert_path, key_path, ca_path = args.tls_cert, args.tls_key, args.tls_client_ca
    if cert_path is None and key_path is None:
        if ca_path is not None:
            raise SettingsError("--tls-client-ca needs --tls-cert and --tls-key: client certificates are checked over TLS")
        return None
    if cert_path is None or key_path is None:
        raise SettingsError("--tls-cert and --tls-key go together: the server's certificate and its private key")
    return TlsFiles(
        cert_path=os.path.abspath(cert_path),
        key_path=os.path.abspath(key_path),
        client_ca_path=os.path.abspath(ca_path) if ca_path is not None else None,
        cert=_pem(cert_path, "--tls-cert"),
        key=_pem(key_path, "--tls-key"),
        client_ca=_pem(ca_path, "--tls-client-ca") if ca_path is not None else None,
    )


def _check_token(token: str, source: str) -> None:
    if any(not (0x21 <= ord(char) <= 0x7E) for char in token):
        raise SettingsError(f"the token from {source} must be printable ASCII without spaces: it travels in the authorization header")


def read_token_file(path: str) -> Tuple[str, ...]:
    """The tokens of a token file: one per non-empty line (surrounding whitespace stripped), in
    order, each once; () when it holds none. SettingsError when it cannot be read or a line is not
    a token (the message names the line, never its text)."""
    raw = _read_file(path, "--token-file")
    source = f"--token-file {path!r}"
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise SettingsError(f"{source} is not UTF-8 text") from None
    tokens: List[str] = []
    for number, line in enumerate(text.splitlines(), 1):
        token = line.strip()
        if token:
            _check_token(token, f"line {number} of {source}")
            if token not in tokens:
                tokens.append(token)
    return tuple(tokens)


def _tokens(args: argparse.Namespace, environ: Mapping[str, str], warnings: List[str]) -> Tuple[str, ...]:
    if args.token_file is None:
        token = environ.get(TOKEN_ENV, "").strip()
        if not token:
            return ()
        _check_token(token, f"${TOKEN_ENV}")
        return (token,)
    tokens = read_token_file(args.token_file)
    try:
        mode = os.stat(args.token_file).st_mode
    except OSError:
        mode = 0
    if stat.S_ISREG(mode) and mode & 0o077:
        warnings.append(f"the token file {args.token_file!r} can be read by other users (mode {stat.S_IMODE(mode):o}); chmod 600 it")
    return tokens


def _check_security(host: str, port: int, tokens: Tuple[str, ...], tls: Optional[TlsFiles]) -> None:
    address = format_address(host, port)
    if not is_loopback(host) and (tls is None or not tokens):
        missing, reasons, fixes = [], [], []
        if tls is None:
            missing.append("TLS")
            reasons.append("without TLS, calls, their results and the token would cross the network in clear text")
            fixes.append("--tls-cert and --tls-key (and --tls-client-ca to require client certificates)")
        if not tokens:
            missing.append("a token")
            reasons.append("without a token, anyone who can reach the port could run tools")
            fixes.append(f"--token-file PATH or ${TOKEN_ENV}")
        raise SettingsError(
            f"refusing to listen on {address} without {' and '.join(missing)}: the address is beyond loopback "
            f"(127.0.0.1, [::1], localhost), and {'; '.join(reasons)}. Pass {', and '.join(fixes)}, "
            "or listen on 127.0.0.1"
        )
    if not tokens:
        raise SettingsError(
            "refusing to serve without a token: every call must carry `authorization: Bearer <token>`. "
            f"Pass --token-file PATH (one token per line) or set ${TOKEN_ENV}"
        )


def parse_settings(argv: Optional[Sequence[str]] = None, environ: Optional[Mapping[str, str]] = None) -> ServiceSettings:
    """The settings, or SettingsError. Bad flags (argparse) exit 2 with the usage, as usual."""
    environ = os.environ if environ is None else environ
    args = build_parser().parse_args(list(sys.argv[1:] if argv is None else argv))
    host, port = parse_listen(args.listen)
    try:
        mode = WorkerMode.from_args(args)
    except StartupError as exc:
        raise SettingsError(str(exc)) from None
    supervised = args.workers is not None
    workers = 1 if args.workers is None else args.workers
    if not 1 <= workers <= MAX_WORKERS:
        raise SettingsError(f"--workers must be between 1 and {MAX_WORKERS}, got {workers}")
    if supervised:
        if port == 0:
            # A restarted server must come back where its clients look for it.
            raise SettingsError("--workers N needs a fixed port: the servers listen on PORT, PORT+1, ... PORT+N-1")
        if port + workers - 1 > 65535:
            raise SettingsError(f"--workers {workers} from port {port} goes past port 65535")
    if args.drain_seconds < 0:
        raise SettingsError(f"--drain-seconds must be 0 or more, got {args.drain_seconds:g}")
    admission_queue = ADMISSION_QUEUE_PER_SLOT * mode.capacity if args.admission_queue is None else args.admission_queue
    if admission_queue < 0:
        raise SettingsError(f"--admission-queue must be 0 or more, got {admission_queue}")
    if args.admission_timeout_ms < 1:
        raise SettingsError(f"--admission-timeout-ms must be at least 1, got {args.admission_timeout_ms}")
    if args.max_message_bytes < 1:
        raise SettingsError(f"--max-message-bytes must be positive, got {args.max_message_bytes}")
    warnings: List[str] = []
    tls = _tls(args)
    tokens = _tokens(args, environ, warnings)
    _check_security(host, port, tokens, tls)
    python_path = tuple(os.path.abspath(path) for path in args.python_path)
    for path in python_path:
        if not os.path.isdir(path):
            warnings.append(f"--python-path {path!r} is not a directory")
    return ServiceSettings(
        adapter=args.adapter,
        host=host,
        port=port,
        mode=mode,
        workers=workers,
        supervised=supervised,
        tokens=tokens,
        token_file=os.path.abspath(args.token_file) if args.token_file is not None else None,
        tls=tls,
        drain_seconds=float(args.drain_seconds),
        admission_queue=admission_queue,
        admission_timeout_ms=args.admission_timeout_ms,
        max_message_bytes=args.max_message_bytes,
        log_level=args.log_level or environ.get(LOG_LEVEL_ENV) or "info",
        python_path=python_path,
        supervisor_pid=args.supervisor_pid,
        warnings=tuple(warnings),
    )


def child_arguments(settings: ServiceSettings, port: int, supervisor_pid: int) -> List[str]:
    """The flags of one supervised server: the same settings, one port, no --workers. The tokens
    stay out of argv: a child reads the same token file (again on SIGHUP, which the supervisor
    passes on), or inherits the environment."""
    mode = settings.mode
    argv = ["--adapter", settings.adapter, "--listen", settings.address(port), "--mode", mode.name]
    if mode.name == "threaded":
        argv += ["--threads", str(mode.capacity)]
    if mode.thread_safety_checks:
        argv.append("--thread-safety-checks")
    if settings.tls is not None:
        argv += ["--tls-cert", settings.tls.cert_path, "--tls-key", settings.tls.key_path]
        if settings.tls.client_ca_path is not None:
            argv += ["--tls-client-ca", settings.tls.client_ca_path]
    if settings.token_file is not None:
        argv += ["--token-file", settings.token_file]
    argv += [
        "--drain-seconds", repr(settings.drain_seconds),
        "--admission-queue", str(settings.admission_queue),
        "--admission-timeout-ms", str(settings.admission_timeout_ms),
        "--max-message-bytes", str(settings.max_message_bytes),
        "--log-level", settings.log_level,
    ]
    for path in settings.python_path:
        argv += ["--python-path", path]
    argv += ["--supervisor-pid", str(supervisor_pid)]
    return argv
