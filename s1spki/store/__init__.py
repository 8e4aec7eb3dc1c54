"""The CA's database behind use-case methods: reads in `reader`, audited writes in `writer`."""

from .reader import StoreReader
from .records import CaRecord, CertificateRecord, OperatorRecord, OrgRecord, RequestRecord, SerialRecord
from .writer import ChangeTx, Duplicate, Store

__all__ = [
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
