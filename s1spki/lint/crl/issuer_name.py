"""The CRL issuer is byte-identical to the CA certificate's subject.

S1SPKI policy 5; RFC 5280 5.1.2.3. Same check as the certificate rule.
"""

from __future__ import annotations

from s1spki.lint.gbcs.issuer_name import CITE, issuer_matches_ca_subject
from s1spki.lint.registry import crl_rule

crl_rule("crl.issuer_matches_ca_subject", CITE)(issuer_matches_ca_subject)
