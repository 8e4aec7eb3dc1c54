"""The certificate policy as frozen value objects, built only by `load.py`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

# Extension names as written in policy/ files, and their OIDs (RFC 5280 4.2.1).
EXTENSION_OIDS: Mapping[str, str] = MappingProxyType({
    "basicConstraints": "2.5.29.19",
    "keyUsage": "2.5.29.15",
    "subjectKeyIdentifier": "2.5.29.14",
    "certificatePolicies": "2.5.29.32",
    "authorityKeyIdentifier": "2.5.29.35",
})
END_ENTITY_KEY_USAGES = ("digitalSignature", "keyAgreement")
CA_KEY_USAGES = ("keyCertSign", "cRLSign")
# The revocation reasons a policy may allow, by their RFC 5280 5.3.1 name, with their CRLReason code (spec 5).
# unspecified (0), certificateHold (6), removeFromCRL (8) and aACompromise (10) are absent on purpose: S1SPKI never
# suspends a certificate, RFC 5280 says to omit rather than use unspecified, and there are no attribute authorities.
REVOCATION_REASON_CODES: Mapping[str, int] = MappingProxyType({
    "keyCompromise": 1,
    "cACompromise": 2,
    "affiliationChanged": 3,
    "superseded": 4,
    "cessationOfOperation": 5,
    "privilegeWithdrawn": 9,
})


@dataclass(frozen=True)
class CaProfile:
    """Root or issuing CA certificate profile (spec 4)."""

    kind: str  # "root" | "issuing"
    lifetime_years: int
    key_usage: tuple[str, ...]
    path_length: int | None
    subject_string_type: str  # "printable" | "utf8"
    extensions: tuple[str, ...]
    default_name: str


@dataclass(frozen=True)
class EndEntityProfile:
    """Organisation-style end-entity profile (spec 3): one key usage per certificate."""

    name: str
    key_usage: str  # "digitalSignature" | "keyAgreement"
    lifetime_years: int
    basic_constraints: str  # "absent" | "critical-false"
    extensions: tuple[str, ...]


@dataclass(frozen=True)
class NameLimits:
    """policy.toml [names]: the longest name of each kind, in characters."""

    organisation: int
    officer: int  # SROs and AROs
    common_name: int  # the CN of a certificate (RFC 5280 ub-common-name at most)
    operator: int
    evidence: int  # evidence references recorded with officers' checks


@dataclass(frozen=True)
class EstSettings:
    """policy.toml [est]: enrolment and re-enrolment of S1SP components over EST."""

    renewal_window_days: int
    superseded_reason: str
    authorisation_default_hours: int
    authorisation_max_hours: int
    channel_binding: str  # "optional" | "required"


@dataclass(frozen=True)
class Policy:
    """Everything the CA takes from policy/, with the hash of the files it was read from."""

    directory: Path
    hash: str
    environment: str
    policy_oid: str
    serial_octets: int
    day_boundary: bool
    outliving_issuer: str
    crl_reissue_hours: int
    crl_next_update_hours: int
    arl_reissue_days: int
    arl_next_update_days: int
    revocation_reasons: tuple[str, ...]  # names of REVOCATION_REASON_CODES
    end_of_subscription_reason: str  # given to every certificate revoked when a subscription ends
    max_request_bytes: int
    names: NameLimits
    roles: Mapping[str, int]
    root_role: str
    issuing_role: str
    root: CaProfile
    issuing: CaProfile
    end_entity: Mapping[str, EndEntityProfile]  # by key usage
    est: EstSettings = EstSettings(60, "superseded", 168, 720, "optional")

    def role_code(self, role: str) -> int:
        return self.roles[role]

    def role_hex(self, role: str) -> str:
        """The OU value: the role code as two uppercase hex digits (spec 3)."""
        return f"{self.roles[role]:02X}"

    @property
    def subscriber_roles(self) -> tuple[str, ...]:
        return tuple(r for r in self.roles if r not in (self.root_role, self.issuing_role))

    def ca_profile(self, kind: str) -> CaProfile:
        return self.root if kind == "root" else self.issuing

    def profile_for(self, key_usage: str) -> EndEntityProfile:
        return self.end_entity[key_usage]

    def reason_code(self, reason: str) -> int:
        """The CRLReason code of a revocation reason the policy allows (spec 5)."""
        return REVOCATION_REASON_CODES[reason]

    @property
    def revocation_reason_codes(self) -> frozenset[int]:
        return frozenset(REVOCATION_REASON_CODES[r] for r in self.revocation_reasons)
