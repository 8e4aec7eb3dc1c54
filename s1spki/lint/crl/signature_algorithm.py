"""The CRL is signed ecdsa-with-SHA256, parameters absent, the same inside and outside the TBSCertList.

S1SPKI policy 5; RFC 5758 3.2; RFC 5280 5.1.1.2. Same checks as the certificate rules.
"""

from __future__ import annotations

from s1spki.lint.gbcs.signature_algorithm import (
    CITE,
    signature_algorithm,
    signature_algorithms_match,
    signature_params_absent,
)
from s1spki.lint.registry import crl_rule

crl_rule("crl.signature_algorithm", CITE)(signature_algorithm)
crl_rule("crl.signature_params_absent", CITE)(signature_params_absent)
crl_rule("crl.signature_algorithms_match", CITE, source="rfc5280")(signature_algorithms_match)
