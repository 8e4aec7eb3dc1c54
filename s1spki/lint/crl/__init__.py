"""CRL and ARL rules: one module per rule or closely related group.

Importing this package registers the rules in `s1spki.lint.registry.CRL_RULES`. Rules shared with
certificates (signature algorithm, issuer name, AKI, signature) are the `s1spki.lint.gbcs` checks,
registered again here under `crl.` names.
"""

from s1spki.lint.crl import (  # noqa: F401 - imported to register their rules
    authority_key_identifier,
    crl_number,
    entries,
    extensions,
    issuer_name,
    signature,
    signature_algorithm,
    update_times,
    version,
)
