"""Check certificate or CRL files against the policy rules and RFC 5280: one line per finding, exit 3 if
any is an error or warning."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING

import typer

from s1spki.cli.context import CliContext, get
from s1spki.errors import LintRefused, S1spkiError, UsageError

if TYPE_CHECKING:
    from s1spki.lint import LintContext


def lint(
    ctx: typer.Context,
    files: list[Path] = typer.Argument(..., metavar="FILE", help="Certificate or CRL files (PEM or DER)."),
    issuer: Path | None = typer.Option(None, "--issuer", metavar="FILE",
                                       help="The CA certificate that should have issued them."),
    verify: bool = typer.Option(False, "--verify-signature", help="Also verify signatures (needs the issuer)."),
) -> None:
    from s1spki.lint import has_errors, lint_file

    cli = get(ctx)
    issuer_der = _read_issuer(issuer) if issuer else None
    context = _context(cli, issuer_der, verify)
    report: dict[str, list[dict[str, str]]] = {}
    failed = False
    for path in files:
        if not path.is_file():
            raise UsageError(f"{path}: no such file")
        findings = lint_file(path, context)
        failed = failed or has_errors(findings)
        report[str(path)] = [{"rule": f.rule, "severity": f.severity.value, "source": f.source,
                              "message": f.message} for f in findings]
        if not cli.json:
            for finding in findings:
                print(f"{path}: {finding.line()}")
    refused = LintRefused(f"lint found problems in {sum(1 for v in report.values() if v)} of {len(files)} file(s)")
    # the one JSON document: the findings, and when they refuse, the error with them
    error = {k: v for k, v in refused.as_dict().items() if k != "findings"} if failed else {}
    cli.emit({"files": report, "ok": not failed, **error}, None)
    if failed:
        raise refused


def _read_issuer(path: Path) -> bytes:
    from cryptography import x509
    from cryptography.hazmat.primitives import serialization

    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read --issuer {path}: {exc.strerror}") from None
    try:
        cert = x509.load_pem_x509_certificate(data) if b"-----BEGIN" in data else x509.load_der_x509_certificate(data)
    except ValueError:
        raise UsageError(f"--issuer {path} is not a certificate") from None
    return cert.public_bytes(serialization.Encoding.DER)


def _context(cli: CliContext, issuer_der: bytes | None, verify: bool) -> LintContext:
    """Inside a CA home the policy in force sets the rules; elsewhere the spec's defaults apply."""
    from s1spki.issuance.lint_gate import lint_context
    from s1spki.lint import LintContext

    if (cli.home / "s1spki.toml").is_file():
        try:
            base = lint_context(cli.runtime.policy_as_written(), None)
        except S1spkiError:
            base = LintContext()
    else:
        base = LintContext()
    return replace(base, issuer_der=issuer_der, check_signature=verify and issuer_der is not None)
