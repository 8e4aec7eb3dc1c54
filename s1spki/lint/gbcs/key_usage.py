"""keyUsage is present and critical: one of digitalSignature or keyAgreement on an end entity,
keyCertSign and cRLSign on a CA.

S1SPKI policy 2.4 (present, critical), 3 (end entity: exactly one; a party holds separate signing and
key-agreement certificates), 4 (CAs: keyCertSign, cRLSign); RFC 5280 4.2.1.3.
"""

from __future__ import annotations

from collections.abc import Iterator

from s1spki.lint import encoding, oids
from s1spki.lint.document import CertificateDocument
from s1spki.lint.fields import Extension
from s1spki.lint.registry import certificate_rule

# RFC 5280 4.2.1.3 bit names, by bit number.
BITS = (
    "digitalSignature",
    "nonRepudiation",
    "keyEncipherment",
    "dataEncipherment",
    "keyAgreement",
    "keyCertSign",
    "cRLSign",
    "encipherOnly",
    "decipherOnly",
)
END_ENTITY_CHOICES = (frozenset({"digitalSignature"}), frozenset({"keyAgreement"}))
CA_USAGES = frozenset({"keyCertSign", "cRLSign"})


def key_usages(extension: Extension) -> frozenset[str]:
    """The names of the bits set in a keyUsage extension's BIT STRING, as encoded."""
    bit_string = extension.encoded
    if not encoding.is_universal(bit_string, encoding.BIT_STRING) or not bit_string.contents:
        raise ValueError(
            f"keyUsage must be a BIT STRING, found {encoding.type_name(bit_string)} {extension.value.hex()}"
        )
    octets = bit_string.contents[1:]
    return frozenset(
        BITS[i] if i < len(BITS) else f"bit {i}"
        for i in range(len(octets) * 8)
        if octets[i // 8] & (0x80 >> (i % 8))
    )


def _usages(cert: CertificateDocument) -> frozenset[str] | None:
    extension = cert.extension(oids.KEY_USAGE)
    return None if extension is None else key_usages(extension)


def _show(usages: frozenset[str]) -> str:
    return ", ".join(sorted(usages, key=lambda u: BITS.index(u) if u in BITS else len(BITS))) or "none"


@certificate_rule("gbcs.key_usage_present", "S1SPKI policy 2.4; RFC 5280 4.2.1.3")
def key_usage_present(cert: CertificateDocument) -> Iterator[str]:
    extension = cert.extension(oids.KEY_USAGE)
    if extension is None:
        yield "keyUsage is absent; it must be present and critical"
    elif not extension.critical:
        yield "keyUsage is not critical; it must be critical"


@certificate_rule("gbcs.key_usage_end_entity", "S1SPKI policy 3")
def key_usage_end_entity(cert: CertificateDocument) -> Iterator[str]:
    usages = _usages(cert)
    if cert.is_ca or usages is None:
        return
    if usages not in END_ENTITY_CHOICES:
        yield f"end-entity keyUsage is {_show(usages)}; it must be exactly digitalSignature or keyAgreement"


@certificate_rule("gbcs.key_usage_ca", "S1SPKI policy 4")
def key_usage_ca(cert: CertificateDocument) -> Iterator[str]:
    usages = _usages(cert)
    if not cert.is_ca or usages is None:
        return
    if usages != CA_USAGES:
        yield f"{cert.role} keyUsage is {_show(usages)}; it must be exactly keyCertSign, cRLSign"
