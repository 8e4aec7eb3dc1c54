"""The CRL signature verifies under the CA's key, when the context asks for it and the CA is known.

S1SPKI policy 5; RFC 5280 6.3.3 (f). Same check as the certificate rule.
"""

from __future__ import annotations

from s1spki.lint.gbcs.signature import CITE, signature_valid
from s1spki.lint.registry import crl_rule

crl_rule("crl.signature_valid", CITE)(signature_valid)
