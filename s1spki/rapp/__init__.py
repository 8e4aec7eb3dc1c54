"""The RAPP (rapp/) as data: operator roles, what each may do, how many people each operation needs."""

from .load import load_rapp
from .model import Operation, OperatorRole, Rapp

__all__ = ["Operation", "OperatorRole", "Rapp", "load_rapp"]
