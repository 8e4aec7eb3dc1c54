"""Operators' credentials (a P-256 key in an encrypted PEM file or on a PKCS#11 token) and the statements
they sign with them."""

from s1spki.credentials.credential import Credential, find_credential, keygen_file, keygen_pkcs11
from s1spki.credentials.statements import SignedStatement, sign_statement, verify_statement

__all__ = [
    "Credential",
    "SignedStatement",
    "find_credential",
    "keygen_file",
    "keygen_pkcs11",
    "sign_statement",
    "verify_statement",
]
