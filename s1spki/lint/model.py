"""The linter's value types: a finding, its severity, and the context a lint runs in.

Everything here is immutable so that a context can be built once from the loaded policy and shared by
every issuance, and findings can be stored, compared and rendered without copying.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import Literal

from s1spki.lint import oids


class Severity(StrEnum):
    """How bad a finding is. The issuance gate refuses on ERROR and on WARNING (see `has_errors`)."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


# Where a requirement comes from: our policy (GBCS and the S1SPKI CP), RFC 5280 itself, or pkilint.
Source = Literal["gbcs", "rfc5280", "pkilint"]


@dataclass(frozen=True)
class Finding:
    """One thing wrong with a certificate or CRL."""

    rule: str  # e.g. "gbcs.signature_params_absent", "pkilint.pkix.authority_key_identifier_extension_absent"
    severity: Severity
    message: str  # one line: what is wrong and the value found
    source: Source

    def __post_init__(self) -> None:
        if self.source not in ("gbcs", "rfc5280", "pkilint"):
            raise ValueError(f"a finding's source is gbcs, rfc5280 or pkilint, not {self.source!r}")
        if "\n" in self.message:
            raise ValueError(f"a finding message must be one line, got {self.message!r}")

    def line(self) -> str:
        """Render as `<severity> <rule>: <message>`."""
        return f"{self.severity.value} {self.rule}: {self.message}"


EndEntityBasicConstraints = Literal["absent", "critical-false"]


@dataclass(frozen=True)
class LintContext:
    """What the linter knows beyond the object itself; the defaults are the policy's (spec sections 2-5).

    The caller builds one from the loaded policy (`policy/`), so no policy value is restated here beyond
    the spec's defaults.
    """

    # The CA certificate that should have issued the object. Enables: issuer name byte identity, AKI ==
    # issuer SKI, validity nesting, and signature verification when `check_signature`.
    issuer_der: bytes | None = None
    # The issuance gate lints a copy signed by a throwaway key, so it passes False.
    check_signature: bool = False
    # serialNumber length in octets (spec 2.9; policy.toml [serial] octets).
    serial_octets: int = 16
    # If given, the only certificatePolicies OIDs allowed (spec 2.7).
    policy_oids: tuple[str, ...] = ()
    # Order of the end-entity extensions (spec 3); extensions not listed here are not ordered.
    end_entity_extension_order: tuple[str, ...] = (
        oids.KEY_USAGE,
        oids.SUBJECT_KEY_IDENTIFIER,
        oids.CERTIFICATE_POLICIES,
        oids.AUTHORITY_KEY_IDENTIFIER,
    )
    # basicConstraints on an end-entity certificate: absent, or critical with cA FALSE encoded `30 00`.
    end_entity_basic_constraints: EndEntityBasicConstraints = "absent"
    # RemotePartyRole codes allowed in an end-entity OU; None: any two uppercase hex digits (spec 3).
    role_codes: frozenset[int] | None = None
    # The OU of the root and of an issuing CA (spec 4: 00 and 07).
    root_role_code: int = 0
    issuing_ca_role_code: int = 7
    # The root's pathLenConstraint: an integer, "absent", or None for either value the spec allows
    # (absent or 1, spec 4). Issuing CAs always have 0.
    root_path_length: int | Literal["absent"] | None = None
    # String type of CA subject attributes: "printable", "utf8", or None for either (spec 4 is silent).
    ca_subject_string_type: Literal["printable", "utf8"] | None = None
    # CRL entry reason codes allowed (spec 5): keyCompromise, cACompromise, affiliationChanged,
    # superseded, cessationOfOperation, privilegeWithdrawn. Never certificateHold or removeFromCRL.
    crl_reason_codes: frozenset[int] = frozenset({1, 2, 3, 4, 5, 9})

    def __post_init__(self) -> None:
        if self.end_entity_basic_constraints not in ("absent", "critical-false"):
            raise ValueError(
                "end_entity_basic_constraints must be 'absent' or 'critical-false', "
                f"not {self.end_entity_basic_constraints!r}"
            )
        if (
            self.root_path_length is not None
            and self.root_path_length != "absent"
            and (not isinstance(self.root_path_length, int) or self.root_path_length < 0)
        ):
            raise ValueError(
                "root_path_length must be a non-negative integer, 'absent' or None, "
                f"not {self.root_path_length!r}"
            )
        if not 1 <= self.serial_octets <= 20:  # RFC 5280 4.1.2.2: at most 20 octets
            raise ValueError(f"serial_octets must be 1..20, but it was {self.serial_octets}")
        if self.ca_subject_string_type not in (None, "printable", "utf8"):
            raise ValueError(
                "ca_subject_string_type must be 'printable', 'utf8' or None, "
                f"not {self.ca_subject_string_type!r}"
            )
        if self.role_codes is not None and not isinstance(self.role_codes, frozenset):
            raise TypeError(f"role_codes must be a frozenset or None, not {type(self.role_codes).__name__}")
        if not isinstance(self.crl_reason_codes, frozenset):
            raise TypeError(
                f"crl_reason_codes must be a frozenset, not {type(self.crl_reason_codes).__name__}"
            )
        for code in (self.role_codes or frozenset()) | {self.root_role_code, self.issuing_ca_role_code}:
            if not 0 <= code <= 255:
                raise ValueError(f"a role code is 0..255, but it was {code}")
