"""The `s1spki` command: the root callback, the groups of interface.md, and the one place that turns
errors into a one-line message and an exit code (0 done, 1 unexpected, 2 usage, 3 refused, 4 auth,
5 HSM or database unavailable)."""

from __future__ import annotations

import atexit
import errno
import importlib
import json
import logging
import os
import sys
import tomllib
import traceback
from contextlib import suppress
from pathlib import Path
from typing import Any, NoReturn

import typer

from s1spki import oplog
from s1spki.cli import init, lint
from s1spki.cli.context import CliContext, RuntimeFactory, documents_emitted, use_runtime_factory
from s1spki.errors import ConfigError, S1spkiError, UsageError
from s1spki.home.config import CONFIG_NAME, resolve_home

log = logging.getLogger("s1spki.cli")


class _Run:
    """The command being run (`cert issue`), and whether its start was logged (then its outcome is too)."""

    command = "s1spki"
    logged = False


# the command groups of interface.md, each the `app` of the module s1spki.cli.<name>, in the order help lists them
GROUPS = ("operator", "ceremony", "org", "request", "cert", "audit", "crl", "repo", "db", "policy", "est", "hsm")
COMPLETION_VARIABLE = "_S1SPKI_COMPLETE"  # set by the shell's completion script (--install-completion)


def _show_version(value: bool) -> None:
    if value:
        from s1spki import __version__

        sys.stdout.write(f"s1spki {__version__}\n")
        raise typer.Exit()


def root(
    ctx: typer.Context,
    _version: bool = typer.Option(False, "--version", callback=_show_version, is_eager=True,
                                  help="Print the version of s1spki and exit."),
    home: Path | None = typer.Option(None, "--home", help="CA home (default: $S1SPKI_HOME, else ./s1spki-home)."),
    json_output: bool = typer.Option(False, "--json", help="Print one JSON document on stdout; talk on stderr."),
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, show_default=False,
                                help="Operational log lines on stderr (or --log-to): -v info, -vv debug."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Operational log: errors only, no warnings."),
    log_format: str | None = typer.Option(None, "--log-format", metavar="plain|json",
                                          help="Operational log lines as plain text (default) or JSON lines."),
    log_to: str | None = typer.Option(None, "--log-to", metavar="PLACE",
                                      help="Operational log to stderr (default), syslog, syslog:/PATH, "
                                           "syslog://HOST:PORT, journald or journald:/PATH."),
) -> None:
    ctx.obj = CliContext(resolve_home(home), json_output)
    if verbose and quiet:
        raise UsageError("-v and -q together: give one of them (see --help)")
    level = "error" if quiet else {0: None, 1: "info"}.get(verbose, "debug")
    _start_logging(ctx.obj.home, {"level": level, "format": log_format, "to": log_to})


def _start_logging(home: Path, command_line: dict[str, str | None]) -> None:
    """The operational log as the command line, the environment and the home's [logging] table say (oplog.py)."""
    try:
        chosen = oplog.settings(command_line, os.environ, _logging_table(home))
    except oplog.SettingError as exc:
        if exc.in_file:
            raise ConfigError(f"{home / CONFIG_NAME}: {exc}") from None
        raise UsageError(f"{exc} (see --help)") from None
    oplog.configure(chosen, home=str(home), command=_Run.command)
    _Run.logged = True
    log.info("%s started", _Run.command)


def _logging_table(home: Path) -> dict[str, object]:
    """The [logging] table of the home's s1spki.toml, read before anything else of it (none yet: nothing)."""
    try:
        with (home / CONFIG_NAME).open("rb") as file:
            table = tomllib.load(file).get("logging", {})
    except (OSError, tomllib.TOMLDecodeError):
        return {}  # no home yet, or a file the command reports on when it reads it
    return table if isinstance(table, dict) else {}


def _reflowed(text: str | None) -> str:
    """A docstring's paragraphs each on one line, so that listings of commands wrap them to the terminal."""
    return "\n\n".join(" ".join(p.split()) for p in (text or "").split("\n\n"))


