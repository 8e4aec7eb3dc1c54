"""Key ceremonies: generate a CA key in the HSM under multi-person control and certify it.

In a root home: `root`, then `sign-issuing` for each request bundle brought from an online home. In an online
home: `issuing` (the key and its request bundle), then `import-issuing` of the root's response bundle."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import typer

from s1spki.cli import complete
from s1spki.cli.context import CliContext, get, note
from s1spki.cli.output import check_out
from s1spki.cli.params import as_option, out_option

if TYPE_CHECKING:
    from s1spki.ra.issuing_ceremony import Written

CUSTODIANS = "the participants rapp/operations.toml names for the ceremony, e.g. two key custodians"

app = typer.Typer(help="Key ceremonies under multi-person control: the root (root home); an issuing CA as a request "
                       "bundle (online home), signed at the root (sign-issuing) and installed (import-issuing).",
                  no_args_is_help=True)

SHA256_HELP = ("The bundle's SHA-256 as the custodians at the other home read it out (all 64 hex digits, or the "
               "first 16 or more): a bundle changed or swapped on the way is refused.")


@app.command("root", epilog="Example: s1spki ceremony root --as alice --as bob")
def root(
    ctx: typer.Context,
    as_: list[str] = as_option(CUSTODIANS),
    name: str | None = typer.Option(None, "--name", metavar="NAME",
                                    help="The root CA's common name (default from policy/)."),
) -> None:
    """Root home: generate the root key on the root token and make the self-signed root certificate."""
    from s1spki.ra.ceremony import run_ceremony

    cli = get(ctx)
    record, transcript = run_ceremony(cli.command(as_), "root", name)
    cli.emit({**record.as_dict(), "transcript": str(transcript)},
             f"root CA {record.name!r} created: serial {record.certificate.serial}, sha256 "
             f"{record.certificate.fingerprint}\ntranscript: {transcript}")
    if not cli.json:
        note(f"next: `s1spki init --root-cert ROOT.pem --root-fingerprint {record.certificate.fingerprint}` for the "
             "online home (`s1spki cert export` writes ROOT.pem)")


@app.command("issuing", epilog="Example: s1spki ceremony issuing --as alice --as bob")
def issuing(
    ctx: typer.Context,
    as_: list[str] = as_option(CUSTODIANS),
    name: str | None = typer.Option(None, "--name", metavar="NAME",
                                    help="The issuing CA's common name (default from policy/)."),
    out: Path | None = out_option("Where to write the request bundle (default: HOME/bundles/)."),
    replace: bool = typer.Option(False, "--replace", help="Make a new key and request in place of one already "
                                 "made for this CA (which is then never installed)."),
    root_name: str | None = typer.Option(None, "--root", metavar="NAME", autocompletion=complete.ca_names,
                                         help="A home made before root and online homes were apart: the root that "
                                              "certifies it there (default: the root)."),
) -> None:
    """Online home: generate an issuing CA key on the online token and write its request bundle (the PKCS#10
    request, the transcript, the custodians' statements) for the root home. Run again, it writes the same bundle
    again."""
    cli = get(ctx)
    if cli.runtime.kind == "combined":
        from s1spki.ra.ceremony import run_ceremony

        record, transcript = run_ceremony(cli.command(as_), "issuing", name, root_name)
        cli.emit({**record.as_dict(), "transcript": str(transcript)},
                 f"issuing CA {record.name!r} created: serial {record.certificate.serial}, sha256 "
                 f"{record.certificate.fingerprint}\ntranscript: {transcript}")
        _first_crl_note(cli, record.name)
        return
    from s1spki.ra.issuing_ceremony import request_issuing

    written = request_issuing(cli.command(as_), name, out and check_out(out), replace)
    again = " (written again from the record of the earlier ceremony)" if written.again else ""
    _carry(cli, written, f"request bundle for issuing CA {written.ca_name!r} written to {written.path}{again}",
           "the root home", "sign-issuing")


@app.command("sign-issuing", epilog="Example: s1spki ceremony sign-issuing issuing-request.json --sha256 "
             "9f86d081884c7d65 --as alice --as bob --out issuing-response.json")
def sign_issuing(
    ctx: typer.Context,
    bundle: Path = typer.Argument(..., metavar="BUNDLE", help="The request bundle from the online home."),
    sha256: str = typer.Option(..., "--sha256", metavar="HEX", help=SHA256_HELP),
    as_: list[str] = as_option(CUSTODIANS),
    out: Path | None = out_option("Where to write the response bundle (default: HOME/bundles/)."),
) -> None:
    """Root home: check a request bundle (digest, statements, proof of possession, subject), sign the issuing CA
    certificate from policy/ with the root key, and write the response bundle for the online home."""
    from s1spki.ra.issuing_ceremony import sign_issuing as sign

    cli = get(ctx)
    written = sign(cli.command(as_), bundle, sha256, out and check_out(out))
    _carry(cli, written, f"issuing CA {written.ca_name!r} certified: serial {written.facts['serial']}, sha256 "
                         f"{written.facts['sha256_fingerprint']}\nresponse bundle: {written.path}", "the online home",
           "import-issuing")


@app.command("import-issuing", epilog="Example: s1spki ceremony import-issuing issuing-response.json --sha256 "
             "60303ae22b998861 --as alice --as bob")
def import_issuing(
    ctx: typer.Context,
    bundle: Path = typer.Argument(..., metavar="BUNDLE", help="The response bundle from the root home."),
    sha256: str = typer.Option(..., "--sha256", metavar="HEX", help=SHA256_HELP),
    as_: list[str] = as_option(CUSTODIANS),
) -> None:
    """Online home: install the issuing CA certificate of a response bundle once it certifies the key this home
    generated, chains to the pinned root and passes lint."""
    from s1spki.ra.issuing_ceremony import import_issuing as install

    cli = get(ctx)
    record = install(cli.command(as_), bundle, sha256)
    cli.emit(record.as_dict(), f"issuing CA {record.name!r} installed: serial {record.certificate.serial}, sha256 "
                               f"{record.certificate.fingerprint}")
    _first_crl_note(cli, record.name)


def _carry(cli: CliContext, written: Written, said: str, home: str, command: str) -> None:
    """Say what was written and its digest, and (to a person) what the custodians at the other home do next."""
    cli.emit(written.as_dict(), f"{said}\nbundle sha256: {written.sha256}")
    if not cli.json:
        note(f"next: carry the bundle to {home}; its custodians compare the sha256 read out from here and run "
             f"`s1spki ceremony {command} BUNDLE --sha256 SHA256 --as CUSTODIAN --as CUSTODIAN`")


def _first_crl_note(cli: CliContext, ca_name: str) -> None:
    if not cli.json:
        note(f"next: issue its first CRL with `s1spki crl issue --ca \"{ca_name}\" --as NAME` (an RA officer or "
             "manager, rapp/ crl.issue); relying parties need it before its certificates are used")
