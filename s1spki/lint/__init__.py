"""The linter: GBCS and S1SPKI policy rules plus pkilint's RFC 5280 checks, on certificates and CRLs.

Nothing is signed that the linter has not passed (design.md): the issuance gate lints the to-be-signed
certificate and refuses when `has_errors(findings)`, i.e. on any ERROR or WARNING.

Layout: `model` (value types), `document` (the object read through asn1crypto's declared structures),
with `encoding` (DER checks on asn1crypto's values), `names` and `fields` (names, algorithms, extensions as
encoded); `registry` (rule registration), `gbcs/` (certificate rules), `crl/` (CRL rules),
`pkilint_adapter`, `runner` (the entry points re-exported here).
"""

from s1spki.lint.model import Finding, LintContext, Severity
from s1spki.lint.registry import Rule
from s1spki.lint.runner import has_errors, lint_certificate, lint_crl, lint_der, lint_file, rules

__all__ = [
    "Finding",
    "LintContext",
    "Rule",
    "Severity",
    "has_errors",
    "lint_certificate",
    "lint_crl",
    "lint_der",
    "lint_file",
    "rules",
]
