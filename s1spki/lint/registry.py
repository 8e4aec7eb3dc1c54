"""Rules are small registered functions, as in Boulder's `linter/lints/`.

A rule is a generator of one-line messages over a decoded document; the decorator gives it a name, the
clause it enforces and its source, and registers it. The runner turns each message into a `Finding`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from s1spki.lint.document import CertificateDocument, CrlDocument, SignedDocument
from s1spki.lint.model import Finding, Severity, Source

D = TypeVar("D", bound=SignedDocument)


def one_line(text: str) -> str:
    """Collapse whitespace so that any text can be a finding message."""
    return " ".join(text.split())


@dataclass(frozen=True)
class Rule(Generic[D]):
    """One registered lint rule."""

    name: str  # "<package>.<rule>", the module it lives in says the same
    cite: str  # the clause it enforces, e.g. "S1SPKI policy 2.3; RFC 5758 3.2"
    source: Source
    check: Callable[[D], Iterable[str]]  # yields one message per thing wrong
    severity: Severity = Severity.ERROR

    def run(self, document: D) -> list[Finding]:
        """Run the check; a check that cannot read what it needs reports that as its finding."""
        try:
            messages = list(self.check(document))
        except Exception as exc:  # noqa: BLE001 - a malformed field must become a finding, never a crash
            messages = [f"could not be checked: {exc}"]
        return [Finding(self.name, self.severity, one_line(m), self.source) for m in messages]


CERTIFICATE_RULES: list[Rule[CertificateDocument]] = []
CRL_RULES: list[Rule[CrlDocument]] = []


Check = Callable[[D], Iterable[str]]


def _register(
    registry: list[Rule[D]], prefix: str, name: str, cite: str, source: Source
) -> Callable[[Check[D]], Check[D]]:
    if not name.startswith(prefix) or any(rule.name == name for rule in registry):
        raise ValueError(f"rule name {name!r} must start with {prefix!r} and be registered once")

    def decorator(check: Check[D]) -> Check[D]:
        registry.append(Rule(name, cite, source, check))
        return check

    return decorator


def certificate_rule(
    name: str, cite: str, source: Source = "gbcs"
) -> Callable[[Check[CertificateDocument]], Check[CertificateDocument]]:
    """Register a certificate rule named `gbcs.<rule>`."""
    return _register(CERTIFICATE_RULES, "gbcs.", name, cite, source)


def crl_rule(
    name: str, cite: str, source: Source = "gbcs"
) -> Callable[[Check[CrlDocument]], Check[CrlDocument]]:
    """Register a CRL rule named `crl.<rule>`."""
    return _register(CRL_RULES, "crl.", name, cite, source)
