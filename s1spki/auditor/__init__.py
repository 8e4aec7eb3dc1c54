"""Use cases of auditors: export a period of the audit trail, the issuance report, and the live verify."""
