"""The CA's database behind use-case methods: reads in `reader`, audited writes in `writer`."""

from s1spki.store.reader import StoreReader
from s1spki.store.records import (
    ApprovalRecord,
    CaRecord,
    CertificateRecord,
    CheckRecord,
    OfficerRecord,
    OperatorRecord,
    OrgRecord,
    RequestRecord,
    SerialRecord,
)
from s1spki.store.writer import ChangeTx, Duplicate, Store

__all__ = [
    "ApprovalRecord",
    "CheckRecord",
    "OfficerRecord",
    "CaRecord",
    "CertificateRecord",
    "ChangeTx",
    "Duplicate",
    "OperatorRecord",
    "OrgRecord",
    "RequestRecord",
    "SerialRecord",
    "Store",
    "StoreReader",
]
