"""Dotted OIDs the linter names; names only, no logic (as cryptography's `x509/oid.py`)."""

from __future__ import annotations

# Algorithms
ECDSA_WITH_SHA256 = "1.2.840.10045.4.3.2"
ID_EC_PUBLIC_KEY = "1.2.840.10045.2.1"
PRIME256V1 = "1.2.840.10045.3.1.7"

# Name attributes
COMMON_NAME = "2.5.4.3"
ORGANIZATIONAL_UNIT = "2.5.4.11"
UNIQUE_IDENTIFIER = "2.5.4.45"  # X.520 uniqueIdentifier, a BIT STRING: the EUI-64 (GBCS)

# Certificate extensions
SUBJECT_KEY_IDENTIFIER = "2.5.29.14"
KEY_USAGE = "2.5.29.15"
BASIC_CONSTRAINTS = "2.5.29.19"
CERTIFICATE_POLICIES = "2.5.29.32"
AUTHORITY_KEY_IDENTIFIER = "2.5.29.35"

# CRL and CRL entry extensions
CRL_NUMBER = "2.5.29.20"
CRL_REASON = "2.5.29.21"
INVALIDITY_DATE = "2.5.29.24"

NAMES = {
    SUBJECT_KEY_IDENTIFIER: "subjectKeyIdentifier",
    KEY_USAGE: "keyUsage",
    BASIC_CONSTRAINTS: "basicConstraints",
    CERTIFICATE_POLICIES: "certificatePolicies",
    AUTHORITY_KEY_IDENTIFIER: "authorityKeyIdentifier",
    CRL_NUMBER: "cRLNumber",
    CRL_REASON: "reasonCode",
    INVALIDITY_DATE: "invalidityDate",
    "2.5.29.37": "extKeyUsage",
    "2.5.29.31": "cRLDistributionPoints",
    "1.3.6.1.5.5.7.1.1": "authorityInfoAccess",
    "2.5.29.17": "subjectAltName",
    "2.5.29.27": "deltaCRLIndicator",
    "2.5.29.28": "issuingDistributionPoint",
    "2.5.29.29": "certificateIssuer",
}


def describe(oid: str) -> str:
    """Return `name (oid)` for a known OID, else the dotted OID."""
    name = NAMES.get(oid)
    return f"{name} ({oid})" if name else oid
