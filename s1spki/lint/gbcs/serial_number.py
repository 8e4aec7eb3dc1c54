"""serialNumber is exactly `serial_octets` (16) octets and positive.

S1SPKI policy 2.9 (GBCS: 16 octets, top bit clear, from a CSPRNG); RFC 5280 4.1.2.2.
"""

from __future__ import annotations

from collections.abc import Iterator

from s1spki.lint.document import CertificateDocument
from s1spki.lint.registry import certificate_rule


@certificate_rule("gbcs.serial_number", "S1SPKI policy 2.9; RFC 5280 4.1.2.2")
def serial_number(cert: CertificateDocument) -> Iterator[str]:
    octets = cert.serial.contents
    wanted = cert.context.serial_octets
    if len(octets) != wanted:
        yield f"serialNumber {octets.hex()} is {len(octets)} octets; it must be exactly {wanted}"
    if octets and octets[0] & 0x80:
        yield f"serialNumber {octets.hex()} is negative (top bit set); it must be positive"
    elif not any(octets):
        yield "serialNumber is zero; it must be positive"
