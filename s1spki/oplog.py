"""Operational logs for an operations team or a SIEM: stdlib `logging` under the `s1spki` logger, separate from the
audit trail (which is the record of what the CA did; these lines only help run it).

Settings, each from the command line, else the environment, else the home's `s1spki.toml` [logging], else the
default (level warning, plain lines, stderr, so that a command's one-line error stays the only line):

    level   debug | info | warning | error          -v / -vv / -q     S1SPKI_LOG_LEVEL
    format  plain | json (one JSON object a line)   --log-format      S1SPKI_LOG_FORMAT
    to      stderr | syslog[:/PATH | ://HOST:PORT] | journald[:/PATH]
                                                    --log-to          S1SPKI_LOG_TO

Every line carries the correlation id of the audit record being written, when there is one (bound by the command
context as it makes each audit event), the home and the command. Logs never go to stdout. A failure a command
reports as its own error is logged at info (its outcome line), not warning: warning and error are for what the user
is not told otherwise. The journal gets fields of its own (MESSAGE, PRIORITY, S1SPKI_CORRELATION_ID, ...), whatever
the format. No secret is ever passed to a logger: not a PIN, passphrase or one-time secret, not even
redacted.
"""

from __future__ import annotations

import contextlib
import json
import logging
import logging.handlers
import re
import socket
import struct
import sys
from collections.abc import Mapping
from contextvars import ContextVar
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

ROOT = "s1spki"
LEVELS = {"debug": logging.DEBUG, "info": logging.INFO, "warning": logging.WARNING, "error": logging.ERROR}
FORMATS = ("plain", "json")
ENV = {"level": "S1SPKI_LOG_LEVEL", "format": "S1SPKI_LOG_FORMAT", "to": "S1SPKI_LOG_TO"}
SYSLOG_SOCKET = "/dev/log"
JOURNAL_SOCKET = "/run/systemd/journal/socket"
SYSLOG_PORT = 514

_correlation: ContextVar[str | None] = ContextVar("s1spki_correlation_id", default=None)
_where: dict[str, str | None] = {"home": None, "command": None}


def bind_correlation(correlation_id: str | None) -> None:
    """The audit record's correlation id for the lines logged from now on in this context (None: no record)."""
    _correlation.set(correlation_id)


def correlation_id() -> str | None:
    return _correlation.get()


def fields(**values: Any) -> dict[str, Any]:
    """`extra=` for a logger call: facts a JSON line keeps apart from the message (a plain line appends them)."""
    return {"fields": values}


def parse_level(value: str) -> str:
    level = value.strip().lower()
    if level not in LEVELS:
        raise ValueError(f"a log level is one of {', '.join(LEVELS)}, not {value!r}")
    return level


def parse_format(value: str) -> str:
    form = value.strip().lower()
    if form not in FORMATS:
        raise ValueError(f"a log format is plain or json, not {value!r}")
    return form


def parse_target(value: str) -> str:
    """stderr, syslog (the local socket /dev/log), syslog:/PATH, syslog://HOST:PORT (UDP), journald (the systemd
    journal's socket, its native protocol) or journald:/PATH."""
    target = value.strip()
    if target in ("stderr", "syslog", "journald"):
        return target
    for scheme in ("syslog", "journald"):
        if target.startswith(f"{scheme}:/") and not target.startswith(f"{scheme}://") and len(target) > len(scheme) + 2:
            return target
    if target.startswith("syslog://"):
        host, sep, port = target[len("syslog://"):].rpartition(":")
        if host and sep and port.isdigit() and 0 < int(port) < 65536:
            return target
    raise ValueError("a log target is stderr, syslog, syslog:/PATH, syslog://HOST:PORT, journald or journald:/PATH, "
                     f"not {value!r}")


@dataclass(frozen=True)
class LogSettings:
    level: str = "warning"
    format: str = "plain"
    to: str = "stderr"
    level_given: bool = False  # chosen somewhere (not the default): `est serve` then keeps it


_PARSERS = {"level": parse_level, "format": parse_format, "to": parse_target}


class SettingError(ValueError):
    """A bad logging setting, and whether it came from the [logging] table (else the command line or environment)."""

    def __init__(self, message: str, in_file: bool) -> None:
        super().__init__(message)
        self.in_file = in_file


def settings(command_line: Mapping[str, str | None], environ: Mapping[str, str], table: Mapping[str, Any],
             ) -> LogSettings:
    """Each setting from the command line, else the environment, else the [logging] table, else the default.
    Raises SettingError naming where the bad value came from."""
    chosen: dict[str, Any] = {}
    for key, parse in _PARSERS.items():
        for where, value in ((_option(key), command_line.get(key)), (ENV[key], environ.get(ENV[key]) or None),
                             (f"logging.{key}", table.get(key))):
            if value is None:
                continue
            try:
                if not isinstance(value, str):
                    raise ValueError(f"give a string, not {value!r}")
                chosen[key] = parse(value)
            except ValueError as exc:
                raise SettingError(f"{where}: {exc}", in_file=where.startswith("logging.")) from None
            break
    return replace(LogSettings(**chosen), level_given="level" in chosen)


def _option(key: str) -> str:
    return {"level": "-v/-q", "format": "--log-format", "to": "--log-to"}[key]


# --- the handlers ---


class _Context(logging.Filter):
    """Stamps each line with the correlation id, the home and the command."""

    def filter(self, record: logging.LogRecord) -> bool:
        record.correlation_id = _correlation.get()
        record.home = _where["home"]
        record.command = _where["command"]
        if not isinstance(getattr(record, "fields", None), dict):
            record.fields = {}
        return True


