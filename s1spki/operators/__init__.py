"""Operators' credentials, their signed statements, and the check that the right people act."""

from .authorise import Authorisation, authorise
from .credentials import Credential, find_credential, keygen_file, keygen_pkcs11, public_key_sha256
from .statements import SignedStatement, sign_statement, verify_statement

__all__ = [
    "Authorisation",
    "Credential",
    "SignedStatement",
    "authorise",
    "find_credential",
    "keygen_file",
    "keygen_pkcs11",
    "public_key_sha256",
    "sign_statement",
    "verify_statement",
]
