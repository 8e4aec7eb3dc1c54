"""Reading an export back gives the very links the store holds, in both formats; a line re-formatted by
another JSON tool still verifies, and a changed one does not."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from s1spki.audit.export_format import CSV_HEADER, csv_links, csv_row, export_line, jsonl_links
from s1spki.audit.verify import ALTERED, verify_chain
from tests.audit.factory import HOME_ID, chain, links


def _jsonl(path: Path, rows: list) -> Path:
    path.write_bytes(b"".join(export_line(r) for r in rows))
    return path


def _csv(path: Path, rows: list) -> Path:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(CSV_HEADER)
        for row in rows:
            writer.writerow(csv_row(row))
    return path


def test_jsonl_and_csv_read_back_as_the_stored_links(tmp_path: Path) -> None:
    rows = chain(30)
    assert list(jsonl_links(_jsonl(tmp_path / "a.jsonl", rows))) == links(rows)
    assert list(csv_links(_csv(tmp_path / "a.csv", rows))) == links(rows)


def test_a_reformatted_line_still_verifies_and_a_changed_one_does_not(tmp_path: Path) -> None:
    rows = chain(10)
    path = _jsonl(tmp_path / "a.jsonl", rows)
    lines = path.read_text(encoding="utf-8").splitlines()
    lines[3] = json.dumps(json.loads(lines[3]), indent=None, ensure_ascii=True)  # spaces, \\u escapes
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    end = (10, rows[-1][2])
    assert verify_chain(jsonl_links(path), trusted={}, home_id=HOME_ID, end=end).ok
    data = json.loads(lines[3])
    data["record"]["actor"] = "mallory"
    lines[3] = json.dumps(data)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    problem = verify_chain(jsonl_links(path), trusted={}, home_id=HOME_ID, end=end).first_problem
    assert problem is not None and (problem.seq, problem.kind) == (4, ALTERED), problem


def test_a_null_written_as_an_empty_string_in_csv_is_altered(tmp_path: Path) -> None:
    rows = chain(6)
    path = _csv(tmp_path / "a.csv", rows)
    table = list(csv.reader(path.open(newline="", encoding="utf-8")))
    assert "object_id" in table[5][-1]  # record 5 has no object id (null_fields is the last column)
    table[5][-1] = table[5][-1].replace("object_id", "").strip()
    with path.open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(table)
    problem = verify_chain(csv_links(path), trusted={}, home_id=HOME_ID, end=(6, rows[-1][2])).first_problem
    assert problem is not None and (problem.seq, problem.kind) == (5, ALTERED), problem
