"""Load policy/ strictly: unknown keys, wrong types and inconsistent values are refused together."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

from ..datafile import Problems, Table, load_toml, tree_hash
from .model import (
    CA_KEY_USAGES,
    END_ENTITY_KEY_USAGES,
    EXTENSION_OIDS,
    REVOCATION_REASON_CODES,
    CaProfile,
    EndEntityProfile,
    Policy,
)

_STRING_TYPES = ("printable", "utf8")
_EE_BASIC_CONSTRAINTS = ("absent", "critical-false")
# The extensions every end-entity certificate carries (spec 2.4-2.7); basicConstraints only by setting.
_EE_REQUIRED = ("keyUsage", "subjectKeyIdentifier", "certificatePolicies", "authorityKeyIdentifier")
_CA_REQUIRED = ("basicConstraints", "keyUsage", "subjectKeyIdentifier", "certificatePolicies")
# spec 5: never certificateHold (no suspension); RFC 5280 5.3.1: omit rather than use unspecified.
_NEVER_REASONS = {"certificateHold": "S1SPKI never suspends a certificate (spec 5)",
                  "removeFromCRL": "S1SPKI never suspends a certificate (spec 5)",
                  "unspecified": "RFC 5280 5.3.1 says to omit the reason rather than use unspecified"}


def load_policy(directory: Path) -> Policy:
    """Read policy/ (policy.toml, roles.toml, profiles/*.toml) into a `Policy`, or raise ConfigError."""
    problems = Problems()
    label = directory.name or str(directory)
    main = Table(load_toml(directory / "policy.toml", problems, f"{label}/policy.toml"), f"{label}/policy.toml", "",
                 problems)
    roles_file = f"{label}/roles.toml"
    roles_doc = Table(load_toml(directory / "roles.toml", problems, roles_file), roles_file, "", problems)

    environment = main.str("environment")
    oids = main.table("policy_oids")
    policy_oids = {name: oids.oid(name) for name in oids.names()}
    oids.finish()
    if environment is not None and environment not in policy_oids:
        main.check("environment", False,
                   f"{environment!r} has no OID in [policy_oids] (set policy_oids.{environment})")

    serial = main.table("serial")
    # RFC 5280 4.1.2.2: at most 20 octets; spec 2.9: at least 64 bits of entropy.
    serial_octets = serial.int("octets", minimum=9, maximum=20)
    serial.finish()
    validity = main.table("validity")
    day_boundary = validity.bool("day_boundary")
    outliving = validity.str("outliving_issuer", choices=("refuse",))
    validity.finish()
    crl = main.table("crl")
    crl_reissue = crl.int("reissue_hours", minimum=1)
    crl_next = crl.int("next_update_hours", minimum=1)
    crl.finish()
    if isinstance(crl_reissue, int) and isinstance(crl_next, int) and crl_next <= crl_reissue:
        crl.check("next_update_hours", False, f"must exceed reissue_hours ({crl_reissue}), not {crl_next}")
    arl = main.table("arl")
    arl_reissue = arl.int("reissue_days", minimum=1)
    arl_next = arl.int("next_update_days", minimum=1)
    arl.finish()
    if isinstance(arl_reissue, int) and isinstance(arl_next, int) and arl_next <= arl_reissue:
        arl.check("next_update_days", False, f"must exceed reissue_days ({arl_reissue}), not {arl_next}")
    revocation_table = main.table("revocation")
    end_of_subscription = revocation_table.str("end_of_subscription_reason")
    revocation_reasons = _revocation_reasons(revocation_table)
    if revocation_reasons is not None and end_of_subscription is not None:
        revocation_table.check("end_of_subscription_reason", end_of_subscription in revocation_reasons,
                               f"{end_of_subscription!r} is not one of the reasons listed")
    intake = main.table("intake")
    max_request_bytes = intake.int("max_request_bytes", minimum=256, maximum=1_048_576)
    intake.finish()
    main.finish()

    roles_table = roles_doc.table("roles")
    roles: dict[str, int] = {}
    for name in roles_table.names():
        code = roles_table.int(name, minimum=0, maximum=255)
        if code is None:
            continue
        holder = next((r for r, c in roles.items() if c == code), None)
        if holder is not None:
            roles_table.check(name, False, f"code {code} is already used by role {holder!r}")
        roles[name] = code
    roles_table.finish()
    ca_roles = roles_doc.table("ca_roles")
    root_role = ca_roles.str("root")
    issuing_role = ca_roles.str("issuing")
    for key, value in (("root", root_role), ("issuing", issuing_role)):
        if value is not None:
            ca_roles.check(key, value in roles, f"{value!r} is not a role in [roles]")
    ca_roles.finish()
    roles_doc.finish()

    root, issuing, end_entity = _load_profiles(directory / "profiles", f"{label}/profiles", problems)
    if root and issuing:
        if not root.lifetime_years > issuing.lifetime_years:
            problems.add(f"{label}/profiles", "lifetime_years",
                         f"the root ({root.lifetime_years}) must outlive the issuing CA ({issuing.lifetime_years})")
        for profile in end_entity.values():
            if profile.lifetime_years > issuing.lifetime_years:
                problems.add(f"{label}/profiles/{profile.name}.toml", "lifetime_years",
                             f"{profile.lifetime_years} exceeds the issuing CA's {issuing.lifetime_years}"
                             " (spec 4: issuing >= longest end-entity lifetime)")

    problems.raise_if_any(f"policy {directory}")
    assert root is not None and issuing is not None and environment is not None
    return Policy(
        directory=directory,
        hash=tree_hash(directory),
        environment=environment,
        policy_oid=policy_oids[environment],
        serial_octets=serial_octets,
        day_boundary=day_boundary,
        outliving_issuer=outliving,
        crl_reissue_hours=crl_reissue,
        crl_next_update_hours=crl_next,
        arl_reissue_days=arl_reissue,
        arl_next_update_days=arl_next,
        revocation_reasons=revocation_reasons,
        end_of_subscription_reason=end_of_subscription,
        max_request_bytes=max_request_bytes,
        roles=MappingProxyType(roles),
        root_role=root_role,
        issuing_role=issuing_role,
        root=root,
        issuing=issuing,
        end_entity=MappingProxyType(end_entity),
    )


def _revocation_reasons(table: Table) -> tuple[str, ...] | None:
    """The reasons a revocation may give: a non-empty subset of REVOCATION_REASON_CODES (spec 5)."""
    raw = table.data.get("reasons")
    for index, item in enumerate(raw if isinstance(raw, list) else []):
        if item in _NEVER_REASONS:
            table.check(f"reasons[{index}]", False, f"{item} is never allowed: {_NEVER_REASONS[item]}")
    reasons = table.str_list("reasons", choices=tuple(REVOCATION_REASON_CODES) + tuple(_NEVER_REASONS))
    table.finish()
    if reasons is None:
        return None
    table.check("reasons", bool(reasons), "must list at least one reason")
    return tuple(r for r in reasons if r not in _NEVER_REASONS)


def _load_profiles(
    directory: Path, label: str, problems: Problems
) -> tuple[CaProfile | None, CaProfile | None, dict[str, EndEntityProfile]]:
    ca: dict[str, CaProfile] = {}
    end_entity: dict[str, EndEntityProfile] = {}
    files = sorted(directory.glob("*.toml")) if directory.is_dir() else []
    for path in files:
        file = f"{label}/{path.name}"
        doc = Table(load_toml(path, problems, file), file, "", problems)
        kind = doc.str("kind", choices=("root", "issuing", "end-entity"))
        if kind in ("root", "issuing"):
            profile = _ca_profile(doc, kind)
            if profile is not None:
                if kind in ca:
                    problems.add(file, "kind", f"a second {kind} profile (there must be exactly one)")
                ca[kind] = profile
        elif kind == "end-entity":
            ee = _end_entity_profile(doc, path.stem)
            if ee is not None:
                if ee.key_usage in end_entity:
                    problems.add(file, "key_usage", f"{ee.key_usage} already has a profile")
                end_entity[ee.key_usage] = ee
        doc.finish()
    for kind in ("root", "issuing"):
        if kind not in ca:
            problems.add(label, "", f"no {kind} CA profile")
    for usage in END_ENTITY_KEY_USAGES:
        if usage not in end_entity:
            problems.add(label, "", f"no end-entity profile for {usage}")
    return ca.get("root"), ca.get("issuing"), end_entity


def _ca_profile(doc: Table, kind: str) -> CaProfile | None:
    lifetime = doc.int("lifetime_years", minimum=1, maximum=100)
    key_usage = doc.str_list("key_usage", choices=CA_KEY_USAGES + END_ENTITY_KEY_USAGES)
    if key_usage is not None:
        doc.check("key_usage", set(key_usage) == set(CA_KEY_USAGES),
                  f"a CA certificate has exactly keyCertSign and cRLSign (spec 4), not {list(key_usage)}")
    path_length = _path_length(doc, kind)
    string_type = doc.str("subject_string_type", choices=_STRING_TYPES)
    extensions = doc.str_list("extensions", choices=tuple(EXTENSION_OIDS))
    if extensions is not None:
        required = _CA_REQUIRED + (("authorityKeyIdentifier",) if kind == "issuing" else ())
        missing = [e for e in required if e not in extensions]
        doc.check("extensions", not missing, f"must include {', '.join(missing)} (spec 2, 4)")
        if kind == "root":
            # spec 2.6: the self-signed root carries no AKI
            doc.check("extensions", "authorityKeyIdentifier" not in extensions,
                      "the root has no authorityKeyIdentifier")
    name = doc.str("default_name")
    if None in (lifetime, key_usage, string_type, extensions, name) or path_length is False:
        return None
    return CaProfile(kind, lifetime, key_usage, path_length, string_type, extensions, name)  # type: ignore[arg-type]


def _path_length(doc: Table, kind: str) -> int | None | bool:
    """pathLenConstraint: 0 on issuing CAs (spec 4); the root's is 1 or absent, a setting."""
    value = doc.data.get("path_length")
    doc._seen.add("path_length")
    allowed = (0,) if kind == "issuing" else (1, "absent")
    if value not in allowed or isinstance(value, bool):
        doc.check("path_length", False, f"must be {' or '.join(map(repr, allowed))} for a {kind} CA, not {value!r}")
        return False
    return None if value == "absent" else value


def _end_entity_profile(doc: Table, name: str) -> EndEntityProfile | None:
    key_usage = doc.str_list("key_usage", choices=CA_KEY_USAGES + END_ENTITY_KEY_USAGES)
    usage: str | None = None
    if key_usage is not None:
        if len(key_usage) == 1 and key_usage[0] in END_ENTITY_KEY_USAGES:
            usage = key_usage[0]
        else:
            doc.check("key_usage", False, "an end-entity certificate has exactly one of digitalSignature or "
                      f"keyAgreement (spec 3), not {list(key_usage)}")
    lifetime = doc.int("lifetime_years", minimum=1, maximum=100)
    basic = doc.str("basic_constraints", choices=_EE_BASIC_CONSTRAINTS)
    extensions = doc.str_list("extensions", choices=tuple(EXTENSION_OIDS))
    if extensions is not None and basic is not None:
        expected = set(_EE_REQUIRED) | ({"basicConstraints"} if basic == "critical-false" else set())
        doc.check("extensions", set(extensions) == expected,
                  f"must list exactly {', '.join(sorted(expected))} (spec 3, basic_constraints = {basic!r}),"
                  f" not {list(extensions)}")
    if None in (usage, lifetime, basic, extensions):
        return None
    return EndEntityProfile(name, usage, lifetime, basic, extensions)  # type: ignore[arg-type]