def _app(groups: tuple[str, ...]) -> typer.Typer:
    """The `s1spki` command with the root's own commands and `groups`."""
    app = typer.Typer(
        name="s1spki",
        help="Certificate authority and registration tooling for the FOC S1SPKI (SMETS1 service provider PKI).\n\n"
        "Start with `s1spki init --softhsm`, then the `ceremony` commands; see README.md for a first CA.",
        no_args_is_help=True,
        add_completion=True,  # --install-completion / --show-completion; completers in cli/complete.py
        pretty_exceptions_show_locals=False,  # locals may hold PINs or passphrases
        pretty_exceptions_enable=False,
    )
    app.callback()(root)
    app.command("init", help=_reflowed(init.__doc__),
                epilog="Example: s1spki init --softhsm --custodian alice=alice.pub.pem "
                       "--custodian bob=bob.pub.pem --ra-manager carol=carol.pub.pem")(init.init)
    app.command("lint", help=_reflowed(lint.__doc__),
                epilog="Example: s1spki lint --issuer issuing.pem acme-ds.pem")(lint.lint)
    for name in groups:
        app.add_typer(importlib.import_module(f"s1spki.cli.{name}").app, name=name)
    return app


def _command_tree(argv: list[str]) -> Any:
    """The command tree a command line needs: the root and the one group it names, or every group for the root's
    help, shell completion or a word that names none (so that its error and suggestions are the same). Building
    every group's commands costs ~30 ms of a reading command's 0.5 s start."""
    named = _first_word(typer.main.get_command(_app(())), argv)
    one = named in GROUPS and COMPLETION_VARIABLE not in os.environ
    command = typer.main.get_command(_app((named,) if one else GROUPS))
    _tidy(command)
    return command


def _first_word(root_command: Any, argv: list[str]) -> str | None:
    """The first word of a command line that is neither a root option nor an option's value (`cert` in
    `s1spki --home H cert show 3`)."""
    words = iter(argv)
    for word in words:
        if not word.startswith("-"):
            return word
        option = next((p for p in root_command.params if word.split("=")[0] in getattr(p, "opts", ())), None)
        if option is not None and not option.is_flag and not option.count and "=" not in word:
            next(words, None)
    return None


def _json_requested(argv: list[str]) -> bool:
    return "--json" in argv


_GLOBAL_FLAGS = ("--json", "-v", "-vv", "--verbose", "-q", "--quiet")


def _global_json_first(argv: list[str]) -> list[str]:
    """`--json`, `-v` and `-q` are global options; accept them after the command too (`s1spki cert list --json`)."""
    if not any(a in _GLOBAL_FLAGS for a in argv) or "--" in argv:
        return argv
    return [a for a in argv if a in _GLOBAL_FLAGS] + [a for a in argv if a not in _GLOBAL_FLAGS]


def _command_path(command: Any, argv: list[str]) -> str:
    """The command named on the line (`cert issue`), for the log: group names, skipping options and their values."""
    names: list[str] = []
    words = iter(argv)
    for word in words:
        if word.startswith("-"):
            option = next((p for p in command.params if word.split("=")[0] in getattr(p, "opts", ())), None)
            if option is not None and not getattr(option, "is_flag", True) and not getattr(option, "count", False) \
                    and "=" not in word:
                next(words, None)
            continue
        sub = getattr(command, "commands", {}).get(word)
        if sub is None:
            break
        names.append(word)
        command = sub
    return " ".join(names) or "s1spki"


def _tidy(command: Any) -> None:
    """Help that names what a value is, never a Python type: a flag shows no metavar, a value without a metavar of
    its own is named after its option (--pin-file PIN_FILE)."""
    for param in [*command.params, command.get_help_option(typer.Context(command))]:
        if param is None:
            continue
        if param.param_type_name == "argument":  # its metavar names it; the library would add a type column
            param.display_type_rich = lambda ctx: None
        if param.metavar is None:
            param.metavar = "" if getattr(param, "is_flag", False) else param.name.upper()
    command.help = _reflowed(command.help) if command.help else command.help
    for sub in getattr(command, "commands", {}).values():
        _tidy(sub)


def _not_utf8(argv: list[str]) -> int | None:
    """The position of the first argument that is not valid UTF-8 (Python keeps its bytes as surrogates)."""
    for position, value in enumerate(argv, 1):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return position
    return None


def _usage_error(exc: typer.TyperException) -> int:
    """The CLI library's usage errors as one line, not its boxes (the bare help when no command was given)."""
    message = exc.format_message()
    if type(exc).__name__ == "NoArgsIsHelpError":
        sys.stderr.write(message.rstrip("\n") + "\n")
    else:
        sys.stderr.write(f"s1spki: {' '.join(message.split())} (see --help)\n")
    return int(getattr(exc, "exit_code", 2))


