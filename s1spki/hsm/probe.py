"""`s1spki hsm probe` and `hsm status`: what a PKCS#11 module and the home's token offer, read from the token.

A probe lists the module's slots and tokens, checks that the home's token offers the mechanisms s1spki uses
(EC P-256 key generation and CKM_ECDSA for the CA and audit keys, a generic secret key and CKM_SHA256_HMAC for
the record authenticators), and tries a login with the configured PIN source. It changes nothing on the token.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any

from pkcs11 import Mechanism, MechanismFlag
from pkcs11 import exceptions as p11

from s1spki.errors import HsmError, S1spkiError
from s1spki.hsm import session
from s1spki.hsm.connection import Hsm
from s1spki.hsm.settings import HsmSettings

# What s1spki asks of a token: mechanism, the flag it needs, and what for.
NEEDED: tuple[tuple[str, Mechanism, MechanismFlag, str], ...] = (
    ("CKM_EC_KEY_PAIR_GEN", Mechanism.EC_KEY_PAIR_GEN, MechanismFlag.GENERATE_KEY_PAIR,
     "generating the CA and audit keys (P-256)"),
    ("CKM_ECDSA", Mechanism.ECDSA, MechanismFlag.SIGN, "signing certificates, CRLs and audit checkpoints"),
    ("CKM_GENERIC_SECRET_KEY_GEN", Mechanism.GENERIC_SECRET_KEY_GEN, MechanismFlag.GENERATE,
     "generating the record key"),
    ("CKM_SHA256_HMAC", Mechanism.SHA256_HMAC, MechanismFlag.SIGN, "authenticating audit records and sealed rows"),
)


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).strip().rstrip("\x00").strip()


@dataclass(frozen=True)
class SlotReport:
    slot_id: int
    description: str
    token_label: str | None
    token_serial: str | None
    token_model: str | None
    token_manufacturer: str | None


@dataclass(frozen=True)
class ProbeReport:
    module: str
    token_label: str
    slots: tuple[SlotReport, ...]
    mechanisms: dict[str, bool]  # name -> offered with the flag s1spki needs
    login: str  # "ok", or what went wrong
    problems: tuple[str, ...] = field(default=())

    @property
    def ok(self) -> bool:
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "slots": [asdict(s) for s in self.slots], "ok": self.ok}


def _slots(lib: Any) -> list[tuple[Any, SlotReport]]:
    found = []
    for slot in lib.get_slots():
        token = None
        with contextlib.suppress(p11.PKCS11Error):  # no token in this slot
            token = slot.get_token()
        found.append((slot, SlotReport(
            int(slot.slot_id), _text(slot.slot_description), _text(token.label) if token else None,
            _text(token.serial) if token else None, _text(token.model) if token else None,
            _text(token.manufacturer_id) if token else None)))
    return found


def _mechanisms(slot: Any) -> dict[str, bool]:
    offered = slot.get_mechanisms()
    result = {}
    for name, mechanism, flag, _why in NEEDED:
        ok = False
        if mechanism in offered:
            try:
                ok = bool(slot.get_mechanism_info(mechanism).flags & flag)
            except p11.PKCS11Error:
                ok = False
        result[name] = ok
    return result


def probe(module: str, token_label: str, read_pin: Callable[[], str], softhsm_conf: Any = None) -> ProbeReport:
    """Probe `module` for the token `token_label` and log in with the PIN `read_pin` gives (HsmError if the module
    cannot be loaded at all)."""
    conf = None if softhsm_conf is None else str(softhsm_conf)
    with session.LOCK:
        lib = session.library(module, conf)
        try:
            slots = _slots(lib.lib)
        except p11.PKCS11Error as exc:
            raise HsmError(f"PKCS#11 module {module} cannot list its slots ({type(exc).__name__})",
                           module=module) from None
        mine = [(slot, report) for slot, report in slots if report.token_label == token_label]
        mechanisms = {name: False for name, *_ in NEEDED}
        if len(mine) == 1:
            with contextlib.suppress(p11.PKCS11Error):  # reported below as mechanisms not offered
                mechanisms = _mechanisms(mine[0][0])
    problems = []
    if not mine:
        present = ", ".join(f"'{r.token_label}'" for _s, r in slots if r.token_label) or "none"
        problems.append(f"no token labelled '{token_label}' (tokens present: {present})")
    elif len(mine) > 1:
        problems.append(f"{len(mine)} tokens are labelled '{token_label}': token labels must be unique")
    else:
        problems += [f"the token does not offer {name} (needed for {why})"
                     for name, _m, _f, why in NEEDED if not mechanisms[name]]
    login = "not tried"
    if len(mine) == 1:
        try:
            Hsm.connect(HsmSettings(module, token_label, read_pin(), softhsm_conf)).close()
            login = "ok"
        except S1spkiError as exc:
            login = exc.message
            problems.append(f"login failed: {exc.message}")
    return ProbeReport(module, token_label, tuple(r for _s, r in slots), mechanisms, login, tuple(problems))


@dataclass(frozen=True)
class KeyReport:
    label: str
    kind: str  # private | secret
    key_type: str
    attributes: dict[str, Any]


def key_reports(hsm: Hsm) -> list[KeyReport]:
    """Every private and secret key on the token, with the attributes that say how well it is kept."""
    reports = [KeyReport(a.label, "private", a.key_type + (f" {a.curve}" if a.curve else ""),
                         {k: v for k, v in a.as_dict().items() if k not in ("label", "key_type", "curve")})
               for a in (hsm.key_attributes(label) for label in hsm.key_labels())]
    reports += [KeyReport(details.pop("label"), "secret", "generic secret", details)
                for details in hsm.secret_key_details()]
    return sorted(reports, key=lambda r: (r.kind, r.label))
