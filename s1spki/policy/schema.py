"""What each policy/ file may contain, as strict pydantic models (imported only by `load.py`).

A model is one file's schema: its keys, their types and bounds, and the rules of the certificate policy
that one file can break, each citing its clause. Rules across files (lifetimes, one profile per kind and
key usage) are the loader's. `datafile.DataFolder` words the errors as `file: key.path: reason`.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, BeforeValidator, Field, ValidationInfo, field_validator

from s1spki.values.datafile import choice, dotted_oid, exactly, list_of, one_of, refusal, unique
from s1spki.values.names import UB_COMMON_NAME, common_name_problems
from s1spki.values.strict_model import StrictTable

from .model import CA_KEY_USAGES, END_ENTITY_KEY_USAGES, EXTENSION_OIDS, REVOCATION_REASON_CODES

# spec 5: never certificateHold (no suspension); RFC 5280 5.3.1: omit rather than use unspecified.
NEVER_REASONS = {"certificateHold": "S1SPKI never suspends a certificate",
                 "removeFromCRL": "S1SPKI never suspends a certificate",
                 "unspecified": "RFC 5280 5.3.1 says to omit the reason rather than use unspecified"}


def _reason(value: str) -> str:
    """A revocation reason of REVOCATION_REASON_CODES (spec 5)."""
    if value in NEVER_REASONS:
        raise ValueError(f"{value} is never allowed: {NEVER_REASONS[value]}")
    if value not in REVOCATION_REASON_CODES:
        raise ValueError(one_of((*REVOCATION_REASON_CODES, *NEVER_REASONS), value))
    return value


_STRINGS = BeforeValidator(list_of("strings"))
_UNIQUE = AfterValidator(unique)
Oid = Annotated[str, AfterValidator(dotted_oid)]
KeyUsages = Annotated[list[Annotated[str, AfterValidator(choice(CA_KEY_USAGES + END_ENTITY_KEY_USAGES))]],
                      _STRINGS, _UNIQUE]
Extensions = Annotated[list[Annotated[str, AfterValidator(choice(tuple(EXTENSION_OIDS)))]], _STRINGS, _UNIQUE]
Reasons = Annotated[list[Annotated[str, AfterValidator(_reason)]], _STRINGS, _UNIQUE]
Lifetime = Annotated[int, Field(ge=1, le=100)]


# --- policy.toml --------------------------------------------------------------------------------------------

class Serial(StrictTable):
    # RFC 5280 4.1.2.2: at most 20 octets. spec 2.9: at least 64 bits of entropy with the top bit clear,
    # so at least 9 octets (8 leave 63 random bits).
    octets: Annotated[int, Field(ge=9, le=20)]


class Validity(StrictTable):
    day_boundary: bool
    # spec 1: no CA may issue a certificate that outlives its own
    outliving_issuer: Literal["refuse"]


class Crl(StrictTable):
    reissue_hours: Annotated[int, Field(ge=1)]
    next_update_hours: Annotated[int, Field(ge=1)]

    @field_validator("next_update_hours")
    @classmethod
    def _after_reissue(cls, value: int, info: ValidationInfo) -> int:
        # spec 5: a CRL is re-issued before the last one expires
        reissue = info.data.get("reissue_hours")
        if reissue is not None and value <= reissue:
            raise ValueError(f"must exceed reissue_hours ({reissue}), not {value}")
        return value


class Arl(StrictTable):
    reissue_days: Annotated[int, Field(ge=1)]
    next_update_days: Annotated[int, Field(ge=1)]

    @field_validator("next_update_days")
    @classmethod
    def _after_reissue(cls, value: int, info: ValidationInfo) -> int:
        # spec 5: an ARL is re-issued before the last one expires
        reissue = info.data.get("reissue_days")
        if reissue is not None and value <= reissue:
            raise ValueError(f"must exceed reissue_days ({reissue}), not {value}")
        return value


class Revocation(StrictTable):
    # spec 5: the reasons a revocation may give, a non-empty subset of REVOCATION_REASON_CODES
    reasons: Reasons
    end_of_subscription_reason: str

    @field_validator("reasons")
    @classmethod
    def _not_empty(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError("must list at least one reason")
        return value

    @field_validator("end_of_subscription_reason")
    @classmethod
    def _listed(cls, value: str, info: ValidationInfo) -> str:
        reasons = info.data.get("reasons")
        if reasons is not None and value not in reasons:
            raise ValueError(f"{value!r} is not one of the reasons listed")
        return value


class Intake(StrictTable):
    max_request_bytes: Annotated[int, Field(ge=256, le=1_048_576)]


class Names(StrictTable):
    """The longest name of each kind, in characters (Unicode code points)."""

    # ceilings: a name stays one line of a table or an audit record; an operator's name is also a file name of
    # the credential folder; a CN is bounded by RFC 5280 appendix A.1 (ub-common-name)
    organisation: Annotated[int, Field(ge=1, le=256)]
    officer: Annotated[int, Field(ge=1, le=256)]
    common_name: Annotated[int, Field(ge=1, le=UB_COMMON_NAME)]
    operator: Annotated[int, Field(ge=1, le=64)]
    evidence: Annotated[int, Field(ge=1, le=1024)]  # also a rejection's reason (free text a person gives)


class Est(StrictTable):
    """[est]: enrolment and re-enrolment of S1SP components over EST (RFC 7030) [choice]."""

    # re-enrolment is allowed in the last renewal_window_days of a certificate's validity (spec 5: re-key is a new
    # key pair, authenticated like the first request; here by the component's current certificate)
    renewal_window_days: Annotated[int, Field(ge=1, le=36500)] = 60
    # the certificate a re-enrolment replaces is revoked with this reason (a reason of [revocation])
    superseded_reason: str = "superseded"
    # how long an enrolment authorisation stays usable: by default, and at most
    authorisation_default_hours: Annotated[int, Field(ge=1, le=8760)] = 168
    authorisation_max_hours: Annotated[int, Field(ge=1, le=8760)] = 720
    # RFC 7030 3.5: the CSR's challengePassword carries the TLS channel's tls-unique (TLS 1.2); "optional" checks a
    # binding the client sends, "required" refuses an enrolment without one
    channel_binding: Literal["optional", "required"] = "optional"

    @field_validator("authorisation_max_hours")
    @classmethod
    def _max_covers_default(cls, value: int, info: ValidationInfo) -> int:
        default = info.data.get("authorisation_default_hours")
        if default is not None and value < default:
            raise ValueError(f"must be at least authorisation_default_hours ({default}), not {value}")
        return value


class PolicyFile(StrictTable):
    """policy.toml."""

    # spec 2.7: certificatePolicies carries the one OID of the environment in force
    policy_oids: dict[str, Oid]
    environment: str
    serial: Serial
    validity: Validity
    crl: Crl
    arl: Arl
    revocation: Revocation
    intake: Intake
    names: Names
    est: Est = Est()

    @field_validator("environment")
    @classmethod
    def _has_oid(cls, value: str, info: ValidationInfo) -> str:
        oids = info.data.get("policy_oids")
        if oids is not None and value not in oids:
            raise ValueError(f"{value!r} has no OID in [policy_oids] (set policy_oids.{value})")
        return value

    @field_validator("est")
    @classmethod
    def _superseded_reason_allowed(cls, value: Est, info: ValidationInfo) -> Est:
        revocation = info.data.get("revocation")
        if revocation is not None and value.superseded_reason not in revocation.reasons:
            raise refusal([(("superseded_reason",), f"{value.superseded_reason!r} is not one of "
                                                    "revocation.reasons")])
        return value


# --- roles.toml ---------------------------------------------------------------------------------------------

class CaRoles(StrictTable):
    root: str
    issuing: str


class RolesFile(StrictTable):
    """roles.toml: RemotePartyRole codes (spec 3), and the roles of the CA hierarchy."""

    # spec 3: the OU is the code as two hex digits, so 0..255, each code used once
    roles: dict[str, Annotated[int, Field(ge=0, le=255)]]
    ca_roles: CaRoles

    @field_validator("roles")
    @classmethod
    def _codes_used_once(cls, roles: dict[str, int]) -> dict[str, int]:
        holders: dict[int, str] = {}
        problems = []
        for name, code in roles.items():
            if code in holders:
                problems.append(((name,), f"code {code} is already used by role {holders[code]!r}"))
            holders.setdefault(code, name)
        if problems:
            raise refusal(problems)
        return roles

    @field_validator("ca_roles")
    @classmethod
    def _roles_exist(cls, ca_roles: CaRoles, info: ValidationInfo) -> CaRoles:
        roles = info.data.get("roles")
        if roles is None:
            return ca_roles
        problems = [((key,), f"{value!r} is not a role in [roles]")
                    for key, value in (("root", ca_roles.root), ("issuing", ca_roles.issuing)) if value not in roles]
        if problems:
            raise refusal(problems)
        return ca_roles


# --- profiles/*.toml ----------------------------------------------------------------------------------------

class _CaProfileFile(StrictTable):
    """A CA certificate profile (spec 4)."""

    lifetime_years: Lifetime
    key_usage: KeyUsages
    subject_string_type: Literal["printable", "utf8"]
    extensions: Extensions
    default_name: str

    @field_validator("default_name")
    @classmethod
    def _common_name(cls, value: str) -> str:
        # the CA's CN: the CN character profile every signed name keeps (RFC 5280 ub-common-name, RFC 4514)
        problems = common_name_problems(value, UB_COMMON_NAME)
        if problems:
            raise ValueError(problems[0])
        return value

    @field_validator("key_usage")
    @classmethod
    def _ca_key_usage(cls, value: list[str]) -> list[str]:
        # spec 4: keyUsage critical, keyCertSign and cRLSign, nothing else
        if set(value) != set(CA_KEY_USAGES):
            raise ValueError(f"a CA certificate has exactly keyCertSign and cRLSign, not {value}")
        return value


# The extensions every CA certificate carries (spec 2.4-2.7, 4).
_CA_REQUIRED = ("basicConstraints", "keyUsage", "subjectKeyIdentifier", "certificatePolicies")


class RootProfileFile(_CaProfileFile):
    """profiles/<name>.toml with kind = "root"."""

    kind: Literal["root"]
    # spec 4: the root's pathLenConstraint is 1 or absent, a setting
    path_length: Annotated[Literal[1, "absent"], BeforeValidator(exactly(1, "absent"))]

    @field_validator("extensions")
    @classmethod
    def _root_extensions(cls, value: list[str]) -> list[str]:
        missing = [e for e in _CA_REQUIRED if e not in value]
        problems = [f"must include {', '.join(missing)}"] if missing else []
        if "authorityKeyIdentifier" in value:
            problems.append("the root has no authorityKeyIdentifier")  # spec 2.6: it is self-signed
        if problems:
            raise refusal(((), reason) for reason in problems)
        return value


class IssuingProfileFile(_CaProfileFile):
    """profiles/<name>.toml with kind = "issuing"."""

    kind: Literal["issuing"]
    # spec 4: pathLenConstraint 0 on issuing CAs
    path_length: Annotated[Literal[0], BeforeValidator(exactly(0))]

    @field_validator("extensions")
    @classmethod
    def _issuing_extensions(cls, value: list[str]) -> list[str]:
        # spec 2.6: every certificate but the self-signed root carries the AKI
        missing = [e for e in (*_CA_REQUIRED, "authorityKeyIdentifier") if e not in value]
        if missing:
            raise ValueError(f"must include {', '.join(missing)}")
        return value


# The extensions every end-entity certificate carries (spec 2.4-2.7); basicConstraints only by setting.
_EE_REQUIRED = ("keyUsage", "subjectKeyIdentifier", "certificatePolicies", "authorityKeyIdentifier")


class EndEntityProfileFile(StrictTable):
    """profiles/<name>.toml with kind = "end-entity": organisation style (spec 3)."""

    kind: Literal["end-entity"]
    key_usage: KeyUsages
    lifetime_years: Lifetime
    # spec 3: basicConstraints absent, or critical CA:FALSE as one older DCC CA encodes it
    basic_constraints: Literal["absent", "critical-false"]
    extensions: Extensions

    @field_validator("key_usage")
    @classmethod
    def _one_usage(cls, value: list[str]) -> list[str]:
        # spec 3: a party holds separate signing and key-agreement certificates
        if len(value) != 1 or value[0] not in END_ENTITY_KEY_USAGES:
            raise ValueError("an end-entity certificate has exactly one of digitalSignature or keyAgreement"
                             f", not {value}")
        return value

    @field_validator("extensions")
    @classmethod
    def _exact_extensions(cls, value: list[str], info: ValidationInfo) -> list[str]:
        # spec 2.8: no extension unless the profile asks for it; spec 3: the order is the profile's
        basic = info.data.get("basic_constraints")
        if basic is None:
            return value
        expected = set(_EE_REQUIRED) | ({"basicConstraints"} if basic == "critical-false" else set())
        if set(value) != expected:
            raise ValueError(f"must list exactly {', '.join(sorted(expected))} (for basic_constraints ="
                             f" {basic!r}), not {value}")
        return value


PROFILE_FILES: dict[str, type[RootProfileFile | IssuingProfileFile | EndEntityProfileFile]] = {
    "root": RootProfileFile,
    "issuing": IssuingProfileFile,
    "end-entity": EndEntityProfileFile,
}
