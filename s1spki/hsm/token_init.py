"""Initialise a token through PKCS#11 in a short-lived child process: C_InitToken with the SO PIN, then, logged
in as SO, C_InitPIN with the user PIN.

python-pkcs11 has no C_InitToken, so this uses PyKCS11, which must never be loaded beside python-pkcs11 in
the process that holds the CA's session (one PKCS#11 library object per process). `create_softhsm_token` runs
this file by path, in Python's isolated mode (it imports nothing of s1spki):

    python -I token_init.py MODULE LABEL     and on stdin one JSON object {"so_pin": ..., "user_pin": ...}

The PINs come only through the stdin pipe: never in argv or the environment, where any local user could
read them (`ps`, /proc/PID/cmdline). Exit 0: done; 3: a token with LABEL exists; 2: bad input; 1: PKCS#11
refused. A failure is one line on stderr that never contains a PIN.
"""

from __future__ import annotations

import contextlib
import json
import sys
from typing import Any

LABEL_BYTES = 32  # CK_TOKEN_INFO.label: 32 bytes of UTF-8, padded with spaces (PKCS#11 3.0, 3.2)
MAX_INPUT = 4096
EXIT_REFUSED, EXIT_INPUT, EXIT_FAILED = 3, 2, 1


class Failure(Exception):
    def __init__(self, message: str, code: int = EXIT_FAILED) -> None:
        super().__init__(message)
        self.code = code


def _pins() -> tuple[str, str]:
    data = sys.stdin.buffer.read(MAX_INPUT + 1)
    if len(data) > MAX_INPUT:
        raise Failure("the PINs on stdin are too long", EXIT_INPUT)
    try:
        document = json.loads(data.decode("utf-8"))
        so_pin, user_pin = document["so_pin"], document["user_pin"]
    except (UnicodeDecodeError, ValueError, KeyError, TypeError):
        raise Failure('stdin must be one JSON object {"so_pin": ..., "user_pin": ...}', EXIT_INPUT) from None
    if not (isinstance(so_pin, str) and isinstance(user_pin, str) and so_pin and user_pin):
        raise Failure("the SO PIN and the user PIN must be non-empty strings", EXIT_INPUT)
    return so_pin, user_pin


def _label_of(info: Any) -> str:
    return str(info.label).rstrip(" \0")


def initialise(module: str, label: str, so_pin: str, user_pin: str) -> None:
    """Initialise a free slot's token as `label` with both PINs; Failure if anything refuses."""
    encoded = label.encode("utf-8")
    if not encoded or len(encoded) > LABEL_BYTES:
        raise Failure(f"a token label must be 1 to {LABEL_BYTES} bytes of UTF-8", EXIT_INPUT)
    try:
        import PyKCS11
    except ImportError:
        raise Failure("PyKCS11 is not installed: install s1spki's dependencies (pip install PyKCS11)") from None

    def step(what: str, call: Any, *args: Any) -> Any:
        try:
            return call(*args)
        except PyKCS11.PyKCS11Error as exc:  # its text is the CKR_ name and code, never an argument
            raise Failure(f"{what} failed: {exc}") from None

    lib = PyKCS11.PyKCS11Lib()
    step(f"loading PKCS#11 module {module}", lib.load, module)
    slots = step("C_GetSlotList", lib.getSlotList, True)
    free = None
    for slot in slots:
        info = step("C_GetTokenInfo", lib.getTokenInfo, slot)
        if not info.flags & PyKCS11.CKF_TOKEN_INITIALIZED:
            if free is None:
                free = slot
        elif _label_of(info) == label:
            raise Failure(f"a token labelled '{label}' already exists", EXIT_REFUSED)
    if free is None:
        raise Failure("the module offers no free slot to initialise a token in")
    # blank-padded to the field's 32 bytes: PyKCS11 would pass the label as a C string, padded with NULs
    padded = (encoded + b" " * (LABEL_BYTES - len(encoded))).decode("utf-8")
    step("C_InitToken", lib.initToken, free, so_pin, padded)
    # initialising adds a free slot (SoftHSM): the new token is found by its label, never by the slot number
    infos = {s: step("C_GetTokenInfo", lib.getTokenInfo, s) for s in step("C_GetSlotList", lib.getSlotList, True)}
    mine = [s for s, info in infos.items() if info.flags & PyKCS11.CKF_TOKEN_INITIALIZED and _label_of(info) == label]
    if len(mine) != 1:
        raise Failure(f"after C_InitToken, {len(mine)} tokens are labelled '{label}', not one")
    session = step("C_OpenSession", lib.openSession, mine[0], PyKCS11.CKF_SERIAL_SESSION | PyKCS11.CKF_RW_SESSION)
    try:
        step("C_Login as SO", session.login, so_pin, PyKCS11.CKU_SO)
        step("C_InitPIN", session.initPin, user_pin)
        step("C_Logout", session.logout)
        step("C_Login with the new user PIN", session.login, user_pin)  # prove the token is usable as s1spki uses it
        step("C_Logout", session.logout)
    finally:
        with contextlib.suppress(PyKCS11.PyKCS11Error):  # initialised, or the error above says why not
            session.closeSession()


def main(argv: list[str]) -> int:
    try:
        if len(argv) != 2:
            raise Failure("usage: token_init.py MODULE LABEL (PINs as JSON on stdin)", EXIT_INPUT)
        so_pin, user_pin = _pins()
        initialise(argv[0], argv[1], so_pin, user_pin)
    except Failure as failure:
        sys.stderr.write(f"{failure}\n")
        return failure.code
    except Exception as exc:  # only the type: an unexpected message might quote an argument
        sys.stderr.write(f"unexpected {type(exc).__name__} while initialising the token\n")
        return EXIT_FAILED
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
