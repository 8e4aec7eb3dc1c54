"""Shell completion of the names a command takes: operators, organisations, CA names and serials, read from
the CA home's database (never the HSM). A completer never fails: without a home it offers nothing."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from s1spki.home.config import resolve_home

if TYPE_CHECKING:
    from s1spki.store import StoreReader

LIMIT = 200  # a shell shows no more than this usefully


def _offer(read: Callable[[StoreReader, str], Iterable[str]]) -> Callable[[typer.Context, str], list[str]]:
    def complete(ctx: typer.Context, incomplete: str) -> list[str]:
        try:
            from s1spki.runtime import Runtime

            home = ctx.find_root().params.get("home")
            runtime = Runtime(resolve_home(Path(home) if home else None))
            try:
                typed = incomplete.casefold()
                found = [v for v in read(runtime.store.reader, incomplete) if v.casefold().startswith(typed)]
            finally:
                runtime.close()
        except Exception:  # completion must never print an error into the user's shell
            return []
        return sorted(found)[:LIMIT]

    return complete


operators = _offer(lambda reader, _: (o.name for o in reader.operators()))
organisations = _offer(lambda reader, _: (o.name for o in reader.organisations()))
ca_names = _offer(lambda reader, _: (c.name for c in reader.cas()))


def _serials(reader: StoreReader, typed: str) -> Iterable[str]:
    from s1spki.store.reader import CertificateQuery

    hex_typed = typed.upper().replace(":", "")
    if any(c not in "0123456789ABCDEF" for c in hex_typed):
        return []
    return (c.serial for c in reader.iter_certificates(CertificateQuery(serial=hex_typed, limit=LIMIT)))


serials = _offer(_serials)
