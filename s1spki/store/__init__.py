"""The CA's database behind use-case methods: reads in `reader`, audited writes in `writer`."""

from .reader import StoreReader
from .records import (
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
from .writer import ChangeTx, Duplicate, Store

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
