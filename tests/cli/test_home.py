"""The CA home: made 0700 with its database 0600; a reading command on a home whose database is missing says
so and never makes an empty one; `init` on a home that exists changes nothing; after the issuing ceremony the
hint says how to issue the first CRL; a command closes its database as it ends, whatever its outcome."""

from __future__ import annotations

import stat
from pathlib import Path

from tests.conftest import PEOPLE, CaHome, run_s1spki


def _tree(root: Path) -> dict[str, tuple[int, bytes | None]]:
    return {str(p): (p.stat().st_mode, p.read_bytes() if p.is_file() else None) for p in sorted(root.rglob("*"))}


def test_the_home_is_0700_and_its_database_0600(ca_template: Path) -> None:
    assert stat.S_IMODE(ca_template.stat().st_mode) == 0o700  # `operator keygen` made it first, `init` closed it
    for name in ("s1spki.db", "s1spki.db-wal", "s1spki.db-shm"):
        path = ca_template / name
        if path.exists():
            assert stat.S_IMODE(path.stat().st_mode) == 0o600, f"{name}: {oct(path.stat().st_mode)}"


def test_a_missing_database_is_said_and_never_made(ca: CaHome) -> None:
    for name in ("s1spki.db", "s1spki.db-wal", "s1spki.db-shm"):
        (ca.home / name).unlink(missing_ok=True)
    for args in (["cert", "list"], ["operator", "list"], ["db", "status"], ["audit", "verify"]):
        result = ca.run(*args)
        assert result.code == 5, f"{args}: {result}"
        assert "missing: restore it from backup" in result.stderr and len(result.stderr.splitlines()) == 1, \
            str(result)
        assert not (ca.home / "s1spki.db").exists(), f"{args} made an empty database"


def test_a_command_closes_its_database_as_it_ends(ca: CaHome) -> None:
    # the process ends without the interpreter's teardown (cli/main.py _leave): the command closes its store
    # itself, so SQLite checkpoints the write-ahead log into the database and removes it, as after a clean exit
    issued = ca.issue_new()
    for args, code in ((["cert", "show", str(issued["id"])], 0), (["cert", "revoke", "nonsense"], 2),
                       (["cert", "issue", "--all-approved", "--as", "carol"], 0)):
        result = ca.run(*args)
        assert result.code == code, f"{args}: {result}"
        left = [name for name in ("s1spki.db-wal", "s1spki.db-shm") if (ca.home / name).exists()]
        assert not left, f"{args} left {left} open"


def test_init_on_a_home_that_exists_changes_nothing(ca: CaHome) -> None:
    before = _tree(ca.home)
    people = []
    for person, kind in PEOPLE.items():
        flag = "--custodian" if kind == "custodian" else "--ra-manager"
        people += [flag, f"{person}={ca.home / 'credentials' / f'{person}.pub.pem'}"]
    for extra in ([], ["--pin-file", str(ca.home / "secrets" / "other.pin")]):
        result = run_s1spki(ca.home, "init", "--softhsm", *people, *extra)
        assert result.code == 3 and "already an s1spki CA home" in result.stderr, str(result)
        assert _tree(ca.home) == before


def test_the_issuing_ceremony_says_how_to_issue_the_first_crl(ca: CaHome) -> None:
    assert ca.root is not None
    people = ["--as", "alice", "--as", "bob"]
    asked = ca.ok("--json", "ceremony", "issuing", "--name", "S1SPKI Issuing CA 2", *people).json()
    signed = ca.root.ok("--json", "ceremony", "sign-issuing", asked["bundle"], "--sha256", asked["sha256"],
                        *people).json()
    installed = ca.run("ceremony", "import-issuing", signed["bundle"], "--sha256", signed["sha256"], *people)
    assert installed.code == 0, str(installed)
    assert 's1spki crl issue --ca "S1SPKI Issuing CA 2"' in installed.stderr and "first CRL" in installed.stderr, \
        str(installed)
