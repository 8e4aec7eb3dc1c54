"""The issuance pipeline: one module per stage, in the order a certificate request travels.

    CSR ─► intake        parse, proof of possession, P-256 uncompressed only, size limit
       ─► registration  subscriber, ARO, role, EUI-64 (rapp/ names the checks); a key is certified once
       ─► approvals     the approvals that count under the request's recorded rule
       ─► profile       policy/ + registry ─► the certificate's contents (the request gives only its key)
       ─► lint_gate     GBCS rules + pkilint on a copy signed by a throwaway key; any finding refuses
       ─► issuer        the CA certificate paired with its HSM key: prepare (lint, reserve the serial, one-shot
                        token), then issue (HSM signature, signed TBS == linted TBS, signature verifies)
    and for status:
       ─► crl           a CRL/ARL's TBSCertList from the store's entries, linted, signed by the issuer

Stages use their neighbours' value types, never a use case: storing and auditing are the use case's steps
(`s1spki.ra.issue`), passed in where a stage must call them (the serial reservation).
"""
