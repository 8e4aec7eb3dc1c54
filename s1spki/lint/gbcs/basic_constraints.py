"""basicConstraints: on an end entity absent, or critical cA FALSE encoded `30 00`, as the profile says;
on a CA critical with cA TRUE, pathLenConstraint 0 on an issuing CA and the policy's value on the root.

S1SPKI policy 3 (end entity; one older DCC CA encodes critical CA:FALSE as 30 00), 4 (CAs);
RFC 5280 4.2.1.9 (MUST be critical in CA certificates).
"""

from __future__ import annotations

from collections.abc import Iterator

from s1spki.lint import oids
from s1spki.lint.document import CertificateDocument
from s1spki.lint.fields import Extension
from s1spki.lint.registry import certificate_rule

CA_FALSE = bytes.fromhex("3000")  # SEQUENCE {}: cA DEFAULT FALSE, no pathLenConstraint
ISSUING_CA_PATH_LENGTH = 0  # spec 4: an issuing CA signs end entities only
ROOT_PATH_LENGTHS_ALLOWED = (None, 1)  # spec 4: "root: 1 or absent, a setting"


@certificate_rule("gbcs.basic_constraints_end_entity", "S1SPKI policy 3")
def basic_constraints_end_entity(cert: CertificateDocument) -> Iterator[str]:
    if cert.is_ca:
        return
    extension = cert.extension(oids.BASIC_CONSTRAINTS)
    setting = cert.context.end_entity_basic_constraints
    if setting == "absent":
        if extension is not None:
            yield (
                f"basicConstraints is present ({extension.value.hex()}, critical={extension.critical}); "
                "the end-entity profile has none"
            )
    elif extension is None:
        yield "basicConstraints is absent; the end-entity profile has it critical with cA FALSE (30 00)"
    elif not extension.critical or extension.value != CA_FALSE:
        yield (
            f"basicConstraints is {extension.value.hex()}, critical={extension.critical}; "
            "the end-entity profile has it critical with cA FALSE encoded 30 00"
        )


def _path_length(extension: Extension) -> int | None:
    return extension.parsed["path_len_constraint"].native


@certificate_rule("gbcs.basic_constraints_ca", "S1SPKI policy 4; RFC 5280 4.2.1.9")
def basic_constraints_ca(cert: CertificateDocument) -> Iterator[str]:
    extension = cert.extension(oids.BASIC_CONSTRAINTS)
    if not cert.is_ca or extension is None:
        return
    if not extension.critical:
        yield f"{cert.role} basicConstraints is not critical; it must be critical"
    found = _path_length(extension)
    shown = "absent" if found is None else found
    if cert.is_root:
        setting = cert.context.root_path_length
        if setting is None and found not in ROOT_PATH_LENGTHS_ALLOWED:
            yield f"root pathLenConstraint is {shown}; it must be absent or 1"
        elif setting == "absent" and found is not None:
            yield f"root pathLenConstraint is {found}; the policy has it absent"
        elif isinstance(setting, int) and found != setting:
            yield f"root pathLenConstraint is {shown}; the policy has {setting}"
    elif found != ISSUING_CA_PATH_LENGTH:
        yield f"issuing CA pathLenConstraint is {shown}; it must be {ISSUING_CA_PATH_LENGTH}"
