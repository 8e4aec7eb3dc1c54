"""The CRL has an authorityKeyIdentifier: not critical, 8-octet keyIdentifier only, the CA's SKI.

S1SPKI policy 5; RFC 5280 5.2.1 (MUST be included). Same checks as the certificate rules.
"""

from __future__ import annotations

from s1spki.lint.gbcs.authority_key_identifier import CITE, aki_key_id_only, aki_matches_issuer, aki_present
from s1spki.lint.registry import crl_rule

crl_rule("crl.aki_present", CITE)(aki_present)
crl_rule("crl.aki_key_id_only", CITE)(aki_key_id_only)
crl_rule("crl.aki_matches_issuer", CITE)(aki_matches_issuer)
