"""Load policy/ strictly: unknown keys, wrong types and inconsistent values are refused together."""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

from s1spki.values.datafile import DataFolder, one_of, tree_hash

from .model import END_ENTITY_KEY_USAGES, CaProfile, EndEntityProfile, EstSettings, NameLimits, Policy
from .schema import PROFILE_FILES, EndEntityProfileFile, PolicyFile, RolesFile


def load_policy(directory: Path) -> Policy:
    """Read policy/ (policy.toml, roles.toml, profiles/*.toml) into a `Policy`, or raise ConfigError."""
    folder = DataFolder(directory, "policy")
    main = folder.read("policy.toml", PolicyFile)
    roles = folder.read("roles.toml", RolesFile)
    root, issuing, end_entity = _load_profiles(folder)
    if root and issuing:
        # spec 4: root > issuing >= longest end-entity lifetime (spec 1: no CA issues what outlives it)
        if not root.lifetime_years > issuing.lifetime_years:
            folder.refuse("profiles", "lifetime_years",
                          f"the root ({root.lifetime_years}) must outlive the issuing CA ({issuing.lifetime_years})")
        for profile in end_entity.values():
            if profile.lifetime_years > issuing.lifetime_years:
                folder.refuse(f"profiles/{profile.name}.toml", "lifetime_years",
                              f"{profile.lifetime_years} exceeds the issuing CA's {issuing.lifetime_years}"
                              ": a CA never issues what outlives it")
    folder.raise_if_any()
    assert main is not None and roles is not None and root is not None and issuing is not None
    return Policy(
        directory=directory,
        hash=tree_hash(directory),
        environment=main.environment,
        policy_oid=main.policy_oids[main.environment],
        serial_octets=main.serial.octets,
        day_boundary=main.validity.day_boundary,
        outliving_issuer=main.validity.outliving_issuer,
        crl_reissue_hours=main.crl.reissue_hours,
        crl_next_update_hours=main.crl.next_update_hours,
        arl_reissue_days=main.arl.reissue_days,
        arl_next_update_days=main.arl.next_update_days,
        revocation_reasons=tuple(main.revocation.reasons),
        end_of_subscription_reason=main.revocation.end_of_subscription_reason,
        max_request_bytes=main.intake.max_request_bytes,
        names=NameLimits(main.names.organisation, main.names.officer, main.names.common_name, main.names.operator,
                         main.names.evidence),
        roles=MappingProxyType(dict(roles.roles)),
        root_role=roles.ca_roles.root,
        issuing_role=roles.ca_roles.issuing,
        root=root,
        issuing=issuing,
        end_entity=MappingProxyType(end_entity),
        est=EstSettings(main.est.renewal_window_days, main.est.superseded_reason, main.est.authorisation_default_hours,
                        main.est.authorisation_max_hours, main.est.channel_binding),
    )


def _load_profiles(folder: DataFolder) -> tuple[CaProfile | None, CaProfile | None, dict[str, EndEntityProfile]]:
    """profiles/*.toml: exactly one root and one issuing CA profile, one end-entity profile per key usage."""
    ca: dict[str, CaProfile] = {}
    end_entity: dict[str, EndEntityProfile] = {}
    claimed: set[str] = set()  # kinds and key usages a file claims, even one refused: "no ... profile" is for none
    directory = folder.directory / "profiles"
    for path in sorted(directory.glob("*.toml")) if directory.is_dir() else []:
        relative = f"profiles/{path.name}"
        document = folder.toml(relative)
        if document is None:
            continue
        kind = document.get("kind")
        model = PROFILE_FILES.get(kind) if isinstance(kind, str) else None
        if model is None:
            folder.refuse(relative, "kind", "is required" if kind is None else one_of(PROFILE_FILES, kind))
            continue
        usages = document.get("key_usage")
        claimed.update([kind, *(usages if kind == "end-entity" and isinstance(usages, list) else [])])
        profile = folder.validate(relative, model, document)
        if isinstance(profile, EndEntityProfileFile):
            usage = profile.key_usage[0]
            if usage in end_entity:
                folder.refuse(relative, "key_usage", f"{usage} already has a profile")
            end_entity[usage] = EndEntityProfile(path.stem, usage, profile.lifetime_years, profile.basic_constraints,
                                                 tuple(profile.extensions))
        elif profile is not None:
            if profile.kind in ca:
                folder.refuse(relative, "kind", f"a second {profile.kind} profile (there must be exactly one)")
            path_length = None if profile.path_length == "absent" else profile.path_length
            ca[profile.kind] = CaProfile(profile.kind, profile.lifetime_years, tuple(profile.key_usage), path_length,
                                         profile.subject_string_type, tuple(profile.extensions), profile.default_name)
    for kind in ("root", "issuing"):
        if kind not in claimed:
            folder.refuse("profiles", "", f"no {kind} CA profile")
    for usage in END_ENTITY_KEY_USAGES:
        if usage not in claimed:
            folder.refuse("profiles", "", f"no end-entity profile for {usage}")
    return ca.get("root"), ca.get("issuing"), end_entity
