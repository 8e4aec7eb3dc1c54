"""The certificate policy (policy/) as data: loaded strictly, once, into frozen objects."""

from .load import load_policy
from .model import (
    CA_KEY_USAGES,
    END_ENTITY_KEY_USAGES,
    EXTENSION_OIDS,
    REVOCATION_REASON_CODES,
    CaProfile,
    EndEntityProfile,
    NameLimits,
    Policy,
)

__all__ = [
    "CA_KEY_USAGES",
    "END_ENTITY_KEY_USAGES",
    "EXTENSION_OIDS",
    "REVOCATION_REASON_CODES",
    "CaProfile",
    "EndEntityProfile",
    "NameLimits",
    "Policy",
    "load_policy",
]