def _time(record: logging.LogRecord) -> str:
    return datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class PlainFormatter(logging.Formatter):
    """TIME LEVEL LOGGER [CORRELATION] message key=value..."""

    def format(self, record: logging.LogRecord) -> str:
        extra = "".join(f" {k}={v}" for k, v in record.fields.items())  # type: ignore[attr-defined]
        line = (f"{_time(record)} {record.levelname} {record.name} [{record.correlation_id or '-'}] "  # type: ignore[attr-defined]
                f"{record.getMessage()}{extra}")
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonFormatter(logging.Formatter):
    """One JSON object a line: time, level, logger, message, correlation_id, home, command, pid, fields."""

    def format(self, record: logging.LogRecord) -> str:
        doc = {"time": _time(record), "level": record.levelname.lower(), "logger": record.name,
               "message": record.getMessage(), "correlation_id": record.correlation_id,  # type: ignore[attr-defined]
               "home": record.home, "command": record.command, "pid": record.process,  # type: ignore[attr-defined]
               "fields": record.fields}  # type: ignore[attr-defined]
        if record.exc_info:
            doc["exception"] = self.formatException(record.exc_info)
        return json.dumps(doc, default=str)


class JournalHandler(logging.Handler):
    """The systemd journal's native protocol: one datagram of FIELD=value lines to its socket (a value holding a
    newline is sent as FIELD, newline, its length as 64-bit little-endian, the bytes, newline). The journal keeps
    the time and the fields itself: MESSAGE is the message alone, whatever the format, and each of the line's
    fields is a field of the entry (S1SPKI_SERIAL, ...)."""

    PRIORITY = {logging.DEBUG: 7, logging.INFO: 6, logging.WARNING: 4, logging.ERROR: 3, logging.CRITICAL: 2}

    def __init__(self, path: str) -> None:
        super().__init__()
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            message = record.getMessage()
            if record.exc_info:
                message += "\n" + logging.Formatter().formatException(record.exc_info)
            entry = {"MESSAGE": message, "PRIORITY": str(self.PRIORITY.get(record.levelno, 6)),
                     "SYSLOG_IDENTIFIER": ROOT, "LOGGER": record.name,
                     "S1SPKI_CORRELATION_ID": record.correlation_id or "",  # type: ignore[attr-defined]
                     "S1SPKI_COMMAND": record.command or "", "S1SPKI_HOME": record.home or "",  # type: ignore[attr-defined]
                     **{"S1SPKI_" + re.sub(r"[^A-Z0-9_]", "_", key.upper()): str(value)
                        for key, value in record.fields.items()}}  # type: ignore[attr-defined]
            self.sock.sendto(b"".join(_journal_field(k, v) for k, v in entry.items()), self.path)
        except Exception:
            self.handleError(record)

    def close(self) -> None:
        self.sock.close()
        super().close()


def _journal_field(name: str, value: str) -> bytes:
    data = value.encode("utf-8", "replace")
    if b"\n" in data:
        return name.encode() + b"\n" + struct.pack("<Q", len(data)) + data + b"\n"
    return name.encode() + b"=" + data + b"\n"


def _handler(target: str) -> logging.Handler:
    if target == "stderr":
        return logging.StreamHandler(sys.stderr)
    scheme, _, rest = target.partition(":")
    if scheme == "journald":
        return JournalHandler(rest or JOURNAL_SOCKET)
    address: str | tuple[str, int] = rest or SYSLOG_SOCKET
    if rest.startswith("//"):
        host, _, port = rest[2:].rpartition(":")
        address = (host, int(port))
    return _SyslogHandler(address, facility=logging.handlers.SysLogHandler.LOG_DAEMON)


class _SyslogHandler(logging.handlers.SysLogHandler):
    """Each line tagged `s1spki[PID]:` with the pid of the process that wrote it (an EST worker's, not its
    parent's, whose handler it inherited)."""

    def format(self, record: logging.LogRecord) -> str:
        self.ident = f"{ROOT}[{record.process}]: "
        return super().format(record)


_told: list[str] = []


def _tell_once(target: str) -> None:
    """A log target that cannot be written to is said once on stderr, in one line, and the command goes on."""
    if not _told:
        _told.append(target)
        with contextlib.suppress(OSError, ValueError):
            sys.stderr.write(f"s1spki: warning: cannot write the operational log to {target}\n")


_installed: list[logging.Handler] = []
_current: list[LogSettings] = []


def configure(chosen: LogSettings, *, home: str | None = None, command: str | None = None) -> None:
    """Send the `s1spki` loggers' lines to `chosen.to`, replacing what a previous call installed."""
    _where.update(home=home, command=command)
    logger = logging.getLogger(ROOT)
    for old in _installed:
        logger.removeHandler(old)
        old.close()
    _installed.clear()
    try:
        handler = _handler(chosen.to)
    except OSError:  # no syslog socket here: the lines go to stderr rather than nowhere
        _tell_once(chosen.to)
        handler = logging.StreamHandler(sys.stderr)
    handler.handleError = lambda record: _tell_once(chosen.to)  # type: ignore[method-assign]
    handler.addFilter(_Context())
    handler.setFormatter(JsonFormatter() if chosen.format == "json" else PlainFormatter())
    logger.addHandler(handler)
    logger.setLevel(LEVELS[chosen.level])
    logger.propagate = False  # the lines are ours to place; the root logger's handlers are someone else's
    _installed.append(handler)
    _current[:] = [chosen]


def serving_default(level: str) -> None:
    """A long-running server logs at `level` (one line per request at info) unless a level was chosen."""
    if _current and not _current[0].level_given:
        logging.getLogger(ROOT).setLevel(LEVELS[level])
    elif not _current:
        configure(LogSettings(level=level))
