"""The issuer name is byte-identical to the issuing CA certificate's subject, string types included; a
self-signed root's issuer is byte-identical to its subject.

S1SPKI policy 2.10 (the S1SP identifies a certificate by serial and issuer CN: a UTF8String against a
PrintableString is a different name to a byte comparison), 5 (CRL issuer); RFC 5280 4.1.2.4. The check
takes a `SignedDocument`: `s1spki.lint.crl` registers it for CRLs.
"""

from __future__ import annotations

from collections.abc import Iterator

from s1spki.lint import names
from s1spki.lint.document import CertificateDocument, SignedDocument
from s1spki.lint.registry import certificate_rule

CITE = "S1SPKI policy 2.10, 5; RFC 5280 4.1.2.4"


def issuer_matches_ca_subject(document: SignedDocument) -> Iterator[str]:
    if document.issuer_error is not None:
        yield f"the issuer certificate given cannot be decoded: {document.issuer_error}"
        return
    issuer = document.issuer_certificate
    if issuer is not None and document.issuer_der != issuer.subject_der:
        yield (
            f"issuer {names.describe(document.issuer)} is not byte-identical to the CA subject "
            f"{names.describe(issuer.subject)}"
        )


certificate_rule("gbcs.issuer_matches_ca_subject", CITE)(issuer_matches_ca_subject)


@certificate_rule("gbcs.root_issuer_identical", "S1SPKI policy 2.10, 4; RFC 5280 4.1.2.4")
def root_issuer_identical(cert: CertificateDocument) -> Iterator[str]:
    if cert.is_root and cert.issuer_der != cert.subject_der:
        yield (
            f"root issuer {names.describe(cert.issuer)} is not byte-identical to its subject "
            f"{names.describe(cert.subject)}"
        )
