"""The HSM boundary: the only package of s1spki that imports `pkcs11` (python-pkcs11).

`Hsm.connect(settings)` logs in to a token once per process and hands out handles that generate P-256
keys, read their attributes back, and give `HsmEcPrivateKey` objects that cryptography's builders can
sign with. PKCS#11 errors are translated to `s1spki.errors.HsmError`; no PIN is ever in a message.
"""

from s1spki.hsm.connection import Hsm, open_session_count
from s1spki.hsm.keys import HsmEcPrivateKey
from s1spki.hsm.settings import HsmSettings, KeyAttributes, TokenInfo, read_pin
from s1spki.hsm.softhsm import (
    create_softhsm_token,
    find_softhsm_module,
    softhsm_token_labels,
    write_softhsm_conf,
)

__all__ = [
    "Hsm",
    "HsmEcPrivateKey",
    "HsmSettings",
    "KeyAttributes",
    "TokenInfo",
    "create_softhsm_token",
    "find_softhsm_module",
    "open_session_count",
    "read_pin",
    "softhsm_token_labels",
    "write_softhsm_conf",
]
