"""Turn python-pkcs11 exceptions into s1spki errors at the package boundary.

Messages name the token label or the module path and say what to do; they never contain a PIN, and
never the text of the PKCS#11 exception (only its class name, which is a CKR_* code).
"""

from __future__ import annotations

from pkcs11 import exceptions as p11

from s1spki.errors import HsmError

# Errors of the PIN itself: retrying cannot help and may lock the PIN on a real HSM.
PIN_ERRORS: tuple[type[p11.PKCS11Error], ...] = (
    p11.PinIncorrect,
    p11.PinLocked,
    p11.PinExpired,
    p11.PinInvalid,
    p11.PinLenRange,
    p11.UserPinNotInitialized,
)

# Errors after which a fresh initialise + login may succeed (device hiccup, session lost, handle stale).
TRANSIENT_ERRORS: tuple[type[p11.PKCS11Error], ...] = (
    p11.SessionHandleInvalid,
    p11.SessionClosed,
    p11.DeviceError,
    p11.DeviceRemoved,
    p11.DeviceMemory,
    p11.TokenNotPresent,
    p11.ObjectHandleInvalid,
    p11.KeyHandleInvalid,
    p11.UserNotLoggedIn,
    p11.FunctionFailed,
    p11.GeneralError,
    p11.OperationActive,
)

PKCS11Error = p11.PKCS11Error


def is_transient(exc: BaseException) -> bool:
    """Say whether one retry after re-initialising and logging in again is worth it."""
    return isinstance(exc, TRANSIENT_ERRORS) and not isinstance(exc, PIN_ERRORS)


def pin_error(exc: p11.PKCS11Error, token_label: str) -> HsmError:
    """Translate a failed login."""
    facts = {"token": token_label, "pkcs11_error": type(exc).__name__}
    if isinstance(exc, p11.PinIncorrect):
        return HsmError(
            f"wrong PIN for token '{token_label}': check the PIN source named in s1spki.toml", **facts
        )
    if isinstance(exc, p11.PinLocked):
        return HsmError(
            f"the user PIN of token '{token_label}' is locked after too many wrong PINs: "
            "the token's security officer must unlock or reset it",
            **facts,
        )
    if isinstance(exc, p11.PinExpired):
        return HsmError(
            f"the user PIN of token '{token_label}' has expired: set a new one with the vendor's tool",
            **facts,
        )
    if isinstance(exc, p11.UserPinNotInitialized):
        return HsmError(
            f"token '{token_label}' has no user PIN yet: initialise it with the vendor's tool", **facts
        )
    return HsmError(
        f"the token '{token_label}' refused the PIN as malformed ({type(exc).__name__}): "
        "check the PIN source named in s1spki.toml",
        **facts,
    )


def translate(exc: p11.PKCS11Error, *, token_label: str, module: str, action: str) -> HsmError:
    """Translate any other PKCS#11 error raised while doing `action` on a token."""
    if isinstance(exc, PIN_ERRORS):
        return pin_error(exc, token_label)
    name = type(exc).__name__
    facts = {"token": token_label, "module": module, "pkcs11_error": name}
    if isinstance(exc, p11.UserAlreadyLoggedIn):
        return HsmError(
            f"token '{token_label}' is already logged in by another session of this process while {action}",
            **facts,
        )
    if isinstance(exc, (p11.DeviceRemoved, p11.TokenNotPresent)):
        return HsmError(f"token '{token_label}' went away while {action} ({name}): check the HSM", **facts)
    if isinstance(exc, p11.MechanismInvalid):
        return HsmError(
            f"token '{token_label}' ({module}) does not offer the mechanism needed for {action}", **facts
        )
    if isinstance(exc, p11.TokenWriteProtected):
        return HsmError(f"token '{token_label}' is write-protected; cannot complete {action}", **facts)
    return HsmError(f"PKCS#11 error {name} on token '{token_label}' ({module}) while {action}", **facts)
