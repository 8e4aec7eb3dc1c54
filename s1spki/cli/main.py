"""The `s1spki` command: the root callback, the groups of interface.md, and the one place that turns
errors into a one-line message and an exit code (0 done, 1 unexpected, 2 usage, 3 refused, 4 auth,
5 HSM or database unavailable)."""

from __future__ import annotations

import json
import os
import sys
import traceback
from contextlib import suppress
from pathlib import Path

import typer

from s1spki.cli import audit, ceremony, cert, crl, db, est, init, lint, operator, org, policy, repo, request
from s1spki.cli.context import CliContext, RuntimeFactory, use_runtime_factory
from s1spki.errors import S1spkiError
from s1spki.home.config import resolve_home

app = typer.Typer(
    name="s1spki",
    help="Certificate authority and registration tooling for the FOC S1SPKI (SMETS1 service provider PKI).\n\n"
    "Start with `s1spki init --softhsm`, then the `ceremony` commands; see README.md for a first CA.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,  # locals may hold PINs or passphrases
    pretty_exceptions_enable=False,
)


@app.callback()
def root(
    ctx: typer.Context,
    home: Path | None = typer.Option(None, "--home", help="CA home (default: $S1SPKI_HOME, else ./s1spki-home)."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON document on stdout; talk on stderr."),
) -> None:
    ctx.obj = CliContext(resolve_home(home), json_output)


app.command("init", help=init.__doc__)(init.init)
app.command("lint", help=lint.__doc__)(lint.lint)
app.add_typer(operator.app, name="operator")
app.add_typer(ceremony.app, name="ceremony")
app.add_typer(org.app, name="org")
app.add_typer(request.app, name="request")
app.add_typer(cert.app, name="cert")
app.add_typer(audit.app, name="audit")
app.add_typer(crl.app, name="crl")
app.add_typer(repo.app, name="repo")
app.add_typer(db.app, name="db")
app.add_typer(policy.app, name="policy")
app.add_typer(est.app, name="est")


def _json_requested(argv: list[str]) -> bool:
    return "--json" in argv


def _global_json_first(argv: list[str]) -> list[str]:
    """`--json` is a global option; accept it after the command too (`s1spki cert list --json`)."""
    if "--json" not in argv or "--" in argv:
        return argv
    return ["--json"] + [a for a in argv if a != "--json"]


def main(runtime_factory: RuntimeFactory | None = None) -> None:
    """Run the command line; `runtime_factory` is for test-only entry points that inject a clock or seams."""
    if runtime_factory is not None:
        use_runtime_factory(runtime_factory)
    argv = _global_json_first(sys.argv[1:])
    code = 0
    try:
        app(args=argv, prog_name="s1spki")
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except S1spkiError as exc:
        code = exc.exit_code
        if _json_requested(argv):
            sys.stdout.write(json.dumps(exc.as_dict(), default=str) + "\n")
        sys.stderr.write(f"s1spki: {exc.message}\n")
    except KeyboardInterrupt:
        sys.stderr.write("s1spki: interrupted\n")
        code = 1
    except Exception as exc:  # a bug, not a user's mistake: one line, the trace only on request
        if os.environ.get("S1SPKI_DEBUG"):
            traceback.print_exc()
        sys.stderr.write(f"s1spki: unexpected error ({type(exc).__name__}); set S1SPKI_DEBUG=1 for details\n")
        code = 1
    finally:
        code = _finish(code)
        _close()
    sys.exit(code)


def _finish(code: int) -> int:
    """After every command, done or refused: sign a checkpoint of the audit chain if it grew (s1spki.audit).

    A checkpoint refused because records cannot be vouched for fails the command (one line, exit 3), whatever
    it did; one that could not be made for another reason, after a successful command, is a warning."""
    from s1spki.cli.context import OPENED

    for opened in OPENED:
        try:
            told = opened.finish(code)
        except Exception as exc:  # the command's own result stands
            told = (f"the audit chain could not be checkpointed ({type(exc).__name__})",)
        for item in told:
            if isinstance(item, S1spkiError):
                sys.stderr.write(f"s1spki: {item.message}\n")
                code = code or item.exit_code
            elif code == 0:
                sys.stderr.write(f"s1spki: warning: {item}\n")
    return code


def _close() -> None:
    if "s1spki.hsm" not in sys.modules:
        return
    from s1spki.hsm import Hsm

    with suppress(Exception):  # closing must never mask the command's own result
        Hsm.close_all()
