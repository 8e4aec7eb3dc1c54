"""The export file formats of the audit trail, written and read back: JSON Lines and CSV.

A JSON Lines export holds one record a line, `{"hash", "prev_hash", "record", "seq"}`, with `record` the exact
canonical bytes its hash covers, so a verifier re-hashes the line as it stands; a CSV export holds the stored
columns, with `null_fields` naming the columns that are NULL. Nothing here opens a database or an HSM.
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from s1spki.audit.chain import COLUMNS, NULLABLE, Link, record_bytes
from s1spki.errors import PolicyRefused, UsageError
from s1spki.values.canonical import canonical_json
from s1spki.values.clock import iso

FORMATS = ("jsonl", "csv")
CSV_HEADER = ["seq", "hash", "prev_hash", *COLUMNS[3:], "null_fields"]
# an export made before records named their node: no node_id column, every record the original node's
_CSV_HEADER_BEFORE_NODES = [name for name in CSV_HEADER if name != "node_id"]
_QUOTE = json.encoder.encode_basestring  # type: ignore[attr-defined]
_LINE = '{"hash":%s,"prev_hash":%s,"record":%s,"seq":%d}\n'
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


@dataclass(frozen=True)
class Period:
    """From and to (inclusive), as stored timestamps; None is open-ended. A date alone means the whole day."""

    start: str | None
    end: str | None

    @classmethod
    def parse(cls, start: str | None, end: str | None) -> Period:
        low = _moment(start, "--from", end_of_day=False) if start else None
        high = _moment(end, "--to", end_of_day=True) if end else None
        if low and high and low > high:
            raise UsageError(f"--from {start} is after --to {end}")
        return cls(low, high)

    def as_dict(self) -> dict[str, str | None]:
        return {"from": self.start, "to": self.end}


def _moment(text: str, flag: str, end_of_day: bool) -> str:
    value = text.strip()
    if _DATE.match(value):
        value += "T23:59:59.999999Z" if end_of_day else "T00:00:00.000000Z"
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise UsageError(f"{flag} takes a UTC date or time like 2026-01-31 or 2026-01-31T12:00:00Z, "
                         f"not {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return iso(moment)


def export_line(row: Any) -> bytes:
    body = record_bytes(row)
    if body is None:
        raise PolicyRefused(f"audit record {row[0]} cannot be exported: it is not a well-formed record")
    return (_LINE % (_QUOTE(row[2]), _QUOTE(row[1]), body.decode("utf-8"), row[0])).encode("utf-8")


def csv_row(row: Any) -> list[Any]:
    values = dict(zip(COLUMNS, (*row, None) if len(row) == len(COLUMNS) - 1 else row, strict=True))
    nulls = [name for name in NULLABLE if values[name] is None]
    return [values["seq"], values["hash"], values["prev_hash"],
            *("" if values[name] is None else values[name] for name in COLUMNS[3:]), " ".join(nulls)]


# --- reading an export back ---

_P1, _P2, _P3, _SEQ = b'{"hash":"', b'","prev_hash":"', b'","record":', b',"seq":'


def jsonl_links(path: Path) -> Iterator[Link]:
    with path.open("rb") as handle:
        for raw in handle:
            line = raw[:-1] if raw[-1:] == b"\n" else raw
            if line[-1:] == b"\r":
                line = line[:-1]
            if not line.strip():
                continue
            if line[:9] == _P1 and line[73:88] == _P2 and line[152:163] == _P3 and line[-1:] == b"}":
                cut = line.rfind(_SEQ)
                digits = line[cut + 7:-1]
                if cut > 163 and digits.isdigit():
                    try:
                        yield int(digits), line[88:152].decode("ascii"), line[9:73].decode("ascii"), line[163:cut]
                        continue
                    except UnicodeDecodeError:
                        pass
            yield _slow_link(line)


def _slow_link(line: bytes) -> Link:
    """A line in another layout than the exporter's (re-formatted): parse it and re-canonicalise."""
    try:
        data = json.loads(line)
        if not isinstance(data, dict) or set(data) != {"hash", "prev_hash", "record", "seq"}:
            raise ValueError("not an exported record")
        seq, prev_hash, digest, record = data["seq"], data["prev_hash"], data["hash"], data["record"]
        if not isinstance(seq, int) or not isinstance(record, dict):
            raise ValueError("not an exported record")
        return seq, str(prev_hash), str(digest), canonical_json(record)
    except (ValueError, UnicodeDecodeError):
        return None, "", "", None  # type: ignore[return-value]


def csv_links(path: Path) -> Iterator[Link]:
    with path.open(encoding="utf-8", newline="") as handle:
        rows = csv.reader(handle)
        header = next(rows, None)
        if header not in (CSV_HEADER, _CSV_HEADER_BEFORE_NODES):
            yield None, "", "", None  # type: ignore[misc]
            return
        assert header is not None
        width = len(header)
        for row in rows:
            if len(row) != width:
                yield None, "", "", None  # type: ignore[misc]
                continue
            seq = int(row[0]) if row[0].isdigit() else None
            values: list[Any] = [seq, row[2], row[1], *row[3:width - 1]]
            if width < len(CSV_HEADER):
                values.append(None)
            nulls = row[width - 1].split()
            body: bytes | None = None
            if all(name in NULLABLE and values[COLUMNS.index(name)] == "" for name in nulls):
                for name in nulls:
                    values[COLUMNS.index(name)] = None
                body = record_bytes(values)
            yield seq, row[2], row[1], body  # type: ignore[misc]


