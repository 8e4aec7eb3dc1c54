"""The signature algorithm is ecdsa-with-SHA256 with the parameters absent, the same inside and outside.

S1SPKI policy 2.3 (GBCS 12, Suite B per RFC 5759); RFC 5758 3.2: for ecdsa-with-SHA256 "the encoding
MUST omit the parameters field" (DCC's `mdr-*` test certificates carry NULL: a finding);
RFC 5280 4.1.1.2 / 5.1.1.2: signatureAlgorithm MUST be the same as the to-be-signed signature field.
The checks take a `SignedDocument`, so `s1spki.lint.crl` registers them for CRLs too.
"""

from __future__ import annotations

from collections.abc import Iterator

from s1spki.lint import encoding, oids
from s1spki.lint.document import SignedDocument
from s1spki.lint.fields import Algorithm
from s1spki.lint.registry import certificate_rule

CITE = "S1SPKI policy 2.3; RFC 5758 3.2; RFC 5280 4.1.1.2, 5.1.1.2"


def _fields(document: SignedDocument) -> list[tuple[str, Algorithm]]:
    """Both AlgorithmIdentifiers, each with its name for messages."""
    inner, outer = document.algorithms
    return [(f"{document.kind} TBS signature", inner), ("signatureAlgorithm", outer)]


def signature_algorithm(document: SignedDocument) -> Iterator[str]:
    for where, algorithm in _fields(document):
        oid = algorithm.oid
        if oid != oids.ECDSA_WITH_SHA256:
            yield f"{where} algorithm is {oid}, not ecdsa-with-SHA256 ({oids.ECDSA_WITH_SHA256})"


def signature_params_absent(document: SignedDocument) -> Iterator[str]:
    for where, algorithm in _fields(document):
        parameters = algorithm.parameters
        if parameters is not None:
            yield (
                f"{where} parameters are present ({encoding.type_name(parameters)} {parameters.dump().hex()}); "
                "ecdsa-with-SHA256 parameters must be absent"
            )


def signature_algorithms_match(document: SignedDocument) -> Iterator[str]:
    inner, outer = document.signature_algorithm.dump(), document.outer_algorithm.dump()
    if inner != outer:
        yield f"signatureAlgorithm {outer.hex()} is not byte-identical to the TBS signature {inner.hex()}"


certificate_rule("gbcs.signature_algorithm", CITE)(signature_algorithm)
certificate_rule("gbcs.signature_params_absent", CITE)(signature_params_absent)
certificate_rule("gbcs.signature_algorithms_match", CITE, source="rfc5280")(signature_algorithms_match)
