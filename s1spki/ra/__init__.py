"""Use cases of RA operators and key custodians: RA staff, subscriber organisations and their officers,
requests and approvals, issuance, revocation, CRL scheduling, key ceremonies, the published repository and
the creation of a CA home. Each takes a `Command` and walks the pipeline (`s1spki.issuance`) and the parts."""
