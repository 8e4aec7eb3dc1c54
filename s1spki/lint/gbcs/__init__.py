"""GBCS and S1SPKI policy rules for certificates: one module per rule or closely related group.

Importing this package registers the rules in `s1spki.lint.registry.CERTIFICATE_RULES`, in this order.
"""

from s1spki.lint.gbcs import (  # noqa: F401 - imported to register their rules
    authority_key_identifier,
    basic_constraints,
    certificate_policies,
    extensions,
    issuer_name,
    key_usage,
    public_key,
    serial_number,
    signature,
    signature_algorithm,
    subject_ca,
    subject_end_entity,
    subject_key_identifier,
    validity,
    version,
)