def main(runtime_factory: RuntimeFactory | None = None) -> NoReturn:
    """Run the command line and end the process with its exit code (_leave); `runtime_factory` is for test-only
    entry points that inject a clock or seams."""
    if runtime_factory is not None:
        use_runtime_factory(runtime_factory)
    argv = _global_json_first(sys.argv[1:])
    code = 0
    failure: str | None = None  # the one-line error the user is told, for the log's outcome line
    try:
        bad = _not_utf8(argv)
        if bad is not None:
            raise UsageError(f"argument {bad} is not valid UTF-8: give names, paths and values in UTF-8 (see --help)")
        command = _command_tree(argv)
        _Run.command = _command_path(command, argv)
        returned = command.main(args=argv, prog_name="s1spki", standalone_mode=False)
        code = returned if isinstance(returned, int) else 0  # the library's exit code (e.g. after --help)
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
    except typer.TyperException as exc:  # the CLI library's own: a usage error (exit 2)
        code = _usage_error(exc)
        failure = " ".join(exc.format_message().split())
    except typer.Abort:  # input ended at a prompt
        sys.stderr.write("s1spki: aborted: the input ended at a prompt\n")
        code = 2
    except S1spkiError as exc:
        code = exc.exit_code
        if _json_requested(argv) and not documents_emitted():
            sys.stdout.write(json.dumps(exc.as_dict(), default=str) + "\n")
        sys.stderr.write(f"s1spki: {exc.message}\n")
        failure = f"{exc.kind}: {exc.message}"
    except KeyboardInterrupt:
        sys.stderr.write("s1spki: interrupted\n")
        code = 1
    except Exception as exc:  # a bug, not a user's mistake (unless the system refused a write): one line
        code = 1
        if isinstance(exc, OSError) and _system_refused(exc):
            failure = f"the command stopped: {exc.strerror}"
        else:
            if os.environ.get("S1SPKI_DEBUG"):
                traceback.print_exc()
            sys.stderr.write(f"s1spki: unexpected error ({type(exc).__name__}); set S1SPKI_DEBUG=1 for details\n")
            failure = f"unexpected error ({type(exc).__name__})"
            log.debug("unexpected error", exc_info=True)
    finally:
        code = _finish(code)
        _log_outcome(code, failure)
        _close()
    _leave(code)


# Why a write fails where no bug is: the disk or quota is full, the file too large, the device failing.
_WRITE_REFUSED = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO)


def _system_refused(exc: OSError) -> bool:
    """Say in one line that the system refused a write the command made, and give up the output (what was
    written of it stands) so that the process's end does not fail on it again. False for any other OSError: that
    is a bug's, reported as one. (A closed pipe mid-command never comes here: the CLI library ends the command
    quietly with exit 1.)"""
    if exc.errno not in _WRITE_REFUSED:
        return False
    with suppress(OSError, ValueError):
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - stands for the output until the process ends
    where = f" ({exc.filename})" if exc.filename else ""
    sys.stderr.write(f"s1spki: the command stopped: a write failed: {exc.strerror}{where}\n")
    return True


def _log_outcome(code: int, failure: str | None) -> None:
    """The command's outcome, at info: its error is already the one line the user was told."""
    if not _Run.logged:
        return
    outcome = "done" if code == 0 else "refused" if code in (2, 3, 4) else "error"
    log.info("%s %s (exit %d)%s", _Run.command, outcome, code, f": {failure}" if failure else "",
             extra=oplog.fields(outcome=outcome, exit_code=code))


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
    """The command's stores (SQLite checkpoints and removes its WAL as the last connection closes) and HSM
    sessions; closing must never mask the command's own result."""
    from s1spki.cli.context import OPENED

    for opened in OPENED:
        with suppress(Exception):
            opened.close()
    if "s1spki.hsm" not in sys.modules:
        return
    from s1spki.hsm import Hsm

    with suppress(Exception):
        Hsm.close_all()


def _leave(code: int) -> NoReturn:
    """End the process without the interpreter's teardown, which frees every object of SQLAlchemy, pydantic and
    cryptography one at a time in a process about to end anyway (0.1-0.2 s of a 0.5 s `cert show`). What the
    teardown does that matters is done first: the exit handlers (the HSM's logout, logging's flush) and stdout
    and stderr flushed; _close closed the stores and HSM sessions."""
    atexit._run_exitfuncs()
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        pass  # the reader went away (`| head`): what it read stands
    except (OSError, ValueError) as exc:  # a full disk under `> file`: the document is cut short, so say so
        sys.stderr.write(f"s1spki: the output could not be written in full: {getattr(exc, 'strerror', None) or exc}\n")
        code = code or 1
    with suppress(Exception):
        sys.stderr.flush()
    os._exit(code & 0xFF)
