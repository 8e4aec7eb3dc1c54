"""Run every registered rule, then pkilint, on a certificate, a CRL, raw DER or a file.

Nothing here raises on bad input: an object that cannot be decoded is one ERROR finding, and a rule that
trips over a malformed field reports that as its finding (`registry.Rule.run`). Only an unreadable file
raises (`UsageError`), since there is nothing to lint.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Iterable
from pathlib import Path

from asn1crypto import pem

from s1spki.collector import collector_paused
from s1spki.errors import UsageError
from s1spki.lint import crl as _crl_rules  # noqa: F401 - registers the CRL rules
from s1spki.lint import gbcs as _gbcs_rules  # noqa: F401 - registers the certificate rules
from s1spki.lint.document import CertificateDocument, CrlDocument, kind
from s1spki.lint.model import Finding, LintContext, Severity
from s1spki.lint.registry import CERTIFICATE_RULES, CRL_RULES, Rule, one_line

DEFAULT_CONTEXT = LintContext()
_PEM_LINTERS = {"CERTIFICATE": "certificate", "X509 CRL": "crl"}


@functools.cache
def _pkilint():  # type: ignore[no-untyped-def]
    """pkilint costs ~0.2 s to import: only commands that lint pay for it. It loads, and its certificate
    validators are built, with the collector paused (s1spki/collector.py): they live as long as the process."""
    with collector_paused():
        from s1spki.lint import pkilint_adapter

        pkilint_adapter.certificate_validator()
    return pkilint_adapter


def load_pkilint() -> None:
    """Import pkilint and build its validators now: a server does so once before it forks its workers, which then
    share them and lint their first certificate as fast as their next."""
    _pkilint()


def _undecodable(what: str, exc: Exception) -> Finding:
    return Finding("rfc5280.der_decoding", Severity.ERROR, one_line(f"not a DER {what}: {exc}"), "rfc5280")


def _not_certificate_or_crl(reason: str) -> Finding:
    return Finding(
        "rfc5280.not_certificate_or_crl",
        Severity.ERROR,
        one_line(f"not a certificate or CRL: {reason}"),
        "rfc5280",
    )


def lint_certificate(der: bytes, context: LintContext = DEFAULT_CONTEXT) -> tuple[Finding, ...]:
    """Our GBCS/policy rules, then pkilint's RFC 5280 findings at WARNING and above."""
    try:
        document = CertificateDocument(der, context)
    except Exception as exc:  # noqa: BLE001 - any decoding failure is a finding, not a crash
        return (_undecodable("certificate", exc),)
    findings = [finding for rule in CERTIFICATE_RULES for finding in rule.run(document)]
    return (*findings, *_pkilint().lint_certificate(der))


def lint_crl(der: bytes, context: LintContext = DEFAULT_CONTEXT) -> tuple[Finding, ...]:
    """Our CRL rules, then pkilint's RFC 5280 CRL findings at WARNING and above."""
    try:
        document = CrlDocument(der, context)
    except Exception as exc:  # noqa: BLE001 - any decoding failure is a finding, not a crash
        return (_undecodable("CRL", exc),)
    findings = [finding for rule in CRL_RULES for finding in rule.run(document)]
    return (*findings, *_pkilint().lint_crl(der))


def lint_der(der: bytes, context: LintContext = DEFAULT_CONTEXT) -> tuple[Finding, ...]:
    """Lint DER that may be a certificate or a CRL; anything else is one ERROR finding."""
    try:
        found = kind(der)
    except Exception as exc:  # noqa: BLE001 - garbage in, one finding out
        return (_not_certificate_or_crl(str(exc)),)
    return lint_certificate(der, context) if found == "certificate" else lint_crl(der, context)


def _lint_pem(data: bytes, context: LintContext) -> tuple[Finding, ...]:
    try:
        blocks = list(pem.unarmor(data, multiple=True))
    except ValueError as exc:
        return (_not_certificate_or_crl(f"malformed PEM: {exc}"),)
    findings: list[Finding] = []
    for index, (label, _headers, block) in enumerate(blocks, 1):
        kind = _PEM_LINTERS.get(label)
        if kind == "certificate":
            found = lint_certificate(block, context)
        elif kind == "crl":
            found = lint_crl(block, context)
        else:
            found = (_not_certificate_or_crl(f"a PEM block labelled {label!r}"),)
        if len(blocks) > 1:
            found = tuple(dataclasses.replace(f, message=f"block {index}: {f.message}") for f in found)
        findings.extend(found)
    return tuple(findings)


def lint_file(path: Path, context: LintContext = DEFAULT_CONTEXT) -> tuple[Finding, ...]:
    """Lint a PEM file (one or more CERTIFICATE or X509 CRL blocks) or a DER file."""
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {path}: {exc.strerror or exc}", path=str(path)) from exc
    if pem.detect(data):
        return _lint_pem(data, context)
    return lint_der(data, context)


def has_errors(findings: Iterable[Finding]) -> bool:
    """Whether the findings must stop issuance: any ERROR or WARNING, whatever its source.

    The gate refuses on WARNING too (pkilint's WARNING is a "SHOULD" of RFC 5280 broken: a certificate we
    issue for ten years should break none), so only INFO findings let an object through.
    """
    return any(finding.severity in (Severity.ERROR, Severity.WARNING) for finding in findings)


def rules() -> tuple[Rule, ...]:
    """Every registered rule, certificate rules first: for listing what the linter checks."""
    return (*CERTIFICATE_RULES, *CRL_RULES)
