"""The tamper-evident audit trail (spec 7): verification, signed checkpoints, exports and the issuance
report.

- `chain`: the bytes a record's hash covers, rebuilt from the stored columns (`audit_record` defines them);
- `verify`: a pure check of a stretch of the chain against signed checkpoints: names the first bad record;
- `checkpoint`: the chain head signed by the audit key, kept in the database and in a file outside it;
- `signer`: the audit key on the HSM (never a CA key) and its self-signed certificate;
- `live`: verify the live trail; `export`, `manifest`: a period as JSON Lines or CSV with a signed manifest;
- `report`: the issuance report of a period.

Modules are imported where used, so that commands that do not need them stay quick to start.
"""
