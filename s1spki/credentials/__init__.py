"""Operators' credentials: a P-256 key in an encrypted PEM file or on a PKCS#11 token, found by the
descriptor `<name>.credential.toml` in the configured folders. The statements signed with them are the
audit trail's (`s1spki.audit.statements`)."""

from s1spki.credentials.credential import Credential, find_credential, keygen_file, keygen_pkcs11

__all__ = ["Credential", "find_credential", "keygen_file", "keygen_pkcs11"]
