"""The options and arguments several commands share, declared once: the same flag name, metavar, help and
completer everywhere (`--ca` names a CA in every command; an id is ID, a serial SERIAL)."""

from __future__ import annotations

from typing import Any

import typer

from s1spki.cli import complete

# SQLite and PostgreSQL keep ids in 64 bits: a larger number is a usage error, never an overflow.
MAX_ID = 2**63 - 1


def as_option(needed: str = "the participants rapp/ names") -> Any:
    """--as NAME, repeated: required where rapp/ needs a participant (checked, and refused, by the RAPP)."""
    return typer.Option([], "--as", metavar="NAME", autocompletion=complete.operators,
                        help=f"Required: the operator doing this, then each other participant ({needed}); each "
                             "signs with their own credential. Repeat for several people.")


def ca_option(help: str = "The CA, by name, when there are several.") -> Any:
    return typer.Option(None, "--ca", metavar="NAME", autocompletion=complete.ca_names, help=help)


def check_ids(value: Any) -> Any:
    """An id (or each of several) from 1 to MAX_ID: a larger number is a usage error, not an overflow."""
    for number in value if isinstance(value, list) else [value]:
        if number is not None and not 1 <= number <= MAX_ID:
            raise typer.BadParameter(f"{number} is not an id (1 to {MAX_ID})")
    return value


def check_count(value: int | None) -> int | None:
    if value is not None and not 1 <= value <= MAX_ID:
        raise typer.BadParameter(f"{value} is not a count (1 to {MAX_ID})")
    return value


def request_id_argument(help: str) -> Any:
    return typer.Argument(..., metavar="ID", callback=check_ids, help=help)


def certificate_argument(help: str = "The certificate: its id (`cert list`), or its serial in hex.") -> Any:
    return typer.Argument(..., metavar="ID|SERIAL", autocompletion=complete.serials, help=help)


def operator_argument(help: str) -> Any:
    return typer.Argument(..., metavar="NAME", autocompletion=complete.operators, help=help)


def org_argument(help: str = "The organisation.") -> Any:
    return typer.Argument(..., metavar="ORG", autocompletion=complete.organisations, help=help)


def org_option(help: str, required: bool = False) -> Any:
    return typer.Option(... if required else None, "--org", metavar="ORG", autocompletion=complete.organisations,
                        help=help)


def out_option(help: str, required: bool = False) -> Any:
    return typer.Option(... if required else None, "--out", metavar="FILE", help=help)


def limit_option() -> Any:
    return typer.Option(None, "--limit", metavar="N", callback=check_count, help="List at most N (1 or more).")
