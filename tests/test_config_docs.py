"""docs/configuration.md lists every key `s1spki.toml` may hold: each table of the schema has a section, each key
a row, so a key added to the schema without its documentation fails here."""

from __future__ import annotations

import re
import types
from typing import Any

from pydantic import BaseModel

from s1spki.home.config_schema import ConfigFile
from tests.conftest import REPO


def _sections() -> dict[str, str]:
    text = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    parts = re.split(r"(?m)^## `\[([a-z_]+)\]`\s*$", text)
    return dict(zip(parts[1::2], parts[2::2], strict=True))


def _table(annotation: Any) -> Any:
    """The table's model, also of an optional table (`HsmTable | None`)."""
    if isinstance(annotation, types.UnionType):
        models = [a for a in annotation.__args__ if a is not type(None)]
        return models[0] if len(models) == 1 else annotation
    return annotation


def test_every_key_of_s1spki_toml_is_documented() -> None:
    sections = _sections()
    missing = []
    for table, field in ConfigFile.model_fields.items():
        model = _table(field.annotation)
        assert isinstance(model, type) and issubclass(model, BaseModel), f"[{table}] is not a table"
        if table not in sections:
            missing.append(f"[{table}]")
            continue
        missing += [f"[{table}] {key}" for key in model.model_fields
                    if not re.search(rf"(?m)^\| `{re.escape(key)}` \|", sections[table])]
    assert not missing, f"docs/configuration.md does not document: {', '.join(missing)}"


def test_the_page_documents_no_key_the_schema_lacks() -> None:
    known = {table: set(_table(field.annotation).model_fields) for table, field in ConfigFile.model_fields.items()}
    extra = [f"[{table}] {key}" for table, body in _sections().items()
             for key in re.findall(r"(?m)^\| `([a-z_]+)` \|", body) if key not in known.get(table, set())]
    assert not extra, f"docs/configuration.md documents keys s1spki.toml does not have: {', '.join(extra)}"
