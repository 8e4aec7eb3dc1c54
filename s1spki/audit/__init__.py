"""The tamper-evident audit trail's part (spec 7): the record format, the chain, signed checkpoints and their
verification, the export and report formats, and offline verification. It opens no database and no HSM:
the use cases that do live in `s1spki.auditor` and `s1spki.runtime`.

- `record`: an audit record and its chain hash; `chain`: the hashed bytes rebuilt from stored columns;
- `verify`, `fast`: a pure check of a stretch of the chain against signed checkpoints, naming the first bad
  record; `checkpoint`: the chain head signed by the audit key, in the database and in a file outside it;
- `signer`: the audit key's certificate and the trust placed in it;
- `export_format`, `report_format`, `manifest`, `offline`: the files auditors get and check offline.

Modules are imported where used, so that commands that do not need them stay quick to start.
"""
