"""Validity: UTCTime through 2049 and GeneralizedTime from 2050, in their RFC 5280 forms; notBefore before
notAfter; a certificate does not outlive its issuer.

S1SPKI policy 1 (no CA may issue a certificate that outlives its own), 2.11; RFC 5280 4.1.2.5 (and 5.1.2.4
to 5.1.2.6 for CRL times, which `s1spki.lint.crl` checks with `time_problems`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from asn1crypto import core

from s1spki.lint import encoding
from s1spki.lint.document import CertificateDocument
from s1spki.lint.registry import certificate_rule

FIRST_GENERALIZED_YEAR = 2050
_UTC_FORM = re.compile(rb"\d{12}Z")  # YYMMDDHHMMSSZ
_GENERALIZED_FORM = re.compile(rb"\d{14}Z")  # YYYYMMDDHHMMSSZ, no fraction
SHOWN = "%Y-%m-%d %H:%M:%SZ"  # how times appear in messages


def time_problems(time: core.Asn1Value, field: str) -> Iterator[str]:
    """What is wrong with the encoding of one time field (a UTCTime or GeneralizedTime as encoded)."""
    text = time.contents.decode("ascii", "replace")
    utc = encoding.is_universal(time, encoding.UTC_TIME)
    if not (_UTC_FORM if utc else _GENERALIZED_FORM).fullmatch(time.contents):
        yield f"{field} {text!r} is not in the form {'YYMMDDHHMMSSZ' if utc else 'YYYYMMDDHHMMSSZ'}"
        return
    year = time.native.year
    if utc and year >= FIRST_GENERALIZED_YEAR:  # cannot happen for a UTCTime; kept for clarity
        yield f"{field} {text} is a UTCTime in {year}; from 2050 it must be a GeneralizedTime"
    if not utc and year < FIRST_GENERALIZED_YEAR:
        yield f"{field} {text} is a GeneralizedTime in {year}; through 2049 it must be a UTCTime"


@certificate_rule("gbcs.validity_time_encoding", "S1SPKI policy 2.11; RFC 5280 4.1.2.5", source="rfc5280")
def validity_time_encoding(cert: CertificateDocument) -> Iterator[str]:
    yield from time_problems(cert.not_before, "notBefore")
    yield from time_problems(cert.not_after, "notAfter")


@certificate_rule("gbcs.validity_order", "RFC 5280 4.1.2.5", source="rfc5280")
def validity_order(cert: CertificateDocument) -> Iterator[str]:
    not_before = cert.not_before.native
    if not not_before < cert.not_after_time:
        yield f"notBefore {not_before:{SHOWN}} is not before notAfter {cert.not_after_time:{SHOWN}}"


@certificate_rule("gbcs.validity_within_issuer", "S1SPKI policy 1")
def validity_within_issuer(cert: CertificateDocument) -> Iterator[str]:
    issuer = cert.issuer_certificate
    if issuer is None or cert.is_root:
        return
    if cert.not_after_time > issuer.not_after_time:
        yield (
            f"notAfter {cert.not_after_time:{SHOWN}} is after the issuer's notAfter "
            f"{issuer.not_after_time:{SHOWN}}; a certificate must not outlive its issuer"
        )
