"""The fields certificates and CRLs share, read from asn1crypto's declared structures as encoded:
AlgorithmIdentifier and Extensions.
"""

from __future__ import annotations

import functools
from typing import NamedTuple

from asn1crypto import core

from s1spki.lint import encoding


class Algorithm(NamedTuple):
    """An AlgorithmIdentifier: the algorithm's dotted OID and its parameters as encoded, None when absent."""

    oid: str
    parameters: core.Asn1Value | None


def algorithm(value: core.Sequence) -> Algorithm:
    """Read an AlgorithmIdentifier (a signature or a public key algorithm); ValueError if not one in DER."""
    parts = encoding.open_elements(value)
    if not 1 <= len(parts) <= 2 or not encoding.is_universal(parts[0], encoding.OBJECT_IDENTIFIER):
        raise ValueError("an AlgorithmIdentifier is a SEQUENCE of an OID and optional parameters")
    parameters = encoding.as_encoded(parts[1]) if len(parts) == 2 else None
    return Algorithm(parts[0].dotted, parameters)


class Extension:
    """One extension as encoded: `value` is the extnValue OCTET STRING's contents (the value's DER)."""

    def __init__(self, declared: core.Sequence) -> None:
        self.declared = declared  # asn1crypto's Extension, whose extnValue it types by the OID
        # A value that does not fit the OID's type is for the rules to report (`parsed` raises it again).
        parts = encoding.open_elements(declared)
        if not 2 <= len(parts) <= 3 or not encoding.is_universal(parts[0], encoding.OBJECT_IDENTIFIER):
            raise ValueError("an Extension is a SEQUENCE of extnID, optional critical, extnValue")
        if len(parts) == 3 and not (encoding.is_universal(parts[1], encoding.BOOLEAN) and len(parts[1].contents) == 1):
            raise ValueError(f"Extension.critical must be a BOOLEAN, found {encoding.type_name(parts[1])}")
        if not encoding.is_universal(parts[-1], encoding.OCTET_STRING):
            raise ValueError(f"Extension.extnValue must be an OCTET STRING, found {encoding.type_name(parts[-1])}")
        self.oid: str = parts[0].dotted
        self.critical: bool = len(parts) == 3 and parts[1].contents != b"\x00"
        self.value: bytes = parts[-1].contents

    @functools.cached_property
    def parsed(self) -> core.Asn1Value:
        """The value as asn1crypto declares it for the OID; ValueError if it is not that type in DER."""
        return encoding.require_der(self.declared["extn_value"].parsed)

    @functools.cached_property
    def encoded(self) -> core.Asn1Value:
        """The value read by its own tag, for rules that name the type found; ValueError if not DER."""
        try:
            # What asn1crypto read as the OID's type has the tag it was encoded with.
            return encoding.as_encoded(self.parsed)
        except ValueError:
            return encoding.read(self.value)


def extensions(value: core.Asn1Value) -> tuple[Extension, ...]:
    """The elements of an Extensions SEQUENCE, in encoded order; () when the field is absent."""
    if isinstance(value, core.Void):
        return ()
    return tuple(Extension(extension) for extension in encoding.elements(value))
