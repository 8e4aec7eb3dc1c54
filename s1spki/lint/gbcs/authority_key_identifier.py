"""authorityKeyIdentifier: on every certificate but the self-signed root (and on every CRL), not
critical, keyIdentifier only of 8 octets, equal to the issuer's SKI.

S1SPKI policy 2.6 (DER `30 0A 80 08 <8 octets>`), 4 (the root has no AKI), 5 (CRL: AKI, 8-octet key id);
RFC 5280 4.2.1.1, 5.2.1. The checks take a `SignedDocument`: `s1spki.lint.crl` registers them for CRLs.
"""

from __future__ import annotations

from collections.abc import Iterator

from s1spki.lint import oids
from s1spki.lint.document import CertificateDocument, SignedDocument
from s1spki.lint.registry import certificate_rule

KEY_ID_PREFIX = bytes.fromhex("300a8008")  # SEQUENCE { [0] 8 octets }
CITE = "S1SPKI policy 2.6, 5; RFC 5280 4.2.1.1, 5.2.1"


def _is_root(document: SignedDocument) -> bool:
    return isinstance(document, CertificateDocument) and document.is_root


def aki_present(document: SignedDocument) -> Iterator[str]:
    extension = document.extension(oids.AUTHORITY_KEY_IDENTIFIER)
    if _is_root(document):
        return
    if extension is None:
        needs = (
            "every certificate but the self-signed root"
            if isinstance(document, CertificateDocument)
            else "a CRL"
        )
        yield f"authorityKeyIdentifier is absent; {needs} must have one"
    elif extension.critical:
        yield "authorityKeyIdentifier is critical; it must not be"


def aki_key_id_only(document: SignedDocument) -> Iterator[str]:
    extension = document.extension(oids.AUTHORITY_KEY_IDENTIFIER)
    if extension is None:
        return
    value = extension.value
    if len(value) != len(KEY_ID_PREFIX) + 8 or not value.startswith(KEY_ID_PREFIX):
        yield (
            f"authorityKeyIdentifier is {value.hex()}; it must be keyIdentifier only, 8 octets "
            f"({KEY_ID_PREFIX.hex()} + 8 octets)"
        )


def aki_matches_issuer(document: SignedDocument) -> Iterator[str]:
    issuer = document.issuer_certificate
    if issuer is None or document.aki_key_id is None:
        return
    if issuer.ski is None:
        yield "the issuer certificate has no subjectKeyIdentifier to match the authorityKeyIdentifier"
    elif document.aki_key_id != issuer.ski:
        yield f"AKI keyIdentifier {document.aki_key_id.hex()} is not the issuer's SKI {issuer.ski.hex()}"


certificate_rule("gbcs.aki_present", CITE)(aki_present)
certificate_rule("gbcs.aki_key_id_only", CITE)(aki_key_id_only)
certificate_rule("gbcs.aki_matches_issuer", CITE)(aki_matches_issuer)


@certificate_rule("gbcs.root_aki_absent", "S1SPKI policy 4")
def root_aki_absent(cert: CertificateDocument) -> Iterator[str]:
    if cert.is_root and cert.extension(oids.AUTHORITY_KEY_IDENTIFIER) is not None:
        yield "the self-signed root has an authorityKeyIdentifier; the root profile has none"
